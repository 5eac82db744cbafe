package ivr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/prompts"
)

// DefaultMaxSteps is how many nodes one run may execute by default. A real
// call through the 14070 flow takes about ten; the limit only stops flows
// that loop.
const DefaultMaxSteps = 500

// ErrMaxSteps is returned by Run when a flow executes more nodes than the
// engine allows: the flow loops, and the caller should be hung up on.
var ErrMaxSteps = errors.New("ivr: flow exceeded its step limit")

// ErrQueueUnavailable is what a Call's Enqueue or Callback wraps when routing
// refuses the caller: the queue is full, or has no agents by its empty-queue
// policy. The flow then goes on (a queue node's unavailable, a callback
// node's next) instead of failing.
var ErrQueueUnavailable = errors.New("ivr: queue unavailable")

// Call is the caller's side of one contact as the engine sees it; the call
// lifecycle package implements it. The engine calls it from one goroutine
// only. Every method blocks until done and returns promptly (with ctx.Err()
// or another error) once ctx is done.
type Call interface {
	// Play plays the named prompts in lang, in order. If interruptible and the
	// caller presses a key, playback stops and that key is returned (it is the
	// input for the following menu); otherwise it returns 0.
	Play(ctx context.Context, lang call.Language, prompts []string, interruptible bool) (call.Digit, error)
	// ReadDigit waits up to timeout for one key; it returns 0 and nil when the
	// timeout passes.
	ReadDigit(ctx context.Context, timeout time.Duration) (call.Digit, error)
	// Enqueue hands the caller to routing and blocks until the contact is over
	// (served by an agent, or the caller hung up). It returns nil when the
	// flow's part is done, and an error wrapping ErrQueueUnavailable when
	// routing refused the caller.
	Enqueue(ctx context.Context, q QueueRequest) error
	// Callback offers the caller a call back instead of waiting, keeping a
	// place in q.Queue: it does the dialogue (reads back the caller's
	// number, asks to confirm, says goodbye) and reports whether the
	// caller accepted. It returns false without a word when no callback is
	// possible (withheld or foreign number, daily limit), and an error
	// wrapping ErrQueueUnavailable when routing refused the callback.
	Callback(ctx context.Context, q QueueRequest) (accepted bool, err error)
	// Transfer connects the caller to the configured transfer target (a
	// name, never a number) and blocks until the conversation is over. An
	// error means the target was not reached and the flow goes on.
	Transfer(ctx context.Context, target string, lang call.Language) error
}

// QueueRequest is what a queue node hands to routing.
type QueueRequest struct {
	Queue    string
	Topic    string // display topic for agents, e.g. "Paspoort"; empty when the node has none
	Language call.Language
	// Priority is the node's priority (0-100, default 0); routing decides
	// what it means.
	Priority int
	// Skills are required besides the queue's own; nil when the node has none.
	Skills []string
	// Care marks a vulnerable or emotional caller (the queue node's care):
	// routing gives priority and an agent with the care skill.
	Care bool
	// Vars are the flow's variables when the caller was queued (declared,
	// set or collected by input; not language or caller), for the agent's
	// screen and the call record; nil when there are none. The map is the
	// receiver's to keep.
	Vars map[string]string
	Path []string // the caller's path so far (see Result.Path), for the call record
}

// QueueState tells branch conditions how busy a routing queue is; the
// router implements it. It is called from the engine's goroutine during a
// run and must answer at once.
type QueueState interface {
	// Waiting returns how many callers wait in queue now.
	Waiting(queue string) int
	// Available returns how many agents of queue are available now.
	Available(queue string) int
}

// Incidents tells incident nodes and conditions which incident messages are
// active; the admin endpoint implements it. It must answer at once.
type Incidents interface {
	// Active returns the prompts of the message of slot at now, and whether
	// one is active (set and not expired).
	Active(slot string, now time.Time) (prompts []string, ok bool)
}

// Env is what one run knows of the world besides the Program and the Call.
// Every field is optional.
type Env struct {
	// Caller is the caller's number as it arrived ("+31612345678"); empty or
	// "anonymous" when withheld.
	Caller string
	// Language is the language the call starts in; empty or not one of the
	// flow's languages means the flow's first.
	Language call.Language
	// Now is the clock of time, days and opening-hours decisions; nil means
	// time.Now.
	Now func() time.Time
	// Queues answers queue conditions; without it they never hold.
	Queues QueueState
	// Incidents answers incident nodes and conditions; without it no
	// incident is active.
	Incidents Incidents
	// Vars are initial values of variables, over those the flow declares.
	Vars map[string]string
	// Trace, when set, receives every decision of the run as it is taken
	// (the simulator prints them).
	Trace func(Event)
}

// Event is one decision of a run, for traces.
type Event struct {
	Node string // the node's label: its name, or a path such as "hoofdmenu/1"
	Text string // what happened, e.g. `case 1 holds (caller +316*) -> mobiel`
}

// Result tells the lifecycle package how a run ended.
type Result struct {
	// Cause is the hangup node's cause, CauseNormal when the flow ran out of
	// nodes, CauseQueued after a queue node without next, CauseCallback
	// after an accepted callback, or CauseTransferred after a transfer. It
	// is empty when Run returns an error.
	Cause string
	// Path lists the named nodes the caller went through and the outcomes
	// of menus, inputs and the nodes that may fail, as "menu:key",
	// "menu:timeout", "menu:exhausted", "input:ok", "input:invalid",
	// "input:timeout", "input:exhausted", "queue:unavailable",
	// "callback:declined" and "transfer:failed" (never the digits
	// themselves).
	Path []string
	// Language is the call's language when the run ended.
	Language call.Language
}

// Engine runs Programs. It holds only configuration, so one Engine may run
// any number of calls at once; it is cheap enough to make one per call with
// a call-scoped logger.
type Engine struct {
	log      zerolog.Logger
	maxSteps int
}

// Option configures an Engine.
type Option func(*Engine)

// WithMaxSteps sets how many nodes one run may execute before it fails with
// ErrMaxSteps; n < 1 keeps the default.
func WithMaxSteps(n int) Option {
	return func(e *Engine) {
		if n >= 1 {
			e.maxSteps = n
		}
	}
}

// NewEngine returns an Engine that logs to log.
func NewEngine(log zerolog.Logger, opts ...Option) *Engine {
	e := &Engine{log: log, maxSteps: DefaultMaxSteps}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Run executes p on c with an empty Env (the real clock, no caller number,
// queue state or incidents); see RunEnv.
func (e *Engine) Run(ctx context.Context, c Call, p *Program) (Result, error) {
	return e.RunEnv(ctx, c, p, Env{})
}

// RunEnv executes p on c from the start node until a hangup node or the end
// of the flow. The Result tells the lifecycle package how to end the call; on
// an error it still holds the path and language so far. A ctx that is done
// (caller hung up) ends RunEnv with ctx.Err().
func (e *Engine) RunEnv(ctx context.Context, c Call, p *Program, env Env) (Result, error) {
	if p == nil || len(p.nodes) == 0 || len(p.langs) == 0 {
		return Result{}, errors.New("run flow: not a compiled program (use Compile or Load)")
	}
	lang := p.langs[0]
	if env.Language != "" && slices.Contains(p.langs, env.Language) {
		lang = env.Language
	}
	r := &run{
		e:   e,
		c:   c,
		p:   p,
		env: env,
		log: e.log.With().Str("flow", p.name).Str("flow_version", p.version).Logger(),
		res: Result{Language: lang},
	}
	if len(p.vars) > 0 || len(env.Vars) > 0 {
		r.vars = make(map[string]string, len(p.vars)+len(env.Vars))
		for _, a := range p.vars {
			r.vars[a.name] = a.value
		}
		for k, v := range env.Vars {
			if k != VarLanguage && k != VarCaller {
				r.vars[k] = v
			}
		}
	}
	err := r.run(ctx)
	if err != nil {
		r.res.Cause = ""
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
	}
	return r.res, err
}

// run is the state of one Engine.RunEnv.
type run struct {
	e       *Engine
	c       Call
	p       *Program
	env     Env
	log     zerolog.Logger
	fails   map[int]int // failed attempts per menu or input node
	vars    map[string]string
	pending call.Digit // a key pressed during a barge-in play, for the next menu or input
	res     Result
}

func (r *run) now() time.Time {
	if r.env.Now != nil {
		return r.env.Now()
	}
	return time.Now()
}

func (r *run) tracing() bool { return r.env.Trace != nil }

func (r *run) tracef(n *node, format string, args ...any) {
	if r.env.Trace != nil {
		r.env.Trace(Event{Node: n.label, Text: fmt.Sprintf(format, args...)})
	}
}

// get returns a variable's value; unset variables read as empty.
func (r *run) get(name string) string {
	switch name {
	case VarLanguage:
		return string(r.res.Language)
	case VarCaller:
		return r.env.Caller
	}
	return r.vars[name]
}

func (r *run) setVar(name, value string) {
	if r.vars == nil {
		r.vars = make(map[string]string)
	}
	r.vars[name] = value
}

func (r *run) fail(i int) int {
	if r.fails == nil {
		r.fails = make(map[int]int)
	}
	r.fails[i]++
	return r.fails[i]
}

func (r *run) resetFails(i int) {
	if r.fails != nil {
		r.fails[i] = 0
	}
}

func (r *run) run(ctx context.Context) error {
	cur := r.p.start
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cur == end {
			r.res.Cause = CauseNormal
			return nil
		}
		if step >= r.e.maxSteps {
			r.log.Warn().Int("max_steps", r.e.maxSteps).Strs("path", r.res.Path).Msg("ivr flow exceeded its step limit")
			return fmt.Errorf("flow %q at node %q: %w (%d)", r.p.name, r.p.nodes[cur].label, ErrMaxSteps, r.e.maxSteps)
		}
		n := &r.p.nodes[cur]
		if n.name != "" {
			r.res.Path = append(r.res.Path, n.name)
		}
		r.log.Debug().Str("node", n.label).Msg("ivr node")
		next, done, err := r.exec(ctx, cur, n)
		if err != nil || done {
			return err
		}
		cur = next
	}
}

// exec runs one node and returns the node to go to, or done when the flow is
// over (with r.res.Cause set).
func (r *run) exec(ctx context.Context, i int, n *node) (next int, done bool, err error) {
	switch n.kind {
	case kindPlay:
		if r.pending != 0 && n.bargeIn {
			r.tracef(n, "play skipped: key %s already pressed", r.pending)
			return n.next, false, nil
		}
		key, err := r.play(ctx, n, n.play, n.bargeIn)
		if err != nil {
			return end, false, err
		}
		if key != 0 {
			r.tracef(n, "key %s during the prompts", key)
			r.pending = key
		}
		return n.next, false, nil
	case kindSet:
		for _, a := range n.sets {
			r.setVar(a.name, a.value)
			r.tracef(n, "set %s = %q", a.name, a.value)
		}
		if n.lang != "" {
			r.res.Language = n.lang
			r.tracef(n, "set language = %s", n.lang)
		}
		return n.next, false, nil
	case kindGoto:
		return n.next, false, nil
	case kindBranch:
		return r.branch(n), false, nil
	case kindHours:
		return r.hours(n), false, nil
	case kindIncident:
		return r.incident(ctx, n)
	case kindQueue:
		err := r.c.Enqueue(ctx, r.queueRequest(n))
		if errors.Is(err, ErrQueueUnavailable) && ctx.Err() == nil {
			r.res.Path = append(r.res.Path, n.label+":unavailable")
			r.tracef(n, "queue %s unavailable -> %s", n.queue.queue, r.p.target(n.queue.unavailable))
			r.log.Info().Err(err).Str("node", n.label).Msg("ivr queue unavailable")
			return n.queue.unavailable, false, nil
		}
		if err != nil {
			return end, false, fmt.Errorf("node %q: enqueue in %q: %w", n.label, n.queue.queue, err)
		}
		if n.next == end {
			r.res.Cause = CauseQueued
			return end, true, nil
		}
		return n.next, false, nil
	case kindCallback:
		accepted, err := r.c.Callback(ctx, r.queueRequest(n))
		switch {
		case errors.Is(err, ErrQueueUnavailable) && ctx.Err() == nil:
			r.log.Info().Err(err).Str("node", n.label).Msg("ivr callback refused by routing")
			accepted = false
		case err != nil:
			return end, false, fmt.Errorf("node %q: callback in %q: %w", n.label, n.queue.queue, err)
		}
		if accepted {
			r.tracef(n, "callback in %s accepted", n.queue.queue)
			r.res.Cause = CauseCallback
			return end, true, nil
		}
		r.res.Path = append(r.res.Path, n.label+":declined")
		r.tracef(n, "no callback -> %s", r.p.target(n.next))
		return n.next, false, nil
	case kindTransfer:
		r.pending = 0
		if err := r.c.Transfer(ctx, n.target, r.res.Language); err != nil {
			if ctx.Err() != nil {
				return end, false, fmt.Errorf("node %q: transfer to %q: %w", n.label, n.target, err)
			}
			r.res.Path = append(r.res.Path, n.label+":failed")
			r.tracef(n, "transfer to %s failed -> %s", n.target, r.p.target(n.next))
			r.log.Warn().Err(err).Str("node", n.label).Str("target", n.target).Msg("ivr transfer failed")
			return n.next, false, nil
		}
		r.tracef(n, "transferred to %s", n.target)
		r.res.Cause = CauseTransferred
		return end, true, nil
	case kindHangup:
		r.res.Cause = n.cause
		return end, true, nil
	case kindMenu:
		return r.menu(ctx, i, n)
	case kindInput:
		return r.input(ctx, i, n)
	}
	return end, false, fmt.Errorf("node %q: unknown node kind %d", n.label, n.kind)
}

// queueRequest is what a queue or callback node hands to routing. A key
// pressed during a barge-in play is dropped: it answered nothing here.
func (r *run) queueRequest(n *node) QueueRequest {
	r.pending = 0
	q := QueueRequest{
		Queue: n.queue.queue, Topic: n.queue.topic, Language: r.res.Language,
		Priority: n.queue.priority, Skills: slices.Clone(n.queue.skills), Care: n.queue.care,
		Path: slices.Clone(r.res.Path),
	}
	if len(r.vars) > 0 {
		q.Vars = maps.Clone(r.vars)
	}
	return q
}

// play plays a prompt list in the call's language, and its say items in the
// language of the sayers for it. It returns the key that interrupted it.
func (r *run) play(ctx context.Context, n *node, pl playList, interruptible bool) (call.Digit, error) {
	lang := r.res.Language
	if pl.items == nil {
		key, err := r.c.Play(ctx, lang, pl.names, interruptible)
		if err != nil {
			return 0, fmt.Errorf("node %q: play %v: %w", n.label, pl.names, err)
		}
		return key, nil
	}
	// Consecutive items in one language play as one list, so a sentence
	// like "uw zaaknummer is <digits>" has no gaps between its parts.
	var seg []string
	segLang := lang
	flush := func() (call.Digit, error) {
		if len(seg) == 0 {
			return 0, nil
		}
		key, err := r.c.Play(ctx, segLang, seg, interruptible)
		if err != nil {
			return 0, fmt.Errorf("node %q: play %v: %w", n.label, seg, err)
		}
		seg = nil
		return key, nil
	}
	for _, it := range pl.items {
		l, names := lang, []string{it.name}
		if it.say != 0 {
			l = r.p.sayLang[lang]
			var err error
			if names, err = r.say(it, l); err != nil {
				r.log.Warn().Err(err).Str("node", n.label).Msg("ivr say item skipped")
				r.tracef(n, "say skipped: %v", err)
				continue
			}
		}
		if l != segLang {
			if key, err := flush(); err != nil || key != 0 {
				return key, err
			}
			segLang = l
		}
		seg = append(seg, names...)
	}
	return flush()
}

// say returns the prompts that speak item in lang.
func (r *run) say(it playItem, lang call.Language) ([]string, error) {
	v := it.value
	if it.varName != "" {
		v = r.get(it.varName)
	}
	kindName := sayKindNames[it.say-1]
	if !sayable(it.say, v) {
		if it.varName != "" {
			return nil, fmt.Errorf("say %s of %s: value %q: want %s", kindName, it.varName, v, sayWant(it.say))
		}
		return nil, fmt.Errorf("say %s: value %q: want %s", kindName, v, sayWant(it.say))
	}
	if it.say == sayDigits {
		out := make([]string, 0, len(v))
		for _, d := range v {
			ws, err := prompts.SayNumber(lang, int(d-'0'))
			if err != nil {
				return nil, err
			}
			out = append(out, ws...)
		}
		return out, nil
	}
	num, _ := strconv.Atoi(v) // sayable checked it
	switch it.say {
	case sayNumber:
		return prompts.SayNumber(lang, num)
	case sayOrdinal:
		return prompts.SayOrdinal(lang, num)
	}
	return prompts.SayMinutes(lang, num, it.approx)
}

// takePending returns and clears the key pressed during a barge-in play.
func (r *run) takePending() call.Digit {
	k := r.pending
	r.pending = 0
	return k
}

// menu plays the menu prompt, reads one key and picks the action.
func (r *run) menu(ctx context.Context, i int, n *node) (int, bool, error) {
	m := n.menu
	key := r.takePending()
	if key == 0 {
		var err error
		if key, err = r.play(ctx, n, n.play, true); err != nil {
			return end, false, err
		}
	} else {
		r.tracef(n, "prompt skipped: key %s already pressed", key)
	}
	if key == 0 {
		var err error
		if key, err = r.c.ReadDigit(ctx, m.timeout); err != nil {
			return end, false, fmt.Errorf("node %q: read key: %w", n.label, err)
		}
	}
	label := n.label
	if key == 0 {
		r.res.Path = append(r.res.Path, label+":timeout")
	} else {
		r.res.Path = append(r.res.Path, label+":"+key.String())
		if target, ok := m.options[key]; ok {
			r.resetFails(i)
			r.tracef(n, "key %s -> %s", key, r.p.target(target))
			return target, false, nil
		}
	}
	return r.failed(i, n, key == 0, m.retries, m.invalid, m.noInput, m.exhausted, "key")
}

// failed counts a failed attempt at menu or input node i and picks the
// action. Every failed attempt counts, also when the flow comes back through
// next, so "invalid -> play -> next: menu" loops are bounded.
func (r *run) failed(i int, n *node, timeout bool, retries, invalid, noInput, exhausted int, what string) (int, bool, error) {
	fails := r.fail(i)
	if fails > retries {
		// Reset so a flow whose exhausted action comes back here gets a
		// fresh set of attempts rather than an immediate second exhaustion.
		r.fails[i] = 0
		r.res.Path = append(r.res.Path, n.label+":exhausted")
		r.tracef(n, "attempt %d failed; retries (%d) exhausted -> %s", fails, retries, r.p.target(exhausted))
		return exhausted, false, nil
	}
	if timeout {
		r.tracef(n, "no %s (attempt %d of %d) -> %s", what, fails, retries+1, r.p.target(noInput))
		return noInput, false, nil
	}
	r.tracef(n, "invalid (attempt %d of %d) -> %s", fails, retries+1, r.p.target(invalid))
	return invalid, false, nil
}

// input collects digits into a variable: until the terminator, max digits,
// or a wait for a digit times out.
func (r *run) input(ctx context.Context, i int, n *node) (int, bool, error) {
	in := n.input
	var buf [maxInputDigits]byte
	digits := buf[:0]
	key := r.takePending()
	if key == 0 {
		var err error
		if key, err = r.play(ctx, n, n.play, true); err != nil {
			return end, false, err
		}
	}
	timeout, bad := in.timeout, false
	for {
		if key == 0 {
			var err error
			if key, err = r.c.ReadDigit(ctx, timeout); err != nil {
				return end, false, fmt.Errorf("node %q: read digits: %w", n.label, err)
			}
			if key == 0 {
				break
			}
		}
		if in.term != 0 && key == in.term {
			break
		}
		if key < '0' || key > '9' {
			bad = true
			break
		}
		digits = append(digits, byte(key))
		key = 0
		if len(digits) >= in.max {
			break
		}
		timeout = in.interDigit
	}
	label := n.label
	switch {
	case len(digits) == 0 && !bad:
		r.res.Path = append(r.res.Path, label+":timeout")
		return r.failed(i, n, true, in.retries, in.invalid, in.noInput, in.exhausted, "digits")
	case bad || len(digits) < in.min || in.pattern != nil && !in.pattern.Match(digits):
		r.res.Path = append(r.res.Path, label+":invalid")
		r.tracef(n, "entry of %d digits does not fit", len(digits))
		return r.failed(i, n, false, in.retries, in.invalid, in.noInput, in.exhausted, "digits")
	}
	r.res.Path = append(r.res.Path, label+":ok")
	r.resetFails(i)
	r.setVar(in.varName, string(digits))
	// The digits themselves stay out of traces, which may end up in logs.
	r.tracef(n, "%s set (%d digits) -> %s", in.varName, len(digits), r.p.target(n.next))
	return n.next, false, nil
}

// branch returns the target of the first case whose conditions all hold.
func (r *run) branch(n *node) int {
	for j := range n.branch.cases {
		bc := &n.branch.cases[j]
		ok := true
		for k := range bc.conds {
			if !r.holds(&bc.conds[k]) {
				ok = false
				break
			}
		}
		if ok {
			if r.tracing() {
				r.tracef(n, "case %d holds (%s) -> %s", j+1, r.explain(bc.conds), r.p.target(bc.next))
			}
			return bc.next
		}
	}
	r.tracef(n, "no case holds -> default %s", r.p.target(n.branch.def))
	return n.branch.def
}

// explain describes why a case's conditions hold, for traces.
func (r *run) explain(conds []cond) string {
	parts := make([]string, 0, len(conds))
	for _, cd := range conds {
		s := cd.text
		switch cd.kind {
		case condEquals, condMatches:
			s += fmt.Sprintf(" (is %q)", r.get(cd.name))
		case condCaller:
			if withheld(r.env.Caller) {
				s += " (caller withheld)"
			} else {
				s += fmt.Sprintf(" (caller %s)", r.env.Caller)
			}
		case condTime, condDays:
			s += " (" + r.now().In(r.p.loc).Format("Mon 15:04 MST") + ")"
		case condOpen, condClosed:
			if cd.sched != nil {
				s += " (" + cd.sched.Status(r.now()).String() + ")"
			}
		case condWaitingAtLeast, condWaitingBelow:
			s += fmt.Sprintf(" (%d waiting)", r.env.Queues.Waiting(cd.name))
		case condAvailableAtLeast, condAvailableBelow:
			s += fmt.Sprintf(" (%d available)", r.env.Queues.Available(cd.name))
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " and ")
}

func (r *run) holds(cd *cond) bool {
	switch cd.kind {
	case condEquals:
		return r.get(cd.name) == cd.value
	case condMatches:
		return cd.re.MatchString(r.get(cd.name))
	case condCaller:
		for _, pat := range cd.callers {
			if callerMatches(pat, r.env.Caller) {
				return true
			}
		}
		return false
	case condTime:
		t := r.now().In(r.p.loc)
		m := t.Hour()*60 + t.Minute()
		if cd.from < cd.to {
			return cd.from <= m && m < cd.to
		}
		return m >= cd.from || m < cd.to
	case condDays:
		return cd.days&(1<<r.now().In(r.p.loc).Weekday()) != 0
	case condOpen:
		return cd.sched != nil && cd.sched.Open(r.now())
	case condClosed:
		return cd.sched != nil && !cd.sched.Open(r.now())
	case condIncident:
		if r.env.Incidents == nil {
			return false
		}
		_, ok := r.env.Incidents.Active(cd.name, r.now())
		return ok
	}
	if r.env.Queues == nil {
		return false
	}
	switch cd.kind {
	case condWaitingAtLeast:
		return r.env.Queues.Waiting(cd.name) >= cd.n
	case condWaitingBelow:
		return r.env.Queues.Waiting(cd.name) < cd.n
	case condAvailableAtLeast:
		return r.env.Queues.Available(cd.name) >= cd.n
	case condAvailableBelow:
		return r.env.Queues.Available(cd.name) < cd.n
	}
	return false
}

// withheld reports whether a caller number is withheld.
func withheld(caller string) bool {
	return caller == "" || strings.EqualFold(caller, "anonymous")
}

// callerMatches matches a caller number against a pattern in which * stands
// for any digits and ? for one; "withheld" matches a withheld number.
func callerMatches(pat, caller string) bool {
	if pat == "withheld" {
		return withheld(caller)
	}
	if withheld(caller) {
		return false
	}
	// Iterative wildcard matching with one backtrack point: linear enough
	// for numbers, and no recursion on hostile patterns.
	p, s, star, mark := 0, 0, -1, 0
	for s < len(caller) {
		switch {
		case p < len(pat) && (pat[p] == '?' && caller[s] >= '0' && caller[s] <= '9' || pat[p] == caller[s]):
			p++
			s++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, s
			p++
		case star >= 0:
			p = star + 1
			mark++
			s = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// hours goes to open or closed (or holiday, early_close) by the schedule.
func (r *run) hours(n *node) int {
	h := n.hours
	now := r.now()
	if h.sched == nil {
		return h.closed
	}
	if h.holiday == h.closed && h.early == h.closed && !r.tracing() {
		if h.sched.Open(now) {
			return h.open
		}
		return h.closed
	}
	st := h.sched.Status(now)
	target := h.closed
	switch {
	case st.Open:
		target = h.open
	case st.Reason == hoursReasonHoliday:
		target = h.holiday
	case st.Reason == hoursReasonEarlyClose:
		target = h.early
	}
	r.tracef(n, "%s at %s: %s -> %s", h.name, now.In(h.sched.Location()).Format("Mon 2006-01-02 15:04 MST"), st, r.p.target(target))
	return target
}

// incident plays the slot's message if one is active.
func (r *run) incident(ctx context.Context, n *node) (int, bool, error) {
	if r.env.Incidents == nil {
		r.tracef(n, "incident %s: no message", n.slot)
		return n.next, false, nil
	}
	ps, ok := r.env.Incidents.Active(n.slot, r.now())
	if !ok || len(ps) == 0 {
		r.tracef(n, "incident %s: no message", n.slot)
		return n.next, false, nil
	}
	r.tracef(n, "incident %s: message active", n.slot)
	if _, err := r.c.Play(ctx, r.res.Language, ps, false); err != nil {
		return end, false, fmt.Errorf("node %q: play incident %v: %w", n.label, ps, err)
	}
	return n.next, false, nil
}
