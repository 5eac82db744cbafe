package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// RTCP (RFC 3550 §6). Each session sends a compound SR or RR plus SDES
// CNAME on its pacer shard every Config.RTCPInterval, and reads the
// remote's on the RTCP socket (RTP port + 1). Reports are built and parsed
// by hand into fixed buffers: a report is small, and neither the sender nor
// a flood of junk should allocate.

const (
	rtcpSR   = 200
	rtcpRR   = 201
	rtcpSDES = 202

	rtcpHeaderSize  = 4
	reportBlockSize = 24
	srBodySize      = 24 // sender SSRC, NTP, RTP timestamp, counts
	// maxRTCPSize bounds a compound packet kcc reads; anything larger is
	// not a report kcc cares about.
	maxRTCPSize = 1500
	// ntpEpochOffset is the seconds from 1900 (NTP) to 1970 (Unix).
	ntpEpochOffset = 2208988800
)

// errRTCP marks a malformed RTCP packet; only fuzz tests branch on it.
var errRTCP = errors.New("malformed rtcp")

// reportBlock is one reception report (RFC 3550 §6.4.1).
type reportBlock struct {
	ssrc     uint32
	fraction uint8
	lost     int32 // 24-bit signed cumulative loss
	highest  uint32
	jitter   uint32
	lsr      uint32
	dlsr     uint32
}

// rtcpInfo is what kcc takes from one compound packet.
type rtcpInfo struct {
	sr         bool   // it held a sender report
	senderSSRC uint32 // of the sender report
	srNTP      uint32 // middle 32 bits of the SR's NTP timestamp
	block      reportBlock
	hasBlock   bool // a report block about kcc's SSRC
	packets    int  // RTCP packets in the compound
}

// parseRTCP walks a compound RTCP packet and picks the sender report and
// the report block about ours. Every length is checked against the
// datagram; a packet that does not add up is refused as a whole.
func parseRTCP(b []byte, ours uint32) (rtcpInfo, error) {
	var info rtcpInfo
	if len(b) < rtcpHeaderSize {
		return info, fmt.Errorf("%w: %d bytes", errRTCP, len(b))
	}
	if len(b) > maxRTCPSize {
		return info, fmt.Errorf("%w: %d bytes exceeds %d", errRTCP, len(b), maxRTCPSize)
	}
	for off := 0; off < len(b); {
		if len(b)-off < rtcpHeaderSize {
			return info, fmt.Errorf("%w: %d trailing bytes", errRTCP, len(b)-off)
		}
		h := b[off:]
		if h[0]>>6 != 2 {
			return info, fmt.Errorf("%w: version %d", errRTCP, h[0]>>6)
		}
		count := int(h[0] & 0x1F)
		pt := h[1]
		size := (int(binary.BigEndian.Uint16(h[2:4])) + 1) * 4
		if size > len(h) {
			return info, fmt.Errorf("%w: packet of %d bytes in %d", errRTCP, size, len(h))
		}
		p := h[:size]
		if h[0]&0x20 != 0 { // padding: only the last packet may have it
			if off+size != len(b) || int(p[size-1]) == 0 || int(p[size-1]) > size-rtcpHeaderSize {
				return info, fmt.Errorf("%w: bad padding", errRTCP)
			}
			p = p[:size-int(p[size-1])]
		}
		if info.packets == 0 && pt != rtcpSR && pt != rtcpRR {
			// RFC 3550 A.2: a compound packet starts with SR or RR.
			return info, fmt.Errorf("%w: starts with packet type %d", errRTCP, pt)
		}
		var blocks []byte
		switch pt {
		case rtcpSR:
			if len(p) < rtcpHeaderSize+srBodySize+count*reportBlockSize {
				return info, fmt.Errorf("%w: short sender report", errRTCP)
			}
			info.sr = true
			info.senderSSRC = binary.BigEndian.Uint32(p[4:8])
			info.srNTP = binary.BigEndian.Uint32(p[10:14])
			blocks = p[rtcpHeaderSize+srBodySize:]
		case rtcpRR:
			if len(p) < rtcpHeaderSize+4+count*reportBlockSize {
				return info, fmt.Errorf("%w: short receiver report", errRTCP)
			}
			blocks = p[rtcpHeaderSize+4:]
		}
		for i := 0; i < count && blocks != nil; i++ {
			rb := blocks[i*reportBlockSize:]
			if binary.BigEndian.Uint32(rb[0:4]) != ours {
				continue
			}
			lost := int32(binary.BigEndian.Uint32(rb[4:8])<<8) >> 8 // sign-extend 24 bits
			info.block = reportBlock{
				ssrc:     ours,
				fraction: rb[4],
				lost:     lost,
				highest:  binary.BigEndian.Uint32(rb[8:12]),
				jitter:   binary.BigEndian.Uint32(rb[12:16]),
				lsr:      binary.BigEndian.Uint32(rb[16:20]),
				dlsr:     binary.BigEndian.Uint32(rb[20:24]),
			}
			info.hasBlock = true
		}
		info.packets++
		off += size
	}
	return info, nil
}

// ntpTime converts t to a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	ns := t.UnixNano()
	sec := uint64(ns/1e9) + ntpEpochOffset
	frac := (uint64(ns%1e9) << 32) / 1e9
	return sec<<32 | frac
}

// ntpMiddle is the middle 32 bits of an NTP timestamp: the unit of LSR and
// DLSR, 1/65536 s.
func ntpMiddle(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }

// rxQuality is the receive-side statistics of RFC 3550 A.3 and A.8, updated
// by the reader per packet and read by the RTCP sender and Stats.
type rxQuality struct {
	mu sync.Mutex
	q  rxCounts
}

type rxCounts struct {
	active   bool
	ssrc     uint32
	base     uint32 // first sequence number
	maxSeq   uint16
	cycles   uint32 // sequence wraps << 16
	received uint32
	epoch    time.Time // arrival clock origin
	transit  uint32
	haveTr   bool
	jitter   float64 // in timestamp units

	expectedPrior, receivedPrior uint32
}

// maxDropout is the largest forward sequence jump taken as loss rather than
// a restarted stream (RFC 3550 A.1).
const maxDropout = 3000

// update accounts one accepted packet; audio packets feed the jitter
// (telephone-event timestamps are the event's start, not its arrival).
func (rq *rxQuality) update(ssrc uint32, seq uint16, ts uint32, now time.Time, audio bool) {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	q := &rq.q
	if !q.active || ssrc != q.ssrc {
		*q = rxCounts{active: true, ssrc: ssrc, base: uint32(seq), maxSeq: seq, epoch: now}
	} else {
		switch delta := seq - q.maxSeq; {
		case delta == 0:
		case delta < maxDropout:
			if seq < q.maxSeq {
				q.cycles += 1 << 16
			}
			q.maxSeq = seq
		case delta <= 0xFFFF-100:
			// A jump this large is a restarted sender: start over.
			*q = rxCounts{active: true, ssrc: ssrc, base: uint32(seq), maxSeq: seq, epoch: now}
		default:
			// Duplicate or reordered: counted, maximum unchanged.
		}
	}
	q.received++
	if !audio {
		return
	}
	arrival := uint32(now.Sub(q.epoch) * 8000 / time.Second)
	transit := arrival - ts
	if q.haveTr {
		d := float64(int32(transit - q.transit))
		if d < 0 {
			d = -d
		}
		q.jitter += (d - q.jitter) / 16
	}
	q.transit, q.haveTr = transit, true
}

// extHighest is the extended highest sequence number.
func (q *rxCounts) extHighest() uint32 { return q.cycles + uint32(q.maxSeq) }

// lost is the cumulative number of packets lost.
func (q *rxCounts) lost() int64 {
	expected := int64(q.extHighest()) - int64(q.base) + 1
	return expected - int64(q.received)
}

func (rq *rxQuality) fill(st *Stats) {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	q := &rq.q
	if !q.active {
		return
	}
	st.PacketsLost = q.lost()
	st.Jitter = time.Duration(q.jitter * float64(time.Second) / 8000)
}

// block returns the report block about the remote's stream and starts a
// new interval for the fraction lost (RFC 3550 A.3).
func (rq *rxQuality) block() (reportBlock, bool) {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	q := &rq.q
	if !q.active {
		return reportBlock{}, false
	}
	expected := q.extHighest() - q.base + 1
	expInt := expected - q.expectedPrior
	q.expectedPrior = expected
	recInt := q.received - q.receivedPrior
	q.receivedPrior = q.received
	var fraction uint8
	if lostInt := int64(expInt) - int64(recInt); expInt != 0 && lostInt > 0 {
		fraction = uint8(min(lostInt<<8/int64(expInt), 255))
	}
	return reportBlock{
		ssrc:     q.ssrc,
		fraction: fraction,
		lost:     int32(max(min(q.lost(), 0x7FFFFF), -0x800000)),
		highest:  q.extHighest(),
		jitter:   uint32(q.jitter),
	}, true
}

// rtcpState is a session's RTCP send buffer, the remote's RTCP source and
// what the remote reported.
type rtcpState struct {
	mu      sync.Mutex
	buf     [rtcpHeaderSize + srBodySize + reportBlockSize + 64]byte
	cname   [12]byte // "kcc-" and the SSRC in hex (RFC 7022: per session)
	source  netip.AddrPort
	latched bool

	lastSR   uint32    // middle NTP bits of the remote's last SR
	lastSRAt time.Time // when it arrived

	remote     bool
	fraction   uint8
	remoteLost int32
	jitter     uint32
	rtt        time.Duration
}

func (r *rtcpState) init(ssrc uint32) {
	const hex = "0123456789abcdef"
	copy(r.cname[:], "kcc-")
	for i := range 8 {
		r.cname[4+i] = hex[(ssrc>>(28-4*i))&0xF]
	}
}

func (r *rtcpState) fill(st *Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.remote {
		return
	}
	st.RemoteFractionLost = float64(r.fraction) / 256
	st.RemotePacketsLost = int64(r.remoteLost)
	st.RemoteJitter = time.Duration(int64(r.jitter) * int64(time.Second) / 8000)
	st.RoundTrip = r.rtt
}

// rtcpTimer is the pacer item that sends a session's reports.
type rtcpTimer struct{ s *Session }

func (t *rtcpTimer) tick(now time.Time) bool {
	s := t.s
	select {
	case <-s.closed:
		return false
	default:
	}
	s.sendReport(now)
	return true
}

// sendReport sends one compound RTCP packet: SR when kcc sent RTP since the
// last report, else RR (RFC 3550 §6.4), with a report block about the
// remote's stream when kcc receives one, then SDES CNAME (§6.1: every
// compound packet carries it). It goes to the remote's latched RTCP
// source, else to its RTP address with port + 1. It does not allocate.
func (s *Session) sendReport(now time.Time) {
	tx := &s.tx
	tx.mu.Lock()
	ssrc, packets, octets, isSender := tx.ssrc, tx.packets, tx.octets, tx.sentSinceReport
	tx.sentSinceReport = false
	rtpTS := tx.ts
	if !tx.lastSent.IsZero() {
		rtpTS += uint32(now.Sub(tx.lastSent) * time.Duration(s.e.clockRate()) / time.Second)
	}
	dst := tx.remote
	tx.mu.Unlock()
	rb, haveBlock := s.quality.block()

	r := &s.rtcpSt
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.latched {
		dst = r.source
	} else if dst.IsValid() && dst.Port() != 0 && dst.Port() != 0xFFFF {
		dst = netip.AddrPortFrom(dst.Addr(), dst.Port()+1)
	} else {
		return
	}
	if dst.Addr().IsUnspecified() {
		return
	}
	if haveBlock && !r.lastSRAt.IsZero() {
		rb.lsr = r.lastSR
		rb.dlsr = uint32(now.Sub(r.lastSRAt) * 65536 / time.Second)
	}
	b := r.buf[:]
	rc := 0
	if haveBlock {
		rc = 1
	}
	n := rtcpHeaderSize + 4
	pt := byte(rtcpRR)
	if isSender {
		pt = rtcpSR
		n = rtcpHeaderSize + srBodySize
	}
	size := n + rc*reportBlockSize
	b[0] = 2<<6 | byte(rc)
	b[1] = pt
	binary.BigEndian.PutUint16(b[2:4], uint16(size/4-1))
	binary.BigEndian.PutUint32(b[4:8], ssrc)
	if isSender {
		binary.BigEndian.PutUint64(b[8:16], ntpTime(now))
		binary.BigEndian.PutUint32(b[16:20], rtpTS)
		binary.BigEndian.PutUint32(b[20:24], packets)
		binary.BigEndian.PutUint32(b[24:28], octets)
	}
	if haveBlock {
		p := b[n:]
		binary.BigEndian.PutUint32(p[0:4], rb.ssrc)
		binary.BigEndian.PutUint32(p[4:8], uint32(rb.lost)&0xFFFFFF)
		p[4] = rb.fraction
		binary.BigEndian.PutUint32(p[8:12], rb.highest)
		binary.BigEndian.PutUint32(p[12:16], rb.jitter)
		binary.BigEndian.PutUint32(p[16:20], rb.lsr)
		binary.BigEndian.PutUint32(p[20:24], rb.dlsr)
	}
	// SDES: one chunk, CNAME item, end item, padded to 32 bits.
	sd := b[size:]
	chunk := 4 + 2 + len(r.cname) + 1
	chunk = (chunk + 3) &^ 3
	sd[0] = 2<<6 | 1
	sd[1] = rtcpSDES
	binary.BigEndian.PutUint16(sd[2:4], uint16((rtcpHeaderSize+chunk)/4-1))
	binary.BigEndian.PutUint32(sd[4:8], ssrc)
	sd[8] = 1 // CNAME
	sd[9] = byte(len(r.cname))
	copy(sd[10:], r.cname[:])
	clear(sd[10+len(r.cname) : rtcpHeaderSize+chunk])
	size += rtcpHeaderSize + chunk
	if _, err := s.rtcp.WriteToUDPAddrPort(b[:size], dst); err != nil {
		s.stats.sendErrors.Add(1)
		return
	}
	s.stats.rtcpOut.Add(1)
}

// readRTCP is the session's RTCP reader goroutine. A blocking read needs a
// goroutine per socket; it is parked between reports (one every few
// seconds), costs a few KiB, and Close stops it with the RTP reader by
// closing the socket and waits for it.
func (s *Session) readRTCP() {
	defer close(s.rtcpDone)
	buf := make([]byte, maxRTCPSize+1)
	for {
		n, src, err := s.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.stats.rtcpDropped.Add(1)
			continue
		}
		s.handleRTCP(buf[:n], src, time.Now())
	}
}

// handleRTCP accepts a compound packet from the remote: its address must be
// the RTP remote's, and the first such source is latched (symmetric RTCP).
func (s *Session) handleRTCP(pkt []byte, src netip.AddrPort, now time.Time) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	s.tx.mu.Lock()
	remote, ssrc := s.tx.remote, s.tx.ssrc
	sdpAddr := s.tx.sdpAddr
	s.tx.mu.Unlock()
	r := &s.rtcpSt
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.latched && src != r.source,
		!r.latched && src.Addr() != remote.Addr() && src.Addr() != sdpAddr.Addr():
		s.stats.rtcpDropped.Add(1)
		return
	}
	info, err := parseRTCP(pkt, ssrc)
	if err != nil {
		s.stats.rtcpDropped.Add(1)
		return
	}
	r.latched, r.source = true, src
	s.stats.rtcpIn.Add(1)
	if info.sr {
		r.lastSR, r.lastSRAt = info.srNTP, now
	}
	if info.hasBlock {
		b := info.block
		r.remote = true
		r.fraction, r.remoteLost, r.jitter = b.fraction, b.lost, b.jitter
		if b.lsr != 0 {
			// RFC 3550 §6.4.1: round trip = arrival - LSR - DLSR.
			if rtt := int32(ntpMiddle(now) - b.lsr - b.dlsr); rtt >= 0 {
				r.rtt = time.Duration(int64(rtt) * int64(time.Second) / 65536)
			}
		}
	}
}

// relatchRTCP forgets the RTCP source when the remote moved.
func (r *rtcpState) relatch() {
	r.mu.Lock()
	r.latched = false
	r.mu.Unlock()
}
