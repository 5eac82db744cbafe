package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"kcc/call"

	_ "modernc.org/sqlite" // registers the database/sql driver "sqlite"
)

// SQLiteOptions tune [OpenSQLite]. The zero value is the production setting.
type SQLiteOptions struct {
	// BusyTimeout is how long a statement waits for another connection's
	// lock before failing; default 5 s.
	BusyTimeout time.Duration
	// Now stamps applied migrations; default time.Now.
	Now func() time.Time
}

// SQLite is the embedded store: one database file in WAL mode.
//
// Durability: synchronous=FULL, so every commit fsyncs the WAL. With
// synchronous=NORMAL a commit in WAL mode survives a killed process (the
// data is in the OS page cache) but not a power loss or kernel crash, and
// an acknowledged event must survive both. FULL costs one fsync per
// transaction; the Writer's group commit makes that one fsync per batch.
type SQLite struct {
	db *sql.DB
}

// OpenSQLite opens (creating if needed) the database file at path, applies
// pending migrations in one transaction, and refuses a schema newer than
// this binary with ErrSchemaTooNew.
func OpenSQLite(ctx context.Context, path string, opt SQLiteOptions) (*SQLite, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		// The driver splits its DSN at "?": such a path cannot be expressed.
		return nil, fmt.Errorf("open sqlite: bad path %q", path)
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// BEGIN IMMEDIATE takes the write lock at the start of a write
	// transaction, so two writers wait on busy_timeout instead of one
	// failing with SQLITE_BUSY when it upgrades a read lock.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer at a time is all SQLite allows; a few connections let
	// reports read (WAL readers do not block the writer) meanwhile.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(0)
	s := &SQLite{db: db}
	if err := s.migrate(ctx, opt.Now()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context, now time.Time) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("check journal mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, not wal (is the file on a file system without shared memory?)", mode)
	}
	return s.inTx(ctx, func(ex execer) error { return sqliteDialect.migrate(ctx, ex, now) })
}

func (s *SQLite) inTx(ctx context.Context, fn func(execer) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(sqlExecer{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// WriteBatch implements [Store].
func (s *SQLite) WriteBatch(ctx context.Context, b *Batch) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("sqlite write batch: %w", err)
	}
	if err := s.inTx(ctx, func(ex execer) error { return sqliteDialect.writeBatch(ctx, ex, b) }); err != nil {
		return fmt.Errorf("sqlite write batch: %w", err)
	}
	return nil
}

// MaxSeq implements [Store].
func (s *SQLite) MaxSeq(ctx context.Context) (int64, error) {
	return sqliteDialect.maxSeq(ctx, s.ex())
}

// Events implements [Store].
func (s *SQLite) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	return sqliteDialect.events(ctx, s.ex(), q)
}

// Contact implements [Store].
func (s *SQLite) Contact(ctx context.Context, id call.ID) (Contact, error) {
	return sqliteDialect.contact(ctx, s.ex(), id)
}

// Contacts implements [Store].
func (s *SQLite) Contacts(ctx context.Context, r Range) ([]Contact, error) {
	return sqliteDialect.contacts(ctx, s.ex(), r)
}

// CountCallerContacts implements [Store].
func (s *SQLite) CountCallerContacts(ctx context.Context, caller string, r Range) (int, error) {
	return sqliteDialect.countCallerContacts(ctx, s.ex(), caller, r)
}

// AgentStates implements [Store].
func (s *SQLite) AgentStates(ctx context.Context, agent string, r Range) ([]AgentState, error) {
	return sqliteDialect.agentStates(ctx, s.ex(), agent, r)
}

// QueueLog implements [Store].
func (s *SQLite) QueueLog(ctx context.Context, r Range) ([]QueueLogEntry, error) {
	return sqliteDialect.queueLog(ctx, s.ex(), r)
}

// Audit implements [Store].
func (s *SQLite) Audit(ctx context.Context, r Range) ([]AuditEntry, error) {
	return sqliteDialect.audit(ctx, s.ex(), r)
}

// SaveCallback implements [Store].
func (s *SQLite) SaveCallback(ctx context.Context, c Callback) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("sqlite save callback: %w", err)
	}
	if err := s.inTx(ctx, func(ex execer) error { return sqliteDialect.saveCallback(ctx, ex, &c) }); err != nil {
		return fmt.Errorf("sqlite save callback: %w", err)
	}
	return nil
}

// RecordCallbackAttempt implements [Store].
func (s *SQLite) RecordCallbackAttempt(ctx context.Context, a CallbackAttempt, next time.Time) error {
	if err := a.validate(); err != nil {
		return fmt.Errorf("sqlite record callback attempt: %w", err)
	}
	if err := checkTime("callback next attempt", next, false); err != nil {
		return fmt.Errorf("sqlite record callback attempt: %w", err)
	}
	if err := s.inTx(ctx, func(ex execer) error { return sqliteDialect.recordAttempt(ctx, ex, &a, next) }); err != nil {
		return fmt.Errorf("sqlite record callback attempt: %w", err)
	}
	return nil
}

// FinishCallback implements [Store].
func (s *SQLite) FinishCallback(ctx context.Context, id call.ID, state CallbackState, outcome string, at time.Time) error {
	if err := checkFinish(id, state, outcome, at); err != nil {
		return fmt.Errorf("sqlite finish callback: %w", err)
	}
	if err := s.inTx(ctx, func(ex execer) error {
		return sqliteDialect.finishCallback(ctx, ex, id, state, outcome, at)
	}); err != nil {
		return fmt.Errorf("sqlite finish callback: %w", err)
	}
	return nil
}

// Callback implements [Store].
func (s *SQLite) Callback(ctx context.Context, id call.ID) (Callback, error) {
	return sqliteDialect.callback(ctx, s.ex(), id)
}

// PendingCallbacks implements [Store].
func (s *SQLite) PendingCallbacks(ctx context.Context) ([]Callback, error) {
	return sqliteDialect.pendingCallbacks(ctx, s.ex())
}

// CallbackAttempts implements [Store].
func (s *SQLite) CallbackAttempts(ctx context.Context, id call.ID) ([]CallbackAttempt, error) {
	return sqliteDialect.callbackAttempts(ctx, s.ex(), id)
}

// CountCallbacks implements [Store].
func (s *SQLite) CountCallbacks(ctx context.Context, numberKey string, since time.Time) (int, error) {
	return sqliteDialect.countCallbacks(ctx, s.ex(), numberKey, since)
}

// Purge implements [Store].
func (s *SQLite) Purge(ctx context.Context, d Data, before time.Time, batch int) (int64, error) {
	return purge(ctx, s.inTx, d, before, batch)
}

// PseudonymizeCallers implements [Store].
func (s *SQLite) PseudonymizeCallers(ctx context.Context, before time.Time, p Pseudonymizer, batch int) (int64, error) {
	return pseudonymize(ctx, s.inTx, before, p, batch)
}

// SchemaVersion implements [Store].
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	return sqliteDialect.schemaVersion(ctx, s.ex())
}

// Close implements [Store].
func (s *SQLite) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

func (s *SQLite) ex() execer { return sqlExecer{s.db} }

// sqlExecer adapts *sql.DB and *sql.Tx.
type sqlExecer struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

func (e sqlExecer) exec(ctx context.Context, query string, args ...any) error {
	_, err := e.q.ExecContext(ctx, query, args...)
	return err
}

func (e sqlExecer) execN(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := e.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (e sqlExecer) query(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := e.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

// Close drops the error: Err, checked after the loop, reports what matters.
func (r sqlRows) Close() { _ = r.Rows.Close() }
