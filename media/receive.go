package media

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"kcc/call"
)

// read is the session's reader goroutine; Close stops it by closing the
// socket and waits for it.
func (s *Session) read() {
	defer close(s.readerDone)
	buf := make([]byte, readBufferSize)
	r := receiver{s: s}
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.stats.dropped.Add(1)
			continue
		}
		r.handle(buf[:n], src)
	}
}

// receiver is the state owned by one session's reader goroutine.
type receiver struct {
	s       *Session
	h       rtp.Header // reused: Unmarshal keeps its slices' capacity
	latched bool
	source  netip.AddrPort
	dtmf    digitDetector
}

// handle processes one datagram. Anything that is not RTP with a payload type
// kcc advertised is counted and dropped; it never reaches the peer.
func (r *receiver) handle(pkt []byte, src netip.AddrPort) {
	s := r.s
	hl, err := r.h.Unmarshal(pkt)
	if err != nil || r.h.Version != 2 || hl > len(pkt) {
		s.stats.dropped.Add(1)
		return
	}
	payload := pkt[hl:]
	if r.h.Padding {
		// RFC 3550 §5.1: the last octet counts the padding, itself included.
		if len(payload) == 0 || int(payload[len(payload)-1]) == 0 || int(payload[len(payload)-1]) > len(payload) {
			s.stats.dropped.Add(1)
			return
		}
		payload = payload[:len(payload)-int(payload[len(payload)-1])]
	}
	pt := r.h.PayloadType
	isTE := s.rxTEPT != noPT && int(pt) == s.rxTEPT
	if pt != s.rxPT && !isTE {
		s.stats.dropped.Add(1)
		return
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if !r.latched {
		// Symmetric RTP (RFC 4961): answer to where the media comes from,
		// which is what gets through NAT.
		r.latched, r.source = true, src
		s.tx.mu.Lock()
		s.tx.remote, s.tx.latched = src, true
		s.tx.mu.Unlock()
		s.log.Debug().Stringer("source", src).Msg("rtp source latched")
	} else if src != r.source {
		s.stats.foreign.Add(1)
		return
	}
	s.stats.pktsIn.Add(1)
	s.stats.bytesIn.Add(uint64(len(pkt)))

	if isTE {
		s.stats.teIn.Add(1)
		ev, err := DecodeTelephoneEvent(payload)
		if err != nil {
			s.stats.dropped.Add(1)
			return
		}
		if d, ok := r.dtmf.observe(r.h.SSRC, r.h.Timestamp, ev); ok {
			s.deliver(d)
		}
		// Not relayed: the peer leg gets DTMF regenerated (next issue),
		// never event payloads disguised as audio.
		return
	}
	if peer := s.relayTo.Load(); peer != nil && len(payload) > 0 && len(payload) <= maxPayload {
		peer.relay(&r.h, payload)
		s.stats.relayed.Add(1)
	}
}

// deliver queues a key without ever blocking the reader: when the buffer is
// full the oldest key makes room. Only the reader sends on s.digits, so
// after one receive there is space.
func (s *Session) deliver(d call.Digit) {
	select {
	case s.digits <- d:
		s.stats.digits.Add(1)
		return
	default:
	}
	select {
	case <-s.digits:
		s.stats.digitsDropped.Add(1)
	default:
	}
	select {
	case s.digits <- d:
		s.stats.digits.Add(1)
	default:
		s.stats.digitsDropped.Add(1)
	}
}

// relay sends a packet received on the peer leg from s, on s's own RTP
// timeline: s's SSRC and sequence numbers, and the peer's timestamps shifted
// by a fixed offset so gaps (silence suppression, loss) keep their length.
// The offset is fixed at the first packet of each bridge and whenever the
// incoming SSRC changes; that packet carries the marker bit.
func (s *Session) relay(h *rtp.Header, payload []byte) {
	tx := &s.tx
	now := time.Now()
	tx.mu.Lock()
	marker := h.Marker
	if !tx.relayOn || h.SSRC != tx.relaySSRC {
		tx.relayOffset = tx.talkspurtTS(now, s.codec.ClockRate, s.samples) - h.Timestamp
		tx.relaySSRC, tx.relayOn = h.SSRC, true
		marker = true
	}
	s.write(now, tx.pt, marker, h.Timestamp+tx.relayOffset, payload)
	tx.mu.Unlock()
}
