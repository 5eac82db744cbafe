//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/ari"
	"kcc/config"
	"kcc/media"
	"kcc/peertest"
	"kcc/routing"
)

// Agents on Asterisk (issue 4), against the real Asterisk 22 that
// scripts/asterisk.sh starts (scripts/test.sh runs it first): agent 1001 is
// a baresip registered on Asterisk's PJSIP (127.0.0.1:5080).

const asteriskARI = "http://127.0.0.1:8088"

// asteriskAgentConfig makes 1001 on Asterisk the only agent, with app as
// the Stasis app (each test its own, so tests never share a WebSocket).
func asteriskAgentConfig(app string) func(*config.Config) {
	return func(c *config.Config) {
		c.Asterisk = config.Asterisk{URL: asteriskARI, Username: "kcc", Password: "kcc-test", App: app}
		c.Agents = []config.Agent{{ID: "1001", Name: "Agent on Asterisk", Endpoint: "PJSIP/1001",
			Skills: []string{"paspoort", "afval", "belastingen"}}}
	}
}

// asteriskPhone starts a baresip that registers on Asterisk as agent id
// from ip; answer is "auto" or "manual".
func asteriskPhone(t *testing.T, id, ip, answer string) *peertest.Baresip {
	t.Helper()
	lo, hi := agentRTP(ip)
	return peertest.StartBaresip(t, peertest.BaresipConfig{IP: ip, SIPPort: 5081, CtrlPort: 4444,
		RTPPorts: fmt.Sprintf("%d-%d", lo, hi),
		Account: fmt.Sprintf("<sip:%s@127.0.0.1:5080>;auth_pass=kcc-test-%s;answermode=%s;audio_codecs=PCMA,PCMU;regint=60",
			id, id, answer)})
}

// asteriskEndpointState returns the state of PJSIP endpoint id in Asterisk.
func asteriskEndpointState(t *testing.T, id string) string {
	t.Helper()
	c, err := ari.New(ari.Config{URL: asteriskARI, Username: "kcc", Password: "kcc-test", App: "kcc-inspect"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := c.Endpoint(ctx, "PJSIP", id)
	if err != nil {
		t.Fatal(err)
	}
	return e.State
}

// asteriskLeftovers lists the channels and bridges kcc made in Asterisk
// that still exist.
func asteriskLeftovers(t *testing.T) []string {
	t.Helper()
	c, err := ari.New(ari.Config{URL: asteriskARI, Username: "kcc", Password: "kcc-test", App: "kcc-inspect"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var left []string
	chans, err := c.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chans {
		if strings.HasPrefix(ch.ID, "kcc-") {
			left = append(left, "channel "+ch.ID)
		}
	}
	bridges, err := c.Bridges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bridges {
		if strings.HasPrefix(b.ID, "kcc-") {
			left = append(left, "bridge "+b.ID)
		}
	}
	return left
}

// TestIntegrationAsteriskAgent: a SIPp caller picks passports on kcc; the
// agent is a baresip on Asterisk, rung through ARI with the X-KCC-* headers;
// audio flows both ways through kcc's relay and Asterisk's bridge; after the
// hang-up nothing kcc made is left in Asterisk.
func TestIntegrationAsteriskAgent(t *testing.T) {
	const kccIP, agentIP, callerIP = "127.0.29.1", "127.0.29.2", "127.0.29.3"
	lo, hi := agentRTP(agentIP)
	capture := peertest.StartCapture(t, fmt.Sprintf("udp and (net 127.0.29.0/24 or portrange %d-%d)", lo, hi))
	k := startKCC(t, kccIP, asteriskAgentConfig("kcc-it-agent"))
	agent := asteriskPhone(t, "1001", agentIP, "auto")
	waitFor(t, 20*time.Second, "agent 1001 online on Asterisk", func() bool { return k.agentState("1001") == routing.Available })

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, callerIP, 5*time.Second, '1', '1') }()
	if _, err := agent.WaitEvent("CALL_ESTABLISHED", 30*time.Second); err != nil {
		t.Fatalf("agent on Asterisk got no call: %v", err)
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := agent.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Errorf("agent's call did not end: %v", err)
	}
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
	pkts := capture.Stop()

	agentAddr := netip.MustParseAddr(agentIP)
	invite, ok := sipMessage(pkts, netip.MustParseAddr("127.0.0.1"), agentAddr, "INVITE ")
	if !ok {
		t.Fatal("no INVITE from Asterisk to the agent captured")
	}
	for _, re := range []string{`(?m)^X-KCC-Topic: Paspoort\r$`, `(?m)^X-KCC-Queue: paspoort\r$`, `(?m)^X-KCC-Contact-ID: [0-9a-f]{16}\r$`,
		`(?m)^From: "\[Paspoort\] 0612345678" <sip:0612345678@`} {
		if !regexp.MustCompile(re).Match(invite.Payload) {
			t.Errorf("agent's INVITE lacks %s:\n%s", re, invite.Payload)
		}
	}
	// Latency from the router's offer to the agent's phone ringing: from the
	// caller's last key (the offer follows it within the IVR step) to the
	// phone's 180 Ringing, both on the wire.
	var lastKey time.Time
	for _, p := range pkts {
		if r, ok := peertest.ParseRTP(p.Payload); ok && p.Src == netip.AddrPortFrom(netip.MustParseAddr(callerIP), 16000) &&
			r.PayloadType == 101 && r.Marker {
			lastKey = p.Time
		}
	}
	ringing, ok := sipMessage(pkts, agentAddr, netip.MustParseAddr("127.0.0.1"), "SIP/2.0 180")
	if !ok || lastKey.IsZero() {
		t.Fatal("caller's key or the agent's 180 not captured")
	}
	t.Logf("offer to ringing: key at the wire → INVITE at the phone %v, → 180 from the phone %v",
		invite.Time.Sub(lastKey).Round(100*time.Microsecond), ringing.Time.Sub(lastKey).Round(100*time.Microsecond))
	answered, ok := sipMessage(pkts, agentAddr, netip.MustParseAddr("127.0.0.1"), "SIP/2.0 200", " INVITE\r\n")
	bye, ok2 := sipMessage(pkts, netip.MustParseAddr(callerIP), netip.MustParseAddr(kccIP), "BYE ")
	if !ok || !ok2 {
		t.Fatal("agent's 200 OK or caller's BYE not captured")
	}
	from, to := answered.Time.Add(500*time.Millisecond), bye.Time
	want := int(0.9 * 50 * to.Sub(from).Seconds())
	isAgent := func(a netip.AddrPort) bool { return a.Port() >= lo && a.Port() <= hi }
	caller := netip.AddrPortFrom(netip.MustParseAddr(callerIP), 16000)
	// The caller hears the agent: kcc's packets to the caller are no longer
	// silence but the agent's tone, relayed from Asterisk.
	voice := 0
	for _, p := range pkts {
		if p.Time.Before(from) || p.Time.After(to) || p.Dst != caller {
			continue
		}
		if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 8 && len(bytes.Trim(r.Payload, "\xd5")) > 0 {
			voice++
		}
	}
	toAgent := rtpCount(pkts, from, to, func(src, dst netip.AddrPort) bool { return isAgent(dst) })
	t.Logf("talk %v: caller heard %d voice packets, agent got %d packets", to.Sub(from), voice, toAgent)
	if voice < want || toAgent < want {
		t.Errorf("want ≥ %d packets each way", want)
	}
}

// TestIntegrationAsteriskAgentDeclines: agent 1002 on Asterisk has waited
// longest but does not take the call (it lets it ring past the originate
// timeout, or rejects it as busy); the offer moves on to 1001, who answers,
// and nothing is left in Asterisk.
func TestIntegrationAsteriskAgentDeclines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		net    string
		reject bool
		cause  string // Q.850 cause Asterisk reports for 1002's channel
	}{
		{"no answer", "127.0.30", false, "cause 19"},
		{"busy", "127.0.31", true, "cause 17"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := startKCC(t, tc.net+".1", func(c *config.Config) {
				asteriskAgentConfig("kcc-it-" + strings.ReplaceAll(tc.name, " ", "-"))(c)
				c.Agents = append(c.Agents, config.Agent{ID: "1002", Name: "Second agent", Endpoint: "PJSIP/1002",
					Skills: []string{"paspoort"}})
				c.Routing.RingTimeout = 4 * time.Second
			})
			slow := asteriskPhone(t, "1002", tc.net+".2", "manual")
			waitFor(t, 20*time.Second, "agent 1002 online", func() bool { return k.agentState("1002") == routing.Available })
			fast := asteriskPhone(t, "1001", tc.net+".4", "auto")
			waitFor(t, 20*time.Second, "agent 1001 online", func() bool { return k.agentState("1001") == routing.Available })

			done := make(chan peertest.SIPpResult, 1)
			go func() { done <- callChoosing(t, k, tc.net+".3", 5*time.Second, '1', '1') }()
			if _, err := slow.WaitEvent("CALL_INCOMING", 30*time.Second); err != nil {
				t.Fatalf("agent 1002 (longest idle) was not rung first: %v", err)
			}
			if tc.reject {
				if _, err := slow.Cmd("hangup", ""); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := fast.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
				t.Fatalf("the offer did not move on to agent 1001: %v", err)
			}
			if res := <-done; res.ExitCode != 0 {
				t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
			}
			if logs := k.logs.String(); !strings.Contains(logs, `"event":"offer-declined"`) || !strings.Contains(logs, tc.cause) {
				t.Errorf("no offer-declined event for agent 1002 with %s", tc.cause)
			}
			settle(t, k)
			waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
		})
	}
}

// tcpProxy forwards TCP connections to target; drop cuts every connection
// it carries, as a network failure between kcc and Asterisk would.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, listen, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(out, in); out.Close() })
			p.wg.Go(func() { _, _ = io.Copy(in, out); in.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.drop()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestIntegrationAsteriskWebSocketDrop: the ARI connection breaks while a
// caller waits in the queue and again while a caller talks to an agent on
// Asterisk. The queued caller keeps waiting and is put through once an
// agent is there; the conversation goes on with audio both ways; at the end
// nothing is left in Asterisk.
func TestIntegrationAsteriskWebSocketDrop(t *testing.T) {
	const kccIP, agentIP, callerIP = "127.0.32.1", "127.0.32.2", "127.0.32.3"
	proxy := startProxy(t, "127.0.32.9:8088", "127.0.0.1:8088")
	lo, hi := agentRTP(agentIP)
	capture := peertest.StartCapture(t, fmt.Sprintf("udp and (net 127.0.32.0/24 or portrange %d-%d)", lo, hi))
	k := startKCC(t, kccIP, func(c *config.Config) {
		asteriskAgentConfig("kcc-it-drop")(c)
		c.Asterisk.URL = "http://127.0.32.9:8088"
	})
	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, callerIP, 25*time.Second, '1', '1') }()
	waitFor(t, 20*time.Second, "the caller queued", func() bool { return len(k.router.Waiting("paspoort")) == 1 })

	proxy.drop() // while queued, with no agent on Asterisk yet
	agent := asteriskPhone(t, "1001", agentIP, "auto")
	if _, err := agent.WaitEvent("CALL_ESTABLISHED", 20*time.Second); err != nil {
		t.Fatalf("the queued caller was not put through after the reconnect: %v", err)
	}
	time.Sleep(time.Second)
	dropAt := time.Now()
	proxy.drop() // while talking
	time.Sleep(3 * time.Second)
	if len(k.router.Waiting("paspoort")) != 0 || k.svc.Active() != 1 {
		t.Fatalf("the conversation did not survive the drop: %d waiting, %d active", len(k.router.Waiting("paspoort")), k.svc.Active())
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := agent.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Errorf("agent's call did not end: %v", err)
	}
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
	if n := strings.Count(k.logs.String(), "events websocket connected"); n < 3 {
		t.Errorf("the events WebSocket connected %d times, want 3 (start and after each drop)", n)
	}
	pkts := capture.Stop()
	isAgent := func(a netip.AddrPort) bool { return a.Port() >= lo && a.Port() <= hi }
	n := rtpCount(pkts, dropAt, dropAt.Add(3*time.Second), func(src, dst netip.AddrPort) bool { return isAgent(dst) })
	if n < 135 {
		t.Errorf("agent got %d packets in the 3 s after the drop, want ≥ 135", n)
	}
}

// crashAsterisk kills the test Asterisk at once (no BYEs, no events: a
// crash), then starts it again with scripts/asterisk.sh.
func crashAsterisk(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("pkill", "-9", "-x", "asterisk").CombinedOutput(); err != nil {
		t.Fatalf("kill asterisk: %v %s", err, out)
	}
	time.Sleep(500 * time.Millisecond)
	if out, err := exec.Command("../../scripts/asterisk.sh", "start").CombinedOutput(); err != nil {
		t.Fatalf("restart asterisk: %v\n%s", err, out)
	}
}

// TestIntegrationAsteriskCrash: Asterisk dies while a caller waits in the
// queue, and again while the caller talks to an agent on it. The caller
// stays on the line both times (its leg is kcc's); after the second crash it
// is queued again in its old place, hears that it was, and is put through
// again once the agent's phone is back.
func TestIntegrationAsteriskCrash(t *testing.T) {
	const kccIP, agentIP, callerIP = "127.0.33.1", "127.0.33.2", "127.0.33.3"
	capture := peertest.StartCapture(t, "udp and src host "+kccIP+" and dst host "+callerIP)
	k := startKCC(t, kccIP, asteriskAgentConfig("kcc-it-crash"))
	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, callerIP, 35*time.Second, '1', '1') }()
	waitFor(t, 20*time.Second, "the caller queued", func() bool { return len(k.router.Waiting("paspoort")) == 1 })
	crashAsterisk(t) // while queued: nothing of the caller is in Asterisk
	if len(k.router.Waiting("paspoort")) != 1 {
		t.Fatal("the queued caller was lost in the crash")
	}
	// The phone may answer before its control connection is up (presence
	// follows events, so the offer comes at once): count answers in kcc's
	// events rather than the phone's.
	answers := func(n int) func() bool {
		return func() bool { return strings.Count(k.logs.String(), `"event":"contact-answered"`) == n }
	}
	asteriskPhone(t, "1001", agentIP, "auto")
	waitFor(t, 30*time.Second, "the queued caller put through after the crash", answers(1))
	time.Sleep(time.Second)
	crashAsterisk(t) // while talking
	waitFor(t, 15*time.Second, "the caller queued again", func() bool {
		return strings.Contains(k.logs.String(), "queued again in place")
	})
	waitFor(t, 30*time.Second, "the caller put through again", answers(2))
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("the caller was cut off (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	var heard [][]byte
	for _, p := range capture.Stop() {
		if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 8 {
			heard = append(heard, r.Payload)
		}
	}
	told, ok := catalog(t).Prompt("nl", "opnieuw-verbinden")
	if !ok {
		t.Fatal("no Dutch opnieuw-verbinden prompt")
	}
	frames := told.Frames(media.PCMA)
	frames = frames[leadingSilence(frames, media.PCMA.Silence()):]
	if !containsRun(heard, frames) {
		t.Error("the caller queued again did not hear the whole opnieuw-verbinden prompt")
	}
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
}

// TestIntegrationAsteriskAgentUnreachable: an agent's phone goes dead
// without unregistering, and the caller ends up with the next agent, 1001,
// by either of two paths, each pinned down:
//   - "noticed": the phone is killed while idle; Asterisk's qualify finds it
//     unreachable, the endpoint goes offline, and kcc logs 1003 out from
//     that event before any caller comes.
//   - "not yet noticed": agent 1004, whose phone Asterisk qualifies only
//     once a minute, freezes just before the caller is queued, so the offer
//     still goes to it (longest idle); its INVITE is never answered,
//     Asterisk gives up at the originate timeout, and the offer moves on to
//     1001.
func TestIntegrationAsteriskAgentUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name, subnet, agent string
		noticed             bool
	}{
		{"noticed", "127.0.34", "1003", true},
		{"not yet noticed", "127.0.36", "1004", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := startKCC(t, tc.subnet+".1", func(c *config.Config) {
				asteriskAgentConfig("kcc-it-unreachable-" + tc.agent)(c)
				c.Agents = append(c.Agents, config.Agent{ID: tc.agent, Name: "Agent with a dead phone",
					Endpoint: "PJSIP/" + tc.agent, Skills: []string{"paspoort"}})
				c.Routing.RingTimeout = 4 * time.Second
			})
			dead := asteriskPhone(t, tc.agent, tc.subnet+".2", "auto")
			waitFor(t, 20*time.Second, "agent "+tc.agent+" online", func() bool { return k.agentState(tc.agent) == routing.Available })
			live := asteriskPhone(t, "1001", tc.subnet+".4", "auto")
			waitFor(t, 20*time.Second, "agent 1001 online", func() bool { return k.agentState("1001") == routing.Available })
			loggedOut := func() bool { return k.agentState(tc.agent) == routing.LoggedOut }

			done := make(chan peertest.SIPpResult, 1)
			if tc.noticed {
				dead.Kill()
				// qualify: OPTIONS every 5 s, 2 s timeout.
				waitFor(t, 10*time.Second, "kcc logs out "+tc.agent+" once qualify finds it unreachable", loggedOut)
				go func() { done <- callChoosing(t, k, tc.subnet+".3", 5*time.Second, '1', '1') }()
			} else {
				go func() { done <- callChoosing(t, k, tc.subnet+".3", 5*time.Second, '1', '1') }()
				// The caller has chosen its language and picks the topic 2.5 s later.
				waitFor(t, 30*time.Second, "the caller in the main menu", func() bool {
					return strings.Contains(k.logs.String(), `"node":"hoofdmenu"`)
				})
				dead.Freeze()
			}
			if _, err := live.WaitEvent("CALL_ESTABLISHED", 40*time.Second); err != nil {
				t.Fatalf("the caller did not reach agent 1001: %v", err)
			}
			logs := k.logs.String()
			offers := regexp.MustCompile(`"event":"offer-ringing"[^\n]*"agent":"`+tc.agent+`"`).FindAllString(logs, -1)
			declined := regexp.MustCompile(`"event":"offer-declined"[^\n]*"agent":"`+tc.agent+`"`).FindAllString(logs, -1)
			switch {
			case tc.noticed && len(offers) != 0:
				t.Errorf("kcc offered the caller to %s after logging it out: %q", tc.agent, offers)
			case !tc.noticed && (len(offers) != 1 || len(declined) != 1):
				t.Errorf("offers to %s: %d, declined: %d; want 1 each", tc.agent, len(offers), len(declined))
			}
			if !tc.noticed {
				m := regexp.MustCompile(`agent's channel ended: cause (\d+)`).FindStringSubmatch(logs)
				if m == nil || (m[1] != "19" && m[1] != "18") {
					t.Errorf("the offer to the frozen phone ended with %v, want cause 19 (no answer) or 18 (no user responding)", m)
				}
			}
			if res := <-done; res.ExitCode != 0 {
				t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
			}
			settle(t, k)
			waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
		})
	}
}

// TestIntegrationAsteriskAgentBusyElsewhere: agent 1002's phone is on a
// call kcc did not route (it dialled 1003 directly on Asterisk). Asterisk's
// device state makes the agent Busy within moments (an event, no polling),
// a waiting caller is not offered to it, and once the phone hangs up the
// caller is put through to it.
func TestIntegrationAsteriskAgentBusyElsewhere(t *testing.T) {
	const subnet = "127.0.35"
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		asteriskAgentConfig("kcc-it-busy")(c)
		c.Agents = []config.Agent{{ID: "1002", Name: "Second agent", Endpoint: "PJSIP/1002", Skills: []string{"paspoort"}}}
	})
	agent := asteriskPhone(t, "1002", subnet+".2", "auto")
	waitFor(t, 20*time.Second, "agent 1002 online", func() bool { return k.agentState("1002") == routing.Available })
	asteriskPhone(t, "1003", subnet+".4", "auto")
	waitFor(t, 10*time.Second, "1003 registered on Asterisk", func() bool { return asteriskEndpointState(t, "1003") == "online" })
	if _, err := agent.Cmd("dial", "sip:1003@127.0.0.1:5080"); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatalf("1002's own call to 1003 did not connect: %v", err)
	}
	established := time.Now()
	waitFor(t, 2*time.Second, "agent 1002 busy on its own call", func() bool { return k.agentState("1002") == routing.Busy })
	t.Logf("agent busy %v after its own call connected", time.Since(established).Round(time.Millisecond))

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, subnet+".3", 12*time.Second, '1', '1') }()
	waitFor(t, 20*time.Second, "the caller queued for paspoort", func() bool { return len(k.router.Waiting("paspoort")) == 1 })
	// baresip answers a second call by itself (answermode=auto), so an
	// offer would show as a call established.
	if m, err := agent.WaitEvent("CALL_ESTABLISHED", 2*time.Second); err == nil {
		t.Fatalf("kcc offered the caller to a busy agent: %+v", m)
	}
	if st := k.agentState("1002"); st != routing.Busy {
		t.Errorf("agent 1002 %v while on its own call, want busy", st)
	}
	freed := time.Now()
	if _, err := agent.Cmd("hangup", ""); err != nil {
		t.Fatal(err)
	}
	m, err := agent.WaitEvent("CALL_ESTABLISHED", 5*time.Second)
	if err != nil {
		t.Fatalf("the caller was not put through to 1002 after its own call ended: %v", err)
	}
	if strings.Contains(m.PeerURI, "1003") {
		t.Fatalf("CALL_ESTABLISHED is 1002's own call again: %+v", m)
	}
	t.Logf("put through %v after the agent's own call ended", time.Since(freed).Round(time.Millisecond))
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if n := strings.Count(k.logs.String(), `"event":"offer-ringing"`); n != 1 {
		t.Errorf("%d offers, want 1 (to 1002 once its own call was over)", n)
	}
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
}

// TestIntegrationAsteriskAgentDeclines603: agent 1005's phone (SIPp, a
// static contact on Asterisk) rings and declines with 603. Asterisk reports
// cause 21 (call rejected), and the caller is offered to the next agent,
// 1001, at once.
func TestIntegrationAsteriskAgentDeclines603(t *testing.T) {
	const subnet = "127.0.37"
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		asteriskAgentConfig("kcc-it-decline")(c)
		c.Agents = append(c.Agents, config.Agent{ID: "1005", Name: "Declining agent", Endpoint: "PJSIP/1005",
			Skills: []string{"paspoort"}})
	})
	waitFor(t, 10*time.Second, "agent 1005 online", func() bool { return k.agentState("1005") == routing.Available })
	declined := make(chan peertest.SIPpResult, 1)
	go func() {
		declined <- peertest.RunSIPp(t, 60*time.Second, map[string]string{
			"decline.xml": scenario(t, "decline.xml"),
		}, "-sf", "decline.xml", "-i", subnet+".2", "-p", "5081", "-m", "1", "-timeout", "60s")
	}()
	live := asteriskPhone(t, "1001", subnet+".4", "auto")
	waitFor(t, 20*time.Second, "agent 1001 online", func() bool { return k.agentState("1001") == routing.Available })

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, subnet+".3", 5*time.Second, '1', '1') }()
	if res := <-declined; res.ExitCode != 0 {
		t.Fatalf("agent 1005 (longest idle) was not rung, or did not decline (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := live.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
		t.Fatalf("the offer did not move on to agent 1001: %v", err)
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if logs := k.logs.String(); !regexp.MustCompile(`"event":"offer-declined"[^\n]*"agent":"1005"`).MatchString(logs) ||
		!strings.Contains(logs, "cause 21") {
		t.Error("no offer-declined event for agent 1005 with cause 21")
	}
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
}
