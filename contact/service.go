package contact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/ivr"
	"kcc/media"
	"kcc/prompts"
	"kcc/routing"
	"kcc/sip"
	"kcc/store"
)

// Config holds what a contact needs beyond its collaborators.
type Config struct {
	AnswerDelay time.Duration // between 180 Ringing and 200 OK (tests use it to CANCEL before answer)
	HoldPrompt  string        // played once when the caller is queued, before hold music
	// RequeuePrompt is played before the caller is queued again because
	// the agent's side failed (Asterisk or the ARI connection died).
	RequeuePrompt string

	// MaxCalls limits the contacts in progress; a call beyond it gets the
	// overload answer: 486 Busy Here, or with OverloadPrompt set, an answer,
	// that prompt in the flow's first language, and a hang-up. Both keep the
	// service number in the carrier's routing, unlike 503 (RFC 3261 §21.5.4).
	MaxCalls       int
	OverloadPrompt string

	// Now is the IVR's clock for opening hours and time conditions; nil
	// means time.Now (tests pin it inside opening hours).
	Now func() time.Time
	// Incidents are the incident messages the IVR's incident nodes play;
	// nil means none.
	Incidents ivr.Incidents
	// History records the milestones of every contact; nil records none.
	History History
	// Callback configures calling residents back; without a trunk there
	// are no callbacks.
	Callback CallbackConfig
	// Transfers maps the IVR's transfer targets to the numbers dialled
	// over the callback trunk.
	Transfers map[string]string
	// CallbackKeys maps a queue to the key its waiting callers press to
	// be called back; queues not in it offer no callback key.
	CallbackKeys map[string]string
	// Repeats recognises repeat callers, who get routing's care; nil
	// recognises none.
	Repeats Repeats
}

// Repeats tells whether a caller called often enough before arriving at
// arrived to count as a repeat caller.
type Repeats interface {
	Repeat(ctx context.Context, caller string, arrived time.Time) (bool, error)
}

// repeatLookup bounds the repeat-caller lookup: a slow store must not
// delay the answer.
const repeatLookup = 300 * time.Millisecond

// History receives what happens to a contact beyond what routing sees
// (package history implements it). Its methods must not block.
type History interface {
	Arrived(id call.ID, caller, number string, at time.Time)
	IVREnded(id call.ID, flowVersion string, path []string, cause string, at time.Time)
	Talked(id call.ID, agent string, callerHungUp bool, callerLeg, agentLeg store.LegQuality, at time.Time)
	// Transferred is Talked for a conversation the agent ended with a
	// blind transfer to target (a queue or a transfer target).
	// An attended one hands the caller to the consulted colleague (target).
	Transferred(id call.ID, agent, target string, attended bool, callerLeg, agentLeg store.LegQuality, at time.Time)
	Ended(id call.ID, at time.Time)
	CallbackEnded(id call.ID, answered bool, at time.Time)
}

// noHistory records nothing.
type noHistory struct{}

func (noHistory) Arrived(call.ID, string, string, time.Time)                                  {}
func (noHistory) IVREnded(call.ID, string, []string, string, time.Time)                       {}
func (noHistory) Talked(call.ID, string, bool, store.LegQuality, store.LegQuality, time.Time) {}
func (noHistory) Ended(call.ID, time.Time)                                                    {}
func (noHistory) CallbackEnded(call.ID, bool, time.Time)                                      {}
func (noHistory) Transferred(call.ID, string, string, bool, store.LegQuality, store.LegQuality, time.Time) {
}

// Router is the part of routing.Router a contact drives.
type Router interface {
	Enqueue(c routing.Contact) error
	Abandon(id call.ID)
	Answered(offerID uint64) error
	Declined(offerID uint64)
	Ended(id call.ID)
	Counts(queue string) (waiting, available int)
	Estimate(id call.ID) (routing.Estimate, error)
	Move(id call.ID, queue string) error
	Exit(id call.ID, key string) error
	Callback(id call.ID) error
	TimedOut(id call.ID) error
	SetBusy(agentID string, busy bool) error
}

// queueState shows the router's queues to the IVR's conditions.
type queueState struct{ r Router }

func (q queueState) Waiting(queue string) int   { w, _ := q.r.Counts(queue); return w }
func (q queueState) Available(queue string) int { _, a := q.r.Counts(queue); return a }

// Phones reaches registered agents: where they are and how to ring them.
type Phones interface {
	Lookup(user string) (sip.Binding, bool)
	Dial(ctx context.Context, r sip.DialRequest) (*sip.Outbound, error)
	// DialTrunk calls an outside number over the carrier's trunk.
	DialTrunk(ctx context.Context, t sip.Trunk, number string, r sip.DialRequest) (*sip.Outbound, error)
}

// Service handles every contact. Build it with New, then Attach the router
// (the router needs the Service as its Line, so they are built in two steps).
type Service struct {
	cfg     Config
	log     zerolog.Logger
	media   *media.Engine
	prompts *prompts.Catalog
	flows   Flows
	phones  Phones
	topics  map[string]string // queue -> topic shown to agents
	// announce is what each queue's waiting callers hear between the music.
	announce map[string]routing.Announcements
	router   Router

	asterisk  *AsteriskLine     // nil: no agents on Asterisk
	endpoints map[string]string // agent -> Asterisk endpoint, for agents on Asterisk

	// life ends when the service closes: it bounds the work that belongs
	// to no caller's call (callbacks).
	life  context.Context
	close context.CancelFunc

	mu        sync.Mutex
	contacts  map[call.ID]*contact
	callbacks map[call.ID]*callback    // pending callback requests
	internals map[string]*internalCall // consultation calls by their dialog id at kcc
	admitted  int                      // calls past admission control, answered or not
	ringing   int                      // callbacks being dialled or talked
	calls     sync.WaitGroup
	// background holds the goroutines that belong to no caller's call:
	// callbacks in progress, which Close ends.
	background sync.WaitGroup
}

// Flows tells which IVR program answers a dialled number: the version
// deployed now, with its id. A call looks it up once, when it arrives, and
// keeps that version to the end.
type Flows interface {
	Program(number string) (p *ivr.Program, version string, ok bool)
	Programs() []*ivr.Program
}

// New builds the service.
func New(cfg Config, m *media.Engine, catalog *prompts.Catalog, flows Flows,
	queues []routing.Queue, phones Phones, log zerolog.Logger) (*Service, error) {
	if cfg.History == nil {
		cfg.History = noHistory{}
	}
	s := &Service{
		cfg: cfg, log: log, media: m, prompts: catalog, phones: phones, flows: flows,
		topics:    make(map[string]string),
		announce:  make(map[string]routing.Announcements),
		contacts:  make(map[call.ID]*contact),
		callbacks: make(map[call.ID]*callback),
		internals: make(map[string]*internalCall),
	}
	s.life, s.close = context.WithCancel(context.Background())
	for _, q := range queues {
		s.topics[q.Name] = q.Topic
		s.announce[q.Name] = q.Announce
	}
	names := []string{cfg.HoldPrompt, cfg.RequeuePrompt, cfg.OverloadPrompt}
	if cfg.Callback.Trunk.Proxy != "" {
		names = append(names, callbackPrompts...)
	}
	for _, q := range queues {
		names = append(names, q.Announce.Periodic...)
		if m, ok := strings.CutPrefix(q.Overflow, OverflowMessage); ok {
			names = append(names, m)
		}
		if q.Announce.WaitTime {
			names = append(names, waitTimePrompt)
		}
	}
	for _, name := range names {
		if name == "" {
			continue
		}
		for _, p := range flows.Programs() {
			for _, l := range p.Languages() {
				if _, _, ok := catalog.Lookup(l, name); !ok {
					return nil, fmt.Errorf("contact: prompt %q missing for language %s", name, l)
				}
			}
		}
	}
	if cfg.MaxCalls <= 0 {
		return nil, fmt.Errorf("contact: max calls must be positive, got %d", cfg.MaxCalls)
	}
	return s, nil
}

// Attach sets the router. It must be called once, before any call arrives.
func (s *Service) Attach(r Router) { s.router = r }

// UseAsterisk routes the offers for agents in endpoints (agent id ->
// endpoint such as "PJSIP/1001") through line. It must be called before any
// call arrives.
func (s *Service) UseAsterisk(line *AsteriskLine, endpoints map[string]string) {
	s.asterisk, s.endpoints = line, endpoints
}

// Wait blocks until every contact in progress has ended.
func (s *Service) Wait() {
	s.calls.Wait()
	s.background.Wait()
}

// Active returns the number of contacts in progress.
func (s *Service) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.contacts) + len(s.internals) + s.ringing
}

// ServeCall handles one incoming call from INVITE to hang-up.
func (s *Service) ServeCall(in *sip.Inbound) {
	s.calls.Add(1)
	defer s.calls.Done()
	id := call.NewID()
	caller, _ := in.Caller()
	log := s.log.With().Str("contact_id", string(id)).Str("sip_call_id", in.CallID()).Logger()
	log.Info().Str("number", in.Number()).Str("from", caller).Str("source", in.Source()).Msg("incoming call")

	if b, ok := s.phones.Lookup(in.Number()); ok {
		// An agent dialling a colleague: a consultation call.
		if from, ok := s.fromAgent(in); ok {
			s.serveInternal(in, from, b, log)
			return
		}
	}
	prog, flowVersion, ok := s.flows.Program(in.Number())
	if !ok {
		log.Info().Msg("unknown number: 404")
		_ = in.Reject(404, "Not Found")
		return
	}
	if !s.admit() {
		s.overload(in, prog, log)
		return
	}
	defer s.leave()
	lateOffer := len(in.Offer()) == 0
	var (
		sess   *media.Session
		answer []byte
		err    error
	)
	if lateOffer {
		sess, answer, err = s.media.OfferAll() // our offer goes in the 200 OK
	} else {
		sess, answer, err = s.media.Answer(in.Offer())
	}
	if err != nil {
		code, reason := answerFailure(err)
		log.Info().Err(err).Int("code", code).Msg("cannot answer")
		_ = in.Reject(code, reason)
		return
	}
	defer sess.Close()
	in.SetHooks(sip.Hooks{Offer: sess.Update, Digit: sess.InjectDigit})
	if err := in.Ringing(); err != nil {
		log.Debug().Err(err).Msg("180 Ringing")
	}
	if s.cfg.AnswerDelay > 0 {
		t := time.NewTimer(s.cfg.AnswerDelay)
		select {
		case <-t.C:
		case <-in.Context().Done():
			t.Stop()
			log.Info().Msg("caller cancelled before answer")
			return
		}
	}
	remote, err := in.Answer(answer)
	if err != nil {
		log.Info().Err(err).Msg("answer failed")
		return
	}
	if lateOffer {
		if err := sess.Accept(remote); err != nil {
			log.Info().Err(err).Msg("caller's answer in the ACK refused")
			return
		}
	}
	log = log.With().Str("flow", prog.Name()).Str("flow_version", flowVersion).Logger()
	log.Info().Str("codec", sess.Codec().Name).Msg("answered")

	c := &contact{
		id: id, svc: s, in: in, sess: sess, log: log, caller: caller, flowVersion: flowVersion,
		ctx: in.Context(), connected: make(chan *agentLeg, 1), held: make(chan struct{}, 1), emptied: make(chan struct{}, 1), overflowed: make(chan string, 1), referred: make(chan sip.ReferTo, 1), rings: make(map[uint64]context.CancelFunc),
	}
	s.mu.Lock()
	s.contacts[id] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.contacts, id)
		s.mu.Unlock()
		c.rung.Wait()
	}()

	// An engine per call: it is cheap and logs with the call's fields.
	arrived := time.Now()
	s.cfg.History.Arrived(id, caller, in.Number(), arrived)
	c.repeat = s.repeat(in.Context(), caller, arrived, log)
	defer func() { s.cfg.History.Ended(id, time.Now()) }()
	res, err := ivr.NewEngine(log).RunEnv(in.Context(), c, prog, ivr.Env{
		Caller: caller, Now: s.cfg.Now, Queues: queueState{s.router}, Incidents: s.cfg.Incidents,
	})
	if !c.queuedOnce {
		s.cfg.History.IVREnded(id, flowVersion, res.Path, res.Cause, time.Now())
	}
	switch {
	case err != nil && in.Context().Err() != nil:
		log.Info().Strs("path", res.Path).Msg("caller hung up")
	case err != nil:
		log.Error().Err(err).Strs("path", res.Path).Msg("flow failed")
	default:
		log.Info().Str("cause", res.Cause).Strs("path", res.Path).Msg("flow ended")
	}
}

// repeat reports whether caller is a repeat caller; withheld numbers
// never are, and a failed lookup counts as no.
func (s *Service) repeat(ctx context.Context, caller string, arrived time.Time, log zerolog.Logger) bool {
	if s.cfg.Repeats == nil || caller == "" || strings.EqualFold(caller, "anonymous") {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, repeatLookup)
	defer cancel()
	ok, err := s.cfg.Repeats.Repeat(ctx, caller, arrived)
	if err != nil {
		log.Warn().Err(err).Msg("repeat caller not looked up")
		return false
	}
	if ok {
		log.Info().Msg("repeat caller: care applies")
	}
	return ok
}

// admit counts a call in if there is room for it.
func (s *Service) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admitted >= s.cfg.MaxCalls {
		return false
	}
	s.admitted++
	return true
}

func (s *Service) leave() {
	s.mu.Lock()
	s.admitted--
	s.mu.Unlock()
}

// overload answers a call beyond MaxCalls: busy, or the overload prompt
// when configured and a media port is still free.
func (s *Service) overload(in *sip.Inbound, prog *ivr.Program, log zerolog.Logger) {
	log.Warn().Int("max_calls", s.cfg.MaxCalls).Str("overload", s.overloadMode()).Msg("too many calls")
	if s.cfg.OverloadPrompt == "" || len(in.Offer()) == 0 {
		_ = in.Reject(486, "Busy Here")
		return
	}
	sess, answer, err := s.media.Answer(in.Offer())
	if err != nil {
		_ = in.Reject(486, "Busy Here")
		return
	}
	defer sess.Close()
	if _, err := in.Answer(answer); err != nil {
		return
	}
	if p, ok := s.prompts.Prompt(prog.Languages()[0], s.cfg.OverloadPrompt); ok {
		_ = sess.Play(in.Context(), p.Frames(sess.Codec()))
	}
}

func (s *Service) overloadMode() string {
	if s.cfg.OverloadPrompt != "" {
		return "prompt"
	}
	return "busy"
}

// Close stops the callbacks: those in progress are hung up, and the
// pending requests stay stored for the next start. It waits for every
// goroutine of the service; calls still in progress must be hung up first
// (HangUpAll).
func (s *Service) Close() {
	s.stopCallbacks()
	s.close()
	s.background.Wait()
}

// HangUpAll ends every contact in progress (the end of a drain).
func (s *Service) HangUpAll(ctx context.Context) {
	s.mu.Lock()
	all := make([]*sip.Inbound, 0, len(s.contacts)+len(s.internals))
	for _, c := range s.contacts {
		all = append(all, c.in)
	}
	for _, ic := range s.internals {
		all = append(all, ic.in)
	}
	s.mu.Unlock()
	for _, in := range all {
		if err := in.Hangup(ctx); err != nil {
			s.log.Debug().Err(err).Str("sip_call_id", in.CallID()).Msg("hang up at shutdown")
		}
	}
}

// answerFailure maps a media.Answer error to the SIP answer (DESIGN.md §3).
func answerFailure(err error) (int, string) {
	switch {
	case errors.Is(err, media.ErrNoCodec):
		return 488, "Not Acceptable Here"
	case errors.Is(err, media.ErrBadSDP):
		return 488, "Not Acceptable Here"
	case errors.Is(err, media.ErrNoPorts):
		return 486, "Busy Here"
	}
	return 500, "Server Internal Error"
}

func (s *Service) lookup(id call.ID) *contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contacts[id]
}

// Ring implements routing.Line: it starts ringing o.Agent in a goroutine that
// belongs to the contact.
func (s *Service) Ring(o routing.Offer) {
	if o.Callback {
		if cb := s.callback(o.Contact); cb != nil {
			s.mu.Lock()
			s.ringing++
			s.mu.Unlock()
			s.background.Go(func() {
				defer func() {
					s.mu.Lock()
					s.ringing--
					s.mu.Unlock()
				}()
				s.ringCallback(cb, o)
			})
			return
		}
	}
	c := s.lookup(o.Contact)
	if c == nil {
		// Not on the router's call stack: Declined may ring the next agent at once.
		s.calls.Go(func() { s.router.Declined(o.ID) })
		return
	}
	c.ring(o)
}

// Overflow targets besides a queue name: OverflowCallback offers the
// caller a callback at max wait (the caller keeps waiting if it declines);
// OverflowMessage followed by a prompt name plays that prompt and hangs up.
const (
	OverflowCallback = "callback"
	OverflowMessage  = "message:"
)

// Overflow implements routing.OverflowHandler: a caller who waited the
// queue's max wait goes to the overflow queue, keeping its first queue
// time, or is offered a callback (OverflowCallback). Other targets (a
// message) are not supported yet: the caller keeps waiting, and the log
// says so.
func (s *Service) Overflow(o routing.Overflow) {
	log := s.log.With().Str("contact_id", string(o.Contact)).Str("queue", o.Queue).Str("overflow", o.Target).Logger()
	if o.Target == OverflowCallback || strings.HasPrefix(o.Target, OverflowMessage) {
		if c := s.lookup(o.Contact); c != nil {
			select {
			case c.overflowed <- o.Target:
			default:
			}
			log.Info().Dur("waited", o.Waited).Msg("max wait reached")
		}
		return
	}
	if _, ok := s.topics[o.Target]; !ok {
		log.Warn().Msg("max wait reached; this overflow target is not supported, the caller keeps waiting")
		return
	}
	// Not on the router's call stack, like Declined from Ring.
	s.calls.Go(func() {
		if err := s.router.Move(o.Contact, o.Target); err != nil {
			log.Info().Err(err).Msg("overflow move")
			return
		}
		log.Info().Dur("waited", o.Waited).Msg("max wait reached: moved to the overflow queue")
	})
}

// Emptied implements routing.EmptyHandler: the router removed a waiting
// caller because nobody is left who could answer the queue; the caller's
// flow goes on at the queue node's unavailable branch.
func (s *Service) Emptied(e routing.Emptied) {
	if c := s.lookup(e.Contact); c != nil {
		select {
		case c.emptied <- struct{}{}:
		default:
		}
	}
}

// Withdraw implements routing.Line: the ringing INVITE is cancelled.
func (s *Service) Withdraw(o routing.Offer) {
	if c := s.lookup(o.Contact); c != nil {
		c.withdraw(o.ID)
	}
	if cb := s.callback(o.Contact); cb != nil {
		cb.withdraw(o.ID)
	}
}
