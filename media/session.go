package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/rs/zerolog"

	"kcc/call"
)

const (
	rtpHeaderSize = 12
	// maxPayload bounds what Play accepts and what is relayed; a G.711
	// frame is 160 bytes, and anything beyond one MTU is not RTP kcc sends.
	maxPayload = 1200
	// readBufferSize is larger than any sane RTP packet, so a truncated
	// jumbo datagram is dropped by the parser rather than misread.
	readBufferSize = 2048
	// digitBuffer is how many unread digits a session keeps; older ones
	// are dropped rather than blocking the reader.
	digitBuffer = 32
)

// Session is one RTP stream: a local socket, the negotiated codec and the
// remote address. Its methods are safe for concurrent use. Close it when
// the call leg ends.
type Session struct {
	e       *Engine
	log     zerolog.Logger
	id      uint64
	conn    *net.UDPConn
	rtcp    *net.UDPConn // RTCP on port+1 (RFC 3550 §11)
	port    int
	local   netip.AddrPort
	samples uint32 // RTP clock ticks per frame (both laws run at 8 kHz)

	// rx is what kcc receives on: the payload types its own SDP advertised.
	// Update swaps it; the reader loads it once per packet.
	rx atomic.Pointer[rxConfig]
	// latchGen is bumped when a new offer moved the remote: the reader
	// then forgets its latched source and latches again.
	latchGen atomic.Uint32

	sh       *shard
	pace     paceItem
	rtcpPace paceItem
	rtcpT    rtcpTimer

	digits     chan call.Digit
	readerDone chan struct{}
	rtcpDone   chan struct{}
	closed     chan struct{}
	closeOnce  sync.Once

	// keysMu serialises everything that feeds Digits(): the reader (RFC
	// 4733 and in-band) and InjectDigit (SIP INFO).
	keysMu     sync.Mutex
	keysClosed bool
	dedupe     keyDedupe

	relayTo atomic.Pointer[Session] // bridge peer, read by the reader per packet
	keyBusy atomic.Bool             // a key is being sent: relayed audio pauses
	stats   counters
	quality rxQuality
	rtcpSt  rtcpState

	mu         sync.Mutex // guards the fields below
	isClosed   bool
	out        *playback
	peer       *Session
	offered    bool // opened by Offer or OfferAll
	offeredAll bool // opened by OfferAll: the answer picks the law
	accepted   bool // Accept succeeded
	remoteHold bool
	sdpID      uint64
	sdpVersion uint64
	localSDP   []byte
	keys       keySender

	tx txState
}

// rxConfig is the receive half of the negotiation. It is immutable once
// published; Update publishes a new one.
type rxConfig struct {
	codec Codec // canonical PCMA or PCMU
	pt    uint8 // audio payload type
	tePT  int   // telephone-event payload type, or noPT: in-band detection
}

// txState is the sending half: one RTP sequence/timestamp space and the
// packet buffer. Playback (pacer) and relay (peer's reader) both send
// through it; they are serialised by mu and, while bridged, playback is off.
type txState struct {
	mu       sync.Mutex
	buf      [rtpHeaderSize + maxPayload]byte
	ssrc     uint32
	seq      uint16
	ts       uint32    // timestamp of the last packet sent (or the random start)
	lastSent time.Time // when it was sent; zero before the first packet
	codec    Codec     // law the remote receives
	pt       uint8     // payload type the remote expects for audio
	tePT     int       // payload type the remote expects for telephone-event, or noPT
	remote   netip.AddrPort
	sdpAddr  netip.AddrPort // the address the remote's SDP gave
	latched  bool
	send     bool // our direction allows sending

	// For RTCP sender reports (RFC 3550 §6.4.1).
	packets, octets uint32
	sentSinceReport bool

	// Relay mapping from the peer's incoming timeline onto ours.
	relaySSRC   uint32
	relayOffset uint32
	relayOn     bool
	lastRelay   time.Time // when relayed audio was last sent
}

// canSend reports whether a packet written now would leave the socket.
// tx.mu must be held.
func (tx *txState) canSend() bool {
	return tx.send && tx.remote.IsValid() && !tx.remote.Addr().IsUnspecified() && tx.remote.Port() != 0
}

// playback is one Play or Loop call. Its fields are guarded by the owning
// session's mu.
type playback struct {
	frames [][]byte
	loop   bool
	next   int
	sent   bool
	done   chan error // capacity 1; receives the result exactly once
}

func (p *playback) finish(err error) {
	select {
	case p.done <- err:
	default:
	}
}

// Stats is a snapshot of a session's counters.
type Stats struct {
	PacketsReceived uint64 // valid RTP packets accepted (audio and telephone-event)
	BytesReceived   uint64 // their size including RTP headers
	PacketsSent     uint64 // RTP packets written, played or relayed
	BytesSent       uint64 // their size including RTP headers
	PacketsRelayed  uint64 // received audio packets forwarded to the bridge peer
	PacketsDropped  uint64 // garbage, short, non-RTP or unknown payload type
	PacketsForeign  uint64 // valid RTP from a source other than the latched one
	TelephoneEvents uint64 // telephone-event packets received
	Digits          uint64 // keys delivered to Digits()
	DigitsDropped   uint64 // keys discarded because nobody read Digits()
	DigitsDuplicate uint64 // keys dropped because another method already reported them
	DigitsSent      uint64 // keys sent to the remote (SendDigit and bridge regeneration)
	SendErrors      uint64 // failed socket writes

	// Receive quality of the remote's stream, measured by kcc.
	PacketsLost int64         // RFC 3550 A.3 cumulative loss; negative with duplicates
	Jitter      time.Duration // RFC 3550 A.8 interarrival jitter

	// RTCP (RFC 3550 §6).
	RTCPReceived uint64 // valid compound packets from the remote
	RTCPDropped  uint64 // malformed or foreign RTCP datagrams
	RTCPSent     uint64 // reports kcc sent

	// The remote's view of kcc's stream, from the last SR/RR report block
	// about it; zero until one arrived.
	RemoteFractionLost float64       // fraction of kcc's packets lost in the last interval, 0-1
	RemotePacketsLost  int64         // the remote's cumulative count
	RemoteJitter       time.Duration // the remote's interarrival jitter
	RoundTrip          time.Duration // from LSR/DLSR (RFC 3550 §6.4.1); zero when unknown
}

type counters struct {
	pktsIn, bytesIn, pktsOut, bytesOut, relayed, dropped, foreign  atomic.Uint64
	teIn, digits, digitsDropped, digitsDup, digitsSent, sendErrors atomic.Uint64
	rtcpIn, rtcpDropped, rtcpOut                                   atomic.Uint64
}

// open binds a port pair and starts the session's readers.
func (e *Engine) open(codec Codec, rxPT uint8, rxTEPT int) (*Session, error) {
	conn, rtcp, port, err := e.pool.acquire()
	if err != nil {
		return nil, err
	}
	s := &Session{
		e:          e,
		id:         e.nextID.Add(1),
		conn:       conn,
		rtcp:       rtcp,
		port:       port,
		local:      netip.AddrPortFrom(e.pool.ip, uint16(port)),
		samples:    uint32(int64(codec.ClockRate) * int64(e.ptime) / int64(time.Second)),
		sh:         e.shardFor(),
		digits:     make(chan call.Digit, digitBuffer),
		readerDone: make(chan struct{}),
		rtcpDone:   make(chan struct{}),
		closed:     make(chan struct{}),
	}
	s.rx.Store(&rxConfig{codec: codec, pt: rxPT, tePT: rxTEPT})
	s.log = e.log.With().Int("rtp_port", port).Logger()
	s.pace.s = s
	s.pace.idx = -1
	s.rtcpT.s = s
	s.rtcpPace.s = &s.rtcpT
	s.rtcpPace.idx = -1
	s.rtcpPace.period = e.rtcpEvery
	// RFC 3550 §5.1: random initial sequence number and timestamp, and a
	// random SSRC (§8.1).
	s.tx.ssrc = rand.Uint32()
	s.tx.seq = uint16(rand.Uint32())
	s.tx.ts = rand.Uint32()
	s.tx.codec = codec
	s.tx.pt = codec.PayloadType
	s.tx.tePT = noPT
	s.rtcpSt.init(s.tx.ssrc)
	go s.read()
	go s.readRTCP()
	// RFC 3550 §6.2: the first report after a random part of the interval,
	// so calls set up together do not report together.
	s.sh.scheduleAfter(&s.rtcpPace, e.rtcpEvery/2+rand.N(e.rtcpEvery))
	return s, nil
}

// setRemote applies a negotiated remote stream to the send side. With
// moved, the remote's address changed in a new offer: kcc sends there and
// the reader latches afresh.
func (s *Session) setRemote(rs remoteStream, dir direction, moved bool) {
	s.tx.mu.Lock()
	defer s.tx.mu.Unlock()
	s.tx.codec = rs.codec
	s.tx.pt = rs.pt
	s.tx.tePT = rs.tePT
	if !rs.remote.Addr().IsUnspecified() {
		s.tx.sdpAddr = rs.remote
	}
	if moved {
		s.tx.remote, s.tx.latched = rs.remote, false
		s.latchGen.Add(1)
		s.rtcpSt.relatch()
	} else if !s.tx.latched {
		s.tx.remote = rs.remote
	}
	s.tx.send = dir.sends()
}

// wake puts the session on its pacer grid when it has something to send:
// playback, a key, or comfort silence. A session already there keeps its
// place.
func (s *Session) wake() {
	s.mu.Lock()
	busy := s.out != nil || s.keys.pending()
	s.mu.Unlock()
	if !busy && s.e.comfort {
		s.tx.mu.Lock()
		busy = s.tx.canSend()
		s.tx.mu.Unlock()
	}
	if busy {
		s.sh.schedule(&s.pace)
	}
}

// Accept applies the remote answer to a session opened by Offer or
// OfferAll: the codec must be the offered one (OfferAll: the first PCMA or
// PCMU of the answer is taken); the remote address, port and direction are
// taken from it. It may be called once.
func (s *Session) Accept(answer []byte) error {
	s.mu.Lock()
	switch {
	case s.isClosed:
		s.mu.Unlock()
		return fmt.Errorf("accept: %w", ErrClosed)
	case !s.offered:
		s.mu.Unlock()
		return errors.New("accept: session was not opened by Offer")
	case s.accepted:
		s.mu.Unlock()
		return errors.New("accept: answer already applied")
	}
	cur := s.rx.Load()
	rs, err := parseAnswer(answer, cur.codec, s.offeredAll)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("accept: %w", err)
	}
	s.accepted = true
	s.remoteHold = rs.holds()
	// kcc receives on the payload types it offered: the static ones, and
	// telephone-event only if the answer kept it (else in-band detection).
	te := noPT
	if rs.tePT != noPT {
		te = telephoneEventPT
	}
	s.rx.Store(&rxConfig{codec: rs.codec, pt: rs.codec.PayloadType, tePT: te})
	s.setRemote(rs, rs.dir.reverse(), false)
	s.mu.Unlock()
	s.wake()
	return nil
}

// Codec returns the negotiated codec: PCMA or PCMU with its static payload
// type, whatever payload type the wire uses, so it can be compared with and
// passed to media.PCMA/PCMU users (prompts, Offer). A re-INVITE (Update)
// can change it.
func (s *Session) Codec() Codec { return s.rx.Load().codec }

// LocalAddr returns the address and port the session's RTP socket is bound to.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// Digits delivers each key once, whether it came by RFC 4733, in-band tone
// or InjectDigit (SIP INFO). It is buffered; when nobody reads, the oldest
// keys are dropped so RTP is never blocked. The channel is closed when the
// session is closed.
func (s *Session) Digits() <-chan call.Digit { return s.digits }

// Stats returns a snapshot of the session's counters.
func (s *Session) Stats() Stats {
	c := &s.stats
	st := Stats{
		PacketsReceived: c.pktsIn.Load(),
		BytesReceived:   c.bytesIn.Load(),
		PacketsSent:     c.pktsOut.Load(),
		BytesSent:       c.bytesOut.Load(),
		PacketsRelayed:  c.relayed.Load(),
		PacketsDropped:  c.dropped.Load(),
		PacketsForeign:  c.foreign.Load(),
		TelephoneEvents: c.teIn.Load(),
		Digits:          c.digits.Load(),
		DigitsDropped:   c.digitsDropped.Load(),
		DigitsDuplicate: c.digitsDup.Load(),
		DigitsSent:      c.digitsSent.Load(),
		SendErrors:      c.sendErrors.Load(),
		RTCPReceived:    c.rtcpIn.Load(),
		RTCPDropped:     c.rtcpDropped.Load(),
		RTCPSent:        c.rtcpOut.Load(),
	}
	s.quality.fill(&st)
	s.rtcpSt.fill(&st)
	return st
}

// Close stops playback and the readers, closes the sockets and returns the
// ports to the pool. It is idempotent and safe to call concurrently with
// any other method.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.isClosed = true
		if s.out != nil {
			s.out.finish(ErrClosed)
			s.out = nil
		}
		s.keys.abort(ErrClosed)
		close(s.closed)
		s.mu.Unlock()
		s.sh.cancel(&s.pace)
		s.sh.cancel(&s.rtcpPace)
		err = errors.Join(s.conn.Close(), s.rtcp.Close())
		<-s.readerDone
		<-s.rtcpDone
		s.keysMu.Lock()
		s.keysClosed = true
		close(s.digits)
		s.keysMu.Unlock()
		s.e.pool.release(s.port)
		s.log.Debug().Msg("rtp session closed")
	})
	if err != nil {
		return fmt.Errorf("close rtp session: %w", err)
	}
	return nil
}

// Play sends pre-encoded frames (for s.Codec(); each exactly one ptime long,
// i.e. 160 bytes at 20 ms) one per ptime, paced by the engine, and returns
// nil after the last frame was sent, or ctx.Err() as soon as ctx is done:
// the rest is not sent (barge-in). frames are shared read-only and never
// modified. A later Play, Loop or Bridge replaces it (it returns
// ErrReplaced); Play on a bridged session returns ErrBridged. The first
// packet carries the RTP marker bit (a new talkspurt). An empty frames list
// just stops the current playback and returns nil.
func (s *Session) Play(ctx context.Context, frames [][]byte) error {
	return wrapPlay(ctx, "play", s.play(ctx, frames, false))
}

// Loop plays frames over and over (hold music) until ctx is done and then
// returns ctx.Err(), or ErrReplaced/ErrClosed when it was stopped otherwise.
// An empty frames list sends nothing but still waits.
func (s *Session) Loop(ctx context.Context, frames [][]byte) error {
	return wrapPlay(ctx, "loop", s.play(ctx, frames, true))
}

// wrapPlay adds context to errors, except ctx's own, which callers get
// verbatim as documented.
func wrapPlay(ctx context.Context, op string, err error) error {
	if err == nil || err == ctx.Err() { //nolint:errorlint // identity is the contract
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (s *Session) play(ctx context.Context, frames [][]byte, loop bool) error {
	for i, f := range frames {
		if len(f) != int(s.samples) {
			return fmt.Errorf("frame %d has %d bytes, want %d", i, len(f), s.samples)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pb := &playback{frames: frames, loop: loop, done: make(chan error, 1)}
	s.mu.Lock()
	switch {
	case s.isClosed:
		s.mu.Unlock()
		return ErrClosed
	case s.peer != nil:
		s.mu.Unlock()
		return ErrBridged
	}
	if s.out != nil {
		s.out.finish(ErrReplaced)
	}
	s.out = pb
	s.mu.Unlock()

	if len(frames) == 0 {
		if !loop {
			s.stopPlayback(pb)
			return nil
		}
		// An empty Loop sends nothing but holds the output like any
		// other, so a later Play, Bridge or Close ends it.
	} else {
		s.sh.schedule(&s.pace)
	}
	select {
	case err := <-pb.done:
		return err
	case <-ctx.Done():
		s.stopPlayback(pb)
		return ctx.Err()
	case <-s.e.stopped:
		s.stopPlayback(pb)
		return fmt.Errorf("media engine stopped: %w", ErrClosed)
	}
}

func (s *Session) stopPlayback(pb *playback) {
	s.mu.Lock()
	if s.out == pb {
		s.out = nil
	}
	s.mu.Unlock()
}

// tick sends the session's next packet on its 20 ms grid (called by the
// pacer): a key being sent takes the slot, else the playback's next frame,
// else comfort silence. It reports whether the session stays on the grid.
func (s *Session) tick(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return false
	}
	if s.sendKeyFrame(now) {
		return true
	}
	pb := s.out
	if pb == nil || len(pb.frames) == 0 {
		s.sendComfort(now)
		return s.keepTicking()
	}
	frame := pb.frames[pb.next]
	marker := !pb.sent
	pb.sent = true
	pb.next++
	last := false
	if pb.next == len(pb.frames) {
		if pb.loop {
			pb.next = 0
		} else {
			last = true
		}
	}
	s.sendAudio(now, frame, marker)
	if last {
		s.out = nil
		pb.finish(nil)
		return s.keepTicking()
	}
	return true
}

// keepTicking reports whether the session has anything left to send on
// its grid. s.mu must be held.
func (s *Session) keepTicking() bool {
	if (s.out != nil && len(s.out.frames) > 0) || s.keys.pending() {
		return true
	}
	if !s.e.comfort {
		return false
	}
	s.tx.mu.Lock()
	defer s.tx.mu.Unlock()
	return s.tx.canSend()
}

// comfortGap is how long relayed audio may pause before comfort silence
// fills in: a little over two frames, so jitter on the other leg does not
// interleave silence with speech.
const comfortGap = 60 * time.Millisecond

// sendComfort sends one frame of silence unless the bridge relayed audio
// recently. Carriers hang up legs that stay silent (no RTP), and a
// receiver's jitter buffer likes an unbroken stream. s.mu must be held.
func (s *Session) sendComfort(now time.Time) {
	if !s.e.comfort {
		return
	}
	tx := &s.tx
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if !tx.canSend() || (!tx.lastRelay.IsZero() && now.Sub(tx.lastRelay) < comfortGap) {
		return
	}
	s.writeLocal(now, tx.pt, silenceFor(tx.codec), nil)
}

// sendAudio sends one played frame on the session's own timeline.
func (s *Session) sendAudio(now time.Time, payload []byte, talkspurt bool) {
	tx := &s.tx
	tx.mu.Lock()
	var ts uint32
	if talkspurt || tx.lastSent.IsZero() {
		ts = tx.talkspurtTS(now, s.e.clockRate(), s.samples)
	} else {
		ts = tx.ts + s.samples
	}
	tx.relayOn = false
	s.write(now, tx.pt, talkspurt, ts, ts, payload, nil)
	tx.mu.Unlock()
}

// writeLocal sends one generated frame (silence or tone) continuing the
// stream: the next timestamp when the previous frame was one ptime ago,
// else a new talkspurt with the marker bit. tx.mu must be held.
func (s *Session) writeLocal(now time.Time, pt uint8, payload []byte, table *[256]byte) {
	tx := &s.tx
	talkspurt := tx.lastSent.IsZero() || now.Sub(tx.lastSent) > s.e.ptime*3/2
	ts := tx.ts + s.samples
	if talkspurt {
		ts = tx.talkspurtTS(now, s.e.clockRate(), s.samples)
	}
	tx.relayOn = false // relayed audio after this starts a new talkspurt
	s.write(now, pt, talkspurt, ts, ts, payload, table)
}

// talkspurtTS is the timestamp of a packet starting a new talkspurt: the
// last one plus the wall-clock time since it (RFC 3550 §5.1), at least one
// frame on, so the receiver sees the silence as a gap in media time.
func (tx *txState) talkspurtTS(now time.Time, rate, frame uint32) uint32 {
	if tx.lastSent.IsZero() {
		return tx.ts
	}
	elapsed := now.Sub(tx.lastSent)
	ticks := uint32(max(int64(elapsed)*int64(rate)/int64(time.Second), int64(frame)))
	return tx.ts + ticks
}

// write marshals and sends one packet; tx.mu must be held. hdrTS is the
// packet's timestamp and mediaTS the media time it stands for: they differ
// only for telephone-event packets, which all carry the event's start.
// With table, the payload is transcoded on the copy. It does not allocate:
// the packet is built in the session's buffer.
func (s *Session) write(now time.Time, pt uint8, marker bool, hdrTS, mediaTS uint32, payload []byte, table *[256]byte) {
	tx := &s.tx
	// Media time passes even when nothing may be sent (hold, no remote
	// yet), so a later packet's timestamp stays on the wall clock.
	tx.ts = mediaTS
	tx.lastSent = now
	if !tx.canSend() {
		return
	}
	tx.seq++
	h := rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: tx.seq,
		Timestamp:      hdrTS,
		SSRC:           tx.ssrc,
	}
	if _, err := h.MarshalTo(tx.buf[:rtpHeaderSize]); err != nil {
		s.stats.sendErrors.Add(1)
		return
	}
	var n int
	if table == nil {
		n = copy(tx.buf[rtpHeaderSize:], payload)
	} else {
		dst := tx.buf[rtpHeaderSize:]
		n = min(len(dst), len(payload))
		for i, b := range payload[:n] {
			dst[i] = table[b]
		}
	}
	if _, err := s.conn.WriteToUDPAddrPort(tx.buf[:rtpHeaderSize+n], tx.remote); err != nil {
		s.stats.sendErrors.Add(1)
		return
	}
	tx.packets++
	tx.octets += uint32(n)
	tx.sentSinceReport = true
	s.stats.pktsOut.Add(1)
	s.stats.bytesOut.Add(uint64(rtpHeaderSize + n))
}
