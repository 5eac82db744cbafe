package media

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reoffer is an offer from the test peer at 192.0.2.10 with o= version v.
func reoffer(v string, lines ...string) []byte {
	head := []string{"v=0", "o=peer 1 " + v + " IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0"}
	return sdpLines(append(head, lines...)...)
}

func originVersion(t *testing.T, b []byte) uint64 {
	t.Helper()
	sd, err := parseSDP(b)
	if err != nil {
		t.Fatalf("parse own sdp: %v", err)
	}
	return sd.Origin.SessionVersion
}

func TestUpdateSequence(t *testing.T) {
	e := newTestEngine(t, 47000, 47099, false)
	s, first, err := e.Answer(reoffer("1", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	steps := []struct {
		name     string
		offer    []byte
		wantDir  direction
		wantHold bool
		wantSend bool
		wantVer  uint64 // relative to the first answer
		wantSame bool   // the previous answer byte for byte
		wantC    Codec
	}{
		{"refresh with the same sdp", reoffer("1", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"), sendrecv, false, true, 0, true, PCMA},
		{"refresh with a new o= version", reoffer("2", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"), sendrecv, false, true, 0, true, PCMA},
		{"hold sendonly", reoffer("3", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=sendonly"), recvonly, true, false, 1, false, PCMA},
		{"hold refreshed", reoffer("3", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=sendonly"), recvonly, true, false, 1, true, PCMA},
		{"hold inactive", reoffer("4", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=inactive"), inactive, true, false, 2, false, PCMA},
		{"unhold", reoffer("5", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"), sendrecv, false, true, 3, false, PCMA},
		{"rfc 2543 hold", sdpLines("v=0", "o=peer 1 6 IN IP4 192.0.2.10", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"), recvonly, true, false, 4, false, PCMA},
		{"remote recvonly is not hold", reoffer("7", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=recvonly"), sendonly, false, true, 5, false, PCMA},
		{"codec kept when still offered", reoffer("8", "m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000"), sendrecv, false, true, 6, false, PCMA},
		{"codec switched when dropped", reoffer("9", "m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000"), sendrecv, false, true, 7, false, PCMU},
		{"switched codec kept", reoffer("10", "m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"), sendrecv, false, true, 7, true, PCMU},
	}
	base := originVersion(t, first)
	prev := first
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			answer, err := s.Update(st.offer)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if same := bytes.Equal(answer, prev); same != st.wantSame {
				t.Errorf("answer identical to the previous one = %v, want %v\n%s", same, st.wantSame, answer)
			}
			if got := originVersion(t, answer); got != base+st.wantVer {
				t.Errorf("o= version %d, want %d", got, base+st.wantVer)
			}
			if got := directionOfAnswer(t, answer); got != st.wantDir {
				t.Errorf("answer direction %v, want %v", got, st.wantDir)
			}
			if got := s.RemoteHold(); got != st.wantHold {
				t.Errorf("RemoteHold = %v, want %v", got, st.wantHold)
			}
			s.tx.mu.Lock()
			send := s.tx.send
			s.tx.mu.Unlock()
			if send != st.wantSend {
				t.Errorf("session sends = %v, want %v", send, st.wantSend)
			}
			if s.Codec() != st.wantC {
				t.Errorf("Codec = %s, want %s", s.Codec().Name, st.wantC.Name)
			}
			if !bytes.Equal(s.LocalSDP(), answer) {
				t.Error("LocalSDP differs from the last answer")
			}
			prev = answer
		})
	}
	checkGolden(t, filepath.Join("testdata", "update", "after_sequence.sdp"), normalizePort(string(prev), s.LocalAddr().Port()))

	t.Run("errors leave the session unchanged", func(t *testing.T) {
		for _, bad := range []struct {
			offer []byte
			want  error
		}{
			{reoffer("11", "m=audio 4000 RTP/AVP 9", "a=rtpmap:9 G722/8000"), ErrNoCodec},
			{[]byte("garbage"), ErrBadSDP},
			{nil, ErrBadSDP},
		} {
			if _, err := s.Update(bad.offer); !errors.Is(err, bad.want) {
				t.Errorf("Update = %v, want %v", err, bad.want)
			}
		}
		if !bytes.Equal(s.LocalSDP(), prev) || s.Codec() != PCMU {
			t.Error("failed Update changed the session")
		}
	})
	t.Run("closed", func(t *testing.T) {
		s.Close()
		if _, err := s.Update(prev); !errors.Is(err, ErrClosed) {
			t.Errorf("Update after Close = %v, want ErrClosed", err)
		}
	})
}

func TestUpdateRelatches(t *testing.T) {
	e := newTestEngine(t, 47100, 47199, true)
	old, moved := newPeer(t), newPeer(t)
	s, _, err := e.Answer(old.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old.send(s.LocalAddr(), rtpPacket(t, 8, 1, 160, 9, false, make([]byte, 160)))
	waitFor(t, func() bool { return s.Stats().PacketsReceived == 1 })

	// The peer's socket moves: a re-INVITE with its new port.
	if _, err := s.Update(moved.offer()); err != nil {
		t.Fatal(err)
	}
	if err := s.Play(context.Background(), testFrames(1)); err != nil {
		t.Fatal(err)
	}
	moved.recv(recvTimeout)
	old.expectSilence(30 * time.Millisecond)

	// A straggler from the old socket does not win the latch.
	old.send(s.LocalAddr(), rtpPacket(t, 8, 2, 320, 9, false, make([]byte, 160)))
	waitFor(t, func() bool { return s.Stats().PacketsForeign == 1 })
	moved.send(s.LocalAddr(), rtpPacket(t, 8, 3, 480, 9, false, make([]byte, 160)))
	waitFor(t, func() bool { return s.Stats().PacketsReceived == 2 })
	old.send(s.LocalAddr(), rtpPacket(t, 8, 4, 640, 9, false, make([]byte, 160)))
	waitFor(t, func() bool { return s.Stats().PacketsForeign == 2 })
	if err := s.Play(context.Background(), testFrames(1)); err != nil {
		t.Fatal(err)
	}
	moved.recv(recvTimeout)
	old.expectSilence(30 * time.Millisecond)

	// A refresh with the same address does not re-latch.
	if _, err := s.Update(moved.offer()); err != nil {
		t.Fatal(err)
	}
	other := newPeer(t)
	other.send(s.LocalAddr(), rtpPacket(t, 8, 5, 800, 9, false, make([]byte, 160)))
	waitFor(t, func() bool { return s.Stats().PacketsForeign == 3 })
}

func TestLateOffer(t *testing.T) {
	e := newTestEngine(t, 47200, 47299, true)
	s, offer, err := e.OfferAll()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkGolden(t, filepath.Join("testdata", "offer", "all.sdp"), normalizePort(string(offer), s.LocalAddr().Port()))
	if _, err := s.Update(offer); err == nil {
		t.Error("Update before the answer succeeded, want error")
	}

	// The caller answers in the ACK with PCMU only (dynamic PT for events).
	p := newPeer(t)
	answer := strings.Replace(string(peerOffer(p.addr(), PCMU, 97)), "o=peer 7 7", "o=peer 8 8", 1)
	if err := s.Accept([]byte(answer)); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if s.Codec() != PCMU {
		t.Errorf("Codec = %s, want PCMU (the answer's choice)", s.Codec().Name)
	}
	if rx := s.rx.Load(); rx.pt != 0 || rx.tePT != telephoneEventPT {
		t.Errorf("receive PTs %d/%d, want 0/%d (the ones kcc offered)", rx.pt, rx.tePT, telephoneEventPT)
	}
	if err := s.Play(context.Background(), testFrames(1)); err != nil {
		t.Fatal(err)
	}
	if pkt, _, _ := p.recv(recvTimeout); pkt.PayloadType != 0 {
		t.Errorf("sent PT %d, want 0", pkt.PayloadType)
	}
	s.tx.mu.Lock()
	te := s.tx.tePT
	s.tx.mu.Unlock()
	if te != 97 {
		t.Errorf("send telephone-event PT %d, want the answer's 97", te)
	}

	t.Run("answer with both laws takes the first", func(t *testing.T) {
		s2, _, err := e.OfferAll()
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if err := s2.Accept(offerWith("m=audio 4000 RTP/AVP 0 8")); err != nil {
			t.Fatal(err)
		}
		if s2.Codec() != PCMU || s2.rx.Load().tePT != noPT {
			t.Errorf("Codec %s TE %d, want PCMU and no telephone-event (in-band detection)", s2.Codec().Name, s2.rx.Load().tePT)
		}
	})
	t.Run("answer without G.711", func(t *testing.T) {
		s3, _, err := e.OfferAll()
		if err != nil {
			t.Fatal(err)
		}
		defer s3.Close()
		if err := s3.Accept(offerWith("m=audio 4000 RTP/AVP 9")); !errors.Is(err, ErrNoCodec) {
			t.Errorf("Accept = %v, want ErrNoCodec", err)
		}
	})
}

// TestOfferBoth: the agent leg offers the caller's law first and the other
// one after it; a phone that speaks only the other law still gets the call.
func TestOfferBoth(t *testing.T) {
	e := newTestEngine(t, 47300, 47399, false)
	s, offer, err := e.OfferBoth(PCMU)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(string(offer), "m=audio "+strconv.Itoa(int(s.LocalAddr().Port()))+" RTP/AVP 0 8 101\r\n") {
		t.Fatalf("offer does not list PCMU, PCMA, telephone-event in that order:\n%s", offer)
	}
	if err := s.Accept(offerWith("m=audio 4000 RTP/AVP 8")); err != nil {
		t.Fatal(err)
	}
	if s.Codec() != PCMA {
		t.Errorf("Codec = %s, want PCMA (the only law the phone answered)", s.Codec().Name)
	}
	if _, _, err := e.OfferBoth(Codec{Name: "G722", PayloadType: 9, ClockRate: 8000}); !errors.Is(err, ErrNoCodec) {
		t.Errorf("OfferBoth(G722): %v, want ErrNoCodec", err)
	}
}
