package media

import (
	"context"
	"sync"
	"testing"
	"time"
)

// playingSession returns a session whose current playback loops forever,
// without the pacer, so tick can be driven directly.
func playingSession(tb testing.TB, e *Engine, p *peer) *Session {
	tb.Helper()
	s, _, err := e.Answer(p.offer())
	if err != nil {
		tb.Fatalf("Answer: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	s.mu.Lock()
	s.out = &playback{frames: testFrames(50), loop: true, done: make(chan error, 1)}
	s.mu.Unlock()
	return s
}

// bridgedPair returns A's receiver with A bridged to B (whose remote is a
// peer socket), and a valid audio packet from A's peer.
func bridgedPair(tb testing.TB, e *Engine) (*receiver, []byte, *peer) {
	tb.Helper()
	pa, pb := newPeer(tb), newPeer(tb)
	a, _, err := e.Answer(pa.offer())
	if err != nil {
		tb.Fatal(err)
	}
	b, _, err := e.Answer(pb.offer())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Bridge(ctx, b) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = a.Close()
		_ = b.Close()
	})
	for a.relayTo.Load() != b {
		time.Sleep(time.Millisecond)
	}
	r := &receiver{s: a}
	pkt := rtpPacket(tb, 8, 1, 1000, 0x1234, false, make([]byte, FrameSamples))
	r.handle(pkt, pa.addr()) // latch
	return r, pkt, pb
}

func TestSendFrameDoesNotAllocate(t *testing.T) {
	e := newTestEngine(t, 44000, 44099, false)
	p := newPeer(t)
	s := playingSession(t, e, p)
	allocs := testing.AllocsPerRun(200, func() {
		if !s.tick(time.Now()) {
			t.Fatal("looping playback ended")
		}
	})
	if allocs != 0 {
		t.Errorf("tick (marshal + socket write) allocates %.1f times per frame, want 0", allocs)
	}
	if got := s.Stats().PacketsSent; got < 200 {
		t.Errorf("PacketsSent = %d, want >= 200 (the writes really happened)", got)
	}
}

func TestRelayDoesNotAllocate(t *testing.T) {
	e := newTestEngine(t, 44100, 44199, false)
	r, pkt, _ := bridgedPair(t, e)
	src := r.source
	allocs := testing.AllocsPerRun(200, func() { r.handle(pkt, src) })
	if allocs != 0 {
		t.Errorf("receive + relay allocates %.1f times per packet, want 0", allocs)
	}
	if got := r.s.Stats().PacketsRelayed; got < 200 {
		t.Errorf("PacketsRelayed = %d, want >= 200", got)
	}
}

func BenchmarkSendFrame(b *testing.B) {
	e := newTestEngine(b, 44200, 44299, false)
	p := newPeer(b)
	s := playingSession(b, e, p)
	b.ReportAllocs()
	for b.Loop() {
		s.tick(time.Now())
	}
}

func BenchmarkRelayPacket(b *testing.B) {
	e := newTestEngine(b, 44300, 44399, false)
	r, pkt, _ := bridgedPair(b, e)
	src := r.source
	b.ReportAllocs()
	for b.Loop() {
		r.handle(pkt, src)
	}
}

func BenchmarkAnswer(b *testing.B) {
	e := newTestEngine(b, 44400, 44499, false)
	offer := offerSDPBytes(loopbackAddrPort(4000))
	b.ReportAllocs()
	for b.Loop() {
		s, _, err := e.Answer(offer)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
}

// TestSendPathDoesNotAllocate covers every packet kcc generates itself:
// comfort silence, RFC 4733 events, in-band tones, transcoded relay and
// RTCP reports, each including the socket write.
func TestSendPathDoesNotAllocate(t *testing.T) {
	e := newTestEngineWith(t, Config{PortMin: 44500, PortMax: 44599}, false)
	p := newPeer(t)
	silent, _, err := e.Answer(p.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	noTE, _, err := e.Answer(peerOffer(p.addr(), PCMU, -1))
	if err != nil {
		t.Fatal(err)
	}
	defer noTE.Close()
	keyTick := func(s *Session) func() {
		return func() {
			s.mu.Lock()
			if !s.keys.pending() {
				s.keys.gap = 0
				s.keys.push(keyReq{event: 5})
			}
			s.mu.Unlock()
			s.tick(time.Now())
		}
	}
	r, pkt, _ := transcodedPair(t, e)
	src := r.source
	tests := []struct {
		name string
		s    *Session
		run  func()
	}{
		{"comfort silence", silent, func() { silent.tick(time.Now()) }},
		{"rfc 4733 event", silent, keyTick(silent)},
		{"in-band tone", noTE, keyTick(noTE)},
		{"transcoded relay", r.s.relayTo.Load(), func() { r.handle(pkt, src) }},
		{"rtcp report", silent, func() { silent.sendReport(time.Now()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.s.Stats()
			if allocs := testing.AllocsPerRun(200, tt.run); allocs != 0 {
				t.Errorf("allocates %.1f times per packet, want 0", allocs)
			}
			after := tt.s.Stats()
			if after.PacketsSent+after.RTCPSent < before.PacketsSent+before.RTCPSent+200 {
				t.Errorf("sent %d packets, want >= 200 (the writes really happened)", after.PacketsSent+after.RTCPSent-before.PacketsSent-before.RTCPSent)
			}
		})
	}
}

// transcodedPair is bridgedPair with an A-law leg A and a µ-law leg B.
func transcodedPair(tb testing.TB, e *Engine) (*receiver, []byte, *peer) {
	tb.Helper()
	pa, pb := newPeer(tb), newPeer(tb)
	a, _, err := e.Answer(peerOffer(pa.addr(), PCMA, 101))
	if err != nil {
		tb.Fatal(err)
	}
	b, _, err := e.Answer(peerOffer(pb.addr(), PCMU, 101))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Bridge(ctx, b) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = a.Close()
		_ = b.Close()
	})
	for a.relayTo.Load() != b {
		time.Sleep(time.Millisecond)
	}
	r := &receiver{s: a}
	pkt := rtpPacket(tb, 8, 1, 1000, 0x1234, false, make([]byte, FrameSamples))
	r.handle(pkt, pa.addr()) // latch
	return r, pkt, pb
}

func BenchmarkTranscodeRelay(b *testing.B) {
	e := newTestEngine(b, 44600, 44699, false)
	r, pkt, _ := transcodedPair(b, e)
	src := r.source
	b.ReportAllocs()
	for b.Loop() {
		r.handle(pkt, src)
	}
}

func BenchmarkComfortSilence(b *testing.B) {
	e := newTestEngineWith(b, Config{PortMin: 44700, PortMax: 44799}, false)
	p := newPeer(b)
	s, _, err := e.Answer(p.offer())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s.tick(time.Now())
	}
}
