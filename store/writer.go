package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// ErrBufferFull is returned by [Writer.Append] when the buffer holds as many
// records as configured, which happens only while the store is failing. The
// record is not stored; it is counted in [Stats].Dropped and logged.
var ErrBufferFull = errors.New("store buffer full: record dropped")

// ErrClosed is returned when appending to or waiting on a closed Writer.
var ErrClosed = errors.New("store writer closed")

// BatchWriter is what a [Writer] needs from a store. [SQLite] and
// [Postgres] implement it.
type BatchWriter interface {
	WriteBatch(ctx context.Context, b *Batch) error
	MaxSeq(ctx context.Context) (int64, error)
}

// WriterConfig tunes a [Writer]. Zero fields take the defaults shown.
type WriterConfig struct {
	// MaxBatch is the most records in one transaction; default 1000.
	MaxBatch int
	// MaxDelay is how long the first record of a batch waits for more
	// before the batch is written; default 5 ms. Under load batches fill up
	// during the previous commit anyway; the delay saves fsyncs at moderate
	// rates and adds at most this much to an acknowledgement.
	MaxDelay time.Duration
	// Buffer is the most records waiting (including the batch being
	// written); default 100000, about half an hour of a busy contact centre.
	Buffer int
	// RetryMin and RetryMax bound the backoff between failed attempts;
	// defaults 100 ms and 5 s.
	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one attempt to write a batch; default 30 s.
	WriteTimeout time.Duration
	// DropLogInterval is the least time between two log lines about dropped
	// records (the first drop is logged at once); default 10 s.
	DropLogInterval time.Duration
	// Now is the clock for Stats and drop logging; default time.Now.
	// Waiting uses the time package, which testing/synctest controls.
	Now func() time.Time
}

// DefaultMaxBatch is WriterConfig.MaxBatch when it is not set: also the
// most records a crash can store beyond the last acknowledged one.
const DefaultMaxBatch = 1000

func (c *WriterConfig) defaults() {
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxDelay < 0 {
		c.MaxDelay = 0
	} else if c.MaxDelay == 0 {
		c.MaxDelay = 5 * time.Millisecond
	}
	if c.Buffer <= 0 {
		c.Buffer = 100_000
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 100 * time.Millisecond
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(c.RetryMin, 5*time.Second)
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.DropLogInterval <= 0 {
		c.DropLogInterval = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Stats describes a Writer's progress and health.
type Stats struct {
	Pending     int       // records appended and not yet stored
	Written     uint64    // records stored
	Dropped     uint64    // records refused because the buffer was full
	Failures    uint64    // failed attempts to write a batch
	Batches     uint64    // batches stored
	Durable     int64     // every id up to this one is stored (acknowledged)
	Healthy     bool      // the last attempt succeeded (true before any)
	LastError   error     // the last failure, kept after recovery
	LastErrorAt time.Time // when it happened
}

type pending struct {
	seq int64
	rec Record
}

// Writer is the group-commit writer in front of a store. Append never
// blocks on the database: it validates the record, gives it the next id
// and puts it in a bounded buffer. One goroutine takes up to MaxBatch
// records (after waiting up to MaxDelay for more), writes them in one
// transaction, and retries with backoff while the store fails, keeping
// order: a batch is retried until it is stored, and batches are stored in
// id order.
//
// Acknowledged: a record with id n is acknowledged, that is stored durably
// (committed, fsynced on SQLite, committed with synchronous_commit on
// PostgreSQL), once AppendWait returned n with a nil error, or Flush
// returned nil after Append returned n, or Stats().Durable >= n. After a
// crash every acknowledged id is in the store; records appended but not
// acknowledged may or may not be (at most the buffer; normally at most the
// batch being written).
type Writer struct {
	dst BatchWriter
	cfg WriterConfig
	log zerolog.Logger

	cancel   context.CancelFunc // stops the loop at once (Close's deadline)
	loopDone chan struct{}
	wake     chan struct{} // capacity 1: "there is work or we are closing"

	mu       sync.Mutex
	queue    []pending // appended, not yet taken by the loop
	inflight int       // records in the batch being written
	nextSeq  int64
	closing  bool
	stopped  bool          // the loop has exited
	progress chan struct{} // closed and replaced when durable advances or the loop stops
	stats    Stats
	// Drops not yet logged, and when drops were last logged.
	dropsUnlogged uint64
	lastDropLog   time.Time
	// When the current run of failures started (zero while healthy).
	failingSince time.Time
}

// NewWriter starts a Writer in front of dst. It reads the highest stored id
// so ids continue across restarts; it fails when dst cannot answer, which
// at start-up is right: kcc also needs the store to reload pending
// callbacks. Close must be called to stop the Writer's goroutine.
func NewWriter(ctx context.Context, dst BatchWriter, cfg WriterConfig, log zerolog.Logger) (*Writer, error) {
	cfg.defaults()
	last, err := dst.MaxSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("store writer: read last id: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	w := &Writer{
		dst:      dst,
		cfg:      cfg,
		log:      log,
		cancel:   cancel,
		loopDone: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		nextSeq:  last + 1,
		progress: make(chan struct{}),
	}
	w.stats.Durable = last
	w.stats.Healthy = true
	go w.run(loopCtx)
	return w, nil
}

// Append validates r and queues it, returning its id (see [Writer] for when
// that id is acknowledged). It never waits for the database. It fails with
// an error wrapping ErrInvalid for a record that can never be stored, with
// ErrBufferFull while the buffer is full, and with ErrClosed after Close.
func (w *Writer) Append(r Record) (int64, error) {
	if err := r.validate(); err != nil {
		return 0, err
	}
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return 0, ErrClosed
	}
	if len(w.queue)+w.inflight >= w.cfg.Buffer {
		w.stats.Dropped++
		w.dropsUnlogged++
		now := w.cfg.Now()
		var report uint64
		if w.lastDropLog.IsZero() || now.Sub(w.lastDropLog) >= w.cfg.DropLogInterval {
			report, w.dropsUnlogged, w.lastDropLog = w.dropsUnlogged, 0, now
		}
		total := w.stats.Dropped
		w.mu.Unlock()
		if report > 0 {
			w.log.Error().Uint64("dropped", report).Uint64("dropped_total", total).Int("buffer", w.cfg.Buffer).
				Msg("store buffer full: history records dropped")
		}
		return 0, ErrBufferFull
	}
	seq := w.nextSeq
	w.nextSeq++
	w.queue = append(w.queue, pending{seq: seq, rec: r})
	w.mu.Unlock()
	w.signal()
	return seq, nil
}

// AppendWait appends r and waits until it is acknowledged (durable) or ctx
// ends. A ctx error means only that the wait ended: the record stays queued.
func (w *Writer) AppendWait(ctx context.Context, r Record) (int64, error) {
	seq, err := w.Append(r)
	if err != nil {
		return 0, err
	}
	return seq, w.waitDurable(ctx, seq)
}

// Flush waits until every record appended before the call is acknowledged,
// or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	last := w.nextSeq - 1
	w.mu.Unlock()
	return w.waitDurable(ctx, last)
}

func (w *Writer) waitDurable(ctx context.Context, seq int64) error {
	for {
		w.mu.Lock()
		durable, stopped, ch := w.stats.Durable, w.stopped, w.progress
		w.mu.Unlock()
		if durable >= seq {
			return nil
		}
		if stopped {
			return fmt.Errorf("record %d not written: %w", seq, ErrClosed)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for record %d: %w", seq, ctx.Err())
		}
	}
}

// Stats returns a snapshot of the Writer's counters and health.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Pending = len(w.queue) + w.inflight
	return s
}

// Close stops accepting records, writes everything buffered and stops the
// goroutine. If ctx ends first (the store is down), Close gives up: it
// stops the goroutine, logs and returns how many records were not written.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.signal()
	select {
	case <-w.loopDone:
	case <-ctx.Done():
		w.cancel()
		<-w.loopDone
	}
	w.cancel()
	w.mu.Lock()
	lost := len(w.queue) + w.inflight
	unlogged := w.dropsUnlogged
	w.dropsUnlogged = 0
	dropped := w.stats.Dropped
	w.mu.Unlock()
	if unlogged > 0 {
		w.log.Error().Uint64("dropped", unlogged).Uint64("dropped_total", dropped).Msg("store buffer full: history records dropped")
	}
	if lost > 0 {
		w.log.Error().Int("records", lost).Err(ctx.Err()).Msg("store writer closed before writing all records")
		return fmt.Errorf("store writer: %d records not written: %w", lost, ctx.Err())
	}
	return nil
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run is the Writer's goroutine; Close stops it.
func (w *Writer) run(ctx context.Context) {
	defer func() {
		w.mu.Lock()
		w.stopped = true
		close(w.progress)
		w.mu.Unlock()
		close(w.loopDone)
	}()
	var b Batch
	var items []pending
	for {
		if !w.waitForWork(ctx) {
			return
		}
		w.mu.Lock()
		n := min(len(w.queue), w.cfg.MaxBatch)
		items = append(items[:0], w.queue[:n]...)
		// Shift down rather than reslice, so the backing array does not
		// grow without bound while records keep arriving.
		rest := copy(w.queue, w.queue[n:])
		clear(w.queue[rest:])
		w.queue = w.queue[:rest]
		w.inflight = n
		w.mu.Unlock()

		b.reset()
		for _, it := range items {
			it.rec.addTo(&b, it.seq)
		}
		if !w.writeWithRetry(ctx, &b) {
			return
		}
		w.succeeded(n, items[n-1].seq)
		clear(items) // let the records go
	}
}

// waitForWork returns when there are records to write (after the MaxDelay
// wait for more), or false when the loop should exit.
func (w *Writer) waitForWork(ctx context.Context) bool {
	for {
		w.mu.Lock()
		n, closing := len(w.queue), w.closing
		w.mu.Unlock()
		if n > 0 {
			break
		}
		if closing {
			return false
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return false
		}
	}
	t := time.NewTimer(w.cfg.MaxDelay)
	defer t.Stop()
	for {
		w.mu.Lock()
		full, closing := len(w.queue) >= w.cfg.MaxBatch, w.closing
		w.mu.Unlock()
		if full || closing {
			return true
		}
		select {
		case <-t.C:
			return true
		case <-w.wake:
		case <-ctx.Done():
			return false
		}
	}
}

// writeWithRetry writes b until it is stored, or returns false when ctx
// ends first.
func (w *Writer) writeWithRetry(ctx context.Context, b *Batch) bool {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
		err := w.dst.WriteBatch(actx, b)
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		delay := w.failed(err, attempt)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

// failed records a failed attempt and returns the backoff before the next.
func (w *Writer) failed(err error, attempt int) time.Duration {
	delay := w.cfg.RetryMin
	for i := 1; i < attempt && delay < w.cfg.RetryMax; i++ {
		delay *= 2
	}
	delay = min(delay, w.cfg.RetryMax)
	now := w.cfg.Now()
	w.mu.Lock()
	w.stats.Failures++
	w.stats.Healthy = false
	w.stats.LastError, w.stats.LastErrorAt = err, now
	if w.failingSince.IsZero() {
		w.failingSince = now
	}
	pendingN := len(w.queue) + w.inflight
	w.mu.Unlock()
	ev := w.log.Warn()
	if attempt == 1 {
		ev = w.log.Error()
	}
	ev.Err(err).Int("attempt", attempt).Int("pending", pendingN).Int("buffer", w.cfg.Buffer).
		Dur("retry_in", delay).Msg("store write failed; history records wait in the buffer")
	return delay
}

func (w *Writer) succeeded(n int, lastSeq int64) {
	now := w.cfg.Now()
	w.mu.Lock()
	w.inflight = 0
	w.stats.Written += uint64(n)
	w.stats.Batches++
	w.stats.Durable = lastSeq
	w.stats.Healthy = true
	since := w.failingSince
	w.failingSince = time.Time{}
	unlogged := w.dropsUnlogged
	w.dropsUnlogged = 0
	dropped := w.stats.Dropped
	pendingN := len(w.queue)
	close(w.progress)
	w.progress = make(chan struct{})
	w.mu.Unlock()
	if !since.IsZero() {
		w.log.Info().Dur("outage", now.Sub(since)).Int("pending", pendingN).Msg("store write recovered")
	}
	if unlogged > 0 {
		w.log.Error().Uint64("dropped", unlogged).Uint64("dropped_total", dropped).Msg("store buffer full: history records dropped")
	}
}
