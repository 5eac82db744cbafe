package history

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/routing"
	"kcc/store"
)

// Appender takes records; the store's Writer is one. Append must not block.
type Appender interface {
	Append(r store.Record) (int64, error)
}

// Config says how records are written.
type Config struct {
	// HashKey keys the HMAC that pseudonymises caller numbers.
	HashKey []byte
	// RawNumbers stores caller numbers as they came (only where a
	// retention period deletes them).
	RawNumbers bool
	// QueueLog, if set, receives every queue_log line in Asterisk's file
	// format as well.
	QueueLog io.Writer
}

// Recorder builds the records. Its methods are safe for concurrent use.
type Recorder struct {
	cfg Config
	w   Appender
	log zerolog.Logger

	mu       sync.Mutex
	contacts map[call.ID]*contactState
	wrapping map[string]*contactState // agent -> contact in its wrap-up
	logins   map[string]time.Time     // agent -> login time
	lineBuf  []byte
}

// contactState is what the recorder knows of a contact in progress.
type contactState struct {
	rec      store.Contact
	origPos  int
	pos      int
	queuedAt time.Time // this queue entry, for queue_log hold times
	ringing  string    // agent whose offer rings
	ended    bool      // the caller's call is over
	// callback: the caller hung up to be called back; the record stays
	// open until CallbackEnded.
	callback bool
}

// New returns a recorder writing to w.
func New(cfg Config, w Appender, log zerolog.Logger) *Recorder {
	return &Recorder{cfg: cfg, w: w, log: log, contacts: map[call.ID]*contactState{},
		wrapping: map[string]*contactState{}, logins: map[string]time.Time{}}
}

// PseudonymPrefix starts every caller pseudonym, so a stored value tells
// whether it is a pseudonym or a raw number.
const PseudonymPrefix = "h:"

// Pseudonym returns the keyed pseudonym of a caller number: the same number
// gives the same pseudonym under the same key, so a repeat caller is
// recognised, and the number cannot be read back from it. Withheld and
// empty numbers, and pseudonyms, stay as they are.
func Pseudonym(key []byte, number string) string {
	if number == "" || number == "anonymous" || strings.HasPrefix(number, PseudonymPrefix) {
		return number
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(number))
	return PseudonymPrefix + hex.EncodeToString(m.Sum(nil)[:16])
}

// Pseudonymizer returns what the store needs to replace raw caller numbers
// with their pseudonyms under key (see Retention).
func Pseudonymizer(key []byte) store.Pseudonymizer {
	return store.Pseudonymizer{Prefix: PseudonymPrefix, Pseudonym: func(raw string) string { return Pseudonym(key, raw) }}
}

// Caller returns what is stored for a caller number: its pseudonym, or the
// number itself when raw numbers are configured. Withheld stays withheld.
func (r *Recorder) Caller(number string) string {
	if r.cfg.RawNumbers {
		return number
	}
	return Pseudonym(r.cfg.HashKey, number)
}

// Pseudonym returns number's pseudonym under the recorder's key whatever
// raw numbers say: a key to count and link numbers by without keeping them.
func (r *Recorder) Pseudonym(number string) string { return Pseudonym(r.cfg.HashKey, number) }

// append hands rec to the writer; a refusal is logged, never returned: the
// call goes on without its history line, and the writer counts it.
func (r *Recorder) append(rec store.Record) {
	if _, err := r.w.Append(rec); err != nil {
		r.log.Error().Err(err).Msg("history record not stored")
	}
}

func (r *Recorder) event(id call.ID, kind string, at time.Time, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		r.log.Error().Err(err).Str("kind", kind).Msg("history event not encodable")
		return
	}
	r.append(store.Event{ContactID: id, Kind: kind, Time: at, Data: b})
}

// queueLog writes e as a table row and, if configured, as a file line.
func (r *Recorder) queueLog(e store.QueueLogEntry) {
	r.append(e)
	if r.cfg.QueueLog != nil {
		r.lineBuf = e.AppendLine(r.lineBuf[:0])
		if _, err := r.cfg.QueueLog.Write(r.lineBuf); err != nil {
			r.log.Error().Err(err).Msg("queue_log file not written")
		}
	}
}

// Arrived records a call answered for a service number.
func (r *Recorder) Arrived(id call.ID, caller, number string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &contactState{rec: store.Contact{ID: id, Caller: r.Caller(caller), Arrival: at}}
	r.contacts[id] = c
	// The event log always gets the pseudonym: raw numbers, when
	// configured, live only in the contact record and queue_log, where
	// the retention job replaces them after their period.
	r.event(id, "call-arrived", at, map[string]string{"number": number, "caller": Pseudonym(r.cfg.HashKey, caller)})
	r.append(c.rec)
}

// IVREnded records the end of the IVR: the flow version, the path and how
// it ended (queued, normal, busy, ...).
func (r *Recorder) IVREnded(id call.ID, flowVersion string, path []string, cause string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.contacts[id]
	if c == nil {
		return
	}
	c.rec.IVREnd, c.rec.FlowVersion, c.rec.IVRPath = at, flowVersion, strings.Join(path, ">")
	if c.rec.QueueEntry.IsZero() && c.rec.Outcome == "" {
		switch cause {
		case "", "queued":
		default:
			c.rec.Outcome = store.OutcomeClosed // the flow ended the call: closed, information only, ...
		}
	}
	r.event(id, "ivr-ended", at, map[string]any{"flow_version": flowVersion, "path": path, "cause": cause})
	r.append(c.rec)
}

// Talked records the end of a conversation with agent: who hung up, how
// long it was, and both legs' quality.
func (r *Recorder) Talked(id call.ID, agent string, callerHungUp bool, caller, agentLeg store.LegQuality, at time.Time) {
	r.talked(id, agent, caller, agentLeg, at, map[string]any{"caller_hung_up": callerHungUp},
		func(c *contactState, hold, talk int64) store.QueueLogEntry {
			if callerHungUp {
				return store.CompleteCaller(at, string(id), c.rec.Queue, agent, hold, talk, c.origPos)
			}
			return store.CompleteAgent(at, string(id), c.rec.Queue, agent, hold, talk, c.origPos)
		})
}

// Transferred records the end of a conversation the agent ended with a
// transfer to target: blind, to a queue (the contact goes on there) or an
// outside number; attended, to the colleague the agent consulted (who
// takes the caller; Asterisk's BRIDGE method).
func (r *Recorder) Transferred(id call.ID, agent, target string, attended bool, caller, agentLeg store.LegQuality, at time.Time) {
	r.talked(id, agent, caller, agentLeg, at, map[string]any{"transferred_to": target, "attended": attended},
		func(c *contactState, hold, talk int64) store.QueueLogEntry {
			if attended {
				return store.AttendedTransfer(at, string(id), c.rec.Queue, agent, "BRIDGE", target, hold, talk, c.origPos)
			}
			return store.BlindTransfer(at, string(id), c.rec.Queue, agent, target, "kcc", hold, talk, c.origPos)
		})
}

func (r *Recorder) talked(id call.ID, agent string, caller, agentLeg store.LegQuality, at time.Time,
	data map[string]any, line func(c *contactState, hold, talk int64) store.QueueLogEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.contacts[id]
	if c == nil {
		return
	}
	c.rec.Talk = at.Sub(c.rec.Answer)
	c.rec.CallerLeg, c.rec.AgentLeg = caller, agentLeg
	r.queueLog(line(c, secs(c.rec.Wait), store.QLSeconds(c.rec.Answer, at)))
	data["agent"], data["talk_s"] = agent, c.rec.Talk.Seconds()
	data["caller_loss"], data["agent_loss"] = caller.Loss, agentLeg.Loss
	r.event(id, "conversation-ended", at, data)
	r.wrapping[agent] = c
	r.append(c.rec)
}

// Ended records the end of the caller's call and completes its record.
func (r *Recorder) Ended(id call.ID, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.contacts[id]
	if c == nil {
		return
	}
	c.ended = true
	c.rec.End = at
	if c.callback {
		// The contact goes on without the caller: it ends with the
		// callback (CallbackEnded).
		r.event(id, "call-ended", at, map[string]string{"outcome": string(c.rec.Outcome)})
		r.append(c.rec)
		return
	}
	delete(r.contacts, id)
	if c.rec.Outcome == "" {
		if c.rec.Answer.IsZero() {
			c.rec.Outcome = store.OutcomeAbandoned // hung up in the IVR
		} else {
			c.rec.Outcome = store.OutcomeAnswered
		}
	}
	r.event(id, "call-ended", at, map[string]string{"outcome": string(c.rec.Outcome)})
	r.append(c.rec)
}

// Resume takes up the record of a callback request an earlier run stored
// (its caller hung up long ago), so that the callback's answer, talk and
// end still reach it after a restart.
func (r *Recorder) Resume(rec store.Contact) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.contacts[rec.ID]; ok {
		return
	}
	r.contacts[rec.ID] = &contactState{rec: rec, callback: true, ended: true, origPos: 1}
}

// CallbackEnded records the end of a callback request: the resident was
// talked to (answered) or every attempt failed. The record keeps the
// callback outcome; its answer and talk times are the callback's.
func (r *Recorder) CallbackEnded(id call.ID, answered bool, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.contacts[id]
	if c == nil {
		return // requested before a restart: the recorder no longer has it
	}
	delete(r.contacts, id)
	c.rec.End = at
	r.event(id, "callback-ended", at, map[string]bool{"answered": answered})
	r.append(c.rec)
}

// Event records one routing event: it implements routing.Observer.
func (r *Recorder) Event(ev routing.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.event(ev.Contact, ev.Kind.String(), ev.At, ev)
	c := r.contacts[ev.Contact]
	id := string(ev.Contact)
	switch ev.Kind {
	case routing.ContactQueued:
		if c == nil {
			return
		}
		if c.rec.QueueEntry.IsZero() {
			c.rec.QueueEntry, c.origPos = ev.At, ev.Position
		}
		c.queuedAt, c.pos, c.rec.Queue = ev.At, ev.Position, ev.Queue
		r.queueLog(store.EnterQueue(ev.At, id, ev.Queue, c.rec.Caller, ev.Position))
		r.append(c.rec)
	case routing.OfferRinging:
		if c != nil {
			c.rec.Offers++
			c.ringing = ev.Agent
		}
	case routing.OfferTimedOut, routing.OfferDeclined:
		if c != nil {
			c.ringing = ""
		}
		r.queueLog(store.RingNoAnswer(ev.At, id, ev.Queue, ev.Agent, ev.Rang.Milliseconds()))
	case routing.ContactAnswered:
		if c == nil {
			return
		}
		c.ringing = ""
		c.rec.Answer, c.rec.Agent, c.rec.Wait = ev.At, ev.Agent, ev.At.Sub(c.rec.QueueEntry)
		if !c.callback {
			c.rec.Outcome = store.OutcomeAnswered
		}
		r.queueLog(store.Connect(ev.At, id, ev.Queue, ev.Agent, secs(ev.Waited), strconv.FormatUint(ev.Offer, 10), secs(ev.Rang)))
		r.append(c.rec)
	case routing.ContactAbandoned, routing.ContactExited:
		// Both leave the queue unanswered; an exit by key is not (yet) an
		// abandon, since the caller goes on in the IVR.
		if ev.Agent != "" {
			r.queueLog(store.RingCanceled(ev.At, id, ev.Queue, ev.Agent, ev.Rang.Milliseconds()))
		}
		orig := ev.Position
		if c != nil {
			orig = c.origPos
			c.rec.Wait = ev.At.Sub(c.rec.QueueEntry)
			if ev.Kind == routing.ContactAbandoned {
				c.rec.Outcome = store.OutcomeAbandoned
			}
			r.append(c.rec)
		}
		if ev.Kind == routing.ContactExited {
			r.queueLog(store.ExitWithKey(ev.At, id, ev.Queue, ev.Reason, ev.Position, orig, secs(ev.Waited)))
		} else {
			r.queueLog(store.Abandon(ev.At, id, ev.Queue, ev.Position, orig, secs(ev.Waited)))
		}
	case routing.ContactCallback:
		// No queue_log line: app_queue has no callbacks, and the contact
		// is still queued; its CONNECT comes when an agent takes it.
		if c == nil {
			return
		}
		c.callback = true
		c.rec.Outcome = store.OutcomeCallback
		r.append(c.rec)
	case routing.ContactTimedOut:
		// kcc sent the caller away at max wait with a message.
		orig := ev.Position
		if c != nil {
			orig = c.origPos
			c.rec.Wait = ev.At.Sub(c.rec.QueueEntry)
			c.rec.Outcome = store.OutcomeOverflow
			r.append(c.rec)
		}
		if ev.Agent != "" {
			r.queueLog(store.RingCanceled(ev.At, id, ev.Queue, ev.Agent, ev.Rang.Milliseconds()))
		}
		r.queueLog(store.ExitWithTimeout(ev.At, id, ev.Queue, ev.Position, orig, secs(ev.Waited)))
	case routing.ContactExitedEmpty:
		orig := ev.Position
		if c != nil {
			orig = c.origPos
			c.rec.Wait = ev.At.Sub(c.rec.QueueEntry)
			r.append(c.rec)
		}
		r.queueLog(store.ExitEmpty(ev.At, id, ev.Queue, ev.Position, orig, secs(ev.Waited)))
	case routing.ContactMoved:
		// As Asterisk logs a caller leaving for another queue: the exit
		// from the old queue, then the entry into the new one.
		if c == nil {
			return
		}
		r.queueLog(store.ExitWithTimeout(ev.At, id, ev.Other, c.pos, c.origPos, store.QLSeconds(c.queuedAt, ev.At)))
		c.queuedAt, c.pos, c.rec.Queue = ev.At, ev.Position, ev.Queue
		c.rec.Outcome = store.OutcomeOverflow
		r.queueLog(store.EnterQueue(ev.At, id, ev.Queue, c.rec.Caller, ev.Position))
		r.append(c.rec)
	case routing.AgentStateChanged:
		r.agentState(ev)
	}
}

// agentState records an agent's state change, the queue_log lines tools
// expect for it, and the end of a wrap-up on the contact it belonged to.
func (r *Recorder) agentState(ev routing.Event) {
	r.append(store.AgentState{Agent: ev.Agent, State: ev.To.String(), Reason: ev.Reason, Time: ev.At})
	switch {
	case ev.From == routing.LoggedOut:
		r.logins[ev.Agent] = ev.At
		r.queueLog(store.AgentLogin(ev.At, "NONE", ev.Agent, ev.Agent))
	case ev.To == routing.LoggedOut:
		var since int64
		if t, ok := r.logins[ev.Agent]; ok {
			since = store.QLSeconds(t, ev.At)
			delete(r.logins, ev.Agent)
		}
		r.queueLog(store.AgentLogoff(ev.At, "NONE", ev.Agent, ev.Agent, since))
	case ev.To == routing.Busy:
		r.queueLog(store.Pause(ev.At, "NONE", "NONE", ev.Agent, "busy"))
	case ev.From == routing.Busy:
		r.queueLog(store.Unpause(ev.At, "NONE", "NONE", ev.Agent, "busy"))
	case ev.To == routing.Paused:
		r.queueLog(store.Pause(ev.At, "NONE", "NONE", ev.Agent, ev.Reason))
	case ev.From == routing.Paused:
		r.queueLog(store.Unpause(ev.At, "NONE", "NONE", ev.Agent, ev.Reason))
	}
	if ev.From == routing.WrapUp {
		if c := r.wrapping[ev.Agent]; c != nil {
			delete(r.wrapping, ev.Agent)
			c.rec.WrapUpEnd = ev.At
			c.rec.WrapUp = ev.At.Sub(c.rec.Answer.Add(c.rec.Talk))
			r.append(c.rec)
		}
	}
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// Audit records an admin or supervisor change: who, what, and its details
// (a JSON-encodable value). It implements api.Auditor.
func (r *Recorder) Audit(who, what string, details any, at time.Time) {
	b, err := json.Marshal(details)
	if err != nil {
		r.log.Error().Err(err).Str("what", what).Msg("audit details not encodable")
		b = nil
	}
	r.append(store.AuditEntry{Time: at, Who: who, What: what, Details: b})
}
