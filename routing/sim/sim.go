package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/routing"
)

// DefaultStart is the virtual start of a run without Config.Start: a Monday
// at midnight, so hourly profiles and shifts line up with weekdays.
var DefaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// DefaultWithin is the service-level time of queues without one.
const DefaultWithin = 20 * time.Second

// maxDrain bounds how long a run goes on after the last arrival, for
// contacts still waiting (e.g. with no agent scheduled to take them).
const maxDrain = 30 * 24 * time.Hour

// Config describes one run. Queues, Agents and Router are what routing.New
// gets; Traffic says who calls; Shifts when agents work.
type Config struct {
	Seed   uint64
	Start  time.Time // virtual start; zero is DefaultStart
	Router routing.Config
	Queues []routing.Queue
	Agents []routing.Agent
	// Traffic lists the arrival streams, at least one.
	Traffic []Traffic
	// Shifts log agents in and out; without shifts every agent is logged
	// in for the whole run.
	Shifts []Shift
	// Arrivals stop after Duration or after Contacts arrivals, whichever
	// comes first; at least one must be set. The run then goes on until
	// every contact is done.
	Duration time.Duration
	Contacts int
	// WarmUp leaves the first WarmUp arrivals out of the results, while
	// the queues fill from empty.
	WarmUp int
	// AnswerDelay is how long an agent's phone rings before the agent
	// answers; NoAnswer is the chance that it rings out instead.
	AnswerDelay time.Duration
	NoAnswer    float64
}

// Traffic is one stream of arrivals into a queue: a Poisson process whose
// rate follows Profile.
type Traffic struct {
	Queue string
	// PerHour is the mean number of arrivals per hour, or PerWeek per week
	// (set one). With a Profile this is the mean over the profile.
	PerHour, PerWeek float64
	// Profile gives relative weights per hour, repeating: 24 values shape
	// a day, 168 a week starting Monday 00:00 (of Start's week day and
	// time, if Start is not DefaultStart). Nil is flat.
	Profile    []float64
	HandleTime Dist // talk time; its Mean must be positive
	// Patience is how long callers wait before hanging up; a zero Mean
	// means they never do.
	Patience Dist
	Priority int      // routing.Contact.Priority
	Skills   []string // routing.Contact.Skills
	// Care is the fraction of contacts flagged routing.Contact.Care.
	Care float64
}

// Shape is the form of a distribution.
type Shape int

// Shapes of Dist.
const (
	Exponential Shape = iota
	Fixed
	LogNormal // with Dist.CV
)

// Dist is a distribution of durations.
type Dist struct {
	Mean  time.Duration
	Shape Shape
	CV    float64 // coefficient of variation, for LogNormal
}

func (d Dist) draw(rng *rand.Rand) time.Duration {
	m := float64(d.Mean)
	switch d.Shape {
	case Fixed:
		return d.Mean
	case LogNormal:
		s2 := math.Log(1 + d.CV*d.CV)
		return time.Duration(math.Exp(math.Log(m) - s2/2 + math.Sqrt(s2)*rng.NormFloat64()))
	default:
		return time.Duration(rng.ExpFloat64() * m)
	}
}

// Shift logs Agents in from Start to End (offsets into the day) on Days,
// every week of the run. End before Start runs past midnight.
type Shift struct {
	Agents     []string
	Start, End time.Duration
	Days       []time.Weekday // empty: every day
}

// Result is what a run measured.
type Result struct {
	Queues   []QueueResult // in Config.Queues order
	Total    QueueResult   // all queues together (Queue is empty)
	EWT      EWTResult
	Arrivals int           // including warm-up
	Events   int           // simulator events processed
	Span     time.Duration // virtual time from Start to the last event
	// Unfinished counts contacts still waiting when the run gave up
	// (maxDrain after the last arrival).
	Unfinished int
}

// QueueResult is one queue's measurements, warm-up excluded.
type QueueResult struct {
	Queue                       string
	Offered, Answered, Abandons int
	// InTime counts contacts answered within Within (the queue's service
	// level time, or DefaultWithin); ServiceLevel is InTime / Offered.
	InTime       int
	Within       time.Duration
	ServiceLevel float64
	ASA          time.Duration // mean wait of answered contacts
	AbandonRate  float64       // Abandons / Offered
	MaxWait      time.Duration
	Occupancy    float64 // not measured per queue; in Total: talk time / logged-in time
}

// EWTResult compares the router's per-caller wait estimate with Asterisk
// app_queue's queue-wide moving average, both taken when the caller joined,
// against the wait the caller got. Only callers who found at least one
// caller ahead are scored, as in the literature; for callers who hung up
// the wait they would have had is used (the first time after their
// departure that an agent took a later caller or stayed idle).
type EWTResult struct {
	Scored         int
	RMSE, Bias     time.Duration // the router's estimate
	AsteriskRMSE   time.Duration // app_queue: holdtime = (3·holdtime + wait)/4 per answer
	AsteriskBias   time.Duration
	RelativeChange float64 // RMSE / AsteriskRMSE − 1 (−0.3: 30% better)
}

// Run simulates cfg and returns the measurements.
func Run(cfg Config) (Result, error) {
	s, err := newSim(cfg)
	if err != nil {
		return Result{}, err
	}
	defer s.router.Close()
	s.run()
	return s.result(), nil
}

// sim is one run's state. Everything happens on the goroutine of Run.
type sim struct {
	cfg    Config
	rng    *rand.Rand
	start  time.Time
	now    int64 // virtual nanoseconds since start
	events eventHeap
	seq    uint64
	router *routing.Router

	queueIdx map[string]int
	serves   map[string][]int // agent -> queues it serves before escalation
	streams  []*stream
	contacts map[call.ID]*simContact
	arrivals int
	open     int // contacts not yet done
	stopAt   int64
	stopped  bool // arrivals stopped

	stats    []QueueResult
	waitSum  []time.Duration
	hold     []int64         // app_queue's holdtime per queue, seconds
	ghosts   [][]*simContact // per queue: abandoned contacts whose virtual wait is unknown
	freed    map[string]bool // agents that became available during the current event
	state    map[string]routing.AgentState
	ewt      ewtAcc
	talk     time.Duration
	loggedIn time.Duration
	loginAt  map[string]int64
}

type stream struct {
	Traffic
	done  bool
	queue int
	rates []float64 // per hour slot, per nanosecond
}

type simContact struct {
	id        call.ID
	queue     int
	arrival   int64
	counted   bool // past warm-up
	handle    time.Duration
	answered  bool
	done      bool
	scored    bool // found someone ahead: its estimate is scored
	predicted time.Duration
	asterisk  time.Duration
	abandonAt int64
}

type ewtAcc struct {
	n                    int
	se, bias, ase, abias float64
}

func (a *ewtAcc) add(actual, predicted, asterisk time.Duration) {
	e, ae := (predicted - actual).Seconds(), (asterisk - actual).Seconds()
	a.n++
	a.se += e * e
	a.bias += e
	a.ase += ae * ae
	a.abias += ae
}

func newSim(cfg Config) (*sim, error) {
	var errs []error
	if len(cfg.Traffic) == 0 {
		errs = append(errs, errors.New("no traffic"))
	}
	if cfg.Duration <= 0 && cfg.Contacts <= 0 {
		errs = append(errs, errors.New("set a duration or a number of contacts to stop arrivals"))
	}
	if cfg.Duration < 0 || cfg.Contacts < 0 || cfg.WarmUp < 0 || cfg.AnswerDelay < 0 {
		errs = append(errs, errors.New("duration, contacts, warm-up and answer delay must not be negative"))
	}
	if cfg.NoAnswer < 0 || cfg.NoAnswer >= 1 {
		errs = append(errs, fmt.Errorf("no-answer chance %v: want 0 to below 1", cfg.NoAnswer))
	}
	s := &sim{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		start:    cfg.Start,
		queueIdx: map[string]int{},
		serves:   map[string][]int{},
		contacts: map[call.ID]*simContact{},
		freed:    map[string]bool{},
		state:    map[string]routing.AgentState{},
		loginAt:  map[string]int64{},
		stopAt:   math.MaxInt64,
	}
	if s.start.IsZero() {
		s.start = DefaultStart
	}
	if cfg.Duration > 0 {
		s.stopAt = int64(cfg.Duration)
	}
	for i, q := range cfg.Queues {
		s.queueIdx[q.Name] = i
		within := q.ServiceLevel.Within
		if within == 0 {
			within = DefaultWithin
		}
		s.stats = append(s.stats, QueueResult{Queue: q.Name, Within: within})
	}
	s.waitSum = make([]time.Duration, len(cfg.Queues))
	s.hold = make([]int64, len(cfg.Queues))
	s.ghosts = make([][]*simContact, len(cfg.Queues))
	for i, tr := range cfg.Traffic {
		errs = append(errs, s.addStream(i, tr)...)
	}
	agents := map[string]bool{}
	for _, a := range cfg.Agents {
		agents[a.ID] = true
		s.serves[a.ID] = servedQueues(cfg.Queues, a)
	}
	for i, sh := range cfg.Shifts {
		if sh.Start < 0 || sh.End < 0 || sh.Start >= 24*time.Hour || sh.End > 24*time.Hour || sh.Start == sh.End {
			errs = append(errs, fmt.Errorf("shift %d: start %v and end %v must be distinct times of day", i+1, sh.Start, sh.End))
		}
		for _, a := range sh.Agents {
			if !agents[a] {
				errs = append(errs, fmt.Errorf("shift %d: unknown agent %q", i+1, a))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("simulation config: %w", err)
	}
	r, err := routing.New(cfg.Router, cfg.Queues, cfg.Agents, line{s}, clock{s}, zerolog.Nop(),
		routing.WithObserver(observer{s}), routing.WithRandom(rand.NewPCG(cfg.Seed, 0x7a11)))
	if err != nil {
		return nil, fmt.Errorf("simulation config: %w", err)
	}
	s.router = r
	return s, nil
}

func (s *sim) addStream(i int, tr Traffic) []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("traffic %d: "+format, append([]any{i + 1}, a...)...))
	}
	q, ok := s.queueIdx[tr.Queue]
	if !ok {
		bad("unknown queue %q", tr.Queue)
	}
	if (tr.PerHour > 0) == (tr.PerWeek > 0) || tr.PerHour < 0 || tr.PerWeek < 0 {
		bad("set one of per hour and per week, positive")
	}
	if tr.HandleTime.Mean <= 0 || tr.Patience.Mean < 0 {
		bad("handle time must be positive and patience not negative")
	}
	for _, d := range []Dist{tr.HandleTime, tr.Patience} {
		if d.Shape < Exponential || d.Shape > LogNormal || (d.Shape == LogNormal && d.CV <= 0) {
			bad("bad distribution %+v", d)
		}
	}
	if tr.Care < 0 || tr.Care > 1 {
		bad("care fraction %v is not 0-1", tr.Care)
	}
	profile := tr.Profile
	if profile == nil {
		profile = []float64{1}
	}
	var sum float64
	for _, w := range profile {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			bad("profile weight %v", w)
		}
		sum += w
	}
	if sum <= 0 {
		bad("profile has no weight")
	}
	if len(errs) > 0 {
		return errs
	}
	perHour := tr.PerHour
	if perHour == 0 {
		perHour = tr.PerWeek / (7 * 24)
	}
	st := &stream{Traffic: tr, queue: q, rates: make([]float64, len(profile))}
	for h, w := range profile {
		st.rates[h] = perHour * w * float64(len(profile)) / sum / float64(time.Hour)
	}
	s.streams = append(s.streams, st)
	return nil
}

// servedQueues lists the queues agent a may serve before escalation: it has
// each required skill at the queue's minimum proficiency.
func servedQueues(queues []routing.Queue, a routing.Agent) []int {
	levels := map[string]int{}
	for _, sk := range a.Skills {
		levels[sk] = routing.DefaultLevel
	}
	for sk, l := range a.Proficiency {
		levels[sk] = l
	}
	var out []int
	for i, q := range queues {
		ok := true
		for _, sk := range q.Skills {
			if levels[sk] < max(q.MinProficiency, routing.MinLevel) {
				ok = false
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// run processes events until arrivals have stopped and every contact is
// done, or maxDrain after the last arrival.
func (s *sim) run() {
	for _, st := range s.streams {
		s.scheduleArrival(st, 0)
	}
	s.scheduleShifts()
	var drainEnd int64 = math.MaxInt64
	for s.events.Len() > 0 {
		if s.stopped && s.open == 0 {
			break
		}
		ev := heap.Pop(&s.events).(*event)
		if ev.cancelled {
			continue
		}
		if s.stopped && drainEnd == math.MaxInt64 {
			drainEnd = s.now + int64(maxDrain)
		}
		if ev.at > drainEnd {
			break
		}
		s.now = ev.at
		ev.fn()
		s.afterEvent()
	}
}

// afterEvent resolves ghosts for agents left idle by the event.
func (s *sim) afterEvent() {
	if len(s.freed) == 0 {
		return
	}
	for id := range s.freed {
		if s.state[id] != routing.Available {
			continue
		}
		for _, q := range s.serves[id] {
			s.resolveGhosts(q, math.MaxInt64)
		}
	}
	clear(s.freed)
}

// resolveGhosts ends the virtual wait of abandoned contacts in queue q that
// arrived before the given arrival time.
func (s *sim) resolveGhosts(q int, before int64) {
	gs := s.ghosts[q]
	n := 0
	for _, g := range gs {
		if g.arrival < before {
			s.score(g, time.Duration(s.now-g.arrival))
			continue
		}
		gs[n] = g
		n++
	}
	clear(gs[n:])
	s.ghosts[q] = gs[:n]
}

func (s *sim) score(c *simContact, actual time.Duration) {
	if c.scored && c.counted {
		s.ewt.add(actual, c.predicted, c.asterisk)
	}
}

// scheduleArrival schedules st's next arrival after from, walking the
// hourly rates (an exact non-homogeneous Poisson process).
func (s *sim) scheduleArrival(st *stream, from int64) {
	need := s.rng.ExpFloat64()
	t := from
	hour := int64(time.Hour)
	offset := int64(s.start.Sub(s.start.Truncate(24 * time.Hour))) // hours from midnight of the start day
	if len(st.rates) == 168 {
		offset += int64((int(s.start.Weekday())+6)%7) * 24 * hour
	}
	for range 10 * len(st.rates) * 7 {
		abs := t + offset
		slot := int(abs/hour) % len(st.rates)
		end := (abs/hour+1)*hour - offset
		rate := st.rates[slot]
		if rate > 0 && need <= rate*float64(end-t) {
			t += int64(need / rate)
			if t >= s.stopAt {
				s.stopStream(st)
				return
			}
			s.at(t, func() { s.arrive(st) })
			return
		}
		need -= rate * float64(end-t)
		t = end
	}
	s.stopStream(st) // a profile of zeros for weeks: no more arrivals
}

// stopStream ends st's arrivals; when every stream has ended, the run
// drains.
func (s *sim) stopStream(st *stream) {
	st.done = true
	for _, o := range s.streams {
		if !o.done {
			return
		}
	}
	s.stopped = true
}

func (s *sim) arrive(st *stream) {
	if s.stopped {
		return
	}
	s.arrivals++
	if s.cfg.Contacts > 0 && s.arrivals >= s.cfg.Contacts {
		s.stopped = true
	} else {
		s.scheduleArrival(st, s.now)
	}
	id := call.ID("c" + strconv.Itoa(s.arrivals))
	c := &simContact{id: id, queue: st.queue, arrival: s.now, counted: s.arrivals > s.cfg.WarmUp,
		handle: st.HandleTime.draw(s.rng), asterisk: time.Duration(s.hold[st.queue]) * time.Second}
	s.contacts[id] = c
	s.open++
	if c.counted {
		s.stats[st.queue].Offered++
	}
	if st.Patience.Mean > 0 {
		p := st.Patience.draw(s.rng)
		s.after(p, func() { s.giveUp(c) })
	}
	care := st.Care > 0 && s.rng.Float64() < st.Care
	err := s.router.Enqueue(routing.Contact{ID: id, Queue: st.Queue, Priority: st.Priority, Skills: st.Skills, Care: care})
	if err != nil {
		// A full queue: the caller is turned away, which counts as
		// abandonment at once.
		s.finish(c)
		if c.counted {
			s.stats[st.queue].Abandons++
		}
	}
}

func (s *sim) giveUp(c *simContact) {
	if !c.answered && !c.done {
		s.router.Abandon(c.id)
	}
}

func (s *sim) finish(c *simContact) {
	c.done = true
	s.open--
	delete(s.contacts, c.id)
}

// scheduleShifts logs agents in now and for every shift occurrence, or logs
// every agent in at the start when there are no shifts.
func (s *sim) scheduleShifts() {
	if len(s.cfg.Shifts) == 0 {
		for _, a := range s.cfg.Agents {
			s.login(a.ID)
		}
		return
	}
	day := int64(24 * time.Hour)
	midnight := s.start.Truncate(24 * time.Hour)
	first := int64(midnight.Sub(s.start))
	for _, sh := range s.cfg.Shifts {
		s.scheduleShift(sh, first, day)
	}
}

// scheduleShift schedules sh's next occurrence on or after the day starting
// at dayStart, and re-schedules itself.
func (s *sim) scheduleShift(sh Shift, dayStart, day int64) {
	for d := dayStart; ; d += day {
		if s.stopped && s.open == 0 {
			return
		}
		wd := s.start.Add(time.Duration(d + day/2)).Weekday()
		if len(sh.Days) > 0 && !slices.Contains(sh.Days, wd) {
			continue
		}
		from, to := d+int64(sh.Start), d+int64(sh.End)
		if to <= from {
			to += day
		}
		if to <= s.now {
			continue
		}
		s.at(max(from, s.now), func() {
			for _, a := range sh.Agents {
				s.login(a)
			}
		})
		next := d + day
		s.at(to, func() {
			for _, a := range sh.Agents {
				s.logout(a)
			}
			if !(s.stopped && s.open == 0) {
				s.scheduleShift(sh, next, day)
			}
		})
		return
	}
}

func (s *sim) login(id string) {
	if _, in := s.loginAt[id]; !in {
		s.loginAt[id] = s.now
	}
	_ = s.router.Login(id)
}

func (s *sim) logout(id string) {
	if t, in := s.loginAt[id]; in {
		s.loggedIn += time.Duration(s.now - t)
		delete(s.loginAt, id)
	}
	_ = s.router.Logout(id)
}

// at schedules fn at virtual time t.
func (s *sim) at(t int64, fn func()) *event {
	s.seq++
	ev := &event{at: t, seq: s.seq, fn: fn}
	heap.Push(&s.events, ev)
	return ev
}

func (s *sim) after(d time.Duration, fn func()) *event { return s.at(s.now+int64(d), fn) }

// onEvent follows the router's events.
func (s *sim) onEvent(ev routing.Event) {
	switch ev.Kind {
	case routing.AgentStateChanged:
		s.state[ev.Agent] = ev.To
		if ev.To == routing.Available {
			s.freed[ev.Agent] = true
		}
	case routing.ContactQueued:
		c := s.contacts[ev.Contact]
		if c == nil {
			return
		}
		c.predicted = ev.Predicted
		c.scored = ev.Position >= 2 && ev.Predicted >= 0
	case routing.OfferRinging:
		c := s.contacts[ev.Contact]
		if c == nil || ev.Attempt != 1 {
			return
		}
		s.resolveGhosts(c.queue, c.arrival)
		s.score(c, time.Duration(s.now-c.arrival))
	case routing.ContactAnswered:
		c := s.contacts[ev.Contact]
		if c == nil {
			return
		}
		c.answered = true
		q := c.queue
		w := time.Duration(s.now - c.arrival)
		s.hold[q] = (3*s.hold[q] + int64(w/time.Second)) >> 2
		if c.counted {
			st := &s.stats[q]
			st.Answered++
			s.waitSum[q] += w
			st.MaxWait = max(st.MaxWait, w)
			if w <= st.Within {
				st.InTime++
			}
		}
		s.talk += c.handle
		s.after(c.handle, func() {
			s.router.Ended(c.id)
			s.finish(c)
		})
	case routing.ContactAbandoned:
		c := s.contacts[ev.Contact]
		if c == nil {
			return
		}
		if c.counted {
			st := &s.stats[c.queue]
			st.Abandons++
			st.MaxWait = max(st.MaxWait, time.Duration(s.now-c.arrival))
		}
		s.finish(c)
		if c.scored && c.counted {
			s.ghosts[c.queue] = append(s.ghosts[c.queue], c)
		}
	}
}

func (s *sim) result() Result {
	for id, t := range s.loginAt {
		s.loggedIn += time.Duration(s.now - t)
		delete(s.loginAt, id)
	}
	res := Result{Arrivals: s.arrivals, Events: int(s.seq), Span: time.Duration(s.now), Unfinished: s.open}
	total := QueueResult{Within: -1}
	var waits time.Duration
	for i := range s.stats {
		q := s.stats[i]
		q.finish(s.waitSum[i])
		res.Queues = append(res.Queues, q)
		total.Offered += q.Offered
		total.Answered += q.Answered
		total.Abandons += q.Abandons
		total.InTime += q.InTime
		total.MaxWait = max(total.MaxWait, q.MaxWait)
		waits += s.waitSum[i]
	}
	total.finish(waits)
	if s.loggedIn > 0 {
		total.Occupancy = float64(s.talk) / float64(s.loggedIn)
	}
	res.Total = total
	if a := s.ewt; a.n > 0 {
		n := float64(a.n)
		sec := func(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }
		res.EWT = EWTResult{Scored: a.n, RMSE: sec(math.Sqrt(a.se / n)), Bias: sec(a.bias / n),
			AsteriskRMSE: sec(math.Sqrt(a.ase / n)), AsteriskBias: sec(a.abias / n)}
		if a.ase > 0 {
			res.EWT.RelativeChange = math.Sqrt(a.se/a.ase) - 1
		}
	}
	return res
}

func (q *QueueResult) finish(waits time.Duration) {
	if q.Offered > 0 {
		q.ServiceLevel = float64(q.InTime) / float64(q.Offered)
		q.AbandonRate = float64(q.Abandons) / float64(q.Offered)
	}
	if q.Answered > 0 {
		q.ASA = waits / time.Duration(q.Answered)
	}
}

// line answers offers after AnswerDelay, or lets them ring out.
type line struct{ s *sim }

func (l line) Ring(o routing.Offer) {
	s := l.s
	if s.cfg.NoAnswer > 0 && s.rng.Float64() < s.cfg.NoAnswer {
		return
	}
	id := o.ID
	s.after(s.cfg.AnswerDelay, func() { _ = s.router.Answered(id) })
}

func (line) Withdraw(routing.Offer) {}

type observer struct{ s *sim }

func (o observer) Event(ev routing.Event) { o.s.onEvent(ev) }

// clock is the virtual clock: AfterFunc schedules f as a simulator event,
// which runs from the event loop, never inside AfterFunc.
type clock struct{ s *sim }

func (c clock) Now() time.Time { return c.s.start.Add(time.Duration(c.s.now)) }

func (c clock) AfterFunc(d time.Duration, f func()) func() bool {
	ev := c.s.after(max(d, 0), f)
	return func() bool {
		if ev.cancelled || ev.fired {
			return false
		}
		ev.cancelled = true
		return true
	}
}

type event struct {
	at        int64
	seq       uint64
	fn        func()
	cancelled bool
	fired     bool
	index     int
}

// eventHeap orders events by time, then by scheduling order, so runs are
// deterministic.
type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	ev := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	ev.fired = true
	return ev
}
