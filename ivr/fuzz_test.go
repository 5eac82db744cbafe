package ivr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// FuzzParse feeds arbitrary bytes to Load: it must never panic or hang,
// every problem must carry the file name, and whatever compiles must run to
// an end against a caller pressing keys taken from the same bytes.
// Long fuzzing: go test -run='^$' -fuzz=FuzzParse -fuzztime=5m ./ivr
func FuzzParse(f *testing.F) {
	f.Add(Builtin())
	seeds, err := filepath.Glob(filepath.Join("testdata", "flows", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	broken, err := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, broken...)
	for _, s := range seeds {
		src, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{
		"",
		"flow: [\n",
		"flow: &a x\nnumbers: [*a, *a]\n",
		"a: &a [*a]\n",
		"- - - - -\n",
		flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": {menu: {prompt: kies-taal, options: {\"2\": a}}}}}}\n"),
		flowWith("  a: {queue: algemeen, next: a}\n"),
		flowWith("  a: {play: welkom, next: b}\n  b: {set: {language: en}, next: a}\n"),
		"flow: t\n---\nflow: u\n",
		"hours: {}\nholidays: []\nincident: x\n",
		flowWith("  a: {input: {prompt: welkom, var: x, min: 2, max: 3, pattern: \"[0-9]+\"}, next: b}\n  b: {play: [{say: digits, var: x}, {say: minutes, var: x, approx: about}]}\n"),
		flowWith("  a: {branch: {cases: [{caller: [\"+31*\", withheld], time: \"22:00-06:00\", days: sat-mon, next: a}], default: {goto: a}}}\n"),
		flowWith("  a: {branch: {cases: [{queue: algemeen, waiting_at_least: 1, available_below: 2, next: b}, {incident: s, next: b}], default: b}}\n  b: {incident: s, next: a}\n"),
		"flow: t\nnumbers: [\"1\"]\nlanguages: [nl]\nstart: a\nschedules: {k: {timezone: Europe/Amsterdam, weekly: {mon-sun: \"00:00-24:00\"}}}\nnodes:\n  a: {hours: k, open: b, closed: a, holiday: b, early_close: b}\n  b: {branch: {cases: [{open: k, next: a}, {closed: k, next: b}]}}\n",
		flowWith("  a: {hours: {timezone: UTC, weekly: {mon: [\"08:00-09:00\"]}, special_dates: {\"2026-01-01\": []}}, open: a, closed: a}\n"),
		flowWith("  a: {set: {x: \"1\", language: en}, next: b}\n  b: {play: [welkom], barge_in: true, next: c}\n  c: {queue: algemeen, priority: 3, skills: [a, b], topic: T}\n"),
		flowWith("  a: {queue: algemeen, care: true, unavailable: {callback: {queue: afval, topic: T, priority: 2, skills: [s]}, next: b}, next: b}\n  b: {transfer: {target: ggd}, next: c}\n  c: {play: [welkom], next: a}\n"),
		flowWith("  a: {queue: algemeen, unavailable: b}\n  b: {callback: {queue: algemeen}, next: a}\n"),
		flowWith("  a: {transfer: {target: \"0701234567\"}, callback: {queue: x}, care: ja}\n"),
		flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": {callback: {queue: paspoort}}, \"2\": {transfer: {target: wijkagent}}}}}\n"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Load("fuzz.yaml", src, builtinChecker())
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Errorf("problem without a position: %q", line)
				}
			}
			return
		}
		c := &byteCall{keys: src}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		env := Env{
			Caller:    "+31612345678",
			Now:       func() time.Time { return fuzzTime },
			Queues:    fakeQueues{waiting: len(src) % 7, available: len(src) % 3},
			Incidents: fakeIncidents{"s": {"drukte"}},
			Trace:     func(Event) {},
		}
		res, err := NewEngine(zerolog.Nop(), WithMaxSteps(200)).RunEnv(ctx, c, p, env)
		if err != nil && !errors.Is(err, ErrMaxSteps) {
			t.Errorf("Run: %v", err)
		}
		if err == nil && res.Cause == "" {
			t.Errorf("Run ended without error and without a cause")
		}
	})
}

// fuzzTime is the clock of fuzzed runs: a Monday, within most schedules.
var fuzzTime = time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)

// byteCall answers at once with keys taken in turn from keys; a byte that is
// not a DTMF key stands for silence.
type byteCall struct {
	keys []byte
	i    int
}

func (c *byteCall) next() call.Digit {
	if len(c.keys) == 0 {
		return 0
	}
	d := call.Digit(c.keys[c.i%len(c.keys)])
	c.i++
	if !d.Valid() {
		return 0
	}
	return d
}

func (c *byteCall) Play(_ context.Context, _ call.Language, _ []string, interruptible bool) (call.Digit, error) {
	if interruptible && c.i%3 == 0 {
		return c.next(), nil
	}
	return 0, nil
}

func (c *byteCall) ReadDigit(context.Context, time.Duration) (call.Digit, error) {
	return c.next(), nil
}

// Enqueue, Callback and Transfer succeed or fail by the next byte, so the
// fuzzer reaches the unavailable, declined and failed ways out too.
func (c *byteCall) Enqueue(context.Context, QueueRequest) error {
	if c.fails() {
		return ErrQueueUnavailable
	}
	return nil
}

func (c *byteCall) Callback(context.Context, QueueRequest) (bool, error) {
	if c.fails() {
		return false, fmt.Errorf("full: %w", ErrQueueUnavailable)
	}
	return c.i%2 == 0, nil
}

func (c *byteCall) Transfer(context.Context, string, call.Language) error {
	if c.fails() {
		return errors.New("not reached")
	}
	return nil
}

// fails takes a byte and reports whether it is odd.
func (c *byteCall) fails() bool {
	if len(c.keys) == 0 {
		return false
	}
	b := c.keys[c.i%len(c.keys)]
	c.i++
	return b%2 == 1
}
