package store

import (
	"context"
	"path/filepath"
	"testing"
)

// The durability settings are what the acknowledgement promise rests on, so
// check them on the connections the store really uses.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "kcc.db"), SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL: fsync the WAL at every commit
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Errorf("PRAGMA %s: %v", tc.pragma, err)
			continue
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}

func TestOpenSQLiteErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, path string }{
		{"empty path", ""},
		{"question mark", filepath.Join(t.TempDir(), "a?b.db")},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "kcc.db")},
		{"a directory", t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSQLite(ctx, tc.path, SQLiteOptions{})
			if err == nil {
				_ = s.Close()
				t.Fatalf("OpenSQLite(%q) succeeded, want an error", tc.path)
			}
		})
	}
}

func TestOpenPostgresBadURL(t *testing.T) {
	for _, u := range []string{"://", "postgres://127.0.0.1:1/x?connect_timeout=1&sslmode=disable"} {
		s, err := OpenPostgres(context.Background(), u, PostgresOptions{})
		if err == nil {
			_ = s.Close()
			t.Errorf("OpenPostgres(%q) succeeded, want an error", u)
		}
	}
}
