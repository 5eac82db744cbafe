package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kcc/call"
	"kcc/contact"
	"kcc/flows"
	"kcc/history"
	"kcc/store"
)

// callbackStore keeps the contact layer's callback requests in the store.
// Numbers are counted by their pseudonym, so the daily limit holds without
// keeping the numbers of finished requests.
type callbackStore struct {
	st  storeCloser
	rec *history.Recorder
}

// callbacks is the part of store.Store that callbacks use.
type callbacks interface {
	SaveCallback(ctx context.Context, c store.Callback) error
	RecordCallbackAttempt(ctx context.Context, a store.CallbackAttempt, next time.Time) error
	FinishCallback(ctx context.Context, id call.ID, state store.CallbackState, outcome string, at time.Time) error
	PendingCallbacks(ctx context.Context) ([]store.Callback, error)
	CountCallbacks(ctx context.Context, numberKey string, since time.Time) (int, error)
}

func (c callbackStore) db() (callbacks, error) {
	db, ok := c.st.(callbacks)
	if !ok {
		return nil, fmt.Errorf("store %T keeps no callbacks", c.st)
	}
	return db, nil
}

// key is the number's pseudonym under the store's hash key, whatever
// store.caller_numbers says: the limit needs no raw numbers.
func (c callbackStore) key(number string) string { return c.rec.Pseudonym(number) }

func (c callbackStore) SaveCallback(ctx context.Context, cb contact.PendingCallback) error {
	db, err := c.db()
	if err != nil {
		return err
	}
	return db.SaveCallback(ctx, store.Callback{ID: cb.ID, Number: cb.Number, NumberKey: c.key(cb.Number),
		Queue: cb.Queue, Topic: cb.Topic, Language: cb.Language, Priority: cb.Priority, Skills: cb.Skills,
		Care: cb.Care, Vars: cb.Vars, Since: cb.Since, Requested: cb.Requested, Attempts: cb.Attempts,
		NextAttempt: cb.NextAttempt, State: store.CallbackPending})
}

func (c callbackStore) CallbackAttempt(ctx context.Context, id call.ID, n int, at time.Time, agent, result string, next time.Time) error {
	db, err := c.db()
	if err != nil {
		return err
	}
	return db.RecordCallbackAttempt(ctx, store.CallbackAttempt{Callback: id, N: n, At: at, Agent: agent,
		Result: store.AttemptResult(result)}, next)
}

func (c callbackStore) FinishCallback(ctx context.Context, id call.ID, outcome string, at time.Time) error {
	db, err := c.db()
	if err != nil {
		return err
	}
	state := store.CallbackDone
	switch outcome {
	case "failed":
		state = store.CallbackFailed
	case "cancelled":
		state = store.CallbackCancelled
	}
	if err := db.FinishCallback(ctx, id, state, outcome, at); err != nil && !errors.Is(err, store.ErrFinished) {
		return err // finished already: a retry after an unknown commit outcome
	}
	return nil
}

func (c callbackStore) PendingCallbacks(ctx context.Context) ([]contact.PendingCallback, error) {
	db, err := c.db()
	if err != nil {
		return nil, err
	}
	all, err := db.PendingCallbacks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]contact.PendingCallback, 0, len(all))
	records, _ := c.st.(interface {
		Contact(ctx context.Context, id call.ID) (store.Contact, error)
	})
	for _, cb := range all {
		// The call record goes on with the callback, and tells the flow
		// version the request came through.
		flowVersion := ""
		if records != nil {
			if rec, err := records.Contact(ctx, cb.ID); err == nil {
				c.rec.Resume(rec)
				flowVersion = rec.FlowVersion
			}
		}
		out = append(out, contact.PendingCallback{ID: cb.ID, Number: cb.Number, Queue: cb.Queue, Topic: cb.Topic,
			Language: cb.Language, Priority: cb.Priority, Skills: cb.Skills, Care: cb.Care, Vars: cb.Vars, Since: cb.Since,
			Requested: cb.Requested, Attempts: cb.Attempts, NextAttempt: cb.NextAttempt, FlowVersion: flowVersion})
	}
	return out, nil
}

func (c callbackStore) CallbacksSince(ctx context.Context, number string, since time.Time) (int, error) {
	db, err := c.db()
	if err != nil {
		return 0, err
	}
	return db.CountCallbacks(ctx, c.key(number), since)
}

// repeatCallers recognises repeat callers by their stored number (the
// pseudonym, or the number when raw numbers are kept) in the call records.
type repeatCallers struct {
	st     storeCloser
	rec    *history.Recorder
	within time.Duration
	calls  int
}

// repeats is the contact layer's repeat-caller check, nil when
// routing.care.repeat_calls is 0.
func (a *app) repeats() contact.Repeats {
	c := a.cfg.Routing.Care
	if c.RepeatCalls == 0 {
		return nil
	}
	return repeatCallers{st: a.store, rec: a.history, within: c.RepeatWithin, calls: c.RepeatCalls}
}

func (r repeatCallers) Repeat(ctx context.Context, caller string, arrived time.Time) (bool, error) {
	db, ok := r.st.(interface {
		CountCallerContacts(ctx context.Context, caller string, rg store.Range) (int, error)
	})
	if !ok {
		return false, fmt.Errorf("store %T cannot count a caller's contacts", r.st)
	}
	n, err := db.CountCallerContacts(ctx, r.rec.Caller(caller), store.Range{From: arrived.Add(-r.within), To: arrived})
	return n >= r.calls, err
}

// keepFlowVersion stores a deployed flow version, so that a call record's
// flow version can be read back. A store that is down loses the version's
// text, not the deployment: the failure is logged.
func (a *app) keepFlowVersion(v flows.Version) {
	db, ok := a.store.(interface {
		SaveFlowVersion(ctx context.Context, v store.FlowVersion) error
	})
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.SaveFlowVersion(ctx, store.FlowVersion{ID: v.ID, Flow: v.Flow, File: v.File, Hash: v.Hash,
		Deployed: v.Loaded, Source: string(v.Source)}); err != nil {
		a.log.Error().Err(err).Str("flow", v.Flow).Str("version", v.ID).Msg("flow version not stored")
	}
}
