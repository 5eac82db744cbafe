package report

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// amsterdam is the report zone of every test.
func amsterdam(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil {
		t.Fatalf("load %s: %v", DefaultZone, err)
	}
	return loc
}

// testStore is a real SQLite store in a temporary directory with its
// group-commit writer.
type testStore struct {
	*store.SQLite
	w *store.Writer
}

func openStore(t testing.TB) *testStore {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kcc.db"), store.SQLiteOptions{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	w, err := store.NewWriter(ctx, st, store.WriterConfig{}, zerolog.Nop())
	if err != nil {
		st.Close()
		t.Fatalf("new writer: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(context.Background()); err != nil {
			t.Errorf("close writer: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &testStore{SQLite: st, w: w}
}

// put appends records and waits until they are stored.
func (s *testStore) put(t testing.TB, recs ...store.Record) {
	t.Helper()
	for _, r := range recs {
		if _, err := s.w.Append(r); err != nil {
			t.Fatalf("append %T: %v", r, err)
		}
	}
	if err := s.w.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// golden compares got with testdata/name, rewriting it with -update.
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
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", name, got, want)
	}
}
