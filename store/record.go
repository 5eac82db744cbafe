package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"kcc/call"
)

// ErrInvalid is wrapped by every error about a record that can never be
// stored (bad JSON, a NUL byte, a missing field). The Writer refuses such a
// record at Append, so a bad record cannot block the batches behind it.
var ErrInvalid = errors.New("invalid record")

// maxData bounds the JSON payload of one event or audit entry. Events are
// small; a megabyte means a bug, and refusing it keeps batches bounded.
const maxData = 1 << 20

// Record is one row the Writer can append: an [Event], [Contact],
// [AgentState], [QueueLogEntry] or [AuditEntry]. The set is closed so a
// Batch knows every kind. Callbacks are not records: they are written
// synchronously (see [Callback]).
type Record interface {
	// validate reports why the record can never be stored, wrapping ErrInvalid.
	validate() error
	// addTo appends the record to b, giving append-only records the id seq.
	addTo(b *Batch, seq int64)
}

// Event is one typed routing, IVR or call event: the richer log beside
// queue_log. Kind names the event (for example "ivr.menu" or
// "routing.offer"); Data holds its fields as a JSON object.
type Event struct {
	// ID is assigned by the Writer (see [Writer.Append]); it is unique and
	// increases in append order, so acknowledged ids can be checked after a
	// crash.
	ID        int64
	ContactID call.ID // empty for events that belong to no contact
	Kind      string
	Time      time.Time
	Data      json.RawMessage // a JSON value; empty is stored as {}
}

// Outcome is how a contact ended.
type Outcome string

// The outcomes of a contact (issue 7 item 2).
const (
	OutcomeAnswered  Outcome = "answered"
	OutcomeAbandoned Outcome = "abandoned"
	OutcomeCallback  Outcome = "callback"
	OutcomeOverflow  Outcome = "overflow"
	OutcomeClosed    Outcome = "closed"
	OutcomeFailed    Outcome = "failed"
)

func (o Outcome) valid() bool {
	switch o {
	case "", OutcomeAnswered, OutcomeAbandoned, OutcomeCallback, OutcomeOverflow, OutcomeClosed, OutcomeFailed:
		return true
	}
	return false
}

// LegQuality is the RTP quality of one call leg as measured at its end.
type LegQuality struct {
	Loss   float64       // fraction of expected packets lost, 0..1
	Jitter time.Duration // RFC 3550 interarrival jitter; stored in µs
}

// Contact is the one record kept per contact. The call-lifecycle package
// owns the current state and writes the whole record at each milestone; a
// write replaces the stored record with the same ContactID (upsert), so the
// last write wins and rewriting the same record is harmless. Zero times are
// milestones not reached (stored as NULL); durations are stored in
// milliseconds.
type Contact struct {
	ID     call.ID
	Caller string // the caller number as configured: keyed hash by default, raw only when configured

	Arrival    time.Time // INVITE accepted
	IVREnd     time.Time
	QueueEntry time.Time
	Answer     time.Time
	End        time.Time
	WrapUpEnd  time.Time

	Offers      int // times the contact was offered to an agent
	FlowVersion string
	IVRPath     string // the nodes the caller passed, e.g. "welkom>taal>hoofdmenu:1"
	Topic       string
	Queue       string
	Agent       string
	Outcome     Outcome

	Wait          time.Duration // actual time in queue
	Talk          time.Duration
	WrapUp        time.Duration
	PredictedWait time.Duration // the estimate given at queue entry

	CallerLeg LegQuality
	AgentLeg  LegQuality
}

// AgentState is one entry of an agent's state history.
type AgentState struct {
	ID     int64 // assigned by the Writer
	Agent  string
	State  string // e.g. "available", "paused", "on-call", "wrap-up", "logged-out"
	Reason string // pause reason, if any
	Time   time.Time
}

// AuditEntry records one admin or supervisor change.
type AuditEntry struct {
	ID      int64 // assigned by the Writer
	Time    time.Time
	Who     string          // the API token's subject
	What    string          // the action, e.g. "queue.update"
	Details json.RawMessage // a JSON value; empty is stored as {}
}

// checkText refuses strings no back end can store: PostgreSQL text holds
// neither NUL bytes nor invalid UTF-8.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, field)
	}
	return nil
}

func checkTexts(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if err := checkText(fields[i], fields[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func checkTime(field string, t time.Time, required bool) error {
	if t.IsZero() {
		if required {
			return fmt.Errorf("%w: %s is missing", ErrInvalid, field)
		}
		return nil
	}
	if y := t.Year(); y < 1970 || y > 9999 {
		return fmt.Errorf("%w: %s %s is out of range", ErrInvalid, field, t.Format(time.RFC3339))
	}
	return nil
}

// checkJSON refuses what PostgreSQL's jsonb refuses besides bad syntax:
// invalid UTF-8 and the \u0000 escape. (A literal backslash followed by
// "u0000" is refused too; that false alarm is cheaper than a JSON walk.)
func checkJSON(field string, data json.RawMessage) error {
	if len(data) == 0 {
		return nil
	}
	if len(data) > maxData {
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrInvalid, field, len(data), maxData)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	if !json.Valid(data) {
		return fmt.Errorf("%w: %s is not valid JSON", ErrInvalid, field)
	}
	if bytes.Contains(data, []byte(`\u0000`)) {
		return fmt.Errorf("%w: %s contains \\u0000", ErrInvalid, field)
	}
	return nil
}

func jsonText(data json.RawMessage) string {
	if len(data) == 0 {
		return "{}"
	}
	return string(data)
}

func (e Event) validate() error {
	if e.Kind == "" {
		return fmt.Errorf("%w: event kind is empty", ErrInvalid)
	}
	if err := checkTexts("event kind", e.Kind, "event contact id", string(e.ContactID)); err != nil {
		return err
	}
	if err := checkTime("event time", e.Time, true); err != nil {
		return err
	}
	return checkJSON("event data", e.Data)
}

func (e Event) addTo(b *Batch, seq int64) {
	e.ID = seq
	b.Events = append(b.Events, e)
}

func (c Contact) validate() error {
	if c.ID == "" {
		return fmt.Errorf("%w: contact id is empty", ErrInvalid)
	}
	if !c.Outcome.valid() {
		return fmt.Errorf("%w: contact outcome %q is unknown", ErrInvalid, c.Outcome)
	}
	if err := checkTexts("contact id", string(c.ID), "contact caller", c.Caller,
		"contact flow version", c.FlowVersion, "contact ivr path", c.IVRPath, "contact topic", c.Topic,
		"contact queue", c.Queue, "contact agent", c.Agent); err != nil {
		return err
	}
	if err := checkTime("contact arrival", c.Arrival, true); err != nil {
		return err
	}
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"ivr end", c.IVREnd}, {"queue entry", c.QueueEntry}, {"answer", c.Answer}, {"end", c.End}, {"wrap-up end", c.WrapUpEnd}} {
		if err := checkTime("contact "+t.name, t.t, false); err != nil {
			return err
		}
	}
	if c.Offers < 0 {
		return fmt.Errorf("%w: contact offers %d is negative", ErrInvalid, c.Offers)
	}
	return nil
}

func (c Contact) addTo(b *Batch, _ int64) { b.Contacts = append(b.Contacts, c) }

func (a AgentState) validate() error {
	if a.Agent == "" || a.State == "" {
		return fmt.Errorf("%w: agent state needs an agent and a state", ErrInvalid)
	}
	if err := checkTexts("agent", a.Agent, "agent state", a.State, "agent state reason", a.Reason); err != nil {
		return err
	}
	return checkTime("agent state time", a.Time, true)
}

func (a AgentState) addTo(b *Batch, seq int64) {
	a.ID = seq
	b.AgentStates = append(b.AgentStates, a)
}

func (a AuditEntry) validate() error {
	if a.Who == "" || a.What == "" {
		return fmt.Errorf("%w: audit entry needs who and what", ErrInvalid)
	}
	if err := checkTexts("audit who", a.Who, "audit what", a.What); err != nil {
		return err
	}
	if err := checkTime("audit time", a.Time, true); err != nil {
		return err
	}
	return checkJSON("audit details", a.Details)
}

func (a AuditEntry) addTo(b *Batch, seq int64) {
	a.ID = seq
	b.Audit = append(b.Audit, a)
}

// Batch is what one transaction writes. Append-only rows (events, agent
// states, queue_log, audit) carry ids chosen by the writer and are inserted
// with "on conflict do nothing", so writing a batch again after an unknown
// commit outcome stores nothing twice. Contacts replace the stored row with
// the same id, in slice order.
type Batch struct {
	Events      []Event
	Contacts    []Contact
	AgentStates []AgentState
	QueueLog    []QueueLogEntry
	Audit       []AuditEntry
}

// Len returns the number of records in b.
func (b *Batch) Len() int {
	return len(b.Events) + len(b.Contacts) + len(b.AgentStates) + len(b.QueueLog) + len(b.Audit)
}

// Validate reports the first record in b that can never be stored, and an
// append-only record without an id.
func (b *Batch) Validate() error {
	for i := range b.Events {
		if err := needID("event", b.Events[i].ID, b.Events[i].validate()); err != nil {
			return err
		}
	}
	for i := range b.Contacts {
		if err := b.Contacts[i].validate(); err != nil {
			return err
		}
	}
	for i := range b.AgentStates {
		if err := needID("agent state", b.AgentStates[i].ID, b.AgentStates[i].validate()); err != nil {
			return err
		}
	}
	for i := range b.QueueLog {
		if err := needID("queue_log entry", b.QueueLog[i].ID, b.QueueLog[i].validate()); err != nil {
			return err
		}
	}
	for i := range b.Audit {
		if err := needID("audit entry", b.Audit[i].ID, b.Audit[i].validate()); err != nil {
			return err
		}
	}
	return nil
}

func needID(what string, id int64, err error) error {
	if err != nil {
		return err
	}
	if id <= 0 {
		return fmt.Errorf("%w: %s id %d is not positive", ErrInvalid, what, id)
	}
	return nil
}

func (b *Batch) reset() {
	b.Events = b.Events[:0]
	b.Contacts = b.Contacts[:0]
	b.AgentStates = b.AgentStates[:0]
	b.QueueLog = b.QueueLog[:0]
	b.Audit = b.Audit[:0]
}
