package routing

import (
	"fmt"
	"time"

	"kcc/call"
)

// EventKind tells which state change an Event reports.
type EventKind int

// Event kinds. Each names the fields of Event it sets besides Kind and At.
const (
	_ EventKind = iota
	// ContactQueued: Contact, Queue, Position (1-based, in its queue).
	ContactQueued
	// OfferRinging: Contact, Queue, Agent, Offer, Attempt.
	OfferRinging
	// OfferTimedOut: Contact, Queue, Agent, Offer, Attempt, Rang.
	OfferTimedOut
	// OfferDeclined: Contact, Queue, Agent, Offer, Attempt, Rang.
	OfferDeclined
	// ContactAnswered: Contact, Queue, Agent, Offer, Attempt, Waited, Rang.
	ContactAnswered
	// ContactAbandoned: Contact, Queue, Position, Waited; Agent, Offer,
	// Attempt and Rang too when an offer was ringing.
	ContactAbandoned
	// AgentStateChanged: Agent, From, To; Contact when one is involved.
	AgentStateChanged
)

var eventKindNames = [...]string{
	ContactQueued:     "contact-queued",
	OfferRinging:      "offer-ringing",
	OfferTimedOut:     "offer-timed-out",
	OfferDeclined:     "offer-declined",
	ContactAnswered:   "contact-answered",
	ContactAbandoned:  "contact-abandoned",
	AgentStateChanged: "agent-state-changed",
}

// String returns the kind's name, e.g. "offer-ringing".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// MarshalText lets encoders write the kind by name.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event reports one routing state change. It is one flat value rather than a
// type per kind so that it costs no allocation and maps directly onto a
// queue_log line, a database row or an SSE message; Kind says which fields
// are set.
type Event struct {
	Kind     EventKind
	At       time.Time // from the router's Clock
	Contact  call.ID
	Queue    string
	Agent    string
	Offer    uint64 // offer ID
	Attempt  int    // 1 for a contact's first offer
	Position int    // position in its queue, 1-based
	// Waited is the time from Enqueue to answer or abandon.
	Waited time.Duration
	// Rang is how long the offer rang.
	Rang     time.Duration
	From, To AgentState
}

// Observer receives every Event in the order the router produced it. Event is
// called without the router's lock held, one event at a time, from a
// goroutine that is calling into the Router or running one of its timers; it
// must not block, and it may call back into the Router.
type Observer interface {
	Event(Event)
}

// Option configures a Router in New.
type Option func(*Router)

// WithObserver makes the router report its events to o.
func WithObserver(o Observer) Option {
	return func(r *Router) { r.obs = o }
}
