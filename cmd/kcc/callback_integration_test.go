//go:build integration

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"kcc/call"
	"kcc/config"
	"kcc/media"
	"kcc/peertest"
	"kcc/store"
)

// TestIntegrationCallback: a resident waiting for passports presses the
// callback key, hears the number read back, confirms and is hung up on. kcc
// is then restarted (the request must survive it). When an agent logs in, the
// agent is rung with X-KCC-Callback: yes and, once it answers, kcc calls the
// resident over the outbound trunk: SIPp plays the carrier, challenges the
// INVITE with 407, checks the digest answer and the P-Asserted-Identity, and
// the resident answers and talks.
func TestIntegrationCallback(t *testing.T) {
	const subnet = "127.0.45"
	kccIP, agentIP, callerIP, carrierIP := subnet+".1", subnet+".2", subnet+".3", subnet+".9"
	const (
		trunkUser     = "kcc-haaglanden"
		trunkPassword = "trunk-secret-for-tests"
	)
	dbPath := filepath.Join(t.TempDir(), "kcc.db")
	configure := func(c *config.Config) {
		c.Store.Path = dbPath
		c.Trunk = config.Trunk{Proxy: carrierIP + ":5060", Transport: "udp", Username: trunkUser,
			Password: trunkPassword, Identity: "14070"}
		c.Callback.RingTimeout = 10 * time.Second
		c.Callback.RetryAfter = time.Second
		for i := range c.Queues {
			if c.Queues[i].Name == "paspoort" {
				c.Queues[i].Announce.CallbackKey = "2"
			}
		}
	}
	capture := peertest.StartCapture(t, "udp and net "+subnet+".0/24")

	// No agent is logged in: the resident waits, asks for a callback (2)
	// and confirms the number read back (1).
	k1 := startKCC(t, kccIP, configure)
	goodbye := promptFrames(t, "terugbellen-bevestigd")
	res := callScenario(t, k1, callerIP, "hungup.xml", pcmaCaller, 10*time.Second, '1', '1', '2', '1')
	if res.ExitCode != 0 {
		t.Fatalf("kcc did not hang up after the callback was confirmed (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	settle(t, k1)
	waiting := k1.router.Waiting("paspoort")
	if len(waiting) != 1 {
		t.Fatalf("waiting in paspoort after the callback request: %v, want the callback", waiting)
	}
	id := waiting[0]
	k1.stop()
	if err := <-k1.stopped; err != nil {
		t.Fatalf("first kcc: %v", err)
	}

	// A new kcc on the same store takes the request up again.
	k2 := startKCC(t, kccIP, configure)
	if got := k2.router.Waiting("paspoort"); len(got) != 1 || got[0] != id {
		t.Fatalf("after the restart paspoort holds %v, want the callback %s", got, id)
	}

	// The carrier waits for kcc's INVITE; then the agent logs in.
	frame := make([]byte, media.FrameSamples)
	media.PCMA.Encode(frame, peertest.Tone(media.FrameSamples))
	pcap := peertest.MediaStream{Duration: 4 * time.Second, AudioPT: 8, Frame: frame}.Pcap()
	carrier := make(chan peertest.SIPpResult, 1)
	go func() {
		carrier <- peertest.RunSIPp(t, 40*time.Second, map[string]string{
			"carrier.xml": scenario(t, "carrier.xml", "TRUNK_USER", trunkUser, "TRUNK_PASSWORD", trunkPassword,
				"TRUNK_IDENTITY", "14070", "TALK_MS", "3000"),
			"media.pcap": string(pcap),
		}, "-sf", "carrier.xml", "-i", carrierIP, "-p", "5060", "-mp", "16100", "-m", "1", "-timeout", "40s")
	}()
	time.Sleep(300 * time.Millisecond) // SIPp binds its socket
	// The agent is offered the callback as soon as it registers, so it is
	// never seen available: start it without waiting for that.
	lo, hi := agentRTP(agentIP)
	agent := peertest.StartBaresip(t, peertest.BaresipConfig{
		IP: agentIP, SIPPort: 5081, CtrlPort: 4444, RTPPorts: fmt.Sprintf("%d-%d", lo, hi),
		Account: fmt.Sprintf("<sip:2001@%s:5060>;auth_pass=demo-2001;answermode=auto;audio_codecs=PCMA,PCMU;regint=600", kccIP),
	})
	var cres peertest.SIPpResult
	select {
	case cres = <-carrier:
	case <-time.After(45 * time.Second):
		t.Fatal("the carrier's SIPp did not finish")
	}
	if cres.ExitCode != 0 {
		t.Fatalf("the carrier refused kcc's call or it went wrong (SIPp exit %d):\n%s", cres.ExitCode, cres.Output)
	}
	if _, err := agent.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("the agent's call did not end after the resident hung up: %v", err)
	}
	settle(t, k2)
	pkts := capture.Stop()

	// The resident heard the confirmation before kcc hung up.
	if !containsRun(pcmaPayloadsTo(pkts, netip.MustParseAddr(callerIP)), goodbye) {
		t.Error("the caller did not hear that the callback was accepted")
	}
	// The agent's INVITE said it was a callback, for the resident's number.
	invite, ok := sipMessage(pkts, netip.MustParseAddr(kccIP), netip.MustParseAddr(agentIP), "INVITE ")
	if !ok {
		t.Fatal("no INVITE from kcc to the agent captured")
	}
	for _, re := range []string{`(?m)^X-KCC-Callback: yes\r$`, `(?m)^X-KCC-Queue: paspoort\r$`,
		`(?m)^X-KCC-Contact-ID: ` + string(id) + `\r$`, `(?m)^From: "\[Paspoort\] 0612345678" <sip:0612345678@`} {
		if !regexp.MustCompile(re).Match(invite.Payload) {
			t.Errorf("agent INVITE lacks %s:\n%s", re, invite.Payload)
		}
	}
	// The resident's leg went to the carrier only after the agent answered.
	answered, ok := sipMessage(pkts, netip.MustParseAddr(agentIP), netip.MustParseAddr(kccIP), "SIP/2.0 200", " INVITE\r\n")
	trunk, ok2 := sipMessage(pkts, netip.MustParseAddr(kccIP), netip.MustParseAddr(carrierIP), "INVITE ")
	if !ok || !ok2 || trunk.Time.Before(answered.Time) {
		t.Errorf("the resident must be called after the agent answered (agent 200 %v, trunk INVITE %v)", answered.Time, trunk.Time)
	}

	// The request is finished as done with one answered attempt.
	st := k2.store.(interface {
		PendingCallbacks(context.Context) ([]store.Callback, error)
		CallbackAttempts(context.Context, call.ID) ([]store.CallbackAttempt, error)
	})
	pending, err := st.PendingCallbacks(t.Context())
	if err != nil || len(pending) != 0 {
		t.Errorf("pending callbacks after the call: %v, %v; want none", pending, err)
	}
	attempts, err := st.CallbackAttempts(t.Context(), id)
	if err != nil || len(attempts) != 1 || attempts[0].Result != "answered" || attempts[0].Agent != "2001" {
		t.Errorf("callback attempts: %+v, %v; want one answered by 2001", attempts, err)
	}
	if got := k2.router.Waiting("paspoort"); len(got) != 0 {
		t.Errorf("paspoort still holds %v", got)
	}
	// The call record names the flow version it ran, and the store keeps
	// that version's text.
	db := k2.store.(interface {
		Contact(context.Context, call.ID) (store.Contact, error)
		FlowVersions(context.Context, string) ([]store.FlowVersion, error)
	})
	// The record was resumed after the restart: it has the callback's agent.
	var rec store.Contact
	waitFor(t, 5*time.Second, "the call record to get the callback's agent", func() bool {
		rec, err = db.Contact(t.Context(), id)
		return err == nil && rec.Agent == "2001" && !rec.Answer.IsZero() && !rec.End.IsZero()
	})
	if rec.Outcome != store.OutcomeCallback || rec.FlowVersion == "" {
		t.Fatalf("call record %+v; want outcome callback with a flow version", rec)
	}
	versions, err := db.FlowVersions(t.Context(), "14070")
	if err != nil || !slices.ContainsFunc(versions, func(v store.FlowVersion) bool {
		return v.ID == rec.FlowVersion && strings.Contains(v.Source, "flow: ")
	}) {
		t.Errorf("flow version %s of the call is not stored with its text: %d versions, %v", rec.FlowVersion, len(versions), err)
	}
}

// pcmaPayloadsTo returns the PCMA payloads sent to ip, in capture order.
func pcmaPayloadsTo(pkts []peertest.Packet, ip netip.Addr) [][]byte {
	var out [][]byte
	for _, p := range pkts {
		if p.Dst.Addr() != ip {
			continue
		}
		if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 8 {
			out = append(out, r.Payload)
		}
	}
	return out
}

// TestIntegrationOverflowCallback: a queue whose max wait overflows to a
// callback offers it by itself. The caller presses nothing but an unrelated
// key while waiting, hears the offer after max wait, confirms with 1 and is
// hung up on; the contact waits on as a callback in its place.
func TestIntegrationOverflowCallback(t *testing.T) {
	const subnet = "127.0.47"
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Trunk = config.Trunk{Proxy: subnet + ".9:5060", Transport: "udp", Identity: "14070"}
		for i := range c.Queues {
			if c.Queues[i].Name == "paspoort" {
				c.Queues[i].MaxWait = 3 * time.Second
				c.Queues[i].Overflow = "callback"
			}
		}
	})
	capture := peertest.StartCapture(t, "udp and src host "+k.ip+" and dst host "+subnet+".2")
	// 1 for Dutch, 1 for passports; 5 means nothing in the queue; the last 1
	// lands in the number read back after the 3 s max wait.
	res := callScenario(t, k, subnet+".2", "hungup.xml", pcmaCaller, 10*time.Second, '1', '1', '5', '1')
	if res.ExitCode != 0 {
		t.Fatalf("kcc did not hang up after the overflow callback was confirmed (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	if !containsRun(pcmaPayloads(capture.Stop()), promptFrames(t, "terugbellen-bevestigd")) {
		t.Error("the caller did not hear that the callback was accepted")
	}
	settle(t, k)
	if got := k.router.Waiting("paspoort"); len(got) != 1 {
		t.Fatalf("paspoort holds %v, want the callback", got)
	}
}

// TestIntegrationOverflowMessage: a queue whose max wait overflows to a
// message plays it and hangs up; queue_log says EXITWITHTIMEOUT.
func TestIntegrationOverflowMessage(t *testing.T) {
	const subnet = "127.0.49"
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Store.QueueLog = queueLog
		for i := range c.Queues {
			if c.Queues[i].Name == "paspoort" {
				c.Queues[i].MaxWait = 2 * time.Second
				c.Queues[i].Overflow = "message:drukte"
			}
		}
	})
	capture := peertest.StartCapture(t, "udp and src host "+k.ip+" and dst host "+subnet+".2")
	res := callScenario(t, k, subnet+".2", "hungup.xml", pcmaCaller, 15*time.Second, '1', '1')
	if res.ExitCode != 0 {
		t.Fatalf("kcc did not hang up after the max wait message (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	if !containsRun(pcmaPayloads(capture.Stop()), promptFrames(t, "drukte")) {
		t.Error("the caller did not hear the max wait message")
	}
	settle(t, k)
	b, err := os.ReadFile(queueLog)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\|paspoort\|NONE\|EXITWITHTIMEOUT\|1\|1\|[23]\n`).Match(b) {
		t.Errorf("queue_log has no EXITWITHTIMEOUT line after 2-3 s:\n%s", b)
	}
	if got := k.router.Waiting("paspoort"); len(got) != 0 {
		t.Errorf("paspoort still holds %v", got)
	}
}
