package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// The conformance suite: every back end must pass the same tests.

func TestSQLiteConformance(t *testing.T) {
	runConformance(t, sqliteDatabase)
}

func TestPostgresConformance(t *testing.T) {
	postgresURL(t) // skip (or fail when required) once, not per subtest
	runConformance(t, postgresDatabase)
}

// t0 is a fixed instant with microseconds, which the store keeps exactly.
var t0 = time.Date(2026, 3, 2, 8, 30, 15, 123456000, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func runConformance(t *testing.T, fresh func(testing.TB) database) {
	ctx := context.Background()
	openStore := func(t *testing.T, db database) Store {
		t.Helper()
		s, err := db.open(ctx)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	}

	t.Run("migrations applied once and recorded", func(t *testing.T) {
		db := fresh(t)
		s := openStore(t, db)
		got, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatalf("SchemaVersion: %v", err)
		}
		want := latestVersion(t)
		if got != want {
			t.Errorf("schema version = %d, want %d", got, want)
		}
		// Opening again (as after a restart) applies nothing and keeps data.
		if err := s.WriteBatch(ctx, &Batch{Events: []Event{{ID: 1, Kind: "k", Time: t0}}}); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		s2 := openStore(t, db)
		if v, err := s2.SchemaVersion(ctx); err != nil || v != want {
			t.Errorf("after reopen: version = %d, %v; want %d", v, err, want)
		}
		row, err := db.row(ctx, "SELECT CAST(COUNT(*) AS TEXT) FROM schema_migrations")
		if err != nil || row[0] != fmt.Sprint(want) {
			t.Errorf("schema_migrations rows = %v, %v; want %d", row, err, want)
		}
		if n, err := s2.MaxSeq(ctx); err != nil || n != 1 {
			t.Errorf("after reopen: MaxSeq = %d, %v; want 1", n, err)
		}
	})

	runCallbackConformance(t, fresh)
	runRetentionConformance(t, fresh)

	t.Run("newer schema refused", func(t *testing.T) {
		db := fresh(t)
		s := openStore(t, db)
		_ = s.Close()
		if err := db.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_us) VALUES (999, 'future', 0)"); err != nil {
			t.Fatalf("insert future version: %v", err)
		}
		s2, err := db.open(ctx)
		if err == nil {
			_ = s2.Close()
		}
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("open = %v, want ErrSchemaTooNew", err)
		}
	})

	t.Run("every record round-trips", func(t *testing.T) {
		s := openStore(t, fresh(t))
		b := sampleBatch()
		if err := s.WriteBatch(ctx, b); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		checkStored(t, s, b)
	})

	t.Run("rewriting a batch stores nothing twice", func(t *testing.T) {
		s := openStore(t, fresh(t))
		b := sampleBatch()
		for i := range 2 {
			if err := s.WriteBatch(ctx, b); err != nil {
				t.Fatalf("WriteBatch #%d: %v", i+1, err)
			}
		}
		checkStored(t, s, b)
	})

	t.Run("contact upserts keep the last write", func(t *testing.T) {
		s := openStore(t, fresh(t))
		c := Contact{ID: "c1", Arrival: at(0), Queue: "paspoort"}
		c2 := c
		c2.Answer, c2.Agent, c2.Offers = at(30), "1001", 2
		c3 := c2
		c3.End, c3.Outcome, c3.Talk = at(90), OutcomeAnswered, 60*time.Second
		// Two versions in one batch (one statement must not touch a row
		// twice on PostgreSQL), then a third in the next batch.
		if err := s.WriteBatch(ctx, &Batch{Contacts: []Contact{c, c2}}); err != nil {
			t.Fatalf("WriteBatch 1: %v", err)
		}
		got, err := s.Contact(ctx, "c1")
		if err != nil || !reflect.DeepEqual(got, c2) {
			t.Errorf("after batch 1: Contact = %+v, %v; want %+v", got, err, c2)
		}
		if err := s.WriteBatch(ctx, &Batch{Contacts: []Contact{c3}}); err != nil {
			t.Fatalf("WriteBatch 2: %v", err)
		}
		got, err = s.Contact(ctx, "c1")
		if err != nil || !reflect.DeepEqual(got, c3) {
			t.Errorf("after batch 2: Contact = %+v, %v; want %+v", got, err, c3)
		}
		if _, err := s.Contact(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Contact(nobody) error = %v, want ErrNotFound", err)
		}

	})

	t.Run("flow versions are kept once each", func(t *testing.T) {
		s := openStore(t, fresh(t))
		v1 := FlowVersion{ID: "4b42a3a82768-20260302T083015Z", Flow: "14070", File: "flows/14070.yaml",
			Hash: "4b42a3a82768ff", Deployed: at(0), Source: "flow: 14070\nnumbers: [\"14070\"]\n"}
		v2 := v1
		v2.ID, v2.Hash, v2.Deployed, v2.Source = "9c1d00aa0000-20260302T093015Z", "9c1d00aa00", at(3600), "flow: 14070 # v2\n"
		other := FlowVersion{ID: "x-1", Flow: "nood", File: "nood.yaml", Hash: "x", Deployed: at(10), Source: "flow: nood\n"}
		for _, v := range []FlowVersion{v2, v1, other, v1} { // v1 twice: stored once
			if err := s.SaveFlowVersion(ctx, v); err != nil {
				t.Fatalf("SaveFlowVersion(%s): %v", v.ID, err)
			}
		}
		got, err := s.FlowVersions(ctx, "14070")
		if err != nil || !reflect.DeepEqual(got, []FlowVersion{v1, v2}) {
			t.Errorf("FlowVersions(14070) = %+v, %v; want v1, v2", got, err)
		}
		changed := v1
		changed.Source = "tampered"
		if err := s.SaveFlowVersion(ctx, changed); err != nil {
			t.Fatalf("SaveFlowVersion(again): %v", err)
		}
		if got, _ := s.FlowVersions(ctx, "14070"); len(got) != 2 || got[0].Source != v1.Source {
			t.Errorf("a stored version changed: %+v", got)
		}
		if err := s.SaveFlowVersion(ctx, FlowVersion{ID: "bad\x00", Flow: "f", Deployed: at(0)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveFlowVersion(NUL) = %v, want ErrInvalid", err)
		}
	})

	t.Run("contacts counted per caller in a half-open range", func(t *testing.T) {
		s := openStore(t, fresh(t))
		cs := []Contact{
			{ID: "a1", Caller: "h:aa", Arrival: at(-3600)},
			{ID: "a2", Caller: "h:aa", Arrival: at(0)},
			{ID: "a3", Caller: "h:aa", Arrival: at(60)},
			{ID: "b1", Caller: "h:bb", Arrival: at(30)},
		}
		if err := s.WriteBatch(ctx, &Batch{Contacts: cs}); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		for _, tc := range []struct {
			caller string
			r      Range
			want   int
		}{
			{"h:aa", Range{From: at(0), To: at(60)}, 1}, // a2 only: To is excluded
			{"h:aa", Range{From: at(-3600), To: at(61)}, 3},
			{"h:aa", Range{To: at(60)}, 2},
			{"h:bb", Range{From: at(0)}, 1},
			{"h:cc", Range{}, 0},
		} {
			if n, err := s.CountCallerContacts(ctx, tc.caller, tc.r); err != nil || n != tc.want {
				t.Errorf("CountCallerContacts(%s, %v-%v) = %d, %v; want %d", tc.caller, tc.r.From, tc.r.To, n, err, tc.want)
			}
		}
	})

	t.Run("max seq spans the append-only tables", func(t *testing.T) {
		s := openStore(t, fresh(t))
		if n, err := s.MaxSeq(ctx); err != nil || n != 0 {
			t.Errorf("empty MaxSeq = %d, %v; want 0", n, err)
		}
		for _, tc := range []struct {
			name string
			b    Batch
			want int64
		}{
			{"event", Batch{Events: []Event{{ID: 3, Kind: "k", Time: t0}}}, 3},
			{"agent state", Batch{AgentStates: []AgentState{{ID: 7, Agent: "a", State: "available", Time: t0}}}, 7},
			{"queue_log", Batch{QueueLog: []QueueLogEntry{withID(QueueStart(t0), 9)}}, 9},
			{"audit", Batch{Audit: []AuditEntry{{ID: 12, Time: t0, Who: "w", What: "x"}}}, 12},
			{"lower event id", Batch{Events: []Event{{ID: 10, Kind: "k", Time: t0}}}, 12},
		} {
			if err := s.WriteBatch(ctx, &tc.b); err != nil {
				t.Fatalf("%s: WriteBatch: %v", tc.name, err)
			}
			if n, err := s.MaxSeq(ctx); err != nil || n != tc.want {
				t.Errorf("after %s: MaxSeq = %d, %v; want %d", tc.name, n, err, tc.want)
			}
		}
	})

	t.Run("invalid batch is refused whole", func(t *testing.T) {
		s := openStore(t, fresh(t))
		for _, tc := range []struct {
			name string
			b    Batch
		}{
			{"event without id", Batch{Events: []Event{{Kind: "k", Time: t0}}}},
			{"bad json", Batch{Events: []Event{{ID: 1, Kind: "k", Time: t0}, {ID: 2, Kind: "k", Time: t0, Data: json.RawMessage(`{"a":`)}}}},
			{"NUL in json", Batch{Events: []Event{{ID: 1, Kind: "k", Time: t0, Data: json.RawMessage(`{"a":"\u0000"}`)}}}},
			{"NUL in text", Batch{AgentStates: []AgentState{{ID: 1, Agent: "a\x00", State: "s", Time: t0}}}},
			{"invalid utf-8", Batch{Contacts: []Contact{{ID: "c\xff", Arrival: t0}}}},
			{"pipe in queue_log", Batch{QueueLog: []QueueLogEntry{withID(Pause(t0, "NONE", "q|x", "a", ""), 1)}}},
			{"unknown outcome", Batch{Contacts: []Contact{{ID: "c", Arrival: t0, Outcome: "maybe"}}}},
			{"missing time", Batch{Audit: []AuditEntry{{ID: 1, Who: "w", What: "x"}}}},
		} {
			err := s.WriteBatch(ctx, &tc.b)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: WriteBatch = %v, want ErrInvalid", tc.name, err)
			}
		}
		if n, err := s.MaxSeq(ctx); err != nil || n != 0 {
			t.Errorf("MaxSeq after refused batches = %d, %v; want 0", n, err)
		}
		if cs, err := s.Contacts(ctx, Range{}); err != nil || len(cs) != 0 {
			t.Errorf("contacts after refused batches = %d, %v; want 0", len(cs), err)
		}
	})

	t.Run("queries select by id, contact and half-open range", func(t *testing.T) {
		s := openStore(t, fresh(t))
		b := &Batch{}
		for i := 1; i <= 10; i++ {
			cid := call.ID("even")
			if i%2 == 1 {
				cid = "odd"
			}
			b.Events = append(b.Events, Event{ID: int64(i), ContactID: cid, Kind: "k", Time: at(i)})
			b.QueueLog = append(b.QueueLog, withID(Pause(at(i), "NONE", "q", "a", fmt.Sprint(i)), int64(100+i)))
			b.AgentStates = append(b.AgentStates, AgentState{ID: int64(200 + i), Agent: string(cid), State: "s", Time: at(i)})
		}
		if err := s.WriteBatch(ctx, b); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		evs, err := s.Events(ctx, EventQuery{AfterID: 4, Limit: 3})
		if got := eventIDs(evs); err != nil || !reflect.DeepEqual(got, []int64{5, 6, 7}) {
			t.Errorf("Events(after 4, limit 3) = %v, %v; want [5 6 7]", got, err)
		}
		evs, err = s.Events(ctx, EventQuery{ContactID: "odd", AfterID: 2})
		if got := eventIDs(evs); err != nil || !reflect.DeepEqual(got, []int64{3, 5, 7, 9}) {
			t.Errorf("Events(odd, after 2) = %v, %v; want [3 5 7 9]", got, err)
		}
		ql, err := s.QueueLog(ctx, Range{From: at(3), To: at(6)})
		if err != nil || len(ql) != 3 || ql[0].ID != 103 || ql[2].ID != 105 {
			t.Errorf("QueueLog[at3, at6) = %+v, %v; want ids 103..105", ql, err)
		}
		st, err := s.AgentStates(ctx, "even", Range{To: at(7)})
		if err != nil || len(st) != 3 || st[0].ID != 202 || st[2].ID != 206 {
			t.Errorf("AgentStates(even, < at7) = %+v, %v; want ids 202, 204, 206", st, err)
		}
	})

	t.Run("queue_log table form", func(t *testing.T) {
		db := fresh(t)
		s := openStore(t, db)
		entries := []QueueLogEntry{
			withID(EnterQueueWithName(at(0), "1717397390.2398", "support", "0701234567", 1, ""), 1), // trailing empty field
			withID(QueueLogEntry{Time: at(1), CallID: "x", Queue: "q", Agent: "a", Event: "CUSTOM",
				Data: []string{"1", "2", "3", "4", "5", "6", ""}}, 2), // more than five fields
			withID(QueueStart(at(2)), 3),
		}
		if err := s.WriteBatch(ctx, &Batch{QueueLog: entries}); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		got, err := s.QueueLog(ctx, Range{})
		if err != nil {
			t.Fatalf("QueueLog: %v", err)
		}
		for i := range entries {
			if i >= len(got) || got[i].Line() != entries[i].Line() {
				t.Errorf("entry %d line = %q, want %q", i, lineOf(got, i), entries[i].Line())
			}
		}
		row, err := db.row(ctx, "SELECT event, data1, data2, data3, data4, data5, callid, queuename, agent FROM queue_log WHERE id = 2")
		if want := []string{"CUSTOM", "1", "2", "3", "4", "5|6|", "x", "q", "a"}; err != nil || !reflect.DeepEqual(row, want) {
			t.Errorf("row 2 = %q, %v; want %q", row, err, want)
		}
		row, err = db.row(ctx, "SELECT CAST(time AS TEXT) FROM queue_log WHERE id = 1")
		if want := "2026-03-02 08:30:15.123456"; err != nil || row[0] != want {
			t.Errorf("time column = %q, %v; want %q", row, err, want)
		}
	})

	t.Run("writer stores everything and continues ids after reopen", func(t *testing.T) {
		db := fresh(t)
		s := openStore(t, db)
		w, err := NewWriter(ctx, s, WriterConfig{MaxBatch: 250}, zerolog.Nop())
		if err != nil {
			t.Fatalf("NewWriter: %v", err)
		}
		const n = 1200
		var last int64
		for i := range n {
			var r Record = Event{ContactID: "c", Kind: "k", Time: at(i), Data: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`)}
			if i%4 == 1 {
				r = QueueLogEntry(RingNoAnswer(at(i), "c", "q", "a", int64(i)))
			}
			if last, err = w.Append(r); err != nil {
				t.Fatalf("Append %d: %v", i, err)
			}
		}
		if err := w.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if st := w.Stats(); st.Written != n || st.Durable != last || st.Pending != 0 || !st.Healthy {
			t.Errorf("stats = %+v, want %d written, durable %d", st, n, last)
		}
		evs, err := s.Events(ctx, EventQuery{Limit: n})
		if err != nil || len(evs) != n*3/4 {
			t.Errorf("events stored = %d, %v; want %d", len(evs), err, n*3/4)
		}
		ql, err := s.QueueLog(ctx, Range{})
		if err != nil || len(ql) != n/4 {
			t.Errorf("queue_log stored = %d, %v; want %d", len(ql), err, n/4)
		}
		w2, err := NewWriter(ctx, s, WriterConfig{}, zerolog.Nop())
		if err != nil {
			t.Fatalf("NewWriter 2: %v", err)
		}
		id, err := w2.AppendWait(ctx, Event{Kind: "k", Time: t0})
		if err != nil || id != last+1 {
			t.Errorf("first id after reopen = %d, %v; want %d", id, err, last+1)
		}
		if err := w2.Close(ctx); err != nil {
			t.Errorf("Close 2: %v", err)
		}
	})
}

func latestVersion(t *testing.T) int {
	t.Helper()
	ms, err := sqliteDialect.migrations()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgresDialect.migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d: every schema change needs both", len(ms), len(pg))
	}
	return len(ms)
}

func withID(e QueueLogEntry, id int64) QueueLogEntry {
	e.ID = id
	return e
}

func eventIDs(evs []Event) []int64 {
	var ids []int64
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

func lineOf(es []QueueLogEntry, i int) string {
	if i < len(es) {
		return es[i].Line()
	}
	return "(missing)"
}

// sampleBatch holds one or more of every record, with non-ASCII text, empty
// and set optional times, and JSON payloads.
func sampleBatch() *Batch {
	return &Batch{
		Events: []Event{
			{ID: 1, ContactID: "a1b2c3d4e5f60718", Kind: "ivr.menu", Time: at(0), Data: json.RawMessage(`{"node":"hoofdmenu","digit":"1","naam":"Jüri"}`)},
			{ID: 2, Kind: "system.start", Time: at(1)}, // no contact, no data
		},
		Contacts: []Contact{{
			ID: "a1b2c3d4e5f60718", Caller: "hmac:9f86d081", Arrival: at(0), IVREnd: at(20), QueueEntry: at(21),
			Answer: at(51), End: at(171), WrapUpEnd: at(201), Offers: 2, FlowVersion: "14070@v3",
			IVRPath: "welkom>taal:1>hoofdmenu:1", Topic: "Paspoort", Queue: "paspoort", Agent: "1001",
			Outcome: OutcomeAnswered, Wait: 30 * time.Second, Talk: 120 * time.Second, WrapUp: 30 * time.Second,
			PredictedWait: 45 * time.Second, CallerLeg: LegQuality{Loss: 0.0125, Jitter: 3250 * time.Microsecond},
			AgentLeg: LegQuality{Loss: 0, Jitter: 800 * time.Microsecond},
		}, {
			ID: "b0", Arrival: at(5), Outcome: OutcomeAbandoned, // most milestones not reached
		}},
		AgentStates: []AgentState{{ID: 3, Agent: "1001", State: "paused", Reason: "pauze – koffie", Time: at(2)}},
		QueueLog: []QueueLogEntry{
			withID(EnterQueue(at(21), "1717397390.2398", "paspoort", "hmac:9f86d081", 1), 4),
			withID(Connect(at(51), "1717397390.2398", "paspoort", "1001", 30, "1717397405.2410", 7), 5),
		},
		Audit: []AuditEntry{{ID: 6, Time: at(3), Who: "supervisor-ans", What: "queue.update", Details: json.RawMessage(`{"queue":"paspoort","max_wait":"10m"}`)}},
	}
}

// checkStored reads back everything in b and compares it field by field
// (JSON by value: PostgreSQL's jsonb normalises spacing and key order).
func checkStored(t *testing.T, s Store, b *Batch) {
	t.Helper()
	ctx := context.Background()
	evs, err := s.Events(ctx, EventQuery{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(evs) != len(b.Events) {
		t.Fatalf("events = %d, want %d", len(evs), len(b.Events))
	}
	for i, got := range evs {
		want := b.Events[i]
		if !sameJSON(got.Data, want.Data) {
			t.Errorf("event %d data = %s, want %s", i, got.Data, want.Data)
		}
		got.Data, want.Data = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %d = %+v, want %+v", i, got, want)
		}
	}
	for _, want := range b.Contacts {
		got, err := s.Contact(ctx, want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("contact %s = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	cs, err := s.Contacts(ctx, Range{From: at(0), To: at(6)})
	if err != nil || len(cs) != 2 || cs[0].ID != b.Contacts[0].ID {
		t.Errorf("Contacts(range) = %d, %v; want 2 in arrival order", len(cs), err)
	}
	st, err := s.AgentStates(ctx, "", Range{})
	if err != nil || !reflect.DeepEqual(st, b.AgentStates) {
		t.Errorf("agent states = %+v, %v; want %+v", st, err, b.AgentStates)
	}
	ql, err := s.QueueLog(ctx, Range{})
	if err != nil || !reflect.DeepEqual(ql, b.QueueLog) {
		t.Errorf("queue_log = %+v, %v; want %+v", ql, err, b.QueueLog)
	}
	au, err := s.Audit(ctx, Range{})
	if err != nil || len(au) != len(b.Audit) {
		t.Fatalf("audit = %+v, %v; want %d entries", au, err, len(b.Audit))
	}
	for i, got := range au {
		want := b.Audit[i]
		if !sameJSON(got.Details, want.Details) {
			t.Errorf("audit %d details = %s, want %s", i, got.Details, want.Details)
		}
		got.Details, want.Details = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("audit %d = %+v, want %+v", i, got, want)
		}
	}
}

// sameJSON compares two JSON values; empty means {}.
func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	if err := json.Unmarshal([]byte(jsonText(a)), &va); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(jsonText(b)), &vb); err != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
