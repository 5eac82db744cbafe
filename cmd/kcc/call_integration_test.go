//go:build integration

package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kcc/config"
	"kcc/ivr"
	"kcc/media"
	"kcc/peertest"
	"kcc/routing"
	"kcc/store"
)

// TestIntegrationCallToAgent is the walking skeleton end to end: baresip
// registers as agent 2001 and auto-answers; SIPp calls 14070, hears the
// welcome prompt, chooses English (2) and passports (1) with RFC 4733 keys,
// is put through to the agent, talks and hangs up.
func TestIntegrationCallToAgent(t *testing.T) {
	kccIP, agentIP, callerIP := "127.0.1.1", "127.0.1.2", "127.0.1.3"
	lo, hi := agentRTP(agentIP)
	capture := peertest.StartCapture(t, fmt.Sprintf("udp and (net 127.0.1.0/24 or portrange %d-%d)", lo, hi))
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, kccIP, func(c *config.Config) { c.Store.QueueLog = queueLog })
	agent := startAgent(t, k, "2001", agentIP, "auto")

	welcome, ok := catalog(t).Prompt("nl", "welkom")
	if !ok {
		t.Fatal("no Dutch welcome prompt")
	}
	// 2 for English during the language menu, 1 for passports during the
	// main menu, then 5 s of talk.
	res := callChoosing(t, k, callerIP, 5*time.Second, '2', '1')
	if res.ExitCode != 0 {
		t.Fatalf("SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := agent.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatalf("agent's call did not end: %v", err)
	}
	pkts := capture.Stop()

	kcc, agentAddr, caller := netip.MustParseAddr(kccIP), netip.MustParseAddr(agentIP), netip.MustParseAddr(callerIP)

	// The caller got 100 Trying and 180 Ringing before the 200 with SDP.
	for _, status := range []string{"SIP/2.0 100", "SIP/2.0 180"} {
		if _, ok := sipMessage(pkts, kcc, caller, status, " INVITE\r\n"); !ok {
			t.Errorf("kcc sent the caller no %s", status)
		}
	}
	if ok, ok2 := sipMessage(pkts, kcc, caller, "SIP/2.0 200", " INVITE\r\n", "application/sdp"); !ok2 {
		t.Error("kcc sent the caller no 200 OK with SDP")
	} else if !regexp.MustCompile(`(?m)^m=audio \d+ RTP/AVP 8 101\r$`).Match(ok.Payload) {
		t.Errorf("200 OK answers PCMA and telephone-event: %s", ok.Payload)
	}

	// The agent's INVITE carries the chosen queue and the X-KCC-* headers.
	invite, ok := sipMessage(pkts, kcc, agentAddr, "INVITE ")
	if !ok {
		t.Fatal("no INVITE from kcc to the agent captured")
	}
	for _, re := range []string{
		`(?m)^X-KCC-Queue: paspoort\r$`,
		`(?m)^X-KCC-Topic: Paspoort\r$`,
		`(?m)^X-KCC-Language: en\r$`,
		`(?m)^X-KCC-Contact-ID: [0-9a-f]{16}\r$`,
		`(?m)^X-KCC-Wait: \d+\r$`,
		`(?m)^From: "\[Paspoort\] 0612345678" <sip:0612345678@`,
		`(?m)^m=audio \d+ RTP/AVP 8 0 101\r$`, // the caller's codec first
	} {
		if !regexp.MustCompile(re).Match(invite.Payload) {
			t.Errorf("agent INVITE lacks %s:\n%s", re, invite.Payload)
		}
	}

	// Offer to ringing, on the wire: the caller's last key to the agent's 180.
	var lastKey time.Time
	for _, p := range pkts {
		if r, ok := peertest.ParseRTP(p.Payload); ok && p.Src == netip.AddrPortFrom(caller, 16000) && r.PayloadType == 101 && r.Marker {
			lastKey = p.Time
		}
	}
	if ringing, ok := sipMessage(pkts, agentAddr, kcc, "SIP/2.0 180"); ok && !lastKey.IsZero() {
		t.Logf("offer to ringing: key at the wire → INVITE at the phone %v, → 180 from the phone %v",
			invite.Time.Sub(lastKey).Round(100*time.Microsecond), ringing.Time.Sub(lastKey).Round(100*time.Microsecond))
	}

	// Talk time: from the agent's 200 OK to the caller's BYE.
	answered, ok := sipMessage(pkts, agentAddr, kcc, "SIP/2.0 200", " INVITE\r\n")
	if !ok {
		t.Fatal("no 200 OK from the agent captured")
	}
	bye, ok := sipMessage(pkts, caller, kcc, "BYE ")
	if !ok {
		for _, p := range pkts {
			if _, rtp := peertest.ParseRTP(p.Payload); !rtp {
				t.Logf("%s %s > %s %q", p.Time.Format("15:04:05.000"), p.Src, p.Dst, firstLine(p.Payload))
			}
		}
		t.Fatal("no BYE from the caller captured")
	}
	window := bye.Time.Sub(answered.Time)
	if window < 3*time.Second {
		t.Fatalf("talk time %v is too short to judge RTP", window)
	}
	// baresip sends its RTP from 127.0.0.1 (it binds every address), so its
	// legs are told by its RTP ports; SIPp's by its media address and port.
	isAgent := func(a netip.AddrPort) bool { return a.Port() >= lo && a.Port() <= hi }
	isCaller := func(a netip.AddrPort) bool { return a == netip.AddrPortFrom(caller, 16000) }
	isKCC := func(a netip.AddrPort) bool { return a.Addr() == kcc && a.Port() != 5060 }
	want := int(0.9 * 50 * window.Seconds())
	for _, leg := range []struct {
		name string
		f    func(src, dst netip.AddrPort) bool
	}{
		{"caller → kcc", func(s, d netip.AddrPort) bool { return isCaller(s) && isKCC(d) }},
		{"kcc → caller", func(s, d netip.AddrPort) bool { return isKCC(s) && isCaller(d) }},
		{"agent → kcc", func(s, d netip.AddrPort) bool { return isAgent(s) && isKCC(d) }},
		{"kcc → agent", func(s, d netip.AddrPort) bool { return isKCC(s) && isAgent(d) }},
	} {
		got := rtpCount(pkts, answered.Time, bye.Time, leg.f)
		t.Logf("%s: %d audio packets in %v (%.1f/s)", leg.name, got, window.Round(time.Millisecond), float64(got)/window.Seconds())
		if got < want {
			t.Errorf("%s: %d audio packets in %v of talk, want ≥ %d (90%% of 50/s)", leg.name, got, window, want)
		}
	}

	// Both legs ended cleanly: the caller's BYE got 200 (SIPp exit 0), kcc
	// sent BYE to the agent and the agent confirmed it.
	if _, ok := sipMessage(pkts, kcc, agentAddr, "BYE "); !ok {
		t.Error("kcc sent no BYE to the agent")
	}
	if _, ok := sipMessage(pkts, agentAddr, kcc, "SIP/2.0 200", " BYE\r\n"); !ok {
		t.Error("the agent did not answer kcc's BYE with 200")
	}
	waitFor(t, 5*time.Second, "contact gone and ports free", func() bool {
		return k.svc.Active() == 0 && k.media.PortsInUse() == 0
	})

	// The caller's first non-silence payloads are the Dutch welcome prompt,
	// byte for byte.
	var heard [][]byte
	for _, p := range pkts {
		if !isKCC(p.Src) || !isCaller(p.Dst) {
			continue
		}
		if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 8 {
			heard = append(heard, r.Payload)
		}
	}
	sameAudio(t, heard, welcome.Frames(media.PCMA), media.PCMA.Silence())

	// History (issue 7): the call record and queue_log in the SQLite store,
	// and the queue_log file in Asterisk's format.
	checkHistory(t, k, queueLog)
}

// checkHistory checks what the store and the queue_log file hold after
// TestIntegrationCallToAgent's one answered call, hung up by the caller.
func checkHistory(t *testing.T, k *testKCC, queueLog string) {
	t.Helper()
	s, err := store.OpenSQLite(t.Context(), k.cfg.Store.Path, store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var c store.Contact
	waitFor(t, 5*time.Second, "the finished call record in the store", func() bool {
		cs, err := s.Contacts(t.Context(), store.Range{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
		if err != nil || len(cs) != 1 || cs[0].End.IsZero() {
			return false
		}
		c = cs[0]
		return true
	})
	if c.Outcome != store.OutcomeAnswered || c.Agent != "2001" || c.Queue != "paspoort" || c.Offers != 1 ||
		!strings.HasPrefix(c.Caller, "h:") || c.FlowVersion == "" || !strings.Contains(c.IVRPath, "hoofdmenu") ||
		c.Talk < 4*time.Second || c.Answer.Before(c.QueueEntry) {
		t.Errorf("call record %+v", c)
	}
	ql, err := s.QueueLog(t.Context(), store.Range{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range ql {
		if e.CallID == string(c.ID) {
			events = append(events, e.Event)
		}
	}
	if strings.Join(events, " ") != "ENTERQUEUE CONNECT COMPLETECALLER" {
		t.Errorf("queue_log events of the call: %v, want ENTERQUEUE CONNECT COMPLETECALLER", events)
	}
	file, err := os.ReadFile(queueLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"|" + string(c.ID) + "|paspoort|NONE|ENTERQUEUE||" + c.Caller + "|1\n",
		"|" + string(c.ID) + "|paspoort|2001|CONNECT|", "|" + string(c.ID) + "|paspoort|2001|COMPLETECALLER|",
		"|NONE|NONE|2001|AGENTLOGIN|2001\n"} {
		if !strings.Contains(string(file), want) {
			t.Errorf("queue_log file lacks %q:\n%s", want, file)
		}
	}
}

// TestIntegrationRejects: an unknown number gets 404, an offer without
// G.711 gets 488, and neither leaves a port or goroutine behind.
func TestIntegrationRejects(t *testing.T) {
	k := startKCC(t, "127.0.2.1", nil)
	for _, tc := range []struct {
		name, service, codecs, status string
		transport                     string // SIPp -t: u1 UDP, t1 TCP
	}{
		{"unknown number", "9999", "8", "404", "u1"},
		{"unknown number over TCP", "9999", "8", "404", "t1"},
		{"no common codec", "14070", "18 9", "488", "u1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := sipp(t, k, "127.0.2.3", tc.service, 15*time.Second, map[string]string{
				"reject.xml": scenario(t, "reject.xml", "CODECS", tc.codecs, "STATUS", tc.status),
			}, "reject.xml", "-t", tc.transport)
			if res.ExitCode != 0 {
				t.Fatalf("want %s (SIPp exit %d):\n%s", tc.status, res.ExitCode, res.Output)
			}
		})
	}
	settle(t, k)
}

// TestIntegrationCancelBeforeAnswer: the caller cancels while kcc waits to
// answer; kcc answers the CANCEL 200 and the INVITE 487 and keeps nothing.
func TestIntegrationCancelBeforeAnswer(t *testing.T) {
	k := startKCC(t, "127.0.3.1", func(c *config.Config) { c.Call.AnswerDelay = 3 * time.Second })
	res := sipp(t, k, "127.0.3.3", "14070", 20*time.Second, map[string]string{"cancel.xml": scenario(t, "cancel.xml")}, "cancel.xml")
	if res.ExitCode != 0 {
		t.Fatalf("CANCEL flow failed (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	settle(t, k)
}

// TestIntegrationAbandonWhileQueued: with no agent logged in, a caller
// queued for passports hangs up and leaves the queue.
func TestIntegrationAbandonWhileQueued(t *testing.T) {
	k := startKCC(t, "127.0.4.1", nil)
	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, "127.0.4.3", 3*time.Second, '1', '1') }()
	waitFor(t, 20*time.Second, "the caller queued for paspoort", func() bool { return len(k.router.Waiting("paspoort")) == 1 })
	res := <-done
	if res.ExitCode != 0 {
		t.Fatalf("SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	waitFor(t, 5*time.Second, "the queue empty after hang-up", func() bool { return len(k.router.Waiting("paspoort")) == 0 })
	settle(t, k)
}

// TestIntegrationRingTimeoutMovesOn: agent 2001 (longest idle) lets the
// phone ring; after the ring timeout kcc cancels that INVITE and agent 2002
// gets the call while the caller keeps waiting.
func TestIntegrationRingTimeoutMovesOn(t *testing.T) {
	k := startKCC(t, "127.0.5.1", func(c *config.Config) { c.Routing.RingTimeout = 2 * time.Second })
	slow := startAgent(t, k, "2001", "127.0.5.2", "manual")
	fast := startAgent(t, k, "2002", "127.0.5.4", "auto")
	res := callChoosing(t, k, "127.0.5.3", 6*time.Second, '1', '1')
	if res.ExitCode != 0 {
		t.Fatalf("SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := slow.WaitEvent("CALL_CLOSED", time.Second); err != nil {
		t.Errorf("agent 2001's ringing call was not cancelled: %v", err)
	}
	if _, err := fast.WaitEvent("CALL_ESTABLISHED", time.Second); err != nil {
		t.Errorf("agent 2002 did not get the call: %v", err)
	}
	if _, err := fast.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Errorf("agent 2002's call did not end: %v", err)
	}
}

// TestIntegrationCallerHangsUpWhileAgentRings: the caller gives up while the
// agent's phone rings; kcc cancels the agent's INVITE (CANCEL, 487) and the
// agent is available again.
func TestIntegrationCallerHangsUpWhileAgentRings(t *testing.T) {
	kccIP, agentIP := "127.0.6.1", "127.0.6.2"
	lo, hi := agentRTP(agentIP)
	capture := peertest.StartCapture(t, fmt.Sprintf("udp and (net 127.0.6.0/24 or portrange %d-%d)", lo, hi))
	k := startKCC(t, kccIP, func(c *config.Config) { c.Routing.RingTimeout = time.Minute })
	agent := startAgent(t, k, "2001", agentIP, "manual")
	res := callChoosing(t, k, "127.0.6.3", 2*time.Second, '1', '1')
	if res.ExitCode != 0 {
		t.Fatalf("SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := agent.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Errorf("the agent's phone kept ringing: %v", err)
	}
	waitFor(t, 5*time.Second, "agent 2001 available again", func() bool { return k.agentState("2001") == routing.Available })
	settle(t, k)
	pkts := capture.Stop()
	kcc, agentAddr := netip.MustParseAddr(kccIP), netip.MustParseAddr(agentIP)
	cancel, ok := sipMessage(pkts, kcc, agentAddr, "CANCEL ")
	if !ok {
		t.Fatal("kcc sent no CANCEL to the ringing agent")
	}
	bye, _ := sipMessage(pkts, netip.MustParseAddr("127.0.6.3"), kcc, "BYE ")
	if cancel.Time.Before(bye.Time) {
		t.Errorf("CANCEL at %v came before the caller's BYE at %v", cancel.Time, bye.Time)
	}
	if _, ok := sipMessage(pkts, agentAddr, kcc, "SIP/2.0 487", " INVITE\r\n"); !ok {
		t.Error("the agent did not answer the cancelled INVITE with 487")
	}
}

// TestIntegrationBinaryServesWelcome runs the kcc binary as a newcomer would,
// with nothing but its compiled-in defaults (moved to this test's address by
// environment variables), and checks that a call hears the Dutch welcome.
func TestIntegrationBinaryServesWelcome(t *testing.T) {
	const kccIP, callerIP = "127.0.7.1", "127.0.7.3"
	bin := filepath.Join(t.TempDir(), "kcc")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	capture := peertest.StartCapture(t, "udp and net 127.0.7.0/24")
	var logs syncBuffer
	cmd := exec.Command(bin, "serve")
	cmd.Dir = t.TempDir() // the default store is kcc.db in the working directory
	// Only the two overrides: kcc refuses KCC_* variables it does not know,
	// and the developer's own would change what is tested.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KCC_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KCC_SIP_LISTEN="+kccIP+":5060", "KCC_MEDIA_IP="+kccIP)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("kcc exited with %v", err)
		}
		if t.Failed() {
			t.Logf("kcc log:\n%s", tail(logs.String(), 8000))
		}
	})
	waitFor(t, 10*time.Second, "kcc serving", func() bool { return strings.Contains(logs.String(), "kcc serving") })

	// The binary runs on the real clock and the built-in flow checks
	// opening hours: outside them the caller hears "gesloten" and kcc
	// hangs up. The simulator, the same engine, says which it is now.
	name, closed := builtinFirstPrompt(t, time.Now())
	welcome, ok := catalog(t).Prompt("nl", name)
	if !ok {
		t.Fatalf("no Dutch prompt %s", name)
	}
	pause := welcome.Duration() + 500*time.Millisecond
	sf := "caller.xml"
	if closed {
		sf = "hungup.xml"
	}
	res := peertest.RunSIPp(t, pause+20*time.Second, map[string]string{
		sf:           scenario(t, sf, "PAUSE_MS", strconv.Itoa(int(pause/time.Millisecond))),
		"media.pcap": string(callerStream(pause)),
	}, "-sf", sf, kccIP+":5060", "-s", "14070", "-i", callerIP, "-p", "5099", "-mp", "16000",
		"-m", "1", "-l", "1", "-timeout", "30s")
	if res.ExitCode != 0 {
		t.Fatalf("SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	var heard [][]byte
	for _, p := range capture.Stop() {
		if p.Src.Addr().String() != kccIP || p.Dst != netip.MustParseAddrPort(callerIP+":16000") {
			continue
		}
		if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 8 {
			heard = append(heard, r.Payload)
		}
	}
	sameAudio(t, heard, welcome.Frames(media.PCMA), media.PCMA.Silence())
}

// builtinFirstPrompt runs the built-in flow in the simulator at `at` with
// no keys and returns the first prompt a Dutch caller hears, and whether
// the flow then hangs up (closed) rather than queueing.
func builtinFirstPrompt(t *testing.T, at time.Time) (string, bool) {
	t.Helper()
	p, err := ivr.Load("builtin", ivr.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ivr.Simulate(p, ivr.SimOptions{At: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range tr.Lines {
		if rest, ok := strings.CutPrefix(l, "play nl ["); ok {
			name, _, _ := strings.Cut(strings.TrimSuffix(rest, "]"), " ")
			return name, tr.Result.Cause != ivr.CauseQueued
		}
	}
	t.Fatalf("the built-in flow plays nothing at %v:\n%s", at, tr)
	return "", false
}
