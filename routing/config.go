package routing

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Defaults used when a Config field is zero.
const (
	DefaultRingTimeout = 15 * time.Second
	DefaultWrapUp      = 10 * time.Second
	// DefaultMissReason is the pause reason of an agent paused for missed
	// offers (see Config.MaxMisses).
	DefaultMissReason = "no answer"
)

// NoWrapUp, as Config.WrapUp, Queue.WrapUp or Agent.WrapUp, means no
// after-call work at all: the agent is available as soon as the call ends.
// (A zero duration means "use the default" there, so it cannot say this.)
const NoWrapUp time.Duration = -1

// Proficiency levels of an agent in a skill.
const (
	MinLevel = 1
	MaxLevel = 5
	// DefaultLevel is the proficiency of a skill listed in Agent.Skills
	// without an entry in Agent.Proficiency.
	DefaultLevel = 3
)

// Config holds the router's timers and policies. Zero fields take the
// defaults, so the zero Config is usable; negative durations are rejected by
// New (except NoWrapUp).
type Config struct {
	// RingTimeout is how long an agent rings before the offer moves on
	// (default 15s).
	RingTimeout time.Duration
	// WrapUp is the after-call work time before the agent is available
	// again (default 10s). Queue.WrapUp and Agent.WrapUp override it.
	WrapUp time.Duration
	// MaxMisses pauses an agent after this many offers in a row that it
	// did not answer (ring timeout, busy or declined), so callers stop
	// ringing an empty desk. Zero never pauses.
	MaxMisses int
	// MissReason is the pause reason for MaxMisses (default "no answer").
	MissReason string
	// Care is the policy for callers flagged Contact.Care.
	Care Care
	// EWT tunes the wait-time estimator.
	EWT EWTConfig
}

// Care is what the router does for callers who need extra care: repeat
// callers and callers the IVR or an agent flagged as vulnerable. The
// lifecycle layer decides who they are and sets Contact.Care.
type Care struct {
	// Skill is required of the agent, on top of the queue's skills; empty
	// requires nothing extra. At least one agent must have it.
	Skill string
	// Priority is added to the contact's priority.
	Priority int
	// WrapUp is extra after-call time for the agent after such a call.
	WrapUp time.Duration
}

// EWTConfig tunes the estimated wait time. Zero fields take the defaults.
type EWTConfig struct {
	// HandleTime is assumed per contact until a queue has MinSamples
	// handled contacts of its own (default 5m). It covers ringing, talk
	// and wrap-up: the time an agent is kept from the next caller.
	HandleTime time.Duration
	// Patience is the mean time callers wait before hanging up, assumed
	// until a queue has MinSamples outcomes; zero assumes nobody hangs up.
	Patience time.Duration
	// MinSamples is how much history a queue needs before its own
	// averages replace the assumptions, and before an estimate may be
	// announced as "about" (default 20).
	MinSamples int
	// Window is how many recent contacts per queue the averages cover
	// (default 500).
	Window int
	// MaxSpread is the largest relative standard deviation of an estimate
	// that may still be announced as "about N minutes" (default 0.5).
	MaxSpread float64
	// Cap is the longest wait announced as "about"; longer estimates are
	// "more than Cap" (default 30m).
	Cap time.Duration
}

// withDefaults fills zero fields and rejects bad ones.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.RingTimeout < 0 {
		errs = append(errs, fmt.Errorf("ring timeout %v is negative", c.RingTimeout))
	}
	if c.WrapUp < 0 && c.WrapUp != NoWrapUp {
		errs = append(errs, fmt.Errorf("wrap-up %v is negative", c.WrapUp))
	}
	if c.MaxMisses < 0 {
		errs = append(errs, fmt.Errorf("max misses %d is negative", c.MaxMisses))
	}
	if c.Care.WrapUp < 0 {
		errs = append(errs, fmt.Errorf("care wrap-up %v is negative", c.Care.WrapUp))
	}
	e := &c.EWT
	if e.HandleTime < 0 || e.Patience < 0 || e.Cap < 0 || e.MinSamples < 0 || e.Window < 0 || e.MaxSpread < 0 {
		errs = append(errs, fmt.Errorf("ewt: negative setting in %+v", *e))
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = DefaultRingTimeout
	}
	if c.WrapUp == 0 {
		c.WrapUp = DefaultWrapUp
	}
	if c.MissReason == "" {
		c.MissReason = DefaultMissReason
	}
	if e.HandleTime == 0 {
		e.HandleTime = 5 * time.Minute
	}
	if e.MinSamples == 0 {
		e.MinSamples = 20
	}
	if e.Window == 0 {
		e.Window = 500
	}
	if e.Window < e.MinSamples {
		errs = append(errs, fmt.Errorf("ewt: window %d is smaller than min samples %d", e.Window, e.MinSamples))
	}
	if e.MaxSpread == 0 {
		e.MaxSpread = 0.5
	}
	if e.Cap == 0 {
		e.Cap = 30 * time.Minute
	}
	return c, errors.Join(errs...)
}

// Strategy chooses among the available agents who may take a contact. It
// only matters when more than one is available; when contacts wait, an agent
// who becomes free takes the most urgent contact it may serve.
type Strategy int

// Strategies. Every strategy prefers agents the contact has not rung yet in
// this round, and breaks its own ties by longest idle, then by agent ID.
const (
	// LongestIdle picks the agent idle longest (the default).
	LongestIdle Strategy = iota
	// MostSkilled picks the agent with the highest proficiency summed over
	// the skills the contact needs.
	MostSkilled
	// LeastTalkTime picks the agent with the least talk time today (in the
	// clock's time zone).
	LeastTalkTime
	// RoundRobin picks the next agent after the one this queue offered to
	// last, in agent ID order ("round robin with memory").
	RoundRobin
	// Random picks uniformly, from the router's random source (WithRandom).
	Random
)

var strategyNames = [...]string{
	LongestIdle:   "longest-idle",
	MostSkilled:   "most-skilled",
	LeastTalkTime: "least-talk-time",
	RoundRobin:    "round-robin",
	Random:        "random",
}

// String returns the strategy's name, e.g. "longest-idle".
func (s Strategy) String() string {
	if s >= 0 && int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// MarshalText writes the strategy by name.
func (s Strategy) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a strategy name; the empty name is LongestIdle.
func (s *Strategy) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = LongestIdle
		return nil
	}
	if i := slices.Index(strategyNames[:], string(b)); i >= 0 {
		*s = Strategy(i)
		return nil
	}
	return fmt.Errorf("unknown strategy %q (want one of %v)", b, strategyNames)
}

// Queue describes one queue. Contacts in it may only be offered to agents
// that have every skill in Skills at MinProficiency or better; a queue
// without skills accepts any agent. Only Name is required.
type Queue struct {
	Name   string   // unique key, e.g. "paspoort"
	Topic  string   // display name for agents, e.g. "Paspoort"
	Skills []string // required skills
	// MinProficiency is the lowest proficiency (1-5) accepted in Skills;
	// zero accepts any.
	MinProficiency int
	// Priority is added to every contact's own priority: higher goes
	// first, within the queue and for agents who serve several queues.
	Priority int
	// Weight scales waiting time when agents serving several queues pick
	// among contacts of equal priority: the highest wait × weight goes
	// first. Zero means 1; a queue with weight 2 counts a minute of wait
	// as two.
	Weight float64
	// Strategy chooses among available agents.
	Strategy Strategy
	// Escalation widens the set of agents while a contact waits
	// ("bullseye"); steps are in increasing After order.
	Escalation []Step
	// ServiceLevel is the queue's target, e.g. 80% within 60s; the router
	// keeps score (QueueStats) and the simulator reports against it.
	ServiceLevel ServiceLevel
	// MaxWait, when positive, is how long a contact may wait in the queue
	// before the router reports it to the OverflowHandler; the contact
	// keeps waiting until the lifecycle layer moves or removes it.
	MaxWait time.Duration
	// MaxLength, when positive, is the most contacts that may wait;
	// Enqueue beyond it fails with ErrQueueFull.
	MaxLength int
	// Overflow is the queue, callback or message the lifecycle layer
	// should send a contact to at MaxWait or when the queue is full. The
	// router does not interpret it; it passes it on in Overflow and events.
	Overflow string
	// WrapUp is after-call work for this queue's calls; zero uses
	// Config.WrapUp. An agent's own WrapUp takes precedence.
	WrapUp time.Duration
	// JoinEmpty says when Enqueue refuses a caller because nobody could
	// answer it (ErrQueueEmpty); callback contacts are never refused.
	JoinEmpty EmptyPolicy
	// LeaveEmpty says when the waiting callers leave the queue because
	// nobody is left who could answer them (ContactExitedEmpty and the
	// EmptyHandler); callback contacts stay. It is checked when an agent's
	// state changes and when a contact is moved into the queue, never on a
	// timer. Give JoinEmpty at least LeaveEmpty's strictness: a caller who
	// may join a queue that is empty by LeaveEmpty's rule waits until an
	// agent comes and goes again.
	LeaveEmpty EmptyPolicy
	// Announce is for the lifecycle layer, which plays the announcements;
	// the router only carries and validates it.
	Announce Announcements
}

// EmptyPolicy says when a queue counts as empty for Queue.JoinEmpty and
// Queue.LeaveEmpty (Asterisk's joinempty and leavewhenempty). The agents
// that count are those who could serve the queue at its widest escalation
// level, whatever the contact's own skills.
type EmptyPolicy int

// Empty policies, from the most lenient to the strictest.
const (
	// EmptyAlways never counts the queue as empty: callers join and stay
	// regardless (the zero value).
	EmptyAlways EmptyPolicy = iota
	// EmptyNoAgents: empty when none of those agents is logged in. A
	// paused agent counts as logged in, since the pause is a break that
	// ends; so does one on a call or in wrap-up.
	EmptyNoAgents
	// EmptyNoneAvailable: empty when every one of those agents is logged
	// out or paused, so nobody is going to take a call until someone
	// comes back. Agents ringing, on a call, in wrap-up or busy elsewhere
	// will be free again, so they keep the queue open.
	EmptyNoneAvailable
)

var emptyPolicyNames = [...]string{
	EmptyAlways:        "always",
	EmptyNoAgents:      "no-agents",
	EmptyNoneAvailable: "none-available",
}

// String returns the policy's configuration name, e.g. "no-agents".
func (p EmptyPolicy) String() string {
	if p >= 0 && int(p) < len(emptyPolicyNames) {
		return emptyPolicyNames[p]
	}
	return fmt.Sprintf("EmptyPolicy(%d)", int(p))
}

// ParseEmptyPolicy reads a policy by its configuration name: "always",
// "no-agents" or "none-available". Anything else is an error.
func ParseEmptyPolicy(s string) (EmptyPolicy, error) {
	if i := slices.Index(emptyPolicyNames[:], s); i >= 0 {
		return EmptyPolicy(i), nil
	}
	return 0, fmt.Errorf("unknown empty-queue policy %q (want one of %v)", s, emptyPolicyNames)
}

// MarshalText writes the policy by name.
func (p EmptyPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a policy name as ParseEmptyPolicy does.
func (p *EmptyPolicy) UnmarshalText(b []byte) error {
	v, err := ParseEmptyPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Step is one escalation step: from After in the queue on, a contact also
// goes to agents with a lower proficiency or with another set of skills.
// Steps accumulate.
type Step struct {
	After time.Duration
	// MinProficiency lowers the queue's minimum proficiency to this level
	// (1-5); zero leaves it.
	MinProficiency int
	// Skills, when set, is an alternative group: agents with all of these
	// skills (at the step's minimum proficiency) qualify too.
	Skills []string
}

// ServiceLevel is a target such as 80% of contacts answered within 60s.
type ServiceLevel struct {
	Target float64 // fraction, e.g. 0.8
	Within time.Duration
}

// Announcements is what a waiting caller hears, as data for the lifecycle
// layer.
type Announcements struct {
	Position bool          // announce the position when it changed, never to the head caller
	WaitTime bool          // announce the estimated wait (Router.Estimate)
	Every    time.Duration // period of the announcements; zero: only on joining
	// MinSpacing is the least time between two announcements of any kind.
	MinSpacing time.Duration
	Periodic   []string // prompt names played in turn every Every
	ExitKey    string   // DTMF key that leaves the queue; empty: none
}

// validate reports every problem of one queue.
func (q *Queue) validate() []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("queue %q: "+format, append([]any{q.Name}, a...)...))
	}
	if slices.Contains(q.Skills, "") {
		bad("empty skill name")
	}
	if q.MinProficiency < 0 || q.MinProficiency > MaxLevel {
		bad("min proficiency %d is not 0-%d", q.MinProficiency, MaxLevel)
	}
	if q.Weight < 0 {
		bad("weight %v is negative", q.Weight)
	}
	if q.Strategy < 0 || int(q.Strategy) >= len(strategyNames) {
		bad("unknown strategy %v", q.Strategy)
	}
	if q.ServiceLevel.Target < 0 || q.ServiceLevel.Target > 1 || q.ServiceLevel.Within < 0 {
		bad("service level %v within %v: want a fraction 0-1 and a positive time", q.ServiceLevel.Target, q.ServiceLevel.Within)
	}
	if q.MaxWait < 0 || q.MaxLength < 0 {
		bad("max wait %v and max length %d must not be negative", q.MaxWait, q.MaxLength)
	}
	if q.WrapUp < 0 && q.WrapUp != NoWrapUp {
		bad("wrap-up %v is negative", q.WrapUp)
	}
	if q.JoinEmpty < 0 || int(q.JoinEmpty) >= len(emptyPolicyNames) || q.LeaveEmpty < 0 || int(q.LeaveEmpty) >= len(emptyPolicyNames) {
		bad("unknown empty policy (join %v, leave %v)", q.JoinEmpty, q.LeaveEmpty)
	}
	if a := q.Announce; a.Every < 0 || a.MinSpacing < 0 {
		bad("announcement times must not be negative")
	}
	min := max(q.MinProficiency, MinLevel)
	var last time.Duration
	for i, s := range q.Escalation {
		switch {
		case s.After <= last:
			bad("escalation step %d: after %v must be later than %v", i+1, s.After, last)
		case s.MinProficiency < 0 || s.MinProficiency > MaxLevel:
			bad("escalation step %d: min proficiency %d is not 0-%d", i+1, s.MinProficiency, MaxLevel)
		case s.MinProficiency > min:
			bad("escalation step %d: min proficiency %d raises %d", i+1, s.MinProficiency, min)
		case s.MinProficiency == 0 && len(s.Skills) == 0:
			bad("escalation step %d changes nothing", i+1)
		case slices.Contains(s.Skills, ""):
			bad("escalation step %d: empty skill name", i+1)
		}
		if s.After > last {
			last = s.After
		}
		if s.MinProficiency > 0 && s.MinProficiency <= min {
			min = s.MinProficiency
		}
	}
	return errs
}

// Agent describes one agent. An agent may have no skills; it then serves only
// queues that require none.
type Agent struct {
	ID     string // unique key, also the SIP user the Line rings
	Name   string
	Skills []string // skills at DefaultLevel, unless Proficiency says otherwise
	// Proficiency gives skills with a level 1-5; a skill here need not be
	// in Skills.
	Proficiency map[string]int
	// WrapUp is the agent's after-call work time, which takes precedence
	// over its queue's and Config.WrapUp; zero uses those.
	WrapUp time.Duration
}

// validate reports every problem of one agent.
func (a *Agent) validate() []error {
	var errs []error
	if slices.Contains(a.Skills, "") {
		errs = append(errs, fmt.Errorf("agent %q: empty skill name", a.ID))
	}
	for _, s := range sortedKeys(a.Proficiency) {
		if s == "" {
			errs = append(errs, fmt.Errorf("agent %q: empty skill name", a.ID))
		}
		if l := a.Proficiency[s]; l < MinLevel || l > MaxLevel {
			errs = append(errs, fmt.Errorf("agent %q: skill %q: proficiency %d is not %d-%d", a.ID, s, l, MinLevel, MaxLevel))
		}
	}
	if a.WrapUp < 0 && a.WrapUp != NoWrapUp {
		errs = append(errs, fmt.Errorf("agent %q: wrap-up %v is negative", a.ID, a.WrapUp))
	}
	return errs
}

// levels returns the agent's skills with their proficiency.
func (a *Agent) levels() map[string]int {
	out := make(map[string]int, len(a.Skills)+len(a.Proficiency))
	for _, s := range a.Skills {
		out[s] = DefaultLevel
	}
	for s, l := range a.Proficiency {
		out[s] = l
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
