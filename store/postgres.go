package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kcc/call"
)

// PostgresOptions tune [OpenPostgres]. The zero value is the production
// setting.
type PostgresOptions struct {
	// ConnectTimeout bounds each (re)connection; default 5 s.
	ConnectTimeout time.Duration
	// Now stamps applied migrations; default time.Now.
	Now func() time.Time
}

// Postgres is the store on a PostgreSQL server (synchronous_commit on, the
// server's default, makes every commit durable before it returns).
//
// It holds one connection, used by one operation at a time, and dials a new
// one when the previous one broke: the Writer is the only heavy user and
// writes one batch at a time. (pgx's pool would need a module that go.sum
// does not have yet; swap it in when reports need parallel reads.)
type Postgres struct {
	cfg *pgx.ConnConfig
	// sem holds the connection: receive to use it, send back when done. A
	// channel rather than a mutex, so waiting for it respects ctx.
	sem  chan *pgx.Conn
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// OpenPostgres connects to url (postgres://user:pass@host:port/db?...),
// applies pending migrations in one transaction under an advisory lock (two
// kcc processes starting together migrate once), and refuses a schema newer
// than this binary with ErrSchemaTooNew. Extra URL parameters such as
// search_path are passed to the server.
func OpenPostgres(ctx context.Context, url string, opt PostgresOptions) (*Postgres, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: parse url: %w", err)
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	cfg.ConnectTimeout = opt.ConnectTimeout
	// Batches have a varying number of rows, so their SQL text varies; the
	// default statement cache would prepare and keep each variant. Exec mode
	// sends each statement once, unprepared, in one round trip.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	p := &Postgres{cfg: cfg, sem: make(chan *pgx.Conn, 1), done: make(chan struct{})}
	p.sem <- nil
	now := opt.Now()
	err = p.inTx(ctx, func(ex execer) error {
		// Held until the transaction ends. The key is arbitrary but fixed:
		// "kcc" in ASCII.
		if err := ex.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x6b6363)); err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
		return postgresDialect.migrate(ctx, ex, now)
	})
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("open postgres %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	return p, nil
}

// withConn runs fn on the connection, dialling one if there is none. After
// any error that is not an SQL error reported by the server, the connection
// is dropped, so the next call starts on a fresh one: that is how the store
// recovers when the server comes back.
func (p *Postgres) withConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	var c *pgx.Conn
	select {
	case c = <-p.sem:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return errors.New("postgres store is closed")
	}
	defer func() { p.sem <- c }()
	if c == nil || c.IsClosed() {
		var err error
		if c, err = pgx.ConnectConfig(ctx, p.cfg); err != nil {
			c = nil
			return fmt.Errorf("connect: %w", err)
		}
	}
	err := fn(c)
	var pgErr *pgconn.PgError
	if err != nil && !errors.As(err, &pgErr) {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.Close(closeCtx)
		cancel()
		c = nil
	}
	return err
}

func (p *Postgres) inTx(ctx context.Context, fn func(execer) error) error {
	return p.withConn(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(pgxExecer{tx}); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

func (p *Postgres) read(ctx context.Context, fn func(execer) error) error {
	return p.withConn(ctx, func(c *pgx.Conn) error { return fn(pgxExecer{c}) })
}

// WriteBatch implements [Store].
func (p *Postgres) WriteBatch(ctx context.Context, b *Batch) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("postgres write batch: %w", err)
	}
	if err := p.inTx(ctx, func(ex execer) error { return postgresDialect.writeBatch(ctx, ex, b) }); err != nil {
		return fmt.Errorf("postgres write batch: %w", err)
	}
	return nil
}

// MaxSeq implements [Store].
func (p *Postgres) MaxSeq(ctx context.Context) (n int64, err error) {
	err = p.read(ctx, func(ex execer) (err error) { n, err = postgresDialect.maxSeq(ctx, ex); return })
	return n, err
}

// Events implements [Store].
func (p *Postgres) Events(ctx context.Context, q EventQuery) (out []Event, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.events(ctx, ex, q); return })
	return out, err
}

// Contact implements [Store].
func (p *Postgres) Contact(ctx context.Context, id call.ID) (c Contact, err error) {
	err = p.read(ctx, func(ex execer) (err error) { c, err = postgresDialect.contact(ctx, ex, id); return })
	return c, err
}

// Contacts implements [Store].
func (p *Postgres) Contacts(ctx context.Context, r Range) (out []Contact, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.contacts(ctx, ex, r); return })
	return out, err
}

// CountCallerContacts implements [Store].
func (p *Postgres) CountCallerContacts(ctx context.Context, caller string, r Range) (n int, err error) {
	err = p.read(ctx, func(ex execer) (err error) { n, err = postgresDialect.countCallerContacts(ctx, ex, caller, r); return })
	return n, err
}

// AgentStates implements [Store].
func (p *Postgres) AgentStates(ctx context.Context, agent string, r Range) (out []AgentState, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.agentStates(ctx, ex, agent, r); return })
	return out, err
}

// QueueLog implements [Store].
func (p *Postgres) QueueLog(ctx context.Context, r Range) (out []QueueLogEntry, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.queueLog(ctx, ex, r); return })
	return out, err
}

// Audit implements [Store].
func (p *Postgres) Audit(ctx context.Context, r Range) (out []AuditEntry, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.audit(ctx, ex, r); return })
	return out, err
}

// SaveCallback implements [Store].
func (p *Postgres) SaveCallback(ctx context.Context, c Callback) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("postgres save callback: %w", err)
	}
	if err := p.inTx(ctx, func(ex execer) error { return postgresDialect.saveCallback(ctx, ex, &c) }); err != nil {
		return fmt.Errorf("postgres save callback: %w", err)
	}
	return nil
}

// RecordCallbackAttempt implements [Store].
func (p *Postgres) RecordCallbackAttempt(ctx context.Context, a CallbackAttempt, next time.Time) error {
	if err := a.validate(); err != nil {
		return fmt.Errorf("postgres record callback attempt: %w", err)
	}
	if err := checkTime("callback next attempt", next, false); err != nil {
		return fmt.Errorf("postgres record callback attempt: %w", err)
	}
	if err := p.inTx(ctx, func(ex execer) error { return postgresDialect.recordAttempt(ctx, ex, &a, next) }); err != nil {
		return fmt.Errorf("postgres record callback attempt: %w", err)
	}
	return nil
}

// FinishCallback implements [Store].
func (p *Postgres) FinishCallback(ctx context.Context, id call.ID, state CallbackState, outcome string, at time.Time) error {
	if err := checkFinish(id, state, outcome, at); err != nil {
		return fmt.Errorf("postgres finish callback: %w", err)
	}
	if err := p.inTx(ctx, func(ex execer) error {
		return postgresDialect.finishCallback(ctx, ex, id, state, outcome, at)
	}); err != nil {
		return fmt.Errorf("postgres finish callback: %w", err)
	}
	return nil
}

// Callback implements [Store].
func (p *Postgres) Callback(ctx context.Context, id call.ID) (c Callback, err error) {
	err = p.read(ctx, func(ex execer) (err error) { c, err = postgresDialect.callback(ctx, ex, id); return })
	return c, err
}

// PendingCallbacks implements [Store].
func (p *Postgres) PendingCallbacks(ctx context.Context) (out []Callback, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.pendingCallbacks(ctx, ex); return })
	return out, err
}

// CallbackAttempts implements [Store].
func (p *Postgres) CallbackAttempts(ctx context.Context, id call.ID) (out []CallbackAttempt, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.callbackAttempts(ctx, ex, id); return })
	return out, err
}

// CountCallbacks implements [Store].
func (p *Postgres) CountCallbacks(ctx context.Context, numberKey string, since time.Time) (n int, err error) {
	err = p.read(ctx, func(ex execer) (err error) {
		n, err = postgresDialect.countCallbacks(ctx, ex, numberKey, since)
		return
	})
	return n, err
}

// Purge implements [Store].
func (p *Postgres) Purge(ctx context.Context, d Data, before time.Time, batch int) (int64, error) {
	return purge(ctx, p.inTx, d, before, batch)
}

// PseudonymizeCallers implements [Store].
func (p *Postgres) PseudonymizeCallers(ctx context.Context, before time.Time, ps Pseudonymizer, batch int) (int64, error) {
	return pseudonymize(ctx, p.inTx, before, ps, batch)
}

// SchemaVersion implements [Store].
func (p *Postgres) SchemaVersion(ctx context.Context) (v int, err error) {
	err = p.read(ctx, func(ex execer) (err error) { v, err = postgresDialect.schemaVersion(ctx, ex); return })
	return v, err
}

// Close implements [Store]. It waits for an operation in progress to end.
func (p *Postgres) Close() error {
	p.closeOnce.Do(func() {
		c := <-p.sem
		close(p.done)
		if c == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			p.closeErr = fmt.Errorf("close postgres: %w", err)
		}
	})
	return p.closeErr
}

// pgxExecer adapts *pgx.Conn and pgx.Tx.
type pgxExecer struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

func (e pgxExecer) exec(ctx context.Context, sql string, args ...any) error {
	_, err := e.q.Exec(ctx, sql, args...)
	return err
}

func (e pgxExecer) execN(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := e.q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (e pgxExecer) query(ctx context.Context, sql string, args ...any) (rows, error) {
	r, err := e.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}
