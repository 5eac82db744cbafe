//go:build integration

package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kcc/config"
	"kcc/peertest"
	"kcc/routing"
)

// TestIntegrationAsteriskAttendedTransfer: agent 1001, a baresip on the
// real Asterisk, takes a passport call, consults colleague 1002 (also on
// Asterisk) by dialling 1002, and transfers the caller with a REFER whose
// Refer-To carries Replaces naming the consultation. While 1001 talks with
// kcc's caller, kcc has the dialplan send 1001's call to 1002 into its app,
// where it rings 1002 and bridges them; 1002 counts as busy. Asterisk hands
// the REFER to kcc (ChannelTransfer naming the consultation's channel), kcc
// gives 1002's channel the caller, hangs up both of 1001's calls and
// reports success (NOTIFY 200). The caller and 1002 talk until the caller
// hangs up; queue_log has ATTENDEDTRANSFER to 1002, and nothing kcc made is
// left in Asterisk.
func TestIntegrationAsteriskAttendedTransfer(t *testing.T) {
	const subnet = "127.0.56"
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Store.QueueLog = queueLog
		c.Asterisk = config.Asterisk{URL: asteriskARI, Username: "kcc", Password: "kcc-test", App: "kcc-it-attended"}
		c.Agents = []config.Agent{
			{ID: "1001", Name: "Agent on Asterisk", Endpoint: "PJSIP/1001", Skills: []string{"paspoort"}},
			{ID: "1002", Name: "Colleague on Asterisk", Endpoint: "PJSIP/1002", Skills: []string{"afval"}},
		}
	})
	ast, aIP, bIP, callerIP := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr(subnet+".2"),
		netip.MustParseAddr(subnet+".3"), netip.MustParseAddr(subnet+".4")
	// Baresip's RTP to Asterisk leaves from 127.0.0.1: the colleague's
	// audio is known by its port range.
	lo, hi := agentRTP(bIP.String())
	capture := peertest.StartCapture(t, fmt.Sprintf("udp and (net %s.0/24 or portrange %d-%d)", subnet, lo, hi))
	a := asteriskPhone(t, "1001", aIP.String(), "auto")
	b := asteriskPhone(t, "1002", bIP.String(), "auto")
	for _, id := range []string{"1001", "1002"} {
		waitFor(t, 20*time.Second, "agent "+id+" online on Asterisk", func() bool { return k.agentState(id) == routing.Available })
	}

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, callerIP.String(), 20*time.Second, '1', '1') }()
	if _, err := a.WaitEvent("CALL_ESTABLISHED", 30*time.Second); err != nil {
		t.Fatalf("agent 1001 did not get the passport call: %v", err)
	}
	// The consultation: 1001 dials 1002 on Asterisk.
	consult := peertest.StartCapture(t, "udp and host "+aIP.String()+" and port 5081")
	if m, err := a.Cmd("dial", "sip:1002@127.0.0.1:5080"); err != nil || !m.OK {
		t.Fatalf("baresip dial: %+v, %v", m, err)
	}
	if _, err := b.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatalf("colleague 1002 did not get the consultation call: %v", err)
	}
	if _, err := a.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatalf("1001's consultation call was not answered: %v", err)
	}
	waitFor(t, 5*time.Second, "1002 busy during the consultation", func() bool { return k.agentState("1002") == routing.Busy })
	time.Sleep(500 * time.Millisecond)
	cpkts := consult.Stop()
	invite, ok := sipMessage(cpkts, aIP, ast, "INVITE sip:1002@")
	ok200, ok2 := sipMessage(cpkts, ast, aIP, "SIP/2.0 200", " INVITE\r\n", "sip:1002@")
	if !ok || !ok2 {
		t.Fatal("consultation INVITE or its 200 OK not captured")
	}
	callID := header(t, invite.Payload, "Call-ID")
	replaces := url.QueryEscape(callID + ";to-tag=" + tag(t, header(t, ok200.Payload, "To")) +
		";from-tag=" + tag(t, header(t, invite.Payload, "From")))

	// Back to the caller's line, and transfer it to the consulted colleague.
	if m, err := a.Cmd("line", "1"); err != nil || !m.OK {
		t.Fatalf("baresip line 1: %+v, %v", m, err)
	}
	transferred := time.Now()
	if m, err := a.Cmd("transfer", "sip:1002@127.0.0.1:5080?Replaces="+replaces); err != nil || !m.OK {
		t.Fatalf("baresip transfer: %+v, %v", m, err)
	}
	for i := range 2 {
		if _, err := a.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
			t.Fatalf("1001's call %d did not end after the transfer: %v", i+1, err)
		}
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("caller's SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := b.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("1002's call did not end when the caller hung up: %v", err)
	}
	if logs := k.logs.String(); !strings.Contains(logs, "consultation handed over") || strings.Contains(logs, "transfer outcome not reported") {
		t.Error("kcc did not hand the consultation over or could not report it to the phone")
	}
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
	pkts := capture.Stop()

	refer, ok := sipMessage(pkts, aIP, ast, "REFER ")
	if !ok || !strings.Contains(string(refer.Payload), "Replaces=") {
		t.Fatal("no REFER with Replaces captured")
	}
	if _, ok := sipMessage(pkts, ast, aIP, "NOTIFY ", "SIP/2.0 200 OK"); !ok {
		t.Error("Asterisk sent the phone no NOTIFY with the sipfrag 200 OK (kcc's report of success)")
	}
	// After the transfer the caller and 1002 hear each other.
	bye, ok := sipMessage(pkts, callerIP, netip.MustParseAddr(k.ip), "BYE ")
	if !ok {
		t.Fatal("no BYE from the caller captured")
	}
	from := transferred.Add(time.Second)
	window := bye.Time.Sub(from)
	if window < 3*time.Second {
		t.Fatalf("only %v of talk after the transfer", window)
	}
	isB := func(a netip.AddrPort) bool { return a.Port() >= lo && a.Port() <= hi }
	isAst := func(a netip.AddrPort) bool { return a.Addr() == ast && (a.Port() < lo || a.Port() > hi) }
	isCaller := func(a netip.AddrPort) bool { return a == netip.AddrPortFrom(callerIP, 16000) }
	isKCC := func(a netip.AddrPort) bool { return a.Addr() == netip.MustParseAddr(k.ip) && a.Port() != 5060 }
	want := int(0.9 * 50 * window.Seconds())
	for _, leg := range []struct {
		name string
		f    func(src, dst netip.AddrPort) bool
	}{
		{"1002 → Asterisk", func(s, d netip.AddrPort) bool { return isB(s) && isAst(d) }},
		{"Asterisk → 1002", func(s, d netip.AddrPort) bool { return isAst(s) && isB(d) }},
		{"kcc → caller", func(s, d netip.AddrPort) bool { return isKCC(s) && isCaller(d) }},
		{"caller → kcc", func(s, d netip.AddrPort) bool { return isCaller(s) && isKCC(d) }},
	} {
		if got := rtpCount(pkts, from, bye.Time, leg.f); got < want {
			t.Errorf("%s: %d audio packets in %v after the transfer, want ≥ %d", leg.name, got, window, want)
		}
	}
	waitFor(t, 10*time.Second, "1002 available after the call", func() bool { return k.agentState("1002") == routing.Available })
	ql, err := os.ReadFile(queueLog)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\|paspoort\|1001\|ATTENDEDTRANSFER\|BRIDGE\|1002\|\d+\|\d+\|1\n`).Match(ql) {
		t.Errorf("queue_log has no ATTENDEDTRANSFER to 1002:\n%s", ql)
	}
}
