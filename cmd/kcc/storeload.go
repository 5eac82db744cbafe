package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/store"
)

const storeUsage = `usage:
  kcc store load --path FILE [--events N] [--rate N]   write synthetic history events through the
                                                      group-commit writer and print "durable ID" as
                                                      they become durable (crash and throughput tests)`

// storeCmd runs "kcc store ...".
func storeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "load" {
		return errors.New(storeUsage)
	}
	fs := flag.NewFlagSet("store load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "", "SQLite file")
	events := fs.Int("events", 100000, "how many events to write")
	rate := fs.Int("rate", 0, "events per second; 0 = as fast as the writer takes them")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("store load: --path is required\n" + storeUsage)
	}
	return storeLoad(ctx, *path, *events, *rate, stdout, zerolog.New(stderr).Level(zerolog.WarnLevel))
}

// storeLoad appends events and reports the durable high-water mark: every
// id up to a printed one is stored, even if the process dies right after.
func storeLoad(ctx context.Context, path string, events, rate int, stdout io.Writer, log zerolog.Logger) error {
	s, err := store.OpenSQLite(ctx, path, store.SQLiteOptions{})
	if err != nil {
		return err
	}
	defer s.Close()
	w, err := store.NewWriter(ctx, s, store.WriterConfig{}, log)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	reported := make(chan struct{})
	go func() { // the reporter; ends after done
		defer close(reported)
		var last int64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if d := w.Stats().Durable; d > last {
				last = d
				fmt.Fprintf(stdout, "durable %d\n", d)
			}
			select {
			case <-done:
				if d := w.Stats().Durable; d > last {
					fmt.Fprintf(stdout, "durable %d\n", d)
				}
				return
			case <-t.C:
			}
		}
	}()
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	var appendErr error
	for i := range events {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		ev := store.Event{ContactID: call.ID(fmt.Sprintf("load-%d", i)), Kind: "load", Time: time.Now(),
			Data: []byte(`{"n":` + fmt.Sprint(i) + `}`)}
		if _, err := w.Append(ev); err != nil {
			appendErr = err
			break
		}
	}
	cerr := w.Close(context.WithoutCancel(ctx))
	close(done)
	<-reported
	st := w.Stats()
	fmt.Fprintf(stdout, "written %d in %v (%.0f events/s), dropped %d\n", st.Written, time.Since(start).Round(time.Millisecond),
		float64(st.Written)/time.Since(start).Seconds(), st.Dropped)
	return errors.Join(appendErr, cerr)
}
