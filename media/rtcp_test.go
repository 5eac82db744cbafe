package media

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// rtcpPeer is a peer with an RTP socket and its RTCP neighbour.
func rtcpPeer(t *testing.T) (rtpP, rtcpP *peer) {
	t.Helper()
	for range 50 {
		p := newPeer(t)
		c, err := listenAt(int(p.addr().Port()) + 1)
		if err != nil {
			continue
		}
		t.Cleanup(func() { _ = c.Close() })
		return p, &peer{t: t, conn: c}
	}
	t.Fatal("no free port pair for the peer")
	return nil, nil
}

// recvRTCP reads one RTCP compound packet and parses it with pion/rtcp.
func recvRTCP(t *testing.T, p *peer) ([]rtcp.Packet, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = p.conn.SetReadDeadline(time.Now().Add(recvTimeout))
	n, src, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("receive rtcp: %v", err)
	}
	pkts, err := rtcp.Unmarshal(buf[:n])
	if err != nil {
		t.Fatalf("pion/rtcp cannot parse kcc's report %x: %v", buf[:n], err)
	}
	return pkts, src
}

func TestRTCPReports(t *testing.T) {
	e := newTestEngineWith(t, Config{PortMin: 47500, PortMax: 47599, RTCPInterval: 50 * time.Millisecond}, true)
	pr, pc := rtcpPeer(t)
	s, _, err := e.Answer(pr.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.tx.mu.Lock()
	ours := s.tx.ssrc
	s.tx.mu.Unlock()

	// The peer sends some audio with one packet missing (seq 3).
	for _, seq := range []uint16{1, 2, 4, 5, 6} {
		pr.send(s.LocalAddr(), rtpPacket(t, 8, seq, uint32(seq)*160, 0xBEEF, false, make([]byte, FrameSamples)))
	}
	waitFor(t, func() bool { return s.Stats().PacketsReceived == 5 })
	if st := s.Stats(); st.PacketsLost != 1 {
		t.Errorf("PacketsLost = %d, want 1", st.PacketsLost)
	}

	// kcc sends comfort silence, so its reports are SRs with a block about
	// the peer's stream and an SDES CNAME, from the RTCP port.
	var sr *rtcp.SenderReport
	var sdes *rtcp.SourceDescription
	for sr == nil || len(sr.Reports) == 0 {
		pkts, src := recvRTCP(t, pc)
		if want := netip.AddrPortFrom(loopback, s.LocalAddr().Port()+1); src != want {
			t.Fatalf("rtcp from %v, want %v", src, want)
		}
		sr, _ = pkts[0].(*rtcp.SenderReport)
		if len(pkts) == 2 {
			sdes, _ = pkts[1].(*rtcp.SourceDescription)
		}
	}
	if sr.SSRC != ours || sr.PacketCount == 0 || sr.OctetCount != sr.PacketCount*FrameSamples {
		t.Errorf("SR SSRC %x packets %d octets %d, want %x, >0, 160 per packet", sr.SSRC, sr.PacketCount, sr.OctetCount, ours)
	}
	if ntp := time.Unix(int64(sr.NTPTime>>32)-ntpEpochOffset, 0); time.Since(ntp).Abs() > 5*time.Second {
		t.Errorf("SR NTP time %v is not now", ntp)
	}
	if rb := sr.Reports[0]; rb.SSRC != 0xBEEF || rb.TotalLost != 1 || rb.LastSequenceNumber != 6 {
		t.Errorf("report block %+v, want SSRC beef, 1 lost, highest 6", rb)
	}
	if sdes == nil || len(sdes.Chunks) != 1 || sdes.Chunks[0].Source != ours || sdes.Chunks[0].Items[0].Type != rtcp.SDESCNAME {
		t.Errorf("SDES %+v, want one CNAME chunk for %x", sdes, ours)
	}

	// The peer's RR about kcc's stream lands in Stats.
	rr, err := (&rtcp.ReceiverReport{SSRC: 0xBEEF, Reports: []rtcp.ReceptionReport{{
		SSRC: ours, FractionLost: 64, TotalLost: 12, LastSequenceNumber: 100, Jitter: 80,
	}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pc.send(netip.AddrPortFrom(loopback, s.LocalAddr().Port()+1), rr)
	waitFor(t, func() bool { return s.Stats().RTCPReceived == 1 })
	st := s.Stats()
	if st.RemoteFractionLost != 0.25 || st.RemotePacketsLost != 12 || st.RemoteJitter != 10*time.Millisecond {
		t.Errorf("remote view: fraction %v lost %d jitter %v, want 0.25, 12, 10ms", st.RemoteFractionLost, st.RemotePacketsLost, st.RemoteJitter)
	}
	if st.RTCPSent == 0 {
		t.Error("RTCPSent = 0")
	}

	// RTCP from another address or garbage is dropped.
	stranger := newPeer(t)
	stranger.send(netip.AddrPortFrom(loopback, s.LocalAddr().Port()+1), rr)
	pc.send(netip.AddrPortFrom(loopback, s.LocalAddr().Port()+1), []byte("junk"))
	waitFor(t, func() bool { return s.Stats().RTCPDropped == 2 })
	if got := s.Stats().RTCPReceived; got != 1 {
		t.Errorf("RTCPReceived = %d, want 1", got)
	}
}

func TestRTCPReceiverReportWhenSilent(t *testing.T) {
	e := newTestEngine(t, 47600, 47699, false) // no comfort silence, no pacer
	pr, pc := rtcpPeer(t)
	s, _, err := e.Answer(pr.offer())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.sendReport(time.Now())
	pkts, _ := recvRTCP(t, pc)
	if rr, ok := pkts[0].(*rtcp.ReceiverReport); !ok || len(rr.Reports) != 0 {
		t.Errorf("first packet %T %+v, want an RR without blocks (nothing sent or received)", pkts[0], pkts[0])
	}
}

func TestRxQuality(t *testing.T) {
	base := time.Unix(5000, 0)
	tests := []struct {
		name       string
		seqs       []uint16
		arrivalsMs []int // arrival of each packet; packet i has timestamp i*160
		wantLost   int64
		wantJitter time.Duration // approximately
	}{
		{"in order on time", []uint16{10, 11, 12, 13}, []int{0, 20, 40, 60}, 0, 0},
		{"one lost", []uint16{10, 11, 13}, []int{0, 20, 60}, 1, 0},
		{"wraps", []uint16{65534, 65535, 0, 1}, []int{0, 20, 40, 60}, 0, 0},
		{"duplicate counts negative", []uint16{10, 11, 11, 12}, []int{0, 20, 21, 40}, -1, 0},
		{"steady 10 ms jitter", []uint16{1, 2, 3, 4, 5, 6, 7, 8}, []int{0, 30, 40, 70, 80, 110, 120, 150}, 0, 4 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q rxQuality
			for i, seq := range tt.seqs {
				q.update(1, seq, uint32(i)*160, base.Add(time.Duration(tt.arrivalsMs[i])*time.Millisecond), true)
			}
			var st Stats
			q.fill(&st)
			if st.PacketsLost != tt.wantLost {
				t.Errorf("PacketsLost = %d, want %d", st.PacketsLost, tt.wantLost)
			}
			if d := st.Jitter - tt.wantJitter; d < -2*time.Millisecond || d > 2*time.Millisecond {
				t.Errorf("Jitter = %v, want about %v", st.Jitter, tt.wantJitter)
			}
		})
	}
}

func marshalRTCP(t testing.TB, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRTCP(t *testing.T) {
	const ours = 0xCAFE
	sr := marshalRTCP(t, &rtcp.SenderReport{SSRC: 7, NTPTime: 0x0123456789ABCDEF, Reports: []rtcp.ReceptionReport{
		{SSRC: 99}, {SSRC: ours, FractionLost: 10, TotalLost: 0xFFFFFF, Jitter: 5, LastSenderReport: 42, Delay: 3},
	}}, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 7, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}})
	tests := []struct {
		name    string
		pkt     []byte
		wantErr bool
		check   func(rtcpInfo) bool
	}{
		{"sr with our block", sr, false, func(i rtcpInfo) bool {
			return i.sr && i.senderSSRC == 7 && i.srNTP == 0x456789AB && i.hasBlock && i.block.fraction == 10 &&
				i.block.lost == -1 && i.block.lsr == 42 && i.block.dlsr == 3 && i.packets == 2
		}},
		{"rr without our block", marshalRTCP(t, &rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{{SSRC: 1}}}), false,
			func(i rtcpInfo) bool { return !i.sr && !i.hasBlock && i.packets == 1 }},
		{"bye after rr", marshalRTCP(t, &rtcp.ReceiverReport{SSRC: 7}, &rtcp.Goodbye{Sources: []uint32{7}}), false,
			func(i rtcpInfo) bool { return i.packets == 2 }},
		{"empty", nil, true, nil},
		{"truncated", sr[:len(sr)-5], true, nil},
		{"length beyond datagram", append([]byte{0x80, 201, 0, 9}, make([]byte, 8)...), true, nil},
		{"report count beyond length", []byte{0x81, 201, 0, 1, 0, 0, 0, 7}, true, nil},
		{"version 1", []byte{0x40, 201, 0, 1, 0, 0, 0, 7}, true, nil},
		{"starts with sdes", marshalRTCP(t, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 7}}}), true, nil},
		{"bad padding", []byte{0xA0, 201, 0, 1, 0, 0, 0, 0}, true, nil},
		{"trailing bytes", append(marshalRTCP(t, &rtcp.ReceiverReport{SSRC: 7}), 1, 2), true, nil},
		{"too large", append(marshalRTCP(t, &rtcp.ReceiverReport{SSRC: 7}), make([]byte, maxRTCPSize)...), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseRTCP(tt.pkt, ours)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseRTCP error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errRTCP) {
				t.Errorf("error %v is not errRTCP", err)
			}
			if tt.check != nil && !tt.check(info) {
				t.Errorf("parsed %+v", info)
			}
		})
	}
}

func FuzzParseRTCP(f *testing.F) {
	f.Add(marshalRTCP(f, &rtcp.SenderReport{SSRC: 7, Reports: []rtcp.ReceptionReport{{SSRC: 1}}}))
	f.Add(marshalRTCP(f, &rtcp.ReceiverReport{SSRC: 7}, &rtcp.Goodbye{Sources: []uint32{7}}))
	f.Add([]byte{0xA1, 201, 0, 7, 0, 0, 0, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		info, err := parseRTCP(pkt, 1)
		if err == nil && (info.packets < 1 || info.packets > len(pkt)/4) {
			t.Fatalf("parsed %d packets from %d bytes", info.packets, len(pkt))
		}
		if err != nil && !errors.Is(err, errRTCP) {
			t.Fatalf("error %v is not errRTCP", err)
		}
	})
}

// FuzzHandleRTCP drives the session's RTCP input; it must never panic.
func FuzzHandleRTCP(f *testing.F) {
	f.Add(marshalRTCP(f, &rtcp.SenderReport{SSRC: 7, Reports: []rtcp.ReceptionReport{{SSRC: 1, LastSenderReport: 5}}}))
	f.Add([]byte("junk"))
	e := newTestEngine(f, 47700, 47799, false)
	s, _, err := e.Answer(offerSDPBytes(netip.MustParseAddrPort("127.0.0.1:9")))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	src := netip.AddrPortFrom(loopback, 10)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		before := s.Stats()
		s.handleRTCP(pkt, src, time.Now())
		after := s.Stats()
		if after.RTCPReceived+after.RTCPDropped != before.RTCPReceived+before.RTCPDropped+1 {
			t.Fatal("packet neither accepted nor dropped")
		}
	})
}
