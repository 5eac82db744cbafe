package flows

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func flowYAML(name, number, prompt string) string {
	return `flow: "` + name + `"
numbers: ["` + number + `"]
languages: [nl]
start: a
nodes:
  a: {play: [` + prompt + `], next: b}
  b: {hangup: normal}
`
}

// fixture is a library over one flow file in a temporary directory, with a
// clock that moves one second per load.
type fixture struct {
	*Library
	file string
	now  time.Time
}

func newFixture(t *testing.T, src string) *fixture {
	t.Helper()
	f := &fixture{file: filepath.Join(t.TempDir(), "flow.yaml"), now: time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)}
	f.write(t, src)
	lib, err := New(Config{Files: []string{f.file}, Now: func() time.Time { f.now = f.now.Add(time.Second); return f.now }}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	f.Library = lib
	return f
}

func (f *fixture) write(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile(f.file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// playing returns the first prompt name in the source of the version
// answering number, via its version id.
func (f *fixture) current(t *testing.T, number string) string {
	t.Helper()
	_, id, ok := f.Program(number)
	if !ok {
		t.Fatalf("no program for %s", number)
	}
	return id
}

func TestReloadSwapsAndKeepsOldPrograms(t *testing.T) {
	f := newFixture(t, flowYAML("t", "1234", "welkom"))
	old, v1, _ := f.Program("1234")
	if !strings.HasSuffix(v1, "-20261127T130001Z") || len(v1) != 12+1+16 {
		t.Errorf("version id %q, want <12 hex>-20261127T130001Z", v1)
	}
	if got, err := f.Reload(); err != nil || len(got) != 0 {
		t.Fatalf("Reload of an unchanged file = %v, %v; want no new version", got, err)
	}
	f.write(t, flowYAML("t", "1234", "tot-ziens"))
	got, err := f.Reload()
	if err != nil || len(got) != 1 || got[0].Flow != "t" {
		t.Fatalf("Reload = %+v, %v; want one new version of t", got, err)
	}
	prog, v2, _ := f.Program("1234")
	if v2 == v1 || v2 != got[0].ID || prog == old {
		t.Errorf("after reload version %s (was %s), program changed %v", v2, v1, prog != old)
	}
	if old.Version() == prog.Version() {
		t.Error("the old program's content version equals the new one's")
	}
}

func TestBrokenFileKeepsRunningVersion(t *testing.T) {
	f := newFixture(t, flowYAML("t", "1234", "welkom"))
	v1 := f.current(t, "1234")
	f.write(t, "flow: t\nnumbers: [\"1234\"]\nlanguages: [nl]\nstart: nowhere\nnodes:\n  a: {hangup: normal}\n  a2: {bogus: 1}\n")
	_, err := f.Reload()
	if err == nil {
		t.Fatal("Reload accepted a broken flow")
	}
	for _, want := range []string{"flow.yaml:7:8:", `unknown key "bogus"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if v := f.current(t, "1234"); v != v1 {
		t.Errorf("running version %s after a refused reload, want %s", v, v1)
	}
	os.Remove(f.file)
	if _, err := f.Reload(); err == nil || f.current(t, "1234") != v1 {
		t.Errorf("a missing file: Reload err %v, version %s; want an error and %s", err, f.current(t, "1234"), v1)
	}
}

func TestRollbackPinsUntilNewContent(t *testing.T) {
	f := newFixture(t, flowYAML("t", "1234", "welkom"))
	v1 := f.current(t, "1234")
	if _, err := f.Rollback("t"); !errors.Is(err, ErrNoPrevious) {
		t.Errorf("Rollback with one version: %v, want ErrNoPrevious", err)
	}
	if _, err := f.Rollback("nope"); !errors.Is(err, ErrUnknownFlow) {
		t.Errorf("Rollback of an unknown flow: %v, want ErrUnknownFlow", err)
	}
	f.write(t, flowYAML("t", "1234", "tot-ziens"))
	if _, err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	v2 := f.current(t, "1234")
	back, err := f.Rollback("t")
	if err != nil || back.ID != v1 || f.current(t, "1234") != v1 {
		t.Fatalf("Rollback = %s, %v; current %s; want %s", back.ID, err, f.current(t, "1234"), v1)
	}
	if st := f.Status(); len(st) != 1 || !st[0].Pinned || st[0].Current != v1 || len(st[0].Versions) != 2 {
		t.Errorf("Status = %+v, want t pinned at %s with 2 versions", st, v1)
	}
	// The file still holds v2's content: a reload keeps the pin.
	if _, err := f.Reload(); err != nil || f.current(t, "1234") != v1 {
		t.Errorf("reload while pinned: %v, current %s; want %s", err, f.current(t, "1234"), v1)
	}
	// Unpin returns to the file's version without a new one.
	if got, err := f.Unpin("t"); err != nil || len(got) != 0 || f.current(t, "1234") != v2 {
		t.Errorf("Unpin = %v, %v; current %s; want %s", got, err, f.current(t, "1234"), v2)
	}
	// Pinned again, then new content arrives: it runs and the pin is gone.
	if _, err := f.Rollback("t"); err != nil {
		t.Fatal(err)
	}
	f.write(t, flowYAML("t", "1234", "even-geduld"))
	got, err := f.Reload()
	if err != nil || len(got) != 1 || f.current(t, "1234") != got[0].ID {
		t.Fatalf("new content while pinned: %+v, %v; current %s", got, err, f.current(t, "1234"))
	}
	if st := f.Status(); st[0].Pinned || len(st[0].Versions) != 3 {
		t.Errorf("after new content: pinned %v, %d versions; want unpinned, 3", st[0].Pinned, len(st[0].Versions))
	}
}

func TestNumberClaimedTwiceIsRefused(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	os.WriteFile(a, []byte(flowYAML("a", "1234", "welkom")), 0o644)
	os.WriteFile(b, []byte(flowYAML("b", "5678", "welkom")), 0o644)
	lib, err := New(Config{Files: []string{a, b}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	_, vb, _ := lib.Program("5678")
	os.WriteFile(b, []byte(flowYAML("b", "1234", "welkom")), 0o644)
	if _, err := lib.Reload(); err == nil || !strings.Contains(err.Error(), "number 1234 is answered by flows a and b") {
		t.Errorf("Reload = %v, want the number conflict", err)
	}
	if _, v, ok := lib.Program("5678"); !ok || v != vb {
		t.Errorf("5678 after the refused reload: %s %v, want %s", v, ok, vb)
	}
	os.WriteFile(b, []byte(flowYAML("a", "5678", "welkom")), 0o644)
	if _, err := lib.Reload(); err == nil || !strings.Contains(err.Error(), `flow "a" is defined by two files`) {
		t.Errorf("Reload = %v, want the duplicate flow name", err)
	}
	if _, err := New(Config{Files: []string{filepath.Join(dir, "missing.yaml")}}, zerolog.Nop()); err == nil {
		t.Error("New with a missing file succeeded")
	}
}

func TestBuiltin(t *testing.T) {
	lib, err := New(Config{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if p, _, ok := lib.Program("14070"); !ok || p.Name() != "14070" {
		t.Fatalf("built-in flow not answering 14070")
	}
	if ps := lib.Programs(); len(ps) != 1 {
		t.Errorf("Programs() = %d, want 1", len(ps))
	}
}

func TestDeployedIsToldOfEveryNewVersionOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "flow.yaml")
	write := func(src string) {
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(flowYAML("t", "1234", "welkom"))
	var told []Version
	lib, err := New(Config{Files: []string{file}, Deployed: func(v Version) { told = append(told, v) }}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Reload(); err != nil { // unchanged: nothing new
		t.Fatal(err)
	}
	write("broken: [")
	if _, err := lib.Reload(); err == nil {
		t.Fatal("a broken file was deployed")
	}
	v2 := flowYAML("t", "1234", "tot-ziens")
	write(v2)
	if _, err := lib.Reload(); err != nil {
		t.Fatal(err)
	}
	if len(told) != 2 || told[0].Flow != "t" || string(told[1].Source) != v2 || told[0].ID == told[1].ID {
		t.Fatalf("Deployed was told %d versions, want the first and the changed one with their text", len(told))
	}
	_, current, _ := lib.Program("1234")
	if told[1].ID != current {
		t.Errorf("last version told %s, running %s", told[1].ID, current)
	}
}
