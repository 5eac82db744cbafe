package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// memStore is a fake BatchWriter: the Writer's timing (linger, backoff,
// drops, close deadline) is tested under testing/synctest, where a real
// database's I/O would not be part of the fake clock. Failures are
// injected by the test; the real back ends' failures are in fault_test.go.
type memStore struct {
	mu      sync.Mutex
	maxSeq  int64
	failErr error     // returned by WriteBatch while set
	calls   int       // WriteBatch calls, failed ones included
	batches [][]int64 // ids of each stored batch (events only)
	at      []time.Time
}

func (m *memStore) MaxSeq(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failErr != nil {
		return 0, m.failErr
	}
	return m.maxSeq, nil
}

func (m *memStore) WriteBatch(_ context.Context, b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.failErr != nil {
		return m.failErr
	}
	var ids []int64
	for _, e := range b.Events {
		ids = append(ids, e.ID)
	}
	m.batches = append(m.batches, ids)
	m.at = append(m.at, time.Now())
	return nil
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	m.failErr = err
	m.mu.Unlock()
}

func (m *memStore) stored() (n int, batches [][]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.batches {
		n += len(b)
	}
	return n, append([][]int64(nil), m.batches...)
}

var errDiskFull = errors.New("database or disk is full (SQLITE_FULL)")

func ev(i int) Event { return Event{ContactID: "c", Kind: "test", Time: at(i)} }

func newTestWriter(t *testing.T, m *memStore, cfg WriterConfig) (*Writer, *logBuffer) {
	t.Helper()
	logs, log := newLog()
	w, err := NewWriter(context.Background(), m, cfg, log)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	return w, logs
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestWriterBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{}
		w, _ := newTestWriter(t, m, WriterConfig{MaxBatch: 100, MaxDelay: 10 * time.Millisecond})
		start := time.Now()
		for i := range 250 {
			if _, err := w.Append(ev(i)); err != nil {
				t.Fatalf("Append: %v", err)
			}
		}
		if err := w.Flush(context.Background()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		n, batches := m.stored()
		var sizes []int
		next := int64(1)
		for _, b := range batches {
			sizes = append(sizes, len(b))
			for _, id := range b {
				if id != next {
					t.Fatalf("id %d where %d was expected: ids must be stored in append order", id, next)
				}
				next++
			}
		}
		if n != 250 || fmt.Sprint(sizes) != "[100 100 50]" {
			t.Errorf("stored %d in batches %v, want 250 in [100 100 50]", n, sizes)
		}
		// Full batches go at once; the partial one waits MaxDelay for more.
		if d := m.at[0].Sub(start); d != 0 {
			t.Errorf("first full batch written after %v, want at once", d)
		}
		if d := m.at[2].Sub(start); d != 10*time.Millisecond {
			t.Errorf("partial batch written after %v, want MaxDelay 10ms", d)
		}
		st := w.Stats()
		if st.Written != 250 || st.Batches != 3 || st.Durable != 250 || st.Pending != 0 || !st.Healthy {
			t.Errorf("stats = %+v", st)
		}
		closeWriter(t, w)
	})
}

func TestWriterAppendWaitAcknowledges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{maxSeq: 41}
		w, _ := newTestWriter(t, m, WriterConfig{MaxDelay: 3 * time.Millisecond})
		start := time.Now()
		id, err := w.AppendWait(context.Background(), ev(0))
		if err != nil || id != 42 {
			t.Fatalf("AppendWait = %d, %v; want 42 (continuing after the stored maximum 41)", id, err)
		}
		if n, _ := m.stored(); n != 1 {
			t.Errorf("stored %d when AppendWait returned, want 1", n)
		}
		if d := time.Since(start); d != 3*time.Millisecond {
			t.Errorf("acknowledged after %v, want MaxDelay 3ms", d)
		}
		// A wait that ends early leaves the record queued.
		m.setFail(errDiskFull)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := w.AppendWait(ctx, ev(1)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("AppendWait while failing = %v, want DeadlineExceeded", err)
		}
		m.setFail(nil)
		if err := w.Flush(context.Background()); err != nil {
			t.Errorf("Flush: %v", err)
		}
		if n, _ := m.stored(); n != 2 {
			t.Errorf("stored %d, want 2", n)
		}
		closeWriter(t, w)
	})
}

func TestWriterRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{}
		w, logs := newTestWriter(t, m, WriterConfig{MaxDelay: 5 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: 300 * time.Millisecond})
		m.setFail(errDiskFull)
		start := time.Now()
		if _, err := w.Append(ev(0)); err != nil {
			t.Fatalf("Append: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // the batch is taken and fails
		synctest.Wait()
		st := w.Stats()
		if st.Healthy || st.Failures != 1 || !errors.Is(st.LastError, errDiskFull) || st.Pending != 1 || st.Written != 0 {
			t.Errorf("stats during outage = %+v", st)
		}
		if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), "store write failed") {
			t.Errorf("first failure not logged as an error:\n%s", logs)
		}
		// Calls go on: Append does not block while the store is down.
		if _, err := w.Append(ev(1)); err != nil {
			t.Errorf("Append during outage: %v", err)
		}
		time.Sleep(600 * time.Millisecond) // retries at +100, +200, +300 (capped), ...
		synctest.Wait()
		m.setFail(nil)
		if err := w.Flush(context.Background()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		// Attempts at 5, 105, 305, 605 (failing), then 905 ms: backoff
		// 100, 200, 300, 300 with RetryMax 300.
		if d := m.at[0].Sub(start); d != 905*time.Millisecond {
			t.Errorf("stored after %v, want 905ms", d)
		}
		st = w.Stats()
		if !st.Healthy || st.Failures != 4 || st.Written != 2 || st.Pending != 0 || !errors.Is(st.LastError, errDiskFull) {
			t.Errorf("stats after recovery = %+v", st)
		}
		if !strings.Contains(logs.String(), "store write recovered") {
			t.Errorf("recovery not logged:\n%s", logs)
		}
		closeWriter(t, w)
	})
}

func TestWriterDropsWhenBufferFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{}
		w, logs := newTestWriter(t, m, WriterConfig{Buffer: 10, MaxDelay: time.Millisecond})
		m.setFail(errDiskFull)
		var dropped int
		for i := range 15 {
			if _, err := w.Append(ev(i)); errors.Is(err, ErrBufferFull) {
				dropped++
			} else if err != nil {
				t.Fatalf("Append %d: %v", i, err)
			}
		}
		if dropped != 5 {
			t.Errorf("dropped %d, want 5 (buffer 10)", dropped)
		}
		st := w.Stats()
		if st.Dropped != 5 || st.Pending != 10 {
			t.Errorf("stats = %+v, want 5 dropped, 10 pending", st)
		}
		// The first drop is logged at once, the rest summarised later.
		if got := strings.Count(logs.String(), "history records dropped"); got != 1 {
			t.Errorf("drop log lines = %d, want 1:\n%s", got, logs)
		}
		m.setFail(nil)
		if err := w.Flush(context.Background()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if n, _ := m.stored(); n != 10 {
			t.Errorf("stored %d, want the 10 buffered", n)
		}
		if !strings.Contains(logs.String(), `"dropped":4`) {
			t.Errorf("the 4 later drops were not reported on recovery:\n%s", logs)
		}
		closeWriter(t, w)
	})
}

func TestWriterRefusesInvalidRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{}
		w, _ := newTestWriter(t, m, WriterConfig{})
		for _, r := range []Record{Event{Time: t0}, Contact{ID: "c"}, QueueLogEntry{Time: t0, Event: "X", Data: []string{"a\nb"}}} {
			if _, err := w.Append(r); !errors.Is(err, ErrInvalid) {
				t.Errorf("Append(%T) = %v, want ErrInvalid", r, err)
			}
		}
		if st := w.Stats(); st.Pending != 0 {
			t.Errorf("pending = %d, want 0", st.Pending)
		}
		closeWriter(t, w)
	})
}

func TestWriterCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{}
		w, _ := newTestWriter(t, m, WriterConfig{MaxDelay: time.Hour})
		for i := range 5 {
			if _, err := w.Append(ev(i)); err != nil {
				t.Fatal(err)
			}
		}
		closeWriter(t, w) // does not wait out MaxDelay
		if n, _ := m.stored(); n != 5 {
			t.Errorf("stored %d after Close, want 5", n)
		}
		if _, err := w.Append(ev(9)); !errors.Is(err, ErrClosed) {
			t.Errorf("Append after Close = %v, want ErrClosed", err)
		}
		if err := w.Flush(context.Background()); err != nil {
			t.Errorf("Flush after Close with everything written = %v, want nil", err)
		}
	})
}

func TestWriterCloseGivesUpAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{}
		w, logs := newTestWriter(t, m, WriterConfig{})
		m.setFail(errDiskFull)
		ids := make([]int64, 3)
		for i := range ids {
			ids[i], _ = w.Append(ev(i))
		}
		waitErr := make(chan error, 1)
		go func() {
			_, err := w.AppendWait(context.Background(), ev(3))
			waitErr <- err
		}()
		synctest.Wait() // the fourth record is appended and its wait blocked
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := w.Close(ctx)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "4 records not written") {
			t.Errorf("Close = %v, want 4 records not written and DeadlineExceeded", err)
		}
		if !strings.Contains(logs.String(), "store writer closed before writing all records") {
			t.Errorf("lost records not logged:\n%s", logs)
		}
		if err := <-waitErr; !errors.Is(err, ErrClosed) {
			t.Errorf("AppendWait pending at Close = %v, want ErrClosed", err)
		}
	})
}

func TestNewWriterFailsWhenStoreIsDown(t *testing.T) {
	m := &memStore{failErr: errDiskFull}
	if _, err := NewWriter(context.Background(), m, WriterConfig{}, zerolog.Nop()); !errors.Is(err, errDiskFull) {
		t.Errorf("NewWriter = %v, want the store's error", err)
	}
}

func TestWriterConcurrentAppends(t *testing.T) {
	// Real SQLite, real goroutines, under -race: ids are unique and every
	// acknowledged record is stored.
	db := sqliteDatabase(t)
	ctx := context.Background()
	st, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := NewWriter(ctx, st, WriterConfig{MaxBatch: 64}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 8, 50
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				var id int64
				var err error
				if i%10 == 0 {
					id, err = w.AppendWait(ctx, ev(g*each+i))
				} else {
					id, err = w.Append(ev(g*each + i))
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("id %d given twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, EventQuery{Limit: goroutines * each})
	if err != nil || len(evs) != goroutines*each {
		t.Fatalf("stored %d, %v; want %d", len(evs), err, goroutines*each)
	}
	for _, e := range evs {
		if !seen[e.ID] {
			t.Errorf("stored id %d was never returned by Append", e.ID)
		}
	}
}
