package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// database is one fresh, empty database of a back end.
type database struct {
	open func(ctx context.Context) (Store, error)
	// row runs raw SQL and returns the first row's columns as text, for
	// looking at what the store wrote behind its API.
	row func(ctx context.Context, query string) ([]string, error)
	// exec runs raw SQL.
	exec func(ctx context.Context, query string) error
	// url is the PostgreSQL URL of the database (empty for SQLite).
	url string
}

func sqliteDatabase(t testing.TB) database {
	path := filepath.Join(t.TempDir(), "kcc.db")
	raw := func(ctx context.Context, fn func(*sql.DB) error) error {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			return err
		}
		defer db.Close()
		return fn(db)
	}
	return database{
		open: func(ctx context.Context) (Store, error) { return OpenSQLite(ctx, path, SQLiteOptions{}) },
		row: func(ctx context.Context, query string) (out []string, err error) {
			err = raw(ctx, func(db *sql.DB) error {
				r, err := db.QueryContext(ctx, query)
				if err != nil {
					return err
				}
				defer r.Close()
				cols, _ := r.Columns()
				if !r.Next() {
					return sql.ErrNoRows
				}
				out = make([]string, len(cols))
				dest := make([]any, len(cols))
				for i := range out {
					dest[i] = &out[i]
				}
				return r.Scan(dest...)
			})
			return out, err
		},
		exec: func(ctx context.Context, query string) error {
			return raw(ctx, func(db *sql.DB) error { _, err := db.ExecContext(ctx, query); return err })
		},
	}
}

// postgresURL returns KCCTEST_POSTGRES_URL. Without it the test is skipped,
// unless KCCTEST_POSTGRES_REQUIRED=1 (CI), where skipping would hide that
// PostgreSQL was never tested: then it fails.
func postgresURL(t testing.TB) string {
	u := os.Getenv("KCCTEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("KCCTEST_POSTGRES_REQUIRED") == "1" {
			t.Fatal("KCCTEST_POSTGRES_REQUIRED=1 but KCCTEST_POSTGRES_URL is empty; scripts/postgres.sh start prints the URL")
		}
		t.Skip("KCCTEST_POSTGRES_URL is empty; run scripts/postgres.sh start and export its URL")
	}
	return u
}

// postgresDatabase gives the test its own schema (dropped at the end), so
// tests share one server without seeing each other's rows.
func postgresDatabase(t testing.TB) database {
	base := postgresURL(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "kcctest_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", redact(base), err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	_ = admin.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse KCCTEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	schemaURL := u.String()
	withConn := func(ctx context.Context, fn func(*pgx.Conn) error) error {
		c, err := pgx.Connect(ctx, schemaURL)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		return fn(c)
	}
	return database{
		url:  schemaURL,
		open: func(ctx context.Context) (Store, error) { return OpenPostgres(ctx, schemaURL, PostgresOptions{}) },
		row: func(ctx context.Context, query string) (out []string, err error) {
			err = withConn(ctx, func(c *pgx.Conn) error {
				r, err := c.Query(ctx, query)
				if err != nil {
					return err
				}
				defer r.Close()
				if !r.Next() {
					return pgx.ErrNoRows
				}
				out = make([]string, len(r.FieldDescriptions()))
				dest := make([]any, len(out))
				for i := range out {
					dest[i] = &out[i]
				}
				if err := r.Scan(dest...); err != nil {
					return err
				}
				r.Close()
				return r.Err()
			})
			return out, err
		},
		exec: func(ctx context.Context, query string) error {
			return withConn(ctx, func(c *pgx.Conn) error { _, err := c.Exec(ctx, query); return err })
		},
	}
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	return p.Redacted()
}

// logBuffer collects log output and signals when a line containing a given
// text arrives, so tests wait for the Writer's reaction instead of sleeping.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	waiters []logWaiter
}

type logWaiter struct {
	text string
	ch   chan struct{}
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	kept := l.waiters[:0]
	for _, w := range l.waiters {
		if bytes.Contains(p, []byte(w.text)) {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	l.waiters = kept
	return len(p), nil
}

// await returns a channel closed when a log line containing text arrives
// (or has arrived already).
func (l *logBuffer) await(text string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan struct{})
	if strings.Contains(l.buf.String(), text) {
		close(ch)
		return ch
	}
	l.waiters = append(l.waiters, logWaiter{text: text, ch: ch})
	return ch
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLog() (*logBuffer, zerolog.Logger) {
	b := &logBuffer{}
	return b, zerolog.New(b)
}

func nopLog() zerolog.Logger { return zerolog.Nop() }
