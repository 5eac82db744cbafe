package report

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"kcc/call"
	"kcc/store"
)

// weekRecords is a week of 9,000 contacts (issue 7's volume) as the
// recorder stores them: a Contact, its queue_log rows and its agent's
// state changes, in three queues, 08:00-17:00 local, 30 agents.
func weekRecords(loc *time.Location) (recs []store.Record, from, to time.Time) {
	rng := rand.New(rand.NewPCG(1, 2))
	from = time.Date(2026, 3, 9, 0, 0, 0, 0, loc)
	to = from.AddDate(0, 0, 7)
	queues := []string{"burgerzaken", "afval", "parkeren"}
	free := map[string]time.Time{} // agent -> when free again
	for d := 0; d < 7; d++ {
		open := from.AddDate(0, 0, d).Add(8 * time.Hour)
		n := 9000 / 7
		if d < 9000%7 {
			n++
		}
		for i := 0; i < n; i++ {
			entry := open.Add(time.Duration(rng.Int64N(int64(9 * time.Hour))))
			id := fmt.Sprintf("w%d-%d", d, i)
			q := queues[rng.IntN(len(queues))]
			wait := time.Duration(rng.Int64N(int64(3 * time.Minute)))
			c := store.Contact{ID: call.ID(id), Arrival: entry.Add(-30 * time.Second), QueueEntry: entry, Queue: q, Wait: wait}
			recs = append(recs, store.EnterQueue(entry, id, q, "h:x", 1))
			switch r := rng.IntN(100); {
			case r < 85:
				agent := fmt.Sprintf("agent%02d", rng.IntN(30))
				talk := time.Duration(60+rng.IntN(400)) * time.Second
				wrap := time.Duration(rng.IntN(60)) * time.Second
				c.Outcome, c.Agent, c.Answer = store.OutcomeAnswered, agent, entry.Add(wait)
				c.Talk, c.End, c.WrapUp = talk, c.Answer.Add(talk), wrap
				c.WrapUpEnd = c.End.Add(wrap)
				recs = append(recs,
					store.Connect(c.Answer, id, q, agent, int64(wait/time.Second), "1", 2),
					store.CompleteCaller(c.End, id, q, agent, int64(wait/time.Second), int64(talk/time.Second), 1))
				if c.Answer.After(free[agent]) {
					recs = append(recs,
						store.AgentState{Agent: agent, State: stateOnCall, Time: c.Answer},
						store.AgentState{Agent: agent, State: stateWrapUp, Time: c.End},
						store.AgentState{Agent: agent, State: stateAvailable, Time: c.WrapUpEnd})
					free[agent] = c.WrapUpEnd
				}
			case r < 95:
				c.Outcome, c.End = store.OutcomeAbandoned, entry.Add(wait)
				recs = append(recs, store.Abandon(c.End, id, q, 1, 1, int64(wait/time.Second)))
			default:
				c.Outcome, c.End = store.OutcomeCallback, entry.Add(wait)
			}
			recs = append(recs, c)
		}
		for a := 0; a < 30; a++ {
			agent := fmt.Sprintf("agent%02d", a)
			recs = append(recs,
				store.AgentState{Agent: agent, State: stateAvailable, Time: open.Add(-15 * time.Minute)},
				store.AgentState{Agent: agent, State: statePaused, Reason: "lunch", Time: open.Add(4 * time.Hour)},
				store.AgentState{Agent: agent, State: stateAvailable, Reason: "lunch", Time: open.Add(4*time.Hour + 30*time.Minute)},
				store.AgentState{Agent: agent, State: stateLoggedOut, Time: open.Add(9*time.Hour + 30*time.Minute)})
		}
	}
	return recs, from, to
}

// BenchmarkReportWeekSQLite is `kcc report` over a week of 9,000
// contacts in half hours: reading from a real SQLite store, computing,
// and writing the table.
func BenchmarkReportWeekSQLite(b *testing.B) {
	loc := amsterdam(b)
	st := openStore(b)
	recs, from, to := weekRecords(loc)
	st.put(b, recs...)
	opt := Options{From: from, To: to, Location: loc, Now: func() time.Time { return to }}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := RunReport(ctx, st, opt, FormatTable, io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// memSource serves records from memory, to measure the computation alone.
type memSource struct {
	contacts []store.Contact
	ql       []store.QueueLogEntry
	states   []store.AgentState
}

func inRange(t time.Time, r store.Range) bool { return !t.Before(r.From) && t.Before(r.To) }

func (m *memSource) Contacts(_ context.Context, r store.Range) (out []store.Contact, _ error) {
	for _, c := range m.contacts {
		if inRange(c.Arrival, r) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memSource) QueueLog(_ context.Context, r store.Range) (out []store.QueueLogEntry, _ error) {
	for _, e := range m.ql {
		if inRange(e.Time, r) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memSource) AgentStates(_ context.Context, _ string, r store.Range) (out []store.AgentState, _ error) {
	for _, s := range m.states {
		if inRange(s.Time, r) {
			out = append(out, s)
		}
	}
	return out, nil
}

// BenchmarkComputeWeek is the computation of the same week without the
// database: facts, rows, totals.
func BenchmarkComputeWeek(b *testing.B) {
	loc := amsterdam(b)
	recs, from, to := weekRecords(loc)
	src := &memSource{}
	for _, r := range recs {
		switch r := r.(type) {
		case store.Contact:
			src.contacts = append(src.contacts, r)
		case store.QueueLogEntry:
			src.ql = append(src.ql, r)
		case store.AgentState:
			src.states = append(src.states, r)
		}
	}
	// The store returns contacts and states in time order.
	sort.SliceStable(src.contacts, func(i, j int) bool { return src.contacts[i].Arrival.Before(src.contacts[j].Arrival) })
	sort.SliceStable(src.states, func(i, j int) bool { return src.states[i].Time.Before(src.states[j].Time) })
	opt := Options{From: from, To: to, Location: loc, Now: func() time.Time { return to }}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := Build(ctx, src, opt)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Total.Offered != 9000 {
			b.Fatalf("offered %d, want 9000", rep.Total.Offered)
		}
	}
}
