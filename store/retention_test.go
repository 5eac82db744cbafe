package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"kcc/call"
)

// runRetentionConformance is the part of the conformance suite about the
// retention job's store methods: rows just outside a period go, rows just
// inside stay.
func runRetentionConformance(t *testing.T, fresh func(testing.TB) database) {
	ctx := context.Background()
	open := func(t *testing.T, db database) Store {
		t.Helper()
		s, err := db.open(ctx)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	// before is the cut: rows older than it (by one microsecond) are
	// deleted, rows at it are kept.
	before := at(1000)
	old := func(i int) time.Time { return before.Add(-time.Duration(i+1) * time.Microsecond) }
	const nOld, nKept = 5, 2 // with batch 2: three batches, the last one short

	t.Run("purge deletes what is older, in batches", func(t *testing.T) {
		s := open(t, fresh(t))
		b := &Batch{}
		id := int64(0)
		next := func() int64 { id++; return id }
		for i := range nOld + nKept {
			tm := old(i)
			if i >= nOld {
				tm = before.Add(time.Duration(i-nOld) * time.Microsecond) // at before, just after
			}
			b.Events = append(b.Events, Event{ID: next(), Kind: "k", Time: tm})
			b.Contacts = append(b.Contacts, Contact{ID: call.ID(fmt.Sprint("c", i)), Arrival: tm})
			b.AgentStates = append(b.AgentStates, AgentState{ID: next(), Agent: "a", State: "available", Time: tm})
			b.QueueLog = append(b.QueueLog, withID(Pause(tm, "NONE", "q", "a", ""), next()))
			b.Audit = append(b.Audit, AuditEntry{ID: next(), Time: tm, Who: "w", What: "x"})
		}
		if err := s.WriteBatch(ctx, b); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		for _, d := range []Data{DataEvents, DataContacts, DataAgentStates, DataQueueLog, DataAudit} {
			n, err := s.Purge(ctx, d, before, 2)
			if err != nil || n != nOld {
				t.Errorf("Purge(%s) = %d, %v; want %d", d, n, err, nOld)
			}
			if n, err := s.Purge(ctx, d, before, 2); err != nil || n != 0 {
				t.Errorf("second Purge(%s) = %d, %v; want 0", d, n, err)
			}
		}
		evs, _ := s.Events(ctx, EventQuery{})
		cs, _ := s.Contacts(ctx, Range{})
		st, _ := s.AgentStates(ctx, "", Range{})
		ql, _ := s.QueueLog(ctx, Range{})
		au, _ := s.Audit(ctx, Range{})
		for name, times := range map[string][]time.Time{
			"events":       mapTimes(evs, func(e Event) time.Time { return e.Time }),
			"contacts":     mapTimes(cs, func(c Contact) time.Time { return c.Arrival }),
			"agent states": mapTimes(st, func(a AgentState) time.Time { return a.Time }),
			"queue_log":    mapTimes(ql, func(e QueueLogEntry) time.Time { return e.Time }),
			"audit":        mapTimes(au, func(a AuditEntry) time.Time { return a.Time }),
		} {
			if len(times) != nKept || !times[0].Equal(before) {
				t.Errorf("%s kept %v, want %d rows from %v", name, times, nKept, before)
			}
		}
	})

	t.Run("purge of callbacks takes finished ones and their attempts only", func(t *testing.T) {
		s := open(t, fresh(t))
		save := func(id call.ID, finished time.Time) {
			t.Helper()
			c := sampleCallback(id, at(-5000))
			if err := s.SaveCallback(ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordCallbackAttempt(ctx, CallbackAttempt{Callback: id, N: 1, At: at(-4000), Result: AttemptNoAnswer}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if !finished.IsZero() {
				if err := s.FinishCallback(ctx, id, CallbackDone, "", finished); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range 3 {
			save(call.ID(fmt.Sprint("old", i)), old(i))
		}
		save("kept", before)
		save("pending", time.Time{}) // requested long ago, never purged
		n, err := s.Purge(ctx, DataCallbacks, before, 2)
		if err != nil || n != 3 {
			t.Errorf("Purge(callbacks) = %d, %v; want 3", n, err)
		}
		for _, tc := range []struct {
			id       call.ID
			exists   bool
			attempts int
		}{{"old0", false, 0}, {"old2", false, 0}, {"kept", true, 1}, {"pending", true, 1}} {
			_, err := s.Callback(ctx, tc.id)
			if exists := err == nil; exists != tc.exists || (err != nil && !errors.Is(err, ErrNotFound)) {
				t.Errorf("callback %s: err %v, want exists=%v", tc.id, err, tc.exists)
			}
			if a, err := s.CallbackAttempts(ctx, tc.id); err != nil || len(a) != tc.attempts {
				t.Errorf("callback %s attempts = %d, %v; want %d", tc.id, len(a), err, tc.attempts)
			}
		}
	})

	t.Run("purge refuses unknown data and a missing time", func(t *testing.T) {
		s := open(t, fresh(t))
		if _, err := s.Purge(ctx, "passwords", before, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Purge(unknown) = %v, want ErrInvalid", err)
		}
		if _, err := s.Purge(ctx, DataEvents, time.Time{}, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Purge(zero time) = %v, want ErrInvalid", err)
		}
	})

	t.Run("raw callers older than the cut become pseudonyms", func(t *testing.T) {
		db := fresh(t)
		s := open(t, db)
		p := Pseudonymizer{Prefix: "h:", Pseudonym: func(raw string) string {
			if raw == "anonymous" {
				return raw
			}
			return "h:" + strings.ToUpper(raw) // a stand-in for the HMAC
		}}
		b := &Batch{
			Contacts: []Contact{
				{ID: "old-raw-1", Caller: "0701234567", Arrival: old(0)},
				{ID: "old-raw-2", Caller: "+31612345678", Arrival: old(1)},
				{ID: "old-pseudonym", Caller: "h:abc", Arrival: old(2)},
				{ID: "old-anonymous", Caller: "anonymous", Arrival: old(3)},
				{ID: "old-empty", Caller: "", Arrival: old(4)},
				{ID: "new-raw", Caller: "0709999999", Arrival: before},
			},
			QueueLog: []QueueLogEntry{
				withID(EnterQueue(old(0), "old-raw-1", "afval", "0701234567", 1), 1),
				withID(EnterQueue(old(1), "old-pseudonym", "afval", "h:abc", 1), 2),
				withID(Connect(old(0), "old-raw-1", "afval", "1001", 5, "x", 3), 3),
				withID(EnterQueueWithName(old(1), "old-raw-2", "afval", "+31612345678", 2, ""), 4),
				withID(EnterQueue(before, "new-raw", "afval", "0709999999", 1), 5),
			},
		}
		if err := s.WriteBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		n, err := s.PseudonymizeCallers(ctx, before, p, 1)
		if err != nil || n != 4 {
			t.Errorf("PseudonymizeCallers = %d, %v; want 4 (two contacts, two queue_log rows)", n, err)
		}
		for id, want := range map[call.ID]string{
			"old-raw-1": "h:0701234567", "old-raw-2": "h:+31612345678", "old-pseudonym": "h:abc",
			"old-anonymous": "anonymous", "old-empty": "", "new-raw": "0709999999",
		} {
			if c, err := s.Contact(ctx, id); err != nil || c.Caller != want {
				t.Errorf("contact %s caller = %q, %v; want %q", id, c.Caller, err, want)
			}
		}
		ql, err := s.QueueLog(ctx, Range{})
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, e := range ql {
			lines = append(lines, strings.SplitN(e.Line(), "|", 2)[1])
		}
		want := []string{
			"old-raw-1|afval|NONE|ENTERQUEUE||h:0701234567|1",
			"old-pseudonym|afval|NONE|ENTERQUEUE||h:abc|1",
			"old-raw-1|afval|1001|CONNECT|5|x|3",
			"old-raw-2|afval|NONE|ENTERQUEUE||h:+31612345678|2|",
			"new-raw|afval|NONE|ENTERQUEUE||0709999999|1",
		}
		if !reflect.DeepEqual(lines, want) {
			t.Errorf("queue_log after:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		row, err := db.row(ctx, "SELECT data2 FROM queue_log WHERE id = 4")
		if err != nil || row[0] != "h:+31612345678" {
			t.Errorf("data2 of row 4 = %v, %v; want the pseudonym", row, err)
		}
		if n, err := s.PseudonymizeCallers(ctx, before, p, 0); err != nil || n != 0 {
			t.Errorf("second run = %d, %v; want 0", n, err)
		}
		if _, err := s.PseudonymizeCallers(ctx, before, Pseudonymizer{}, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("without a function = %v, want ErrInvalid", err)
		}
	})
}

func mapTimes[T any](in []T, f func(T) time.Time) []time.Time {
	out := make([]time.Time, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}
