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
	// ContactQueued: Contact, Queue, Position (1-based, in its queue),
	// Priority, Predicted.
	ContactQueued
	// OfferRinging: Contact, Queue, Agent, Offer, Attempt.
	OfferRinging
	// OfferTimedOut: Contact, Queue, Agent, Offer, Attempt, Rang.
	OfferTimedOut
	// OfferDeclined: Contact, Queue, Agent, Offer, Attempt, Rang.
	OfferDeclined
	// ContactAnswered: Contact, Queue, Agent, Offer, Attempt, Waited, Rang,
	// Predicted (as at queue time, for calibration against Waited).
	ContactAnswered
	// ContactAbandoned: Contact, Queue, Position, Waited, Predicted; Agent,
	// Offer, Attempt and Rang too when an offer was ringing.
	ContactAbandoned
	// AgentStateChanged: Agent, From, To; Contact when one is involved;
	// Reason when To or From is Paused (so an unpause tells which pause
	// it ends).
	AgentStateChanged
	// ContactEscalated: Contact, Queue, Level (1 for the first step),
	// Waited. A ringing offer goes on; the wider set of agents counts from
	// the next offer.
	ContactEscalated
	// ContactMaxWait: Contact, Queue, Position, Waited, Other (the queue's
	// Overflow). The contact stays queued until the lifecycle layer acts.
	ContactMaxWait
	// ContactMoved: Contact, Queue (the new one), Other (the old one),
	// Position, Priority, Predicted; Agent, Offer, Attempt and Rang too
	// when a ringing offer was withdrawn.
	ContactMoved
	// ContactExited: the caller left the queue with the exit key. Like
	// ContactAbandoned, with Reason the key.
	ContactExited
	// ContactCallback: the caller hung up to be called back and the
	// contact waits on in its place (Router.Callback): Contact, Queue,
	// Position, Waited, Priority, Level, Predicted; Agent, Offer, Attempt
	// and Rang too when a ringing offer was withdrawn to be made again as
	// a callback.
	ContactCallback
	// ContactExitedEmpty: the contact left its queue because nobody is
	// left who could answer it (Queue.LeaveEmpty; EXITEMPTY in queue_log):
	// Contact, Queue, Position (before the queue emptied), Waited,
	// Priority, Level, Predicted.
	ContactExitedEmpty
	// ContactTimedOut: kcc ended the contact's wait at its queue's
	// MaxWait (Router.TimedOut; EXITWITHTIMEOUT in queue_log). Like
	// ContactAbandoned.
	ContactTimedOut
)

var eventKindNames = [...]string{
	ContactQueued:      "contact-queued",
	OfferRinging:       "offer-ringing",
	OfferTimedOut:      "offer-timed-out",
	OfferDeclined:      "offer-declined",
	ContactAnswered:    "contact-answered",
	ContactAbandoned:   "contact-abandoned",
	AgentStateChanged:  "agent-state-changed",
	ContactEscalated:   "contact-escalated",
	ContactMaxWait:     "contact-max-wait",
	ContactMoved:       "contact-moved",
	ContactExited:      "contact-exited",
	ContactCallback:    "contact-callback",
	ContactExitedEmpty: "contact-exited-empty",
	ContactTimedOut:    "contact-timed-out",
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
	Reason   string // pause reason
	Priority int    // the contact's priority, its queue's included
	Level    int    // escalation level, 0 before the first step
	// Predicted is the wait estimated when the contact joined its queue:
	// zero when an agent took it at once, negative when no agent could
	// serve the queue, so there was no basis for an estimate.
	Predicted time.Duration
	Other     string // another queue, see the kinds
	// Callback is set on the events of a contact that waits as a callback
	// (Contact.Callback, Router.Callback): ContactQueued, OfferRinging,
	// OfferTimedOut, OfferDeclined, ContactAnswered, ContactAbandoned,
	// ContactEscalated, ContactMoved and ContactCallback, so history can
	// tell a callback from a caller on the line.
	Callback bool
}

// Observer receives every Event in the order the router produced it. Event is
// called without the router's lock held, one event at a time, from a
// goroutine that is calling into the Router or running one of its timers; it
// must not block, and it may call back into the Router.
type Observer interface {
	Event(Event)
}
