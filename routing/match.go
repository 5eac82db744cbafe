package routing

import (
	"slices"
	"time"

	"kcc/call"
)

// Matching keeps one invariant: no waiting contact without a ringing offer
// has an available agent it may go to. Every change then needs one decision
// at most per party it frees. A contact that joins, escalates or loses its
// offer picks an agent by its queue's Strategy (pickAgent); an agent that
// becomes available takes the most urgent contact over all the queues it
// serves (serveAgent). Picking only ever takes parties out of play, so the
// invariant holds again afterwards without a full pass.

// offerContact offers c to an agent if it is waiting without an offer and
// one may take it.
func (r *Router) offerContact(c *contact, now time.Time) {
	if c.offer != nil || c.agent != nil || r.contacts[c.ID] != c {
		return
	}
	if a := r.pickAgent(c, now); a != nil {
		r.startOffer(c, a, now)
	}
}

// pickAgent returns the available agent c should ring, by its queue's
// strategy, preferring agents c has not rung in this round. When every
// eligible agent has been tried, a new round starts. It looks only at the
// available agents of c's level.
func (r *Router) pickAgent(c *contact, now time.Time) *agent {
	pool := c.queue.levels[c.level].avail
	if len(pool) == 0 {
		return nil
	}
	p := picker{r: r, c: c, today: dayOf(now), strategy: c.queue.Strategy}
	if len(c.tried) == 0 && p.strategy != Random {
		// Nobody rung in this round (every new contact): all candidates
		// are fresh, so the best and the best fresh agent are the same
		// and one comparison per agent will do. Random is left to the
		// general loop, whose two draws per agent fix its picks for a
		// given seed.
		for _, s := range pool {
			a := s.a
			if c.extra != nil && !c.admits(a) {
				continue
			}
			if k := p.key(a); p.best == nil || better(k, a, p.bestKey, p.best) {
				p.best, p.bestKey = a, k
			}
		}
		return p.best
	}
	for _, s := range pool {
		a := s.a
		if c.extra != nil && !c.admits(a) {
			continue
		}
		p.consider(a, len(c.tried) == 0 || !slices.Contains(c.tried, a))
	}
	if p.fresh != nil {
		return p.fresh
	}
	if p.best != nil {
		c.tried = c.tried[:0]
	}
	return p.best
}

// picker keeps the best agent so far by one strategy, over all agents and
// over those not yet tried. Each agent's strategy key is worked out once.
type picker struct {
	r                 *Router
	c                 *contact
	today             int // dayOf(now), for LeastTalkTime
	strategy          Strategy
	best, fresh       *agent
	bestKey, freshKey int64
	nBest             int // agents seen, for Random's reservoir sampling
	nFresh            int
}

func (p *picker) consider(a *agent, fresh bool) {
	if p.strategy == Random {
		p.nBest++
		if p.r.rng.IntN(p.nBest) == 0 {
			p.best = a
		}
		if fresh {
			p.nFresh++
			if p.r.rng.IntN(p.nFresh) == 0 {
				p.fresh = a
			}
		}
		return
	}
	k := p.key(a)
	if p.best == nil || better(k, a, p.bestKey, p.best) {
		p.best, p.bestKey = a, k
	}
	if fresh && (p.fresh == nil || better(k, a, p.freshKey, p.fresh)) {
		p.fresh, p.freshKey = a, k
	}
}

// key is a's rank by the strategy, lowest first; ties go to the longest
// idle, then to the lower ID.
func (p *picker) key(a *agent) int64 {
	switch p.strategy {
	case MostSkilled:
		return -int64(p.c.score(a))
	case LeastTalkTime:
		return int64(a.talkOn(p.today))
	case RoundRobin:
		n, last := len(p.r.byID), p.c.queue.rr
		return int64((a.idx - last - 1 + n) % n)
	}
	return 0
}

// better reports whether a with key ka goes before b with key kb.
func better(ka int64, a *agent, kb int64, b *agent) bool {
	if ka != kb {
		return ka < kb
	}
	if !a.idleSince.Equal(b.idleSince) {
		return a.idleSince.Before(b.idleSince)
	}
	return a.idx < b.idx
}

// serveAgent lets an available agent take the most urgent contact it may
// serve: the first one without an offer in each of its queues that admits
// it, and of those the one with the highest priority, then the highest
// wait × queue weight.
func (r *Router) serveAgent(a *agent, now time.Time) {
	if a.state != Available {
		return
	}
	var best *contact
	for _, aq := range a.queues {
		for _, c := range aq.q.waiting {
			if c.offer != nil || !c.admits(a) {
				continue
			}
			if best == nil || c.moreUrgent(best, now) {
				best = c
			}
			break
		}
	}
	if best != nil {
		r.startOffer(best, a, now)
	}
}

// startOffer rings a for c and arms the ring timer.
func (r *Router) startOffer(c *contact, a *agent, now time.Time) {
	r.lastOffer++
	c.attempts++
	o := r.newOffer()
	*o = offer{
		Offer:   Offer{ID: r.lastOffer, Contact: c.ID, Queue: c.queue.Name, Agent: a.id, Attempt: c.attempts, Callback: c.Callback},
		contact: c,
		agent:   a,
		started: now,
		timer:   o.timer,
	}
	r.offers[o.ID] = o
	c.offer = o
	a.offer = o
	c.tried = append(c.tried, a)
	c.queue.rr = a.idx
	// Ring first: the phone's latency matters more than the observers'.
	r.pending = append(r.pending, effect{kind: effectRing, offer: o.Offer})
	r.emit(Event{Kind: OfferRinging, At: now, Contact: c.ID, Queue: o.Queue, Agent: a.id, Offer: o.ID, Attempt: o.Attempt,
		Callback: c.Callback})
	r.setState(a, Ringing, now, c.ID)
	switch {
	case !r.ownTimers:
		id := o.ID
		o.stop = r.clock.AfterFunc(r.cfg.RingTimeout, func() { r.ringTimedOut(id) })
	case o.timer == nil:
		o.timer = time.AfterFunc(r.cfg.RingTimeout, func() { r.ringFired(o) })
	default:
		o.timer.Reset(r.cfg.RingTimeout)
	}
}

// ringFired is an offer's own ring timer's callback (Router.ownTimers).
// The struct may have been reused for a later offer since this firing was
// set, so it acts only for a live offer whose ring timeout has passed; the
// firing of that offer's own timer comes later and finds it ended.
func (r *Router) ringFired(o *offer) {
	r.mu.Lock()
	if !r.closed && r.offers[o.ID] == o && !r.clock.Now().Before(o.started.Add(r.cfg.RingTimeout)) {
		r.withdraw(o)
		r.offerFailed(o, OfferTimedOut)
	}
	r.flush()
}

// stopTimer stops the offer's ring timer.
func (o *offer) stopTimer() {
	if o.timer != nil {
		o.timer.Stop()
		return
	}
	o.stop()
}

// endOffer detaches a live offer from its contact and agent and stops its
// timer. The caller decides the agent's next state and whether to withdraw.
func (r *Router) endOffer(o *offer) {
	o.stopTimer()
	delete(r.offers, o.ID)
	o.contact.offer = nil
	o.agent.offer = nil
	r.retiredOffers = append(r.retiredOffers, o)
}

// newContact returns a zeroed contact, a freed one if there is one. Its
// tried list keeps its room, and its timer generation goes on counting so
// that a timer of the contact it was cannot pass for one of its own.
func (r *Router) newContact() *contact {
	n := len(r.freeContacts)
	if n == 0 {
		return &contact{}
	}
	c := r.freeContacts[n-1]
	r.freeContacts[n-1] = nil
	r.freeContacts = r.freeContacts[:n-1]
	return c
}

// newOffer returns an offer to fill in, a freed one if there is one.
func (r *Router) newOffer() *offer {
	n := len(r.freeOffers)
	if n == 0 {
		return &offer{}
	}
	o := r.freeOffers[n-1]
	r.freeOffers[n-1] = nil
	r.freeOffers = r.freeOffers[:n-1]
	return o
}

// recycle frees the contacts and offers retired by the operation that is
// ending; see Router.freeContacts. It clears them so that a free one keeps
// nothing else alive.
func (r *Router) recycle() {
	for i, c := range r.retiredContacts {
		r.retiredContacts[i] = nil
		if len(r.freeContacts) < maxFree {
			clear(c.tried)
			*c = contact{tried: c.tried[:0], timerGen: c.timerGen, timer: c.timer}
			r.freeContacts = append(r.freeContacts, c)
		}
	}
	r.retiredContacts = r.retiredContacts[:0]
	for i, o := range r.retiredOffers {
		r.retiredOffers[i] = nil
		if len(r.freeOffers) < maxFree {
			*o = offer{timer: o.timer}
			r.freeOffers = append(r.freeOffers, o)
		}
	}
	r.retiredOffers = r.retiredOffers[:0]
}

// withdraw queues a Line.Withdraw for o.
func (r *Router) withdraw(o *offer) {
	r.pending = append(r.pending, effect{kind: effectWithdraw, offer: o.Offer})
}

// toIdle moves an agent that has nothing to do to Available, or to Paused
// or Busy when it is paused or its phone is busy elsewhere. The caller
// calls serveAgent when it is time to find it work.
func (r *Router) toIdle(a *agent, now time.Time, contact call.ID) {
	switch {
	case a.paused:
		r.setState(a, Paused, now, contact)
	case a.busyElsewhere:
		r.setState(a, Busy, now, contact)
	default:
		r.setState(a, Available, now, contact)
	}
}

// setState moves a to state s, keeping the available list and staff counts,
// and reports the change. An agent whose phone is busy elsewhere goes to
// Busy instead of Available. contact names the contact involved, if any.
func (r *Router) setState(a *agent, s AgentState, now time.Time, contact call.ID) {
	reason := ""
	if s == Paused || a.state == Paused {
		reason = a.reason
	}
	r.setStateReason(a, s, now, contact, reason)
}

func (r *Router) setStateReason(a *agent, s AgentState, now time.Time, contact call.ID, reason string) {
	if s == Available && a.busyElsewhere {
		s = Busy
	}
	from := a.state
	if from == s {
		return
	}
	if from == Available {
		last := r.avail[len(r.avail)-1]
		r.avail[a.availAt], last.availAt = last, a.availAt
		r.avail = r.avail[:len(r.avail)-1]
		a.availAt = -1
		for i := range a.members {
			m := &a.members[i]
			lv, end := m.lv, len(m.lv.avail)-1
			moved := lv.avail[end]
			lv.avail[m.at] = moved
			moved.a.members[moved.m].at = m.at
			lv.avail = lv.avail[:end]
			m.at = -1
		}
	}
	if s == Available {
		a.availAt = len(r.avail)
		r.avail = append(r.avail, a)
		for i := range a.members {
			m := &a.members[i]
			m.at = len(m.lv.avail)
			m.lv.avail = append(m.lv.avail, slot{a: a, m: i})
		}
	}
	if was, is := staffed(from), staffed(s); was != is {
		d := 1
		if was {
			d = -1
		}
		for _, aq := range a.queues {
			q := aq.q
			q.staffed[1] += d
			if aq.base {
				q.staffed[0] += d
			}
			if q.staffed[1] == 0 && q.LeaveEmpty == EmptyNoneAvailable {
				r.markEmpty(q)
			}
		}
	}
	if was, is := from != LoggedOut, s != LoggedOut; was != is {
		d := 1
		if was {
			d = -1
		}
		for _, aq := range a.queues {
			q := aq.q
			q.loggedIn += d
			if q.loggedIn == 0 && q.LeaveEmpty == EmptyNoAgents {
				r.markEmpty(q)
			}
		}
	}
	a.state = s
	a.since = now
	r.emit(Event{Kind: AgentStateChanged, At: now, Agent: a.id, Contact: contact, From: from, To: s, Reason: reason})
}

// staffed reports whether an agent in state s counts as a server for wait
// estimates: logged in and not paused, busy or not.
func staffed(s AgentState) bool { return s != LoggedOut && s != Paused }

// emit queues an event unless nobody would see it.
func (r *Router) emit(ev Event) {
	if r.obs == nil && !r.logEvents {
		return
	}
	r.pending = append(r.pending, effect{kind: effectEvent, event: ev})
}

// unqueue removes c from its queue and returns its 1-based position there.
func (r *Router) unqueue(c *contact) int {
	q := c.queue
	i := slices.Index(q.waiting, c)
	if i < 0 {
		return 0
	}
	q.waiting = slices.Delete(q.waiting, i, i+1)
	return i + 1
}

// checkMaxWait tells the OverflowHandler about a contact past its queue's
// MaxWait, once per queue; not while an offer rings, since the caller may be
// about to talk to an agent: then when the offer fails.
func (r *Router) checkMaxWait(c *contact, now time.Time) {
	q := c.queue
	if q.MaxWait <= 0 || c.maxWaitSent || c.agent != nil || c.Callback {
		return
	}
	if !c.maxWaitDue && c.joined.Add(q.MaxWait).After(now) {
		return
	}
	c.maxWaitDue = true
	if c.offer != nil {
		return
	}
	c.maxWaitSent = true
	waited := now.Sub(c.since)
	r.emit(Event{Kind: ContactMaxWait, At: now, Contact: c.ID, Queue: q.Name, Position: c.position(),
		Waited: waited, Other: q.Overflow, Priority: c.priority, Level: c.level})
	if r.overflow != nil {
		r.pending = append(r.pending, effect{kind: effectOverflow,
			overflow: Overflow{Contact: c.ID, Queue: q.Name, Target: q.Overflow, Waited: waited}})
	}
}

// armContact sets c's timer for its next escalation step or its max wait.
func (r *Router) armContact(c *contact, now time.Time) {
	c.stopTimer()
	q := c.queue
	var due time.Time
	if c.level+1 < len(q.levels) {
		due = c.joined.Add(q.levels[c.level+1].after)
	}
	if q.MaxWait > 0 && !c.maxWaitDue && !c.Callback {
		if t := c.joined.Add(q.MaxWait); due.IsZero() || t.Before(due) {
			due = t
		}
	}
	if due.IsZero() {
		return
	}
	if r.ownTimers {
		d := max(due.Sub(now), 0)
		// now.Add keeps now's monotonic reading, which the timer follows;
		// due may lack one (a Contact.Since from elsewhere).
		c.timerAt, c.timerArmed = now.Add(d), true
		if c.timer == nil {
			c.timer = time.AfterFunc(d, func() { r.contactFired(c) })
		} else {
			c.timer.Reset(d)
		}
		return
	}
	c.timerGen++
	gen, id := c.timerGen, c.ID
	c.timerStop = r.clock.AfterFunc(max(due.Sub(now), 0), func() { r.contactTimer(id, gen) })
}

func (c *contact) stopTimer() {
	if c.timerStop != nil {
		c.timerStop()
		c.timerStop = nil
	}
	if c.timerArmed {
		c.timer.Stop()
		c.timerArmed = false
	}
}

// setGroups works out the groups of agents c may go to at its level.
func (c *contact) setGroups() {
	gs := c.queue.levels[c.level].groups
	if c.extra == nil {
		c.groups = gs
		return
	}
	c.groups = make([]group, len(gs))
	for i, g := range gs {
		c.groups[i] = group{need: g.need.union(c.extra), min: g.min}
	}
}

// admits reports whether a may take c at c's current level.
func (c *contact) admits(a *agent) bool {
	for i := range c.groups {
		if c.groups[i].admits(&a.levels) {
			return true
		}
	}
	return false
}

// score sums a's proficiency in the skills c needs (MostSkilled).
func (c *contact) score(a *agent) int {
	s := 0
	for _, bit := range c.queue.scoreSkills {
		s += a.level(bit)
	}
	for i, w := range c.extra {
		for b := 0; w != 0; b++ {
			if w&1 != 0 {
				s += a.level(i*64 + b)
			}
			w >>= 1
		}
	}
	return s
}

// level returns a's proficiency in the skill with the given bit, 0 if none.
func (a *agent) level(bit int) int {
	if bit < len(a.prof) {
		return int(a.prof[bit])
	}
	return 0
}

// before orders a queue: higher priority first, then the earlier first
// queue time, then the earlier Enqueue.
func (c *contact) before(d *contact) bool {
	if c.priority != d.priority {
		return c.priority > d.priority
	}
	if !c.since.Equal(d.since) {
		return c.since.Before(d.since)
	}
	return c.seq < d.seq
}

// moreUrgent orders contacts of different queues for an agent serving
// them: higher priority first, then the longer wait × queue weight.
func (c *contact) moreUrgent(d *contact, now time.Time) bool {
	if c.priority != d.priority {
		return c.priority > d.priority
	}
	wc := float64(now.Sub(c.since)) * c.queue.Weight
	wd := float64(now.Sub(d.since)) * d.queue.Weight
	if wc != wd {
		return wc > wd
	}
	return c.before(d)
}

// position returns c's 1-based place in its queue.
func (c *contact) position() int {
	return slices.Index(c.queue.waiting, c) + 1
}

// empty reports whether policy p finds q empty now.
func (q *queue) empty(p EmptyPolicy) bool {
	switch p {
	case EmptyNoAgents:
		return q.loggedIn == 0
	case EmptyNoneAvailable:
		return q.staffed[1] == 0
	}
	return false
}

// markEmpty notes that q may have emptied by its LeaveEmpty policy; flush
// lets its callers go once the current operation is complete, so no
// operation finds its contacts removed under it.
func (r *Router) markEmpty(q *queue) {
	if !q.marked {
		q.marked = true
		r.emptied = append(r.emptied, q)
	}
}

// leaveEmpty removes the waiting contacts of the queues in r.emptied that
// are still empty by their LeaveEmpty policy, except callbacks, in queue
// order. None of them has a ringing offer: the agent it rings would count
// as logged in and not paused, so the queue would not be empty; a contact
// with one anyway stays, rather than leave an agent ringing for nobody.
func (r *Router) leaveEmpty() {
	now := r.clock.Now()
	for _, q := range r.emptied {
		q.marked = false
		if r.closed || !q.empty(q.LeaveEmpty) {
			continue
		}
		kept := q.waiting[:0]
		for i, c := range q.waiting {
			if c.Callback || c.offer != nil {
				kept = append(kept, c)
				continue
			}
			waited := now.Sub(c.since)
			// Not an abandonment: the caller did not give up, so the wait
			// tells the estimator only that patience lasted this long.
			q.hist.outcome(now.Sub(c.joined), false, r.cfg.EWT.Window)
			q.stats.abandoned++
			delete(r.contacts, c.ID)
			c.stopTimer()
			r.retiredContacts = append(r.retiredContacts, c)
			r.emit(Event{Kind: ContactExitedEmpty, At: now, Contact: c.ID, Queue: q.Name, Position: i + 1,
				Waited: waited, Priority: c.priority, Level: c.level, Predicted: c.predict})
			if r.empty != nil {
				r.pending = append(r.pending, effect{kind: effectEmptied,
					overflow: Overflow{Contact: c.ID, Queue: q.Name, Waited: waited}})
			}
		}
		clear(q.waiting[len(kept):])
		q.waiting = kept
	}
	clear(r.emptied)
	r.emptied = r.emptied[:0]
}

// flush releases r.mu and runs the pending effects. Only one goroutine runs
// effects at a time, in production order; a goroutine that finds another one
// running leaves its effects to it. This keeps a Withdraw from overtaking the
// Ring of the same offer while never calling out with the lock held, and it
// lets a Line call back into the router (even synchronously) without
// deadlock.
func (r *Router) flush() {
	if len(r.emptied) > 0 {
		r.leaveEmpty()
	}
	if len(r.retiredContacts)+len(r.retiredOffers) > 0 {
		r.recycle()
	}
	if r.dispatching || len(r.pending) == 0 {
		r.mu.Unlock()
		return
	}
	r.dispatching = true
	done := false
	defer func() {
		if !done { // a Line or Observer panicked: let the next flush take over
			r.mu.Lock()
			r.dispatching = false
			r.mu.Unlock()
		}
	}()
	for {
		batch := r.pending
		r.pending, r.spare = r.spare[:0], nil
		r.mu.Unlock()
		for i := range batch {
			r.run(&batch[i])
		}
		clear(batch)
		r.mu.Lock()
		r.spare = batch[:0]
		if len(r.pending) == 0 {
			r.dispatching = false
			done = true
			r.mu.Unlock()
			return
		}
	}
}

func (r *Router) run(e *effect) {
	switch e.kind {
	case effectRing:
		r.line.Ring(e.offer)
	case effectWithdraw:
		r.line.Withdraw(e.offer)
	case effectOverflow:
		r.overflow.Overflow(e.overflow)
	case effectEmptied:
		r.empty.Emptied(Emptied{Contact: e.overflow.Contact, Queue: e.overflow.Queue, Waited: e.overflow.Waited})
	case effectEvent:
		if r.logEvents {
			r.logEvent(&e.event)
		}
		if r.obs != nil {
			r.obs.Event(e.event)
		}
	}
}

func (r *Router) logEvent(ev *Event) {
	l := r.log.Debug().Stringer("event", ev.Kind)
	if ev.Contact != "" {
		l = l.Str("contact", string(ev.Contact))
	}
	if ev.Queue != "" {
		l = l.Str("queue", ev.Queue)
	}
	if ev.Agent != "" {
		l = l.Str("agent", ev.Agent)
	}
	if ev.Offer != 0 {
		l = l.Uint64("offer", ev.Offer).Int("attempt", ev.Attempt)
	}
	if ev.Kind == AgentStateChanged {
		l = l.Stringer("from", ev.From).Stringer("to", ev.To)
	}
	if ev.Reason != "" {
		l = l.Str("reason", ev.Reason)
	}
	l.Msg("routing event")
}
