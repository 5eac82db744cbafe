package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"kcc/call"
)

func sampleCallback(id call.ID, since time.Time) Callback {
	return Callback{
		ID: id, Number: "+31701234567", NumberKey: "h:" + string(id), Queue: "afval", Topic: "Grofvuil",
		Language: "nl", Priority: 3, Skills: []string{"afval", "grofvuil"}, Care: true,
		Vars: map[string]string{"postcode": "2511", "naam": "Jüri"}, Since: since, Requested: since.Add(90 * time.Second),
		State: CallbackPending,
	}
}

// runCallbackConformance is the part of the conformance suite about pending
// callbacks: synchronous writes that must survive a restart.
func runCallbackConformance(t *testing.T, fresh func(testing.TB) database) {
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

	t.Run("callback round-trips and survives a reopen", func(t *testing.T) {
		db := fresh(t)
		s := open(t, db)
		want := sampleCallback("c1", at(0))
		want.NextAttempt = at(600)
		if err := s.SaveCallback(ctx, want); err != nil {
			t.Fatalf("SaveCallback: %v", err)
		}
		got, err := s.Callback(ctx, "c1")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Callback = %+v, %v; want %+v", got, err, want)
		}
		// No Flush, no Writer: the save itself is durable. Reopen (for
		// SQLite: the file) as kcc does after a restart.
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		s2 := open(t, db)
		pend, err := s2.PendingCallbacks(ctx)
		if err != nil || len(pend) != 1 || !reflect.DeepEqual(pend[0], want) {
			t.Errorf("after reopen: PendingCallbacks = %+v, %v; want [%+v]", pend, err, want)
		}
		if _, err := s2.Callback(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Callback(nobody) = %v, want ErrNotFound", err)
		}
	})

	t.Run("upgrade from schema 1 replaces the old callback tables", func(t *testing.T) {
		db := fresh(t)
		d := sqliteDialect
		if db.url != "" {
			d = postgresDialect
		}
		ms, err := d.migrations()
		if err != nil {
			t.Fatal(err)
		}
		// A database as the kcc of schema 1 left it.
		for _, q := range []string{schemaMigrationsSQL, ms[0].sql,
			"INSERT INTO schema_migrations (version, name, applied_us) VALUES (1, 'init', 0)"} {
			if err := db.exec(ctx, q); err != nil {
				t.Fatalf("set up schema 1: %v", err)
			}
		}
		s := open(t, db)
		if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
			t.Errorf("version after upgrade = %d, %v; want %d", v, err, latestVersion(t))
		}
		if err := s.SaveCallback(ctx, sampleCallback("c1", at(0))); err != nil {
			t.Errorf("SaveCallback after upgrade: %v", err)
		}
	})

	t.Run("empty skills and variables", func(t *testing.T) {
		s := open(t, fresh(t))
		c := Callback{ID: "c", Number: "1", Since: at(0), Requested: at(0), State: CallbackPending}
		if err := s.SaveCallback(ctx, c); err != nil {
			t.Fatalf("SaveCallback: %v", err)
		}
		got, err := s.Callback(ctx, "c")
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("Callback = %+v, %v; want %+v", got, err, c)
		}
	})

	t.Run("pending callbacks in the order of their place", func(t *testing.T) {
		s := open(t, fresh(t))
		for _, c := range []Callback{
			sampleCallback("third", at(30)),
			sampleCallback("first", at(-100)),
			sampleCallback("finished", at(-200)),
			sampleCallback("second", at(10)),
		} {
			if err := s.SaveCallback(ctx, c); err != nil {
				t.Fatalf("SaveCallback %s: %v", c.ID, err)
			}
		}
		if err := s.FinishCallback(ctx, "finished", CallbackCancelled, "resident called again", at(40)); err != nil {
			t.Fatalf("FinishCallback: %v", err)
		}
		pend, err := s.PendingCallbacks(ctx)
		if err != nil {
			t.Fatalf("PendingCallbacks: %v", err)
		}
		var ids []call.ID
		for _, c := range pend {
			ids = append(ids, c.ID)
		}
		if want := []call.ID{"first", "second", "third"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("pending = %v, want %v", ids, want)
		}
	})

	t.Run("save replaces, attempts never go down, finished stays finished", func(t *testing.T) {
		s := open(t, fresh(t))
		c := sampleCallback("c1", at(0))
		if err := s.SaveCallback(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordCallbackAttempt(ctx, CallbackAttempt{Callback: "c1", N: 1, At: at(100), Agent: "1001", Result: AttemptNoAnswer}, at(700)); err != nil {
			t.Fatalf("RecordCallbackAttempt: %v", err)
		}
		// A save from a copy taken before the attempt: new fields win,
		// the attempt count does not go back to 0.
		c.Priority, c.Queue, c.NextAttempt = 9, "algemeen", at(800)
		if err := s.SaveCallback(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Callback(ctx, "c1")
		want := c
		want.Attempts = 1
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after second save: %+v, %v; want %+v", got, err, want)
		}
		if err := s.FinishCallback(ctx, "c1", CallbackDone, "answered", at(900)); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCallback(ctx, c); !errors.Is(err, ErrFinished) {
			t.Errorf("save after finish = %v, want ErrFinished", err)
		}
		got, err = s.Callback(ctx, "c1")
		if err != nil || got.State != CallbackDone || got.Number != "" {
			t.Errorf("after a refused save: state %q number %q, %v; want done and no number", got.State, got.Number, err)
		}
	})

	t.Run("attempts", func(t *testing.T) {
		s := open(t, fresh(t))
		if err := s.SaveCallback(ctx, sampleCallback("c1", at(0))); err != nil {
			t.Fatal(err)
		}
		a1 := CallbackAttempt{Callback: "c1", N: 1, At: at(100), Agent: "1001", Result: AttemptNoAnswer}
		a2 := CallbackAttempt{Callback: "c1", N: 2, At: at(800), Agent: "1002", Result: AttemptBusy}
		for _, step := range []struct {
			a    CallbackAttempt
			next time.Time
		}{{a1, at(700)}, {a2, at(1500)}, {a2, at(1500)}} { // a2 twice: a retry
			if err := s.RecordCallbackAttempt(ctx, step.a, step.next); err != nil {
				t.Fatalf("RecordCallbackAttempt %d: %v", step.a.N, err)
			}
		}
		got, err := s.CallbackAttempts(ctx, "c1")
		if want := []CallbackAttempt{a1, a2}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("CallbackAttempts = %+v, %v; want %+v", got, err, want)
		}
		c, err := s.Callback(ctx, "c1")
		if err != nil || c.Attempts != 2 || !c.NextAttempt.Equal(at(1500)) {
			t.Errorf("callback after attempts: attempts %d next %v, %v; want 2, %v", c.Attempts, c.NextAttempt, err, at(1500))
		}
		// An attempt without a next time: dial again as soon as possible.
		if err := s.RecordCallbackAttempt(ctx, CallbackAttempt{Callback: "c1", N: 3, At: at(1500), Result: AttemptFailed}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Callback(ctx, "c1"); c.Attempts != 3 || !c.NextAttempt.IsZero() {
			t.Errorf("after attempt 3: attempts %d next %v; want 3 and none", c.Attempts, c.NextAttempt)
		}
		if err := s.RecordCallbackAttempt(ctx, CallbackAttempt{Callback: "nobody", N: 1, At: at(0), Result: AttemptBusy}, time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("attempt of unknown callback = %v, want ErrNotFound", err)
		}
		if err := s.FinishCallback(ctx, "c1", CallbackFailed, "three attempts", at(1600)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordCallbackAttempt(ctx, CallbackAttempt{Callback: "c1", N: 4, At: at(1700), Result: AttemptBusy}, time.Time{}); !errors.Is(err, ErrFinished) {
			t.Errorf("attempt after finish = %v, want ErrFinished", err)
		}
		if got, _ := s.CallbackAttempts(ctx, "c1"); len(got) != 3 {
			t.Errorf("attempts after a refused one = %d, want 3", len(got))
		}
	})

	t.Run("finish forgets the number and is final", func(t *testing.T) {
		s := open(t, fresh(t))
		c := sampleCallback("c1", at(0))
		c.NextAttempt = at(50)
		if err := s.SaveCallback(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishCallback(ctx, "c1", CallbackDone, "answered by 1001", at(60)); err != nil {
			t.Fatalf("FinishCallback: %v", err)
		}
		got, err := s.Callback(ctx, "c1")
		want := c
		want.State, want.Outcome, want.Finished, want.Number, want.NextAttempt = CallbackDone, "answered by 1001", at(60), "", time.Time{}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("finished = %+v, %v; want %+v", got, err, want)
		}
		if pend, err := s.PendingCallbacks(ctx); err != nil || len(pend) != 0 {
			t.Errorf("pending after finish = %+v, %v; want none", pend, err)
		}
		if err := s.FinishCallback(ctx, "c1", CallbackCancelled, "again", at(70)); !errors.Is(err, ErrFinished) {
			t.Errorf("second finish = %v, want ErrFinished", err)
		}
		if got, _ := s.Callback(ctx, "c1"); got.State != CallbackDone || got.Outcome != "answered by 1001" {
			t.Errorf("after second finish: %q %q, want the first finish kept", got.State, got.Outcome)
		}
		if err := s.FinishCallback(ctx, "nobody", CallbackDone, "", at(70)); !errors.Is(err, ErrNotFound) {
			t.Errorf("finish unknown = %v, want ErrNotFound", err)
		}
	})

	t.Run("count per number since a time", func(t *testing.T) {
		s := open(t, fresh(t))
		day := 24 * time.Hour
		for i, c := range []struct {
			key       string
			requested time.Time
			finish    bool
		}{
			{"h:a", t0.Add(-day - time.Microsecond), false}, // just outside the day
			{"h:a", t0.Add(-day), true},                     // just inside, finished: still counts
			{"h:a", t0, false},
			{"h:b", t0, false},
		} {
			cb := sampleCallback(call.ID(fmt.Sprint("c", i)), c.requested)
			cb.NumberKey, cb.Requested = c.key, c.requested
			if err := s.SaveCallback(ctx, cb); err != nil {
				t.Fatal(err)
			}
			if c.finish {
				if err := s.FinishCallback(ctx, cb.ID, CallbackDone, "", t0); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tc := range []struct {
			key  string
			want int
		}{{"h:a", 2}, {"h:b", 1}, {"h:none", 0}} {
			if got, err := s.CountCallbacks(ctx, tc.key, t0.Add(-day)); err != nil || got != tc.want {
				t.Errorf("CountCallbacks(%s) = %d, %v; want %d", tc.key, got, err, tc.want)
			}
		}
	})

	t.Run("invalid callbacks are refused", func(t *testing.T) {
		s := open(t, fresh(t))
		ok := sampleCallback("c1", at(0))
		mod := func(f func(*Callback)) Callback { c := ok; f(&c); return c }
		for _, tc := range []struct {
			name string
			c    Callback
		}{
			{"no id", mod(func(c *Callback) { c.ID = "" })},
			{"no number", mod(func(c *Callback) { c.Number = "" })},
			{"not pending", mod(func(c *Callback) { c.State = CallbackDone })},
			{"unknown state", mod(func(c *Callback) { c.State = "maybe" })},
			{"no since", mod(func(c *Callback) { c.Since = time.Time{} })},
			{"no request time", mod(func(c *Callback) { c.Requested = time.Time{} })},
			{"negative attempts", mod(func(c *Callback) { c.Attempts = -1 })},
			{"NUL in a variable", mod(func(c *Callback) { c.Vars = map[string]string{"a": "b\x00"} })},
			{"invalid utf-8 skill", mod(func(c *Callback) { c.Skills = []string{"\xff"} })},
			{"year 10000", mod(func(c *Callback) { c.NextAttempt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		} {
			if err := s.SaveCallback(ctx, tc.c); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: SaveCallback = %v, want ErrInvalid", tc.name, err)
			}
		}
		if pend, _ := s.PendingCallbacks(ctx); len(pend) != 0 {
			t.Errorf("refused callbacks stored: %+v", pend)
		}
		if err := s.SaveCallback(ctx, ok); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			a    CallbackAttempt
		}{
			{"no callback", CallbackAttempt{N: 1, At: at(0), Result: AttemptBusy}},
			{"attempt 0", CallbackAttempt{Callback: "c1", At: at(0), Result: AttemptBusy}},
			{"unknown result", CallbackAttempt{Callback: "c1", N: 1, At: at(0), Result: "maybe"}},
			{"no time", CallbackAttempt{Callback: "c1", N: 1, Result: AttemptBusy}},
		} {
			if err := s.RecordCallbackAttempt(ctx, tc.a, time.Time{}); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: RecordCallbackAttempt = %v, want ErrInvalid", tc.name, err)
			}
		}
		for _, st := range []CallbackState{CallbackPending, "maybe", ""} {
			if err := s.FinishCallback(ctx, "c1", st, "", at(1)); !errors.Is(err, ErrInvalid) {
				t.Errorf("FinishCallback(%q) = %v, want ErrInvalid", st, err)
			}
		}
		if err := s.FinishCallback(ctx, "c1", CallbackDone, "", time.Time{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("FinishCallback without a time = %v, want ErrInvalid", err)
		}
		if c, _ := s.Callback(ctx, "c1"); c.State != CallbackPending || c.Attempts != 0 {
			t.Errorf("after refused calls: %+v, want pending with no attempts", c)
		}
	})
}

// TestSQLiteCallbackSurvivesSIGKILL saves a callback in a child process that
// is then killed with SIGKILL (no Close, no shutdown), and finds it pending
// in the file afterwards.
func TestSQLiteCallbackSurvivesSIGKILL(t *testing.T) {
	if path := os.Getenv("KCCTEST_CALLBACK_CHILD"); path != "" {
		callbackChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "kcc.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteCallbackSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), "KCCTEST_CALLBACK_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints "saved" once SaveCallback returned, then waits to be
	// killed.
	buf := make([]byte, 64)
	var got strings.Builder
	for !strings.Contains(got.String(), "saved\n") {
		n, err := out.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("child ended before saving: %v; output %q", err, got.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly, want killed")
	}
	s, err := OpenSQLite(context.Background(), path, SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pend, err := s.PendingCallbacks(context.Background())
	want := sampleCallback("killed", t0)
	want.Attempts = 1
	if err != nil || len(pend) != 1 || !reflect.DeepEqual(pend[0], want) {
		t.Errorf("after SIGKILL: pending = %+v, %v; want [%+v]", pend, err, want)
	}
	attempts, err := s.CallbackAttempts(context.Background(), "killed")
	if err != nil || len(attempts) != 1 {
		t.Errorf("after SIGKILL: attempts = %+v, %v; want 1", attempts, err)
	}
}

func callbackChild(path string) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, path, SQLiteOptions{})
	if err == nil {
		err = s.SaveCallback(ctx, sampleCallback("killed", t0))
	}
	if err == nil {
		err = s.RecordCallbackAttempt(ctx, CallbackAttempt{Callback: "killed", N: 1, At: t0, Result: AttemptNoAnswer}, time.Time{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Println("saved")
	// Wait to be killed; the bound only ends a child whose parent died.
	<-time.After(time.Minute)
	os.Exit(3)
}
