package ivr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// DefaultMaxSteps is how many nodes one run may execute by default. A real
// call through the 14070 flow takes about ten; the limit only stops flows
// that loop.
const DefaultMaxSteps = 500

// ErrMaxSteps is returned by Run when a flow executes more nodes than the
// engine allows: the flow loops, and the caller should be hung up on.
var ErrMaxSteps = errors.New("ivr: flow exceeded its step limit")

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
	// flow's part is done.
	Enqueue(ctx context.Context, q QueueRequest) error
}

// QueueRequest is what a queue node hands to routing.
type QueueRequest struct {
	Queue    string
	Topic    string // display topic for agents, e.g. "Paspoort"; empty when the node has none
	Language call.Language
	Path     []string // the caller's path so far (see Result.Path), for the call record
}

// Result tells the lifecycle package how a run ended.
type Result struct {
	// Cause is the hangup node's cause, CauseNormal when the flow ran out of
	// nodes, or CauseQueued after a queue node without next. It is empty when
	// Run returns an error.
	Cause string
	// Path lists the named nodes the caller went through and the menu
	// outcomes, as "menu:key", "menu:timeout" and "menu:exhausted".
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

// Run executes p on c from the start node until a hangup node or the end of
// the flow. The Result tells the lifecycle package how to end the call; on an
// error it still holds the path and language so far. A ctx that is done
// (caller hung up) ends Run with ctx.Err().
func (e *Engine) Run(ctx context.Context, c Call, p *Program) (Result, error) {
	if p == nil || len(p.nodes) == 0 || len(p.langs) == 0 {
		return Result{}, errors.New("run flow: not a compiled program (use Compile or Load)")
	}
	r := &run{
		e:     e,
		c:     c,
		p:     p,
		log:   e.log.With().Str("flow", p.name).Str("flow_version", p.version).Logger(),
		fails: make(map[int]int),
		res:   Result{Language: p.langs[0]},
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

// run is the state of one Engine.Run.
type run struct {
	e     *Engine
	c     Call
	p     *Program
	log   zerolog.Logger
	fails map[int]int // failed attempts per menu node
	res   Result
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
		if _, err := r.c.Play(ctx, r.res.Language, n.prompts, false); err != nil {
			return end, false, fmt.Errorf("node %q: play %v: %w", n.label, n.prompts, err)
		}
		return n.next, false, nil
	case kindSet:
		r.res.Language = n.lang
		return n.next, false, nil
	case kindQueue:
		q := QueueRequest{Queue: n.queue, Topic: n.topic, Language: r.res.Language, Path: slices.Clone(r.res.Path)}
		if err := r.c.Enqueue(ctx, q); err != nil {
			return end, false, fmt.Errorf("node %q: enqueue in %q: %w", n.label, n.queue, err)
		}
		if n.next == end {
			r.res.Cause = CauseQueued
			return end, true, nil
		}
		return n.next, false, nil
	case kindHangup:
		r.res.Cause = n.cause
		return end, true, nil
	case kindMenu:
		return r.menu(ctx, i, n)
	}
	return end, false, fmt.Errorf("node %q: unknown node kind %d", n.label, n.kind)
}

// menu plays the menu prompt, reads one key and picks the action.
func (r *run) menu(ctx context.Context, i int, n *node) (int, bool, error) {
	m := n.menu
	key, err := r.c.Play(ctx, r.res.Language, n.prompts, true)
	if err != nil {
		return end, false, fmt.Errorf("node %q: play %v: %w", n.label, n.prompts, err)
	}
	if key == 0 {
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
			r.fails[i] = 0
			return target, false, nil
		}
	}
	r.fails[i]++
	if r.fails[i] > m.retries {
		// Reset so a flow whose exhausted action comes back here gets a
		// fresh set of attempts rather than an immediate second exhaustion.
		r.fails[i] = 0
		r.res.Path = append(r.res.Path, label+":exhausted")
		return m.exhausted, false, nil
	}
	if key == 0 {
		return m.noInput, false, nil
	}
	return m.invalid, false, nil
}
