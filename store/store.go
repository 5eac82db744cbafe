package store

import (
	"context"
	"errors"
	"time"

	"kcc/call"
)

// ErrNotFound is returned when a record asked for by its id does not exist.
var ErrNotFound = errors.New("not found")

// ErrSchemaTooNew is returned by the Open functions when the database was
// migrated by a newer kcc than this binary: running an old binary against it
// could misread or damage the history.
var ErrSchemaTooNew = errors.New("database schema is newer than this kcc")

// Store is the history store as kcc uses it: batches written by the
// [Writer], and the reads that start-up, reports and tests need. [SQLite]
// and [Postgres] implement it; consumers that need less should declare a
// smaller interface of their own.
type Store interface {
	// WriteBatch writes b in one transaction: all of it or nothing.
	WriteBatch(ctx context.Context, b *Batch) error
	// MaxSeq returns the highest writer-assigned id in any append-only table
	// (0 when empty), from which a new Writer continues.
	MaxSeq(ctx context.Context) (int64, error)

	// Events returns events in id order, at most q.Limit of them.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	// Contact returns the record of one contact, or ErrNotFound.
	Contact(ctx context.Context, id call.ID) (Contact, error)
	// Contacts returns the contacts that arrived in r, in arrival order.
	Contacts(ctx context.Context, r Range) ([]Contact, error)
	// SaveFlowVersion stores a deployed flow version (once: saving an id
	// again changes nothing), committed before it returns.
	SaveFlowVersion(ctx context.Context, v FlowVersion) error
	// FlowVersions returns the stored versions of flow, oldest first.
	FlowVersions(ctx context.Context, flow string) ([]FlowVersion, error)
	// CountCallerContacts counts the contacts of caller (as stored: its
	// pseudonym or number) that arrived in r, for repeat-caller detection.
	CountCallerContacts(ctx context.Context, caller string, r Range) (int, error)
	// AgentStates returns agent state changes in r (all agents when agent is
	// empty), in time order.
	AgentStates(ctx context.Context, agent string, r Range) ([]AgentState, error)
	// QueueLog returns queue_log entries in r, in id order.
	QueueLog(ctx context.Context, r Range) ([]QueueLogEntry, error)
	// Audit returns audit entries in r, in id order.
	Audit(ctx context.Context, r Range) ([]AuditEntry, error)
	// SaveCallback stores a pending callback, replacing the stored one with
	// the same ID (its Attempts never go down), and returns once it is
	// durable. A callback that is no longer pending is not changed:
	// ErrFinished.
	SaveCallback(ctx context.Context, c Callback) error
	// RecordCallbackAttempt stores attempt a of a pending callback and sets
	// its Attempts (to at least a.N) and NextAttempt (zero: as soon as
	// possible), durably. Recording the same attempt again stores it once.
	// ErrNotFound or ErrFinished when the callback is not pending.
	RecordCallbackAttempt(ctx context.Context, a CallbackAttempt, next time.Time) error
	// FinishCallback ends a pending callback with state (done, failed or
	// cancelled) and outcome at time at, and forgets its raw number,
	// durably. ErrNotFound, or ErrFinished when it had ended already.
	FinishCallback(ctx context.Context, id call.ID, state CallbackState, outcome string, at time.Time) error
	// Callback returns one callback, or ErrNotFound.
	Callback(ctx context.Context, id call.ID) (Callback, error)
	// PendingCallbacks returns every pending callback in the order of their
	// place in the queue (Since), to be queued again at start.
	PendingCallbacks(ctx context.Context) ([]Callback, error)
	// CallbackAttempts returns the attempts of one callback in order.
	CallbackAttempts(ctx context.Context, id call.ID) ([]CallbackAttempt, error)
	// CountCallbacks counts the callbacks requested since a time for the
	// number whose pseudonym is numberKey, whatever their state: the
	// per-number daily limit.
	CountCallbacks(ctx context.Context, numberKey string, since time.Time) (int, error)

	// Purge deletes the rows of d older than before (for callbacks: the
	// finished ones that finished before it), at most batch rows (0 means
	// DefaultPurgeBatch) per transaction so writers wait only briefly, and
	// returns how many it deleted.
	Purge(ctx context.Context, d Data, before time.Time, batch int) (int64, error)
	// PseudonymizeCallers replaces the raw caller numbers of contact
	// records and queue_log ENTERQUEUE rows older than before with their
	// pseudonyms, batch rows per transaction, and returns how many it
	// replaced.
	PseudonymizeCallers(ctx context.Context, before time.Time, p Pseudonymizer, batch int) (int64, error)

	// SchemaVersion returns the highest migration applied.
	SchemaVersion(ctx context.Context) (int, error)
	// Close releases the database; the Writer must be closed first.
	Close() error
}

// Range is a half-open time interval [From, To). A zero From or To leaves
// that side open.
type Range struct {
	From, To time.Time
}

// EventQuery selects events.
type EventQuery struct {
	AfterID   int64   // only ids greater than this
	ContactID call.ID // only this contact, when set
	Limit     int     // at most this many; 0 means 1000
}

func (q EventQuery) limit() int {
	if q.Limit <= 0 {
		return 1000
	}
	return q.Limit
}

// bounds returns r as Unix microseconds, open sides as the extremes.
func (r Range) bounds() (from, to int64) {
	from, to = -1<<63, 1<<63-1
	if !r.From.IsZero() {
		from = r.From.UnixMicro()
	}
	if !r.To.IsZero() {
		to = r.To.UnixMicro()
	}
	return from, to
}
