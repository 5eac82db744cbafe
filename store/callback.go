package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kcc/call"
)

// ErrFinished is returned when a callback that is no longer pending is
// saved or attempted again, or finished a second time. A retry of
// FinishCallback after an unknown commit outcome may treat it as success.
var ErrFinished = errors.New("callback is finished")

// CallbackState is where a callback request stands.
type CallbackState string

// Callback states. Only pending callbacks are reloaded at start.
const (
	CallbackPending   CallbackState = "pending"
	CallbackDone      CallbackState = "done"
	CallbackFailed    CallbackState = "failed"
	CallbackCancelled CallbackState = "cancelled"
)

func (s CallbackState) valid() bool {
	switch s {
	case CallbackPending, CallbackDone, CallbackFailed, CallbackCancelled:
		return true
	}
	return false
}

// AttemptResult is how one attempt to dial a callback ended.
type AttemptResult string

// The results of a callback attempt.
const (
	AttemptAnswered AttemptResult = "answered"
	AttemptNoAnswer AttemptResult = "no-answer"
	AttemptBusy     AttemptResult = "busy"
	AttemptRejected AttemptResult = "rejected"
	AttemptFailed   AttemptResult = "failed"
)

func (r AttemptResult) valid() bool {
	switch r {
	case AttemptAnswered, AttemptNoAnswer, AttemptBusy, AttemptRejected, AttemptFailed:
		return true
	}
	return false
}

// Callback is a resident's request to be called back, with what the router
// needs to queue it again after a restart.
//
// Unlike the history records, callbacks do not go through the [Writer]:
// SaveCallback, RecordCallbackAttempt and FinishCallback commit before they
// return, so a callback the resident was promised survives a crash.
type Callback struct {
	ID call.ID // the contact that asked; one callback per contact
	// Number is the number to dial, kept raw because it must be dialled;
	// FinishCallback clears it.
	Number string
	// NumberKey is the number's keyed pseudonym, for the per-number daily
	// limit and for recognising repeat callers after Number is gone.
	NumberKey string

	Queue    string
	Topic    string
	Language call.Language
	Priority int
	Skills   []string
	Care     bool
	Vars     map[string]string

	// Since is when the caller first queued: the callback keeps that place.
	Since     time.Time
	Requested time.Time
	Attempts  int
	// NextAttempt is when to dial next; zero means as soon as possible.
	NextAttempt time.Time
	State       CallbackState
	Outcome     string    // a short reason set by FinishCallback
	Finished    time.Time // set by FinishCallback; retention counts from it
}

// CallbackAttempt is one attempt to dial a callback.
type CallbackAttempt struct {
	Callback call.ID
	N        int // 1 for the first attempt
	At       time.Time
	Agent    string
	Result   AttemptResult
}

func (c *Callback) validate() error {
	if c.ID == "" {
		return fmt.Errorf("%w: callback id is empty", ErrInvalid)
	}
	if c.State != CallbackPending {
		return fmt.Errorf("%w: callback %s: a saved callback is pending, not %q (FinishCallback ends one)", ErrInvalid, c.ID, c.State)
	}
	if c.Number == "" {
		return fmt.Errorf("%w: callback %s has no number to dial", ErrInvalid, c.ID)
	}
	if c.Attempts < 0 {
		return fmt.Errorf("%w: callback %s attempts %d is negative", ErrInvalid, c.ID, c.Attempts)
	}
	if err := checkTexts("callback id", string(c.ID), "callback number", c.Number, "callback number key", c.NumberKey,
		"callback queue", c.Queue, "callback topic", c.Topic, "callback language", string(c.Language),
		"callback outcome", c.Outcome); err != nil {
		return err
	}
	for _, s := range c.Skills {
		if err := checkText("callback skill", s); err != nil {
			return err
		}
	}
	for k, v := range c.Vars {
		if err := checkTexts("callback variable name", k, "callback variable value", v); err != nil {
			return err
		}
	}
	if err := checkTime("callback since", c.Since, true); err != nil {
		return err
	}
	if err := checkTime("callback requested", c.Requested, true); err != nil {
		return err
	}
	return checkTime("callback next attempt", c.NextAttempt, false)
}

func (a *CallbackAttempt) validate() error {
	if a.Callback == "" {
		return fmt.Errorf("%w: callback attempt needs a callback id", ErrInvalid)
	}
	if a.N < 1 {
		return fmt.Errorf("%w: callback attempt number %d is not positive", ErrInvalid, a.N)
	}
	if !a.Result.valid() {
		return fmt.Errorf("%w: callback attempt result %q is unknown", ErrInvalid, a.Result)
	}
	if err := checkTexts("callback attempt callback id", string(a.Callback), "callback attempt agent", a.Agent); err != nil {
		return err
	}
	return checkTime("callback attempt time", a.At, true)
}

var callbackCols = []string{"id", "number", "number_key", "queue", "topic", "language", "priority", "skills", "care",
	"vars", "since_us", "requested_us", "attempts", "next_attempt_us", "state", "outcome", "finished_us"}

// saveCallbackSQL inserts or replaces a pending callback; a finished one is
// left alone (no row changes). Attempts never go down, so a save from a
// copy taken before an attempt was recorded does not forget it.
func (d dialect) saveCallbackSQL() string {
	sql := d.insertSQL(table{name: "callbacks", cols: callbackCols}, 1)
	set := ""
	for _, c := range callbackCols {
		switch c {
		case "id":
			continue
		case "attempts":
			set += ", attempts = " + d.greatest + "(callbacks.attempts, excluded.attempts)"
		default:
			set += ", " + c + " = excluded." + c
		}
	}
	return sql + "ON CONFLICT (id) DO UPDATE SET " + set[2:] + " WHERE callbacks.state = 'pending'"
}

func (d dialect) saveCallback(ctx context.Context, ex execer, c *Callback) error {
	skills, err := json.Marshal(c.Skills)
	if err != nil {
		return fmt.Errorf("encode skills: %w", err)
	}
	if c.Skills == nil {
		skills = []byte("[]")
	}
	vars, err := json.Marshal(c.Vars)
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	if c.Vars == nil {
		vars = []byte("{}")
	}
	care := int64(0)
	if c.Care {
		care = 1
	}
	n, err := ex.execN(ctx, d.saveCallbackSQL(), string(c.ID), c.Number, c.NumberKey, c.Queue, c.Topic,
		string(c.Language), int64(c.Priority), string(skills), care, string(vars), c.Since.UnixMicro(),
		c.Requested.UnixMicro(), int64(c.Attempts), microsOrNil(c.NextAttempt), string(CallbackPending), c.Outcome, nil)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("callback %s: %w", c.ID, ErrFinished)
	}
	return nil
}

// notPending explains why an update of a pending callback changed nothing.
func (d dialect) notPending(ctx context.Context, ex execer, id call.ID) error {
	n, err := queryInt(ctx, ex, "callback", `SELECT COUNT(*) FROM callbacks WHERE id = $1`, string(id))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("callback %s: %w", id, ErrNotFound)
	}
	return fmt.Errorf("callback %s: %w", id, ErrFinished)
}

func (d dialect) recordAttempt(ctx context.Context, ex execer, a *CallbackAttempt, next time.Time) error {
	n, err := ex.execN(ctx, `UPDATE callbacks SET attempts = `+d.greatest+`(attempts, $2), next_attempt_us = $3
		WHERE id = $1 AND state = 'pending'`, string(a.Callback), int64(a.N), microsOrNil(next))
	if err != nil {
		return fmt.Errorf("update callback: %w", err)
	}
	if n == 0 {
		return d.notPending(ctx, ex, a.Callback)
	}
	// The same attempt recorded again (a retry after an unknown commit
	// outcome) is stored once.
	if err := ex.exec(ctx, `INSERT INTO callback_attempts (callback_id, n, at_us, agent, result)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (callback_id, n) DO NOTHING`,
		string(a.Callback), int64(a.N), a.At.UnixMicro(), a.Agent, string(a.Result)); err != nil {
		return fmt.Errorf("insert callback attempt: %w", err)
	}
	return nil
}

func (d dialect) finishCallback(ctx context.Context, ex execer, id call.ID, state CallbackState, outcome string, at time.Time) error {
	n, err := ex.execN(ctx, `UPDATE callbacks SET state = $2, outcome = $3, finished_us = $4, number = '',
		next_attempt_us = NULL WHERE id = $1 AND state = 'pending'`, string(id), string(state), outcome, at.UnixMicro())
	if err != nil {
		return fmt.Errorf("update callback: %w", err)
	}
	if n == 0 {
		return d.notPending(ctx, ex, id)
	}
	return nil
}

func checkFinish(id call.ID, state CallbackState, outcome string, at time.Time) error {
	if id == "" {
		return fmt.Errorf("%w: callback id is empty", ErrInvalid)
	}
	if !state.valid() || state == CallbackPending {
		return fmt.Errorf("%w: callback %s cannot be finished as %q", ErrInvalid, id, state)
	}
	if err := checkTexts("callback id", string(id), "callback outcome", outcome); err != nil {
		return err
	}
	return checkTime("callback finish time", at, true)
}

const callbackSelect = `SELECT id, number, number_key, queue, topic, language, priority, skills, care, vars,
	since_us, requested_us, attempts, next_attempt_us, state, outcome, finished_us FROM callbacks `

func scanCallback(r rows) (Callback, error) {
	var c Callback
	var id, lang, skills, vars, state string
	var prio, care, since, requested, attempts int64
	var next, finished *int64
	if err := r.Scan(&id, &c.Number, &c.NumberKey, &c.Queue, &c.Topic, &lang, &prio, &skills, &care, &vars,
		&since, &requested, &attempts, &next, &state, &c.Outcome, &finished); err != nil {
		return Callback{}, err
	}
	c.ID, c.Language, c.Priority, c.Care = call.ID(id), call.Language(lang), int(prio), care != 0
	c.Since, c.Requested, c.Attempts = fromMicros(since), fromMicros(requested), int(attempts)
	c.NextAttempt, c.State, c.Finished = fromMicrosPtr(next), CallbackState(state), fromMicrosPtr(finished)
	if err := json.Unmarshal([]byte(skills), &c.Skills); err != nil {
		return Callback{}, fmt.Errorf("callback %s skills: %w", id, err)
	}
	if err := json.Unmarshal([]byte(vars), &c.Vars); err != nil {
		return Callback{}, fmt.Errorf("callback %s variables: %w", id, err)
	}
	if len(c.Skills) == 0 {
		c.Skills = nil
	}
	if len(c.Vars) == 0 {
		c.Vars = nil
	}
	return c, nil
}

func (d dialect) callbacks(ctx context.Context, ex execer, where string, args ...any) ([]Callback, error) {
	var out []Callback
	err := queryAll(ctx, ex, "callbacks", func(r rows) error {
		c, err := scanCallback(r)
		if err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, callbackSelect+where, args...)
	return out, err
}

func (d dialect) callback(ctx context.Context, ex execer, id call.ID) (Callback, error) {
	out, err := d.callbacks(ctx, ex, `WHERE id = $1`, string(id))
	if err != nil {
		return Callback{}, err
	}
	if len(out) == 0 {
		return Callback{}, fmt.Errorf("callback %s: %w", id, ErrNotFound)
	}
	return out[0], nil
}

func (d dialect) pendingCallbacks(ctx context.Context, ex execer) ([]Callback, error) {
	return d.callbacks(ctx, ex, `WHERE state = $1 ORDER BY since_us, requested_us, id`, string(CallbackPending))
}

func (d dialect) callbackAttempts(ctx context.Context, ex execer, id call.ID) ([]CallbackAttempt, error) {
	var out []CallbackAttempt
	err := queryAll(ctx, ex, "callback attempts", func(r rows) error {
		var a CallbackAttempt
		var cid, result string
		var n, us int64
		if err := r.Scan(&cid, &n, &us, &a.Agent, &result); err != nil {
			return err
		}
		a.Callback, a.N, a.At, a.Result = call.ID(cid), int(n), fromMicros(us), AttemptResult(result)
		out = append(out, a)
		return nil
	}, `SELECT callback_id, n, at_us, agent, result FROM callback_attempts WHERE callback_id = $1 ORDER BY n`, string(id))
	return out, err
}

func (d dialect) countCallbacks(ctx context.Context, ex execer, numberKey string, since time.Time) (int, error) {
	n, err := queryInt(ctx, ex, "callback count",
		`SELECT COUNT(*) FROM callbacks WHERE number_key = $1 AND requested_us >= $2`, numberKey, since.UnixMicro())
	return int(n), err
}
