package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"kcc/config"
	"kcc/report"
	"kcc/store"
)

const reportUsage = `usage:
  kcc report [--config FILE] --from 2026-11-23 --to 2026-11-28 [--interval 30m] [--queue X]
             [--kind all|queues|agents] [--format table|csv|json] [--target 60s]
      offered, answered, abandoned (and within 5 s), service level, ASA, AHT, max wait, callbacks
      per queue and interval; agents' logged-in, paused (by reason), talk and wrap-up time
  kcc import queue_log [--config FILE] FILE
      load an Asterisk queue_log file into the store as history (lines already there are skipped)`

// openStore opens the configured store for a command that reads or
// imports history.
func openStore(ctx context.Context, c config.Store) (store.Store, error) {
	if c.Driver == "postgres" {
		return store.OpenPostgres(ctx, c.URL, store.PostgresOptions{})
	}
	return store.OpenSQLite(ctx, c.Path, store.SQLiteOptions{})
}

// reportCmd runs "kcc report".
func reportCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (default: compiled-in defaults)")
	from := fs.String("from", "", "start, e.g. 2026-11-23 or 2026-11-23T08:00 (local time) or RFC 3339")
	to := fs.String("to", "", "end (exclusive), same forms")
	interval := fs.Duration("interval", 30*time.Minute, "interval length; must divide a day")
	queue := fs.String("queue", "", "only this queue")
	kind := fs.String("kind", "all", "all, queues or agents")
	format := fs.String("format", "table", "table, csv or json")
	target := fs.Duration("target", 60*time.Second, "service-level target (answered within)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report: unexpected %q\n%s", fs.Arg(0), reportUsage)
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return err
	}
	opt := report.Options{Interval: *interval, Location: loc, Queue: *queue, Target: *target}
	if opt.From, err = report.ParseTime(*from, loc); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if opt.To, err = report.ParseTime(*to, loc); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if opt.Kind, err = report.ParseKind(*kind); err != nil {
		return err
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return err
	}
	for _, q := range cfg.Queues {
		if q.ServiceLevel.Within > 0 {
			if opt.Targets == nil {
				opt.Targets = map[string]time.Duration{}
			}
			opt.Targets[q.Name] = q.ServiceLevel.Within
		}
	}
	s, err := openStore(ctx, cfg.Store)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer s.Close()
	return report.RunReport(ctx, s, opt, f, stdout, stderr)
}

// importCmd runs "kcc import queue_log FILE".
func importCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "queue_log" {
		return errors.New(reportUsage)
	}
	fs := flag.NewFlagSet("import queue_log", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (default: compiled-in defaults)")
	if err := fs.Parse(interleaved(args[1:])); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("import queue_log: name one file\n" + reportUsage)
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer file.Close()
	s, err := openStore(ctx, cfg.Store)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer s.Close()
	w, err := store.NewWriter(ctx, s, store.WriterConfig{}, zerolog.New(stderr).Level(zerolog.WarnLevel))
	if err != nil {
		return err
	}
	_, ierr := report.RunImport(ctx, fs.Arg(0), file, w, s, stdout, stderr)
	return errors.Join(ierr, w.Close(context.WithoutCancel(ctx)))
}
