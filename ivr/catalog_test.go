package ivr

import (
	"strings"
	"testing"
	"time"

	"kcc/call"
	"kcc/prompts"
)

// catalogChecker is what cmd/kcc's checker does: the prompt catalogue
// answers for prompts, a list for queues.
type catalogChecker struct {
	cat    *prompts.Catalog
	queues []string
}

func (c catalogChecker) HasPrompt(lang call.Language, name string) bool { return c.cat.Has(lang, name) }
func (c catalogChecker) Chain(lang call.Language) []call.Language       { return c.cat.Chain(lang) }
func (c catalogChecker) HasQueue(name string) bool                      { return builtinChecker().HasQueue(name) }
func (c catalogChecker) HasTransferTarget(name string) bool {
	return builtinChecker().HasTransferTarget(name)
}

func (c catalogChecker) PromptDuration(lang call.Language, name string) time.Duration {
	if p, ok := c.cat.Prompt(lang, name); ok {
		return p.Duration()
	}
	return 0
}

// TestBuiltinFlowWithBuiltinPrompts compiles the built-in flow against the
// built-in prompt set: every prompt exists in both languages and none is
// too long, and the sayers' words of the simulated say items exist.
func TestBuiltinFlowWithBuiltinPrompts(t *testing.T) {
	cat, err := prompts.Load(prompts.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	chk := catalogChecker{cat: cat}
	p, err := Load("14070.yaml", Builtin(), chk)
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %v, want none", w)
	}
	src := "flow: t\nnumbers: [\"1\"]\nlanguages: [nl, en]\nstart: a\nnodes:\n  a: {play: [{say: minutes, value: 21, approx: more-than}, {say: ordinal, value: 3}, {say: digits, value: \"0701\"}]}\n"
	sp := mustLoad(t, "t.yaml", []byte(src))
	for _, lang := range []call.Language{"nl", "en"} {
		tr, err := Simulate(sp, SimOptions{At: openTime, Language: lang, Prompts: chk})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range tr.Lines {
			if strings.Contains(l, "(missing)") || strings.Contains(l, "(nl)") && lang == "en" {
				t.Errorf("%s: a sayer word is not recorded: %s", lang, l)
			}
		}
	}
}
