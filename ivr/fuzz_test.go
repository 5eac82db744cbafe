package ivr

import (
	"context"
	"errors"
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
		res, err := NewEngine(zerolog.Nop(), WithMaxSteps(200)).Run(ctx, c, p)
		if err != nil && !errors.Is(err, ErrMaxSteps) {
			t.Errorf("Run: %v", err)
		}
		if err == nil && res.Cause == "" {
			t.Errorf("Run ended without error and without a cause")
		}
	})
}

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

func (c *byteCall) Enqueue(context.Context, QueueRequest) error { return nil }
