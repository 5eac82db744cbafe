package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"kcc/store"
)

// Appender takes imported rows; store.Writer implements it. Append must not
// block (the Writer's refuses with store.ErrBufferFull when its buffer is
// full); Flush waits until every appended row is stored.
type Appender interface {
	Append(r store.Record) (int64, error)
	Flush(ctx context.Context) error
}

// QueueLogReader reads stored queue_log rows; store.Store implements it.
type QueueLogReader interface {
	QueueLog(ctx context.Context, r store.Range) ([]store.QueueLogEntry, error)
}

// Import defaults and bounds.
const (
	DefaultFlushEvery = 1000
	maxBadLines       = 10 // bad lines reported by number; all are counted
	appendRetries     = 3  // flushes to wait out a full buffer before giving up
	dedupDays         = 4  // days of stored lines kept in memory for Existing
	maxLineBuffer     = 64<<10 + 2
)

// ImportOptions tune [ImportWith]. The zero value imports everything.
type ImportOptions struct {
	// FlushEvery is how many rows are appended between two flushes, which
	// keeps the writer's buffer from filling (default 1000; keep it well
	// below the writer's buffer).
	FlushEvery int
	// Existing, if set, makes the import idempotent: a line identical to a
	// row already stored (same second, callid, queue, agent, event and
	// data), or to an earlier line of the same import, is skipped and
	// counted as a duplicate.
	Existing QueueLogReader
	// Progress, if set, is called after each flush.
	Progress func(ImportStats)
}

// BadLine is a line that could not be imported.
type BadLine struct {
	Line int   // 1-based line number
	Err  error // why
}

// ImportStats counts what an import did. Every line read is exactly one of
// Imported, Duplicates, Blank and Bad.
type ImportStats struct {
	Lines      int
	Imported   int
	Duplicates int
	Blank      int
	Bad        int
	// BadLines holds the first 10 bad lines.
	BadLines []BadLine
	// First and Last are the earliest and latest times imported.
	First, Last time.Time
}

// Import reads an Asterisk queue_log file from r and appends each line as a
// store.QueueLogEntry to w, flushing every DefaultFlushEvery rows and at the
// end. A bad line is counted and skipped; only a read error, a row the
// writer will not take even after flushing, or ctx ends the import early.
func Import(ctx context.Context, r io.Reader, w Appender) (ImportStats, error) {
	return ImportWith(ctx, r, w, ImportOptions{})
}

// ImportWith is [Import] with options.
func ImportWith(ctx context.Context, r io.Reader, w Appender, opt ImportOptions) (ImportStats, error) {
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = DefaultFlushEvery
	}
	im := importer{ctx: ctx, w: w, opt: opt, seen: map[int64]map[string]struct{}{}}
	br := bufio.NewReaderSize(r, maxLineBuffer)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Longer than any queue_log line: skip to its end without
			// holding it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			im.stats.Lines++
			im.bad(fmt.Errorf("%w: longer than %d bytes", store.ErrQueueLogLine, maxLineBuffer-2))
		} else if len(line) > 0 {
			if ierr := im.line(line); ierr != nil {
				return im.stats, ierr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return im.stats, fmt.Errorf("read queue_log line %d: %w", im.stats.Lines+1, err)
		}
	}
	if err := im.flush(); err != nil {
		return im.stats, err
	}
	return im.stats, nil
}

type importer struct {
	ctx     context.Context
	w       Appender
	opt     ImportOptions
	stats   ImportStats
	unflush int
	// seen holds, per UTC day (Unix days), the lines stored or imported,
	// for Existing; days lists them oldest loaded first.
	seen map[int64]map[string]struct{}
	days []int64
}

func (im *importer) bad(err error) {
	im.stats.Bad++
	if len(im.stats.BadLines) < maxBadLines {
		im.stats.BadLines = append(im.stats.BadLines, BadLine{Line: im.stats.Lines, Err: err})
	}
}

// line imports one line; an error ends the import.
func (im *importer) line(raw []byte) error {
	im.stats.Lines++
	if im.stats.Lines%1024 == 0 {
		if err := im.ctx.Err(); err != nil {
			return fmt.Errorf("import stopped at line %d: %w", im.stats.Lines, err)
		}
	}
	if isBlank(raw) {
		im.stats.Blank++
		return nil
	}
	e, err := store.ParseQueueLogLine(string(raw))
	if err != nil {
		im.bad(err)
		return nil
	}
	var key string
	var day map[string]struct{}
	if im.opt.Existing != nil {
		if day, err = im.day(e.Time); err != nil {
			return err
		}
		key = e.Line()
		if _, dup := day[key]; dup {
			im.stats.Duplicates++
			return nil
		}
	}
	for attempt := 0; ; attempt++ {
		_, err := im.w.Append(e)
		if err == nil {
			break
		}
		if errors.Is(err, store.ErrInvalid) {
			im.bad(err)
			return nil
		}
		if !errors.Is(err, store.ErrBufferFull) || attempt == appendRetries {
			return fmt.Errorf("import line %d: %w", im.stats.Lines, err)
		}
		// The writer is behind (or the store is away): wait for it, then
		// try again, rather than lose the row.
		if err := im.flush(); err != nil {
			return err
		}
	}
	if day != nil {
		day[key] = struct{}{}
	}
	im.stats.Imported++
	if im.stats.First.IsZero() || e.Time.Before(im.stats.First) {
		im.stats.First = e.Time
	}
	if e.Time.After(im.stats.Last) {
		im.stats.Last = e.Time
	}
	im.unflush++
	if im.unflush >= im.opt.FlushEvery {
		return im.flush()
	}
	return nil
}

func (im *importer) flush() error {
	if err := im.w.Flush(im.ctx); err != nil {
		return fmt.Errorf("import: flush after line %d: %w", im.stats.Lines, err)
	}
	im.unflush = 0
	if im.opt.Progress != nil {
		im.opt.Progress(im.stats)
	}
	return nil
}

// day returns the set of lines stored on t's UTC day, loading it (after a
// flush, so it includes this import's rows) when it is not in memory.
func (im *importer) day(t time.Time) (map[string]struct{}, error) {
	d := t.Unix() / 86400
	if t.Unix() < 0 {
		d-- // floor, although parsed epochs are never negative
	}
	if set, ok := im.seen[d]; ok {
		return set, nil
	}
	if err := im.flush(); err != nil {
		return nil, err
	}
	from := time.Unix(d*86400, 0).UTC()
	rows, err := im.opt.Existing.QueueLog(im.ctx, store.Range{From: from, To: from.Add(24 * time.Hour)})
	if err != nil {
		return nil, fmt.Errorf("import: read stored queue_log of %s: %w", from.Format("2006-01-02"), err)
	}
	set := make(map[string]struct{}, len(rows))
	for _, e := range rows {
		set[e.Line()] = struct{}{}
	}
	if len(im.days) >= dedupDays {
		delete(im.seen, im.days[0])
		im.days = im.days[1:]
	}
	im.seen[d] = set
	im.days = append(im.days, d)
	return set, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}
