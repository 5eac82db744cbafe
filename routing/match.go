package routing

import (
	"slices"
	"time"

	"kcc/call"
)

// match offers waiting contacts to available agents until no more pairs can
// be made. Contacts are taken oldest first across all queues, so the contact
// that has waited longest gets the first pick; contacts that already have a
// ringing offer are skipped.
//
// Cost per pass is O(waiting + queues·agents + offers·agents): once a queue
// has found no eligible agent in a pass, its other contacts are skipped,
// because agents only become busy during a pass.
func (r *Router) match() {
	if r.available == 0 || r.closed {
		return
	}
	r.pass++
	now := time.Time{}
	for _, c := range r.waiting {
		if r.available == 0 {
			return
		}
		if c.offer != nil || c.queue.drained == r.pass {
			continue
		}
		a := r.pick(c)
		if a == nil {
			c.queue.drained = r.pass
			continue
		}
		if now.IsZero() {
			now = r.clock.Now()
		}
		r.startOffer(c, a, now)
	}
}

// pick returns the agent to offer c to: the longest-idle available agent
// with the queue's skills, preferring agents c has not rung in this round.
// When every such agent has been tried, a new round starts with the
// longest-idle one. Iterating in ID order with a strict comparison breaks
// ties in favour of the lower ID.
func (r *Router) pick(c *contact) *agent {
	var best, fresh *agent
	for _, a := range r.byID {
		if a.state != Available || !a.skills.covers(c.queue.need) {
			continue
		}
		if best == nil || a.idleSince.Before(best.idleSince) {
			best = a
		}
		if (fresh == nil || a.idleSince.Before(fresh.idleSince)) && !slices.Contains(c.tried, a) {
			fresh = a
		}
	}
	if fresh != nil {
		return fresh
	}
	if best != nil {
		c.tried = c.tried[:0]
	}
	return best
}

// startOffer rings a for c and arms the ring timer.
func (r *Router) startOffer(c *contact, a *agent, now time.Time) {
	r.lastOffer++
	c.attempts++
	o := &offer{
		Offer:   Offer{ID: r.lastOffer, Contact: c.ID, Queue: c.queue.Name, Agent: a.id, Attempt: c.attempts},
		contact: c,
		agent:   a,
		started: now,
	}
	r.offers[o.ID] = o
	c.offer = o
	a.offer = o
	c.tried = append(c.tried, a)
	// Ring first: the phone's latency matters more than the observers'.
	r.pending = append(r.pending, effect{kind: effectRing, offer: o.Offer})
	r.emit(Event{Kind: OfferRinging, At: now, Contact: c.ID, Queue: o.Queue, Agent: a.id, Offer: o.ID, Attempt: o.Attempt})
	r.setState(a, Ringing, now, c.ID)
	id := o.ID
	o.stop = r.clock.AfterFunc(r.cfg.RingTimeout, func() { r.ringTimedOut(id) })
}

// endOffer detaches a live offer from its contact and agent and stops its
// timer. The caller decides the agent's next state and whether to withdraw.
func (r *Router) endOffer(o *offer) {
	o.stop()
	delete(r.offers, o.ID)
	o.contact.offer = nil
	o.agent.offer = nil
}

// withdraw queues a Line.Withdraw for o.
func (r *Router) withdraw(o *offer) {
	r.pending = append(r.pending, effect{kind: effectWithdraw, offer: o.Offer})
}

// setState moves a to state s, keeping the available count, and reports the
// change. An agent whose phone is busy elsewhere goes to Busy instead of
// Available. contact names the contact involved, if any.
func (r *Router) setState(a *agent, s AgentState, now time.Time, contact call.ID) {
	if s == Available && a.busyElsewhere {
		s = Busy
	}
	from := a.state
	if from == s {
		return
	}
	if from == Available {
		r.available--
	}
	if s == Available {
		r.available++
	}
	a.state = s
	a.since = now
	r.emit(Event{Kind: AgentStateChanged, At: now, Agent: a.id, Contact: contact, From: from, To: s})
}

// emit queues an event unless nobody would see it.
func (r *Router) emit(ev Event) {
	if r.obs == nil && !r.logEvents {
		return
	}
	r.pending = append(r.pending, effect{kind: effectEvent, event: ev})
}

// unqueue removes c from the waiting list and returns its 1-based position
// in its queue.
func (r *Router) unqueue(c *contact) int {
	pos := 0
	for i, w := range r.waiting {
		if w.queue == c.queue {
			pos++
		}
		if w == c {
			r.waiting = slices.Delete(r.waiting, i, i+1)
			c.queue.count--
			return pos
		}
	}
	return 0
}

// flush releases r.mu and runs the pending effects. Only one goroutine runs
// effects at a time, in production order; a goroutine that finds another one
// running leaves its effects to it. This keeps a Withdraw from overtaking the
// Ring of the same offer while never calling out with the lock held, and it
// lets a Line call back into the router (even synchronously) without
// deadlock.
func (r *Router) flush() {
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
	l.Msg("routing event")
}
