package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Engine owns one RTP port pool and the pacer shards. Create it with
// NewEngine and start the pacer with Run; sessions opened by Answer and Offer
// may be used concurrently from any goroutine.
type Engine struct {
	log       zerolog.Logger
	advertise netip.Addr
	ptime     time.Duration
	rtcpEvery time.Duration
	keyFrames int  // frames per sent key (Config.DigitDuration)
	comfort   bool // send comfort silence
	pool      *portPool
	shards    []*shard

	nextShard atomic.Uint32
	nextID    atomic.Uint64 // session ids: lock order for Bridge

	started atomic.Bool
	stopped chan struct{} // closed when Run returns

	// sdpID returns the o= session id and version of a new SDP; tests
	// replace it to get stable golden files.
	sdpID func() uint64
}

// NewEngine validates cfg and returns an engine with a port pool for its
// range and one pacer shard per CPU (runtime.GOMAXPROCS(0)).
func NewEngine(cfg Config, log zerolog.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new media engine: %w", err)
	}
	e := &Engine{
		log:       log.With().Str("component", "media").Logger(),
		advertise: cfg.advertise(),
		ptime:     cfg.ptime(),
		rtcpEvery: cfg.rtcpInterval(),
		keyFrames: cfg.digitFrames(),
		comfort:   !cfg.NoComfortSilence,
		pool:      newPortPool(cfg.IP.Unmap(), cfg.PortMin, cfg.PortMax),
		stopped:   make(chan struct{}),
		sdpID:     func() uint64 { return rand.Uint64() >> 1 }, // positive int64: some parsers choke on more
	}
	for range runtime.GOMAXPROCS(0) {
		e.shards = append(e.shards, newShard(e.ptime))
	}
	return e, nil
}

// Run runs the pacer shards until ctx is done and returns nil then. Play
// and Loop only make progress while Run runs; after it returns they fail with
// ErrClosed. Sessions are not closed by Run: their owners close them.
func (e *Engine) Run(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("media engine: Run called twice")
	}
	defer close(e.stopped)
	var wg sync.WaitGroup
	for _, sh := range e.shards {
		wg.Go(func() { sh.run(ctx) })
	}
	wg.Wait()
	return nil
}

// PortsInUse returns how many RTP ports (each with its reserved RTCP
// neighbour) are held by open sessions.
func (e *Engine) PortsInUse() int { return e.pool.count() }

// Answer negotiates a remote SDP offer per RFC 3264 and opens a session for
// its first usable audio stream: plain RTP/AVP over IPv4 offering PCMA
// (preferred) or PCMU, under any payload type. telephone-event is kept with
// the offerer's payload type. Every other m= line is answered with port 0.
// It returns the session and the SDP answer.
//
// Errors: ErrBadSDP (unparseable or invalid offer), ErrNoCodec (no usable
// audio stream), ErrNoPorts (port range exhausted).
func (e *Engine) Answer(offer []byte) (*Session, []byte, error) {
	sd, err := parseSDP(offer)
	if err != nil {
		return nil, nil, fmt.Errorf("answer: %w", err)
	}
	rs, err := chooseStream(sd)
	if err != nil {
		return nil, nil, fmt.Errorf("answer: %w", err)
	}
	dir := rs.dir.reverse()
	s, err := e.open(rs.codec, rs.pt, rs.tePT)
	if err != nil {
		return nil, nil, fmt.Errorf("answer: %w", err)
	}
	id := e.sdpID()
	answer, err := buildAnswer(sd, rs.index, localStream{
		port: s.port, codec: rs.codec, pt: rs.pt, tePT: rs.tePT, dir: dir,
	}, e.advertise, id, id)
	if err != nil {
		_ = s.Close()
		return nil, nil, fmt.Errorf("answer: %w", err)
	}
	s.mu.Lock()
	s.sdpID, s.sdpVersion, s.localSDP = id, id, answer
	s.remoteHold = rs.holds()
	s.mu.Unlock()
	s.setRemote(rs, dir, false)
	s.wake()
	s.log.Debug().Str("codec", rs.codec.Name).Uint8("pt", rs.pt).Int("te_pt", rs.tePT).
		Stringer("remote", rs.remote).Stringer("dir", dir).Msg("rtp session answered")
	return s, answer, nil
}

// Offer opens a session and returns an SDP offer with exactly codec (PCMA
// or PCMU, under its static payload type) plus telephone-event/8000 (payload
// type 101, events 0-16), ptime 20 and sendrecv. It is used for the agent
// leg, so both legs of a bridge share the caller's codec. The session sends
// nothing until Accept has applied the answer.
func (e *Engine) Offer(codec Codec) (*Session, []byte, error) {
	c, ok := canonical(codec)
	if !ok {
		return nil, nil, fmt.Errorf("offer: codec %q: %w", codec.Name, ErrNoCodec)
	}
	s, err := e.open(c, c.PayloadType, telephoneEventPT)
	if err != nil {
		return nil, nil, fmt.Errorf("offer: %w", err)
	}
	id := e.sdpID()
	offer, err := buildOffer(localStream{
		port: s.port, codec: c, pt: c.PayloadType, tePT: telephoneEventPT, dir: sendrecv,
	}, e.advertise, id)
	if err != nil {
		_ = s.Close()
		return nil, nil, fmt.Errorf("offer: %w", err)
	}
	s.mu.Lock()
	s.offered = true
	s.sdpID, s.sdpVersion, s.localSDP = id, id, offer
	s.mu.Unlock()
	return s, offer, nil
}

// OfferAll opens a session for a late offer (an INVITE without SDP, RFC
// 3261 §13.2.1): the returned offer, for kcc's 200 OK, lists PCMA, PCMU
// (in that order of preference) and telephone-event/8000 as payload type
// 101. Accept applies the answer from the ACK and takes the codec the
// remote chose, the first PCMA or PCMU in the answer. The session sends
// nothing until then.
func (e *Engine) OfferAll() (*Session, []byte, error) { return e.OfferBoth(PCMA) }

// OfferBoth is OfferAll with first as the preferred law: an agent's phone
// is offered the caller's codec first, so the bridge relays without
// transcoding when the phone can, and transcodes when it speaks only the
// other law.
func (e *Engine) OfferBoth(first Codec) (*Session, []byte, error) {
	c, ok := canonical(first)
	if !ok {
		return nil, nil, fmt.Errorf("offer: codec %q: %w", first.Name, ErrNoCodec)
	}
	other := PCMU
	if c == PCMU {
		other = PCMA
	}
	s, err := e.open(c, c.PayloadType, telephoneEventPT)
	if err != nil {
		return nil, nil, fmt.Errorf("offer: %w", err)
	}
	id := e.sdpID()
	offer, err := buildOffer(localStream{
		port: s.port, codec: c, pt: c.PayloadType, tePT: telephoneEventPT, dir: sendrecv, also: other,
	}, e.advertise, id)
	if err != nil {
		_ = s.Close()
		return nil, nil, fmt.Errorf("offer: %w", err)
	}
	s.mu.Lock()
	s.offered, s.offeredAll = true, true
	s.sdpID, s.sdpVersion, s.localSDP = id, id, offer
	s.mu.Unlock()
	return s, offer, nil
}

// canonical maps a codec to kcc's PCMA or PCMU by name.
func canonical(c Codec) (Codec, bool) {
	switch {
	case strings.EqualFold(c.Name, PCMA.Name) || (c.Name == "" && c.PayloadType == PCMA.PayloadType):
		return PCMA, true
	case strings.EqualFold(c.Name, PCMU.Name) || (c.Name == "" && c.PayloadType == PCMU.PayloadType):
		return PCMU, true
	}
	return Codec{}, false
}

// shardFor spreads sessions over the shards round-robin.
func (e *Engine) shardFor() *shard {
	return e.shards[int(e.nextShard.Add(1))%len(e.shards)]
}

// clockRate is the RTP clock of both G.711 laws.
func (e *Engine) clockRate() uint32 { return 8000 }
