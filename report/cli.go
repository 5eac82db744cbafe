package report

import (
	"context"
	"fmt"
	"io"
	"time"
)

// RunReport is `kcc report`: it builds the report opt asks for from src and
// writes it to stdout in format f. Unless opt.Progress is set, a range of
// more than one day prints about ten "reading day 3/30" lines on stderr
// (nil: none).
func RunReport(ctx context.Context, src Source, opt Options, f Format, stdout, stderr io.Writer) error {
	if opt.Progress == nil && stderr != nil {
		// About ten lines however long the range: a year is 365 days.
		opt.Progress = func(done, total int) {
			step := max(1, total/10)
			if total > 1 && (done%step == 0 || done == total) {
				fmt.Fprintf(stderr, "reading day %d/%d\n", done, total)
			}
		}
	}
	rep, err := Build(ctx, src, opt)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := rep.Write(stdout, f); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// ParseTime parses a --from or --to value in loc: a date (2006-01-02, its
// midnight), a local date and time (2006-01-02T15:04 or "2006-01-02 15:04",
// seconds optional), or RFC 3339 with an offset.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: time %q, want 2006-01-02, 2006-01-02T15:04 or RFC 3339", ErrOptions, s)
}

// RunImport is `kcc import queue_log FILE`: it imports r (named name in
// messages) through w and prints a summary with the first bad lines on
// stdout, and a progress line per 100,000 lines on stderr (nil: none).
// With existing set (the store w writes to), lines already stored are
// skipped, so importing the same file twice stores it once.
func RunImport(ctx context.Context, name string, r io.Reader, w Appender, existing QueueLogReader, stdout, stderr io.Writer) (ImportStats, error) {
	opt := ImportOptions{Existing: existing}
	if stderr != nil {
		next := 100_000
		opt.Progress = func(s ImportStats) {
			if s.Lines >= next {
				fmt.Fprintf(stderr, "read %d lines\n", s.Lines)
				next = s.Lines + 100_000
			}
		}
	}
	st, err := ImportWith(ctx, r, w, opt)
	fmt.Fprintf(stdout, "%s: %d lines: %d imported, %d duplicates skipped, %d blank, %d bad\n",
		name, st.Lines, st.Imported, st.Duplicates, st.Blank, st.Bad)
	if !st.First.IsZero() {
		fmt.Fprintf(stdout, "  times %s to %s\n", st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339))
	}
	for _, b := range st.BadLines {
		fmt.Fprintf(stdout, "  line %d: %v\n", b.Line, b.Err)
	}
	if more := st.Bad - len(st.BadLines); more > 0 {
		fmt.Fprintf(stdout, "  and %d more bad lines\n", more)
	}
	if err != nil {
		return st, fmt.Errorf("import %s: %w", name, err)
	}
	return st, nil
}
