package report

import (
	"strconv"
	"time"

	"kcc/store"
)

// fact is what the reports need to know of one stay of a contact in a
// queue, whatever history it came from.
type fact struct {
	id      string
	queue   string
	entered time.Time
	// outcome is empty while the contact still waits (or its end was not
	// seen): it counts as offered only.
	outcome store.Outcome
	wait    time.Duration
	agent   string    // the answering agent
	answer  time.Time // when answered
	talk    time.Duration
	wrapUp  time.Duration
	ended   bool // the conversation is over, so talk and wrap-up count for AHT
}

// contactFact turns a kcc contact record into a fact; ok is false for a
// contact that never entered a queue.
func contactFact(c store.Contact) (f fact, ok bool) {
	if c.QueueEntry.IsZero() {
		return fact{}, false
	}
	f = fact{
		id: string(c.ID), queue: c.Queue, entered: c.QueueEntry, outcome: c.Outcome, wait: c.Wait,
		agent: c.Agent, answer: c.Answer, talk: c.Talk, wrapUp: c.WrapUp,
	}
	if !c.Answer.IsZero() {
		// Answered, whatever the outcome field says: a record written at
		// the answer milestone may not carry the outcome of a later one.
		f.outcome = store.OutcomeAnswered
		if f.wait <= 0 {
			f.wait = c.Answer.Sub(c.QueueEntry)
		}
		f.ended = c.Talk > 0 || !c.End.IsZero()
	}
	switch f.outcome {
	case store.OutcomeAnswered, store.OutcomeAbandoned, store.OutcomeCallback, store.OutcomeOverflow:
	case store.OutcomeClosed, store.OutcomeFailed:
		// Left the queue without an agent for a reason of kcc's own:
		// offered, and not answered within the target.
	default:
		f.outcome = "" // still waiting
	}
	if f.outcome != "" && f.outcome != store.OutcomeAnswered && f.wait <= 0 && !c.End.IsZero() {
		f.wait = c.End.Sub(c.QueueEntry)
	}
	f.wait = max(f.wait, 0)
	return f, true
}

// queueLogFacts derives facts from queue_log rows in id order. Only an
// ENTERQUEUE at or after from and before to starts a fact (later rows only
// complete it), and rows whose callid skip reports true are ignored. The
// facts come out in the order of their ENTERQUEUE.
func queueLogFacts(rows []store.QueueLogEntry, from, to time.Time, skip func(callID string) bool) []fact {
	var out []fact
	open := map[string]int{} // callid -> index in out of its current queue stay
	for _, e := range rows {
		if e.CallID == "" || e.CallID == store.QLNone || skip(e.CallID) {
			continue
		}
		if e.Event == store.QLEnterQueue {
			if i, ok := open[e.CallID]; ok && out[i].outcome == "" {
				// Queued again without leaving: moved on, an overflow.
				out[i].outcome, out[i].wait = store.OutcomeOverflow, max(e.Time.Sub(out[i].entered), 0)
			}
			delete(open, e.CallID)
			if e.Time.Before(from) || !e.Time.Before(to) {
				continue
			}
			open[e.CallID] = len(out)
			out = append(out, fact{id: e.CallID, queue: e.Queue, entered: e.Time})
			continue
		}
		i, ok := open[e.CallID]
		if !ok || out[i].queue != e.Queue {
			continue
		}
		f := &out[i]
		switch e.Event {
		case store.QLConnect:
			f.outcome, f.agent, f.answer = store.OutcomeAnswered, e.Agent, e.Time
			f.wait = qlSeconds(e.Data, 0, e.Time.Sub(f.entered))
		case store.QLCompleteCaller, store.QLCompleteAgent:
			f.talk, f.ended = qlSeconds(e.Data, 1, since(f.answer, e.Time)), true
			delete(open, e.CallID)
		case store.QLBlindTransfer, store.QLAttendedTransfer:
			f.talk, f.ended = qlSeconds(e.Data, 3, since(f.answer, e.Time)), true
			delete(open, e.CallID)
		case store.QLAbandon:
			f.outcome, f.wait = store.OutcomeAbandoned, qlSeconds(e.Data, 2, e.Time.Sub(f.entered))
			delete(open, e.CallID)
		case store.QLExitWithTimeout, store.QLExitEmpty:
			f.outcome, f.wait = store.OutcomeOverflow, qlSeconds(e.Data, 2, e.Time.Sub(f.entered))
			delete(open, e.CallID)
		case store.QLExitWithKey:
			f.outcome, f.wait = store.OutcomeOverflow, qlSeconds(e.Data, 3, e.Time.Sub(f.entered))
			delete(open, e.CallID)
		}
		if f.ended && f.outcome == "" {
			// A COMPLETE* without its CONNECT (a cut file): answered by that
			// agent, when the talk began.
			f.outcome, f.agent = store.OutcomeAnswered, e.Agent
			f.answer = e.Time.Add(-f.talk)
		}
	}
	return out
}

// qlSeconds reads data field i as whole seconds, falling back to the time
// between the rows when it is missing or not a number (other tools' files);
// never negative.
func qlSeconds(data []string, i int, fallback time.Duration) time.Duration {
	d := fallback
	if i < len(data) {
		// Fields beyond a day of seconds times a thousand are nonsense; the
		// bound also keeps the multiplication from overflowing.
		if n, err := strconv.ParseInt(data[i], 10, 64); err == nil && n >= 0 && n < 1e8 {
			d = time.Duration(n) * time.Second
		}
	}
	return max(d, 0)
}

// since returns to-from, or 0 when from is unknown.
func since(from, to time.Time) time.Duration {
	if from.IsZero() {
		return 0
	}
	return to.Sub(from)
}
