package ivr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// SimOptions describe the simulated caller and world of Simulate.
type SimOptions struct {
	// Keys are the keys the caller presses, one per key the flow waits for;
	// 0 stands for pressing nothing (the wait times out). When they run out
	// the caller presses nothing. Keys are pressed after the prompts.
	Keys []call.Digit
	// At is when the call arrives; decisions on time, days and opening
	// hours are taken at this instant. It is required.
	At time.Time
	// Language is the language the call starts in (empty: the flow's first).
	Language call.Language
	// Caller is the caller's number; empty means withheld.
	Caller    string
	Queues    QueueState
	Incidents Incidents
	Vars      map[string]string
	// Prompts, when set, tells the transcript which language each prompt
	// actually plays in: "welkom(nl)" for an English caller hearing the
	// Dutch recording, "welkom(missing)" when no language has it.
	Prompts Checker
	// MaxSteps bounds the run like WithMaxSteps (0: DefaultMaxSteps).
	MaxSteps int
	// Unavailable lists queues that refuse callers (full, or without
	// agents by their empty-queue policy): queue nodes for them go to
	// unavailable, callback nodes to next.
	Unavailable []string
	// DeclineCallback makes the caller decline callback offers; by
	// default the caller accepts.
	DeclineCallback bool
	// FailTransfer makes transfers fail (the target is not reached); by
	// default they connect.
	FailTransfer bool
}

// Transcript is what Simulate saw: one line per prompt played, key read,
// decision taken, queue entered, callback offered and transfer made, and how
// the run ended.
type Transcript struct {
	Lines  []string
	Result Result
}

// String returns the lines and the result, one per line, as "kcc flow
// simulate" prints them.
func (t Transcript) String() string {
	var b strings.Builder
	for _, l := range t.Lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if t.Result.Cause != "" {
		fmt.Fprintf(&b, "end: %s, language %s, path %s\n", t.Result.Cause, t.Result.Language, strings.Join(t.Result.Path, " "))
	}
	return b.String()
}

// Simulate runs p with the same engine as live calls against a scripted
// caller and returns the transcript. An error from the run (such as
// ErrMaxSteps) is returned with the transcript so far.
func Simulate(p *Program, o SimOptions) (Transcript, error) {
	if p == nil || len(p.nodes) == 0 {
		return Transcript{}, errors.New("simulate: not a compiled program (use Compile or Load)")
	}
	if o.At.IsZero() {
		return Transcript{}, errors.New("simulate: no time given; want the instant the call arrives")
	}
	s := &simCall{o: o}
	at := o.At.In(p.loc)
	caller := o.Caller
	if withheld(caller) {
		caller = "withheld"
	}
	s.linef("call at %s from %s", at.Format("Mon 2006-01-02 15:04 MST"), caller)
	env := Env{
		Caller:    o.Caller,
		Language:  o.Language,
		Now:       func() time.Time { return o.At },
		Queues:    o.Queues,
		Incidents: o.Incidents,
		Vars:      o.Vars,
		Trace:     func(e Event) { s.linef("%s: %s", e.Node, e.Text) },
	}
	res, err := NewEngine(zerolog.Nop(), WithMaxSteps(o.MaxSteps)).RunEnv(context.Background(), s, p, env)
	t := Transcript{Lines: s.lines, Result: res}
	if err != nil {
		return t, fmt.Errorf("simulate: %w", err)
	}
	return t, nil
}

// ParseKeys parses keys as "kcc flow simulate --keys" takes them: DTMF keys
// separated by commas, or written together ("1,2,#" or "12#"); "-" stands
// for pressing nothing at that point.
func ParseKeys(s string) ([]call.Digit, error) {
	var out []call.Digit
	for _, r := range strings.ReplaceAll(strings.ReplaceAll(s, ",", ""), " ", "") {
		switch d := call.Digit(r); {
		case r == '-':
			out = append(out, 0)
		case r < 128 && d.Valid():
			out = append(out, d)
		default:
			return nil, fmt.Errorf("keys %q: %q is not a DTMF key (want 0-9, *, #, A-D, or - for no key)", s, r)
		}
	}
	return out, nil
}

// simCall is the scripted caller of Simulate; it records what the engine
// asks of it.
type simCall struct {
	o     SimOptions
	next  int
	lines []string
}

func (s *simCall) linef(format string, args ...any) {
	s.lines = append(s.lines, fmt.Sprintf(format, args...))
}

func (s *simCall) Play(_ context.Context, lang call.Language, names []string, _ bool) (call.Digit, error) {
	shown := names
	if chk := s.o.Prompts; chk != nil {
		shown = make([]string, len(names))
		for i, n := range names {
			shown[i] = n
			if chk.HasPrompt(lang, n) {
				continue
			}
			found := "missing"
			chain := chk.Chain(lang)
			if len(chain) > 1 {
				for _, l := range chain[1:] {
					if chk.HasPrompt(l, n) {
						found = string(l)
						break
					}
				}
			}
			shown[i] = n + "(" + found + ")"
		}
	}
	s.linef("play %s [%s]", lang, strings.Join(shown, " "))
	return 0, nil
}

func (s *simCall) ReadDigit(_ context.Context, timeout time.Duration) (call.Digit, error) {
	var d call.Digit
	if s.next < len(s.o.Keys) {
		d = s.o.Keys[s.next]
		s.next++
	}
	if d == 0 {
		s.linef("no key within %s", timeout)
		return 0, nil
	}
	s.linef("key %s", d)
	return d, nil
}

func (s *simCall) Enqueue(_ context.Context, q QueueRequest) error {
	line := "queue " + queueLine(q)
	if slices.Contains(s.o.Unavailable, q.Queue) {
		s.lines = append(s.lines, line+": unavailable")
		return fmt.Errorf("queue %s: %w", q.Queue, ErrQueueUnavailable)
	}
	s.lines = append(s.lines, line)
	return nil
}

func (s *simCall) Callback(_ context.Context, q QueueRequest) (bool, error) {
	line := "callback offer " + queueLine(q)
	switch {
	case slices.Contains(s.o.Unavailable, q.Queue):
		s.lines = append(s.lines, line+": queue unavailable")
		return false, fmt.Errorf("callback in %s: %w", q.Queue, ErrQueueUnavailable)
	case s.o.DeclineCallback:
		s.lines = append(s.lines, line+": declined")
		return false, nil
	}
	s.lines = append(s.lines, line+": accepted")
	return true, nil
}

func (s *simCall) Transfer(_ context.Context, target string, lang call.Language) error {
	if s.o.FailTransfer {
		s.linef("transfer to %s language %s: not reached", target, lang)
		return fmt.Errorf("transfer to %s: not reached (simulated)", target)
	}
	s.linef("transfer to %s language %s: connected", target, lang)
	return nil
}

// queueLine describes what a queue or callback node hands to routing.
func queueLine(q QueueRequest) string {
	line := q.Queue
	if q.Topic != "" {
		line += fmt.Sprintf(" topic %q", q.Topic)
	}
	if q.Priority != 0 {
		line += fmt.Sprintf(" priority %d", q.Priority)
	}
	if len(q.Skills) > 0 {
		line += " skills " + strings.Join(q.Skills, ",")
	}
	if q.Care {
		line += " care"
	}
	line += " language " + string(q.Language)
	if len(q.Vars) > 0 {
		var vs []string
		for _, k := range slices.Sorted(maps.Keys(q.Vars)) {
			vs = append(vs, fmt.Sprintf("%s=%q", k, q.Vars[k]))
		}
		line += " vars " + strings.Join(vs, " ")
	}
	return line
}
