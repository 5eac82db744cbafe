//go:build integration

package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"kcc/store"
)

// The queue_log comparison (issue 7): kcc's queue_log lines are checked
// line by line against those Asterisk's own app_queue writes for the same
// calls. This file holds the normalisation and the comparison; the calls
// themselves are in queuelog_integration_test.go.
//
// What is normalised away, and why:
//   - the epoch: the two runs happen at different times; each line keeps
//     its offset in seconds from its call's first line, compared within
//     qlSecondsTolerance.
//   - the callid: Asterisk's is the caller channel's uniqueid, kcc's its
//     contact id; calls are numbered in order of their first line.
//   - the agent: Asterisk writes the member name (queues.conf), kcc the
//     agent id; both map to the role (A, B) the test gave them. NONE stays.
//   - CONNECT's second field (the agent leg's uniqueid in Asterisk, kcc's
//     offer number): only required to be present on both sides.
//
// What is compared: the calls, the number and order of each call's lines,
// queue, agent role and event of every line, the number of data fields,
// every field that is not a time exactly (url, caller number, positions,
// exit key), and the time fields within a tolerance (qlSeconds, qlMillis).

// qlField says what a queue_log data field holds and how it is compared.
type qlField int

const (
	qlExact   qlField = iota // the same text on both sides
	qlSeconds                // whole seconds, within qlSecondsTolerance
	qlMillis                 // milliseconds, within qlMillisTolerance
	qlID                     // a unique id: present (non-empty) on both sides
)

// qlSecondsTolerance allows for Asterisk's pause between two ring rounds
// (queues.conf retry, at least 1 s, where kcc rings the next agent at
// once) and for both sides truncating to whole seconds.
const qlSecondsTolerance = 2

// qlMillisTolerance allows for the SIP round trips around a ring (INVITE to
// 180, CANCEL) and for the moment the caller's hang-up or key is noticed.
const qlMillisTolerance = 1000

// qlEvents lists the call events kcc claims to write as Asterisk does, with
// the kind of each data field (app_queue.c's format strings, see
// research/cc-features.md §2). An event outside this table fails the
// comparison: a new event needs a decision on how to compare it.
var qlEvents = map[string][]qlField{
	store.QLEnterQueue:      {qlExact, qlExact, qlExact},            // url, caller number, position
	store.QLRingNoAnswer:    {qlMillis},                             // ring time
	store.QLRingCanceled:    {qlMillis},                             // ring time
	store.QLConnect:         {qlSeconds, qlID, qlSeconds},           // hold time, agent leg, ring time
	store.QLCompleteCaller:  {qlSeconds, qlSeconds, qlExact},        // hold time, talk time, original position
	store.QLCompleteAgent:   {qlSeconds, qlSeconds, qlExact},        // hold time, talk time, original position
	store.QLAbandon:         {qlExact, qlExact, qlSeconds},          // position, original position, wait time
	store.QLExitWithKey:     {qlExact, qlExact, qlExact, qlSeconds}, // key, position, original position, wait time
	store.QLExitWithTimeout: {qlExact, qlExact, qlSeconds},          // position, original position, wait time
	store.QLExitEmpty:       {qlExact, qlExact, qlSeconds},          // position, original position, wait time
}

// qlCall is one call's queue_log lines, normalised.
type qlCall struct {
	ID    string // the side's own callid, for messages
	Lines []qlLine
}

// qlLine is one normalised queue_log line.
type qlLine struct {
	Epoch  int64 // as written
	Offset int64 // seconds since the call's first line
	Queue  string
	Agent  string // the role (A, B) or NONE
	Event  string
	Data   []string
	Raw    string // the line as the side wrote it
}

// String renders the line as the golden file holds it: time fields and ids
// as placeholders, everything compared exactly as it is.
func (l qlLine) String() string {
	f := []string{l.Queue, l.Agent, l.Event}
	kinds := qlEvents[l.Event]
	for i, d := range l.Data {
		switch {
		case i >= len(kinds):
			f = append(f, d)
		case kinds[i] == qlSeconds:
			f = append(f, "<s>")
		case kinds[i] == qlMillis:
			f = append(f, "<ms>")
		case kinds[i] == qlID:
			f = append(f, "<id>")
		default:
			f = append(f, d)
		}
	}
	return strings.Join(f, "|")
}

// renderCalls renders calls for the golden file and for messages.
func renderCalls(calls []qlCall) string {
	var b strings.Builder
	for i, c := range calls {
		for _, l := range c.Lines {
			fmt.Fprintf(&b, "call %d: %s\n", i+1, l)
		}
	}
	return b.String()
}

// readQueueLog parses queue_log lines from r, keeping those keep accepts.
func readQueueLog(r io.Reader, keep func(store.QueueLogEntry) bool) ([]store.QueueLogEntry, error) {
	var out []store.QueueLogEntry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if sc.Text() == "" {
			continue
		}
		e, err := store.ParseQueueLogLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("queue_log line %d: %w", n, err)
		}
		if keep(e) {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read queue_log: %w", err)
	}
	return out, nil
}

// isCallLine says whether e belongs to a call. Lines without one (callid
// NONE, or MANAGER, CLI, REALTIME for changes made by hand) are about
// agents or the log itself.
func isCallLine(e store.QueueLogEntry) bool {
	switch e.CallID {
	case store.QLNone, "MANAGER", "CLI", "REALTIME":
		return false
	}
	return true
}

// normaliseQueueLog groups the call lines of entries by call, in order of
// each call's first line, and maps agent names to roles. An agent not in
// roles is an error: the log names someone the test did not set up.
func normaliseQueueLog(entries []store.QueueLogEntry, roles map[string]string) ([]qlCall, error) {
	var calls []qlCall
	index := map[string]int{}
	for _, e := range entries {
		if !isCallLine(e) {
			continue
		}
		i, ok := index[e.CallID]
		if !ok {
			i = len(calls)
			index[e.CallID] = i
			calls = append(calls, qlCall{ID: e.CallID})
		}
		agent := e.Agent
		if agent != store.QLNone {
			if agent, ok = roles[e.Agent]; !ok {
				return nil, fmt.Errorf("line %q: agent %q is none of the test's agents", e.Line(), e.Agent)
			}
		}
		var offset int64
		if c := calls[i]; len(c.Lines) > 0 {
			offset = e.Time.Unix() - c.Lines[0].Epoch
		}
		calls[i].Lines = append(calls[i].Lines, qlLine{Epoch: e.Time.Unix(), Offset: offset, Queue: e.Queue, Agent: agent, Event: e.Event,
			Data: e.Data, Raw: e.Line()})
	}
	return calls, nil
}

// compareQueueLogs compares kcc's normalised calls with Asterisk's and
// returns every difference, each naming both lines.
func compareQueueLogs(asterisk, kcc []qlCall) []string {
	var diffs []string
	if len(asterisk) != len(kcc) {
		diffs = append(diffs, fmt.Sprintf("%d calls in kcc's queue_log, %d in Asterisk's", len(kcc), len(asterisk)))
	}
	for i := range min(len(asterisk), len(kcc)) {
		a, k := asterisk[i].Lines, kcc[i].Lines
		for j := range max(len(a), len(k)) {
			where := fmt.Sprintf("call %d line %d", i+1, j+1)
			switch {
			case j >= len(a):
				diffs = append(diffs, fmt.Sprintf("%s: kcc has an extra line\n  kcc:      %s", where, k[j].Raw))
				continue
			case j >= len(k):
				diffs = append(diffs, fmt.Sprintf("%s: kcc lacks the line\n  asterisk: %s", where, a[j].Raw))
				continue
			}
			for _, d := range compareLine(a[j], k[j]) {
				diffs = append(diffs, fmt.Sprintf("%s: %s\n  asterisk: %s\n  kcc:      %s", where, d, a[j].Raw, k[j].Raw))
			}
		}
	}
	return diffs
}

// compareLine returns how kcc's line k differs from Asterisk's line a.
func compareLine(a, k qlLine) []string {
	if a.Event != k.Event {
		return []string{fmt.Sprintf("event %s, Asterisk wrote %s", k.Event, a.Event)}
	}
	var diffs []string
	if a.Queue != k.Queue {
		diffs = append(diffs, fmt.Sprintf("queue %q, Asterisk wrote %q", k.Queue, a.Queue))
	}
	if a.Agent != k.Agent {
		diffs = append(diffs, fmt.Sprintf("agent %s, Asterisk wrote %s", k.Agent, a.Agent))
	}
	if d := a.Offset - k.Offset; d > qlSecondsTolerance || d < -qlSecondsTolerance {
		diffs = append(diffs, fmt.Sprintf("written %d s into the call, Asterisk wrote it at %d s", k.Offset, a.Offset))
	}
	kinds, ok := qlEvents[a.Event]
	if !ok {
		return append(diffs, fmt.Sprintf("event %s has no comparison rule (add it to qlEvents)", a.Event))
	}
	if len(a.Data) != len(kinds) {
		diffs = append(diffs, fmt.Sprintf("Asterisk wrote %d data fields, the rule for %s has %d", len(a.Data), a.Event, len(kinds)))
	}
	if len(k.Data) != len(a.Data) {
		return append(diffs, fmt.Sprintf("%d data fields, Asterisk wrote %d", len(k.Data), len(a.Data)))
	}
	for i := range min(len(kinds), len(a.Data)) {
		if d := compareField(kinds[i], a.Data[i], k.Data[i]); d != "" {
			diffs = append(diffs, fmt.Sprintf("data%d: %s", i+1, d))
		}
	}
	return diffs
}

// compareField compares one data field by its kind; "" means equal.
func compareField(kind qlField, a, k string) string {
	switch kind {
	case qlID:
		if a == "" || k == "" {
			return fmt.Sprintf("id %q, Asterisk wrote %q; both must be present", k, a)
		}
		return ""
	case qlSeconds, qlMillis:
		tol, unit := int64(qlSecondsTolerance), "s"
		if kind == qlMillis {
			tol, unit = qlMillisTolerance, "ms"
		}
		an, errA := strconv.ParseInt(a, 10, 64)
		kn, errK := strconv.ParseInt(k, 10, 64)
		if errA != nil || errK != nil {
			return fmt.Sprintf("%q, Asterisk wrote %q; both must be whole numbers", k, a)
		}
		if d := an - kn; d > tol || d < -tol {
			return fmt.Sprintf("%d %s, Asterisk wrote %d %s (tolerance %d %s)", kn, unit, an, unit, tol, unit)
		}
		return ""
	}
	if a != k {
		return fmt.Sprintf("%q, Asterisk wrote %q", k, a)
	}
	return ""
}

// TestIntegrationQueueLogCompare checks the normalisation and comparison
// on lines whose differences are known, so that the live test's "no
// differences" can be trusted.
func TestIntegrationQueueLogCompare(t *testing.T) {
	roles := map[string]string{"Agent A": "A", "Agent B": "B", "5001": "A", "5002": "B"}
	parse := func(t *testing.T, src string) []qlCall {
		t.Helper()
		e, err := readQueueLog(strings.NewReader(src), func(store.QueueLogEntry) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		calls, err := normaliseQueueLog(e, roles)
		if err != nil {
			t.Fatal(err)
		}
		return calls
	}
	const asterisk = `1795779183|NONE|NONE|NONE|QUEUESTART|
1795779200|1795779200.12|qlcompare|NONE|ENTERQUEUE||0612345678|1
1795779204|1795779200.12|qlcompare|Agent A|RINGNOANSWER|4000
1795779205|1795779200.12|qlcompare|Agent B|CONNECT|5|1795779205.15|0
1795779212|1795779200.12|qlcompare|Agent B|COMPLETECALLER|5|7|1
1795779230|1795779230.20|qlcompare|NONE|ENTERQUEUE||0612345678|1
1795779232|1795779230.20|qlcompare|Agent A|RINGCANCELED|2010
1795779232|1795779230.20|qlcompare|NONE|ABANDON|1|1|2
`
	for _, tc := range []struct {
		name string
		kcc  string
		want []string // substrings of the differences, in order; none: equal
	}{
		{"equal within tolerance", `1795790000|NONE|NONE|5001|AGENTLOGIN|5001
1795790100|a1b2|qlcompare|NONE|ENTERQUEUE||0612345678|1
1795790104|a1b2|qlcompare|5001|RINGNOANSWER|4003
1795790104|a1b2|qlcompare|5002|CONNECT|4|7|0
1795790112|a1b2|qlcompare|5002|COMPLETECALLER|4|8|1
1795790130|c3d4|qlcompare|NONE|ENTERQUEUE||0612345678|1
1795790132|c3d4|qlcompare|5001|RINGCANCELED|1990
1795790132|c3d4|qlcompare|NONE|ABANDON|1|1|2
`, nil},
		{"missing line, wrong agent, field count, position, time out of tolerance", `1795790100|a1b2|qlcompare|NONE|ENTERQUEUE||0612345678|1
1795790104|a1b2|qlcompare|5002|RINGNOANSWER|4000
1795790104|a1b2|qlcompare|5002|CONNECT|4|7
1795790112|a1b2|qlcompare|5002|COMPLETECALLER|4|8|1
1795790130|c3d4|qlcompare|NONE|ENTERQUEUE||0612345678|2
1795790132|c3d4|qlcompare|NONE|ABANDON|1|1|9
`, []string{
			"call 1 line 2: agent B, Asterisk wrote A",
			"call 1 line 3: 2 data fields, Asterisk wrote 3",
			`call 2 line 1: data3: "2", Asterisk wrote "1"`,
			"call 2 line 2: event ABANDON, Asterisk wrote RINGCANCELED",
			"call 2 line 3: kcc lacks the line",
		}},
		{"a call missing", `1795790100|a1b2|qlcompare|NONE|ENTERQUEUE||0612345678|1
1795790104|a1b2|qlcompare|5001|RINGNOANSWER|2000
1795790104|a1b2|qlcompare|5002|CONNECT|4|7|0
1795790118|a1b2|qlcompare|5002|COMPLETECALLER|4|14|1
`, []string{
			"1 calls in kcc's queue_log, 2 in Asterisk's",
			"call 1 line 2: data1: 2000 ms, Asterisk wrote 4000 ms",
			"call 1 line 4: written 18 s into the call, Asterisk wrote it at 12 s",
			"call 1 line 4: data2: 14 s, Asterisk wrote 7 s",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compareQueueLogs(parse(t, asterisk), parse(t, tc.kcc))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d differences, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("difference %d = %q, want it to contain %q", i+1, got[i], w)
				}
			}
		})
	}
	t.Run("unknown agent", func(t *testing.T) {
		e, err := readQueueLog(strings.NewReader("1795790104|a1b2|qlcompare|Agent C|RINGNOANSWER|4000\n"),
			func(store.QueueLogEntry) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := normaliseQueueLog(e, roles); err == nil || !strings.Contains(err.Error(), `agent "Agent C"`) {
			t.Errorf("got %v, want an error naming agent \"Agent C\"", err)
		}
	})
	t.Run("golden rendering", func(t *testing.T) {
		got := renderCalls(parse(t, asterisk))
		want := `call 1: qlcompare|NONE|ENTERQUEUE||0612345678|1
call 1: qlcompare|A|RINGNOANSWER|<ms>
call 1: qlcompare|B|CONNECT|<s>|<id>|<s>
call 1: qlcompare|B|COMPLETECALLER|<s>|<s>|1
call 2: qlcompare|NONE|ENTERQUEUE||0612345678|1
call 2: qlcompare|A|RINGCANCELED|<ms>
call 2: qlcompare|NONE|ABANDON|1|1|<s>
`
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
}
