package ivr

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kcc/call"
)

// amsterdam parses a wall-clock time in Europe/Amsterdam ("2026-04-27 10:00").
func amsterdam(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// fakeIncidents has an active message for the slots listed.
type fakeIncidents map[string][]string

func (f fakeIncidents) Active(slot string, _ time.Time) ([]string, bool) {
	ps, ok := f[slot]
	return ps, ok
}

// fakeQueues reports the same numbers for every queue.
type fakeQueues struct{ waiting, available int }

func (f fakeQueues) Waiting(string) int   { return f.waiting }
func (f fakeQueues) Available(string) int { return f.available }

func keys(t *testing.T, s string) []call.Digit {
	t.Helper()
	ks, err := ParseKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestSimulateBuiltin is the acceptance test of the built-in flow: every
// menu branch, holidays, opening hours across both DST changes of 2026,
// the language switch and exhausted retries, each compared with
// testdata/simulate/<name>.golden.
func TestSimulateBuiltin(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	monday := amsterdam(t, "2026-06-01 10:00")
	tests := []struct {
		name string
		opts SimOptions
	}{
		{"nl-paspoort", SimOptions{Keys: keys(t, "1,1"), At: monday}},
		{"nl-afval", SimOptions{Keys: keys(t, "1,2"), At: monday}},
		{"nl-belastingen", SimOptions{Keys: keys(t, "1,3"), At: monday}},
		{"nl-website", SimOptions{Keys: keys(t, "1,9"), At: monday}},
		{"nl-algemeen", SimOptions{Keys: keys(t, "1,0"), At: monday}},
		{"no-language-choice", SimOptions{Keys: keys(t, "-,2"), At: monday}},
		{"en-switch", SimOptions{Keys: keys(t, "2,1"), At: monday}},
		{"en-start-language", SimOptions{Keys: keys(t, "-,3"), At: monday, Language: "en"}},
		{"invalid-then-valid", SimOptions{Keys: keys(t, "1,7,3"), At: monday}},
		{"exhausted", SimOptions{Keys: keys(t, "1,7,8,-,5"), At: monday}},
		{"exhausted-silent", SimOptions{At: monday}},
		{"incident", SimOptions{Keys: keys(t, "1,1"), At: monday, Incidents: fakeIncidents{"storing": {"drukte"}}}},
		{"koningsdag-2026", SimOptions{At: amsterdam(t, "2026-04-27 10:00")}},
		{"koningsdag-2027", SimOptions{At: amsterdam(t, "2027-04-27 10:00")}},
		{"easter-monday-2026", SimOptions{At: amsterdam(t, "2026-04-06 10:00")}},
		{"easter-monday-2027", SimOptions{At: amsterdam(t, "2027-03-29 10:00")}},
		{"christmas-eve-early-close", SimOptions{At: amsterdam(t, "2026-12-24 16:30")}},
		{"saturday", SimOptions{At: amsterdam(t, "2026-06-06 10:00")}},
		// 2026-03-29 02:00 CET becomes 03:00 CEST: the same UTC instants
		// fall an hour later on the wall clock after the change.
		{"dst-spring-friday-0730z-open", SimOptions{Keys: keys(t, "1,0"), At: utc(t, "2026-03-27T07:30:00Z")}},
		{"dst-spring-friday-1830z-open", SimOptions{Keys: keys(t, "1,0"), At: utc(t, "2026-03-27T18:30:00Z")}},
		{"dst-spring-sunday-closed", SimOptions{At: utc(t, "2026-03-29T10:00:00Z")}},
		{"dst-spring-monday-0630z-open", SimOptions{Keys: keys(t, "1,0"), At: utc(t, "2026-03-30T06:30:00Z")}},
		{"dst-spring-monday-0559z-closed", SimOptions{At: utc(t, "2026-03-30T05:59:00Z")}},
		{"dst-spring-monday-1830z-closed", SimOptions{At: utc(t, "2026-03-30T18:30:00Z")}},
		// 2026-10-25 03:00 CEST becomes 02:00 CET.
		{"dst-autumn-friday-0630z-open", SimOptions{Keys: keys(t, "1,0"), At: utc(t, "2026-10-23T06:30:00Z")}},
		{"dst-autumn-friday-1830z-closed", SimOptions{At: utc(t, "2026-10-23T18:30:00Z")}},
		{"dst-autumn-sunday-closed", SimOptions{At: utc(t, "2026-10-25T10:00:00Z")}},
		{"dst-autumn-monday-0630z-closed", SimOptions{At: utc(t, "2026-10-26T06:30:00Z")}},
		{"dst-autumn-monday-1830z-open", SimOptions{Keys: keys(t, "1,0"), At: utc(t, "2026-10-26T18:30:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Prompts = builtinChecker()
			tr, err := Simulate(p, tt.opts)
			if err != nil {
				t.Fatalf("Simulate: %v\n%s", err, tr)
			}
			golden(t, filepath.Join("simulate", tt.name+".golden"), []byte(tr.String()))
		})
	}
}

// TestSimulateAllNodes runs the flow that uses every node type.
func TestSimulateAllNodes(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "flows", "all-nodes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, "all-nodes.yaml", src)
	monday := amsterdam(t, "2026-06-01 10:00")
	tests := []struct {
		name string
		opts SimOptions
	}{
		{"all-case-number", SimOptions{Keys: keys(t, "1,1,2,3,4,5,6,7,#"), At: monday, Caller: "+31701234567"}},
		{"all-case-number-max-digits", SimOptions{Keys: keys(t, "1,1,2,3,4,5,6,7,8,9,0"), At: monday, Caller: "+31701234567"}},
		{"all-case-number-too-short", SimOptions{Keys: keys(t, "1,1,2,3,#,1,2,3,4,5,6,-"), At: monday, Caller: "+31701234567"}},
		{"all-case-number-pattern", SimOptions{Keys: keys(t, "1,0,1,2,3,4,5,#,-,-"), At: monday, Caller: "+31701234567"}},
		{"all-case-number-star", SimOptions{Keys: keys(t, "1,1,2,*"), At: monday, Caller: "+31701234567"}},
		{"all-withheld-barge-in", SimOptions{Keys: keys(t, "2"), At: monday}},
		{"all-mobile-morning", SimOptions{Keys: keys(t, "2"), At: monday, Caller: "+31612345678"}},
		{"all-mobile-afternoon", SimOptions{Keys: keys(t, "2"), At: amsterdam(t, "2026-06-01 14:00"), Caller: "+31612345678"}},
		{"all-incident", SimOptions{Keys: keys(t, "2"), At: monday, Caller: "+31701234567", Incidents: fakeIncidents{"storing": {"drukte"}}}},
		{"all-busy-queue", SimOptions{Keys: keys(t, "2"), At: monday, Caller: "+31701234567", Queues: fakeQueues{waiting: 12, available: 3}}},
		{"all-no-agents", SimOptions{Keys: keys(t, "2"), At: monday, Caller: "+31701234567", Queues: fakeQueues{waiting: 0, available: 0}}},
		{"all-var-initial", SimOptions{Keys: keys(t, "2"), At: monday, Caller: "+31701234567", Vars: map[string]string{"afdeling": "burgerzaken"}}},
		{"all-closed-date", SimOptions{At: amsterdam(t, "2026-06-12 10:00")}},
		{"all-holiday", SimOptions{At: amsterdam(t, "2026-12-25 10:00")}},
		{"all-early-close", SimOptions{At: amsterdam(t, "2026-12-24 16:30")}},
		{"all-special-date", SimOptions{Keys: keys(t, "2"), At: amsterdam(t, "2026-12-27 11:00"), Caller: "+31701234567"}},
		{"all-menu-exhausted", SimOptions{Keys: keys(t, "7,-,7"), At: monday, Caller: "+31701234567"}},
		// The case-number path's queue refuses the caller: a callback is
		// offered, then a transfer, then goodbye.
		{"all-unavailable-callback", SimOptions{Keys: keys(t, "1,1,2,3,4,5,6,7,#"), At: monday, Caller: "+31701234567",
			Unavailable: []string{"belastingen"}}},
		{"all-unavailable-callback-declined", SimOptions{Keys: keys(t, "1,1,2,3,4,5,6,7,#"), At: monday, Caller: "+31701234567",
			Unavailable: []string{"belastingen"}, DeclineCallback: true}},
		{"all-unavailable-callback-unavailable", SimOptions{Keys: keys(t, "1,1,2,3,4,5,6,7,#"), At: monday, Caller: "+31701234567",
			Unavailable: []string{"belastingen", "algemeen"}}},
		{"all-unavailable-transfer-failed", SimOptions{Keys: keys(t, "1,1,2,3,4,5,6,7,#"), At: monday, Caller: "+31701234567",
			Unavailable: []string{"belastingen"}, DeclineCallback: true, FailTransfer: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Prompts = builtinChecker()
			tr, err := Simulate(p, tt.opts)
			if err != nil {
				t.Fatalf("Simulate: %v\n%s", err, tr)
			}
			golden(t, filepath.Join("simulate", tt.name+".golden"), []byte(tr.String()))
		})
	}
}

func TestSimulateErrors(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	if _, err := Simulate(p, SimOptions{}); err == nil || !strings.Contains(err.Error(), "no time given") {
		t.Errorf("Simulate without At: err = %v, want a missing-time error", err)
	}
	if _, err := Simulate(nil, SimOptions{At: time.Now()}); err == nil {
		t.Error("Simulate(nil) succeeded, want an error")
	}
	loop := mustLoad(t, "t.yaml", []byte(flowWith("  a: {queue: algemeen, next: a}\n")))
	tr, err := Simulate(loop, SimOptions{At: time.Now(), MaxSteps: 3})
	if !errors.Is(err, ErrMaxSteps) {
		t.Errorf("Simulate of a loop: err = %v, want ErrMaxSteps", err)
	}
	if got := len(tr.Lines); got != 4 {
		t.Errorf("transcript of the loop has %d lines, want 4 (header and three queues):\n%s", got, tr)
	}
}

func TestParseKeys(t *testing.T) {
	tests := []struct {
		in      string
		want    []call.Digit
		wantErr bool
	}{
		{"1,2", []call.Digit{'1', '2'}, false},
		{"12#", []call.Digit{'1', '2', '#'}, false},
		{"1, -, *", []call.Digit{'1', 0, '*'}, false},
		{"", nil, false},
		{"1,x", nil, true},
		{"é", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKeys(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseKeys(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseKeys(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestGoldenFilesUsed catches golden files left behind by renamed tests.
func TestGoldenFilesUsed(t *testing.T) {
	var src strings.Builder
	for _, f := range []string{"simulate_test.go", "graph_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	for _, dir := range []string{"simulate", "graph"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("no golden files in testdata/%s", dir)
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			if !strings.Contains(src.String(), `"`+name+`"`) {
				t.Errorf("%s belongs to no test case", f)
			}
		}
	}
}
