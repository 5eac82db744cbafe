//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/config"
	"kcc/media"
	"kcc/peertest"
	"kcc/prompts"
	"kcc/routing"
)

// Integration tests start kcc in-process (so they can look at its router and
// port pool) on their own 127.x.y.z address, and talk to it only with real
// peers: SIPp (Debian sip-tester) and baresip. They need root for tcpdump and
// for SIPp's pcap playback (raw sockets); scripts/test.sh runs them.

// syncBuffer collects kcc's log for a failing test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testKCC is a kcc running in the test process.
type testKCC struct {
	*app
	ip   string
	logs *syncBuffer
	base int // goroutines running kcc code when idle

	stop    context.CancelFunc // starts the drain, as SIGTERM does
	stopped chan error         // run's result
}

// openHours is the IVR clock of in-process tests: a Wednesday morning,
// when the built-in flow's opening hours let callers through.
func openHours() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }

// startKCC runs kcc on ip:5060 with test-scale timers; mutate may change the
// configuration first. It stops at cleanup and dumps its log if the test failed.
func startKCC(t *testing.T, ip string, mutate func(*config.Config)) *testKCC {
	t.Helper()
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg.SIP.Listen = ip + ":5060"
	cfg.API.Listen = ip + ":8080"
	cfg.Store.Path = filepath.Join(t.TempDir(), "kcc.db")
	cfg.Store.HashKey = "integration-test-hash-key"
	cfg.Media.IP = ip
	cfg.Media.PortMin, cfg.Media.PortMax = 40000, 40999 // Asterisk's RTP uses 30000-30999
	cfg.Routing.RingTimeout = 5 * time.Second
	cfg.Routing.WrapUp = 500 * time.Millisecond
	cfg.Log.Level = "debug"
	// Tests call from one number again and again: repeat-caller care (and
	// its extra wrap-up) only where a test asks for it.
	cfg.Routing.Care.RepeatWithin, cfg.Routing.Care.RepeatCalls = 0, 0
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	a, err := newApp(cfg, zerolog.New(logs).With().Timestamp().Logger(), withIVRClock(openHours))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	var result error
	finished := make(chan struct{})
	go func() { result = <-done; close(finished) }()
	t.Cleanup(func() {
		cancel()
		<-finished
		if result != nil {
			t.Errorf("kcc run: %v", result)
		}
		if t.Failed() {
			t.Logf("kcc log:\n%s", tail(logs.String(), 12000))
		}
	})
	k := &testKCC{app: a, ip: ip, logs: logs, stop: cancel, stopped: make(chan error, 1)}
	go func() { <-finished; k.stopped <- result }()
	// Let the servers' goroutines start, so base counts them.
	for prev := -1; ; time.Sleep(50 * time.Millisecond) {
		n := kccGoroutines()
		if n == prev {
			k.base = n
			break
		}
		prev = n
	}
	return k
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (k *testKCC) agentState(id string) routing.AgentState {
	for _, a := range k.router.Agents() {
		if a.ID == id {
			return a.State
		}
	}
	return routing.LoggedOut
}

// startAgent starts a baresip that registers as agent id on k and waits
// until routing has it available. answer is "auto" or "manual".
func startAgent(t *testing.T, k *testKCC, id, ip, answer string) *peertest.Baresip {
	t.Helper()
	return startAgentCodecs(t, k, id, ip, answer, "PCMA,PCMU")
}

// startAgentCodecs is startAgent with the phone's codec list (baresip's
// audio_codecs, e.g. "PCMU" for a phone that speaks only µ-law).
func startAgentCodecs(t *testing.T, k *testKCC, id, ip, answer, codecs string) *peertest.Baresip {
	t.Helper()
	lo, hi := agentRTP(ip)
	b := peertest.StartBaresip(t, peertest.BaresipConfig{
		IP: ip, SIPPort: 5081, CtrlPort: 4444, RTPPorts: fmt.Sprintf("%d-%d", lo, hi),
		Account: fmt.Sprintf("<sip:%s@%s:5060>;auth_pass=demo-%s;answermode=%s;audio_codecs=%s;regint=600",
			id, k.ip, id, answer, codecs),
	})
	// REGISTER_OK may come before the ctrl_tcp connection: ask kcc instead.
	waitFor(t, 5*time.Second, "agent "+id+" available", func() bool { return k.agentState(id) == routing.Available })
	return b
}

// scenario reads a SIPp scenario from testdata and fills in placeholders.
func scenario(t *testing.T, name string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/sipp/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(replace...).Replace(string(b))
}

// sipp runs one SIPp call from ip against k and returns its result.
func sipp(t *testing.T, k *testKCC, ip, service string, timeout time.Duration, files map[string]string, scenarioFile string, extra ...string) peertest.SIPpResult {
	t.Helper()
	return peertest.RunSIPp(t, timeout, files, append([]string{
		"-sf", scenarioFile, k.ip + ":5060", "-s", service, "-i", ip, "-p", "5099", "-mp", "16000",
		"-m", "1", "-l", "1", "-timeout", fmt.Sprintf("%ds", int(timeout/time.Second))}, extra...)...)
}

// callChoosing runs one SIPp call from ip to 14070: it hears the whole
// welcome prompt, presses keys 2.5 s apart (the first 1 s after the welcome,
// so each lands in its menu) and hangs up `after` the last key. The caller
// sends 20 ms PCMA frames throughout, the keys as RFC 4733 events.
func callChoosing(t *testing.T, k *testKCC, ip string, after time.Duration, keys ...call.Digit) peertest.SIPpResult {
	t.Helper()
	return callChoosingWith(t, k, ip, pcmaCaller, after, keys...)
}

// callerPhone is how a SIPp caller's phone speaks.
type callerPhone struct {
	codec   media.Codec
	eventPT uint8 // telephone-event payload type; 0: none (keys as in-band tones)
}

var pcmaCaller = callerPhone{codec: media.PCMA, eventPT: 101}

// callChoosingWith is callChoosing for a caller with another codec, another
// telephone-event payload type, or keys as in-band tones.
func callChoosingWith(t *testing.T, k *testKCC, ip string, phone callerPhone, after time.Duration, keys ...call.Digit) peertest.SIPpResult {
	t.Helper()
	return callScenario(t, k, ip, "caller.xml", phone, after, keys...)
}

// callScenario is callChoosingWith with another SIPp scenario built on
// caller.xml's placeholders, such as hungup.xml (kcc hangs up).
func callScenario(t *testing.T, k *testKCC, ip, sf string, phone callerPhone, after time.Duration, keys ...call.Digit) peertest.SIPpResult {
	t.Helper()
	welcome, ok := catalog(t).Prompt("nl", "welkom")
	if !ok {
		t.Fatal("no Dutch welcome prompt")
	}
	at := welcome.Duration() + time.Second
	var digits []peertest.Digit
	for i, d := range keys {
		if i > 0 {
			at += 2500 * time.Millisecond
		}
		digits = append(digits, peertest.Digit{At: at, Event: key(d)})
	}
	total := at + after
	frame := make([]byte, media.FrameSamples)
	phone.codec.Encode(frame, peertest.Tone(media.FrameSamples))
	stream := peertest.MediaStream{Duration: total + time.Second, AudioPT: phone.codec.PayloadType, Frame: frame,
		EventPT: phone.eventPT, Digits: digits}
	sdp := []string{"PAUSE_MS", strconv.Itoa(int(total / time.Millisecond))}
	pt := strconv.Itoa(int(phone.codec.PayloadType))
	if phone.eventPT == 0 {
		stream.InBand = phone.codec.Encode
		sdp = append(sdp, "RTP/AVP 8 0 101", "RTP/AVP "+pt, "      a=rtpmap:101 telephone-event/8000\n", "", "      a=fmtp:101 0-15\n", "")
	} else {
		ev := strconv.Itoa(int(phone.eventPT))
		sdp = append(sdp, "RTP/AVP 8 0 101", "RTP/AVP "+pt+" "+ev, "rtpmap:101", "rtpmap:"+ev, "fmtp:101", "fmtp:"+ev)
	}
	return sipp(t, k, ip, "14070", total+20*time.Second, map[string]string{
		sf:           scenario(t, sf, sdp...),
		"media.pcap": string(stream.Pcap()),
	}, sf)
}

// catalog returns the built-in prompts, as kcc loaded them.
func catalog(t *testing.T) *prompts.Catalog {
	t.Helper()
	c, err := prompts.Load(prompts.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// callerStream is a resident's RTP: a PCMA tone for d with keys at the given
// moments.
func callerStream(d time.Duration, keys ...peertest.Digit) []byte {
	frame := make([]byte, media.FrameSamples)
	media.PCMA.Encode(frame, peertest.Tone(media.FrameSamples))
	return peertest.MediaStream{Duration: d, AudioPT: 8, Frame: frame, EventPT: 101, Digits: keys}.Pcap()
}

// key returns the RFC 4733 event code of a DTMF key.
func key(d call.Digit) uint8 {
	switch d {
	case '*':
		return 10
	case '#':
		return 11
	}
	return uint8(d - '0')
}

// kccGoroutines counts the goroutines running kcc code. sipgo keeps its
// own transaction goroutines for up to 64*T1 after a call (RFC 3261 timers
// J and K), so a leak check that counted every goroutine could not settle.
func kccGoroutines() int { return len(kccStacks()) }

func kccStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var ours []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		// Test goroutines (running or waiting for subtests) are not kcc's.
		if strings.Contains(g, "\nkcc/") && !strings.Contains(g, "testing.tRunner") {
			ours = append(ours, g)
		}
	}
	return ours
}

// settle waits until k has no contact and no RTP port left, and no more
// goroutines run kcc code than when it was idle.
func settle(t *testing.T, k *testKCC) {
	t.Helper()
	waitFor(t, 10*time.Second, "no contact left", func() bool { return k.svc.Active() == 0 })
	waitFor(t, 5*time.Second, "no RTP port left", func() bool { return k.media.PortsInUse() == 0 })
	deadline := time.Now().Add(10 * time.Second)
	for kccGoroutines() > k.base {
		if time.Now().After(deadline) {
			t.Fatalf("kcc goroutines did not return to the baseline of %d:\n%s", k.base, strings.Join(kccStacks(), "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rtpCount counts the audio RTP packets captured in [from, to] for which
// leg is true.
func rtpCount(pkts []peertest.Packet, from, to time.Time, leg func(src, dst netip.AddrPort) bool) int {
	n := 0
	for _, p := range pkts {
		if p.Time.Before(from) || p.Time.After(to) || !leg(p.Src, p.Dst) {
			continue
		}
		if r, ok := peertest.ParseRTP(p.Payload); ok && (r.PayloadType == 8 || r.PayloadType == 0) {
			n++
		}
	}
	return n
}

// agentRTP returns the RTP port range of the baresip agent on ip: its own
// per address, since baresip binds RTP to every address.
func agentRTP(ip string) (lo, hi uint16) {
	last := netip.MustParseAddr(ip).As4()[3]
	lo = 20000 + 100*uint16(last)
	return lo, lo + 99
}

// sipMessage returns the first captured SIP message from src to dst whose
// first line starts with prefix and which contains every one of contains.
func sipMessage(pkts []peertest.Packet, src, dst netip.Addr, prefix string, contains ...string) (peertest.Packet, bool) {
outer:
	for _, p := range pkts {
		if p.Src.Addr() != src || p.Dst.Addr() != dst || !bytes.HasPrefix(p.Payload, []byte(prefix)) {
			continue
		}
		for _, c := range contains {
			if !bytes.Contains(p.Payload, []byte(c)) {
				continue outer
			}
		}
		return p, true
	}
	return peertest.Packet{}, false
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// sameAudio checks that the first non-silence frames heard are the
// prompt's frames from its first non-silence frame on: kcc may send comfort
// silence before a prompt starts, and a prompt may start with a pause.
func sameAudio(t *testing.T, heard, prompt [][]byte, silence byte) {
	t.Helper()
	prompt = prompt[leadingSilence(prompt, silence):]
	heard = heard[leadingSilence(heard, silence):]
	if len(heard) < len(prompt) {
		t.Fatalf("caller heard %d frames after the silence, want the prompt's %d", len(heard), len(prompt))
	}
	for i := range prompt {
		if !bytes.Equal(heard[i], prompt[i]) {
			t.Fatalf("frame %d after the silence differs from the prompt:\n got %x\nwant %x", i, heard[i], prompt[i])
		}
	}
}

func leadingSilence(frames [][]byte, silence byte) int {
	for i, f := range frames {
		if len(bytes.Trim(f, string([]byte{silence}))) != 0 {
			return i
		}
	}
	return len(frames)
}
