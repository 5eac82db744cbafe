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
	rtcp    *net.UDPConn // held only to reserve port+1
	port    int
	local   netip.AddrPort
	codec   Codec
	samples uint32 // RTP clock ticks per frame

	// Payload types kcc receives on: the ones its own SDP advertised.
	rxPT   uint8
	rxTEPT int

	sh   *shard
	pace paceItem

	digits     chan call.Digit
	readerDone chan struct{}
	closed     chan struct{}
	closeOnce  sync.Once

	relayTo atomic.Pointer[Session] // bridge peer, read by the reader per packet
	stats   counters

	mu       sync.Mutex // guards the fields below
	isClosed bool
	out      *playback
	peer     *Session
	offered  bool // opened by Offer
	accepted bool // Accept succeeded

	tx txState
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
	pt       uint8     // payload type the remote expects for audio
	remote   netip.AddrPort
	latched  bool
	send     bool // our direction allows sending

	// Relay mapping from the peer's incoming timeline onto ours.
	relaySSRC   uint32
	relayOffset uint32
	relayOn     bool
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
	SendErrors      uint64 // failed socket writes
}

type counters struct {
	pktsIn, bytesIn, pktsOut, bytesOut, relayed, dropped, foreign atomic.Uint64
	teIn, digits, digitsDropped, sendErrors                       atomic.Uint64
}

// open binds a port pair and starts the session's reader.
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
		codec:      codec,
		samples:    uint32(int64(codec.ClockRate) * int64(e.ptime) / int64(time.Second)),
		rxPT:       rxPT,
		rxTEPT:     rxTEPT,
		sh:         e.shardFor(),
		digits:     make(chan call.Digit, digitBuffer),
		readerDone: make(chan struct{}),
		closed:     make(chan struct{}),
	}
	s.log = e.log.With().Int("rtp_port", port).Logger()
	s.pace.s = s
	s.pace.idx = -1
	// RFC 3550 §5.1: random initial sequence number and timestamp, and a
	// random SSRC (§8.1).
	s.tx.ssrc = rand.Uint32()
	s.tx.seq = uint16(rand.Uint32())
	s.tx.ts = rand.Uint32()
	s.tx.pt = codec.PayloadType
	go s.read()
	return s, nil
}

func (s *Session) setRemote(pt uint8, remote netip.AddrPort, dir direction) {
	s.tx.mu.Lock()
	defer s.tx.mu.Unlock()
	s.tx.pt = pt
	if !s.tx.latched {
		s.tx.remote = remote
	}
	s.tx.send = dir.sends()
}

// Accept applies the remote answer to a session opened by Offer: the codec
// must be the offered one; the remote address, port and direction are taken
// from it. It may be called once.
func (s *Session) Accept(answer []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.isClosed:
		return fmt.Errorf("accept: %w", ErrClosed)
	case !s.offered:
		return errors.New("accept: session was not opened by Offer")
	case s.accepted:
		return errors.New("accept: answer already applied")
	}
	rs, err := parseAnswer(answer, s.codec)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	s.accepted = true
	s.setRemote(rs.pt, rs.remote, rs.dir.reverse())
	return nil
}

// Codec returns the negotiated codec: PCMA or PCMU with its static payload
// type, whatever payload type the wire uses, so it can be compared with and
// passed to media.PCMA/PCMU users (prompts, Offer).
func (s *Session) Codec() Codec { return s.codec }

// LocalAddr returns the address and port the session's RTP socket is bound to.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// Digits delivers each RFC 4733 key once. It is buffered; when nobody reads,
// the oldest keys are dropped so RTP is never blocked. The channel is closed
// when the session is closed.
func (s *Session) Digits() <-chan call.Digit { return s.digits }

// Stats returns a snapshot of the session's counters.
func (s *Session) Stats() Stats {
	c := &s.stats
	return Stats{
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
		SendErrors:      c.sendErrors.Load(),
	}
}

// Close stops playback and the reader, closes the sockets and returns the
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
		close(s.closed)
		s.mu.Unlock()
		err = errors.Join(s.conn.Close(), s.rtcp.Close())
		<-s.readerDone
		close(s.digits)
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

// tick sends the current playback's next frame (called by the pacer).
func (s *Session) tick(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	pb := s.out
	if pb == nil || len(pb.frames) == 0 {
		return false
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
		return false
	}
	return true
}

// sendAudio sends one played frame on the session's own timeline.
func (s *Session) sendAudio(now time.Time, payload []byte, talkspurt bool) {
	tx := &s.tx
	tx.mu.Lock()
	var ts uint32
	if talkspurt || tx.lastSent.IsZero() {
		ts = tx.talkspurtTS(now, s.codec.ClockRate, s.samples)
	} else {
		ts = tx.ts + s.samples
	}
	s.write(now, tx.pt, talkspurt, ts, payload)
	tx.mu.Unlock()
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

// write marshals and sends one packet; tx.mu must be held. It does not
// allocate: the header is marshalled into the session's buffer.
func (s *Session) write(now time.Time, pt uint8, marker bool, ts uint32, payload []byte) {
	tx := &s.tx
	// Media time passes even when nothing may be sent (hold, no remote
	// yet), so a later packet's timestamp stays on the wall clock.
	tx.ts = ts
	tx.lastSent = now
	if !tx.send || !tx.remote.IsValid() || tx.remote.Addr().IsUnspecified() || tx.remote.Port() == 0 {
		return
	}
	tx.seq++
	h := rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: tx.seq,
		Timestamp:      ts,
		SSRC:           tx.ssrc,
	}
	if _, err := h.MarshalTo(tx.buf[:rtpHeaderSize]); err != nil {
		s.stats.sendErrors.Add(1)
		return
	}
	n := rtpHeaderSize + copy(tx.buf[rtpHeaderSize:], payload)
	if _, err := s.conn.WriteToUDPAddrPort(tx.buf[:n], tx.remote); err != nil {
		s.stats.sendErrors.Add(1)
		return
	}
	s.stats.pktsOut.Add(1)
	s.stats.bytesOut.Add(uint64(n))
}
