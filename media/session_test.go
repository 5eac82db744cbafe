package media

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"kcc/call"
)

const recvTimeout = 2 * time.Second

func TestPlayLoopback(t *testing.T) {
	e := newTestEngine(t, 42000, 42099, true)
	p := newPeer(t)
	s, _, err := e.Answer(p.offer())
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	defer s.Close()

	const n = 50
	want := (n - 1) * 20 * time.Millisecond
	// Packets can never come faster than the grid, so the lower bound is
	// strict. The upper bound depends on the machine not being starved
	// (other test binaries share the CPUs), so a slow run is retried twice
	// before it counts as a failure.
	var got time.Duration
	for attempt := range 3 {
		got = playAndCheck(t, s, p, n, attempt)
		if got < want*85/100 {
			t.Fatalf("%d frames took %v, want at least %v: frames were bursted", n, got, want*85/100)
		}
		if got <= want*115/100 {
			break
		}
		t.Logf("attempt %d: %d frames took %v, want %v ±15%%; retrying", attempt, n, got, want)
	}
	if got > want*115/100 {
		t.Errorf("%d frames took %v, want %v ±15%%", n, got, want)
	}
	p.expectSilence(60 * time.Millisecond) // nothing after the last frame
	if st := s.Stats(); st.PacketsSent%n != 0 || st.BytesSent != st.PacketsSent*(rtpHeaderSize+FrameSamples) {
		t.Errorf("Stats sent = %d pkts %d bytes, want a multiple of %d packets of %d bytes", st.PacketsSent, st.BytesSent, n, rtpHeaderSize+FrameSamples)
	}
}

// playAndCheck plays n frames and checks every packet the peer receives:
// payload, PT, marker, seq +1, timestamp +160, one SSRC. It returns the time
// between the first and the last arrival.
func playAndCheck(t *testing.T, s *Session, p *peer, n, attempt int) time.Duration {
	t.Helper()
	frames := testFrames(n)
	for _, f := range frames {
		f[0] = byte(attempt)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Play(context.Background(), frames) }()

	var first, last time.Time
	var prevSeq uint16
	var prevTS, ssrc uint32
	for i := range n {
		pkt, src, at := p.recv(recvTimeout)
		if src != s.LocalAddr() {
			t.Errorf("packet %d from %v, want %v", i, src, s.LocalAddr())
		}
		if pkt.PayloadType != PCMA.PayloadType {
			t.Errorf("packet %d PT = %d, want %d", i, pkt.PayloadType, PCMA.PayloadType)
		}
		if !bytes.Equal(pkt.Payload, frames[i]) {
			t.Fatalf("packet %d payload differs from frame %d", i, i)
		}
		if got, want := pkt.Marker, i == 0; got != want {
			t.Errorf("packet %d marker = %v, want %v", i, got, want)
		}
		if i == 0 {
			first, ssrc = at, pkt.SSRC
		} else {
			if pkt.SequenceNumber != prevSeq+1 {
				t.Errorf("packet %d seq = %d, want %d", i, pkt.SequenceNumber, prevSeq+1)
			}
			if pkt.Timestamp != prevTS+FrameSamples {
				t.Errorf("packet %d timestamp = %d, want %d", i, pkt.Timestamp, prevTS+FrameSamples)
			}
			if pkt.SSRC != ssrc {
				t.Errorf("packet %d SSRC changed", i)
			}
		}
		prevSeq, prevTS, last = pkt.SequenceNumber, pkt.Timestamp, at
	}
	if err := <-errc; err != nil {
		t.Errorf("Play = %v, want nil", err)
	}
	return last.Sub(first)
}

func TestPlaySemantics(t *testing.T) {
	e := newTestEngine(t, 42100, 42199, true)
	p := newPeer(t)
	s, _, err := e.Answer(p.offer())
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	defer s.Close()

	t.Run("bad frame size", func(t *testing.T) {
		if err := s.Play(context.Background(), [][]byte{make([]byte, 159)}); err == nil {
			t.Error("Play with a 159-byte frame succeeded, want error")
		}
	})
	t.Run("empty play returns at once", func(t *testing.T) {
		if err := s.Play(context.Background(), nil); err != nil {
			t.Errorf("Play(nil) = %v, want nil", err)
		}
	})
	t.Run("barge-in stops at once", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- s.Play(ctx, testFrames(500)) }()
		for range 3 {
			p.recv(recvTimeout)
		}
		cancel()
		if err := <-errc; err != context.Canceled { //nolint:errorlint // contract: ctx.Err() itself
			t.Errorf("Play after cancel = %v, want context.Canceled", err)
		}
		drain(p, 30*time.Millisecond) // at most one frame was in flight
		p.expectSilence(100 * time.Millisecond)
	})
	t.Run("second play replaces the first", func(t *testing.T) {
		first := make(chan error, 1)
		go func() { first <- s.Loop(context.Background(), testFrames(3)) }()
		p.recv(recvTimeout)
		second := testFrames(2)
		second[0][0], second[1][0] = 0xEE, 0xEF
		if err := s.Play(context.Background(), second); err != nil {
			t.Fatalf("second Play = %v", err)
		}
		if err := <-first; !errors.Is(err, ErrReplaced) {
			t.Errorf("replaced Loop = %v, want ErrReplaced", err)
		}
		var got []byte
		for {
			pkt, _, _, err := p.tryRecv(100 * time.Millisecond)
			if err != nil {
				break
			}
			got = append(got, pkt.Payload[0])
			if pkt.Payload[0] == 0xEE && !pkt.Marker {
				t.Error("first packet of the new Play has no marker bit")
			}
		}
		if len(got) < 2 || got[len(got)-2] != 0xEE || got[len(got)-1] != 0xEF {
			t.Errorf("last payloads = %x, want ... ee ef", got)
		}
	})
	t.Run("loop repeats until cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		frames := testFrames(2)
		go func() { errc <- s.Loop(ctx, frames) }()
		for i := range 6 {
			pkt, _, _ := p.recv(recvTimeout)
			if !bytes.Equal(pkt.Payload, frames[i%2]) {
				t.Errorf("loop packet %d is not frame %d", i, i%2)
			}
		}
		cancel()
		if err := <-errc; err != context.Canceled { //nolint:errorlint // contract
			t.Errorf("Loop = %v, want context.Canceled", err)
		}
		drain(p, 50*time.Millisecond)
	})
	t.Run("talkspurt timestamp follows the wall clock", func(t *testing.T) {
		if err := s.Play(context.Background(), testFrames(1)); err != nil {
			t.Fatal(err)
		}
		a, _, _ := p.recv(recvTimeout)
		time.Sleep(200 * time.Millisecond) // a real gap between two talkspurts
		if err := s.Play(context.Background(), testFrames(1)); err != nil {
			t.Fatal(err)
		}
		b, _, _ := p.recv(recvTimeout)
		gap := b.Timestamp - a.Timestamp
		if gap < 1600 || gap > 8000 || !b.Marker || b.SequenceNumber != a.SequenceNumber+1 {
			t.Errorf("after a 200 ms pause: ts gap %d (want ~1600+), marker %v, seq %d->%d", gap, b.Marker, a.SequenceNumber, b.SequenceNumber)
		}
	})
	t.Run("empty loop holds the output until replaced", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() { errc <- s.Loop(context.Background(), nil) }()
		waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.out != nil })
		p.expectSilence(60 * time.Millisecond)
		if err := s.Play(context.Background(), testFrames(1)); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, ErrReplaced) {
			t.Errorf("empty Loop = %v, want ErrReplaced", err)
		}
		p.recv(recvTimeout)
	})
	t.Run("closed session", func(t *testing.T) {
		s2, _, err := e.Answer(p.offer())
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- s2.Loop(context.Background(), testFrames(2)) }()
		p.recv(recvTimeout)
		if err := s2.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("Loop on closing session = %v, want ErrClosed", err)
		}
		if err := s2.Play(context.Background(), testFrames(1)); !errors.Is(err, ErrClosed) {
			t.Errorf("Play after Close = %v, want ErrClosed", err)
		}
		if err := s2.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
		if _, ok := <-s2.Digits(); ok {
			t.Error("Digits() still open after Close")
		}
		drain(p, 50*time.Millisecond)
	})
}

func drain(p *peer, d time.Duration) {
	for {
		if _, _, _, err := p.tryRecv(d); err != nil {
			return
		}
	}
}

func TestPlayAfterEngineStops(t *testing.T) {
	e := newTestEngine(t, 42200, 42299, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	s, _, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:9")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if err := e.Run(context.Background()); err == nil {
		t.Error("second Run succeeded, want error")
	}
	if err := s.Play(context.Background(), testFrames(5)); !errors.Is(err, ErrClosed) {
		t.Errorf("Play after the engine stopped = %v, want ErrClosed", err)
	}
}

func offerSDPBytes(ap netip.AddrPort) []byte { return []byte(offerSDP(ap)) }

func TestLatching(t *testing.T) {
	e := newTestEngine(t, 42300, 42399, true)
	signalled := newPeer(t) // the address in the SDP
	actual := newPeer(t)    // where RTP really comes from (NAT)
	s, _, err := e.Answer(signalled.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Before any packet: send to the SDP address.
	if err := s.Play(context.Background(), testFrames(1)); err != nil {
		t.Fatal(err)
	}
	signalled.recv(recvTimeout)

	// Garbage does not latch.
	actual.send(s.LocalAddr(), []byte("not rtp at all"))
	actual.send(s.LocalAddr(), rtpPacket(t, 99, 1, 160, 5, false, make([]byte, 160))) // PT not negotiated
	actual.send(s.LocalAddr(), rtpPacket(t, 8, 2, 320, 5, false, make([]byte, 160)))  // valid: latches
	waitFor(t, func() bool { return s.Stats().PacketsReceived == 1 })
	if err := s.Play(context.Background(), testFrames(1)); err != nil {
		t.Fatal(err)
	}
	if _, src, _ := actual.recv(recvTimeout); src != s.LocalAddr() {
		t.Errorf("reply from %v, want %v", src, s.LocalAddr())
	}
	signalled.expectSilence(50 * time.Millisecond)

	// Latched once: another source is ignored and does not move the latch.
	signalled.send(s.LocalAddr(), rtpPacket(t, 8, 3, 480, 6, false, make([]byte, 160)))
	waitFor(t, func() bool { return s.Stats().PacketsForeign == 1 })
	if err := s.Play(context.Background(), testFrames(1)); err != nil {
		t.Fatal(err)
	}
	actual.recv(recvTimeout)
	st := s.Stats()
	if st.PacketsDropped != 2 || st.PacketsReceived != 1 || st.PacketsForeign != 1 {
		t.Errorf("Stats = %+v, want 2 dropped, 1 received, 1 foreign", st)
	}
}

// waitFor polls cond for up to two seconds; the reader goroutine works on
// real sockets, which synctest cannot fake.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDigitsFromRTP(t *testing.T) {
	e := newTestEngine(t, 42400, 42499, false)
	p := newPeer(t)
	s, _, err := e.Answer(p.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seq := uint16(100)
	sendPress := func(ts uint32, event uint8) {
		for _, pk := range press(0xABC, ts, event, 3) {
			seq++
			p.send(s.LocalAddr(), rtpPacket(t, 101, seq, pk.ts, pk.ssrc, pk.dur == 160, tePayload(pk.event, pk.end, pk.dur)))
		}
	}
	sendPress(1000, 1)
	sendPress(3000, 1)
	sendPress(5000, 11)
	var got []call.Digit
	for range 3 {
		select {
		case d := <-s.Digits():
			got = append(got, d)
		case <-time.After(recvTimeout):
			t.Fatalf("digits so far %q, want 3", got)
		}
	}
	if string(got) != "11#" {
		t.Errorf("digits = %q, want %q", got, "11#")
	}
	waitFor(t, func() bool { return s.Stats().TelephoneEvents == 18 })
	if st := s.Stats(); st.Digits != 3 || st.PacketsReceived != 18 {
		t.Errorf("Stats digits %d packets %d, want 3 and 18 (retransmissions are not digits)", st.Digits, st.PacketsReceived)
	}
}

func TestDigitsNeverBlockReader(t *testing.T) {
	e := newTestEngine(t, 42500, 42599, false)
	p := newPeer(t)
	s, _, err := e.Answer(p.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const keys = digitBuffer + 10
	for i := range keys {
		p.send(s.LocalAddr(), rtpPacket(t, 101, uint16(i), uint32(i*1000), 1, true, tePayload(uint8(i%10), true, 800)))
	}
	// Every key enters the buffer (Digits); each one beyond its size also
	// pushes the oldest out (DigitsDropped), so Digits counts them all.
	waitFor(t, func() bool { return s.Stats().Digits >= keys })
	if got, want := s.Stats().DigitsDropped, uint64(keys-digitBuffer); got != want {
		t.Errorf("dropped %d keys, want %d", got, want)
	}
	if n := len(s.Digits()); n != digitBuffer {
		t.Errorf("buffered digits = %d, want %d", n, digitBuffer)
	}
	// The newest keys are kept.
	var last call.Digit
	for range digitBuffer {
		last = <-s.Digits()
	}
	if want := call.Digit('0' + (keys-1)%10); last != want {
		t.Errorf("newest buffered digit = %q, want %q", last, want)
	}
}

func TestBridge(t *testing.T) {
	e := newTestEngine(t, 42600, 42699, true)
	pa, pb := newPeer(t), newPeer(t)
	a, _, err := e.Answer(pa.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _, err := e.Offer(a.Codec())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Accept(offerSDPBytes(pb.addr())); err != nil {
		t.Fatalf("Accept: %v", err)
	}

	// B plays hold music until the bridge takes over.
	loopErr := make(chan error, 1)
	go func() { loopErr <- b.Loop(context.Background(), testFrames(2)) }()
	pb.recv(recvTimeout)

	ctx, cancel := context.WithCancel(context.Background())
	bridgeErr := make(chan error, 1)
	go func() { bridgeErr <- a.Bridge(ctx, b) }()
	if err := <-loopErr; !errors.Is(err, ErrReplaced) {
		t.Errorf("Loop on bridged session = %v, want ErrReplaced", err)
	}
	waitFor(t, func() bool { return a.relayTo.Load() == b })
	if err := a.Play(context.Background(), testFrames(1)); !errors.Is(err, ErrBridged) {
		t.Errorf("Play while bridged = %v, want ErrBridged", err)
	}
	drain(pb, 50*time.Millisecond)

	// Audio A -> B: B's SSRC, consecutive seq, timestamps with A's gaps.
	const ssrcA = 0x1111
	inTS := []uint32{5000, 5160, 5320, 5800} // a 320-sample gap before the last
	for i, ts := range inTS {
		pa.send(a.LocalAddr(), rtpPacket(t, 8, uint16(i+7), ts, ssrcA, i == 0, []byte{byte(i), 1, 2, 3}))
	}
	var got []rtpPacketInfo
	recvAudio := func() {
		pkt, src, _ := pb.recv(recvTimeout)
		if src != b.LocalAddr() {
			t.Errorf("relayed packet from %v, want %v", src, b.LocalAddr())
		}
		got = append(got, rtpPacketInfo{pkt.PayloadType, pkt.SequenceNumber, pkt.Timestamp, pkt.SSRC, pkt.Marker, pkt.Payload[0]})
	}
	for range inTS {
		recvAudio()
	}
	// A telephone-event packet is not forwarded but becomes A's digit,
	// which B regenerates as its own event (5 progress + 3 end packets;
	// checked in detail by TestBridgeRegeneratesKeys).
	pa.send(a.LocalAddr(), rtpPacket(t, 101, 20, 6000, ssrcA, true, tePayload(7, false, 160)))
	for i := range 8 {
		pkt, _, _ := pb.recv(recvTimeout)
		if pkt.PayloadType != 101 || pkt.Payload[0] != 7 {
			t.Fatalf("packet %d after A's key: PT %d event %d, want B's regenerated event 7", i, pkt.PayloadType, pkt.Payload[0])
		}
	}
	pa.send(a.LocalAddr(), rtpPacket(t, 8, 21, 6800, ssrcA, false, []byte{9, 9}))
	recvAudio()
	pb.expectSilence(50 * time.Millisecond) // A's event packet itself never comes
	b.tx.mu.Lock()
	ssrcB := b.tx.ssrc
	b.tx.mu.Unlock()
	for i, g := range got {
		if g.ssrc != ssrcB || g.pt != 8 {
			t.Errorf("relayed %d: SSRC %x PT %d, want B's %x PT 8", i, g.ssrc, g.pt, ssrcB)
		}
		step := uint16(1)
		if i == len(inTS) {
			step = 9 // B's eight event packets came in between
		}
		if i > 0 && g.seq != got[i-1].seq+step {
			t.Errorf("relayed %d: seq %d, want %d", i, g.seq, got[i-1].seq+step)
		}
		if g.marker != (i == 0) {
			t.Errorf("relayed %d: marker %v, want %v", i, g.marker, i == 0)
		}
	}
	inAll := append(inTS, 6800)
	for i := 1; i < len(got); i++ {
		if gotGap, wantGap := got[i].ts-got[0].ts, inAll[i]-inAll[0]; gotGap != wantGap {
			t.Errorf("relayed %d: timestamp offset %d, want %d", i, gotGap, wantGap)
		}
	}
	if got[len(got)-1].first != 9 {
		t.Errorf("last relayed payload starts %d, want 9 (the audio after the event)", got[len(got)-1].first)
	}
	select {
	case d := <-a.Digits():
		if d != '7' {
			t.Errorf("digit = %q, want '7'", d)
		}
	case <-time.After(recvTimeout):
		t.Error("no digit on A's Digits()")
	}

	// B -> A works too, and A's peer sees A's own SSRC.
	pb.send(b.LocalAddr(), rtpPacket(t, 8, 1, 100, 0x2222, true, []byte{42}))
	if pkt, _, _ := pa.recv(recvTimeout); pkt.Payload[0] != 42 || pkt.SSRC == 0x2222 {
		t.Errorf("B->A packet payload %d SSRC %x", pkt.Payload[0], pkt.SSRC)
	}

	if err := b.Bridge(context.Background(), a); !errors.Is(err, ErrBridged) {
		t.Errorf("second Bridge = %v, want ErrBridged", err)
	}
	cancel()
	if err := <-bridgeErr; err != context.Canceled { //nolint:errorlint // contract
		t.Errorf("Bridge = %v, want context.Canceled", err)
	}
	// Both legs intact: A plays again, and B's audio no longer reaches A.
	if err := a.Play(context.Background(), testFrames(1)); err != nil {
		t.Errorf("Play after Bridge = %v", err)
	}
	pa.recv(recvTimeout)
	pb.send(b.LocalAddr(), rtpPacket(t, 8, 2, 260, 0x2222, false, []byte{43}))
	pa.expectSilence(50 * time.Millisecond)
	if st := a.Stats(); st.PacketsRelayed != 5 {
		t.Errorf("A relayed %d packets, want 5", st.PacketsRelayed)
	}
}

type rtpPacketInfo struct {
	pt     uint8
	seq    uint16
	ts     uint32
	ssrc   uint32
	marker bool
	first  byte
}

func TestBridgeEndsWhenALegCloses(t *testing.T) {
	e := newTestEngine(t, 42700, 42799, false)
	a, _, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:9")))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:11")))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Bridge(context.Background(), b) }()
	waitFor(t, func() bool { return a.relayTo.Load() == b })
	b.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Bridge after Close = %v, want ErrClosed", err)
	}
	if a.relayTo.Load() != nil {
		t.Error("A still relays after the bridge ended")
	}
	if err := a.Bridge(context.Background(), a); err == nil {
		t.Error("Bridge with itself succeeded")
	}
	if err := a.Bridge(context.Background(), b); !errors.Is(err, ErrClosed) {
		t.Errorf("Bridge with a closed session = %v, want ErrClosed", err)
	}
	u, _, err := e.Answer(sdpLines("v=0", "o=p 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 13 RTP/AVP 0"))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	// PCMA with PCMU bridges (transcoding, issue 3); it runs until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Bridge(ctx, u); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Bridge PCMA with PCMU = %v, want it to run until ctx ends", err)
	}
}

func TestPortPool(t *testing.T) {
	// Ports 43000-43007: four even RTP ports. Occupy 43002's RTCP port
	// from outside so the pool must skip it.
	newPeerAt(t, 43003)
	e := newTestEngine(t, 43000, 43007, false)
	var sessions []*Session
	for {
		s, _, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:9")))
		if err != nil {
			if !errors.Is(err, ErrNoPorts) {
				t.Fatalf("Answer error = %v, want ErrNoPorts", err)
			}
			break
		}
		sessions = append(sessions, s)
		if len(sessions) > 4 {
			t.Fatal("more sessions than ports")
		}
	}
	var ports []uint16
	for _, s := range sessions {
		ports = append(ports, s.LocalAddr().Port())
	}
	if want := []uint16{43000, 43004, 43006}; !equalPorts(ports, want) {
		t.Errorf("ports = %v, want %v", ports, want)
	}
	if got := e.PortsInUse(); got != 3 {
		t.Errorf("PortsInUse = %d, want 3", got)
	}
	sessions[1].Close()
	if got := e.PortsInUse(); got != 2 {
		t.Errorf("PortsInUse after one Close = %d, want 2", got)
	}
	s, _, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:9")))
	if err != nil {
		t.Fatalf("Answer after Close: %v", err)
	}
	if s.LocalAddr().Port() != 43004 {
		t.Errorf("reused port %d, want 43004", s.LocalAddr().Port())
	}
	sessions[1] = s
	for _, s := range sessions {
		s.Close()
	}
	if got := e.PortsInUse(); got != 0 {
		t.Errorf("PortsInUse after closing all = %d, want 0", got)
	}
}

func newPeerAt(t *testing.T, port int) *peer {
	t.Helper()
	c, err := listenAt(port)
	if err != nil {
		t.Fatalf("bind blocker port %d: %v", port, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &peer{t: t, conn: c}
}

func equalPorts(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConfigValidate(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"ok", Config{IP: ip, PortMin: 10000, PortMax: 20000}, false},
		{"ok 20ms", Config{IP: ip, PortMin: 10000, PortMax: 10001, PTime: 20 * time.Millisecond}, false},
		{"ok odd min", Config{IP: ip, PortMin: 10001, PortMax: 10003}, false},
		{"unspecified with advertise", Config{IP: netip.IPv4Unspecified(), Advertise: ip, PortMin: 10000, PortMax: 10001}, false},
		{"no ip", Config{PortMin: 10000, PortMax: 20000}, true},
		{"ipv6", Config{IP: netip.IPv6Loopback(), PortMin: 10000, PortMax: 20000}, true},
		{"unspecified without advertise", Config{IP: netip.IPv4Unspecified(), PortMin: 10000, PortMax: 20000}, true},
		{"min above max", Config{IP: ip, PortMin: 20000, PortMax: 10000}, true},
		{"no room for rtcp", Config{IP: ip, PortMin: 10001, PortMax: 10002}, true},
		{"port zero", Config{IP: ip, PortMin: 0, PortMax: 10}, true},
		{"port too high", Config{IP: ip, PortMin: 65534, PortMax: 65536}, true},
		{"ptime 30ms", Config{IP: ip, PortMin: 10000, PortMax: 20000, PTime: 30 * time.Millisecond}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	err := Config{}.Validate()
	if err == nil || !containsAll(err.Error(), "ip is not set", "port range") {
		t.Errorf("Validate of zero Config = %v, want every problem listed", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !bytes.Contains([]byte(s), []byte(sub)) {
			return false
		}
	}
	return true
}
