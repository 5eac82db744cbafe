package report

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"kcc/store"
)

// TestAgentReportFromImportedQueueLog imports testdata/agents.queue_log, a
// hand-written Asterisk queue_log of 2026-03-10 (09:00 Amsterdam is
// 1773129600), and checks the agent report's numbers, computed by hand
// below, then that importing the file again changes nothing.
//
//	Anna: dynamic member (ADDMEMBER) of support and billing since 08:50.
//	  09:05 paused in support only: still available in billing.
//	  09:10-09:20 paused in billing too: paused (training), 600 s.
//	  09:28-09:34 on call x1: 120 s before 09:30, 240 s after.
//	  09:40 leaves support, 09:45 leaves billing: logged out.
//	  09:00 row: logged in 1800, paused 600, talk 120, available 1080.
//	  09:30 row: logged in 900 (to 09:45), talk 240, available 660.
//	Bram: AGENTLOGIN at 08:00 (found by the agent lookback).
//	  09:15-09:45 paused in all queues (PAUSEALL, then PAUSE lunch per
//	  queue as Asterisk writes it): 900 s in each row.
//	  09:50 answers y1; 09:55 QUEUESTART (Asterisk restarted): the call is
//	  over, he stays logged in.
//	  09:00 row: logged in 1800, paused 900, available 900.
//	  09:30 row: logged in 1800, paused 900, talk 300, available 600.
//	Cor: a static member (no login lines): only his call z1 09:40-09:42.
//	  09:30 row: logged in 120, talk 120.
//	1001: a kcc agent with agent states (available since 08:55); its
//	  queue_log pause 09:10-09:20 is ignored where kcc's states have it
//	  logged in: available 1800 in each row.
func TestAgentReportFromImportedQueueLog(t *testing.T) {
	ctx := context.Background()
	loc := amsterdam(t)
	st := openStore(t)
	st.put(t, store.AgentState{Agent: "1001", State: stateAvailable, Time: time.Unix(1773129600-300, 0)})
	file := readTestdata(t, "agents.queue_log")

	report := func(t *testing.T) *Report {
		t.Helper()
		rep, err := Build(ctx, st, Options{
			From: time.Date(2026, 3, 10, 9, 0, 0, 0, loc), To: time.Date(2026, 3, 10, 10, 0, 0, 0, loc),
			Location: loc, Kind: KindAgents, Now: func() time.Time { return time.Date(2026, 3, 11, 0, 0, 0, 0, loc) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	type row struct {
		agent, start                          string
		loggedIn, avail, talk, paused, wrapUp int // seconds
		training, lunch                       int // paused by reason, seconds
		answered                              int
	}
	rows := func(rep *Report) []row {
		var out []row
		for _, r := range rep.Agents {
			out = append(out, row{r.Agent, r.Start.In(loc).Format("15:04"), secs(r.LoggedIn), secs(r.Available),
				secs(r.Talk), secs(r.Paused), secs(r.WrapUp), secs(r.PausedBy["training"]), secs(r.PausedBy["lunch"]), r.Answered})
		}
		return out
	}
	want := []row{
		{"1001", "09:00", 1800, 1800, 0, 0, 0, 0, 0, 0},
		{"1001", "09:30", 1800, 1800, 0, 0, 0, 0, 0, 0},
		{"Anna", "09:00", 1800, 1080, 120, 600, 0, 600, 0, 1},
		{"Anna", "09:30", 900, 660, 240, 0, 0, 0, 0, 0},
		{"Bram", "09:00", 1800, 900, 0, 900, 0, 0, 900, 0},
		{"Bram", "09:30", 1800, 600, 300, 900, 0, 0, 900, 1},
		{"Cor", "09:30", 120, 0, 120, 0, 0, 0, 0, 1},
	}

	stats, err := ImportWith(ctx, bytes.NewReader(file), st.w, ImportOptions{Existing: st})
	if err != nil || stats.Imported != 24 || stats.Bad != 0 {
		t.Fatalf("import = %+v, %v; want 24 lines imported", stats, err)
	}
	first := report(t)
	if got := rows(first); !reflect.DeepEqual(got, want) {
		t.Errorf("agent rows:\n%s\nwant:\n%s", rowsText(got), rowsText(want))
	}
	for _, r := range first.Agents {
		if r.Available+r.Talk+r.Paused+r.WrapUp+r.Ringing+r.Busy != r.LoggedIn {
			t.Errorf("%s %s: parts do not add up to logged-in time: %+v", r.Agent, r.Start, r)
		}
	}
	// 1001's queue_log pause ("x") is not used: kcc's states have it
	// logged in then.
	if want := []string{"lunch", "training"}; !reflect.DeepEqual(first.PauseReasons, want) {
		t.Errorf("pause reasons %v, want %v", first.PauseReasons, want)
	}

	t.Run("importing again changes nothing", func(t *testing.T) {
		again, err := ImportWith(ctx, bytes.NewReader(file), st.w, ImportOptions{Existing: st})
		if err != nil || again.Imported != 0 || again.Duplicates != 24 {
			t.Fatalf("second import = %+v, %v; want 24 duplicates", again, err)
		}
		if got := rows(report(t)); !reflect.DeepEqual(got, want) {
			t.Errorf("agent rows after a second import:\n%s\nwant:\n%s", rowsText(got), rowsText(want))
		}
	})
}

func secs(d time.Duration) int { return int(d / time.Second) }

func rowsText[T any](rows []T) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

// TestAgentLogStates checks the state queue_log implies, event by event.
func TestAgentLogStates(t *testing.T) {
	type change struct{ agent, state, reason string }
	tm := time.Unix(1773129600, 0)
	ql := func(queue, agent, event string, data ...string) store.QueueLogEntry {
		return store.QueueLogEntry{Time: tm, CallID: "NONE", Queue: queue, Agent: agent, Event: event, Data: data}
	}
	call := func(id, agent, event string) store.QueueLogEntry {
		return store.QueueLogEntry{Time: tm, CallID: id, Queue: "q", Agent: agent, Event: event}
	}
	for _, tc := range []struct {
		name string
		rows []store.QueueLogEntry
		want []change
	}{
		{"login and logoff", []store.QueueLogEntry{ql("NONE", "a", "AGENTLOGIN"), ql("NONE", "a", "AGENTLOGOFF")},
			[]change{{"a", "available", ""}, {"a", "logged-out", ""}}},
		{"old callback login", []store.QueueLogEntry{ql("NONE", "a", "AGENTCALLBACKLOGIN"), ql("NONE", "a", "AGENTCALLBACKLOGOFF")},
			[]change{{"a", "available", ""}, {"a", "logged-out", ""}}},
		{"member of two queues", []store.QueueLogEntry{ql("q1", "a", "ADDMEMBER"), ql("q2", "a", "ADDMEMBER"),
			ql("q1", "a", "REMOVEMEMBER"), ql("q2", "a", "REMOVEMEMBER")},
			[]change{{"a", "available", ""}, {"a", "logged-out", ""}}},
		{"paused in one of two queues is available", []store.QueueLogEntry{ql("q1", "a", "ADDMEMBER"), ql("q2", "a", "ADDMEMBER"),
			ql("q1", "a", "PAUSE", "koffie"), ql("q2", "a", "PAUSE", "overleg"), ql("q1", "a", "UNPAUSE")},
			[]change{{"a", "available", ""}, {"a", "paused", "overleg"}, {"a", "available", ""}}},
		{"pause in all then unpause in one", []store.QueueLogEntry{ql("q1", "a", "ADDMEMBER"), ql("q2", "a", "ADDMEMBER"),
			ql("NONE", "a", "PAUSE", "lunch"), ql("q1", "a", "UNPAUSE"), ql("q2", "a", "UNPAUSE")},
			[]change{{"a", "available", ""}, {"a", "paused", "lunch"}, {"a", "available", ""}}},
		{"pauseall keeps the reason of the queue pauses", []store.QueueLogEntry{ql("NONE", "a", "AGENTLOGIN"),
			ql("NONE", "a", "PAUSEALL"), ql("q", "a", "PAUSE", "lunch"), ql("NONE", "a", "UNPAUSEALL")},
			[]change{{"a", "available", ""}, {"a", "paused", ""}, {"a", "paused", "lunch"}, {"a", "available", ""}}},
		{"a call while paused is talk", []store.QueueLogEntry{ql("NONE", "a", "AGENTLOGIN"), ql("NONE", "a", "PAUSE", "p"),
			call("c1", "a", "CONNECT"), call("c1", "a", "COMPLETECALLER")},
			[]change{{"a", "available", ""}, {"a", "paused", "p"}, {"a", "on-call", ""}, {"a", "paused", "p"}}},
		{"static member talks only", []store.QueueLogEntry{call("c1", "a", "CONNECT"), call("c1", "a", "BLINDTRANSFER")},
			[]change{{"a", "on-call", ""}, {"a", "logged-out", ""}}},
		{"queuestart ends calls", []store.QueueLogEntry{call("c1", "a", "CONNECT"), call("c2", "b", "CONNECT"),
			ql("NONE", "NONE", "QUEUESTART")},
			[]change{{"a", "on-call", ""}, {"b", "on-call", ""}, {"a", "logged-out", ""}, {"b", "logged-out", ""}}},
		{"logoff ends pauses", []store.QueueLogEntry{ql("NONE", "a", "AGENTLOGIN"), ql("NONE", "a", "PAUSE", "p"),
			ql("NONE", "a", "AGENTLOGOFF"), ql("NONE", "a", "AGENTLOGIN")},
			[]change{{"a", "available", ""}, {"a", "paused", "p"}, {"a", "logged-out", ""}, {"a", "available", ""}}},
		{"rows without an agent and other events", []store.QueueLogEntry{ql("q", "NONE", "PAUSE", "p"),
			call("c1", "", "CONNECT"), ql("q", "a", "RINGNOANSWER", "1000"), ql("q", "a", "CONFIGRELOAD")},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []change
			l := newAgentLog(func(agent, state, reason string, _ time.Time) {
				got = append(got, change{agent, state, reason})
			})
			for _, e := range tc.rows {
				l.row(e)
			}
			// QUEUESTART visits agents in map order.
			if tc.name == "queuestart ends calls" && len(got) == 4 && got[2].agent == "b" {
				got[2], got[3] = got[3], got[2]
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("changes %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzAgentLog feeds arbitrary queue_log files through the agent report:
// whatever the file says, the report must not panic, and each agent row's
// parts must add up to its logged-in time, none negative.
func FuzzAgentLog(f *testing.F) {
	f.Add(string(readTestdata(f, "agents.queue_log")))
	f.Add(string(readTestdata(f, "queue_log.txt")))
	f.Add("1773129600|c|q|a|CONNECT|1\n1773129000|c|q|a|COMPLETEAGENT|1|2|3\n1773129700|NONE|NONE|a|UNPAUSEALL|\n")
	f.Fuzz(func(t *testing.T, file string) {
		var rows []store.QueueLogEntry
		for line := range strings.Lines(file) {
			if e, err := store.ParseQueueLogLine(line); err == nil {
				rows = append(rows, e)
			}
		}
		loc := time.UTC
		g, err := newGrid(time.Unix(1773100800, 0), time.Unix(1773187200, 0), time.Hour, loc)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := Options{From: g.start(), To: g.end, Interval: time.Hour, Location: loc, Kind: KindAgents}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		b := newBuilder(opt, g)
		b.queueLogAgents(rows, g.start().Add(-time.Hour), g.end)
		rep := b.finish(g.end)
		for _, r := range rep.Agents {
			parts := r.Available + r.Talk + r.Paused + r.WrapUp + r.Ringing + r.Busy
			if parts != r.LoggedIn || r.LoggedIn < 0 || r.Available < 0 || r.Talk < 0 || r.Paused < 0 || r.LoggedIn > time.Hour {
				t.Errorf("%s %s: %+v", r.Agent, r.Start, r)
			}
		}
	})
}
