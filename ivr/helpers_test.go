package ivr

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kcc/call"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fakeChecker knows the prompts and queues of the built-in configuration,
// with English falling back to Dutch like the prompt catalogue.
type fakeChecker struct {
	prompts   map[call.Language][]string
	queues    []string
	transfers []string
	durations map[string]time.Duration // by "lang/name"; 3s when not listed
}

func builtinChecker() fakeChecker {
	names := []string{"welkom", "kies-taal", "hoofdmenu", "ongeldige-keuze", "zie-website", "tot-ziens", "even-geduld", "gesloten", "drukte"}
	return fakeChecker{
		prompts: map[call.Language][]string{
			"nl": append(slices.Clone(names), "alleen-nl", "lang", "geef-zaaknummer", "uw-zaaknummer"),
			"en": append(slices.Clone(names), "geef-zaaknummer", "uw-zaaknummer"),
		},
		queues:    []string{"paspoort", "afval", "belastingen", "algemeen"},
		transfers: []string{"wijkagent", "ggd"},
		durations: map[string]time.Duration{"nl/lang": 45 * time.Second},
	}
}

func (c fakeChecker) Chain(lang call.Language) []call.Language {
	switch lang {
	case "en":
		return []call.Language{"en", "nl"}
	case "fy": // Frisian: no recordings and no sayer grammar of its own
		return []call.Language{"fy", "nl"}
	}
	return []call.Language{lang}
}

func (c fakeChecker) PromptDuration(lang call.Language, name string) time.Duration {
	if !c.HasPrompt(lang, name) {
		return 0
	}
	if d, ok := c.durations[string(lang)+"/"+name]; ok {
		return d
	}
	return 3 * time.Second
}

func (c fakeChecker) HasPrompt(lang call.Language, name string) bool {
	if (lang == "nl" || lang == "en") && (strings.HasPrefix(name, "num-") || strings.HasPrefix(name, "ord-") || strings.HasPrefix(name, "say-")) {
		return true // the sayers' words
	}
	for _, n := range c.prompts[lang] {
		if n == name {
			return true
		}
	}
	return false
}

func (c fakeChecker) HasTransferTarget(name string) bool { return slices.Contains(c.transfers, name) }

func (c fakeChecker) HasQueue(name string) bool {
	for _, q := range c.queues {
		if q == name {
			return true
		}
	}
	return false
}

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func mustLoad(t testing.TB, name string, src []byte) *Program {
	t.Helper()
	p, err := Load(name, src, builtinChecker())
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return p
}
