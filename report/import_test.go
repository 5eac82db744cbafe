package report

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kcc/store"
)

// memAppender keeps appended rows in memory. full makes the next Append
// calls fail with store.ErrBufferFull until a Flush.
type memAppender struct {
	rows    []store.QueueLogEntry
	flushes int
	full    int // appends to refuse before the next flush
	refused int
}

func (m *memAppender) Append(r store.Record) (int64, error) {
	if m.full > 0 {
		m.refused++
		return 0, store.ErrBufferFull
	}
	e, ok := r.(store.QueueLogEntry)
	if !ok {
		return 0, errors.New("not a queue_log entry")
	}
	m.rows = append(m.rows, e)
	return int64(len(m.rows)), nil
}

func (m *memAppender) Flush(context.Context) error {
	m.flushes++
	m.full = 0
	return nil
}

func (m *memAppender) QueueLog(_ context.Context, r store.Range) ([]store.QueueLogEntry, error) {
	var out []store.QueueLogEntry
	for _, e := range m.rows {
		if !e.Time.Before(r.From) && e.Time.Before(r.To) {
			out = append(out, e)
		}
	}
	return out, nil
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImportQueueLog imports a hand-written Asterisk queue_log (with bad
// lines) into a real SQLite store, checks what was counted, then the
// report over the imported calls against values computed by hand, then
// that importing the file again stores nothing new.
func TestImportQueueLog(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	file := readTestdata(t, "queue_log.txt")

	var out bytes.Buffer
	stats, err := RunImport(ctx, "queue_log.txt", bytes.NewReader(file), st.w, st, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 29 lines: 4 bad (8: not a line, 11: epoch "17731302x5", 20: three
	// fields, 23: empty event), 1 blank (14), 24 imported.
	if stats.Lines != 29 || stats.Imported != 24 || stats.Bad != 4 || stats.Blank != 1 || stats.Duplicates != 0 {
		t.Errorf("stats = %+v, want 29 lines, 24 imported, 4 bad, 1 blank", stats)
	}
	var badAt []int
	for _, b := range stats.BadLines {
		badAt = append(badAt, b.Line)
		if !errors.Is(b.Err, store.ErrQueueLogLine) {
			t.Errorf("line %d: err %v does not wrap ErrQueueLogLine", b.Line, b.Err)
		}
	}
	if got, want := badAt, []int{8, 11, 20, 23}; !equalInts(got, want) {
		t.Errorf("bad lines %v, want %v", got, want)
	}
	golden(t, "import-summary.golden", out.Bytes())

	stored, err := st.QueueLog(ctx, store.Range{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 24 {
		t.Fatalf("stored %d rows, want 24", len(stored))
	}
	// Stored rows written back in the file format are the good lines (the
	// header without its "|" and the CRLF line normalised).
	var lines []string
	for _, e := range stored {
		lines = append(lines, e.Line())
	}
	if got, want := lines[0], "1773126000|NONE|NONE|NONE|QUEUESTART|"; got != want {
		t.Errorf("first row = %q, want %q", got, want)
	}
	if !strings.Contains(string(file), strings.Join(lines[3:7], "\n")+"\n") {
		t.Errorf("rows 4-7 are not the file's lines 4-7 byte for byte:\n%s", strings.Join(lines[3:7], "\n"))
	}

	t.Run("report over imported history", func(t *testing.T) {
		loc := amsterdam(t)
		rep, err := Build(ctx, st, Options{
			From: time.Date(2026, 3, 10, 9, 0, 0, 0, loc), To: time.Date(2026, 3, 10, 10, 30, 0, 0, loc),
			Location: loc, Now: func() time.Time { return time.Date(2026, 3, 11, 0, 0, 0, 0, loc) },
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []queueWant{
			// 09:00: .101 answered after 22 s (calltime 178), .103
			// abandoned after 4 s (short), .104 answered after 75 s
			// (calltime 300). SL 1/(3-1) = 500‰. ASA 97/2 = 48.5 s.
			// AHT (178+300)/2 = 239 s (queue_log has no wrap-up). Max 75 s.
			{"support", "09:00", 3, 2, 1, 1, 1, 0, 0, 2, 500, 48500, 239000, 75000},
			// 09:30: .106 exit by key after 30 s and .108 timeout after
			// 300 s (overflows), .107 abandoned after 65 s. SL 0/3.
			{"support", "09:30", 3, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 300000},
			// 10:00: .109 answered after 10 s, blind transfer after 60 s.
			{"support", "10:00", 1, 1, 1, 0, 0, 0, 0, 1, 1000, 10000, 60000, 10000},
		}
		if len(rep.Queues) != len(want) {
			t.Fatalf("got %d rows, want %d", len(rep.Queues), len(want))
		}
		for i, w := range want {
			checkQueueRow(t, rep.Queues[i], w, loc)
		}
		// Total: offered 7, answered 3, within 60 s 2, abandoned 2 (1
		// short), overflows 2. SL 2/6 = 333‰. ASA 107/3 = 35.667 s.
		// AHT 538/3 = 179.333 s. Max 300 s.
		checkQueueRow(t, rep.Total, queueWant{"support", "", 7, 3, 2, 2, 1, 0, 2, 3, 333, 35666, 179333, 300000}, loc)

		// No agent states: the agents' time comes from queue_log. Piet
		// Smit logged in at 08:30 (before the report: the lookback finds
		// it) and off at 11:00, so he is logged in for all of 09:00-10:30;
		// he talked .101 09:00:27-09:03:25 (178 s) and .109
		// 10:05:10-10:06:10 (60 s, to the blind transfer). Jan Jansen
		// logged in at 08:30:10 and never off (cut at the report's end);
		// he talked .104 09:21:15-09:26:15 (300 s) and paused for lunch
		// 09:30:00-09:33:20 (200 s). queue_log has no wrap-up.
		type row struct {
			agent, start                         string
			loggedIn, avail, talk, paused, lunch time.Duration
			answered                             int
		}
		const half = 30 * time.Minute
		var got []row
		for _, r := range rep.Agents {
			got = append(got, row{r.Agent, r.Start.In(loc).Format("15:04"), r.LoggedIn, r.Available, r.Talk, r.Paused,
				r.PausedBy["lunch"], r.Answered})
			if r.WrapUp != 0 || r.Ringing != 0 || r.Busy != 0 {
				t.Errorf("%s %s: wrap-up %v ringing %v busy %v, want none from queue_log", r.Agent, r.Start, r.WrapUp, r.Ringing, r.Busy)
			}
		}
		wantAgents := []row{
			{"Jan Jansen", "09:00", half, half - 300*time.Second, 300 * time.Second, 0, 0, 1},
			{"Jan Jansen", "09:30", half, half - 200*time.Second, 0, 200 * time.Second, 200 * time.Second, 0},
			{"Jan Jansen", "10:00", half, half, 0, 0, 0, 0},
			{"Piet Smit", "09:00", half, half - 178*time.Second, 178 * time.Second, 0, 0, 1},
			{"Piet Smit", "09:30", half, half, 0, 0, 0, 0},
			{"Piet Smit", "10:00", half, half - 60*time.Second, 60 * time.Second, 0, 0, 1},
		}
		if len(got) != len(wantAgents) {
			t.Fatalf("agent rows %v, want %v", got, wantAgents)
		}
		for i := range got {
			if got[i] != wantAgents[i] {
				t.Errorf("agent row %d = %v, want %v", i, got[i], wantAgents[i])
			}
		}
		if want := []string{"lunch"}; !reflect.DeepEqual(rep.PauseReasons, want) {
			t.Errorf("pause reasons %v, want %v", rep.PauseReasons, want)
		}
	})

	t.Run("second import stores nothing", func(t *testing.T) {
		again, err := ImportWith(ctx, bytes.NewReader(file), st.w, ImportOptions{Existing: st})
		if err != nil {
			t.Fatal(err)
		}
		if again.Imported != 0 || again.Duplicates != 24 || again.Bad != 4 {
			t.Errorf("second import = %+v, want 0 imported, 24 duplicates, 4 bad", again)
		}
		stored, err := st.QueueLog(ctx, store.Range{})
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 24 {
			t.Errorf("stored %d rows after the second import, want 24", len(stored))
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestImportEdges(t *testing.T) {
	ctx := context.Background()
	good := "1773129605|1.1|q|NONE|ENTERQUEUE||x|1\n"

	t.Run("flushes every N rows", func(t *testing.T) {
		m := &memAppender{}
		st, err := ImportWith(ctx, strings.NewReader(strings.Repeat(good, 25)), m, ImportOptions{FlushEvery: 10})
		if err != nil {
			t.Fatal(err)
		}
		// After rows 10 and 20, and at the end.
		if st.Imported != 25 || m.flushes != 3 {
			t.Errorf("imported %d with %d flushes, want 25 with 3", st.Imported, m.flushes)
		}
	})
	t.Run("full buffer waits for a flush", func(t *testing.T) {
		m := &memAppender{full: 1}
		st, err := Import(ctx, strings.NewReader(good+good), m)
		if err != nil {
			t.Fatal(err)
		}
		if st.Imported != 2 || m.refused != 1 || len(m.rows) != 2 {
			t.Errorf("imported %d, refused %d, stored %d; want 2, 1, 2", st.Imported, m.refused, len(m.rows))
		}
	})
	t.Run("buffer that stays full fails", func(t *testing.T) {
		m := &stuckAppender{}
		_, err := Import(ctx, strings.NewReader(good), m)
		if !errors.Is(err, store.ErrBufferFull) {
			t.Errorf("err = %v, want ErrBufferFull", err)
		}
	})
	t.Run("overlong line is one bad line", func(t *testing.T) {
		m := &memAppender{}
		long := "1773129605|1.1|q|NONE|X|" + strings.Repeat("a", 200<<10) + "\n"
		st, err := Import(ctx, strings.NewReader(good+long+good), m)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lines != 3 || st.Bad != 1 || st.Imported != 2 || st.BadLines[0].Line != 2 {
			t.Errorf("stats %+v, want 3 lines, bad line 2, 2 imported", st)
		}
	})
	t.Run("only the first ten bad lines are listed", func(t *testing.T) {
		st, err := Import(ctx, strings.NewReader(strings.Repeat("bad\n", 25)+good), &memAppender{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Bad != 25 || len(st.BadLines) != 10 || st.BadLines[9].Line != 10 || st.Imported != 1 {
			t.Errorf("bad %d, listed %d, imported %d; want 25, 10, 1", st.Bad, len(st.BadLines), st.Imported)
		}
	})
	t.Run("last line without newline", func(t *testing.T) {
		st, err := Import(ctx, strings.NewReader(good+strings.TrimSuffix(good, "\n")), &memAppender{})
		if err != nil || st.Imported != 2 {
			t.Errorf("imported %d, err %v; want 2", st.Imported, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := Import(cctx, strings.NewReader(strings.Repeat(good, 2048)), &memAppender{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("duplicates within the file", func(t *testing.T) {
		m := &memAppender{}
		st, err := ImportWith(ctx, strings.NewReader(good+good), m, ImportOptions{Existing: m})
		if err != nil {
			t.Fatal(err)
		}
		if st.Imported != 1 || st.Duplicates != 1 {
			t.Errorf("imported %d, duplicates %d; want 1, 1", st.Imported, st.Duplicates)
		}
	})
}

// stuckAppender's buffer never empties.
type stuckAppender struct{}

func (stuckAppender) Append(store.Record) (int64, error) { return 0, store.ErrBufferFull }
func (stuckAppender) Flush(context.Context) error        { return nil }

// FuzzImport feeds arbitrary files to the importer and what it imports to
// the queue_log fact derivation and the report computation: no panic, no
// hang, every line accounted for, every imported row a valid round trip.
func FuzzImport(f *testing.F) {
	f.Add(readTestdata(f, "queue_log.txt"))
	f.Add([]byte("1|a|q|NONE|ENTERQUEUE||1|1\n2|a|q|x|CONNECT|99999999999999|u|1\n3|a|q|x|COMPLETECALLER|1|-5|1\n"))
	f.Add([]byte("1|a|q|x|COMPLETEAGENT\n\n\r\n|||||\n99999999999|a|q|NONE|ENTERQUEUE\n"))
	f.Add([]byte("5|a|q|NONE|ENTERQUEUE||\xff\xfe|1\n6|a|q2|NONE|ENTERQUEUE||x|1\n7|a|q2|NONE|ABANDON|x|y|z\n\x00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &memAppender{}
		st, err := ImportWith(context.Background(), bytes.NewReader(data), m, ImportOptions{Existing: m, FlushEvery: 7})
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		if st.Imported+st.Duplicates+st.Blank+st.Bad != st.Lines {
			t.Fatalf("stats %+v do not add up", st)
		}
		if st.Imported != len(m.rows) {
			t.Fatalf("imported %d, appended %d", st.Imported, len(m.rows))
		}
		for _, e := range m.rows {
			back, err := store.ParseQueueLogLine(e.Line())
			if err != nil || back.Line() != e.Line() {
				t.Fatalf("row %q does not round-trip: %v", e.Line(), err)
			}
		}
		from, to := time.Unix(0, 0), time.Unix(1e11, 0)
		facts := queueLogFacts(m.rows, from, to, func(string) bool { return false })
		g := grid{starts: []time.Time{from}, end: to, days: []int{0}}
		opt, err := Options{From: from, To: to, Location: time.UTC, Interval: 24 * time.Hour}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		b := newBuilder(opt, g)
		for _, fc := range facts {
			if fc.wait < 0 || fc.talk < 0 {
				t.Fatalf("negative time in %+v", fc)
			}
			b.addFact(fc)
		}
		rep := b.finish(to)
		if err := rep.Write(&bytes.Buffer{}, FormatTable); err != nil {
			t.Fatal(err)
		}
	})
}
