package ivr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// outcomeCall answers at once, with what its fields say, and records what
// the engine asked: "queue Q", "callback Q" and "transfer T LANG".
type outcomeCall struct {
	countingCall
	enqueue  error
	accepted bool
	callback error
	transfer error
	cancel   context.CancelFunc // when set, called before each answer (the caller hangs up)
	asked    []string
	requests []QueueRequest
}

func (c *outcomeCall) hangUp() {
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *outcomeCall) Enqueue(_ context.Context, q QueueRequest) error {
	c.hangUp()
	c.asked = append(c.asked, "queue "+q.Queue)
	c.requests = append(c.requests, q)
	return c.enqueue
}

func (c *outcomeCall) Callback(_ context.Context, q QueueRequest) (bool, error) {
	c.hangUp()
	c.asked = append(c.asked, "callback "+q.Queue)
	c.requests = append(c.requests, q)
	return c.accepted, c.callback
}

func (c *outcomeCall) Transfer(_ context.Context, target string, lang call.Language) error {
	c.hangUp()
	c.asked = append(c.asked, fmt.Sprintf("transfer %s %s", target, lang))
	return c.transfer
}

// TestQueueCallbackTransferOutcomes runs the ways out of queue, callback and
// transfer nodes: where the flow goes, its cause and path, and which errors
// end the run.
func TestQueueCallbackTransferOutcomes(t *testing.T) {
	full := fmt.Errorf("enqueue: queue is full: %w", ErrQueueUnavailable)
	withUnavailable := flowWith(`  a: {queue: paspoort, unavailable: b, next: c}
  b: {play: [drukte], next: c}
  c: {hangup: busy}
`)
	withNext := flowWith("  a: {queue: paspoort, next: c}\n  c: {hangup: busy}\n")
	bare := flowWith("  a: {queue: paspoort}\n")
	inline := flowWith("  a: {queue: paspoort, unavailable: {play: [drukte]}}\n")
	cb := flowWith(`  a: {set: {language: en}, next: m}
  m:
    callback: {queue: afval, topic: Afval, priority: 7, skills: [spoed]}
    next: t
  t:
    transfer: {target: wijkagent}
    next: z
  z: {play: [tot-ziens]}
`)
	tests := []struct {
		name      string
		flow      string
		call      outcomeCall
		hangUp    bool
		wantAsked []string
		wantCause string
		wantPath  []string
		wantErr   error // nil: no error
	}{
		{"queued, then next", withUnavailable, outcomeCall{}, false,
			[]string{"queue paspoort"}, CauseBusy, []string{"a", "c"}, nil},
		{"unavailable goes to unavailable", withUnavailable, outcomeCall{enqueue: full}, false,
			[]string{"queue paspoort"}, CauseBusy, []string{"a", "a:unavailable", "b", "c"}, nil},
		{"unavailable without unavailable goes to next", withNext, outcomeCall{enqueue: full}, false,
			[]string{"queue paspoort"}, CauseBusy, []string{"a", "a:unavailable", "c"}, nil},
		{"unavailable without either ends normally, not queued", bare, outcomeCall{enqueue: full}, false,
			[]string{"queue paspoort"}, CauseNormal, []string{"a", "a:unavailable"}, nil},
		{"unavailable to an inline node", inline, outcomeCall{enqueue: full}, false,
			[]string{"queue paspoort"}, CauseNormal, []string{"a", "a:unavailable"}, nil},
		{"another enqueue error fails the run", withUnavailable, outcomeCall{enqueue: errors.New("router closed")}, false,
			[]string{"queue paspoort"}, "", []string{"a"}, errors.New("router closed")},
		{"unavailable after the caller hung up ends the run", withUnavailable, outcomeCall{enqueue: full}, true,
			[]string{"queue paspoort"}, "", []string{"a"}, context.Canceled},
		{"callback accepted ends the flow", cb, outcomeCall{accepted: true}, false,
			[]string{"callback afval"}, CauseCallback, []string{"a", "m"}, nil},
		{"callback declined, transfer connects", cb, outcomeCall{}, false,
			[]string{"callback afval", "transfer wijkagent en"}, CauseTransferred, []string{"a", "m", "m:declined", "t"}, nil},
		{"callback refused by routing, transfer fails", cb,
			outcomeCall{accepted: true, callback: full, transfer: errors.New("486 busy")}, false,
			[]string{"callback afval", "transfer wijkagent en"}, CauseNormal,
			[]string{"a", "m", "m:declined", "t", "t:failed", "z"}, nil},
		{"another callback error fails the run", cb, outcomeCall{callback: errors.New("store down")}, false,
			[]string{"callback afval"}, "", []string{"a", "m"}, errors.New("store down")},
		{"a transfer the caller hung up on ends the run", flowWith("  a: {transfer: {target: ggd}, next: b}\n  b: {play: [tot-ziens]}\n"),
			outcomeCall{transfer: errors.New("cancelled")}, true,
			[]string{"transfer ggd nl"}, "", []string{"a"}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, "t.yaml", []byte(tt.flow))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			c := tt.call
			if tt.hangUp {
				c.cancel = cancel
			}
			res, err := NewEngine(zerolog.Nop()).RunEnv(ctx, &c, p, openEnv())
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("RunEnv: %v", err)
			case tt.wantErr != nil && (err == nil || !errors.Is(err, tt.wantErr) && !strings.Contains(err.Error(), tt.wantErr.Error())):
				t.Fatalf("RunEnv error = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(c.asked, tt.wantAsked) {
				t.Errorf("asked %q, want %q", c.asked, tt.wantAsked)
			}
			if res.Cause != tt.wantCause || !slices.Equal(res.Path, tt.wantPath) {
				t.Errorf("cause %q, path %q; want %q, %q", res.Cause, res.Path, tt.wantCause, tt.wantPath)
			}
		})
	}
}

// TestCallbackAndCareRequests: a callback node hands routing what a queue
// node would, and a queue node's care flag reaches routing.
func TestCallbackAndCareRequests(t *testing.T) {
	src := `flow: t
numbers: ["1"]
languages: [nl, en]
start: a
vars: {afdeling: balie}
nodes:
  a: {play: [welkom], barge_in: true, next: m}
  m:
    callback: {queue: afval, topic: Afval, priority: 7, skills: [spoed, nl-taal]}
    next: q
  q: {queue: paspoort, care: true, next: r}
  r: {queue: algemeen, care: false}
`
	p := mustLoad(t, "t.yaml", []byte(src))
	c := &outcomeCall{}
	if _, err := NewEngine(zerolog.Nop()).RunEnv(t.Context(), c, p, Env{Language: "en"}); err != nil {
		t.Fatal(err)
	}
	if len(c.requests) != 3 {
		t.Fatalf("%d requests, want 3", len(c.requests))
	}
	got := c.requests[0]
	want := QueueRequest{Queue: "afval", Topic: "Afval", Language: "en", Priority: 7, Skills: []string{"spoed", "nl-taal"},
		Vars: map[string]string{"afdeling": "balie"}, Path: []string{"a", "m"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("callback request:\n got %+v\nwant %+v", got, want)
	}
	if !c.requests[1].Care || c.requests[2].Care {
		t.Errorf("care flags %v, %v; want true, false", c.requests[1].Care, c.requests[2].Care)
	}
}

// TestTransferTargetsAreChecked: a transfer names a configured target; with
// no Checker (a flow validated on its own) any valid name passes, but never
// a number.
func TestTransferTargetsAreChecked(t *testing.T) {
	src := func(target string) []byte {
		return []byte(flowWith(fmt.Sprintf("  a: {transfer: {target: %q}}\n", target)))
	}
	if _, err := Load("t.yaml", src("ggd"), builtinChecker()); err != nil {
		t.Errorf("configured target: %v", err)
	}
	if _, err := Load("t.yaml", src("burgemeester"), nil); err != nil {
		t.Errorf("any name without a checker: %v", err)
	}
	for _, target := range []string{"0701234567", "+31701234567"} {
		_, err := Load("t.yaml", src(target), nil)
		if err == nil || !strings.Contains(err.Error(), "not a number") {
			t.Errorf("target %s without a checker: %v, want a refusal of numbers", target, err)
		}
	}
	// A configured target whose name happens to be digits is a name.
	chk := builtinChecker()
	chk.transfers = append(chk.transfers, "112")
	if _, err := Load("t.yaml", src("112"), chk); err != nil {
		t.Errorf("configured target 112: %v", err)
	}
}

// TestCallbackTransferWarnings: callback and transfer nodes end a flow, so
// nodes leading only to them are not "never left", and a flow that reaches
// them compiles without warnings.
func TestCallbackTransferWarnings(t *testing.T) {
	src := flowWith(`  a: {play: [welkom], next: b}
  b: {callback: {queue: afval}, next: c}
  c: {transfer: {target: ggd}, next: b2}
  b2: {play: [tot-ziens], next: b}
`)
	p := mustLoad(t, "t.yaml", []byte(src))
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %v, want none", w)
	}
	tr, err := Simulate(p, SimOptions{At: time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC), DeclineCallback: true, FailTransfer: true, MaxSteps: 8})
	if !errors.Is(err, ErrMaxSteps) {
		t.Errorf("Simulate of a callback/transfer loop through a play: %v, want ErrMaxSteps\n%s", err, tr)
	}
}
