package report

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"kcc/store"
)

// Agent state names as the router writes them (routing.AgentState.String);
// repeated here because report does not depend on the router.
const (
	stateLoggedOut = "logged-out"
	stateAvailable = "available"
	stateRinging   = "ringing"
	stateOnCall    = "on-call"
	stateWrapUp    = "wrap-up"
	stateBusy      = "busy"
	statePaused    = "paused"
)

// Report is a computed report. Rows hold sums, so rows add up; the
// averages and ratios are methods.
type Report struct {
	From, To time.Time // the report's range, rounded to interval edges
	Interval time.Duration
	Location *time.Location
	Kind     Kind

	// Queues has one row per queue and interval, ordered by queue and time;
	// every interval of a queue that had any contact in the range is there,
	// empty ones included, so each queue is a regular time series.
	Queues []QueueRow
	// QueueTotals has one row per queue for the whole range.
	QueueTotals []QueueRow
	// Total is all queues over the whole range (Queue is empty).
	Total QueueRow

	// Agents has one row per agent and interval in which the agent was
	// logged in or answered a call, ordered by agent and time.
	Agents []AgentRow
	// AgentTotals has one row per agent for the whole range.
	AgentTotals []AgentRow
	// PauseReasons lists every pause reason in Agents, sorted.
	PauseReasons []string
}

// QueueRow is the queue report for one queue (or all) over [Start, End).
// See the package documentation for the definitions.
type QueueRow struct {
	Queue      string
	Start, End time.Time
	// Target is the service-level target; zero on a total over queues
	// whose targets differ.
	Target time.Duration

	Offered          int
	Answered         int
	AnsweredInTarget int
	Abandoned        int // including ShortAbandoned
	ShortAbandoned   int
	Callbacks        int
	Overflows        int
	// Handled counts the answered contacts whose conversation has ended.
	Handled int

	WaitAnswered time.Duration // sum of the waits of answered contacts
	HandleTime   time.Duration // sum of talk and wrap-up of handled contacts
	MaxWait      time.Duration
}

// ServiceLevel returns answered within target / (offered - short
// abandoned), and false when that denominator is zero.
func (r QueueRow) ServiceLevel() (float64, bool) {
	n := r.Offered - r.ShortAbandoned
	if n <= 0 {
		return 0, false
	}
	return float64(r.AnsweredInTarget) / float64(n), true
}

// ASA returns the average speed of answer (zero when none was answered).
func (r QueueRow) ASA() time.Duration {
	if r.Answered == 0 {
		return 0
	}
	return r.WaitAnswered / time.Duration(r.Answered)
}

// AHT returns the average handle time, talk plus wrap-up, of handled
// contacts (zero when none was handled).
func (r QueueRow) AHT() time.Duration {
	if r.Handled == 0 {
		return 0
	}
	return r.HandleTime / time.Duration(r.Handled)
}

func (r *QueueRow) add(o QueueRow) {
	r.Offered += o.Offered
	r.Answered += o.Answered
	r.AnsweredInTarget += o.AnsweredInTarget
	r.Abandoned += o.Abandoned
	r.ShortAbandoned += o.ShortAbandoned
	r.Callbacks += o.Callbacks
	r.Overflows += o.Overflows
	r.Handled += o.Handled
	r.WaitAnswered += o.WaitAnswered
	r.HandleTime += o.HandleTime
	r.MaxWait = max(r.MaxWait, o.MaxWait)
}

// AgentRow is the agent report for one agent over [Start, End). LoggedIn
// is the sum of the states below it; Paused is the sum of PausedBy.
type AgentRow struct {
	Agent      string
	Start, End time.Time

	LoggedIn  time.Duration
	Available time.Duration
	Ringing   time.Duration
	Talk      time.Duration
	WrapUp    time.Duration
	Busy      time.Duration // on a call kcc did not route
	Paused    time.Duration
	// PausedBy splits Paused by reason ("" for a pause without one).
	PausedBy map[string]time.Duration
	// Answered counts the calls the agent answered in the interval.
	Answered int
}

func (r *AgentRow) empty() bool { return r.LoggedIn == 0 && r.Answered == 0 && r.Talk == 0 }

func (r *AgentRow) add(o AgentRow) {
	r.LoggedIn += o.LoggedIn
	r.Available += o.Available
	r.Ringing += o.Ringing
	r.Talk += o.Talk
	r.WrapUp += o.WrapUp
	r.Busy += o.Busy
	r.Paused += o.Paused
	r.Answered += o.Answered
	for k, v := range o.PausedBy {
		r.addPause(k, v)
	}
}

func (r *AgentRow) addPause(reason string, d time.Duration) {
	if r.PausedBy == nil {
		r.PausedBy = map[string]time.Duration{}
	}
	r.PausedBy[reason] += d
}

// builder accumulates facts and agent states into the rows of one grid.
type builder struct {
	opt    Options
	g      grid
	queues map[string][]QueueRow // per interval
	agents map[string]*agentAcc
	// qlAgents are the agents' rows as queue_log tells them (for history
	// imported from Asterisk, which has no agent states); alog derives
	// their states.
	qlAgents map[string]*agentAcc
	alog     *agentLog
}

// agentAcc is one agent's rows and where its state history stands.
type agentAcc struct {
	rows      []AgentRow
	hasStates bool // its time comes from agent states, not from its calls
	// Talk and wrap-up of its answered calls, per interval, for an agent
	// without state history.
	callTalk, callWrapUp []time.Duration
	state, reason        string
	since                time.Time
}

func newBuilder(opt Options, g grid) *builder {
	b := &builder{opt: opt, g: g, queues: map[string][]QueueRow{}, agents: map[string]*agentAcc{},
		qlAgents: map[string]*agentAcc{}}
	b.alog = newAgentLog(func(agent, state, reason string, at time.Time) {
		b.stateOn(b.accOf(b.qlAgents, agent), state, reason, at)
	})
	if opt.Queue != "" && opt.Kind.queues() {
		b.queueRows(opt.Queue)
	}
	return b
}

func (b *builder) queueRows(q string) []QueueRow {
	rows, ok := b.queues[q]
	if !ok {
		rows = make([]QueueRow, len(b.g.starts))
		for i := range rows {
			rows[i] = QueueRow{Queue: q, Start: b.g.starts[i], End: b.g.intervalEnd(i), Target: b.opt.target(q)}
		}
		b.queues[q] = rows
	}
	return rows
}

func (b *builder) agent(id string) *agentAcc { return b.accOf(b.agents, id) }

func (b *builder) accOf(m map[string]*agentAcc, id string) *agentAcc {
	a := m[id]
	if a == nil {
		a = &agentAcc{rows: make([]AgentRow, len(b.g.starts)), state: stateLoggedOut}
		for i := range a.rows {
			a.rows[i] = AgentRow{Agent: id, Start: b.g.starts[i], End: b.g.intervalEnd(i)}
		}
		m[id] = a
	}
	return a
}

// addFact counts one queue stay in the interval of its queue entry, and
// its answer for the answering agent.
func (b *builder) addFact(f fact) {
	if b.opt.Kind.queues() && (b.opt.Queue == "" || f.queue == b.opt.Queue) {
		if i := b.g.index(f.entered); i >= 0 {
			b.countQueue(&b.queueRows(f.queue)[i], f)
		}
	}
	if b.opt.Kind.agents() && f.outcome == store.OutcomeAnswered && f.agent != "" && f.agent != store.QLNone {
		if i := b.g.index(f.answer); i >= 0 {
			a := b.agent(f.agent)
			a.rows[i].Answered++
			if f.ended {
				if a.callTalk == nil {
					a.callTalk, a.callWrapUp = make([]time.Duration, len(a.rows)), make([]time.Duration, len(a.rows))
				}
				a.callTalk[i] += f.talk
				a.callWrapUp[i] += f.wrapUp
			}
		}
	}
}

func (b *builder) countQueue(r *QueueRow, f fact) {
	r.Offered++
	if f.outcome != "" {
		r.MaxWait = max(r.MaxWait, f.wait)
	}
	switch f.outcome {
	case store.OutcomeAnswered:
		r.Answered++
		r.WaitAnswered += f.wait
		if f.wait <= r.Target {
			r.AnsweredInTarget++
		}
		if f.ended {
			r.Handled++
			r.HandleTime += f.talk + f.wrapUp
		}
	case store.OutcomeAbandoned:
		r.Abandoned++
		if f.wait <= b.opt.ShortAbandon {
			r.ShortAbandoned++
		}
	case store.OutcomeCallback:
		r.Callbacks++
	case store.OutcomeOverflow:
		r.Overflows++
	}
}

// initialState sets an agent's state before the report's start (states in
// time order, the last one wins).
func (b *builder) initialState(s store.AgentState) {
	a := b.agent(s.Agent)
	a.hasStates = true
	a.state, a.reason, a.since = s.State, s.Reason, b.g.start()
}

// agentState ends the agent's current state at s.Time and starts s.
func (b *builder) agentState(s store.AgentState) {
	b.stateOn(b.agent(s.Agent), s.State, s.Reason, s.Time)
}

func (b *builder) stateOn(a *agentAcc, state, reason string, at time.Time) {
	a.hasStates = true
	if !a.since.IsZero() {
		b.addSpan(a, a.state, a.reason, a.since, at)
	}
	a.state, a.reason, a.since = state, reason, at
}

// queueLogAgents feeds the agent states queue_log rows in [from, to) imply
// (rows in id order, which for an imported file is the file's order).
func (b *builder) queueLogAgents(rows []store.QueueLogEntry, from, to time.Time) {
	type ref struct {
		us int64 // time
		i  int   // index in rows: keeps the file's order within a time
	}
	in := make([]ref, 0, len(rows)/2)
	for i := range rows {
		e := &rows[i]
		if agentEvent(e.Event) && !e.Time.Before(from) && e.Time.Before(to) {
			in = append(in, ref{e.Time.UnixMicro(), i})
		}
	}
	// Asterisk writes lines as events happen, but a file merged from
	// several sources may not be sorted; states need time order.
	byTime := func(x, y ref) int {
		if x.us != y.us {
			return cmp.Compare(x.us, y.us)
		}
		return cmp.Compare(x.i, y.i)
	}
	if !slices.IsSortedFunc(in, byTime) {
		slices.SortFunc(in, byTime)
	}
	for _, r := range in {
		b.alog.row(rows[r.i])
	}
}

// addSpan adds the time in state from..to, cut at interval edges.
func (b *builder) addSpan(a *agentAcc, state, reason string, from, to time.Time) {
	if state == stateLoggedOut {
		return
	}
	if from.Before(b.g.start()) {
		from = b.g.start()
	}
	if to.After(b.g.end) {
		to = b.g.end
	}
	if !from.Before(to) {
		return
	}
	for i := b.g.index(from); i < len(a.rows) && b.g.starts[i].Before(to); i++ {
		s, e := b.g.starts[i], b.g.intervalEnd(i)
		if s.Before(from) {
			s = from
		}
		if e.After(to) {
			e = to
		}
		d := e.Sub(s)
		r := &a.rows[i]
		r.LoggedIn += d
		switch state {
		case stateAvailable:
			r.Available += d
		case stateRinging:
			r.Ringing += d
		case stateOnCall:
			r.Talk += d
		case stateWrapUp:
			r.WrapUp += d
		case stateBusy:
			r.Busy += d
		case statePaused:
			r.Paused += d
			r.addPause(reason, d)
		}
	}
}

// finish closes open states at the end of the report (or now, if earlier)
// and returns the report.
func (b *builder) finish(now time.Time) *Report {
	rep := &Report{From: b.g.start(), To: b.g.end, Interval: b.opt.Interval, Location: b.opt.Location, Kind: b.opt.Kind}
	end := b.g.end
	if now.Before(end) {
		end = now
	}

	names := make([]string, 0, len(b.queues))
	for q := range b.queues {
		names = append(names, q)
	}
	sort.Strings(names)
	rep.Total = QueueRow{Start: rep.From, End: rep.To}
	for i, q := range names {
		tot := QueueRow{Queue: q, Start: rep.From, End: rep.To, Target: b.opt.target(q)}
		for _, r := range b.queues[q] {
			tot.add(r)
		}
		rep.Queues = append(rep.Queues, b.queues[q]...)
		rep.QueueTotals = append(rep.QueueTotals, tot)
		rep.Total.add(tot)
		if i == 0 {
			rep.Total.Target = tot.Target
		} else if rep.Total.Target != tot.Target {
			rep.Total.Target = 0
		}
	}

	ids := make([]string, 0, len(b.agents))
	for id := range b.agents {
		ids = append(ids, id)
	}
	for id := range b.qlAgents {
		if _, ok := b.agents[id]; !ok {
			ids = append(ids, id)
			b.agent(id)
		}
	}
	sort.Strings(ids)
	reasons := map[string]bool{}
	for _, id := range ids {
		a := b.agents[id]
		if a.hasStates && !a.since.IsZero() {
			b.addSpan(a, a.state, a.reason, a.since, end)
		}
		q := b.qlAgents[id]
		if q != nil {
			if !q.since.IsZero() {
				b.addSpan(q, q.state, q.reason, q.since, end)
			}
			// kcc's agent states are the source of truth where they
			// have the agent logged in; elsewhere queue_log tells
			// (history imported from Asterisk, or before kcc).
			for i := range a.rows {
				if a.rows[i].LoggedIn == 0 && q.rows[i].LoggedIn > 0 {
					answered := a.rows[i].Answered
					a.rows[i] = q.rows[i]
					a.rows[i].Answered = answered
				}
			}
		}
		if !a.hasStates && (q == nil || !q.hasStates) && a.callTalk != nil {
			for i := range a.rows {
				a.rows[i].Talk += a.callTalk[i]
				a.rows[i].WrapUp += a.callWrapUp[i]
			}
		}
		tot := AgentRow{Agent: id, Start: rep.From, End: rep.To}
		for i := range a.rows {
			r := &a.rows[i]
			if r.empty() {
				continue
			}
			for k := range r.PausedBy {
				reasons[k] = true
			}
			tot.add(*r)
			rep.Agents = append(rep.Agents, *r)
		}
		if !tot.empty() {
			rep.AgentTotals = append(rep.AgentTotals, tot)
		}
	}
	for k := range reasons {
		rep.PauseReasons = append(rep.PauseReasons, k)
	}
	sort.Strings(rep.PauseReasons)
	return rep
}
