package store

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Writer against real failures of the real back ends. These run in
// real time, so each waits for the Writer's log line instead of sleeping.

const faultTimeout = 20 * time.Second

func waitLog(t *testing.T, logs *logBuffer, text string) {
	t.Helper()
	select {
	case <-logs.await(text):
	case <-time.After(faultTimeout):
		t.Fatalf("no log line %q within %v:\n%s", text, faultTimeout, logs)
	}
}

// A real SQLite failure that works as root too (root ignores a read-only
// directory): another connection holds the write lock, so the Writer's
// transactions fail with SQLITE_BUSY after the busy timeout until it is
// released.
func TestSQLiteWriterSurvivesLockedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kcc.db")
	s, err := OpenSQLite(ctx, path, SQLiteOptions{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logs, log := newLog()
	w, err := NewWriter(ctx, s, WriterConfig{RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)

	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	for i := range 20 {
		if _, err := w.Append(ev(i)); err != nil {
			t.Fatalf("Append while locked: %v", err)
		}
	}
	waitLog(t, logs, "store write failed")
	if st := w.Stats(); st.Healthy || st.Pending != 20 || st.LastError == nil || !strings.Contains(st.LastError.Error(), "locked") {
		t.Errorf("stats while locked = %+v, want unhealthy, 20 pending, a 'database is locked' error", st)
	}
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("release the lock: %v", err)
	}
	fctx, cancel := context.WithTimeout(ctx, faultTimeout)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatalf("Flush after unlock: %v", err)
	}
	evs, err := s.Events(ctx, EventQuery{})
	if err != nil || len(evs) != 20 {
		t.Errorf("stored %d, %v; want 20", len(evs), err)
	}
	// The Writer logs the recovery after it acknowledged the batch.
	waitLog(t, logs, "store write recovered")
}

// afterCommitFailure wraps a real store and reports an error for its first
// batch after that batch was committed: the outcome a client sees when the
// connection drops between COMMIT and its reply. The failure is injected
// (it cannot be provoked reliably); the commit and the retry are real.
type afterCommitFailure struct {
	Store
	once sync.Once
}

func (a *afterCommitFailure) WriteBatch(ctx context.Context, b *Batch) error {
	if err := a.Store.WriteBatch(ctx, b); err != nil {
		return err
	}
	var err error
	a.once.Do(func() { err = errors.New("connection reset after commit") })
	return err
}

func TestWriterRetryAfterUnknownCommitStoresOnce(t *testing.T) {
	for name, fresh := range map[string]func(testing.TB) database{"sqlite": sqliteDatabase, "postgres": postgresDatabase} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := fresh(t).open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w, err := NewWriter(ctx, &afterCommitFailure{Store: s}, WriterConfig{RetryMin: time.Millisecond}, nopLog())
			if err != nil {
				t.Fatal(err)
			}
			b := sampleBatch()
			for _, e := range b.Events {
				mustAppend(t, w, e)
			}
			for _, r := range []Record{b.Contacts[0], b.AgentStates[0], b.QueueLog[0], b.Audit[0]} {
				mustAppend(t, w, r)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if st := w.Stats(); st.Failures != 1 || st.Written != 6 {
				t.Errorf("stats = %+v, want one failure and 6 written", st)
			}
			evs, _ := s.Events(ctx, EventQuery{})
			ql, _ := s.QueueLog(ctx, Range{})
			states, _ := s.AgentStates(ctx, "", Range{})
			audit, _ := s.Audit(ctx, Range{})
			if len(evs) != 2 || len(ql) != 1 || len(states) != 1 || len(audit) != 1 {
				t.Errorf("rows after the retry: %d events, %d queue_log, %d states, %d audit; want 2,1,1,1",
					len(evs), len(ql), len(states), len(audit))
			}
		})
	}
}

func mustAppend(t *testing.T, w *Writer, r Record) {
	t.Helper()
	if _, err := w.Append(r); err != nil {
		t.Fatalf("Append(%T): %v", r, err)
	}
}

// tcpProxy forwards connections to a real server and can cut them: a real
// network failure between kcc and PostgreSQL (as when the server stops or
// the network drops), without stopping the server other tests use.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close() // refused: the client sees the connection reset
			continue
		}
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(c) })
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	defer p.forget(c)
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.conns[s] = true
	p.mu.Unlock()
	defer p.forget(s)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = s.Close()
	<-done
}

func (p *tcpProxy) forget(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// setDown cuts every open connection and refuses new ones, or stops doing so.
func (p *tcpProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

func (p *tcpProxy) close() {
	_ = p.ln.Close()
	p.setDown(true)
	p.wg.Wait()
}

func TestPostgresWriterSurvivesConnectionLoss(t *testing.T) {
	ctx := context.Background()
	db := postgresDatabase(t)
	u, err := url.Parse(db.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	s, err := OpenPostgres(ctx, u.String(), PostgresOptions{ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open through the proxy: %v", err)
	}
	defer s.Close()
	logs, log := newLog()
	w, err := NewWriter(ctx, s, WriterConfig{RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond, WriteTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	if _, err := w.AppendWait(ctx, ev(0)); err != nil {
		t.Fatalf("AppendWait before the outage: %v", err)
	}

	proxy.setDown(true)
	for i := 1; i <= 50; i++ {
		if _, err := w.Append(ev(i)); err != nil {
			t.Fatalf("Append during the outage: %v", err)
		}
	}
	waitLog(t, logs, "store write failed")
	if st := w.Stats(); st.Healthy || st.Pending == 0 || st.LastError == nil {
		t.Errorf("stats during the outage = %+v, want unhealthy with records pending", st)
	}
	proxy.setDown(false)
	fctx, cancel := context.WithTimeout(ctx, faultTimeout)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatalf("Flush after the outage: %v", err)
	}
	direct, err := db.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	evs, err := direct.Events(ctx, EventQuery{})
	if err != nil || len(evs) != 51 {
		t.Errorf("stored %d, %v; want 51", len(evs), err)
	}
	if !strings.Contains(logs.String(), "store write recovered") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
}
