package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"kcc/store"
)

// RetentionPolicy says how long each kind of history is kept. A zero
// period keeps that kind forever.
type RetentionPolicy struct {
	Events      time.Duration // the typed event log
	Contacts    time.Duration // call records, by arrival
	AgentStates time.Duration // agent state history
	QueueLog    time.Duration // queue_log table rows (not the text file)
	Audit       time.Duration // the audit log of admin changes
	Callbacks   time.Duration // finished callbacks and their attempts, by when they finished
	// RawNumbers is how long caller numbers stored raw (Config.RawNumbers)
	// stay raw in call records and queue_log; then they are replaced with
	// their pseudonyms.
	RawNumbers time.Duration
}

// Purger is what Retention needs from the store; store.SQLite and
// store.Postgres implement it.
type Purger interface {
	Purge(ctx context.Context, d store.Data, before time.Time, batch int) (int64, error)
	PseudonymizeCallers(ctx context.Context, before time.Time, p store.Pseudonymizer, batch int) (int64, error)
}

// RetentionConfig configures a Retention. Zero fields take the defaults
// shown.
type RetentionConfig struct {
	Policy RetentionPolicy
	// HashKey keys the pseudonyms that replace raw numbers (the Recorder's
	// key); required when Policy.RawNumbers is set.
	HashKey []byte
	// Every is the time between two runs; default 24 h.
	Every time.Duration
	// RetryAfter is how soon a run that failed is tried again; default
	// 1 h (but never later than Every).
	RetryAfter time.Duration
	// Batch is the most rows deleted per transaction; default
	// store.DefaultPurgeBatch.
	Batch int
	// Now is the clock that cut-off times are computed from; default
	// time.Now. Waiting uses the time package, which testing/synctest
	// controls.
	Now func() time.Time
}

// Retention deletes history older than its retention period, and replaces
// raw caller numbers older than theirs with pseudonyms (issue 7 item 5).
type Retention struct {
	s   Purger
	cfg RetentionConfig
	log zerolog.Logger
}

// NewRetention returns a retention job over s. It refuses a negative
// period, and a raw-number period without a hash key.
func NewRetention(s Purger, cfg RetentionConfig, log zerolog.Logger) (*Retention, error) {
	p := cfg.Policy
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"events", p.Events}, {"contacts", p.Contacts}, {"agent states", p.AgentStates}, {"queue_log", p.QueueLog},
		{"audit", p.Audit}, {"callbacks", p.Callbacks}, {"raw numbers", p.RawNumbers}, {"every", cfg.Every},
		{"retry after", cfg.RetryAfter}} {
		if d.d < 0 {
			return nil, fmt.Errorf("retention: %s period %s is negative", d.name, d.d)
		}
	}
	if p.RawNumbers > 0 && len(cfg.HashKey) == 0 {
		return nil, errors.New("retention: raw numbers need the hash key to be replaced with pseudonyms")
	}
	if cfg.Every == 0 {
		cfg.Every = 24 * time.Hour
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = time.Hour
	}
	cfg.RetryAfter = min(cfg.RetryAfter, cfg.Every)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Retention{s: s, cfg: cfg, log: log}, nil
}

// RetentionResult says what one run did: rows deleted per kind of data,
// and raw numbers replaced.
type RetentionResult struct {
	Deleted      map[store.Data]int64
	Pseudonymous int64
}

// RunOnce applies the policy once: every kind with a period loses its rows
// older than now minus the period. A failing kind does not stop the
// others; the errors are joined.
func (r *Retention) RunOnce(ctx context.Context) (RetentionResult, error) {
	now := r.cfg.Now()
	res := RetentionResult{Deleted: map[store.Data]int64{}}
	var errs []error
	p := r.cfg.Policy
	for _, k := range []struct {
		d      store.Data
		period time.Duration
	}{{store.DataEvents, p.Events}, {store.DataContacts, p.Contacts}, {store.DataAgentStates, p.AgentStates},
		{store.DataQueueLog, p.QueueLog}, {store.DataAudit, p.Audit}, {store.DataCallbacks, p.Callbacks}} {
		if k.period == 0 {
			continue
		}
		before := now.Add(-k.period)
		n, err := r.s.Purge(ctx, k.d, before, r.cfg.Batch)
		res.Deleted[k.d] = n
		if err != nil {
			errs = append(errs, err)
			r.log.Error().Err(err).Str("data", string(k.d)).Int64("deleted", n).Msg("retention: purge failed")
			continue
		}
		r.log.Info().Str("data", string(k.d)).Int64("deleted", n).Time("before", before).Msg("retention: purged")
	}
	if p.RawNumbers > 0 {
		before := now.Add(-p.RawNumbers)
		n, err := r.s.PseudonymizeCallers(ctx, before, Pseudonymizer(r.cfg.HashKey), r.cfg.Batch)
		res.Pseudonymous = n
		if err != nil {
			errs = append(errs, err)
			r.log.Error().Err(err).Int64("replaced", n).Msg("retention: replacing raw caller numbers failed")
		} else {
			r.log.Info().Int64("replaced", n).Time("before", before).Msg("retention: raw caller numbers replaced with pseudonyms")
		}
	}
	return res, errors.Join(errs...)
}

// Run applies the policy at once and then every cfg.Every (after a failed
// run, after cfg.RetryAfter) until ctx ends, and returns then. The caller
// owns the goroutine it runs in: cancel ctx and wait for Run to return.
func (r *Retention) Run(ctx context.Context) {
	for {
		wait := r.cfg.Every
		if _, err := r.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = r.cfg.RetryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
