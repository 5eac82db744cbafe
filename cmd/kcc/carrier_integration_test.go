//go:build integration

package main

import (
	"bytes"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"kcc/config"
	"kcc/media"
	"kcc/peertest"
	"kcc/routing"
)

// Issue 3: what real peers do during a long wait. Every test here talks to
// kcc with SIPp or baresip only.

// sdpBody returns the SDP body of a captured SIP message.
func sdpBody(p peertest.Packet) []byte {
	if i := bytes.Index(p.Payload, []byte("\r\n\r\n")); i >= 0 {
		return p.Payload[i+4:]
	}
	return nil
}

// TestIntegrationSessionRefresh: with kcc as refresher (the caller asks for
// refresher=uas) kcc refreshes by UPDATE every half interval; a refresh
// re-INVITE of the caller with the same SDP gets kcc's very same SDP back.
func TestIntegrationSessionRefresh(t *testing.T) {
	const kccIP, callerIP = "127.0.11.1", "127.0.11.3"
	capture := peertest.StartCapture(t, "udp and net 127.0.11.0/24")
	k := startKCC(t, kccIP, func(c *config.Config) { c.SIP.MinSE = 2 * time.Second })
	res := sipp(t, k, callerIP, "14070", 30*time.Second, map[string]string{
		"refresh.xml": scenario(t, "refresh.xml", "SE", "4"),
		"media.pcap":  string(callerStream(10 * time.Second)),
	}, "refresh.xml")
	if res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	pkts := capture.Stop()
	kcc, caller := netip.MustParseAddr(kccIP), netip.MustParseAddr(callerIP)
	first, ok1 := sipMessage(pkts, kcc, caller, "SIP/2.0 200", "CSeq: 1 INVITE")
	again, ok2 := sipMessage(pkts, kcc, caller, "SIP/2.0 200", "CSeq: 2 INVITE")
	if !ok1 || !ok2 {
		t.Fatal("missing 200 OK to the INVITE or to the refresh re-INVITE")
	}
	if !regexp.MustCompile(`(?m)^Session-Expires: 4;refresher=uas\r$`).Match(first.Payload) {
		t.Errorf("200 OK lacks Session-Expires: 4;refresher=uas:\n%s", first.Payload)
	}
	if !bytes.Equal(sdpBody(first), sdpBody(again)) {
		t.Errorf("a session refresh changed kcc's SDP:\n%s\n---\n%s", sdpBody(first), sdpBody(again))
	}
	settle(t, k)
}

// TestIntegrationSessionRefreshByInvite: a caller that does not allow
// UPDATE is refreshed by re-INVITE, which kcc acknowledges.
func TestIntegrationSessionRefreshByInvite(t *testing.T) {
	k := startKCC(t, "127.0.27.1", func(c *config.Config) { c.SIP.MinSE = 2 * time.Second })
	res := sipp(t, k, "127.0.27.3", "14070", 30*time.Second, map[string]string{
		"refresh-invite.xml": scenario(t, "refresh-invite.xml", "SE", "4"),
		"media.pcap":         string(callerStream(10 * time.Second)),
	}, "refresh-invite.xml")
	if res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	settle(t, k)
}

// TestIntegrationSessionExpires: the caller promised to refresh and does
// not; kcc ends the call with BYE after interval - interval/3.
func TestIntegrationSessionExpires(t *testing.T) {
	k := startKCC(t, "127.0.12.1", func(c *config.Config) { c.SIP.MinSE = 2 * time.Second })
	start := time.Now()
	res := sipp(t, k, "127.0.12.3", "14070", 30*time.Second, map[string]string{
		"expire.xml": scenario(t, "expire.xml", "SE", "3", "TIMEOUT_MS", "8000"),
		"media.pcap": string(callerStream(10 * time.Second)),
	}, "expire.xml")
	if res.ExitCode != 0 {
		t.Fatalf("kcc did not end the unrefreshed session (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("BYE came after %v, want about 2 s", d)
	}
	settle(t, k)
}

// TestIntegrationSessionIntervalTooSmall: 422 with our Min-SE.
func TestIntegrationSessionIntervalTooSmall(t *testing.T) {
	k := startKCC(t, "127.0.13.1", nil)
	res := sipp(t, k, "127.0.13.3", "14070", 15*time.Second, map[string]string{
		"reject.xml": scenario(t, "reject.xml", "CODECS", "8", "STATUS", "422",
			"Content-Type: application/sdp", "Session-Expires: 30\n      Content-Type: application/sdp"),
	}, "reject.xml")
	if res.ExitCode != 0 {
		t.Fatalf("want 422 (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
}

// TestIntegrationLateOffer: an INVITE without SDP gets kcc's offer in the
// 200 OK; the caller answers PCMU in the ACK and hears the welcome in PCMU.
func TestIntegrationLateOffer(t *testing.T) {
	const kccIP, callerIP = "127.0.14.1", "127.0.14.3"
	capture := peertest.StartCapture(t, "udp and net 127.0.14.0/24")
	k := startKCC(t, kccIP, nil)
	welcome, _ := catalog(t).Prompt("nl", "welkom")
	pause := welcome.Duration() + 500*time.Millisecond
	frame := make([]byte, media.FrameSamples)
	media.PCMU.Encode(frame, peertest.Tone(media.FrameSamples))
	res := sipp(t, k, callerIP, "14070", pause+20*time.Second, map[string]string{
		"lateoffer.xml": scenario(t, "lateoffer.xml", "PAUSE_MS", strconv.Itoa(int(pause/time.Millisecond))),
		"media.pcap":    string(peertest.MediaStream{Duration: pause, AudioPT: 0, Frame: frame, EventPT: 101}.Pcap()),
	}, "lateoffer.xml")
	if res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	pkts := capture.Stop()
	kcc, caller := netip.MustParseAddr(kccIP), netip.MustParseAddr(callerIP)
	ok200, ok := sipMessage(pkts, kcc, caller, "SIP/2.0 200", "CSeq: 1 INVITE")
	if !ok || !regexp.MustCompile(`(?m)^m=audio \d+ RTP/AVP 8 0 101\r$`).Match(sdpBody(ok200)) {
		t.Fatalf("200 OK does not offer PCMA, PCMU and telephone-event:\n%s", ok200.Payload)
	}
	var heard [][]byte
	for _, p := range pkts {
		if p.Src.Addr() == kcc && p.Dst == netip.AddrPortFrom(caller, 16000) {
			if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 0 {
				heard = append(heard, r.Payload)
			}
		}
	}
	sameAudio(t, heard, welcome.Frames(media.PCMU), media.PCMU.Silence())
	settle(t, k)
}

// TestIntegrationSIPInfoKeys: keys by SIP INFO work like RFC 4733, and a key
// the phone sends both ways counts once: "2" (RFC 4733 and INFO at once)
// for English, then "3" (INFO only) for taxes. Counted twice, the second "2"
// would pick waste collection instead.
func TestIntegrationSIPInfoKeys(t *testing.T) {
	k := startKCC(t, "127.0.15.1", nil)
	welcome, _ := catalog(t).Prompt("nl", "welkom")
	first := welcome.Duration() + time.Second
	done := make(chan peertest.SIPpResult, 1)
	go func() {
		done <- sipp(t, k, "127.0.15.3", "14070", 40*time.Second, map[string]string{
			"info.xml": scenario(t, "info.xml", "INFO1_MS", strconv.Itoa(int(first/time.Millisecond)), "KEY1", "2",
				"INFO2_MS", "2500", "KEY2", "3", "PAUSE_MS", "3000"),
			"media.pcap": string(callerStream(first+7*time.Second, peertest.Digit{At: first, Event: key('2')})),
		}, "info.xml")
	}()
	waitFor(t, 20*time.Second, "the caller queued for belastingen", func() bool { return len(k.router.Waiting("belastingen")) == 1 })
	if n := len(k.router.Waiting("afval")); n != 0 {
		t.Errorf("%d callers in afval: a key counted twice", n)
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	settle(t, k)
}

// TestIntegrationCrossings: a BYE before the ACK, and a CANCEL crossing the
// 200 OK, leave no dialog, contact or port behind.
func TestIntegrationCrossings(t *testing.T) {
	k := startKCC(t, "127.0.16.1", nil)
	for _, sc := range []string{"byebeforeack.xml", "cancelafter200.xml"} {
		t.Run(sc, func(t *testing.T) {
			res := sipp(t, k, "127.0.16.3", "14070", 20*time.Second, map[string]string{sc: scenario(t, sc)}, sc)
			if res.ExitCode != 0 {
				t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
			}
			settle(t, k)
		})
	}
}

// TestIntegrationCapacity: with call.max_calls at 2 the third call gets 486
// Busy Here (never 503, which would make a carrier stop routing the number
// to us) while the two calls keep their audio; with overload=prompt it gets
// the overload prompt and a BYE instead.
func TestIntegrationCapacity(t *testing.T) {
	for _, tc := range []struct {
		mode, scenario, net string
	}{
		{"busy", "reject.xml", "127.0.17"},
		{"prompt", "overload.xml", "127.0.18"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			kccIP := tc.net + ".1"
			capture := peertest.StartCapture(t, "udp and net "+tc.net+".0/24")
			k := startKCC(t, kccIP, func(c *config.Config) { c.Call.MaxCalls = 2; c.Call.Overload = tc.mode })
			first := make(chan peertest.SIPpResult, 2)
			for _, ip := range []string{tc.net + ".3", tc.net + ".5"} {
				go func() { first <- callChoosing(t, k, ip, 4*time.Second) }()
			}
			waitFor(t, 10*time.Second, "two calls in progress", func() bool { return k.svc.Active() == 2 })
			thirdAt := time.Now()
			res := peertest.RunSIPp(t, 30*time.Second, map[string]string{
				tc.scenario:  scenario(t, tc.scenario, "CODECS", "8", "STATUS", "486"),
				"media.pcap": string(callerStream(10 * time.Second)),
			}, "-sf", tc.scenario, kccIP+":5060", "-s", "14070", "-i", tc.net+".4", "-p", "5099", "-mp", "16000",
				"-m", "1", "-l", "1", "-timeout", "30s")
			if res.ExitCode != 0 {
				t.Fatalf("third call: SIPp (exit %d):\n%s", res.ExitCode, res.Output)
			}
			for range 2 {
				if r := <-first; r.ExitCode != 0 {
					t.Fatalf("a first call: SIPp (exit %d):\n%s", r.ExitCode, r.Output)
				}
			}
			settle(t, k)
			pkts := capture.Stop()
			// Both calls kept 50 packets/s while the third call was tried.
			from, to := thirdAt, thirdAt.Add(2*time.Second)
			for _, ip := range []string{tc.net + ".3", tc.net + ".5"} {
				caller := netip.AddrPortFrom(netip.MustParseAddr(ip), 16000)
				n := rtpCount(pkts, from, to, func(src, dst netip.AddrPort) bool { return dst == caller })
				if n < 90 {
					t.Errorf("caller %s got %d packets in the 2 s after the third call, want ≥ 90", ip, n)
				}
			}
		})
	}
}

// TestIntegrationDrain: on SIGTERM kcc refuses new calls with 503 (no
// Retry-After by default), lets the call in progress finish, then stops.
func TestIntegrationDrain(t *testing.T) {
	const kccIP = "127.0.19.1"
	capture := peertest.StartCapture(t, "udp and net 127.0.19.0/24")
	k := startKCC(t, kccIP, nil)
	first := make(chan peertest.SIPpResult, 1)
	go func() { first <- callChoosing(t, k, "127.0.19.3", 3*time.Second) }()
	waitFor(t, 10*time.Second, "the first call in progress", func() bool { return k.svc.Active() == 1 })
	k.stop()
	res := peertest.RunSIPp(t, 15*time.Second, map[string]string{
		"reject.xml": scenario(t, "reject.xml", "CODECS", "8", "STATUS", "503"),
	}, "-sf", "reject.xml", kccIP+":5060", "-s", "14070", "-i", "127.0.19.4", "-p", "5099", "-mp", "16000", "-m", "1", "-timeout", "15s")
	if res.ExitCode != 0 {
		t.Fatalf("call while draining: want 503 (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	if r := <-first; r.ExitCode != 0 {
		t.Fatalf("the call in progress was cut (SIPp exit %d):\n%s", r.ExitCode, r.Output)
	}
	select {
	case err := <-k.stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("kcc did not stop after its last call")
	}
	pkts := capture.Stop()
	if p, ok := sipMessage(pkts, netip.MustParseAddr(kccIP), netip.MustParseAddr("127.0.19.4"), "SIP/2.0 503"); !ok {
		t.Error("no 503 captured")
	} else if bytes.Contains(p.Payload, []byte("Retry-After")) {
		t.Errorf("503 carries Retry-After although none is configured:\n%s", p.Payload)
	}
}

// TestIntegrationKeepAliveDropsDeadPhone: an agent's phone dies without
// unregistering; kcc's OPTIONS go unanswered and routing logs the agent out.
func TestIntegrationKeepAliveDropsDeadPhone(t *testing.T) {
	k := startKCC(t, "127.0.20.1", func(c *config.Config) { c.SIP.KeepAlive = time.Second })
	agent := startAgent(t, k, "2001", "127.0.20.2", "auto")
	time.Sleep(2500 * time.Millisecond) // a live phone answers OPTIONS and stays
	if s := k.agentState("2001"); s != routing.Available {
		t.Fatalf("a live phone was dropped: %v", s)
	}
	agent.Kill()
	waitFor(t, 10*time.Second, "agent 2001 logged out", func() bool { return k.agentState("2001") == routing.LoggedOut })
}

// TestIntegrationAdvertisedAddresses: behind NAT kcc puts the configured
// public addresses in Contact and in the SDP c= line.
func TestIntegrationAdvertisedAddresses(t *testing.T) {
	const kccIP, callerIP = "127.0.21.1", "127.0.21.3"
	capture := peertest.StartCapture(t, "udp and net 127.0.21.0/24")
	k := startKCC(t, kccIP, func(c *config.Config) {
		c.SIP.Advertise = "192.0.2.10"
		c.Media.Advertise = "192.0.2.11"
	})
	res := sipp(t, k, callerIP, "14070", 20*time.Second, map[string]string{
		"caller.xml": scenario(t, "caller.xml", "PAUSE_MS", "500"),
		"media.pcap": string(callerStream(time.Second)),
	}, "caller.xml")
	if res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	pkts := capture.Stop()
	ok200, ok := sipMessage(pkts, netip.MustParseAddr(kccIP), netip.MustParseAddr(callerIP), "SIP/2.0 200", "CSeq: 1 INVITE")
	if !ok {
		t.Fatal("no 200 OK captured")
	}
	for _, re := range []string{`(?m)^Contact: <sip:kcc@192\.0\.2\.10:5060>`, `(?m)^c=IN IP4 192\.0\.2\.11\r$`} {
		if !regexp.MustCompile(re).Match(ok200.Payload) {
			t.Errorf("200 OK lacks %s:\n%s", re, ok200.Payload)
		}
	}
	settle(t, k)
}

// TestIntegrationInBandKeys: a caller without telephone-event sends its
// keys as tones in the audio; kcc hears 2 (English) and 1 (passports).
func TestIntegrationInBandKeys(t *testing.T) {
	k := startKCC(t, "127.0.23.1", nil)
	done := make(chan peertest.SIPpResult, 1)
	go func() {
		done <- callChoosingWith(t, k, "127.0.23.3", callerPhone{codec: media.PCMA}, 3*time.Second, '2', '1')
	}()
	waitFor(t, 25*time.Second, "the caller queued for paspoort", func() bool { return len(k.router.Waiting("paspoort")) == 1 })
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if !bytes.Contains([]byte(k.logs.String()), []byte(`"language":"en"`)) {
		t.Error("the caller was not queued in English: the 2 was missed")
	}
	settle(t, k)
}

// TestIntegrationAgentBehindNAT: an agent's REGISTER says Contact 10.1.2.3
// (and Via 10.1.2.3, without rport) but comes from 127.0.0.7; kcc answers it
// and sends its calls to 127.0.0.7, never to 10.1.2.3.
func TestIntegrationAgentBehindNAT(t *testing.T) {
	const kccIP, agentIP = "127.0.24.1", "127.0.0.7"
	capture := peertest.StartCapture(t, "udp and (net 127.0.24.0/24 or host 127.0.0.7 or host 10.1.2.3)")
	k := startKCC(t, kccIP, nil)
	// Two SIPp runs on the same address: SIPp can only map an incoming
	// INVITE to a call of a scenario that starts by receiving it.
	reg := peertest.RunSIPp(t, 15*time.Second, map[string]string{
		"register.xml": scenario(t, "register.xml", "CONTACT_HOST", "10.1.2.3", "USERNAME", "2001", "PASSWORD", "demo-2001"),
	}, "-sf", "register.xml", kccIP+":5060", "-s", "2001", "-i", agentIP, "-p", "5070", "-m", "1", "-timeout", "15s")
	if reg.ExitCode != 0 {
		t.Fatalf("agent REGISTER: SIPp (exit %d):\n%s", reg.ExitCode, reg.Output)
	}
	waitFor(t, 5*time.Second, "agent 2001 registered", func() bool { return k.agentState("2001") == routing.Available })
	agentDone := make(chan peertest.SIPpResult, 1)
	go func() {
		agentDone <- peertest.RunSIPp(t, 60*time.Second, map[string]string{
			"answer.xml": scenario(t, "answer.xml", "CONTACT_HOST", "10.1.2.3"),
		}, "-sf", "answer.xml", "-s", "2001", "-i", agentIP, "-p", "5070", "-mp", "17000", "-m", "1", "-timeout", "60s")
	}()
	time.Sleep(300 * time.Millisecond) // let the answering SIPp bind
	if res := callChoosing(t, k, "127.0.24.3", 2*time.Second, '1', '1'); res.ExitCode != 0 {
		t.Fatalf("caller: SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if res := <-agentDone; res.ExitCode != 0 {
		t.Fatalf("agent: SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	pkts := capture.Stop()
	invite, ok := sipMessage(pkts, netip.MustParseAddr(kccIP), netip.MustParseAddr(agentIP), "INVITE ")
	if !ok || invite.Dst.Port() != 5070 {
		t.Fatalf("no INVITE to the agent's source 127.0.0.7:5070 (got %v)", invite.Dst)
	}
	for _, p := range pkts {
		if p.Dst.Addr() == netip.MustParseAddr("10.1.2.3") {
			t.Fatalf("kcc sent to the private Contact address: %s", firstLine(p.Payload))
		}
	}
	settle(t, k)
}

// TestIntegrationTCPViaHost: over TCP, a request whose Via names 192.0.2.1
// gets its answer on its own connection, and when that connection is gone
// before the answer, kcc opens no connection anywhere (reliability.md S4).
func TestIntegrationTCPViaHost(t *testing.T) {
	const kccIP = "127.0.26.1"
	k := startKCC(t, kccIP, func(c *config.Config) { c.Call.AnswerDelay = 500 * time.Millisecond })
	capture := peertest.StartCaptureOn(t, "any", "host 192.0.2.1")
	request := func(method, callID string) string {
		return method + " sip:14070@" + kccIP + " SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK" + callID + "\r\n" +
			"From: <sip:attacker@192.0.2.1>;tag=1\r\nTo: <sip:14070@" + kccIP + ">\r\n" +
			"Call-ID: " + callID + "\r\nCSeq: 1 " + method + "\r\nContact: <sip:a@192.0.2.1>\r\nMax-Forwards: 70\r\n" +
			"Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n"
	}
	c, err := net.Dial("tcp", kccIP+":5060")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(request("OPTIONS", "tcp-via-1"))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200")) {
		t.Fatalf("OPTIONS over TCP: got %q, %v; want 200 on the same connection", buf[:n], err)
	}
	c.Close()
	// An INVITE whose connection closes before kcc can answer it.
	c2, err := net.Dial("tcp", kccIP+":5060")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Write([]byte(request("INVITE", "tcp-via-2"))); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	time.Sleep(2 * time.Second)
	if n := capture.StopCount(); n != 0 {
		t.Fatalf("kcc sent %d packets towards the Via host 192.0.2.1", n)
	}
	settle(t, k)
}

// TestIntegrationDeadPhone: an agent's phone registered and then vanished
// without a word; ringing it gets no answer at all. The offer moves on at
// the ring timeout, and when the caller gives up nothing of the call stays
// behind waiting for SIP's 32 s transaction timeout.
func TestIntegrationDeadPhone(t *testing.T) {
	const kccIP = "127.0.28.1"
	k := startKCC(t, kccIP, func(c *config.Config) { c.Routing.RingTimeout = 1500 * time.Millisecond })
	reg := peertest.RunSIPp(t, 15*time.Second, map[string]string{
		"register.xml": scenario(t, "register.xml", "CONTACT_HOST", "127.0.28.7", "USERNAME", "2001", "PASSWORD", "demo-2001"),
	}, "-sf", "register.xml", kccIP+":5060", "-s", "2001", "-i", "127.0.28.7", "-p", "5070", "-m", "1", "-timeout", "15s")
	if reg.ExitCode != 0 {
		t.Fatalf("agent REGISTER: SIPp (exit %d):\n%s", reg.ExitCode, reg.Output)
	}
	waitFor(t, 5*time.Second, "agent 2001 registered", func() bool { return k.agentState("2001") == routing.Available })
	if res := callChoosing(t, k, "127.0.28.3", 3*time.Second, '1', '1'); res.ExitCode != 0 {
		t.Fatalf("caller: SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if !bytes.Contains([]byte(k.logs.String()), []byte(`"event":"offer-timed-out"`)) {
		t.Error("the offer to the dead phone never timed out")
	}
	settle(t, k)
}
