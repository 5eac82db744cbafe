//go:build integration

package main

import (
	"bytes"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"kcc/config"
	"kcc/peertest"
	"kcc/routing"
)

// TestIntegrationBlindTransfer: a baresip agent who took a passport call
// transfers it (REFER) to the waste queue. kcc accepts (202, NOTIFY 200),
// hangs up the first agent and queues the caller again, keeping the topic and
// the first queue time, and the waste agent gets the call. queue_log has
// BLINDTRANSFER, then the caller's entry into the new queue and its CONNECT.
func TestIntegrationBlindTransfer(t *testing.T) {
	const subnet = "127.0.46"
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, subnet+".1", func(c *config.Config) { c.Store.QueueLog = queueLog })
	capture := peertest.StartCapture(t, "udp port 5060 or udp port 5081")
	first := startAgent(t, k, "2002", subnet+".2", "auto")  // paspoort only
	second := startAgent(t, k, "2003", subnet+".3", "auto") // afval

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, subnet+".4", 14*time.Second, '1', '1') }()
	if _, err := first.WaitEvent("CALL_ESTABLISHED", 20*time.Second); err != nil {
		t.Fatalf("the passport agent did not get the call: %v", err)
	}
	time.Sleep(time.Second) // talk a little
	if m, err := first.Cmd("transfer", "sip:afval@"+k.ip+":5060"); err != nil || !m.OK {
		t.Fatalf("baresip transfer: %+v, %v", m, err)
	}
	if _, err := first.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("the first agent's call did not end after the transfer: %v", err)
	}
	if _, err := second.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
		t.Fatalf("the waste agent did not get the transferred call: %v", err)
	}
	res := <-done
	if res.ExitCode != 0 {
		t.Fatalf("caller's SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := second.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("the waste agent's call did not end: %v", err)
	}
	settle(t, k)
	pkts := capture.Stop()

	kcc, firstIP, secondIP := netip.MustParseAddr(k.ip), netip.MustParseAddr(subnet+".2"), netip.MustParseAddr(subnet+".3")
	if _, ok := sipMessage(pkts, firstIP, kcc, "REFER "); !ok {
		t.Error("no REFER from the first agent captured")
	}
	if _, ok := sipMessage(pkts, kcc, firstIP, "SIP/2.0 202", " REFER\r\n"); !ok {
		t.Error("kcc did not accept the REFER with 202")
	}
	if n, ok := sipMessage(pkts, kcc, firstIP, "NOTIFY "); !ok || !regexp.MustCompile(`SIP/2.0 200 OK`).Match(n.Payload) {
		t.Error("kcc sent no NOTIFY with the sipfrag 200 OK")
	}
	invite, ok := sipMessage(pkts, kcc, secondIP, "INVITE ")
	if !ok {
		t.Fatal("no INVITE to the waste agent captured")
	}
	for _, re := range []string{`(?m)^X-KCC-Queue: afval\r$`, `(?m)^X-KCC-Topic: Paspoort\r$`} {
		if !regexp.MustCompile(re).Match(invite.Payload) {
			t.Errorf("the transferred call's INVITE lacks %s:\n%s", re, invite.Payload)
		}
	}
	b, err := os.ReadFile(queueLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?s)\|paspoort\|2002\|CONNECT\|.*\|paspoort\|2002\|BLINDTRANSFER\|afval\|kcc\|\d+\|\d+\|1\n.*\|afval\|NONE\|ENTERQUEUE\|\|h:[0-9a-f]+\|1\n.*\|afval\|2003\|CONNECT\|`,
	} {
		if !regexp.MustCompile(re).Match(b) {
			t.Errorf("queue_log lacks %s:\n%s", re, b)
		}
	}
}

// TestIntegrationRepeatCaller: with routing.care.repeat_calls 1, a number's
// second call within the period is a repeat caller: its agent INVITE says
// X-KCC-Care: yes, which the first call's did not.
func TestIntegrationRepeatCaller(t *testing.T) {
	const subnet = "127.0.48"
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Routing.Care = config.Care{Priority: 20, WrapUp: 100 * time.Millisecond, RepeatWithin: time.Hour, RepeatCalls: 1}
	})
	capture := peertest.StartCapture(t, "udp port 5081")
	agent := startAgent(t, k, "2001", subnet+".2", "auto")
	for i := range 2 {
		if res := callChoosing(t, k, subnet+".3", 2*time.Second, '1', '1'); res.ExitCode != 0 {
			t.Fatalf("call %d failed (SIPp exit %d):\n%s", i+1, res.ExitCode, res.Output)
		}
		if _, err := agent.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
			t.Fatalf("call %d: the agent's call did not end: %v", i+1, err)
		}
		waitFor(t, 5*time.Second, "agent available again", func() bool { return k.agentState("2001") == routing.Available })
	}
	settle(t, k)
	var invites []peertest.Packet
	for _, p := range capture.Stop() {
		if p.Dst.Addr() == netip.MustParseAddr(subnet+".2") && bytes.HasPrefix(p.Payload, []byte("INVITE ")) {
			invites = append(invites, p)
		}
	}
	if len(invites) != 2 {
		t.Fatalf("captured %d INVITEs to the agent, want 2", len(invites))
	}
	care := regexp.MustCompile(`(?m)^X-KCC-Care: yes\r$`)
	if care.Match(invites[0].Payload) {
		t.Errorf("the first call is marked as a repeat caller:\n%s", invites[0].Payload)
	}
	if !care.Match(invites[1].Payload) {
		t.Errorf("the second call is not marked as a repeat caller:\n%s", invites[1].Payload)
	}
}

// TestIntegrationAttendedTransfer: agent 2002 (baresip) takes a passport
// call, consults colleague 2003 by dialling 2003 through kcc, and then
// transfers the caller with REFER whose Refer-To carries Replaces naming the
// consultation call (RFC 3891, 5589). kcc hands the colleague's leg to the
// caller, hangs up both of 2002's calls, and queue_log says
// ATTENDEDTRANSFER. The caller and 2003 go on talking until the caller
// hangs up.
func TestIntegrationAttendedTransfer(t *testing.T) {
	const subnet = "127.0.53"
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, subnet+".1", func(c *config.Config) { c.Store.QueueLog = queueLog })
	kccIP, aIP, bIP, callerIP := netip.MustParseAddr(k.ip), netip.MustParseAddr(subnet+".2"),
		netip.MustParseAddr(subnet+".3"), netip.MustParseAddr(subnet+".4")
	capture := peertest.StartCapture(t, "udp and net "+subnet+".0/24")
	a := startAgent(t, k, "2002", aIP.String(), "auto")
	b := startAgent(t, k, "2003", bIP.String(), "auto")

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, callerIP.String(), 20*time.Second, '1', '1') }()
	if _, err := a.WaitEvent("CALL_ESTABLISHED", 20*time.Second); err != nil {
		t.Fatalf("agent 2002 did not get the call: %v", err)
	}
	// The consultation: 2002 dials 2003 through kcc.
	consult := peertest.StartCapture(t, "udp and host "+aIP.String()+" and port 5060")
	if m, err := a.Cmd("dial", "sip:2003@"+k.ip+":5060"); err != nil || !m.OK {
		t.Fatalf("baresip dial: %+v, %v", m, err)
	}
	if _, err := b.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatalf("colleague 2003 did not get the consultation call: %v", err)
	}
	if _, err := a.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatalf("2002's consultation call was not answered: %v", err)
	}
	if st := k.agentState("2003"); st != routing.Busy {
		t.Errorf("2003 is %v during the consultation, want busy", st)
	}
	time.Sleep(500 * time.Millisecond)
	cpkts := consult.Stop()
	invite, ok := sipMessage(cpkts, aIP, kccIP, "INVITE sip:2003@")
	ok200, ok2 := sipMessage(cpkts, kccIP, aIP, "SIP/2.0 200", " INVITE\r\n")
	if !ok || !ok2 {
		t.Fatal("consultation INVITE or its 200 OK not captured")
	}
	callID := header(t, invite.Payload, "Call-ID")
	fromTag := tag(t, header(t, invite.Payload, "From"))
	toTag := tag(t, header(t, ok200.Payload, "To"))
	replaces := url.QueryEscape(callID + ";to-tag=" + toTag + ";from-tag=" + fromTag)

	// Back to the caller's line, and transfer it to the consulted colleague.
	if m, err := a.Cmd("line", "1"); err != nil || !m.OK {
		t.Fatalf("baresip line 1: %+v, %v", m, err)
	}
	transferred := time.Now()
	if m, err := a.Cmd("transfer", "sip:2003@"+k.ip+":5060?Replaces="+replaces); err != nil || !m.OK {
		t.Fatalf("baresip transfer: %+v, %v", m, err)
	}
	for i := range 2 {
		if _, err := a.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
			t.Fatalf("2002's call %d did not end after the transfer: %v", i+1, err)
		}
	}
	res := <-done
	if res.ExitCode != 0 {
		t.Fatalf("caller's SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := b.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("2003's call did not end when the caller hung up: %v", err)
	}
	settle(t, k)
	pkts := capture.Stop()

	refer, ok := sipMessage(pkts, aIP, kccIP, "REFER ")
	if !ok || !bytes.Contains(refer.Payload, []byte("Replaces=")) {
		t.Fatalf("no REFER with Replaces captured")
	}
	if _, ok := sipMessage(pkts, kccIP, aIP, "SIP/2.0 202", " REFER\r\n"); !ok {
		t.Error("kcc did not accept the REFER with 202")
	}
	// After the transfer the caller and 2003 hear each other.
	bye, ok := sipMessage(pkts, callerIP, kccIP, "BYE ")
	if !ok {
		t.Fatal("no BYE from the caller captured")
	}
	from := transferred.Add(time.Second)
	window := bye.Time.Sub(from)
	if window < 3*time.Second {
		t.Fatalf("only %v of talk after the transfer", window)
	}
	lo, hi := agentRTP(bIP.String())
	isB := func(a netip.AddrPort) bool { return a.Port() >= lo && a.Port() <= hi }
	isCaller := func(a netip.AddrPort) bool { return a == netip.AddrPortFrom(callerIP, 16000) }
	isKCC := func(a netip.AddrPort) bool { return a.Addr() == kccIP && a.Port() != 5060 }
	want := int(0.9 * 50 * window.Seconds())
	for _, leg := range []struct {
		name string
		f    func(src, dst netip.AddrPort) bool
	}{
		{"2003 → kcc", func(s, d netip.AddrPort) bool { return isB(s) && isKCC(d) }},
		{"kcc → caller", func(s, d netip.AddrPort) bool { return isKCC(s) && isCaller(d) }},
		{"caller → kcc", func(s, d netip.AddrPort) bool { return isCaller(s) && isKCC(d) }},
		{"kcc → 2003", func(s, d netip.AddrPort) bool { return isKCC(s) && isB(d) }},
	} {
		if got := rtpCount(pkts, from, bye.Time, leg.f); got < want {
			t.Errorf("%s: %d audio packets in %v after the transfer, want ≥ %d", leg.name, got, window, want)
		}
	}
	if st := k.agentState("2003"); st != routing.Available {
		t.Errorf("2003 is %v after the call, want available", st)
	}
	ql, err := os.ReadFile(queueLog)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\|paspoort\|2002\|ATTENDEDTRANSFER\|BRIDGE\|2003\|\d+\|\d+\|1\n`).Match(ql) {
		t.Errorf("queue_log has no ATTENDEDTRANSFER to 2003:\n%s", ql)
	}
}

// header returns the value of the first header name in a SIP message.
func header(t *testing.T, msg []byte, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?mi)^` + name + `:\s*(.*?)\r$`).FindSubmatch(msg)
	if m == nil {
		t.Fatalf("no %s header in:\n%s", name, msg)
	}
	return string(m[1])
}

// tag returns the tag parameter of a From or To header value.
func tag(t *testing.T, v string) string {
	t.Helper()
	m := regexp.MustCompile(`;tag=([^;>\s]+)`).FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("no tag in %q", v)
	}
	return m[1]
}
