package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"kcc/call"
	"kcc/store"
)

// The simulated day: Tuesday 10 March 2026, 09:00-11:00 in Amsterdam
// (CET, UTC+1), half-hour intervals I1 09:00, I2 09:30, I3 10:00, I4 10:30.
// Queue burgerzaken has the default target (60 s), afval a target of 30 s.
var simDay = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// simCall is one contact of the simulated day, in local clock times.
type simCall struct {
	id      string
	queue   string
	entry   string        // queue entry, "15:04:05"; empty: never queued
	wait    time.Duration // until answer or leaving the queue
	outcome store.Outcome // empty: still waiting
	agent   string
	talk    time.Duration // zero for an answered call still in talk
	wrapUp  time.Duration
}

var simCalls = []simCall{
	// burgerzaken
	{id: "B0", queue: "burgerzaken", entry: "09:00:10", wait: 20 * time.Second, outcome: store.OutcomeAnswered, agent: "bram", talk: 100 * time.Second, wrapUp: 10 * time.Second}, // arrived 08:59:50, before the report
	{id: "B1", queue: "burgerzaken", entry: "09:05:00", wait: 15 * time.Second, outcome: store.OutcomeAnswered, agent: "anna", talk: 180 * time.Second, wrapUp: 30 * time.Second},
	{id: "B2", queue: "burgerzaken", entry: "09:10:00", wait: 90 * time.Second, outcome: store.OutcomeAnswered, agent: "anna", talk: 240 * time.Second, wrapUp: 60 * time.Second},
	{id: "B3", queue: "burgerzaken", entry: "09:20:00", wait: 3 * time.Second, outcome: store.OutcomeAbandoned},
	{id: "B4", queue: "burgerzaken", entry: "09:25:00", wait: 120 * time.Second, outcome: store.OutcomeAbandoned},
	{id: "B5", queue: "burgerzaken", entry: "09:40:00", wait: 45 * time.Second, outcome: store.OutcomeCallback},
	{id: "B6", queue: "burgerzaken", entry: "09:45:00", wait: 60 * time.Second, outcome: store.OutcomeAnswered, agent: "bram", talk: 300 * time.Second},
	{id: "B7", queue: "burgerzaken", entry: "10:10:00", wait: 5 * time.Second, outcome: store.OutcomeAbandoned},
	{id: "B8", queue: "burgerzaken", entry: "10:20:00"}, // its end never recorded
	// afval
	{id: "A1", queue: "afval", entry: "09:15:00", wait: 40 * time.Second, outcome: store.OutcomeAnswered, agent: "bram", talk: 120 * time.Second, wrapUp: 20 * time.Second},
	{id: "A2", queue: "afval", entry: "09:50:00", wait: 200 * time.Second, outcome: store.OutcomeOverflow},
	{id: "A3", queue: "afval", entry: "10:35:00", wait: 10 * time.Second, outcome: store.OutcomeAnswered, agent: "anna", talk: 60 * time.Second, wrapUp: 10 * time.Second},
	{id: "A5", queue: "afval", entry: "10:57:45", wait: 15 * time.Second, outcome: store.OutcomeAnswered, agent: "bram"}, // still talking at 11:00
	{id: "A4", queue: "afval", entry: "10:59:50", wait: 30 * time.Second, outcome: store.OutcomeAbandoned},
	// not in the report
	{id: "C1", entry: ""}, // closed in the IVR at 09:30
	{id: "X1", queue: "afval", entry: "11:00:00", wait: 10 * time.Second, outcome: store.OutcomeAbandoned},       // entered at the end
	{id: "X0", queue: "burgerzaken", entry: "08:59:59", wait: 30 * time.Second, outcome: store.OutcomeAbandoned}, // entered before the start
}

// simStates is the agents' state history, local clock times.
var simStates = []struct{ agent, at, state, reason string }{
	{"carl", "07:00:00", stateAvailable, ""}, // logged out before the report
	{"carl", "08:00:00", stateLoggedOut, ""},
	{"anna", "08:55:00", stateAvailable, ""}, // logged in before the report
	{"anna", "09:05:15", stateOnCall, ""},
	{"anna", "09:08:15", stateWrapUp, ""},
	{"anna", "09:08:45", stateAvailable, ""},
	{"anna", "09:11:20", stateRinging, ""},
	{"anna", "09:11:30", stateOnCall, ""},
	{"anna", "09:15:30", stateWrapUp, ""},
	{"anna", "09:16:30", stateAvailable, ""},
	{"anna", "10:00:00", statePaused, "lunch"},
	{"anna", "10:30:00", stateAvailable, "lunch"},
	{"anna", "10:35:10", stateOnCall, ""},
	{"anna", "10:36:10", stateWrapUp, ""},
	{"anna", "10:36:20", statePaused, "overleg"},
	{"anna", "10:50:00", stateAvailable, "overleg"},
	{"anna", "10:55:00", stateLoggedOut, ""},
	{"bram", "09:00:00", stateAvailable, ""}, // logs in at the start
	{"bram", "09:00:30", stateOnCall, ""},
	{"bram", "09:02:10", stateWrapUp, ""},
	{"bram", "09:02:20", stateAvailable, ""},
	{"bram", "09:15:40", stateOnCall, ""},
	{"bram", "09:17:40", stateWrapUp, ""},
	{"bram", "09:18:00", stateAvailable, ""},
	{"bram", "09:46:00", stateOnCall, ""},
	{"bram", "09:51:00", stateAvailable, ""},
	{"bram", "10:05:00", stateBusy, ""},
	{"bram", "10:12:00", stateAvailable, ""},
	{"bram", "10:20:00", statePaused, ""},
	{"bram", "10:25:00", stateAvailable, ""},
	{"bram", "10:57:50", stateRinging, ""},
	{"bram", "10:58:00", stateOnCall, ""}, // still on the call at the end
}

func clockAt(t testing.TB, loc *time.Location, hms string) time.Time {
	t.Helper()
	c, err := time.ParseInLocation("15:04:05", hms, loc)
	if err != nil {
		t.Fatalf("bad clock %q: %v", hms, err)
	}
	return time.Date(simDay.Year(), simDay.Month(), simDay.Day(), c.Hour(), c.Minute(), c.Second(), 0, loc)
}

// simRecords returns the simulated day as the recorder would store it:
// a Contact per call, agent states, and for B1 also its queue_log rows
// (which the report must not count a second time).
func simRecords(t testing.TB, loc *time.Location) []store.Record {
	var recs []store.Record
	for _, s := range simCalls {
		if s.entry == "" {
			at := clockAt(t, loc, "09:30:00")
			recs = append(recs, store.Contact{ID: call.ID(s.id), Arrival: at, IVREnd: at.Add(40 * time.Second),
				End: at.Add(40 * time.Second), Outcome: store.OutcomeClosed})
			continue
		}
		entry := clockAt(t, loc, s.entry)
		c := store.Contact{ID: call.ID(s.id), Arrival: entry.Add(-20 * time.Second), IVREnd: entry, QueueEntry: entry,
			Queue: s.queue, Outcome: s.outcome, Wait: s.wait}
		switch {
		case s.outcome == store.OutcomeAnswered:
			c.Answer, c.Agent, c.Offers = entry.Add(s.wait), s.agent, 1
			if s.talk > 0 {
				c.Talk, c.End = s.talk, c.Answer.Add(s.talk)
				c.WrapUp, c.WrapUpEnd = s.wrapUp, c.End.Add(s.wrapUp)
			}
		case s.outcome != "":
			c.End = entry.Add(s.wait)
		}
		recs = append(recs, c)
	}
	b1 := clockAt(t, loc, "09:05:00")
	recs = append(recs,
		store.EnterQueue(b1, "B1", "burgerzaken", "h:1", 1),
		store.Connect(b1.Add(15*time.Second), "B1", "burgerzaken", "anna", 15, "7", 2),
		store.CompleteCaller(b1.Add(195*time.Second), "B1", "burgerzaken", "anna", 15, 180, 1))
	for _, s := range simStates {
		recs = append(recs, store.AgentState{Agent: s.agent, State: s.state, Reason: s.reason, Time: clockAt(t, loc, s.at)})
	}
	return recs
}

func simOptions(t testing.TB, loc *time.Location) Options {
	return Options{
		From: clockAt(t, loc, "09:00:00"), To: clockAt(t, loc, "11:00:00"), Interval: 30 * time.Minute,
		Location: loc, Targets: map[string]time.Duration{"afval": 30 * time.Second},
		Now: func() time.Time { return clockAt(t, loc, "11:30:00") },
	}
}

func simStore(t testing.TB) (*testStore, *time.Location) {
	loc := amsterdam(t)
	st := openStore(t)
	st.put(t, simRecords(t, loc)...)
	return st, loc
}

// queueWant is a queue row as computed by hand: the counts, then the
// service level in per mille (-1: undefined), ASA, AHT and max wait in
// milliseconds.
type queueWant struct {
	queue, start                                            string
	offered, answered, inTarget, abandoned, short, cb, over int
	handled                                                 int
	slPerMille                                              int
	asaMs, ahtMs, maxWaitMs                                 int64
}

func checkQueueRow(t *testing.T, got QueueRow, want queueWant, loc *time.Location) {
	t.Helper()
	if want.start != "" {
		if s := got.Start.In(loc).Format("15:04"); s != want.start {
			t.Errorf("row start = %s, want %s", s, want.start)
		}
	}
	gotCounts := [...]int{got.Offered, got.Answered, got.AnsweredInTarget, got.Abandoned, got.ShortAbandoned, got.Callbacks, got.Overflows, got.Handled}
	wantCounts := [...]int{want.offered, want.answered, want.inTarget, want.abandoned, want.short, want.cb, want.over, want.handled}
	if gotCounts != wantCounts {
		t.Errorf("%s %s: counts (offered answered in-target abandoned short callbacks overflows handled) = %v, want %v",
			got.Queue, want.start, gotCounts, wantCounts)
	}
	sl, ok := got.ServiceLevel()
	gotSL := -1
	if ok {
		gotSL = int(sl*1000 + 0.5)
	}
	if gotSL != want.slPerMille {
		t.Errorf("%s %s: service level = %d‰, want %d‰", got.Queue, want.start, gotSL, want.slPerMille)
	}
	if g := got.ASA().Milliseconds(); g != want.asaMs {
		t.Errorf("%s %s: ASA = %d ms, want %d ms", got.Queue, want.start, g, want.asaMs)
	}
	if g := got.AHT().Milliseconds(); g != want.ahtMs {
		t.Errorf("%s %s: AHT = %d ms, want %d ms", got.Queue, want.start, g, want.ahtMs)
	}
	if g := got.MaxWait.Milliseconds(); g != want.maxWaitMs {
		t.Errorf("%s %s: max wait = %d ms, want %d ms", got.Queue, want.start, g, want.maxWaitMs)
	}
}

// TestSimulatedDay checks every number of the simulated day's report
// against values computed by hand below.
func TestSimulatedDay(t *testing.T) {
	st, loc := simStore(t)
	rep, err := Build(context.Background(), st, simOptions(t, loc))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("queue intervals", func(t *testing.T) {
		want := []queueWant{
			// afval I1: A1 answered after 40 s > 30 s target. SL 0/1. AHT 120+20.
			{"afval", "09:00", 1, 1, 0, 0, 0, 0, 0, 1, 0, 40000, 140000, 40000},
			// afval I2: A2 overflowed after 200 s. SL 0/1.
			{"afval", "09:30", 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 200000},
			// afval I3: nothing offered, SL undefined.
			{"afval", "10:00", 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0},
			// afval I4: A3 (10 s), A5 (15 s, still talking: not handled),
			// A4 abandoned after 30 s (not short). SL 2/(3-0) = 667‰.
			// ASA (10+15)/2 = 12.5 s; AHT (60+10)/1 = 70 s; max 30 s.
			{"afval", "10:30", 3, 2, 2, 1, 0, 0, 0, 1, 667, 12500, 70000, 30000},
			// burgerzaken I1: B0 20 s, B1 15 s, B2 90 s answered (2 within
			// 60 s); B3 abandoned after 3 s (short), B4 after 120 s.
			// SL 2/(5-1) = 500‰. ASA (20+15+90)/3 = 41.667 s.
			// AHT ((100+10)+(180+30)+(240+60))/3 = 620/3 = 206.667 s. Max 120 s.
			{"burgerzaken", "09:00", 5, 3, 2, 2, 1, 0, 0, 3, 500, 41666, 206666, 120000},
			// burgerzaken I2: B5 callback after 45 s; B6 answered after
			// exactly 60 s (within). SL 1/2. ASA 60 s, AHT 300 s, max 60 s.
			{"burgerzaken", "09:30", 2, 1, 1, 0, 0, 1, 0, 1, 500, 60000, 300000, 60000},
			// burgerzaken I3: B7 abandoned after exactly 5 s (short); B8
			// still waiting (offered only, no wait). SL 0/(2-1) = 0.
			{"burgerzaken", "10:00", 2, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 5000},
			{"burgerzaken", "10:30", 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0},
		}
		if len(rep.Queues) != len(want) {
			t.Fatalf("got %d queue rows, want %d", len(rep.Queues), len(want))
		}
		for i, w := range want {
			if rep.Queues[i].Queue != w.queue {
				t.Errorf("row %d queue = %q, want %q", i, rep.Queues[i].Queue, w.queue)
			}
			checkQueueRow(t, rep.Queues[i], w, loc)
		}
	})

	t.Run("totals", func(t *testing.T) {
		// afval: offered 1+1+0+3 = 5, answered 3 (40, 10, 15 s), within
		// 30 s 2, abandoned 1, overflow 1, handled 2 (A1, A3).
		// SL 2/5 = 400‰. ASA 65/3 = 21.667 s. AHT (140+70)/2 = 105 s. Max 200 s.
		// burgerzaken: offered 9, answered 4 (20, 15, 90, 60 s), within
		// 60 s 3, abandoned 3 of which 2 short, callback 1, handled 4.
		// SL 3/(9-2) = 428.6‰. ASA 185/4 = 46.25 s. AHT (620+300)/4 = 230 s. Max 120 s.
		// All: offered 14, answered 7, within target 5, abandoned 4, short 2,
		// SL 5/(14-2) = 416.7‰, ASA 250/7 = 35.714 s, AHT 1130/6 = 188.333 s, max 200 s.
		want := []queueWant{
			{"afval", "", 5, 3, 2, 1, 0, 0, 1, 2, 400, 21666, 105000, 200000},
			{"burgerzaken", "", 9, 4, 3, 3, 2, 1, 0, 4, 429, 46250, 230000, 120000},
		}
		if len(rep.QueueTotals) != len(want) {
			t.Fatalf("got %d queue totals, want %d", len(rep.QueueTotals), len(want))
		}
		for i, w := range want {
			checkQueueRow(t, rep.QueueTotals[i], w, loc)
		}
		checkQueueRow(t, rep.Total, queueWant{"", "", 14, 7, 5, 4, 2, 1, 1, 6, 417, 35714, 188333, 200000}, loc)
		if rep.Total.Target != 0 {
			t.Errorf("total target = %v, want 0 (queues' targets differ)", rep.Total.Target)
		}
		if rep.QueueTotals[0].Target != 30*time.Second || rep.QueueTotals[1].Target != 60*time.Second {
			t.Errorf("targets = %v, %v, want 30s, 1m0s", rep.QueueTotals[0].Target, rep.QueueTotals[1].Target)
		}
	})

	t.Run("agents", func(t *testing.T) {
		type agentWant struct {
			agent, start                                       string
			loggedIn, avail, ringing, talk, wrap, busy, paused int // seconds
			pausedBy                                           map[string]int
			answered                                           int
		}
		want := []agentWant{
			// anna I1: available 09:00:00-09:05:15 (315) + 09:08:45-09:11:20
			// (155) + 09:16:30-09:30:00 (810) = 1280; ringing 10; talk
			// 180+240 = 420; wrap-up 30+60 = 90; answered B1, B2.
			{"anna", "09:00", 1800, 1280, 10, 420, 90, 0, 0, nil, 2},
			{"anna", "09:30", 1800, 1800, 0, 0, 0, 0, 0, nil, 0},
			{"anna", "10:00", 1800, 0, 0, 0, 0, 0, 1800, map[string]int{"lunch": 1800}, 0},
			// anna I4: logged out at 10:55 (1500 s); available 310 + 300;
			// talk 60; wrap-up 10; paused overleg 10:36:20-10:50:00 = 820.
			{"anna", "10:30", 1500, 610, 0, 60, 10, 0, 820, map[string]int{"overleg": 820}, 1},
			// bram I1: logs in at 09:00:00; talk 100+120; wrap-up 10+20;
			// available 30+800+720 = 1550; answered B0, A1.
			{"bram", "09:00", 1800, 1550, 0, 220, 30, 0, 0, nil, 2},
			{"bram", "09:30", 1800, 1500, 0, 300, 0, 0, 0, nil, 1},
			// bram I3: busy 10:05-10:12 (420), paused without reason
			// 10:20-10:25 (300), available 300+480+300 = 1080.
			{"bram", "10:00", 1800, 1080, 0, 0, 0, 420, 300, map[string]int{"": 300}, 0},
			// bram I4: available to 10:57:50 (1670), ringing 10, on call
			// from 10:58:00 to the end of the report (120); answered A5.
			{"bram", "10:30", 1800, 1670, 10, 120, 0, 0, 0, nil, 1},
		}
		if len(rep.Agents) != len(want) {
			t.Fatalf("got %d agent rows, want %d: %+v", len(rep.Agents), len(want), rep.Agents)
		}
		for i, w := range want {
			g := rep.Agents[i]
			name := fmt.Sprintf("%s %s", w.agent, w.start)
			if g.Agent != w.agent || g.Start.In(loc).Format("15:04") != w.start {
				t.Errorf("row %d = %s %s, want %s", i, g.Agent, g.Start.In(loc).Format("15:04"), name)
				continue
			}
			s := func(d time.Duration) int { return int(d / time.Second) }
			gotT := [...]int{s(g.LoggedIn), s(g.Available), s(g.Ringing), s(g.Talk), s(g.WrapUp), s(g.Busy), s(g.Paused), g.Answered}
			wantT := [...]int{w.loggedIn, w.avail, w.ringing, w.talk, w.wrap, w.busy, w.paused, w.answered}
			if gotT != wantT {
				t.Errorf("%s: (logged-in available ringing talk wrap-up busy paused answered) = %v, want %v", name, gotT, wantT)
			}
			if len(g.PausedBy) != len(w.pausedBy) {
				t.Errorf("%s: paused by = %v, want %v", name, g.PausedBy, w.pausedBy)
			}
			for r, sec := range w.pausedBy {
				if s(g.PausedBy[r]) != sec {
					t.Errorf("%s: paused %q = %v, want %ds", name, r, g.PausedBy[r], sec)
				}
			}
		}
		// Totals: anna 6900 s logged in (3690 available, 10 ringing, 480
		// talk, 100 wrap-up, 2620 paused), 3 answered; bram 7200 s (5800,
		// 10, 640, 30, busy 420, paused 300), 4 answered. carl: no row.
		if len(rep.AgentTotals) != 2 {
			t.Fatalf("got %d agent totals, want 2 (anna, bram)", len(rep.AgentTotals))
		}
		for _, c := range []struct {
			got  AgentRow
			want [8]time.Duration
		}{
			{rep.AgentTotals[0], [8]time.Duration{6900, 3690, 10, 480, 100, 0, 2620, 3}},
			{rep.AgentTotals[1], [8]time.Duration{7200, 5800, 10, 640, 30, 420, 300, 4}},
		} {
			g := c.got
			got := [8]time.Duration{g.LoggedIn / time.Second, g.Available / time.Second, g.Ringing / time.Second,
				g.Talk / time.Second, g.WrapUp / time.Second, g.Busy / time.Second, g.Paused / time.Second, time.Duration(g.Answered)}
			if got != c.want {
				t.Errorf("%s total = %v, want %v", g.Agent, got, c.want)
			}
		}
		if want := []string{"", "lunch", "overleg"}; fmt.Sprint(rep.PauseReasons) != fmt.Sprint(want) {
			t.Errorf("pause reasons = %q, want %q", rep.PauseReasons, want)
		}
	})
}

func TestSimulatedDayGolden(t *testing.T) {
	st, loc := simStore(t)
	rep, err := Build(context.Background(), st, simOptions(t, loc))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatTable, FormatCSV, FormatJSON} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := rep.Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			golden(t, "simday."+string(f), buf.Bytes())
		})
	}
	t.Run("json parses", func(t *testing.T) {
		var buf bytes.Buffer
		if err := rep.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Queues []struct {
				ServiceLevel *float64 `json:"service_level"`
			} `json:"queues"`
			Total struct {
				ServiceLevel *float64 `json:"service_level"`
				Offered      int      `json:"offered"`
			} `json:"total"`
		}
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Queues[2].ServiceLevel != nil || got.Total.ServiceLevel == nil || *got.Total.ServiceLevel != 0.4167 || got.Total.Offered != 14 {
			t.Errorf("afval 10:00 service level = %v (want null), total = %v / %d (want 0.4167 / 14)",
				got.Queues[2].ServiceLevel, got.Total.ServiceLevel, got.Total.Offered)
		}
	})
	t.Run("csv parses", func(t *testing.T) {
		var buf bytes.Buffer
		rep2 := *rep
		rep2.Kind = KindQueues
		if err := rep2.WriteCSV(&buf); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// Header, 8 interval rows, 2 queue totals, 1 total.
		if len(recs) != 12 || recs[11][0] != "total" || recs[11][4] != "14" {
			t.Errorf("csv has %d records, last %v; want 12, total with 14 offered", len(recs), recs[len(recs)-1])
		}
	})
}

func TestOptions(t *testing.T) {
	st, loc := simStore(t)
	ctx := context.Background()

	t.Run("one queue", func(t *testing.T) {
		opt := simOptions(t, loc)
		opt.Queue, opt.Kind = "afval", KindQueues
		rep, err := Build(ctx, st, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Queues) != 4 || len(rep.QueueTotals) != 1 || rep.Total.Offered != 5 || len(rep.Agents) != 0 {
			t.Errorf("got %d rows, %d totals, total offered %d, %d agent rows; want 4, 1, 5, 0",
				len(rep.Queues), len(rep.QueueTotals), rep.Total.Offered, len(rep.Agents))
		}
	})
	t.Run("unknown queue has zero rows", func(t *testing.T) {
		opt := simOptions(t, loc)
		opt.Queue = "paspoort"
		rep, err := Build(ctx, st, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Queues) != 4 || rep.Total.Offered != 0 {
			t.Errorf("got %d rows, total offered %d; want 4 empty rows", len(rep.Queues), rep.Total.Offered)
		}
	})
	t.Run("daily interval rounds the range to the day", func(t *testing.T) {
		opt := simOptions(t, loc)
		opt.Interval = 24 * time.Hour
		rep, err := Build(ctx, st, opt)
		if err != nil {
			t.Fatal(err)
		}
		// The whole day adds X0 (08:59:59) and X1 (11:00:00) to the counts.
		if len(rep.Queues) != 2 || rep.Total.Offered != 16 || rep.Total.Abandoned != 6 {
			t.Errorf("got %d rows, offered %d, abandoned %d; want 2, 16, 6", len(rep.Queues), rep.Total.Offered, rep.Total.Abandoned)
		}
		if from := rep.From.In(loc).Format("2006-01-02 15:04"); from != "2026-03-10 00:00" {
			t.Errorf("from = %s, want 2026-03-10 00:00", from)
		}
	})
	t.Run("progress per day", func(t *testing.T) {
		opt := simOptions(t, loc)
		opt.From = opt.From.AddDate(0, 0, -2)
		var calls []string
		opt.Progress = func(done, total int) { calls = append(calls, fmt.Sprintf("%d/%d", done, total)) }
		if _, err := Build(ctx, st, opt); err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(calls), "[1/3 2/3 3/3]"; got != want {
			t.Errorf("progress = %s, want %s", got, want)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		for _, c := range []struct {
			name string
			mod  func(*Options)
		}{
			{"no from", func(o *Options) { o.From = time.Time{} }},
			{"to before from", func(o *Options) { o.To = o.From.Add(-time.Hour) }},
			{"interval not dividing a day", func(o *Options) { o.Interval = 7 * time.Minute }},
			{"interval too short", func(o *Options) { o.Interval = time.Second }},
			{"too many intervals", func(o *Options) { o.Interval = time.Minute; o.To = o.From.AddDate(1, 0, 0) }},
			{"bad target", func(o *Options) { o.Targets = map[string]time.Duration{"x": -1} }},
			{"bad kind", func(o *Options) { o.Kind = "wallboard" }},
		} {
			t.Run(c.name, func(t *testing.T) {
				opt := simOptions(t, loc)
				c.mod(&opt)
				_, err := Build(ctx, st, opt)
				if !errors.Is(err, ErrOptions) {
					t.Errorf("err = %v, want ErrOptions", err)
				}
			})
		}
	})
}

func TestGridDST(t *testing.T) {
	loc := amsterdam(t)
	for _, c := range []struct {
		name     string
		day      time.Time
		interval time.Duration
		want     int
		last     string
	}{
		{"spring forward, half hours", time.Date(2026, 3, 29, 0, 0, 0, 0, loc), 30 * time.Minute, 46, "23:30"},
		{"fall back, hours", time.Date(2026, 10, 25, 0, 0, 0, 0, loc), time.Hour, 25, "23:00"},
		{"fall back, one day", time.Date(2026, 10, 25, 0, 0, 0, 0, loc), 24 * time.Hour, 1, "00:00"},
		{"ordinary day, 15 minutes", time.Date(2026, 3, 10, 0, 0, 0, 0, loc), 15 * time.Minute, 96, "23:45"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := newGrid(c.day, c.day.AddDate(0, 0, 1), c.interval, loc)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.starts) != c.want {
				t.Errorf("got %d intervals, want %d", len(g.starts), c.want)
			}
			if last := g.starts[len(g.starts)-1].In(loc).Format("15:04"); last != c.last {
				t.Errorf("last interval starts %s, want %s", last, c.last)
			}
			if !g.end.Equal(c.day.AddDate(0, 0, 1)) {
				t.Errorf("grid ends %v, want the next midnight", g.end.In(loc))
			}
			for i := range g.starts {
				if m := g.starts[i].In(loc).Minute(); m%int(min(c.interval, time.Hour)/time.Minute) != 0 {
					t.Errorf("interval %d starts at %s, off the wall-clock grid", i, g.starts[i].In(loc).Format("15:04"))
				}
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	loc := amsterdam(t)
	for _, c := range []struct{ in, want string }{
		{"2026-03-10", "2026-03-09T23:00:00Z"},
		{"2026-03-10T09:30", "2026-03-10T08:30:00Z"},
		{"2026-03-10 09:30:15", "2026-03-10T08:30:15Z"},
		{"2026-03-10T09:30:00+02:00", "2026-03-10T07:30:00Z"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseTime(c.in, loc)
			if err != nil {
				t.Fatal(err)
			}
			if g := got.UTC().Format(time.RFC3339); g != c.want {
				t.Errorf("got %s, want %s", g, c.want)
			}
		})
	}
	if _, err := ParseTime("yesterday", loc); !errors.Is(err, ErrOptions) {
		t.Errorf("ParseTime(yesterday) err = %v, want ErrOptions", err)
	}
}
