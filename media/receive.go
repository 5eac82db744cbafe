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

// relatchGrace is how many packets from the old source a re-latch ignores
// (about half a second of audio) before it takes that source back: after a
// re-INVITE moved the remote, packets still in flight from the old address
// must not win the latch, but a remote that changed only its receive
// address keeps sending from the old one.
const relatchGrace = 25

// receiver is the state owned by one session's reader goroutine.
type receiver struct {
	s       *Session
	h       rtp.Header // reused: Unmarshal keeps its slices' capacity
	latched bool
	source  netip.AddrPort
	dtmf    digitDetector
	inband  inbandDetector

	gen       uint32         // the session's latchGen this state is for
	oldSource netip.AddrPort // the source latched before a re-latch
	oldCount  int            // packets from oldSource ignored since
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
	rx := s.rx.Load()
	pt := r.h.PayloadType
	isTE := rx.tePT != noPT && int(pt) == rx.tePT
	if pt != rx.pt && !isTE {
		s.stats.dropped.Add(1)
		return
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if !r.accept(src) {
		s.stats.foreign.Add(1)
		return
	}
	now := time.Now()
	s.stats.pktsIn.Add(1)
	s.stats.bytesIn.Add(uint64(len(pkt)))
	s.quality.update(r.h.SSRC, r.h.SequenceNumber, r.h.Timestamp, now, !isTE)

	if isTE {
		s.stats.teIn.Add(1)
		ev, err := DecodeTelephoneEvent(payload)
		if err != nil {
			s.stats.dropped.Add(1)
			return
		}
		if d, ok := r.dtmf.observe(r.h.SSRC, r.h.Timestamp, ev); ok {
			s.deliverKey(d, viaRFC4733, now)
		}
		// Never relayed: the peer leg regenerates the key with its own
		// payload type and timeline (deliverKey).
		return
	}
	if rx.tePT == noPT {
		keys, n := r.inband.feed(rx.codec, payload)
		for _, d := range keys[:n] {
			s.deliverKey(d, viaInband, now)
		}
	}
	if peer := s.relayTo.Load(); peer != nil && len(payload) > 0 && len(payload) <= maxPayload {
		if peer.relay(&r.h, payload, rx.codec, now) {
			s.stats.relayed.Add(1)
		}
	}
}

// accept applies symmetric-RTP latching (RFC 4961) to a packet's source:
// the first valid packet's source is where kcc sends and the only one it
// accepts, which is what gets through NAT and defeats RTP bleed
// (reliability.md §3.6). A new offer that moved the remote (Update) starts
// a re-latch.
func (r *receiver) accept(src netip.AddrPort) bool {
	s := r.s
	if g := s.latchGen.Load(); g != r.gen {
		r.gen = g
		if r.latched {
			r.oldSource, r.oldCount = r.source, 0
		}
		r.latched = false
	}
	if r.latched {
		return src == r.source
	}
	if r.oldSource.IsValid() && src == r.oldSource && r.oldCount < relatchGrace {
		r.oldCount++
		return false
	}
	r.latched, r.source, r.oldSource = true, src, netip.AddrPort{}
	s.tx.mu.Lock()
	s.tx.remote, s.tx.latched = src, true
	s.tx.mu.Unlock()
	s.log.Debug().Stringer("source", src).Msg("rtp source latched")
	s.wake() // a remote without an address (hold) may now be sendable
	return true
}

// deliver queues a key without ever blocking: when the buffer is full the
// oldest key makes room. s.keysMu must be held, so after one receive there
// is space.
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
// The offset is fixed at the first packet of each bridge, whenever the
// incoming SSRC changes and after s sent anything of its own (silence, a
// key); that packet carries the marker bit. A payload of the other law is
// transcoded. While s sends a key the audio is dropped (RFC 4733 §2.5.1:
// the event replaces the audio), and false is returned.
func (s *Session) relay(h *rtp.Header, payload []byte, from Codec, now time.Time) bool {
	if s.keyBusy.Load() {
		return false
	}
	tx := &s.tx
	tx.mu.Lock()
	marker := h.Marker
	if !tx.relayOn || h.SSRC != tx.relaySSRC {
		tx.relayOffset = tx.talkspurtTS(now, s.e.clockRate(), s.samples) - h.Timestamp
		tx.relaySSRC, tx.relayOn = h.SSRC, true
		marker = true
	}
	tx.lastRelay = now
	ts := h.Timestamp + tx.relayOffset
	s.write(now, tx.pt, marker, ts, ts, payload, transcoder(from, tx.codec))
	tx.mu.Unlock()
	return true
}
