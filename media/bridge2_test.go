package media

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// peerOffer is an SDP offer from ap with one codec and, when tePT >= 0,
// telephone-event under tePT.
func peerOffer(ap netip.AddrPort, c Codec, tePT int) []byte {
	m := "m=audio " + strconv.Itoa(int(ap.Port())) + " RTP/AVP " + strconv.Itoa(int(c.PayloadType))
	lines := []string{"a=rtpmap:" + strconv.Itoa(int(c.PayloadType)) + " " + c.Name + "/8000"}
	if tePT >= 0 {
		m += " " + strconv.Itoa(tePT)
		lines = append(lines, "a=rtpmap:"+strconv.Itoa(tePT)+" telephone-event/8000", "a=fmtp:"+strconv.Itoa(tePT)+" 0-15")
	}
	head := []string{"v=0", "o=peer 7 7 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", m}
	return sdpLines(append(head, append(lines, "a=sendrecv")...)...)
}

// bridgeLegs answers offers from two peers and bridges the sessions until
// the test ends.
func bridgeLegs(t *testing.T, e *Engine, offerA, offerB []byte) (a, b *Session) {
	t.Helper()
	a, _, err := e.Answer(offerA)
	if err != nil {
		t.Fatalf("Answer A: %v", err)
	}
	b, _, err = e.Answer(offerB)
	if err != nil {
		a.Close()
		t.Fatalf("Answer B: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Bridge(ctx, b); !errors.Is(err, context.Canceled) {
			t.Errorf("Bridge = %v, want context.Canceled", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		a.Close()
		b.Close()
	})
	waitFor(t, func() bool { return a.relayTo.Load() == b && b.relayTo.Load() == a })
	return a, b
}

// closeEnough reports whether two linear samples differ by at most one
// quantisation step of the coarser law at that level.
func closeEnough(got, want int16) bool {
	d := int(got) - int(want)
	if d < 0 {
		d = -d
	}
	w := int(want)
	if w < 0 {
		w = -w
	}
	return d <= w/15+16
}

func TestTranscodeTables(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got, want := ulawToLinear[alawToULaw[b]], alawToLinear[b]; !closeEnough(got, want) {
			t.Errorf("A-law %#02x (%d) -> µ-law decodes to %d", b, want, got)
		}
		if got, want := alawToLinear[ulawToALaw[b]], ulawToLinear[b]; !closeEnough(got, want) {
			t.Errorf("µ-law %#02x (%d) -> A-law decodes to %d", b, want, got)
		}
	}
	if alawToULaw[0xD5] != 0xFF || ulawToALaw[0xFF] != 0xD5 {
		t.Errorf("silence maps to %#02x / %#02x, want 0xff / 0xd5", alawToULaw[0xD5], ulawToALaw[0xFF])
	}
	if transcoder(PCMA, PCMA) != nil || transcoder(PCMU, PCMU) != nil {
		t.Error("same law must copy, not transcode")
	}
}

func TestBridgeTranscodes(t *testing.T) {
	e := newTestEngine(t, 46000, 46099, false)
	pa, pb := newPeer(t), newPeer(t)
	a, b := bridgeLegs(t, e, peerOffer(pa.addr(), PCMA, 101), peerOffer(pb.addr(), PCMU, 101))
	if a.Codec() != PCMA || b.Codec() != PCMU {
		t.Fatalf("codecs %s/%s, want PCMA/PCMU", a.Codec().Name, b.Codec().Name)
	}
	payload := make([]byte, FrameSamples)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	tests := []struct {
		name     string
		from, to *peer
		via      *Session
		inPT     uint8
		outPT    uint8
		inCodec  Codec
		outCodec Codec
	}{
		{"alaw to ulaw", pa, pb, a, 8, 0, PCMA, PCMU},
		{"ulaw to alaw", pb, pa, b, 0, 8, PCMU, PCMA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.from.send(tt.via.LocalAddr(), rtpPacket(t, tt.inPT, 1, 160, 0x77, true, payload))
			pkt, _, _ := tt.to.recv(recvTimeout)
			if pkt.PayloadType != tt.outPT || len(pkt.Payload) != len(payload) {
				t.Fatalf("got PT %d with %d bytes, want PT %d with %d", pkt.PayloadType, len(pkt.Payload), tt.outPT, len(payload))
			}
			in := make([]int16, len(payload))
			out := make([]int16, len(payload))
			tt.inCodec.Decode(in, payload)
			tt.outCodec.Decode(out, pkt.Payload)
			for i := range in {
				if !closeEnough(out[i], in[i]) {
					t.Fatalf("sample %d: sent %d, relayed decodes to %d", i, in[i], out[i])
				}
			}
		})
	}
}

// collectEvent reads one regenerated key (progress and end packets) from p.
func collectEvent(t *testing.T, p *peer, n int) []rtp.Packet {
	t.Helper()
	var out []rtp.Packet
	for range n {
		pkt, _, _ := p.recv(recvTimeout)
		out = append(out, pkt)
	}
	return out
}

func TestBridgeRegeneratesKeys(t *testing.T) {
	e := newTestEngineWith(t, Config{PortMin: 46100, PortMax: 46199, NoComfortSilence: true, DigitDuration: 100 * time.Millisecond}, true)
	pa, pb := newPeer(t), newPeer(t)
	a, b := bridgeLegs(t, e, peerOffer(pa.addr(), PCMA, 96), peerOffer(pb.addr(), PCMA, 101))

	check := func(t *testing.T, pkts []rtp.Packet, event uint8) {
		t.Helper()
		b.tx.mu.Lock()
		ssrcB := b.tx.ssrc
		b.tx.mu.Unlock()
		for i, p := range pkts {
			ev, err := DecodeTelephoneEvent(p.Payload)
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			wantEnd := i >= 5
			wantDur := uint16(min(i+1, 5) * 160)
			switch {
			case p.PayloadType != 101:
				t.Errorf("packet %d PT %d, want B's telephone-event PT 101", i, p.PayloadType)
			case p.SSRC != ssrcB:
				t.Errorf("packet %d SSRC %x, want B's %x", i, p.SSRC, ssrcB)
			case p.Timestamp != pkts[0].Timestamp:
				t.Errorf("packet %d timestamp %d, want the event's %d", i, p.Timestamp, pkts[0].Timestamp)
			case i > 0 && p.SequenceNumber != pkts[i-1].SequenceNumber+1:
				t.Errorf("packet %d seq %d, want %d", i, p.SequenceNumber, pkts[i-1].SequenceNumber+1)
			case p.Marker != (i == 0):
				t.Errorf("packet %d marker %v, want %v", i, p.Marker, i == 0)
			case ev.Event != event || ev.End != wantEnd || ev.Duration != wantDur:
				t.Errorf("packet %d event %+v, want event %d end %v duration %d", i, ev, event, wantEnd, wantDur)
			}
		}
	}

	t.Run("rfc4733 on A with PT 96 becomes PT 101 on B", func(t *testing.T) {
		for i, pk := range press(0xA1, 8000, 5, 4) {
			pa.send(a.LocalAddr(), rtpPacket(t, 96, uint16(30+i), pk.ts, pk.ssrc, i == 0, tePayload(pk.event, pk.end, pk.dur)))
		}
		check(t, collectEvent(t, pb, 8), 5)
		pb.expectSilence(80 * time.Millisecond) // one key, once
		pa.expectSilence(10 * time.Millisecond) // never echoed to A
		if d := <-a.Digits(); d != '5' {
			t.Errorf("A's digit %q, want '5'", d)
		}
	})
	t.Run("SIP INFO on A is regenerated too", func(t *testing.T) {
		a.InjectDigit('#')
		check(t, collectEvent(t, pb, 8), 11)
		pa.expectSilence(10 * time.Millisecond)
		if d := <-a.Digits(); d != '#' {
			t.Errorf("A's digit %q, want '#'", d)
		}
	})
	t.Run("the same key by RFC 4733 and SIP INFO is sent once", func(t *testing.T) {
		for i, pk := range press(0xA1, 20000, 2, 4) {
			pa.send(a.LocalAddr(), rtpPacket(t, 96, uint16(60+i), pk.ts, pk.ssrc, i == 0, tePayload(pk.event, pk.end, pk.dur)))
		}
		waitFor(t, func() bool { return a.Stats().TelephoneEvents >= 14 })
		a.InjectDigit('2')
		check(t, collectEvent(t, pb, 8), 2)
		pb.expectSilence(200 * time.Millisecond)
		if st := a.Stats(); st.DigitsDuplicate != 1 {
			t.Errorf("DigitsDuplicate = %d, want 1", st.DigitsDuplicate)
		}
	})
	t.Run("audio from A is suppressed while B sends a key", func(t *testing.T) {
		before := a.Stats().PacketsRelayed
		b.keyBusy.Store(true)
		pa.send(a.LocalAddr(), rtpPacket(t, 8, 90, 90000, 0xA1, false, make([]byte, FrameSamples)))
		waitFor(t, func() bool { return a.Stats().PacketsReceived >= 15 })
		b.keyBusy.Store(false)
		pb.expectSilence(50 * time.Millisecond)
		if got := a.Stats().PacketsRelayed; got != before {
			t.Errorf("PacketsRelayed %d -> %d while B sent a key", before, got)
		}
	})
}

func TestBridgeKeyAsToneWithoutTelephoneEvent(t *testing.T) {
	e := newTestEngineWith(t, Config{PortMin: 46200, PortMax: 46299, NoComfortSilence: true}, true)
	pa, pb := newPeer(t), newPeer(t)
	a, _ := bridgeLegs(t, e, peerOffer(pa.addr(), PCMA, 101), peerOffer(pb.addr(), PCMU, -1))
	a.InjectDigit('7')
	var g []byte
	for range 5 {
		pkt, _, _ := pb.recv(recvTimeout)
		if pkt.PayloadType != 0 {
			t.Fatalf("PT %d, want PCMU audio 0", pkt.PayloadType)
		}
		g = append(g, pkt.Payload...)
	}
	g = append(g, silenceFor(PCMU)...)
	g = append(g, silenceFor(PCMU)...)
	if got := detect(PCMU, g); got != "7" {
		t.Errorf("tone sent to B detects as %q, want %q", got, "7")
	}
}

func TestSendDigit(t *testing.T) {
	e := newTestEngineWith(t, Config{PortMin: 46300, PortMax: 46399, NoComfortSilence: true, DigitDuration: 60 * time.Millisecond}, true)
	p := newPeer(t)
	s, _, err := e.Answer(peerOffer(p.addr(), PCMU, 100))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SendDigit(context.Background(), 'x'); err == nil {
		t.Error("SendDigit('x') succeeded, want error")
	}
	errc := make(chan error, 1)
	go func() { errc <- s.SendDigit(context.Background(), 'D') }()
	pkts := collectEvent(t, p, 6) // 3 progress + 3 end at 60 ms
	if err := <-errc; err != nil {
		t.Fatalf("SendDigit = %v", err)
	}
	var got []string
	for _, pk := range pkts {
		ev, _ := DecodeTelephoneEvent(pk.Payload)
		got = append(got, strconv.Itoa(int(pk.PayloadType))+"/"+strconv.Itoa(int(ev.Event))+"/"+strconv.FormatBool(ev.End)+"/"+strconv.Itoa(int(ev.Duration)))
	}
	want := []string{"100/15/false/160", "100/15/false/320", "100/15/false/480", "100/15/true/480", "100/15/true/480", "100/15/true/480"}
	if !bytes.Equal([]byte(joinStrings(got)), []byte(joinStrings(want))) {
		t.Errorf("packets %v, want %v", got, want)
	}
	if st := s.Stats(); st.DigitsSent != 1 {
		t.Errorf("DigitsSent = %d, want 1", st.DigitsSent)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.SendDigit(ctx, '1'); err != context.Canceled { //nolint:errorlint // contract
		t.Errorf("SendDigit with cancelled ctx = %v, want context.Canceled", err)
	}
	s.Close()
	if err := s.SendDigit(context.Background(), '1'); !errors.Is(err, ErrClosed) {
		t.Errorf("SendDigit after Close = %v, want ErrClosed", err)
	}
}

func joinStrings(s []string) string {
	var b bytes.Buffer
	for _, x := range s {
		b.WriteString(x)
		b.WriteByte(' ')
	}
	return b.String()
}
