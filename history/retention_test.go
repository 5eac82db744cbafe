package history

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/store"
)

// fakePurger records the cut-offs it was asked for.
type fakePurger struct {
	mu     sync.Mutex
	calls  []string // "data@before" in call order
	fail   map[store.Data]bool
	failed int
}

func (f *fakePurger) Purge(_ context.Context, d store.Data, before time.Time, _ int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, string(d)+"@"+before.UTC().Format(time.RFC3339))
	if f.fail[d] {
		f.failed++
		return 0, errors.New("disk full")
	}
	return 3, nil
}

func (f *fakePurger) PseudonymizeCallers(_ context.Context, before time.Time, p store.Pseudonymizer, _ int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "raw@"+before.UTC().Format(time.RFC3339)+" "+p.Prefix)
	return 2, nil
}

func (f *fakePurger) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func TestRetentionRunOnce(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	f := &fakePurger{fail: map[store.Data]bool{store.DataAudit: true}}
	var logs strings.Builder
	r, err := NewRetention(f, RetentionConfig{
		Policy: RetentionPolicy{Events: 30 * day, Contacts: 365 * day, Audit: 2 * 365 * day, Callbacks: 7 * day, RawNumbers: day},
		// AgentStates and QueueLog zero: kept forever, never purged.
		HashKey: []byte("k"), Now: func() time.Time { return now },
	}, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("RunOnce error = %v, want the audit failure", err)
	}
	got := f.take()
	want := []string{
		"events@2026-10-28T03:00:00Z", "contacts@2025-11-27T03:00:00Z", "audit@2024-11-27T03:00:00Z",
		"callbacks@2026-11-20T03:00:00Z", "raw@2026-11-26T03:00:00Z h:",
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("calls = %v, want %v (a failing kind does not stop the others)", got, want)
	}
	if res.Deleted[store.DataEvents] != 3 || res.Deleted[store.DataAudit] != 0 || res.Pseudonymous != 2 {
		t.Errorf("result = %+v, want 3 events, 0 audit, 2 numbers", res)
	}
	if _, ok := res.Deleted[store.DataQueueLog]; ok {
		t.Errorf("queue_log purged without a period: %+v", res)
	}
	for _, line := range []string{`"data":"events","deleted":3`, `"message":"retention: purge failed"`, `"replaced":2`} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %s:\n%s", line, logs.String())
		}
	}
}

func TestNewRetentionRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  RetentionConfig
	}{
		{"negative period", RetentionConfig{Policy: RetentionPolicy{Events: -time.Hour}}},
		{"negative interval", RetentionConfig{Every: -time.Hour}},
		{"raw numbers without key", RetentionConfig{Policy: RetentionPolicy{RawNumbers: time.Hour}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRetention(&fakePurger{}, tc.cfg, zerolog.Nop()); err == nil {
				t.Error("NewRetention succeeded, want an error")
			}
		})
	}
}

// TestRetentionRunSchedule: a run at start, then one a day; a failed run is
// retried after RetryAfter; Run returns when its context ends.
func TestRetentionRunSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePurger{}
		r, err := NewRetention(f, RetentionConfig{Policy: RetentionPolicy{Events: time.Hour}}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.Run(ctx)
		}()
		start := time.Now()
		synctest.Wait()
		if got := f.take(); len(got) != 1 {
			t.Fatalf("runs at start = %v, want 1", got)
		}
		time.Sleep(24*time.Hour - time.Second) // fake time inside the bubble
		synctest.Wait()
		if got := f.take(); len(got) != 0 {
			t.Errorf("runs before a day passed = %v, want none", got)
		}
		f.mu.Lock()
		f.fail = map[store.Data]bool{store.DataEvents: true}
		f.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		want := "events@" + start.Add(24*time.Hour-time.Hour).UTC().Format(time.RFC3339)
		if got := f.take(); len(got) != 1 || got[0] != want {
			t.Errorf("run after a day = %v, want [%s]", got, want)
		}
		// It failed: retried after an hour, not a day.
		f.mu.Lock()
		f.fail = nil
		f.mu.Unlock()
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := f.take(); len(got) != 1 {
			t.Errorf("retry after an hour = %v, want one run", got)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := f.take(); len(got) != 0 {
			t.Errorf("runs an hour after a good run = %v, want none until the next day", got)
		}
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run did not return after cancel")
		}
	})
}

// TestRetentionOnStore: raw numbers recorded in raw mode become, after
// their period, the same pseudonyms the recorder writes in the default
// mode, so a repeat caller is still recognised; old rows go.
func TestRetentionOnStore(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kcc.db"), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := store.NewWriter(ctx, s, store.WriterConfig{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("test-key")
	raw := New(Config{HashKey: key, RawNumbers: true}, w, zerolog.Nop())
	raw.Arrived("old", "+31612345678", "14070", at(0))
	raw.Arrived("new", "+31612345678", "14070", at(0).Add(47*time.Hour))
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	now := at(0).Add(48 * time.Hour)
	r, err := NewRetention(s, RetentionConfig{
		Policy:  RetentionPolicy{RawNumbers: 24 * time.Hour, Events: 36 * time.Hour},
		HashKey: key, Now: func() time.Time { return now },
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RunOnce(ctx)
	if err != nil || res.Pseudonymous != 1 || res.Deleted[store.DataEvents] != 1 {
		t.Fatalf("RunOnce = %+v, %v; want 1 number replaced, 1 event deleted", res, err)
	}
	pseudo := New(Config{HashKey: key}, nil, zerolog.Nop()).Caller("+31612345678")
	for id, want := range map[call.ID]string{"old": pseudo, "new": "+31612345678"} {
		if c, err := s.Contact(ctx, id); err != nil || c.Caller != want {
			t.Errorf("contact %s caller = %q, %v; want %q", id, c.Caller, err, want)
		}
	}
	evs, err := s.Events(ctx, store.EventQuery{})
	if err != nil || len(evs) != 1 || evs[0].ContactID != "new" {
		t.Fatalf("events = %+v, %v; want the new arrival only", evs, err)
	}
	// The event log never holds the raw number, even in raw mode.
	if strings.Contains(string(evs[0].Data), "612345678") || !strings.Contains(string(evs[0].Data), pseudo) {
		t.Errorf("arrival event data %s, want the pseudonym", evs[0].Data)
	}
}
