package routing

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// Errors callers branch on.
var (
	// ErrUnknownQueue is returned by Enqueue and Move for a queue the router does not have.
	ErrUnknownQueue = errors.New("unknown queue")
	// ErrUnknownAgent is returned for an agent the router does not have.
	ErrUnknownAgent = errors.New("unknown agent")
	// ErrUnknownContact is returned by Estimate and Move for a contact that
	// is not waiting.
	ErrUnknownContact = errors.New("contact is not waiting")
	// ErrUnknownSkill is returned by Enqueue for a contact that needs a
	// skill no agent has: it could never be served.
	ErrUnknownSkill = errors.New("no agent has skill")
	// ErrQueueFull is returned by Enqueue when the queue has MaxLength
	// contacts waiting; the lifecycle layer should overflow.
	ErrQueueFull = errors.New("queue is full")
	// ErrQueueEmpty is returned by Enqueue when the queue's JoinEmpty
	// policy finds nobody who could answer the caller; the lifecycle layer
	// should tell the caller or send it elsewhere.
	ErrQueueEmpty = errors.New("queue has no agents")
	// ErrStaleOffer is returned by Answered when the offer already ended
	// (timed out, declined, withdrawn or abandoned). The lifecycle layer
	// should then hang up the agent's leg.
	ErrStaleOffer = errors.New("stale offer")
	// ErrClosed is returned by Router methods after Close.
	ErrClosed = errors.New("router closed")
)

// Line is how the router reaches agents' phones; the call-lifecycle layer
// implements it. Both methods must not block. They are called without the
// router's lock held, one at a time and in the order the router decided
// them, so an implementation may call back into the Router, from any
// goroutine. A call may run on a different goroutine than the Router method
// that caused it, and after that method has returned.
type Line interface {
	// Ring starts ringing o.Agent for o.Contact. The outcome comes back as
	// Answered or Declined with o.ID.
	Ring(o Offer)
	// Withdraw stops ringing o (ring timeout, the caller left, the agent
	// logged out or paused, or the contact moved). After Withdraw the
	// router ignores Answered and Declined for o. It is not called after
	// Declined, since the line reported that itself.
	Withdraw(o Offer)
}

// OverflowHandler is told when a contact has waited its queue's MaxWait. It
// is called like Line's methods (without the lock, in order, must not
// block). The router does nothing else: the lifecycle layer plays a message,
// offers a callback, or moves the contact (Move) or ends it (Abandon) as
// the queue's Overflow says.
type OverflowHandler interface {
	Overflow(o Overflow)
}

// EmptyHandler is told when a waiting contact left its queue because the
// queue's LeaveEmpty policy found nobody left to answer it. It is called like
// Line's methods (without the lock, in order, must not block). The contact
// is gone from the router; the lifecycle layer plays a message, goes on in
// the IVR or ends the call.
type EmptyHandler interface {
	Emptied(e Emptied)
}

// Emptied reports a contact that left its emptied queue.
type Emptied struct {
	Contact call.ID
	Queue   string
	Waited  time.Duration
}

// Overflow reports a contact that reached its queue's MaxWait.
type Overflow struct {
	Contact call.ID
	Queue   string
	Target  string // the queue's Overflow setting
	Waited  time.Duration
}

// Offer is one attempt to connect a contact to an agent.
type Offer struct {
	ID      uint64 // unique per Router, never reused
	Contact call.ID
	Queue   string
	Agent   string
	Attempt int // 1 for the contact's first offer, counting every offer since Enqueue
	// Callback is set when the contact waits as a callback: the caller is
	// not on the line, so the agent is reserved and the lifecycle layer
	// calls the caller back once the agent answers.
	Callback bool
}

// Contact is a caller to be routed.
type Contact struct {
	ID       call.ID
	Queue    string
	Language call.Language
	// Topic is shown to the agent; empty means the queue's Topic.
	Topic string
	// Since is when the caller first queued; zero means now. A caller put
	// back after its connection to an agent failed passes its first time,
	// so it keeps its place ahead of everyone who came after it, and its
	// escalation and max wait count from then.
	Since time.Time
	// Priority is added to the queue's priority; higher goes first.
	Priority int
	// Skills are required besides the queue's (e.g. chosen in the IVR),
	// in every escalation step.
	Skills []string
	// Care marks a repeat or vulnerable caller: Config.Care applies.
	Care bool
	// Callback marks a virtual contact: the caller hung up and waits to be
	// called back, keeping the place of the call it made (Since). Such a
	// contact is offered like any other, with Offer.Callback set; it never
	// reaches MaxWait (nobody is on the line to overflow), is never
	// refused by MaxLength or JoinEmpty (it was accepted before: it is
	// reloaded after a restart, or queued again after a failed call back)
	// and stays when its queue empties. It counts in the positions and
	// wait estimates of the others, since it keeps its place.
	Callback bool
}

// Option configures a Router in New.
type Option func(*Router)

// WithObserver makes the router report its events to o.
func WithObserver(o Observer) Option {
	return func(r *Router) { r.obs = o }
}

// WithOverflow makes the router report contacts at their queue's MaxWait to h.
func WithOverflow(h OverflowHandler) Option {
	return func(r *Router) { r.overflow = h }
}

// WithEmpty makes the router report contacts that left a queue by its
// LeaveEmpty policy to h.
func WithEmpty(h EmptyHandler) Option {
	return func(r *Router) { r.empty = h }
}

// WithRandom sets the random source of the Random strategy. Without it the
// router seeds one from its clock.
func WithRandom(src rand.Source) Option {
	return func(r *Router) { r.rng = rand.New(src) }
}

// Router matches waiting contacts to available agents. All methods are safe
// for concurrent use.
//
// Router starts no goroutines; only the callbacks of its Clock's AfterFunc
// run on their own, and Close stops them.
type Router struct {
	cfg       Config
	line      Line
	clock     Clock
	log       zerolog.Logger
	obs       Observer
	overflow  OverflowHandler
	empty     EmptyHandler
	rng       *rand.Rand
	logEvents bool // debug logging is on, so events are worth producing without an observer
	// ownTimers: the clock is SystemClock, so offers and contacts keep a
	// time.Timer each, made once and reset by every use of the struct,
	// rather than allocate a timer and two closures per AfterFunc.
	ownTimers bool

	mu     sync.Mutex
	closed bool
	skills skillIndex
	// agentBits: skill bits below it are held by some agent; queues'
	// skills that no agent has come after.
	agentBits int
	care      skillSet // Config.Care.Skill, nil when none
	queues    map[string]*queue
	agents    map[string]*agent
	byID      []*agent // sorted by ID, so ties go to the lower ID
	avail     []*agent // agents in state Available, in no order (see agent.availAt)
	contacts  map[call.ID]*contact
	offers    map[uint64]*offer // live offers only
	// emptied lists the queues with a LeaveEmpty policy whose agents all
	// left by that policy during the current operation; flush empties
	// them before it releases the lock.
	emptied []*queue
	// lastOffer and lastContact number offers and contacts.
	lastOffer, lastContact uint64

	// pending effects are produced under mu and run by flush; dispatching
	// is set while one goroutine is running them, so effects never run
	// concurrently or out of order.
	pending     []effect
	spare       []effect
	dispatching bool

	// Contacts and offers that ended are reused, so that a routing
	// decision allocates neither: at 10,000 agents the garbage of every
	// decision brings GC cycles into the decisions' tail latency. One that
	// ends is retired first and freed by flush, at the end of the
	// operation, because the operation may still read it after ending it.
	// Nothing else keeps them: timers name them by ID, effects copy them.
	retiredContacts, freeContacts []*contact
	retiredOffers, freeOffers     []*offer
}

// maxFree bounds each free list, so a burst of callers does not pin its
// peak in memory for good.
const maxFree = 1024

type queue struct {
	Queue
	levels      []level    // 0 is the queue's own requirement, then one per step
	scoreSkills []int      // skill bits MostSkilled sums over
	waiting     []*contact // queue order: priority, then first queue time
	rr          int        // byID index of the agent offered last (RoundRobin)
	// staffed counts logged-in, unpaused agents able to serve at level 0
	// and at the last level, for wait estimates.
	staffed [2]int
	// loggedIn counts agents able to serve at the last level that are not
	// logged out (paused ones included), for EmptyNoAgents.
	loggedIn int
	// marked: the queue is in Router.emptied.
	marked bool
	hist   history
	stats  counts
}

// level is who may take a contact at one escalation level.
type level struct {
	after  time.Duration
	groups []group
	cands  []*agent // every agent some group admits, in ID order
	// avail holds the available agents among cands, in no order, so a
	// pick looks only at agents that could take the contact now. Each
	// agent knows its places through agent.members.
	avail []slot
}

// slot is an available agent in a level, with its index in agent.members.
type slot struct {
	a *agent
	m int
}

// member is an agent's membership of a level's candidates, with its index
// in the level's avail list, or -1 while the agent is not available.
type member struct {
	lv *level
	at int
}

type counts struct {
	offered, answered, inTime, abandoned int
}

type agent struct {
	id, name string
	idx      int // in Router.byID
	levels   [MaxLevel]skillSet
	prof     []uint8 // proficiency by skill bit; 0 for skills it lacks
	wrapUp   time.Duration
	queues   []agentQueue // queues it may serve at some level
	members  []member     // levels it is a candidate of

	state     AgentState
	since     time.Time
	idleSince time.Time
	availAt   int      // index in Router.avail while Available
	offer     *offer   // while Ringing
	contact   *contact // while OnCall
	// logoutPending: the phone unregistered during a call; the agent goes
	// to LoggedOut instead of WrapUp when the call ends.
	logoutPending bool
	// busyElsewhere: the phone reports a call kcc did not route; the agent
	// is Busy instead of Available until it clears (see SetBusy).
	busyElsewhere bool
	// paused: the agent is Paused instead of Available, or will be when
	// its call or wrap-up ends.
	paused   bool
	reason   string
	misses   int
	talk     time.Duration // talk time on talkDay
	talkDay  int
	wrapGen  uint64 // identifies the current wrap-up timer
	wrapStop func() bool
}

type agentQueue struct {
	q    *queue
	base bool // the agent qualifies at level 0
}

type contact struct {
	Contact
	queue    *queue
	seq      uint64
	since    time.Time // orders the queue; Waited counts from it
	joined   time.Time // escalation and max wait count from it
	priority int
	extra    skillSet // the contact's own skills, care included
	groups   []group  // the current level's groups, extra included
	level    int
	wrapPlus time.Duration
	predict  time.Duration

	offer    *offer // the one ringing offer, if any
	agent    *agent // set once answered
	answered time.Time
	rang     time.Time // when the answered offer started ringing
	tried    []*agent  // agents rung in the current round
	attempts int

	timerGen  uint64
	timerStop func() bool
	// With own timers (Router.ownTimers) the contact's timer is made once
	// and reset by each arming; timerAt is when the current arming is due,
	// by the clock's monotonic reading, and timerArmed says there is one.
	timer       *time.Timer
	timerAt     time.Time
	timerArmed  bool
	maxWaitDue  bool // MaxWait passed
	maxWaitSent bool // and the OverflowHandler was told
}

type offer struct {
	Offer
	contact *contact
	agent   *agent
	started time.Time
	stop    func() bool
	// timer is the ring timer with own timers (Router.ownTimers), made
	// once and reset by each use of the struct; stop is used otherwise.
	timer *time.Timer
}

type effectKind uint8

const (
	effectEvent effectKind = iota
	effectRing
	effectWithdraw
	effectOverflow
	effectEmptied // overflow holds the Emptied's fields
)

type effect struct {
	kind     effectKind
	offer    Offer
	event    Event
	overflow Overflow
}

// New returns a Router for the given queues and agents, all agents logged
// out. It reports every problem in the configuration at once: empty or
// duplicate queue names and agent IDs, empty skill names, proficiencies out
// of range, bad escalation steps, negative timers, and a nil line or clock.
func New(cfg Config, queues []Queue, agents []Agent, line Line, clock Clock, log zerolog.Logger, opts ...Option) (*Router, error) {
	cfg, err := cfg.withDefaults()
	errs := []error{err}
	if line == nil {
		errs = append(errs, errors.New("line is nil"))
	}
	if clock == nil {
		errs = append(errs, errors.New("clock is nil"))
	}
	r := &Router{
		cfg:      cfg,
		line:     line,
		clock:    clock,
		log:      log,
		skills:   skillIndex{},
		queues:   make(map[string]*queue, len(queues)),
		agents:   make(map[string]*agent, len(agents)),
		contacts: make(map[call.ID]*contact),
		offers:   make(map[uint64]*offer),
	}
	var qs []*queue
	for i, q := range queues {
		if q.Name == "" {
			errs = append(errs, fmt.Errorf("queue %d: empty name", i+1))
			continue
		}
		if _, dup := r.queues[q.Name]; dup {
			errs = append(errs, fmt.Errorf("queue %q: duplicate name", q.Name))
			continue
		}
		errs = append(errs, q.validate()...)
		q.Skills = slices.Clone(q.Skills)
		q.Escalation = slices.Clone(q.Escalation)
		q.Announce.Periodic = slices.Clone(q.Announce.Periodic)
		if q.Weight == 0 {
			q.Weight = 1
		}
		iq := &queue{Queue: q, rr: -1}
		r.queues[q.Name] = iq
		qs = append(qs, iq)
	}
	for i, a := range agents {
		if a.ID == "" {
			errs = append(errs, fmt.Errorf("agent %d: empty ID", i+1))
			continue
		}
		if _, dup := r.agents[a.ID]; dup {
			errs = append(errs, fmt.Errorf("agent %q: duplicate ID", a.ID))
			continue
		}
		errs = append(errs, a.validate()...)
		ag := &agent{id: a.ID, name: a.Name, wrapUp: a.WrapUp, availAt: -1}
		levels := a.levels()
		for _, s := range sortedKeys(levels) {
			bit, l := r.skills.intern(s), levels[s]
			for len(ag.prof) <= bit {
				ag.prof = append(ag.prof, 0)
			}
			ag.prof[bit] = uint8(max(l, 0))
			for k := MinLevel; k <= min(l, MaxLevel); k++ {
				ag.levels[k-1] = ag.levels[k-1].with(bit)
			}
		}
		r.agents[a.ID] = ag
		r.byID = append(r.byID, ag)
	}
	r.agentBits = len(r.skills)
	if s := cfg.Care.Skill; s != "" {
		if _, ok := r.skills[s]; !ok {
			errs = append(errs, fmt.Errorf("care skill %q: no agent has it", s))
		}
		r.care = r.skills.set([]string{s})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	slices.SortFunc(r.byID, func(a, b *agent) int { return cmp.Compare(a.id, b.id) })
	for i, a := range r.byID {
		a.idx = i
	}
	for _, q := range qs {
		r.buildLevels(q)
	}
	for _, o := range opts {
		o(r)
	}
	if r.rng == nil {
		seed := uint64(clock.Now().UnixNano())
		r.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	_, r.ownTimers = clock.(systemClock)
	r.logEvents = log.GetLevel() <= zerolog.DebugLevel && zerolog.GlobalLevel() <= zerolog.DebugLevel
	return r, nil
}

// buildLevels works out each escalation level's groups and the agents they
// admit. Skills no agent has get a bit of their own, so a queue needing
// one admits nobody rather than everybody.
func (r *Router) buildLevels(q *queue) {
	bits := func(names []string) skillSet {
		var s skillSet
		for _, n := range names {
			s = s.with(r.skills.intern(n))
		}
		return s
	}
	base := bits(q.Skills)
	for _, n := range q.Skills {
		q.scoreSkills = append(q.scoreSkills, r.skills[n])
	}
	minLevel := max(q.MinProficiency, MinLevel)
	needs := []skillSet{base}
	add := func(after time.Duration) {
		lv := level{after: after}
		for _, n := range needs {
			lv.groups = append(lv.groups, group{need: n, min: minLevel})
		}
		q.levels = append(q.levels, lv)
	}
	add(0)
	for _, s := range q.Escalation {
		if s.MinProficiency > 0 {
			minLevel = s.MinProficiency
		}
		if len(s.Skills) > 0 {
			needs = append(needs, bits(s.Skills))
		}
		add(s.After)
	}
	for li := range q.levels {
		lv := &q.levels[li]
		for _, a := range r.byID {
			if admitsAny(lv.groups, a) {
				lv.cands = append(lv.cands, a)
				a.members = append(a.members, member{lv: lv, at: -1})
			}
		}
	}
	last := len(q.levels) - 1
	for _, a := range q.levels[last].cands {
		a.queues = append(a.queues, agentQueue{q: q, base: admitsAny(q.levels[0].groups, a)})
	}
}

func admitsAny(groups []group, a *agent) bool {
	for i := range groups {
		if groups[i].admits(&a.levels) {
			return true
		}
	}
	return false
}

// Login marks the agent's phone as registered. A logged-out agent becomes
// Available, idle since now (or Paused, if it was paused before); for an
// agent in any other state Login is a registration refresh and changes
// nothing (except cancelling a logout requested during a call).
func (r *Router) Login(agentID string) error {
	r.mu.Lock()
	err := r.login(agentID)
	r.flush()
	if err != nil {
		return fmt.Errorf("login %q: %w", agentID, err)
	}
	return nil
}

func (r *Router) login(agentID string) error {
	a, err := r.agent(agentID)
	if err != nil {
		return err
	}
	switch a.state {
	case LoggedOut:
		now := r.clock.Now()
		a.idleSince = now
		r.toIdle(a, now, "")
		r.serveAgent(a, now)
	case OnCall:
		a.logoutPending = false
	}
	return nil
}

// Logout marks the agent's phone as unregistered. A ringing offer to it is
// withdrawn and the contact moves on to another agent, keeping its place.
// An agent on a call stays OnCall and is logged out when the call ends,
// because the conversation may well outlive the registration. A pause
// outlives the logout.
func (r *Router) Logout(agentID string) error {
	r.mu.Lock()
	err := r.logout(agentID)
	r.flush()
	if err != nil {
		return fmt.Errorf("logout %q: %w", agentID, err)
	}
	return nil
}

func (r *Router) logout(agentID string) error {
	a, err := r.agent(agentID)
	if err != nil {
		return err
	}
	now := r.clock.Now()
	switch a.state {
	case Available, Busy, Paused:
		r.setState(a, LoggedOut, now, "")
	case Ringing:
		o := a.offer
		r.endOffer(o)
		r.withdraw(o)
		r.setState(a, LoggedOut, now, o.Contact)
		r.offerContact(o.contact, now)
	case OnCall:
		a.logoutPending = true
	case WrapUp:
		a.stopWrapUp()
		r.setState(a, LoggedOut, now, "")
	}
	return nil
}

// SetBusy records whether the agent's phone is in use by a call kcc did
// not route, as Asterisk's device state tells for agents there. A busy
// agent gets no offers: it is Busy where it would be Available. The flag
// outlives kcc's own calls, which also make the device busy, so the agent
// becomes Available only when both its kcc call (and wrap-up) and the
// phone's are over. Clearing it keeps the agent's idle time: a call kcc
// did not route is not work for the queues.
func (r *Router) SetBusy(agentID string, busy bool) error {
	r.mu.Lock()
	err := r.setBusy(agentID, busy)
	r.flush()
	if err != nil {
		return fmt.Errorf("set busy %q: %w", agentID, err)
	}
	return nil
}

func (r *Router) setBusy(agentID string, busy bool) error {
	a, err := r.agent(agentID)
	if err != nil {
		return err
	}
	a.busyElsewhere = busy
	now := r.clock.Now()
	switch {
	case busy && a.state == Available:
		r.setState(a, Busy, now, "")
	case !busy && a.state == Busy:
		r.setState(a, Available, now, "")
		r.serveAgent(a, now)
	}
	return nil
}

// Pause stops offers to the agent for reason (e.g. "lunch"). An available
// or busy agent is Paused at once; a ringing offer is withdrawn and its
// contact moves on; an agent on a call or in wrap-up is paused when they end
// instead of becoming available; a logged-out agent logs in paused. Pausing
// a paused agent changes the reason.
func (r *Router) Pause(agentID, reason string) error {
	r.mu.Lock()
	err := r.pause(agentID, reason)
	r.flush()
	if err != nil {
		return fmt.Errorf("pause %q: %w", agentID, err)
	}
	return nil
}

func (r *Router) pause(agentID, reason string) error {
	a, err := r.agent(agentID)
	if err != nil {
		return err
	}
	a.paused, a.reason = true, reason
	now := r.clock.Now()
	switch a.state {
	case Available, Busy:
		r.setState(a, Paused, now, "")
	case Ringing:
		o := a.offer
		r.endOffer(o)
		r.withdraw(o)
		r.setState(a, Paused, now, o.Contact)
		r.offerContact(o.contact, now)
	}
	return nil
}

// Unpause ends the agent's pause, including one waiting for a call to end
// and one for missed offers (which also resets the count). A paused agent
// becomes available, idle since now: the pause was not time spent waiting
// for calls. The state change event carries the reason of the pause it
// ends. Unpausing an agent that is not paused does nothing.
func (r *Router) Unpause(agentID string) error {
	r.mu.Lock()
	err := r.unpause(agentID)
	r.flush()
	if err != nil {
		return fmt.Errorf("unpause %q: %w", agentID, err)
	}
	return nil
}

func (r *Router) unpause(agentID string) error {
	a, err := r.agent(agentID)
	if err != nil {
		return err
	}
	if !a.paused {
		return nil
	}
	reason := a.reason
	a.paused, a.reason, a.misses = false, "", 0
	if a.state == Paused {
		now := r.clock.Now()
		a.idleSince = now
		s := Available
		if a.busyElsewhere {
			s = Busy
		}
		r.setStateReason(a, s, now, "", reason)
		r.serveAgent(a, now)
	}
	return nil
}

// Enqueue places the contact in its queue, behind contacts of its priority
// or higher that came before it, and offers it to an agent if one is free.
// It fails with ErrUnknownQueue for an unknown queue, ErrQueueEmpty when
// the queue's JoinEmpty policy finds it empty, ErrQueueFull for a full one
// (neither for a callback contact), ErrUnknownSkill for a skill no agent
// has, and for an empty or already routed contact ID.
func (r *Router) Enqueue(c Contact) error {
	r.mu.Lock()
	err := r.enqueue(c)
	r.flush()
	if err != nil {
		return fmt.Errorf("enqueue %q: %w", c.ID, err)
	}
	return nil
}

func (r *Router) enqueue(c Contact) error {
	if r.closed {
		return ErrClosed
	}
	if c.ID == "" {
		return errors.New("empty contact ID")
	}
	q, ok := r.queues[c.Queue]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownQueue, c.Queue)
	}
	if _, dup := r.contacts[c.ID]; dup {
		return errors.New("contact is already routed")
	}
	if !c.Callback && q.empty(q.JoinEmpty) {
		return fmt.Errorf("%w: %q is empty by its join policy %v", ErrQueueEmpty, q.Name, q.JoinEmpty)
	}
	if !c.Callback && q.MaxLength > 0 && len(q.waiting) >= q.MaxLength {
		return fmt.Errorf("%w: %q has %d waiting", ErrQueueFull, q.Name, len(q.waiting))
	}
	var extra skillSet
	for _, s := range c.Skills {
		bit, ok := r.skills[s]
		if !ok || bit >= r.agentBits {
			return fmt.Errorf("%w %q", ErrUnknownSkill, s)
		}
		extra = extra.with(bit)
	}
	c.Skills = slices.Clone(c.Skills)
	if c.Topic == "" {
		c.Topic = q.Topic
	}
	now := r.clock.Now()
	at := now
	if !c.Since.IsZero() && c.Since.Before(now) {
		at = c.Since
	}
	r.lastContact++
	ct := r.newContact()
	ct.Contact, ct.seq, ct.since, ct.extra = c, r.lastContact, at, extra
	if c.Care {
		ct.extra = ct.extra.union(r.care)
		ct.wrapPlus = r.cfg.Care.WrapUp
	}
	if len(ct.extra) == 0 {
		ct.extra = nil
	}
	r.contacts[c.ID] = ct
	r.join(ct, q, at, now)
	q.stats.offered++
	r.placed(ct, now, Event{Kind: ContactQueued})
	return nil
}

// join puts c into q, counting escalation and max wait from joined.
func (r *Router) join(c *contact, q *queue, joined, now time.Time) {
	c.queue, c.joined = q, joined
	c.priority = q.Priority + c.Contact.Priority
	if c.Care {
		c.priority += r.cfg.Care.Priority
	}
	c.maxWaitDue, c.maxWaitSent = false, false
	c.tried = c.tried[:0]
	c.level = 0
	for c.level+1 < len(q.levels) && !joined.Add(q.levels[c.level+1].after).After(now) {
		c.level++
	}
	c.setGroups()
	i := len(q.waiting)
	for i > 0 && c.before(q.waiting[i-1]) {
		i--
	}
	q.waiting = slices.Insert(q.waiting, i, c)
}

// placed finishes Enqueue and Move: it picks an agent, estimates the wait
// for the event ev, emits it, offers, and arms the contact's timer.
func (r *Router) placed(c *contact, now time.Time, ev Event) {
	a := r.pickAgent(c, now)
	c.predict = 0
	if a == nil && (r.obs != nil || r.logEvents) {
		c.predict = r.estimate(c).predicted()
	}
	ev.At, ev.Contact, ev.Queue, ev.Position = now, c.ID, c.queue.Name, c.position()
	ev.Priority, ev.Level, ev.Predicted, ev.Callback = c.priority, c.level, c.predict, c.Callback
	r.emit(ev)
	if a != nil {
		r.startOffer(c, a, now)
	}
	r.checkMaxWait(c, now)
	r.armContact(c, now)
}

// Move puts a waiting contact into another queue (overflow, or a transfer
// back to a queue), keeping its first queue time, so it goes ahead of the
// new queue's later callers; its escalation and max wait start afresh. A
// ringing offer is withdrawn. The contact's own priority, skills, care and
// callback flags go with it. Move ignores the new queue's MaxLength and
// JoinEmpty: an overflowing caller must land somewhere. But a caller moved
// into a queue that is empty by its LeaveEmpty policy leaves it at once
// (ContactMoved, then ContactExitedEmpty and the EmptyHandler).
func (r *Router) Move(id call.ID, queue string) error {
	r.mu.Lock()
	err := r.move(id, queue)
	r.flush()
	if err != nil {
		return fmt.Errorf("move %q to %q: %w", id, queue, err)
	}
	return nil
}

func (r *Router) move(id call.ID, queue string) error {
	if r.closed {
		return ErrClosed
	}
	c, ok := r.contacts[id]
	if !ok || c.agent != nil {
		return ErrUnknownContact
	}
	q, ok := r.queues[queue]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownQueue, queue)
	}
	now := r.clock.Now()
	from := c.queue
	ev := Event{Kind: ContactMoved, Other: from.Name}
	var freed *agent
	if o := c.offer; o != nil {
		ev.Agent, ev.Offer, ev.Attempt, ev.Rang = o.Agent, o.ID, o.Attempt, now.Sub(o.started)
		r.endOffer(o)
		r.withdraw(o)
		freed = o.agent
	}
	r.unqueue(c)
	c.stopTimer()
	r.join(c, q, now, now)
	q.stats.offered++
	r.placed(c, now, ev)
	if freed != nil {
		r.toIdle(freed, now, c.ID)
		r.serveAgent(freed, now)
	}
	if !c.Callback && q.empty(q.LeaveEmpty) {
		// Nobody is left to answer it there: it leaves at once, as the
		// callers already waiting there did when the queue emptied.
		r.markEmpty(q)
	}
	return nil
}

// Abandon removes a contact whose caller hung up before being connected. A
// ringing offer is withdrawn and its agent becomes available again, keeping
// its idle time. Abandon is a no-op for an unknown contact and for one that
// was already answered (use Ended for those).
func (r *Router) Abandon(id call.ID) {
	r.mu.Lock()
	if c, ok := r.contacts[id]; ok && !r.closed && c.agent == nil {
		r.abandon(c, ContactAbandoned, "")
	}
	r.flush()
}

// Exit takes a waiting contact out of its queue because the caller pressed
// the queue's exit key: like Abandon (it counts as not answered, and a
// ringing offer is withdrawn), but reported as ContactExited with the key,
// since the caller goes on in the IVR. It fails with ErrUnknownContact for
// a contact that is not waiting.
func (r *Router) Exit(id call.ID, key string) error {
	r.mu.Lock()
	c, ok := r.contacts[id]
	// Decided before flush, which may reuse c for another contact.
	waiting := ok && c.agent == nil
	if waiting && !r.closed {
		r.abandon(c, ContactExited, key)
	}
	r.flush()
	if !waiting {
		return fmt.Errorf("exit %q: %w", id, ErrUnknownContact)
	}
	return nil
}

// TimedOut takes a waiting contact out of its queue because it reached the
// queue's MaxWait and the lifecycle layer ends the wait (a message, then a
// hang-up: Asterisk's EXITWITHTIMEOUT). It emits ContactTimedOut. Like
// Exit, it fails with ErrUnknownContact when the contact is not waiting
// (an agent answered just then).
func (r *Router) TimedOut(id call.ID) error {
	r.mu.Lock()
	c, ok := r.contacts[id]
	waiting := ok && c.agent == nil // before flush, which may reuse c
	if waiting && !r.closed {
		r.abandon(c, ContactTimedOut, "")
	}
	r.flush()
	if !waiting {
		return fmt.Errorf("timed out %q: %w", id, ErrUnknownContact)
	}
	return nil
}

// Callback turns a waiting contact into a callback in place: the caller
// hangs up and is called back when the contact reaches an agent. It keeps
// its position, first queue time, escalation level and priority, and no
// longer reaches MaxWait. A ringing offer for it is withdrawn and the
// contact is offered again at once as a callback (Offer.Callback), to the
// same agent when the strategy still picks it. Calling it again for a
// callback changes nothing. It fails with ErrUnknownContact for a contact
// that is not waiting.
func (r *Router) Callback(id call.ID) error {
	r.mu.Lock()
	err := r.callback(id)
	r.flush()
	if err != nil {
		return fmt.Errorf("callback %q: %w", id, err)
	}
	return nil
}

func (r *Router) callback(id call.ID) error {
	if r.closed {
		return ErrClosed
	}
	c, ok := r.contacts[id]
	if !ok || c.agent != nil {
		return ErrUnknownContact
	}
	if c.Callback {
		return nil
	}
	c.Callback = true
	now := r.clock.Now()
	ev := Event{Kind: ContactCallback, At: now, Contact: c.ID, Queue: c.queue.Name, Position: c.position(),
		Waited: now.Sub(c.since), Priority: c.priority, Level: c.level, Predicted: c.predict, Callback: true}
	var freed *agent
	if o := c.offer; o != nil {
		ev.Agent, ev.Offer, ev.Attempt, ev.Rang = o.Agent, o.ID, o.Attempt, now.Sub(o.started)
		r.endOffer(o)
		r.withdraw(o)
		freed = o.agent
		// The agent missed nothing: it may be rung again, now for the
		// callback, rather than count as tried in this round.
		if i := slices.Index(c.tried, freed); i >= 0 {
			c.tried = slices.Delete(c.tried, i, i+1)
		}
	}
	r.emit(ev)
	if freed != nil {
		r.toIdle(freed, now, c.ID)
		r.offerContact(c, now)
		r.serveAgent(freed, now)
	}
	r.armContact(c, now) // without the max wait
	return nil
}

func (r *Router) abandon(c *contact, kind EventKind, reason string) {
	now := r.clock.Now()
	q := c.queue
	waited := now.Sub(c.since)
	ev := Event{Kind: kind, At: now, Contact: c.ID, Queue: q.Name, Waited: waited, Reason: reason,
		Priority: c.priority, Level: c.level, Predicted: c.predict, Callback: c.Callback}
	// A cancelled callback says nothing of callers' patience on the line,
	// and neither does a caller kcc sent away at max wait: their waits
	// count like answered ones (censored observations).
	timedOut := kind == ContactTimedOut
	q.hist.outcome(now.Sub(c.joined), !c.Callback && !timedOut, r.cfg.EWT.Window)
	if !timedOut {
		q.stats.abandoned++
	}
	ev.Position = r.unqueue(c)
	delete(r.contacts, c.ID)
	c.stopTimer()
	r.retiredContacts = append(r.retiredContacts, c)
	o := c.offer
	if o == nil {
		r.emit(ev)
		return
	}
	ev.Agent, ev.Offer, ev.Attempt, ev.Rang = o.Agent, o.ID, o.Attempt, now.Sub(o.started)
	r.endOffer(o)
	r.withdraw(o)
	r.emit(ev)
	r.toIdle(o.agent, now, c.ID)
	r.serveAgent(o.agent, now)
}

// Answered reports that the agent picked up: the agent goes OnCall and the
// contact leaves its queue. It returns ErrStaleOffer if the offer has ended
// meanwhile; the lifecycle layer must then drop the agent's leg.
func (r *Router) Answered(offerID uint64) error {
	r.mu.Lock()
	err := r.answered(offerID)
	r.flush()
	if err != nil {
		return fmt.Errorf("answered offer %d: %w", offerID, err)
	}
	return nil
}

func (r *Router) answered(offerID uint64) error {
	if r.closed {
		return ErrClosed
	}
	o, ok := r.offers[offerID]
	if !ok {
		return ErrStaleOffer
	}
	now := r.clock.Now()
	c, a, q := o.contact, o.agent, o.contact.queue
	r.endOffer(o)
	r.unqueue(c)
	c.stopTimer()
	c.agent, c.answered, c.rang = a, now, o.started
	c.tried = nil
	a.contact = c
	a.misses = 0
	waited := now.Sub(c.since)
	q.hist.outcome(now.Sub(c.joined), false, r.cfg.EWT.Window)
	q.stats.answered++
	if sl := q.ServiceLevel.Within; sl > 0 && waited <= sl {
		q.stats.inTime++
	}
	r.emit(Event{
		Kind: ContactAnswered, At: now, Contact: c.ID, Queue: q.Name, Agent: a.id,
		Offer: o.ID, Attempt: o.Attempt, Waited: waited, Rang: now.Sub(o.started),
		Priority: c.priority, Level: c.level, Predicted: c.predict, Callback: c.Callback,
	})
	r.setState(a, OnCall, now, c.ID)
	// Nothing became available, so there is nothing to match.
	return nil
}

// Declined reports that the offer failed at the agent's side (busy,
// unreachable, rejected). It ends like a ring timeout, only sooner: the
// contact keeps its place and is offered to the next agent, and it counts
// as a miss for Config.MaxMisses. Declined is a no-op for an offer that has
// already ended.
func (r *Router) Declined(offerID uint64) {
	r.mu.Lock()
	if o, ok := r.offers[offerID]; ok && !r.closed {
		r.offerFailed(o, OfferDeclined)
	}
	r.flush()
}

// ringTimedOut is the ring timer's callback; the offer ID makes a late or
// stopped timer harmless.
func (r *Router) ringTimedOut(offerID uint64) {
	r.mu.Lock()
	if o, ok := r.offers[offerID]; ok && !r.closed {
		r.withdraw(o)
		r.offerFailed(o, OfferTimedOut)
	}
	r.flush()
}

// offerFailed ends an offer the agent did not take. The contact keeps its
// place and is offered again first, preferring agents it has not rung in
// this round. The agent keeps its old idle time (it did not work
// meanwhile), unless Config.MaxMisses pauses it.
func (r *Router) offerFailed(o *offer, kind EventKind) {
	now := r.clock.Now()
	c, a := o.contact, o.agent
	r.endOffer(o)
	r.emit(Event{
		Kind: kind, At: now, Contact: o.Contact, Queue: o.Queue, Agent: o.Agent,
		Offer: o.ID, Attempt: o.Attempt, Rang: now.Sub(o.started), Callback: o.Callback,
	})
	a.misses++
	if r.cfg.MaxMisses > 0 && a.misses >= r.cfg.MaxMisses && !a.paused {
		a.paused, a.reason = true, r.cfg.MissReason
	}
	r.toIdle(a, now, o.Contact)
	r.checkMaxWait(c, now)
	r.offerContact(c, now)
	r.serveAgent(a, now)
}

// Ended reports that the conversation is over: the agent goes to WrapUp
// and then becomes available (or Paused if a pause waits, or LoggedOut if
// its phone unregistered during the call). Wrap-up is the agent's, else the
// queue's, else Config.WrapUp, plus Config.Care.WrapUp after a care call.
// For a contact still waiting, Ended acts as Abandon, so a lifecycle that
// only ever calls Ended cannot leak queue entries. Unknown contacts are
// ignored.
func (r *Router) Ended(id call.ID) {
	r.mu.Lock()
	if c, ok := r.contacts[id]; ok && !r.closed {
		if c.agent == nil {
			r.abandon(c, ContactAbandoned, "")
		} else {
			r.ended(c)
		}
	}
	r.flush()
}

func (r *Router) ended(c *contact) {
	delete(r.contacts, c.ID)
	r.retiredContacts = append(r.retiredContacts, c)
	a := c.agent
	if a.contact != c {
		return
	}
	a.contact = nil
	now := r.clock.Now()
	if d := dayOf(now); a.talkDay != d {
		a.talkDay, a.talk = d, 0
	}
	a.talk += now.Sub(c.answered)
	wrap := a.wrapUp
	if wrap == 0 {
		wrap = c.queue.WrapUp
	}
	if wrap == 0 {
		wrap = r.cfg.WrapUp
	}
	wrap = max(wrap, 0) + c.wrapPlus
	c.queue.hist.handled(now.Sub(c.rang)+wrap, r.cfg.EWT.Window)
	if a.logoutPending {
		a.logoutPending = false
		r.setState(a, LoggedOut, now, c.ID)
		return
	}
	if wrap <= 0 {
		a.idleSince = now
		r.toIdle(a, now, c.ID)
		r.serveAgent(a, now)
		return
	}
	r.setState(a, WrapUp, now, c.ID)
	a.wrapGen++
	gen, id := a.wrapGen, a.id
	a.wrapStop = r.clock.AfterFunc(wrap, func() { r.wrapUpDone(id, gen) })
}

// wrapUpDone is the wrap-up timer's callback; gen makes a stale timer
// (the agent logged out and in again meanwhile) harmless.
func (r *Router) wrapUpDone(agentID string, gen uint64) {
	r.mu.Lock()
	if a := r.agents[agentID]; a != nil && !r.closed && a.state == WrapUp && a.wrapGen == gen {
		a.wrapStop = nil
		now := r.clock.Now()
		a.idleSince = now
		r.toIdle(a, now, "")
		r.serveAgent(a, now)
	}
	r.flush()
}

// contactTimer is a waiting contact's timer callback: it applies the
// escalation steps that are due and notices MaxWait; gen makes a stale timer
// harmless.
func (r *Router) contactTimer(id call.ID, gen uint64) {
	r.mu.Lock()
	if c, ok := r.contacts[id]; ok && !r.closed && c.agent == nil && c.timerGen == gen {
		c.timerStop = nil
		r.contactDue(c)
	}
	r.flush()
}

// contactFired is a contact's own timer's callback (Router.ownTimers). The
// struct may have been re-armed or reused for another contact since this
// firing was set, so it acts only for a live contact whose current arming
// is due; the firing of that arming comes later and finds it handled.
func (r *Router) contactFired(c *contact) {
	r.mu.Lock()
	if c.timerArmed && !r.closed && r.contacts[c.ID] == c && c.agent == nil && !r.clock.Now().Before(c.timerAt) {
		c.timerArmed = false
		r.contactDue(c)
	}
	r.flush()
}

// contactDue applies the escalation steps of c that are due, notices its
// MaxWait and arms its timer again.
func (r *Router) contactDue(c *contact) {
	now := r.clock.Now()
	q, widened := c.queue, false
	for c.level+1 < len(q.levels) && !c.joined.Add(q.levels[c.level+1].after).After(now) {
		c.level++
		widened = true
		r.emit(Event{Kind: ContactEscalated, At: now, Contact: c.ID, Queue: q.Name, Level: c.level,
			Waited: now.Sub(c.since), Priority: c.priority, Callback: c.Callback})
	}
	if widened {
		c.setGroups()
	}
	r.checkMaxWait(c, now)
	if widened {
		r.offerContact(c, now)
	}
	r.armContact(c, now)
}

// Agents returns a snapshot of every agent, sorted by ID.
func (r *Router) Agents() []AgentStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	out := make([]AgentStatus, 0, len(r.byID))
	for _, a := range r.byID {
		s := AgentStatus{ID: a.id, Name: a.name, State: a.state, Since: a.since, IdleSince: a.idleSince,
			Paused: a.paused, Reason: a.reason, Misses: a.misses, TalkToday: a.talkToday(now)}
		switch {
		case a.offer != nil:
			s.Contact = a.offer.Contact
		case a.contact != nil:
			s.Contact = a.contact.ID
		}
		out = append(out, s)
	}
	return out
}

// Waiting returns the IDs of the contacts waiting in the queue, in queue
// order, including any whose offer is ringing. It returns nil for an unknown
// queue.
func (r *Router) Waiting(queue string) []call.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[queue]
	if !ok {
		return nil
	}
	out := make([]call.ID, 0, len(q.waiting))
	for _, c := range q.waiting {
		out = append(out, c.ID)
	}
	return out
}

// Counts returns how many contacts wait in queue and how many available
// agents have the queue's skills (before any escalation); both are 0 for an
// unknown queue. Agents in wrap-up, busy or paused are not available. The
// IVR branches on them ("nobody is available: say so before queueing").
func (r *Router) Counts(queue string) (waiting, available int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[queue]
	if !ok {
		return 0, 0
	}
	return len(q.waiting), q.available()
}

func (q *queue) available() int { return len(q.levels[0].avail) }

// QueueStats is a snapshot of one queue for wallboards and the IVR.
type QueueStats struct {
	Name    string
	Waiting int // contacts waiting, ringing ones included
	// Available and Staffed count agents able to take the queue's
	// contacts before escalation: available now, and logged in and not
	// paused (the servers of the wait estimate).
	Available, Staffed int
	OldestWait         time.Duration
	// Offered counts contacts that joined the queue since New; Answered
	// and Abandoned those that left it so, InTime the answered ones
	// within the ServiceLevel time.
	Offered, Answered, Abandoned, InTime int
	// ServiceLevel is InTime / (Answered + Abandoned), 0 before any.
	ServiceLevel float64
	// HandleTime and Patience are the wait estimator's current means;
	// Patience 0 means no abandonment is assumed.
	HandleTime, Patience time.Duration
}

// QueueStats returns a snapshot of the queue; false for an unknown queue.
func (r *Router) QueueStats(queue string) (QueueStats, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[queue]
	if !ok {
		return QueueStats{}, false
	}
	s := QueueStats{Name: q.Name, Waiting: len(q.waiting), Available: q.available(), Staffed: q.staffed[0],
		Offered: q.stats.offered, Answered: q.stats.answered, Abandoned: q.stats.abandoned, InTime: q.stats.inTime}
	if n := s.Answered + s.Abandoned; n > 0 {
		s.ServiceLevel = float64(s.InTime) / float64(n)
	}
	now := r.clock.Now()
	for _, c := range q.waiting {
		s.OldestWait = max(s.OldestWait, now.Sub(c.since))
	}
	aht, theta, _ := q.hist.rates(&r.cfg.EWT)
	s.HandleTime = time.Duration(aht * float64(time.Second))
	if theta > 0 {
		s.Patience = time.Duration(float64(time.Second) / theta)
	}
	return s, true
}

// Queue returns the queue's configuration as given to New; false for an
// unknown queue.
func (r *Router) Queue(name string) (Queue, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[name]
	if !ok {
		return Queue{}, false
	}
	out := q.Queue
	out.Skills = slices.Clone(out.Skills)
	out.Escalation = slices.Clone(out.Escalation)
	out.Announce.Periodic = slices.Clone(out.Announce.Periodic)
	return out, true
}

// Close stops the router's timers, so no ring timeout, wrap-up, escalation
// or max-wait callback runs afterwards. Offers still ringing are not
// withdrawn: at shutdown the lifecycle layer hangs up every leg itself.
// After Close, methods that return an error return ErrClosed and the others
// do nothing.
func (r *Router) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, o := range r.offers {
		o.stopTimer()
	}
	for _, a := range r.byID {
		a.stopWrapUp()
	}
	for _, c := range r.contacts {
		c.stopTimer()
	}
}

// agent looks up an agent by ID.
func (r *Router) agent(id string) (*agent, error) {
	if r.closed {
		return nil, ErrClosed
	}
	a, ok := r.agents[id]
	if !ok {
		return nil, ErrUnknownAgent
	}
	return a, nil
}

func (a *agent) stopWrapUp() {
	if a.wrapStop != nil {
		a.wrapStop()
		a.wrapStop = nil
	}
}

func (a *agent) talkToday(now time.Time) time.Duration { return a.talkOn(dayOf(now)) }

// talkOn returns the agent's talk time on day (see dayOf).
func (a *agent) talkOn(day int) time.Duration {
	if a.talkDay != day {
		return 0
	}
	return a.talk
}

// dayOf numbers the calendar day of t in t's location.
func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}
