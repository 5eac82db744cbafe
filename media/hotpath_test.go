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
