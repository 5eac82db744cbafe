package media

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func isSilence(p []byte, c Codec) bool { return bytes.Equal(p, silenceFor(c)) }

func TestComfortSilence(t *testing.T) {
	e := newTestEngineWith(t, Config{PortMin: 47300, PortMax: 47399}, true)
	p := newPeer(t)
	s, _, err := e.Answer(p.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Answered and nothing plays: silence on the grid.
	var pkts []rtp.Packet
	for range 3 {
		pkt, _, _ := p.recv(recvTimeout)
		pkts = append(pkts, pkt)
	}
	frames := testFrames(3)
	errc := make(chan error, 1)
	go func() { errc <- s.Play(context.Background(), frames) }()
	// Read until the three frames went by and five silence frames followed.
	played, after := 0, 0
	for after < 5 {
		pkt, _, _ := p.recv(recvTimeout)
		pkts = append(pkts, pkt)
		switch {
		case played < 3 && bytes.Equal(pkt.Payload, frames[played]):
			played++
		case played == 3 && isSilence(pkt.Payload, PCMA):
			after++
		case isSilence(pkt.Payload, PCMA) && played == 0:
		default:
			t.Fatalf("packet %d: unexpected payload %x... (played %d)", len(pkts)-1, pkt.Payload[:4], played)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Play = %v", err)
	}
	// The next Play takes over at once: its frame, not silence, next.
	go func() { errc <- s.Play(context.Background(), frames[:1]) }()
	for {
		pkt, _, _ := p.recv(recvTimeout)
		pkts = append(pkts, pkt)
		if !isSilence(pkt.Payload, PCMA) {
			if !bytes.Equal(pkt.Payload, frames[0]) || !pkt.Marker {
				t.Fatalf("after silence got %x... marker %v, want the new Play's first frame with marker", pkt.Payload[:4], pkt.Marker)
			}
			break
		}
	}
	<-errc
	for i := 1; i < len(pkts); i++ {
		a, b := pkts[i-1], pkts[i]
		if b.SequenceNumber != a.SequenceNumber+1 || b.SSRC != a.SSRC {
			t.Errorf("packet %d: seq %d after %d (SSRC %x/%x), want one stream", i, b.SequenceNumber, a.SequenceNumber, b.SSRC, a.SSRC)
		}
		if d := b.Timestamp - a.Timestamp; d < FrameSamples || d > 8*FrameSamples {
			t.Errorf("packet %d: timestamp step %d, want about %d", i, d, FrameSamples)
		}
	}

	t.Run("not while the remote holds", func(t *testing.T) {
		if _, err := s.Update([]byte(strings.Replace(offerSDP(p.addr()), "a=sendrecv", "a=sendonly", 1))); err != nil {
			t.Fatal(err)
		}
		drain(p, 50*time.Millisecond)
		p.expectSilence(100 * time.Millisecond)
		if _, err := s.Update(p.offer()); err != nil {
			t.Fatal(err)
		}
		if pkt, _, _ := p.recv(recvTimeout); !isSilence(pkt.Payload, PCMA) {
			t.Errorf("after unhold got %x..., want comfort silence", pkt.Payload[:4])
		}
	})
}

func TestComfortSilenceFillsBridgeGaps(t *testing.T) {
	e := newTestEngineWith(t, Config{PortMin: 47400, PortMax: 47499}, true)
	pa, pb := newPeer(t), newPeer(t)
	a, _ := bridgeLegs(t, e, peerOffer(pa.addr(), PCMA, 101), peerOffer(pb.addr(), PCMU, 101))
	// A's peer talks for 200 ms: B's peer gets that audio, not silence.
	voice := make([]byte, FrameSamples)
	for i := range voice {
		voice[i] = 0x11
	}
	var got []rtp.Packet
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			pa.send(a.LocalAddr(), rtpPacket(t, 8, uint16(i), uint32(i*160), 5, i == 0, voice))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		pkt, _, _ := pb.recv(recvTimeout)
		got = append(got, pkt)
	}
	<-done
	voiceN, silentAfterVoice := 0, 0
	for _, pkt := range got {
		if pkt.PayloadType != 0 {
			t.Fatalf("PT %d, want PCMU", pkt.PayloadType)
		}
		switch {
		case isSilence(pkt.Payload, PCMU):
			if voiceN > 0 {
				silentAfterVoice++
			}
		case bytes.Equal(pkt.Payload, bytes.Repeat([]byte{alawToULaw[0x11]}, FrameSamples)):
			if silentAfterVoice > 0 {
				t.Fatal("silence was interleaved with relayed voice")
			}
			voiceN++
		}
	}
	if voiceN != 10 || silentAfterVoice < 5 {
		t.Errorf("B's peer got %d voice frames and %d silence frames after them, want 10 and >= 5", voiceN, silentAfterVoice)
	}
}
