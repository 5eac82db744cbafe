package ivr

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

func BenchmarkLoad(b *testing.B) {
	src := Builtin()
	chk := builtinChecker()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("14070.yaml", src, chk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRun measures the engine's own cost per call: the built-in flow,
// English, passport queue, with a Call that answers at once.
func BenchmarkRun(b *testing.B) {
	p := mustLoad(b, "14070.yaml", Builtin())
	e := NewEngine(zerolog.Nop())
	ctx := context.Background()
	env := openEnv()
	b.ReportAllocs()
	for b.Loop() {
		c := &keysCall{keys: "21"}
		if _, err := e.RunEnv(ctx, c, p, env); err != nil {
			b.Fatal(err)
		}
	}
}

// keysCall answers each ReadDigit with the next of keys, at once.
type keysCall struct {
	keys string
	i    int
}

func (c *keysCall) Play(context.Context, call.Language, []string, bool) (call.Digit, error) {
	return 0, nil
}

func (c *keysCall) ReadDigit(context.Context, time.Duration) (call.Digit, error) {
	if c.i >= len(c.keys) {
		return 0, nil
	}
	c.i++
	return call.Digit(c.keys[c.i-1]), nil
}

func (c *keysCall) Enqueue(context.Context, QueueRequest) error { return nil }

func (c *keysCall) Callback(context.Context, QueueRequest) (bool, error) { return true, nil }

func (c *keysCall) Transfer(context.Context, string, call.Language) error { return nil }
