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
	// AgentStates returns agent state changes in r (all agents when agent is
	// empty), in time order.
	AgentStates(ctx context.Context, agent string, r Range) ([]AgentState, error)
	// QueueLog returns queue_log entries in r, in id order.
	QueueLog(ctx context.Context, r Range) ([]QueueLogEntry, error)
	// Audit returns audit entries in r, in id order.
	Audit(ctx context.Context, r Range) ([]AuditEntry, error)
	// PendingCallbacks returns every callback with status pending, oldest
	// due first, so they can be reloaded at start.
	PendingCallbacks(ctx context.Context) ([]Callback, error)
	// CallbackAttempts returns the attempts of one callback in time order.
	CallbackAttempts(ctx context.Context, callbackID string) ([]CallbackAttempt, error)

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
