//go:build integration

package main

import (
	"net/netip"
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

// TestIntegrationAsteriskBlindTransfer: agent 1001, a baresip registered on
// the real Asterisk, takes a passport call and blind-transfers it (REFER to
// sip:afval@asterisk) to the waste queue. Asterisk hands the REFER to kcc
// (ari-only transfer handling, ChannelTransfer), kcc accepts it and reports
// success, which Asterisk sends to the phone as NOTIFY 200; the phone hangs
// up, kcc tears its channels and bridge down and queues the caller again
// with its topic, and agent 2003 (on kcc) gets the call with X-KCC-Queue
// afval and X-KCC-Topic Paspoort. queue_log has BLINDTRANSFER.
func TestIntegrationAsteriskBlindTransfer(t *testing.T) {
	const subnet = "127.0.55"
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Store.QueueLog = queueLog
		c.Asterisk = config.Asterisk{URL: asteriskARI, Username: "kcc", Password: "kcc-test", App: "kcc-it-transfer"}
		agents := []config.Agent{{ID: "1001", Name: "Agent on Asterisk", Endpoint: "PJSIP/1001", Skills: []string{"paspoort"}}}
		for _, a := range c.Agents {
			if a.ID == "2003" { // afval and belastingen, on kcc
				agents = append(agents, a)
			}
		}
		c.Agents = agents
	})
	capture := peertest.StartCapture(t, "udp and net "+subnet+".0/24 and (port 5060 or port 5081)")
	first := asteriskPhone(t, "1001", subnet+".2", "auto")
	waitFor(t, 20*time.Second, "agent 1001 online on Asterisk", func() bool { return k.agentState("1001") == routing.Available })
	second := startAgent(t, k, "2003", subnet+".3", "auto")

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, subnet+".4", 14*time.Second, '1', '1') }()
	if _, err := first.WaitEvent("CALL_ESTABLISHED", 30*time.Second); err != nil {
		t.Fatalf("the agent on Asterisk did not get the passport call: %v", err)
	}
	time.Sleep(time.Second) // talk a little
	if m, err := first.Cmd("transfer", "sip:afval@127.0.0.1:5080"); err != nil || !m.OK {
		t.Fatalf("baresip transfer: %+v, %v", m, err)
	}
	if _, err := first.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("the agent's call did not end after the transfer: %v", err)
	}
	if _, err := second.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
		t.Fatalf("the waste agent did not get the transferred call: %v", err)
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("caller's SIPp call failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := second.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("the waste agent's call did not end: %v", err)
	}
	if logs := k.logs.String(); !strings.Contains(logs, "agent on Asterisk transfers the call") || strings.Contains(logs, "transfer outcome not reported") {
		t.Error("kcc did not accept the transfer from Asterisk or could not report it to the phone")
	}
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
	pkts := capture.Stop()

	ast, phone := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr(subnet+".2")
	kcc, waste := netip.MustParseAddr(k.ip), netip.MustParseAddr(subnet+".3")
	if r, ok := sipMessage(pkts, phone, ast, "REFER "); !ok || !regexp.MustCompile(`(?mi)^(Refer-To|r):\s*<?sip:afval@`).Match(r.Payload) {
		t.Error("no REFER to afval from the agent's phone captured")
	}
	if _, ok := sipMessage(pkts, ast, phone, "SIP/2.0 202", " REFER\r\n"); !ok {
		t.Error("Asterisk did not accept the REFER with 202")
	}
	if _, ok := sipMessage(pkts, ast, phone, "NOTIFY ", "SIP/2.0 200 OK"); !ok {
		t.Error("Asterisk sent the phone no NOTIFY with the sipfrag 200 OK (kcc's report of success)")
	}
	invite, ok := sipMessage(pkts, kcc, waste, "INVITE ")
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
	re := `(?s)\|paspoort\|1001\|CONNECT\|.*\|paspoort\|1001\|BLINDTRANSFER\|afval\|kcc\|\d+\|\d+\|1\n.*\|afval\|NONE\|ENTERQUEUE\|\|h:[0-9a-f]+\|1\n.*\|afval\|2003\|CONNECT\|`
	if !regexp.MustCompile(re).Match(b) {
		t.Errorf("queue_log lacks %s:\n%s", re, b)
	}
}

// TestIntegrationAsteriskTransferRefused: the agent on Asterisk transfers
// to something that is neither a queue nor a configured target. kcc
// refuses, which the phone gets as NOTIFY 603 Decline; what happens to the
// call then is the phone's choice (baresip hangs up), and nothing kcc made
// is left in Asterisk.
func TestIntegrationAsteriskTransferRefused(t *testing.T) {
	const subnet = "127.0.54"
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Asterisk = config.Asterisk{URL: asteriskARI, Username: "kcc", Password: "kcc-test", App: "kcc-it-transfer-refused"}
		c.Agents = []config.Agent{{ID: "1001", Name: "Agent on Asterisk", Endpoint: "PJSIP/1001", Skills: []string{"paspoort"}}}
	})
	capture := peertest.StartCapture(t, "udp and host "+subnet+".2 and port 5081")
	agent := asteriskPhone(t, "1001", subnet+".2", "auto")
	waitFor(t, 20*time.Second, "agent 1001 online on Asterisk", func() bool { return k.agentState("1001") == routing.Available })

	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, subnet+".4", 6*time.Second, '1', '1') }()
	if _, err := agent.WaitEvent("CALL_ESTABLISHED", 30*time.Second); err != nil {
		t.Fatalf("the agent on Asterisk did not get the call: %v", err)
	}
	if m, err := agent.Cmd("transfer", "sip:nowhere@127.0.0.1:5080"); err != nil || !m.OK {
		t.Fatalf("baresip transfer: %+v, %v", m, err)
	}
	<-done // the caller's fate follows the phone's reaction, not checked here
	waitFor(t, 10*time.Second, "kcc to log the refused transfer", func() bool {
		return strings.Contains(k.logs.String(), "transfer refused")
	})
	settle(t, k)
	waitFor(t, 10*time.Second, "no kcc channel or bridge left in Asterisk", func() bool { return len(asteriskLeftovers(t)) == 0 })
	pkts := capture.Stop()
	ast, phone := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr(subnet+".2")
	if _, ok := sipMessage(pkts, ast, phone, "NOTIFY ", "SIP/2.0 603 Decline"); !ok {
		t.Error("the phone got no NOTIFY with the sipfrag 603 Decline")
	}
	if _, ok := sipMessage(pkts, ast, phone, "NOTIFY ", "SIP/2.0 200 OK"); ok {
		t.Error("the phone was told the refused transfer succeeded")
	}
}
