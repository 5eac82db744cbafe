package media

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func FuzzAnswer(f *testing.F) {
	f.Add([]byte(offerSDP(netip.MustParseAddrPort("192.0.2.1:4000"))))
	f.Add(offerWith("m=video 5000 RTP/AVP 96", "m=audio 4000 RTP/AVP 97 101", "a=rtpmap:97 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=sendonly"))
	f.Add(offerWith("m=audio 4000 RTP/AVP 9"))
	f.Add(offerWith("m=audio 4000/2 RTP/AVP 8", "c=IN IP4 224.0.0.1/3"))
	f.Add(sdpLines("v=0", "o=peer 1 1 IN IP6 ::1", "s=-", "c=IN IP6 ::1", "t=0 0", "m=audio 4000 RTP/AVP 8"))
	f.Add([]byte("v=0\n"))
	f.Add([]byte{})
	e := newTestEngine(f, 45000, 45099, false)
	f.Fuzz(func(t *testing.T, offer []byte) {
		s, answer, err := e.Answer(offer)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrNoCodec) && !errors.Is(err, ErrNoPorts) {
				t.Fatalf("Answer error %v is none of ErrBadSDP, ErrNoCodec, ErrNoPorts", err)
			}
			return
		}
		defer s.Close()
		in, err := parseSDP(offer)
		if err != nil {
			t.Fatalf("offer accepted but does not parse: %v", err)
		}
		out, err := parseSDP(answer)
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, answer)
		}
		if len(out.MediaDescriptions) != len(in.MediaDescriptions) {
			t.Fatalf("answer has %d m= lines, offer %d", len(out.MediaDescriptions), len(in.MediaDescriptions))
		}
		if c := s.Codec(); c != PCMA && c != PCMU {
			t.Fatalf("negotiated codec %+v", c)
		}
	})
}

// FuzzReceive feeds arbitrary datagrams to a session's packet handler: it
// must never panic, and only datagrams it accepted may be counted as such.
func FuzzReceive(f *testing.F) {
	f.Add(rtpPacket(f, 8, 1, 160, 1, true, make([]byte, 160)))
	f.Add(rtpPacket(f, 101, 2, 320, 1, true, tePayload(5, true, 800)))
	f.Add(rtpPacket(f, 101, 3, 320, 1, false, []byte{1}))
	f.Add([]byte{0xA0, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xFF})             // padding longer than payload
	f.Add([]byte{0x90, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 9}) // truncated extension
	f.Add([]byte{0x8F, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})                   // 15 CSRCs missing
	f.Add([]byte("garbage"))
	e := newTestEngine(f, 45100, 45199, false)
	s, _, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:9")))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	src := netip.MustParseAddrPort("127.0.0.1:9")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		r := &receiver{s: s}
		before := s.Stats()
		r.handle(pkt, src)
		after := s.Stats()
		accepted := after.PacketsReceived - before.PacketsReceived
		dropped := after.PacketsDropped - before.PacketsDropped
		if accepted+dropped == 0 {
			t.Fatal("packet neither accepted nor dropped")
		}
		if accepted == 1 && len(pkt) < rtpHeaderSize {
			t.Fatalf("accepted a %d-byte packet", len(pkt))
		}
	})
}

// FuzzUpdate applies arbitrary re-offers to an answered session: errors
// are ErrBadSDP or ErrNoCodec and leave the session as it was; a success
// yields an answer kcc itself can parse with the same o= session id.
func FuzzUpdate(f *testing.F) {
	f.Add(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:4000")))
	f.Add(offerWith("m=audio 4002 RTP/AVP 0", "a=sendonly"))
	f.Add(sdpLines("v=0", "o=peer 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 8"))
	f.Add(offerWith("m=audio 4000 RTP/AVP 9"))
	f.Add([]byte("v=0\r\n"))
	e := newTestEngine(f, 45200, 45299, false)
	s, first, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:4000")))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	firstSD, err := parseSDP(first)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, offer []byte) {
		before := s.LocalSDP()
		answer, err := s.Update(offer)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrNoCodec) {
				t.Fatalf("Update error %v is neither ErrBadSDP nor ErrNoCodec", err)
			}
			if !bytes.Equal(s.LocalSDP(), before) {
				t.Fatal("failed Update changed LocalSDP")
			}
			return
		}
		sd, err := parseSDP(answer)
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, answer)
		}
		if sd.Origin.SessionID != firstSD.Origin.SessionID || sd.Origin.SessionVersion < firstSD.Origin.SessionVersion {
			t.Fatalf("answer origin %+v, first %+v", sd.Origin, firstSD.Origin)
		}
	})
}
