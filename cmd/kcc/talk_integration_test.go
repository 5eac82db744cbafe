//go:build integration

package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"testing"
	"time"

	"kcc/media"
	"kcc/peertest"
)

// TestIntegrationTalk covers the conversation itself (issue 3): the caller
// speaks µ-law with telephone-event on payload type 96, the agent's phone
// only A-law with telephone-event on 101 (kcc transcodes and maps the type);
// the agent holds and resumes (the caller hears hold music meanwhile); the
// caller presses 5 while talking (the agent's phone gets it as RFC 4733,
// the caller never gets it echoed); kcc's stream to the caller never falls
// silent on the wire (comfort silence between prompts) and carries RTCP.
func TestIntegrationTalk(t *testing.T) {
	kccIP, agentIP, callerIP := "127.0.22.1", "127.0.22.2", "127.0.22.3"
	lo, hi := agentRTP(agentIP)
	capture := peertest.StartCapture(t, fmt.Sprintf("udp and (net 127.0.22.0/24 or portrange %d-%d)", lo, hi))
	k := startKCC(t, kccIP, nil)
	agent := startAgentCodecs(t, k, "2001", agentIP, "auto", "PCMA")

	done := make(chan peertest.SIPpResult, 1)
	pcmuCaller := callerPhone{codec: media.PCMU, eventPT: 96}
	go func() { done <- callChoosingWith(t, k, callerIP, pcmuCaller, 5*time.Second, '2', '1', '5') }()
	if _, err := agent.WaitEvent("CALL_ESTABLISHED", 30*time.Second); err != nil {
		t.Fatalf("agent got no call: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	holdAt := time.Now()
	if _, err := agent.Cmd("hold", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, err := agent.Cmd("resume", ""); err != nil {
		t.Fatal(err)
	}
	resumeAt := time.Now()
	dtmf, err := agent.WaitEvent("CALL_DTMF_START", 10*time.Second)
	if err != nil || dtmf.Param != "5" {
		t.Errorf("agent's phone got key %q (%v), want 5 as RFC 4733", dtmf.Param, err)
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if _, err := agent.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Errorf("agent's call did not end: %v", err)
	}
	pkts := capture.Stop()

	kcc, caller := netip.MustParseAddr(kccIP), netip.MustParseAddr(callerIP)
	isAgent := func(a netip.AddrPort) bool { return a.Port() >= lo && a.Port() <= hi }
	toCaller := func(p peertest.Packet) bool {
		return p.Src.Addr() == kcc && p.Dst == netip.AddrPortFrom(caller, 16000)
	}
	answered, ok := sipMessage(pkts, kcc, caller, "SIP/2.0 200", "CSeq: 1 INVITE")
	bye, ok2 := sipMessage(pkts, caller, kcc, "BYE ")
	if !ok || !ok2 {
		t.Fatal("call set-up or BYE not captured")
	}

	var (
		callerPT       = map[uint8]int{}
		fromCallerPT   = map[uint8]int{}
		talkToCaller   int
		talkToAgent    int
		agentPT        = map[uint8]int{}
		toCallerTimes  []time.Time
		duringHold     [][]byte
		afterResume    [][]byte
		rtcpToCaller   int
		eventsToCaller int
		eventsToAgent  int
	)
	for _, p := range pkts {
		if p.Src.Addr() == kcc && p.Dst == netip.AddrPortFrom(caller, 16001) && len(p.Payload) >= 2 &&
			(p.Payload[1] == 200 || p.Payload[1] == 201) {
			rtcpToCaller++
		}
		r, isRTP := peertest.ParseRTP(p.Payload)
		if !isRTP {
			continue
		}
		talk := p.Time.After(resumeAt.Add(300*time.Millisecond)) && p.Time.Before(bye.Time)
		switch {
		case p.Src == netip.AddrPortFrom(caller, 16000):
			fromCallerPT[r.PayloadType]++
		case toCaller(p):
			if talk && r.PayloadType == 0 {
				talkToCaller++
			}
			callerPT[r.PayloadType]++
			if r.PayloadType == 101 || r.PayloadType == 96 {
				eventsToCaller++
			}
			if p.Time.After(answered.Time) && p.Time.Before(bye.Time) {
				toCallerTimes = append(toCallerTimes, p.Time)
			}
			if p.Time.After(holdAt) && p.Time.Before(resumeAt) {
				duringHold = append(duringHold, r.Payload)
			}
			if talk && r.PayloadType == 0 {
				afterResume = append(afterResume, r.Payload)
			}
		case p.Src.Addr() == kcc && isAgent(p.Dst):
			agentPT[r.PayloadType]++
			if talk && r.PayloadType == 8 {
				talkToAgent++
			}
			if r.PayloadType == 101 {
				eventsToAgent++
			}
		}
	}

	// Transcoding: µ-law to the caller, A-law to the agent, and both hear
	// the other at 50 packets/s after the hold.
	if callerPT[0] == 0 || callerPT[8] != 0 {
		t.Errorf("payload types to the caller %v, want only PCMU (0) audio", callerPT)
	}
	if agentPT[8] == 0 || agentPT[0] != 0 {
		t.Errorf("payload types to the agent %v, want only PCMA (8) audio", agentPT)
	}
	talkSpan := bye.Time.Sub(resumeAt.Add(300 * time.Millisecond))
	for name, n := range map[string]int{"caller": talkToCaller, "agent": talkToAgent} {
		if want := int(0.9 * 50 * talkSpan.Seconds()); n < want {
			t.Errorf("the %s got %d audio packets in %v of talk, want ≥ %d", name, n, talkSpan, want)
		}
	}
	// DTMF regenerated towards the agent on the agent's own payload type
	// (101; the caller sent its key on 96), never echoed to the caller.
	if fromCallerPT[96] == 0 {
		t.Errorf("the caller sent no events on payload type 96: %v", fromCallerPT)
	}
	if eventsToAgent < 4 {
		t.Errorf("%d telephone-event packets (PT 101) to the agent, want a regenerated key (≥ 4)", eventsToAgent)
	}
	if eventsToCaller != 0 {
		t.Errorf("%d telephone-event packets echoed to the caller", eventsToCaller)
	}
	// Hold music while the agent holds.
	hold := catalog(t).Hold().Frames(media.PCMU)
	if !containsRun(duringHold, hold[:10]) {
		t.Errorf("the caller did not hear the start of the hold music during the agent's hold (%d packets then)", len(duringHold))
	}
	// Resumed: the agent's voice again, no more hold music.
	music := 0
	for _, f := range afterResume {
		for _, h := range hold {
			if bytes.Equal(f, h) {
				music++
				break
			}
		}
	}
	if len(afterResume) == 0 || music > 0 {
		t.Errorf("after resume the caller got %d packets, %d of them hold music", len(afterResume), music)
	}
	// Never silent on the wire: 50 packets/s and no gap over 100 ms from
	// answer to BYE, through prompts, menus, queue, hold and talk.
	sort.Slice(toCallerTimes, func(i, j int) bool { return toCallerTimes[i].Before(toCallerTimes[j]) })
	span := bye.Time.Sub(answered.Time)
	if want := int(0.9 * 50 * span.Seconds()); len(toCallerTimes) < want {
		t.Errorf("%d packets to the caller in %v, want ≥ %d", len(toCallerTimes), span, want)
	}
	for i := 1; i < len(toCallerTimes); i++ {
		if gap := toCallerTimes[i].Sub(toCallerTimes[i-1]); gap > 100*time.Millisecond {
			t.Errorf("the caller's stream fell silent for %v at %v", gap, toCallerTimes[i-1].Sub(answered.Time))
		}
	}
	if rtcpToCaller < 2 {
		t.Errorf("%d RTCP reports to the caller in %v, want one every 5 s", rtcpToCaller, span)
	}
	settle(t, k)
}

// containsRun reports whether want appears as consecutive frames in got.
func containsRun(got, want [][]byte) bool {
	for i := 0; i+len(want) <= len(got); i++ {
		match := true
		for j := range want {
			if !bytes.Equal(got[i+j], want[j]) {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
