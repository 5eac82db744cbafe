package ivr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// Fake timings of the scripted caller, in the synctest bubble's fake time.
const (
	promptTime = 2 * time.Second // each prompt plays this long
	keyDelay   = time.Second     // a key comes this long after the caller starts waiting
)

// scriptedCall is a Call whose caller follows a script and which writes a
// transcript of everything the engine asks of it. Script tokens, consumed in
// order by the engine's menu reads:
//
//	"1"      the caller presses 1 after the menu prompt (during ReadDigit)
//	"^1"     the caller presses 1 during the menu prompt (barge-in)
//	"-"      the caller presses nothing; ReadDigit times out
//	"hangup" the caller hangs up during the next prompt or wait
//	"hangup-on-wait" the caller hangs up after the next prompt, while the engine waits for a key
//
// Play of a non-interruptible prompt consumes only a "hangup".
type scriptedCall struct {
	t       *testing.T
	script  []string
	hangup  context.CancelFunc
	start   time.Time
	hungUp  time.Time // when the caller hung up
	out     strings.Builder
	enqueue func(ctx context.Context) error // nil: the contact is served at once
}

func newScriptedCall(t *testing.T, script string, hangup context.CancelFunc) *scriptedCall {
	return &scriptedCall{t: t, script: strings.Fields(script), hangup: hangup, start: time.Now()}
}

func (c *scriptedCall) logf(format string, args ...any) {
	fmt.Fprintf(&c.out, "%-4s ", time.Since(c.start))
	fmt.Fprintf(&c.out, format, args...)
	c.out.WriteByte('\n')
}

// wait lets d of fake time pass, or returns early when ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hangUp plays out the caller hanging up: the lifecycle package cancels the
// call's context, and the blocked method returns with its error.
func (c *scriptedCall) hangUp(ctx context.Context) error {
	c.script = c.script[1:]
	c.logf("caller hangs up")
	c.hungUp = time.Now()
	c.hangup()
	<-ctx.Done()
	return ctx.Err()
}

func (c *scriptedCall) peek() string {
	if len(c.script) == 0 {
		return ""
	}
	return c.script[0]
}

func (c *scriptedCall) Play(ctx context.Context, lang call.Language, prompts []string, interruptible bool) (call.Digit, error) {
	if c.peek() == "hangup" {
		return 0, c.hangUp(ctx)
	}
	if tok := c.peek(); interruptible && strings.HasPrefix(tok, "^") && len(tok) == 2 {
		c.script = c.script[1:]
		c.logf("play %s %v", lang, prompts)
		if err := wait(ctx, keyDelay); err != nil {
			return 0, err
		}
		c.logf("key %s during the prompt", tok[1:])
		return call.Digit(tok[1]), nil
	}
	c.logf("play %s %v", lang, prompts)
	return 0, wait(ctx, time.Duration(len(prompts))*promptTime)
}

func (c *scriptedCall) ReadDigit(ctx context.Context, timeout time.Duration) (call.Digit, error) {
	tok := c.peek()
	switch {
	case tok == "":
		c.t.Errorf("script exhausted: the engine wants another key (transcript so far:\n%s)", c.out.String())
		return 0, errors.New("script exhausted")
	case tok == "hangup" || tok == "hangup-on-wait":
		if err := wait(ctx, keyDelay); err != nil {
			return 0, err
		}
		return 0, c.hangUp(ctx)
	case tok == "-":
		c.script = c.script[1:]
		if err := wait(ctx, timeout); err != nil {
			return 0, err
		}
		c.logf("no key within %s", timeout)
		return 0, nil
	case len(tok) == 1:
		c.script = c.script[1:]
		if err := wait(ctx, keyDelay); err != nil {
			return 0, err
		}
		c.logf("key %s", tok)
		return call.Digit(tok[0]), nil
	}
	c.t.Fatalf("bad script token %q", tok)
	return 0, nil
}

func (c *scriptedCall) Callback(_ context.Context, q QueueRequest) (bool, error) {
	c.logf("callback offer %s", q.Queue)
	return true, nil
}

func (c *scriptedCall) Transfer(_ context.Context, target string, _ call.Language) error {
	c.logf("transfer to %s", target)
	return nil
}

func (c *scriptedCall) Enqueue(ctx context.Context, q QueueRequest) error {
	topic := q.Topic
	if topic == "" {
		topic = "-"
	}
	c.logf("enqueue %s topic=%s lang=%s path=%v", q.Queue, topic, q.Language, q.Path)
	if c.enqueue != nil {
		return c.enqueue(ctx)
	}
	return nil
}

// openTime is a Monday morning on which the built-in flow is open.
var openTime = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

// openEnv runs flows at openTime.
func openEnv() Env { return Env{Now: func() time.Time { return openTime }} }

// TestTranscripts runs flows against scripted callers and compares what the
// engine did with testdata/transcripts/<name>.golden.
func TestTranscripts(t *testing.T) {
	retry := flowWith(`  a:
    menu:
      prompt: hoofdmenu
      options: {"1": info, "2": {queue: algemeen}}
      retries: 1
      invalid: {play: [ongeldige-keuze], next: a}
  info: {play: [zie-website], next: a}
`)
	subMenu := flowWith(`  a: {set: {language: en}, next: m}
  m:
    menu:
      prompt: hoofdmenu
      timeout: 3s
      retries: 1
      options:
        "#": {menu: {prompt: kies-taal, options: {"*": {hangup: busy}}}}
      no_input: {queue: algemeen, next: bye}
      exhausted: {queue: paspoort}
  bye: {play: [tot-ziens, tot-ziens]}
`)
	bargeIn := flowWith(`  a: {play: [welkom, kies-taal], barge_in: true, next: b}
  b: {play: [zie-website], barge_in: true, next: c}
  c: {play: [even-geduld], next: m}
  m:
    menu:
      prompt: hoofdmenu
      options: {"1": {queue: paspoort}, "2": z}
  z:
    input: {prompt: geef-zaaknummer, var: zaak, max: 3}
    next: zeg
  zeg: {play: [uw-zaaknummer, {say: digits, var: zaak}]}
`)
	tests := []struct {
		name   string
		flow   string // "" for the built-in flow
		script string
	}{
		{"play-barge-in-answers-menu", bargeIn, "^1"},
		{"play-barge-in-not-used", bargeIn, "- 2 4 5 6"},
		{"input-barge-in-first-digit", bargeIn, "2 ^7 8 9"},
		{"english-passport", "", "2 1"},
		{"dutch-waste", "", "1 2"},
		{"barge-in", "", "^2 ^3"},
		{"no-language-choice", "", "- 0"},
		{"website-goodbye", "", "1 9"},
		{"invalid-then-valid", "", "2 7 ^3"},
		{"exhausted", "", "1 7 8 - 5"},
		{"invalid-key-digit", "", "1 x 1"},
		{"retry-counter-resets", retry, "7 1 7 1 7 7"},
		{"inline-submenu-star", subMenu, "# *"},
		{"no-input-queue-then-next", subMenu, "-"},
		{"second-failure-exhausts", subMenu, "4 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Builtin()
			if tt.flow != "" {
				src = []byte(tt.flow)
			}
			p := mustLoad(t, "t.yaml", src)
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				c := newScriptedCall(t, tt.script, cancel)
				res, err := NewEngine(zerolog.Nop()).RunEnv(ctx, c, p, openEnv())
				if err != nil {
					t.Fatalf("Run: %v\ntranscript:\n%s", err, c.out.String())
				}
				if len(c.script) > 0 {
					t.Errorf("script left over: %q", c.script)
				}
				fmt.Fprintf(&c.out, "result cause=%s lang=%s path=%v\n", res.Cause, res.Language, res.Path)
				golden(t, filepath.Join("transcripts", tt.name+".golden"), []byte(c.out.String()))
			})
		})
	}
}

func TestHangupMidFlow(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	tests := []struct {
		name     string
		script   string
		wantPath []string
		wantLang call.Language
	}{
		{"during first prompt", "hangup", []string{"storing", "openingstijden", "welkom"}, "nl"},
		{"during a menu prompt", "2 hangup", []string{"storing", "openingstijden", "welkom", "taal", "taal:2", "hoofdmenu"}, "en"},
		{"while waiting for a key", "2 hangup-on-wait", []string{"storing", "openingstijden", "welkom", "taal", "taal:2", "hoofdmenu"}, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				c := newScriptedCall(t, tt.script, cancel)
				res, err := NewEngine(zerolog.Nop()).RunEnv(ctx, c, p, openEnv())
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run error = %v, want context.Canceled", err)
				}
				if c.hungUp.IsZero() {
					t.Fatalf("the caller never hung up; transcript:\n%s", c.out.String())
				}
				if late := time.Since(c.hungUp); late != 0 {
					t.Errorf("Run returned %s after the caller hung up, want at once", late)
				}
				if len(c.script) > 0 {
					t.Errorf("script left over: %q", c.script)
				}
				if res.Cause != "" {
					t.Errorf("Cause = %q, want empty after an error", res.Cause)
				}
				if !slices.Equal(res.Path, tt.wantPath) {
					t.Errorf("Path = %q, want %q", res.Path, tt.wantPath)
				}
				if res.Language != tt.wantLang {
					t.Errorf("Language = %q, want %q", res.Language, tt.wantLang)
				}
			})
		})
	}
}

// TestHangupWhileQueued cancels the call from outside while Enqueue blocks,
// as the lifecycle package does on BYE, and checks Run returns at once.
func TestHangupWhileQueued(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c := newScriptedCall(t, "1 1", cancel)
		c.enqueue = func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("queue: %w", ctx.Err())
		}
		const hangupAt = time.Minute
		time.AfterFunc(hangupAt, cancel)
		start := time.Now()
		_, err := NewEngine(zerolog.Nop()).RunEnv(ctx, c, p, openEnv())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
		if got := time.Since(start); got != hangupAt {
			t.Errorf("Run returned after %s, want %s (when the caller hung up)", got, hangupAt)
		}
	})
}

func TestEnqueueError(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c := newScriptedCall(t, "1 3", cancel)
		errFull := errors.New("queue full")
		c.enqueue = func(context.Context) error { return errFull }
		res, err := NewEngine(zerolog.Nop()).RunEnv(ctx, c, p, openEnv())
		if !errors.Is(err, errFull) {
			t.Errorf("Run error = %v, want it to wrap %v", err, errFull)
		}
		if got, want := err.Error(), `node "hoofdmenu/3": enqueue in "belastingen": queue full`; got != want {
			t.Errorf("Run error = %q, want %q", got, want)
		}
		if got, want := res.Path, []string{"storing", "openingstijden", "welkom", "taal", "taal:1", "hoofdmenu", "hoofdmenu:3"}; !slices.Equal(got, want) {
			t.Errorf("Path = %q, want %q", got, want)
		}
	})
}

func TestMaxSteps(t *testing.T) {
	// A queue that hands the caller straight back loops without waiting;
	// Compile cannot know that Enqueue returns at once.
	p := mustLoad(t, "t.yaml", []byte(flowWith("  a: {queue: algemeen, next: a}\n")))
	tests := []struct {
		name      string
		opts      []Option
		wantCalls int
	}{
		{"default", nil, DefaultMaxSteps},
		{"configured", []Option{WithMaxSteps(10)}, 10},
		{"zero keeps the default", []Option{WithMaxSteps(0)}, DefaultMaxSteps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			c := &countingCall{enqueue: func() { calls++ }}
			_, err := NewEngine(zerolog.Nop(), tt.opts...).Run(t.Context(), c, p)
			if !errors.Is(err, ErrMaxSteps) {
				t.Fatalf("Run error = %v, want ErrMaxSteps", err)
			}
			if calls != tt.wantCalls {
				t.Errorf("Enqueue called %d times, want %d", calls, tt.wantCalls)
			}
		})
	}
}

// countingCall answers at once: no keys, every queue served immediately.
type countingCall struct {
	enqueue func()
}

func (c *countingCall) Play(context.Context, call.Language, []string, bool) (call.Digit, error) {
	return 0, nil
}

func (c *countingCall) ReadDigit(context.Context, time.Duration) (call.Digit, error) { return 0, nil }

func (c *countingCall) Enqueue(context.Context, QueueRequest) error {
	if c.enqueue != nil {
		c.enqueue()
	}
	return nil
}

func (c *countingCall) Callback(context.Context, QueueRequest) (bool, error) { return true, nil }

func (c *countingCall) Transfer(context.Context, string, call.Language) error { return nil }

func TestRunAlreadyCancelled(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := NewEngine(zerolog.Nop()).Run(ctx, &countingCall{}, p)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	if len(res.Path) != 0 {
		t.Errorf("Path = %q, want empty", res.Path)
	}
}

func TestRunNotCompiled(t *testing.T) {
	for _, p := range []*Program{nil, {}} {
		if _, err := NewEngine(zerolog.Nop()).Run(t.Context(), &countingCall{}, p); err == nil {
			t.Errorf("Run(%v) succeeded, want an error", p)
		}
	}
}

// TestConcurrentRuns shares one Program and one Engine between many calls
// (run with -race).
func TestConcurrentRuns(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	e := NewEngine(zerolog.Nop())
	synctest.Test(t, func(t *testing.T) {
		scripts := []string{"2 1", "1 9", "1 7 8 - 5", "^2 ^3"}
		done := make(chan error, len(scripts))
		for _, s := range scripts {
			go func() {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				_, err := e.RunEnv(ctx, newScriptedCall(t, s, cancel), p, openEnv())
				done <- err
			}()
		}
		for range scripts {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	})
}

// TestTranscriptFilesUsed catches golden files left behind by renamed tests.
func TestTranscriptFilesUsed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "transcripts", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata/transcripts")
	}
	src, err := os.ReadFile("engine_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		if !strings.Contains(string(src), `"`+name+`"`) {
			t.Errorf("%s belongs to no test case", f)
		}
	}
}

func TestCallerMatches(t *testing.T) {
	tests := []struct {
		pat, caller string
		want        bool
	}{
		{"+316*", "+31612345678", true},
		{"+316*", "+31701234567", false},
		{"06????????", "0612345678", true},
		{"06????????", "061234567", false},
		{"06????????", "06123456789", false},
		{"*", "+31612345678", true},
		{"*", "", false},
		{"withheld", "", true},
		{"withheld", "anonymous", true},
		{"withheld", "+31612345678", false},
		{"+31*78", "+31612345678", true},
		{"+31*79", "+31612345678", false},
		{"?", "+", false},
	}
	for _, tt := range tests {
		t.Run(tt.pat+" "+tt.caller, func(t *testing.T) {
			if got := callerMatches(tt.pat, tt.caller); got != tt.want {
				t.Errorf("callerMatches(%q, %q) = %v, want %v", tt.pat, tt.caller, got, tt.want)
			}
		})
	}
}

// TestSayInFallbackLanguage plays a flow in a language without a sayer
// grammar: its say items play in the fallback language, in a Play of their
// own, between the prompts of the call's language.
func TestSayInFallbackLanguage(t *testing.T) {
	src := "flow: t\nnumbers: [\"1\"]\nlanguages: [fy]\nstart: a\nnodes:\n  a: {play: [welkom, {say: minutes, value: 1}, tot-ziens]}\n"
	p := mustLoad(t, "t.yaml", []byte(src))
	tr, err := Simulate(p, SimOptions{At: openTime})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"play fy [welkom]", "play nl [num-1 say-minute]", "play fy [tot-ziens]"}
	if got := tr.Lines[1:]; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
	if _, err := Load("t.yaml", []byte(src), nil); err == nil || !strings.Contains(err.Error(), "no sayer speaks fy or its fallbacks") {
		t.Errorf("Load without a Checker (no fallback chain): err = %v, want a no-sayer error", err)
	}
}

// TestEnvVars checks initial variables, that the built-in ones cannot be
// overridden through Env.Vars, and what a queue receives.
func TestEnvVars(t *testing.T) {
	src := "flow: t\nnumbers: [\"1\"]\nlanguages: [nl, en]\nstart: a\nvars: {afdeling: balie}\nnodes:\n  a: {queue: algemeen}\n"
	p := mustLoad(t, "t.yaml", []byte(src))
	var got QueueRequest
	c := &recordingCall{enqueue: func(q QueueRequest) { got = q }}
	env := Env{Language: "en", Vars: map[string]string{"extra": "x", "language": "nl", "caller": "112"}}
	res, err := NewEngine(zerolog.Nop()).RunEnv(t.Context(), c, p, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"afdeling": "balie", "extra": "x"}; !maps.Equal(got.Vars, want) {
		t.Errorf("QueueRequest.Vars = %v, want %v", got.Vars, want)
	}
	if got.Language != "en" || res.Language != "en" {
		t.Errorf("language = %q (result %q), want en from Env.Language", got.Language, res.Language)
	}
}

// recordingCall answers at once and records queue requests.
type recordingCall struct {
	countingCall
	enqueue func(QueueRequest)
}

func (c *recordingCall) Enqueue(_ context.Context, q QueueRequest) error {
	c.enqueue(q)
	return nil
}
