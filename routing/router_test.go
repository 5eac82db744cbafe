package routing

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

func TestNewRejectsBadConfig(t *testing.T) {
	line, clock := &recLine{}, SystemClock()
	tests := []struct {
		name   string
		cfg    Config
		queues []Queue
		agents []Agent
		line   Line
		clock  Clock
		want   []string // substrings of the error; nil means success
	}{
		{name: "valid, agent without skills", queues: testQueues(), agents: []Agent{{ID: "a1"}}, line: line, clock: clock},
		{name: "no queues or agents", line: line, clock: clock},
		{name: "empty queue name", queues: []Queue{{Name: "x"}, {}}, line: line, clock: clock, want: []string{"queue 2: empty name"}},
		{name: "duplicate queue", queues: []Queue{{Name: "x"}, {Name: "x"}}, line: line, clock: clock, want: []string{`queue "x": duplicate name`}},
		{name: "empty queue skill", queues: []Queue{{Name: "x", Skills: []string{""}}}, line: line, clock: clock, want: []string{`queue "x": empty skill`}},
		{name: "empty agent ID", agents: []Agent{{Name: "Anne"}}, line: line, clock: clock, want: []string{"agent 1: empty ID"}},
		{name: "duplicate agent", agents: []Agent{{ID: "a"}, {ID: "a"}}, line: line, clock: clock, want: []string{`agent "a": duplicate ID`}},
		{name: "empty agent skill", agents: []Agent{{ID: "a", Skills: []string{"x", ""}}}, line: line, clock: clock, want: []string{`agent "a": empty skill`}},
		{name: "negative timers", cfg: Config{RingTimeout: -1, WrapUp: -time.Second}, line: line, clock: clock, want: []string{"ring timeout -1ns is negative", "wrap-up -1s is negative"}},
		{name: "nil line and clock", want: []string{"line is nil", "clock is nil"}},
		{name: "all problems at once", queues: []Queue{{}, {Name: "q"}, {Name: "q"}}, agents: []Agent{{}, {ID: "a"}, {ID: "a"}}, line: line, clock: clock,
			want: []string{"queue 1: empty name", `queue "q": duplicate`, "agent 1: empty ID", `agent "a": duplicate`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.cfg, tt.queues, tt.agents, tt.line, tt.clock, zerolog.Nop())
			if tt.want == nil {
				if err != nil || r == nil {
					t.Fatalf("New = %v, %v; want a router", r, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, testQueues(), testAgents())
		f.mustLogin(t, "a2")
		f.mustEnqueue(t, "paspoort", "c1")
		advance(DefaultRingTimeout - time.Nanosecond)
		wantCalls(t, f.line, "ring c1 a2 #1")
		advance(time.Nanosecond)
		wantCalls(t, f.line, "withdraw c1 a2 #1", "ring c1 a2 #2")
		f.mustAnswer(t, "c1")
		f.Ended("c1")
		advance(DefaultWrapUp - time.Nanosecond)
		wantStates(t, f, "a1:logged-out a2:wrap-up a3:logged-out a4:logged-out")
		advance(time.Nanosecond)
		wantStates(t, f, "a1:logged-out a2:available a3:logged-out a4:logged-out")
	})
}

func TestCallErrors(t *testing.T) {
	f := newFixture(t, Config{}, testQueues(), testAgents())
	f.mustEnqueue(t, "paspoort", "dup")
	tests := []struct {
		name    string
		call    func() error
		wantIs  error
		wantMsg string
	}{
		{"unknown queue", func() error { return f.Enqueue(Contact{ID: "c1", Queue: "nope"}) }, ErrUnknownQueue, `enqueue "c1": unknown queue "nope"`},
		{"empty contact ID", func() error { return f.Enqueue(Contact{Queue: "afval"}) }, nil, "empty contact ID"},
		{"contact routed twice", func() error { return f.Enqueue(Contact{ID: "dup", Queue: "afval"}) }, nil, "already routed"},
		{"login unknown agent", func() error { return f.Login("zz") }, ErrUnknownAgent, `login "zz": unknown agent`},
		{"logout unknown agent", func() error { return f.Logout("zz") }, ErrUnknownAgent, `logout "zz": unknown agent`},
		{"answered unknown offer", func() error { return f.Answered(999) }, ErrStaleOffer, "answered offer 999: stale offer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("got nil error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("got %v, want errors.Is %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
	wantWaiting(t, f.Router, "paspoort", "dup")
	wantWaiting(t, f.Router, "nope")
	checkInvariants(t, f.Router)
}

func TestEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second}, testQueues(), testAgents())
		t0 := time.Now()
		at := func(d time.Duration) time.Time { return t0.Add(d) }
		f.mustLogin(t, "a1", "a2")
		advance(time.Second)
		f.mustEnqueue(t, "paspoort", "c1")
		f.mustEnqueue(t, "paspoort", "c2")
		advance(2 * time.Second)
		f.Declined(f.line.offer(t, "c1").ID)
		advance(13 * time.Second) // t=16s: c2's offer to a2 times out; a1 is busy, so a2 again
		advance(time.Second)
		f.mustAnswer(t, "c2")
		f.Abandon("c1")
		f.Ended("c2")
		advance(10 * time.Second)

		s := func(agent string, from, to AgentState, c call.ID, d time.Duration) Event {
			return Event{Kind: AgentStateChanged, At: at(d), Agent: agent, From: from, To: to, Contact: c}
		}
		want := []Event{
			s("a1", LoggedOut, Available, "", 0),
			s("a2", LoggedOut, Available, "", 0),
			{Kind: ContactQueued, At: at(time.Second), Contact: "c1", Queue: "paspoort", Position: 1},
			{Kind: OfferRinging, At: at(time.Second), Contact: "c1", Queue: "paspoort", Agent: "a1", Offer: 1, Attempt: 1},
			s("a1", Available, Ringing, "c1", time.Second),
			{Kind: ContactQueued, At: at(time.Second), Contact: "c2", Queue: "paspoort", Position: 2},
			{Kind: OfferRinging, At: at(time.Second), Contact: "c2", Queue: "paspoort", Agent: "a2", Offer: 2, Attempt: 1},
			s("a2", Available, Ringing, "c2", time.Second),
			{Kind: OfferDeclined, At: at(3 * time.Second), Contact: "c1", Queue: "paspoort", Agent: "a1", Offer: 1, Attempt: 1, Rang: 2 * time.Second},
			s("a1", Ringing, Available, "c1", 3*time.Second),
			{Kind: OfferRinging, At: at(3 * time.Second), Contact: "c1", Queue: "paspoort", Agent: "a1", Offer: 3, Attempt: 2},
			s("a1", Available, Ringing, "c1", 3*time.Second),
			{Kind: OfferTimedOut, At: at(16 * time.Second), Contact: "c2", Queue: "paspoort", Agent: "a2", Offer: 2, Attempt: 1, Rang: 15 * time.Second},
			s("a2", Ringing, Available, "c2", 16*time.Second),
			{Kind: OfferRinging, At: at(16 * time.Second), Contact: "c2", Queue: "paspoort", Agent: "a2", Offer: 4, Attempt: 2},
			s("a2", Available, Ringing, "c2", 16*time.Second),
			{Kind: ContactAnswered, At: at(17 * time.Second), Contact: "c2", Queue: "paspoort", Agent: "a2", Offer: 4, Attempt: 2, Waited: 16 * time.Second, Rang: time.Second},
			s("a2", Ringing, OnCall, "c2", 17*time.Second),
			{Kind: ContactAbandoned, At: at(17 * time.Second), Contact: "c1", Queue: "paspoort", Position: 1, Agent: "a1", Offer: 3, Attempt: 2, Waited: 16 * time.Second, Rang: 14 * time.Second},
			s("a1", Ringing, Available, "c1", 17*time.Second),
			s("a2", OnCall, WrapUp, "c2", 17*time.Second),
			s("a2", WrapUp, Available, "", 27*time.Second),
		}
		got := f.obs.take()
		for i := range max(len(got), len(want)) {
			var g, w Event
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	})
}

// TestLineMayCallBack checks that a Line calling into the router from inside
// Ring neither deadlocks nor reorders effects: the effects of the nested call
// run after the Ring that caused them.
func TestLineMayCallBack(t *testing.T) {
	tests := []struct {
		name   string
		onRing func(r *Router, o Offer)
		want   []string
	}{
		{"decline inside Ring", func(r *Router, o Offer) {
			if o.Agent == "a1" {
				r.Declined(o.ID)
			}
		}, []string{"ring c1 a1 #1", "ring c1 a2 #2"}},
		{"abandon inside Ring", func(r *Router, o Offer) { r.Abandon(o.Contact) },
			[]string{"ring c1 a1 #1", "withdraw c1 a1 #1"}},
		{"answer inside Ring", func(r *Router, o Offer) {
			if err := r.Answered(o.ID); err != nil {
				t.Errorf("Answered: %v", err)
			}
		}, []string{"ring c1 a1 #1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, testQueues(), testAgents())
			f.line.onRing = func(o Offer) { tt.onRing(f.Router, o) }
			f.mustLogin(t, "a1", "a2")
			f.mustEnqueue(t, "paspoort", "c1")
			wantCalls(t, f.line, tt.want...)
			checkInvariants(t, f.Router)
		})
	}
}

type panicObserver struct{ armed bool }

func (p *panicObserver) Event(e Event) {
	if p.armed {
		p.armed = false
		panic("observer broke")
	}
}

func TestPanickingObserverDoesNotWedge(t *testing.T) {
	line, obs := &recLine{}, &panicObserver{}
	r, err := New(Config{}, testQueues(), testAgents(), line, SystemClock(), zerolog.Nop(), WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	func() {
		defer func() {
			if p := recover(); p == nil {
				t.Error("panic did not reach the caller")
			}
		}()
		obs.armed = true
		_ = r.Login("a2")
	}()
	if err := r.Enqueue(Contact{ID: "c1", Queue: "paspoort"}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, line, "ring c1 a2 #1")
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, testQueues(), testAgents())
		f.mustLogin(t, "a1", "a2", "a3")
		f.mustEnqueue(t, "paspoort", "c1", "c2")
		f.mustEnqueue(t, "afval", "c3")
		f.mustAnswer(t, "c2")
		f.Ended("c2") // a2 in wrap-up
		f.line.take()
		f.obs.take()
		f.Close()
		f.Close()
		advance(time.Hour)
		wantCalls(t, f.line)
		if got := f.obs.take(); len(got) != 0 {
			t.Errorf("events after Close: %+v", got)
		}
		for name, err := range map[string]error{
			"Login":    f.Login("a4"),
			"Logout":   f.Logout("a1"),
			"Enqueue":  f.Enqueue(Contact{ID: "c9", Queue: "afval"}),
			"Answered": f.Answered(f.line.offer(t, "c1").ID),
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", name, err)
			}
		}
		f.Abandon("c1")
		f.Declined(f.line.offer(t, "c3").ID)
		f.Ended("c3")
		wantCalls(t, f.line)
		wantStates(t, f, "a1:ringing:c1 a2:wrap-up a3:ringing:c3 a4:logged-out")
	})
}

// TestConcurrentUse drives the router from many goroutines while a Line
// answers, declines and hangs up from goroutines of its own. Run with -race.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// drivers are the test's own goroutines; answers are the Line's, started
		// from whichever goroutine rings, so they get a WaitGroup of their own.
		var drivers, answers sync.WaitGroup
		var r *Router
		line := lineFunc(func(o Offer, ring bool) {
			if !ring {
				return
			}
			answers.Go(func() {
				time.Sleep(time.Duration(o.ID%7) * time.Second)
				switch o.ID % 5 {
				case 0:
					r.Declined(o.ID)
				case 1, 2, 3:
					if r.Answered(o.ID) == nil {
						time.Sleep(time.Duration(o.ID%11) * time.Second)
						r.Ended(o.Contact)
					}
				} // 4: let it time out
			})
		})
		var err error
		agents := make([]Agent, 20)
		for i := range agents {
			agents[i] = Agent{ID: string(rune('A' + i)), Skills: [][]string{{"burgerzaken"}, {"afval"}, {"burgerzaken", "afval"}}[i%3]}
		}
		r, err = New(Config{RingTimeout: 5 * time.Second, WrapUp: 3 * time.Second}, testQueues(), agents, line, SystemClock(), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		queues := []string{"paspoort", "afval", "algemeen"}
		for g := range 8 {
			drivers.Go(func() {
				for i := range 50 {
					id := call.ID(string(rune('a'+g)) + "-" + string(rune('0'+i/10)) + string(rune('0'+i%10)))
					switch i % 4 {
					case 0:
						_ = r.Login(agents[(g+i)%len(agents)].ID)
					case 1:
						_ = r.Logout(agents[(g*3+i)%len(agents)].ID)
						_ = r.Login(agents[(g*3+i)%len(agents)].ID)
					}
					if err := r.Enqueue(Contact{ID: id, Queue: queues[(g+i)%3]}); err != nil {
						t.Errorf("Enqueue: %v", err)
					}
					_ = r.Agents()
					_ = r.Waiting(queues[i%3])
					time.Sleep(time.Duration(i%3) * time.Second)
					if i%6 == 5 {
						r.Abandon(id)
					}
				}
			})
		}
		drivers.Wait()
		checkInvariants(t, r)
		// Log everyone in and let the queue drain: every contact must end up
		// answered (this line answers 3 in 5 offers).
		for _, a := range agents {
			_ = r.Login(a.ID)
		}
		for range 100 {
			advance(time.Minute)
		}
		answers.Wait()
		checkInvariants(t, r)
		for _, q := range queues {
			if w := r.Waiting(q); len(w) != 0 {
				t.Errorf("queue %s still has %d waiting", q, len(w))
			}
		}
		for _, s := range r.Agents() {
			if s.State != Available {
				t.Errorf("agent %s is %v, want available", s.ID, s.State)
			}
		}
		r.Close()
	})
}

type lineFunc func(o Offer, ring bool)

func (f lineFunc) Ring(o Offer)     { f(o, true) }
func (f lineFunc) Withdraw(o Offer) { f(o, false) }

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{LoggedOut.String(), "logged-out"},
		{Available.String(), "available"},
		{Ringing.String(), "ringing"},
		{OnCall.String(), "on-call"},
		{WrapUp.String(), "wrap-up"},
		{AgentState(42).String(), "AgentState(42)"},
		{AgentState(-1).String(), "AgentState(-1)"},
		{ContactQueued.String(), "contact-queued"},
		{AgentStateChanged.String(), "agent-state-changed"},
		{EventKind(0).String(), "EventKind(0)"},
		{EventKind(99).String(), "EventKind(99)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	if b, _ := OnCall.MarshalText(); string(b) != "on-call" {
		t.Errorf("OnCall.MarshalText = %q", b)
	}
	if b, _ := OfferRinging.MarshalText(); string(b) != "offer-ringing" {
		t.Errorf("OfferRinging.MarshalText = %q", b)
	}
}

func TestSnapshotsAreCopies(t *testing.T) {
	f := newFixture(t, Config{}, testQueues(), testAgents())
	f.mustEnqueue(t, "paspoort", "c1", "c2")
	w := f.Waiting("paspoort")
	w[0] = "changed"
	wantWaiting(t, f.Router, "paspoort", "c1", "c2")
	a := f.Agents()
	a[0].State = OnCall
	if got := f.Agents()[0].State; got != LoggedOut {
		t.Errorf("agent state changed through snapshot: %v", got)
	}
	if got := slices.Collect(func(yield func(string) bool) {
		for _, s := range f.Agents() {
			if !yield(s.Name) {
				return
			}
		}
	}); !slices.Equal(got, []string{"Anne", "Bram", "Cor", "Dirk"}) {
		t.Errorf("agent names %v", got)
	}
}

func TestDebugLogWithoutObserver(t *testing.T) {
	var buf strings.Builder
	log := zerolog.New(&buf).Level(zerolog.DebugLevel)
	r, err := New(Config{}, testQueues(), testAgents(), &recLine{}, SystemClock(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Login("a2"); err != nil {
		t.Fatal(err)
	}
	want := `{"level":"debug","event":"agent-state-changed","agent":"a2","from":"logged-out","to":"available","message":"routing event"}`
	if got := strings.TrimSpace(buf.String()); got != want {
		t.Errorf("log:\n got %s\nwant %s", got, want)
	}
}

func TestExitReportsTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second}, testQueues(), testAgents())
		f.mustEnqueue(t, "paspoort", "c1")
		advance(3 * time.Second)
		f.obs.take()
		if err := f.Exit("c1", "0"); err != nil {
			t.Fatal(err)
		}
		evs := f.obs.take()
		if len(evs) != 1 || evs[0].Kind != ContactExited || evs[0].Reason != "0" || evs[0].Waited != 3*time.Second || evs[0].Position != 1 {
			t.Errorf("events %+v, want one contact-exited with key 0 after 3s", evs)
		}
		if err := f.Exit("c1", "0"); !errors.Is(err, ErrUnknownContact) {
			t.Errorf("second Exit: %v, want ErrUnknownContact", err)
		}
	})
}

func TestTimedOutEndsTheWaitWithoutAnAbandon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second}, testQueues(), testAgents())
		f.mustEnqueue(t, "paspoort", "c1")
		advance(4 * time.Second)
		f.obs.take()
		if err := f.TimedOut("c1"); err != nil {
			t.Fatal(err)
		}
		evs := f.obs.take()
		if len(evs) != 1 || evs[0].Kind != ContactTimedOut || evs[0].Waited != 4*time.Second || evs[0].Position != 1 {
			t.Errorf("events %+v, want one contact-timed-out after 4s at position 1", evs)
		}
		if st, _ := f.QueueStats("paspoort"); st.Abandoned != 0 {
			t.Errorf("QueueStats.Abandoned = %d, want 0: kcc ended the wait, the caller did not give up", st.Abandoned)
		}
		if err := f.TimedOut("c1"); !errors.Is(err, ErrUnknownContact) {
			t.Errorf("second TimedOut: %v, want ErrUnknownContact", err)
		}
	})
}
