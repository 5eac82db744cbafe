package routing

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// Errors callers branch on.
var (
	// ErrUnknownQueue is returned by Enqueue for a queue the router does not have.
	ErrUnknownQueue = errors.New("unknown queue")
	// ErrUnknownAgent is returned by Login and Logout for an agent the router does not have.
	ErrUnknownAgent = errors.New("unknown agent")
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
	// Withdraw stops ringing o (ring timeout, the caller left or the agent
	// logged out). After Withdraw the router ignores Answered and Declined
	// for o. It is not called after Declined, since the line reported that
	// itself.
	Withdraw(o Offer)
}

// Offer is one attempt to connect a contact to an agent.
type Offer struct {
	ID      uint64 // unique per Router, never reused
	Contact call.ID
	Queue   string
	Agent   string
	Attempt int // 1 for the contact's first offer, counting every offer since Enqueue
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
	// so it keeps its place ahead of everyone who came after it.
	Since time.Time
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
	logEvents bool // debug logging is on, so events are worth producing without an observer

	mu       sync.Mutex
	closed   bool
	queues   map[string]*queue
	agents   map[string]*agent
	byID     []*agent // sorted by ID, so ties in idle time go to the lower ID
	contacts map[call.ID]*contact
	// waiting holds every queued contact, oldest first across all queues.
	waiting   []*contact
	offers    map[uint64]*offer // live offers only
	lastOffer uint64
	available int    // agents in state Available
	pass      uint64 // matching pass counter, see match

	// pending effects are produced under mu and run by flush; dispatching
	// is set while one goroutine is running them, so effects never run
	// concurrently or out of order.
	pending     []effect
	spare       []effect
	dispatching bool
}

type queue struct {
	Queue
	need    skillSet
	count   int    // contacts waiting in this queue
	drained uint64 // pass in which no eligible agent was left
}

type agent struct {
	id, name  string
	skills    skillSet
	state     AgentState
	since     time.Time
	idleSince time.Time
	offer     *offer   // while Ringing
	contact   *contact // while OnCall
	// logoutPending: the phone unregistered during a call; the agent goes
	// to LoggedOut instead of WrapUp when the call ends.
	logoutPending bool
	// busyElsewhere: the phone reports a call kcc did not route; the agent
	// is Busy instead of Available until it clears (see SetBusy).
	busyElsewhere bool
	wrapGen       uint64 // identifies the current wrap-up timer
	wrapStop      func() bool
}

type contact struct {
	Contact
	queue      *queue
	enqueuedAt time.Time
	offer      *offer   // the one ringing offer, if any
	agent      *agent   // set once answered
	tried      []*agent // agents rung in the current round
	attempts   int
}

type offer struct {
	Offer
	contact *contact
	agent   *agent
	started time.Time
	stop    func() bool
}

type effectKind uint8

const (
	effectEvent effectKind = iota
	effectRing
	effectWithdraw
)

type effect struct {
	kind  effectKind
	offer Offer
	event Event
}

// New returns a Router for the given queues and agents, all agents logged
// out. It reports every problem in the configuration at once: empty or
// duplicate queue names and agent IDs, empty skill names, negative timers,
// and a nil line or clock.
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
		queues:   make(map[string]*queue, len(queues)),
		agents:   make(map[string]*agent, len(agents)),
		contacts: make(map[call.ID]*contact),
		offers:   make(map[uint64]*offer),
	}
	skills := skillIndex{}
	for i, q := range queues {
		if q.Name == "" {
			errs = append(errs, fmt.Errorf("queue %d: empty name", i+1))
			continue
		}
		if _, dup := r.queues[q.Name]; dup {
			errs = append(errs, fmt.Errorf("queue %q: duplicate name", q.Name))
			continue
		}
		for _, s := range q.Skills {
			if s == "" {
				errs = append(errs, fmt.Errorf("queue %q: empty skill name", q.Name))
			}
			skills.intern(s)
		}
		q.Skills = slices.Clone(q.Skills)
		r.queues[q.Name] = &queue{Queue: q}
	}
	for _, q := range r.queues {
		q.need = skills.set(q.Skills)
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
		if slices.Contains(a.Skills, "") {
			errs = append(errs, fmt.Errorf("agent %q: empty skill name", a.ID))
		}
		ag := &agent{id: a.ID, name: a.Name, skills: skills.set(a.Skills)}
		r.agents[a.ID] = ag
		r.byID = append(r.byID, ag)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	slices.SortFunc(r.byID, func(a, b *agent) int { return cmp.Compare(a.id, b.id) })
	for _, o := range opts {
		o(r)
	}
	r.logEvents = log.GetLevel() <= zerolog.DebugLevel && zerolog.GlobalLevel() <= zerolog.DebugLevel
	return r, nil
}

// Login marks the agent's phone as registered. A logged-out agent becomes
// Available, idle since now; for an agent in any other state Login is a
// registration refresh and changes nothing (except cancelling a logout
// requested during a call).
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
		r.setState(a, Available, now, "")
		r.match()
	case OnCall:
		a.logoutPending = false
	}
	return nil
}

// Logout marks the agent's phone as unregistered. A ringing offer to it is
// withdrawn and the contact moves on to another agent, keeping its place.
// An agent on a call stays OnCall and is logged out when the call ends,
// because the conversation may well outlive the registration.
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
	case Available, Busy:
		r.setState(a, LoggedOut, now, "")
	case Ringing:
		o := a.offer
		r.endOffer(o)
		r.withdraw(o)
		r.setState(a, LoggedOut, now, o.Contact)
		r.match()
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
		r.match()
	}
	return nil
}

// Enqueue places the contact at the tail of its queue and tries to match.
// It fails with ErrUnknownQueue for an unknown queue, and for an empty or
// already routed contact ID.
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
	if c.Topic == "" {
		c.Topic = q.Topic
	}
	now := r.clock.Now()
	at := now
	if !c.Since.IsZero() && c.Since.Before(now) {
		at = c.Since
	}
	ct := &contact{Contact: c, queue: q, enqueuedAt: at}
	r.contacts[c.ID] = ct
	// Keep the list ordered by first queue time; a newcomer goes last.
	i := len(r.waiting)
	for i > 0 && r.waiting[i-1].enqueuedAt.After(at) {
		i--
	}
	r.waiting = slices.Insert(r.waiting, i, ct)
	q.count++
	position := 1
	for _, w := range r.waiting[:i] {
		if w.queue == q {
			position++
		}
	}
	r.emit(Event{Kind: ContactQueued, At: now, Contact: c.ID, Queue: q.Name, Position: position})
	r.match()
	return nil
}

// Abandon removes a contact whose caller hung up before being connected. A
// ringing offer is withdrawn and its agent becomes available again, keeping
// its idle time. Abandon is a no-op for an unknown contact and for one that
// was already answered (use Ended for those).
func (r *Router) Abandon(id call.ID) {
	r.mu.Lock()
	if c, ok := r.contacts[id]; ok && !r.closed && c.agent == nil {
		r.abandon(c)
	}
	r.flush()
}

func (r *Router) abandon(c *contact) {
	now := r.clock.Now()
	ev := Event{Kind: ContactAbandoned, At: now, Contact: c.ID, Queue: c.queue.Name, Waited: now.Sub(c.enqueuedAt)}
	ev.Position = r.unqueue(c)
	delete(r.contacts, c.ID)
	o := c.offer
	if o == nil {
		r.emit(ev)
		return
	}
	ev.Agent, ev.Offer, ev.Attempt, ev.Rang = o.Agent, o.ID, o.Attempt, now.Sub(o.started)
	r.endOffer(o)
	r.withdraw(o)
	r.emit(ev)
	r.setState(o.agent, Available, now, c.ID)
	r.match()
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
	c, a := o.contact, o.agent
	r.endOffer(o)
	r.unqueue(c)
	c.agent = a
	c.tried = nil
	a.contact = c
	r.emit(Event{
		Kind: ContactAnswered, At: now, Contact: c.ID, Queue: c.queue.Name, Agent: a.id,
		Offer: o.ID, Attempt: o.Attempt, Waited: now.Sub(c.enqueuedAt), Rang: now.Sub(o.started),
	})
	r.setState(a, OnCall, now, c.ID)
	// Nothing became available, so there is nothing to match.
	return nil
}

// Declined reports that the offer failed at the agent's side (busy,
// unreachable, rejected). It ends like a ring timeout, only sooner: the
// contact keeps its place and is offered to the next agent. Declined is a
// no-op for an offer that has already ended.
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

// offerFailed ends an offer the agent did not take. The agent keeps its old
// idle time: it did not work meanwhile, and a fresh idle time would send it
// to the back of the line for having missed a call. (RONA pause, which
// takes such agents out of rotation, comes later.)
func (r *Router) offerFailed(o *offer, kind EventKind) {
	now := r.clock.Now()
	r.endOffer(o)
	r.emit(Event{
		Kind: kind, At: now, Contact: o.Contact, Queue: o.Queue, Agent: o.Agent,
		Offer: o.ID, Attempt: o.Attempt, Rang: now.Sub(o.started),
	})
	r.setState(o.agent, Available, now, o.Contact)
	r.match()
}

// Ended reports that the conversation is over: the agent goes to WrapUp for
// Config.WrapUp and then becomes available (or LoggedOut, if its phone
// unregistered during the call). For a contact still waiting, Ended acts as
// Abandon, so a lifecycle that only ever calls Ended cannot leak queue
// entries. Unknown contacts are ignored.
func (r *Router) Ended(id call.ID) {
	r.mu.Lock()
	if c, ok := r.contacts[id]; ok && !r.closed {
		if c.agent == nil {
			r.abandon(c)
		} else {
			r.ended(c)
		}
	}
	r.flush()
}

func (r *Router) ended(c *contact) {
	delete(r.contacts, c.ID)
	a := c.agent
	if a.contact != c {
		return
	}
	a.contact = nil
	now := r.clock.Now()
	if a.logoutPending {
		a.logoutPending = false
		r.setState(a, LoggedOut, now, c.ID)
		return
	}
	r.setState(a, WrapUp, now, c.ID)
	a.wrapGen++
	gen, id := a.wrapGen, a.id
	a.wrapStop = r.clock.AfterFunc(r.cfg.WrapUp, func() { r.wrapUpDone(id, gen) })
}

// wrapUpDone is the wrap-up timer's callback; gen makes a stale timer
// (the agent logged out and in again meanwhile) harmless.
func (r *Router) wrapUpDone(agentID string, gen uint64) {
	r.mu.Lock()
	if a := r.agents[agentID]; a != nil && !r.closed && a.state == WrapUp && a.wrapGen == gen {
		a.wrapStop = nil
		now := r.clock.Now()
		a.idleSince = now
		r.setState(a, Available, now, "")
		r.match()
	}
	r.flush()
}

// Agents returns a snapshot of every agent, sorted by ID.
func (r *Router) Agents() []AgentStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]AgentStatus, 0, len(r.byID))
	for _, a := range r.byID {
		s := AgentStatus{ID: a.id, Name: a.name, State: a.state, Since: a.since, IdleSince: a.idleSince}
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
	out := make([]call.ID, 0, q.count)
	for _, c := range r.waiting {
		if c.queue == q {
			out = append(out, c.ID)
		}
	}
	return out
}

// Counts returns how many contacts wait in queue and how many available
// agents have the queue's skills; both are 0 for an unknown queue. The IVR
// branches on them ("nobody is available: say so before queueing").
func (r *Router) Counts(queue string) (waiting, available int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[queue]
	if !ok {
		return 0, 0
	}
	for _, a := range r.byID {
		if a.state == Available && a.skills.covers(q.need) {
			available++
		}
	}
	return q.count, available
}

// Close stops the router's timers, so no ring timeout or wrap-up callback
// runs afterwards. Offers still ringing are not withdrawn: at shutdown the
// lifecycle layer hangs up every leg itself. After Close, methods that
// return an error return ErrClosed and the others do nothing.
func (r *Router) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, o := range r.offers {
		o.stop()
	}
	for _, a := range r.byID {
		a.stopWrapUp()
	}
}

// agent looks up an agent for Login and Logout.
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
