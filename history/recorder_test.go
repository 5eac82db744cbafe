package history

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/routing"
	"kcc/store"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// records keeps what the recorder appended, in order.
type records struct{ list []store.Record }

func (r *records) Append(rec store.Record) (int64, error) {
	r.list = append(r.list, rec)
	return int64(len(r.list)), nil
}

func (r *records) contact(t *testing.T) store.Contact {
	t.Helper()
	for i := len(r.list) - 1; i >= 0; i-- {
		if c, ok := r.list[i].(store.Contact); ok {
			return c
		}
	}
	t.Fatal("no contact record")
	return store.Contact{}
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestAnsweredAfterNoAnswer: the first agent does not answer, the second
// does, the caller hangs up, the agent's wrap-up ends.
func TestAnsweredAfterNoAnswer(t *testing.T) {
	var recs records
	var qlog bytes.Buffer
	r := New(Config{HashKey: []byte("test-key"), QueueLog: &qlog}, &recs, zerolog.Nop())
	r.Event(routing.Event{Kind: routing.AgentStateChanged, At: at(0), Agent: "2001", From: routing.LoggedOut, To: routing.Available})
	r.Event(routing.Event{Kind: routing.AgentStateChanged, At: at(0), Agent: "2002", From: routing.LoggedOut, To: routing.Available})
	r.Arrived("c1", "+31612345678", "14070", at(10))
	r.IVREnded("c1", "abc-1", []string{"welkom", "taal:1", "hoofdmenu:1"}, "", at(25))
	r.Event(routing.Event{Kind: routing.ContactQueued, At: at(25), Contact: "c1", Queue: "paspoort", Position: 1})
	r.Event(routing.Event{Kind: routing.OfferRinging, At: at(25), Contact: "c1", Queue: "paspoort", Agent: "2001", Offer: 1, Attempt: 1})
	r.Event(routing.Event{Kind: routing.OfferTimedOut, At: at(40), Contact: "c1", Queue: "paspoort", Agent: "2001", Offer: 1, Attempt: 1, Rang: 15 * time.Second})
	r.Event(routing.Event{Kind: routing.OfferRinging, At: at(40), Contact: "c1", Queue: "paspoort", Agent: "2002", Offer: 2, Attempt: 2})
	r.Event(routing.Event{Kind: routing.ContactAnswered, At: at(43), Contact: "c1", Queue: "paspoort", Agent: "2002", Offer: 2, Attempt: 2,
		Waited: 18 * time.Second, Rang: 3 * time.Second})
	r.Talked("c1", "2002", true, store.LegQuality{Loss: 0.01, Jitter: 2 * time.Millisecond}, store.LegQuality{}, at(163))
	r.Event(routing.Event{Kind: routing.AgentStateChanged, At: at(163), Agent: "2002", Contact: "c1", From: routing.OnCall, To: routing.WrapUp})
	r.Ended("c1", at(163))
	r.Event(routing.Event{Kind: routing.AgentStateChanged, At: at(173), Agent: "2002", From: routing.WrapUp, To: routing.Available})
	golden(t, "answered.queue_log", qlog.Bytes())

	c := recs.contact(t)
	want := store.Contact{ID: "c1", Caller: r.Caller("+31612345678"), Arrival: at(10), IVREnd: at(25), QueueEntry: at(25),
		Answer: at(43), End: at(163), WrapUpEnd: at(173), Offers: 2, FlowVersion: "abc-1", IVRPath: "welkom>taal:1>hoofdmenu:1",
		Queue: "paspoort", Agent: "2002", Outcome: store.OutcomeAnswered, Wait: 18 * time.Second, Talk: 120 * time.Second,
		WrapUp: 10 * time.Second, CallerLeg: store.LegQuality{Loss: 0.01, Jitter: 2 * time.Millisecond}}
	if c != want {
		t.Errorf("contact record\n got %+v\nwant %+v", c, want)
	}
	if strings.Contains(c.Caller, "612345678") || !strings.HasPrefix(c.Caller, "h:") {
		t.Errorf("caller stored as %q, want a pseudonym", c.Caller)
	}
	if r.Caller("+31612345678") != c.Caller || r.Caller("+31612345679") == c.Caller {
		t.Error("pseudonyms must be stable per number and differ between numbers")
	}
	var events, states int
	for _, rec := range recs.list {
		switch rec.(type) {
		case store.Event:
			events++
		case store.AgentState:
			states++
		}
	}
	if events != 13 || states != 4 {
		t.Errorf("%d events and %d agent states stored, want 13 and 4", events, states)
	}
}

// TestAbandonWhileRinging: the caller hangs up while an agent rings.
func TestAbandonWhileRinging(t *testing.T) {
	var recs records
	var qlog bytes.Buffer
	r := New(Config{RawNumbers: true, QueueLog: &qlog}, &recs, zerolog.Nop())
	r.Arrived("c2", "+31701234567", "14070", at(0))
	r.IVREnded("c2", "abc-1", []string{"welkom"}, "", at(5))
	r.Event(routing.Event{Kind: routing.ContactQueued, At: at(5), Contact: "c2", Queue: "afval", Position: 2})
	r.Event(routing.Event{Kind: routing.OfferRinging, At: at(30), Contact: "c2", Queue: "afval", Agent: "2003", Offer: 7, Attempt: 1})
	r.Event(routing.Event{Kind: routing.ContactAbandoned, At: at(33), Contact: "c2", Queue: "afval", Position: 1, Waited: 28 * time.Second,
		Agent: "2003", Offer: 7, Attempt: 1, Rang: 3 * time.Second})
	r.Ended("c2", at(33))
	golden(t, "abandoned.queue_log", qlog.Bytes())
	c := recs.contact(t)
	if c.Outcome != store.OutcomeAbandoned || c.Wait != 28*time.Second || c.Caller != "+31701234567" || c.End != at(33) {
		t.Errorf("contact record %+v", c)
	}
}

// TestClosedInIVR: the flow ends the call (outside opening hours).
func TestClosedInIVR(t *testing.T) {
	var recs records
	r := New(Config{}, &recs, zerolog.Nop())
	r.Arrived("c3", "anonymous", "14070", at(0))
	r.IVREnded("c3", "abc-1", []string{"openingstijden", "gesloten"}, "normal", at(8))
	r.Ended("c3", at(8))
	if c := recs.contact(t); c.Outcome != store.OutcomeClosed || c.Caller != "anonymous" {
		t.Errorf("contact record %+v, want outcome closed and a withheld caller", c)
	}
	r.Arrived("c4", "+31612345678", "14070", at(0))
	r.Ended("c4", at(3))
	if c := recs.contact(t); c.Outcome != store.OutcomeAbandoned {
		t.Errorf("hung up in the IVR: outcome %q, want abandoned", c.Outcome)
	}
}

// TestRecordsAreValid stores a whole scenario in a real SQLite store, so the
// records the recorder makes are ones the store accepts.
func TestRecordsAreValid(t *testing.T) {
	s, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "kcc.db"), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := store.NewWriter(t.Context(), s, store.WriterConfig{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{HashKey: []byte("k")}, w, zerolog.Nop())
	r.Arrived("c1", "+31612345678", "14070", at(0))
	r.IVREnded("c1", "v", []string{"welkom"}, "", at(5))
	r.Event(routing.Event{Kind: routing.ContactQueued, At: at(5), Contact: "c1", Queue: "paspoort", Position: 1})
	r.Event(routing.Event{Kind: routing.ContactAnswered, At: at(9), Contact: "c1", Queue: "paspoort", Agent: "2001", Offer: 1, Waited: 4 * time.Second})
	r.Talked("c1", "2001", false, store.LegQuality{}, store.LegQuality{}, at(20))
	r.Ended("c1", at(20))
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("writer: %v (stats %+v)", err, w.Stats())
	}
	if st := w.Stats(); st.Dropped != 0 || st.LastError != nil {
		t.Fatalf("writer stats %+v", st)
	}
	c, err := s.Contact(t.Context(), "c1")
	if err != nil || c.Outcome != store.OutcomeAnswered || c.Agent != "2001" {
		t.Fatalf("stored contact %+v, %v", c, err)
	}
	ql, err := s.QueueLog(t.Context(), store.Range{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	if err != nil || len(ql) != 3 || ql[0].Event != "ENTERQUEUE" || ql[1].Event != "CONNECT" || ql[2].Event != "COMPLETEAGENT" {
		t.Fatalf("stored queue_log %+v, %v", ql, err)
	}
}

func TestAudit(t *testing.T) {
	var recs records
	r := New(Config{}, &recs, zerolog.Nop())
	r.Audit("admin@127.0.0.1", "POST /api/v1/flows/reload", map[string]any{"status": 200}, at(1))
	if len(recs.list) != 1 {
		t.Fatalf("%d records, want 1", len(recs.list))
	}
	a, ok := recs.list[0].(store.AuditEntry)
	if !ok || a.Who != "admin@127.0.0.1" || a.What != "POST /api/v1/flows/reload" || string(a.Details) != `{"status":200}` || a.Time != at(1) {
		t.Errorf("audit record %+v", recs.list[0])
	}
}

// TestOverflowMove: max wait in afval moves the caller to algemeen.
func TestOverflowMove(t *testing.T) {
	var recs records
	var qlog bytes.Buffer
	r := New(Config{RawNumbers: true, QueueLog: &qlog}, &recs, zerolog.Nop())
	r.Arrived("c5", "+31701234567", "14070", at(0))
	r.Event(routing.Event{Kind: routing.ContactQueued, At: at(5), Contact: "c5", Queue: "afval", Position: 1})
	r.Event(routing.Event{Kind: routing.ContactMaxWait, At: at(305), Contact: "c5", Queue: "afval", Position: 1, Waited: 300 * time.Second, Other: "algemeen"})
	r.Event(routing.Event{Kind: routing.ContactMoved, At: at(305), Contact: "c5", Queue: "algemeen", Other: "afval", Position: 3})
	want := "1795770305|c5|afval|NONE|EXITWITHTIMEOUT|1|1|300\n1795770305|c5|algemeen|NONE|ENTERQUEUE||+31701234567|3\n"
	if got := qlog.String(); !strings.HasSuffix(got, want) {
		t.Errorf("queue_log\n got %q\nwant suffix %q", got, want)
	}
	if c := recs.contact(t); c.Queue != "algemeen" || c.Outcome != store.OutcomeOverflow || c.QueueEntry != at(5) {
		t.Errorf("contact record %+v", c)
	}
}

// TestExitKey: the caller leaves the queue with the exit key.
func TestExitKey(t *testing.T) {
	var recs records
	var qlog bytes.Buffer
	r := New(Config{RawNumbers: true, QueueLog: &qlog}, &recs, zerolog.Nop())
	r.Arrived("c6", "+31701234567", "14070", at(0))
	r.Event(routing.Event{Kind: routing.ContactQueued, At: at(5), Contact: "c6", Queue: "paspoort", Position: 2})
	r.Event(routing.Event{Kind: routing.ContactExited, At: at(35), Contact: "c6", Queue: "paspoort", Position: 1, Waited: 30 * time.Second, Reason: "0"})
	if want := "1795770035|c6|paspoort|NONE|EXITWITHKEY|0|1|2|30\n"; !strings.HasSuffix(qlog.String(), want) {
		t.Errorf("queue_log\n got %q\nwant suffix %q", qlog.String(), want)
	}
	if c := recs.contact(t); c.Outcome != "" || c.Wait != 30*time.Second {
		t.Errorf("contact record %+v: want no outcome yet and 30 s waited", c)
	}
}

func TestPseudonym(t *testing.T) {
	raw := New(Config{HashKey: []byte("k"), RawNumbers: true}, nil, zerolog.Nop())
	hashed := New(Config{HashKey: []byte("k")}, nil, zerolog.Nop())
	other := New(Config{HashKey: []byte("other")}, nil, zerolog.Nop())
	p := raw.Pseudonym("+31612345678")
	for _, tc := range []struct {
		name      string
		got, want string
	}{
		{"raw mode stores the number", raw.Caller("+31612345678"), "+31612345678"},
		{"pseudonym does not depend on raw mode", hashed.Pseudonym("+31612345678"), p},
		{"default mode stores the pseudonym", hashed.Caller("+31612345678"), p},
		{"a pseudonym stays as it is", Pseudonym([]byte("k"), p), p},
		{"withheld stays withheld", Pseudonym([]byte("k"), "anonymous"), "anonymous"},
		{"empty stays empty", Pseudonym([]byte("k"), ""), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if !strings.HasPrefix(p, PseudonymPrefix) || strings.Contains(p, "612345678") || other.Pseudonym("+31612345678") == p {
		t.Errorf("pseudonym %q: want the prefix, no trace of the number, and a different one under another key", p)
	}
}

// A callback request stored by an earlier run gets its answer and end once
// the record is resumed.
func TestResumedCallbackRecordGetsItsAnswer(t *testing.T) {
	w := &records{}
	r := New(Config{HashKey: []byte("0123456789abcdef")}, w, zerolog.Nop())
	r.Resume(store.Contact{ID: "cb1", Caller: "h:1", Arrival: at(0), QueueEntry: at(30),
		Queue: "paspoort", Outcome: store.OutcomeCallback})
	r.Event(routing.Event{Kind: routing.ContactAnswered, At: at(3600), Contact: "cb1", Queue: "paspoort",
		Agent: "2001", Offer: 7, Waited: time.Hour, Callback: true})
	r.CallbackEnded("cb1", true, at(3900))
	got := w.contact(t)
	if got.Agent != "2001" || got.Outcome != store.OutcomeCallback || !got.End.Equal(at(3900)) || !got.Answer.Equal(at(3600)) {
		t.Errorf("resumed record = %+v; want agent 2001 answering at 3600 s, outcome callback, end at 3900 s", got)
	}
}
