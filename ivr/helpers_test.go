package ivr

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"kcc/call"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fakeChecker knows the prompts and queues of the built-in configuration.
type fakeChecker struct {
	prompts map[call.Language][]string
	queues  []string
}

func builtinChecker() fakeChecker {
	names := []string{"welkom", "kies-taal", "hoofdmenu", "ongeldige-keuze", "zie-website", "tot-ziens", "even-geduld", "gesloten"}
	return fakeChecker{
		prompts: map[call.Language][]string{"nl": names, "en": names},
		queues:  []string{"paspoort", "afval", "belastingen", "algemeen"},
	}
}

func (c fakeChecker) HasPrompt(lang call.Language, name string) bool {
	for _, n := range c.prompts[lang] {
		if n == name {
			return true
		}
	}
	return false
}

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
