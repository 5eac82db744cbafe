package routing

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

func TestRandomStrategy(t *testing.T) {
	run := func(seed uint64) []string {
		var line lineRecorder
		queues := []Queue{{Name: "q", Strategy: Random}}
		agents := []Agent{{ID: "a"}, {ID: "b"}, {ID: "c"}}
		r, err := New(Config{}, queues, agents, &line, SystemClock(), zerolog.Nop(), WithRandom(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, a := range agents {
			if err := r.Login(a.ID); err != nil {
				t.Fatal(err)
			}
		}
		var picks []string
		for range 600 {
			if err := r.Enqueue(Contact{ID: "c", Queue: "q"}); err != nil {
				t.Fatal(err)
			}
			picks = append(picks, line.last.Agent)
			r.Abandon("c")
		}
		return picks
	}
	picks := run(1)
	count := map[string]int{}
	for _, p := range picks {
		count[p]++
	}
	for _, a := range []string{"a", "b", "c"} {
		if n := count[a]; n < 150 || n > 250 {
			t.Errorf("agent %s picked %d of 600 times, want about 200", a, n)
		}
	}
	if again := run(1); !slices.Equal(again, picks) {
		t.Error("the same seed picked differently")
	}
	if other := run(2); slices.Equal(other, picks) {
		t.Error("another seed picked the same")
	}
}

// TestRoundRobinVisitsEveryone: round robin never gets stuck on some agents
// (mod_callcenter #1221, members stuck with top-down).
func TestRoundRobinVisitsEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{WrapUp: NoWrapUp}, []Queue{{Name: "q", Strategy: RoundRobin}},
			[]Agent{{ID: "a"}, {ID: "b"}, {ID: "c"}})
		f.mustLogin(t, "c", "a", "b")
		var got []string
		for i := range 7 {
			id := call.ID(rune('0' + i))
			f.mustEnqueue(t, "q", id)
			o := f.line.offer(t, id)
			got = append(got, o.Agent)
			f.mustAnswer(t, id)
			f.Ended(id)
		}
		if want := []string{"a", "b", "c", "a", "b", "c", "a"}; !slices.Equal(got, want) {
			t.Errorf("offers went to %v, want %v", got, want)
		}
	})
}

// TestPauseEvents: a pause reports its reason and time, and the unpause
// reports the reason of the pause it ends (Asterisk #395, #1760).
func TestPauseEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, testQueues(), testAgents())
		t0 := time.Now()
		f.mustLogin(t, "a1")
		advance(time.Minute)
		if err := f.Pause("a1", "lunch"); err != nil {
			t.Fatal(err)
		}
		st := f.Agents()[0]
		if st.State != Paused || !st.Paused || st.Reason != "lunch" || !st.Since.Equal(t0.Add(time.Minute)) {
			t.Errorf("paused agent: %+v", st)
		}
		advance(30 * time.Minute)
		if err := f.Unpause("a1"); err != nil {
			t.Fatal(err)
		}
		if err := f.Unpause("a1"); err != nil { // not paused: nothing
			t.Fatal(err)
		}
		want := []Event{
			{Kind: AgentStateChanged, At: t0, Agent: "a1", From: LoggedOut, To: Available},
			{Kind: AgentStateChanged, At: t0.Add(time.Minute), Agent: "a1", From: Available, To: Paused, Reason: "lunch"},
			{Kind: AgentStateChanged, At: t0.Add(31 * time.Minute), Agent: "a1", From: Paused, To: Available, Reason: "lunch"},
		}
		if got := f.obs.take(); !slices.Equal(got, want) {
			t.Errorf("events:\n got %+v\nwant %+v", got, want)
		}
		if st := f.Agents()[0]; st.Paused || st.Reason != "" || !st.IdleSince.Equal(t0.Add(31*time.Minute)) {
			t.Errorf("unpaused agent: %+v", st)
		}
		for name, err := range map[string]error{"Pause": f.Pause("zz", "x"), "Unpause": f.Unpause("zz")} {
			if !errors.Is(err, ErrUnknownAgent) {
				t.Errorf("%s of an unknown agent: %v", name, err)
			}
		}
	})
}

// TestWrapUpIsNotAvailable: agents in wrap-up, paused or busy are not
// counted available (Asterisk PR #1377), and staff counts follow states.
func TestWrapUpIsNotAvailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, testQueues(), testAgents())
		f.mustLogin(t, "a1", "a2")
		f.mustEnqueue(t, "paspoort", "c1")
		f.mustAnswer(t, "c1")
		f.Ended("c1")
		if err := f.Pause("a2", "pauze"); err != nil {
			t.Fatal(err)
		}
		if w, a := f.Counts("paspoort"); w != 0 || a != 0 {
			t.Errorf("Counts = %d waiting, %d available; want 0, 0 with a1 in wrap-up and a2 paused", w, a)
		}
		st, ok := f.QueueStats("paspoort")
		if !ok || st.Available != 0 || st.Staffed != 1 || st.Offered != 1 || st.Answered != 1 {
			t.Errorf("QueueStats = %+v, %v", st, ok)
		}
		advance(DefaultWrapUp)
		if _, a := f.Counts("paspoort"); a != 1 {
			t.Errorf("after wrap-up: %d available, want 1", a)
		}
		if _, ok := f.QueueStats("nope"); ok {
			t.Error("QueueStats of an unknown queue")
		}
	})
}

type overflows struct{ collected[Overflow] }

func (o *overflows) Overflow(v Overflow) { o.add(v) }

// TestMaxWait: at MaxWait the handler hears of the contact, which keeps
// waiting until the lifecycle moves it; not while an offer rings.
func TestMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line, obs, ov := &recLine{}, &recObserver{}, &overflows{}
		queues := []Queue{
			{Name: "q", Skills: []string{"burgerzaken"}, MaxWait: time.Minute, MaxLength: 2, Overflow: "algemeen"},
			{Name: "algemeen"},
		}
		r, err := New(Config{RingTimeout: 40 * time.Second}, queues, testAgents(), line, SystemClock(), zerolog.Nop(),
			WithObserver(obs), WithOverflow(ov))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.Enqueue(Contact{ID: "c1", Queue: "q"}); err != nil {
			t.Fatal(err)
		}
		advance(30 * time.Second)
		if err := r.Enqueue(Contact{ID: "c2", Queue: "q"}); err != nil {
			t.Fatal(err)
		}
		if err := r.Enqueue(Contact{ID: "c3", Queue: "q"}); !errors.Is(err, ErrQueueFull) {
			t.Errorf("third Enqueue = %v, want ErrQueueFull", err)
		}
		if err := r.Login("a2"); err != nil { // rings c1 at 30s until 70s
			t.Fatal(err)
		}
		advance(30 * time.Second) // c1 at its max wait, but ringing
		if got := ov.take(); len(got) != 0 {
			t.Errorf("overflow while ringing: %+v", got)
		}
		r.Declined(line.offer(t, "c1").ID)
		want := []Overflow{{Contact: "c1", Queue: "q", Target: "algemeen", Waited: time.Minute}}
		if got := ov.take(); !slices.Equal(got, want) {
			t.Errorf("after the offer failed: %+v, want %+v", got, want)
		}
		wantCalls(t, line, "ring c1 a2 #1", "ring c1 a2 #2")
		advance(30 * time.Second) // c2 at its max wait, not ringing
		want = []Overflow{{Contact: "c2", Queue: "q", Target: "algemeen", Waited: time.Minute}}
		if got := ov.take(); !slices.Equal(got, want) {
			t.Errorf("c2: %+v, want %+v", got, want)
		}
		if err := r.Move("c2", "algemeen"); err != nil {
			t.Fatal(err)
		}
		if err := r.Login("a4"); err != nil {
			t.Fatal(err)
		}
		wantCalls(t, line, "ring c2 a4 #1")
		if err := r.Answered(line.offer(t, "c2").ID); err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range obs.take() {
			if e.Kind == ContactMaxWait || e.Kind == ContactMoved || e.Kind == ContactAnswered && e.Contact == "c2" {
				kinds = append(kinds, e.Kind.String()+" "+string(e.Contact)+" "+e.Queue+" "+e.Other+" "+e.Waited.String())
			}
		}
		wantKinds := []string{
			"contact-max-wait c1 q algemeen 1m0s",
			"contact-max-wait c2 q algemeen 1m0s",
			"contact-moved c2 algemeen q 0s",
			"contact-answered c2 algemeen  1m0s",
		}
		if !slices.Equal(kinds, wantKinds) {
			t.Errorf("events:\n got %q\nwant %q", kinds, wantKinds)
		}
		checkInvariants(t, r)
		for name, err := range map[string]error{
			"answered":      r.Move("c2", "q"),
			"unknown":       r.Move("zz", "q"),
			"unknown queue": r.Move("c1", "zz"),
		} {
			if err == nil {
				t.Errorf("Move %s: no error", name)
			}
		}
	})
}

func TestEnqueueRejectsUnknownSkill(t *testing.T) {
	f := newFixture(t, Config{}, testQueues(), testAgents())
	err := f.Enqueue(Contact{ID: "c1", Queue: "algemeen", Skills: []string{"klingon"}})
	if !errors.Is(err, ErrUnknownSkill) || !strings.Contains(err.Error(), `"klingon"`) {
		t.Errorf("Enqueue = %v, want ErrUnknownSkill naming the skill", err)
	}
	wantWaiting(t, f.Router, "algemeen")
	// A skill only a queue names is no better: no agent has it.
	g := newFixture(t, Config{}, []Queue{{Name: "q", Skills: []string{"klingon"}}}, testAgents())
	if err := g.Enqueue(Contact{ID: "c1", Queue: "q", Skills: []string{"klingon"}}); !errors.Is(err, ErrUnknownSkill) {
		t.Errorf("Enqueue = %v, want ErrUnknownSkill", err)
	}
}

// TestEstimate checks the queue-length estimator, its history and its
// confidence rule, and that predictions reach the events.
func TestEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{WrapUp: NoWrapUp, RingTimeout: time.Hour, EWT: EWTConfig{MinSamples: 2, Window: 2}}
		f := newFixture(t, cfg, []Queue{{Name: "q"}, {Name: "other", Skills: []string{"zz"}}},
			[]Agent{{ID: "a1"}, {ID: "a2"}, {ID: "z", Skills: []string{"zz"}}})
		est := func(id call.ID) Estimate {
			t.Helper()
			e, err := f.Estimate(id)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		// No agent logged in: no basis.
		f.mustEnqueue(t, "q", "w0")
		if e := est("w0"); e.Qualifier != NoEstimate || e.Agents != 0 || e.Wait != 0 {
			t.Errorf("nobody staffed: %+v", e)
		}
		f.Abandon("w0")
		// Two handled calls of 2 minutes each teach the handle time.
		f.mustLogin(t, "a1", "a2")
		f.mustEnqueue(t, "q", "h1", "h2")
		f.mustAnswer(t, "h1")
		f.mustAnswer(t, "h2")
		advance(2 * time.Minute)
		f.Ended("h1")
		f.Ended("h2")
		// Both agents busy, four callers: position 4 has three ahead, so
		// 4 × 120s/2 = 240s with a spread of 120s: "about 4 minutes".
		f.mustEnqueue(t, "q", "b1", "b2")
		f.mustAnswer(t, "b1")
		f.mustAnswer(t, "b2")
		f.mustEnqueue(t, "q", "w1", "w2", "w3", "w4")
		e := est("w4")
		want := Estimate{Position: 4, Ahead: 3, Wait: 240 * time.Second, Spread: 120 * time.Second, Agents: 2,
			Qualifier: About, Minutes: 4}
		if e != want {
			t.Errorf("estimate:\n got %+v\nwant %+v", e, want)
		}
		// Position 1: 60s ± 60s is too uncertain even for "more than".
		if e := est("w1"); e.Qualifier != NoEstimate || e.Wait != time.Minute {
			t.Errorf("head: %+v", e)
		}
		var queued []time.Duration
		for _, ev := range f.obs.take() {
			if ev.Kind == ContactQueued && ev.Queue == "q" {
				queued = append(queued, ev.Predicted)
			}
		}
		if want := []time.Duration{-1, 0, 0, 0, 0, 60 * time.Second, 120 * time.Second, 180 * time.Second, 240 * time.Second}; !slices.Equal(queued, want) {
			t.Errorf("predicted waits in events %v, want %v", queued, want)
		}
		// w1 abandons after a minute; with b2's answered wait of 0 that
		// is θ = 1 abandon / 60s of waiting over the window of two.
		advance(time.Minute)
		f.Abandon("w1")
		st, _ := f.QueueStats("q")
		if st.HandleTime != 2*time.Minute || st.Patience != time.Minute {
			t.Errorf("learnt handle time %v and patience %v, want 2m and 1m", st.HandleTime, st.Patience)
		}
		if _, err := f.Estimate("b1"); !errors.Is(err, ErrUnknownContact) {
			t.Errorf("Estimate of an answered contact: %v", err)
		}
		// A ringing contact has no wait to announce.
		f.mustLogin(t, "z")
		f.mustEnqueue(t, "other", "o1")
		if e := est("o1"); e.Qualifier != NoEstimate || e.Position != 1 {
			t.Errorf("ringing: %+v", e)
		}
	})
}

func TestEstimateThinHistoryAndCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{EWT: EWTConfig{HandleTime: 10 * time.Minute, Cap: 20 * time.Minute}}
		f := newFixture(t, cfg, []Queue{{Name: "q"}}, []Agent{{ID: "a1"}})
		f.mustLogin(t, "a1")
		f.mustEnqueue(t, "q", "c0", "c1", "c2", "c3")
		f.mustAnswer(t, "c0")
		// Thin history: 10m per call; c2 has one ahead: 20m ± 14m → "more
		// than 5 minutes"; c3: 30m > cap → "more than 20 minutes".
		for id, want := range map[call.ID]Estimate{
			"c2": {Position: 2, Ahead: 1, Wait: 20 * time.Minute, Agents: 1, Thin: true, Qualifier: MoreThan, Minutes: 5},
			"c3": {Position: 3, Ahead: 2, Wait: 30 * time.Minute, Agents: 1, Thin: true, Qualifier: MoreThan, Minutes: 20},
		} {
			got, err := f.Estimate(id)
			got.Spread = 0
			if err != nil || got != want {
				t.Errorf("%s: %+v, %v; want %+v", id, got, err, want)
			}
		}
	})
}

func TestNewRejectsBadModel(t *testing.T) {
	line, clock := &recLine{}, SystemClock()
	tests := []struct {
		name   string
		cfg    Config
		queues []Queue
		agents []Agent
		want   string
	}{
		{"proficiency out of range", Config{}, nil, []Agent{{ID: "a", Proficiency: map[string]int{"x": 6}}}, `skill "x": proficiency 6 is not 1-5`},
		{"empty proficiency skill", Config{}, nil, []Agent{{ID: "a", Proficiency: map[string]int{"": 2}}}, "empty skill name"},
		{"agent wrap-up", Config{}, nil, []Agent{{ID: "a", WrapUp: -time.Second}}, `agent "a": wrap-up -1s`},
		{"queue min proficiency", Config{}, []Queue{{Name: "q", MinProficiency: 7}}, nil, "min proficiency 7"},
		{"strategy", Config{}, []Queue{{Name: "q", Strategy: 9}}, nil, "unknown strategy"},
		{"weight", Config{}, []Queue{{Name: "q", Weight: -1}}, nil, "weight -1"},
		{"service level", Config{}, []Queue{{Name: "q", ServiceLevel: ServiceLevel{Target: 80}}}, nil, "service level"},
		{"max wait", Config{}, []Queue{{Name: "q", MaxWait: -1}}, nil, "max wait"},
		{"steps out of order", Config{}, []Queue{{Name: "q", Escalation: []Step{{After: time.Minute, MinProficiency: 1}, {After: time.Second, MinProficiency: 1}}}}, nil, "step 2: after 1s must be later than 1m0s"},
		{"step raises", Config{}, []Queue{{Name: "q", MinProficiency: 2, Escalation: []Step{{After: time.Minute, MinProficiency: 4}}}}, nil, "raises 2"},
		{"step does nothing", Config{}, []Queue{{Name: "q", Escalation: []Step{{After: time.Minute}}}}, nil, "changes nothing"},
		{"step empty skill", Config{}, []Queue{{Name: "q", Escalation: []Step{{After: time.Minute, Skills: []string{""}}}}}, nil, "step 1: empty skill"},
		{"care skill nobody has", Config{Care: Care{Skill: "zorg"}}, nil, []Agent{{ID: "a"}}, `care skill "zorg": no agent has it`},
		{"max misses", Config{MaxMisses: -1}, nil, nil, "max misses -1"},
		{"ewt", Config{EWT: EWTConfig{Window: 5, MinSamples: 10}}, nil, nil, "window 5 is smaller"},
		{"announcements", Config{}, []Queue{{Name: "q", Announce: Announcements{Every: -time.Second}}}, nil, "announcement times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.queues, tt.agents, line, clock, zerolog.Nop())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestStrategyText(t *testing.T) {
	for s := LongestIdle; s <= Random; s++ {
		b, _ := s.MarshalText()
		var got Strategy = -1
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("%v: round trip gave %v, %v", s, got, err)
		}
	}
	var s Strategy = Random
	if err := s.UnmarshalText(nil); err != nil || s != LongestIdle {
		t.Errorf("empty name: %v, %v", s, err)
	}
	if err := s.UnmarshalText([]byte("ringall")); err == nil || !strings.Contains(err.Error(), `"ringall"`) {
		t.Errorf("unknown name: %v", err)
	}
	for _, tt := range []struct{ got, want string }{
		{Strategy(42).String(), "Strategy(42)"},
		{About.String(), "about"}, {MoreThan.String(), "more-than"}, {NoEstimate.String(), "none"},
		{Qualifier(9).String(), "Qualifier(9)"},
		{Paused.String(), "paused"}, {Busy.String(), "busy"},
		{ContactEscalated.String(), "contact-escalated"}, {ContactMoved.String(), "contact-moved"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestQueueSnapshot(t *testing.T) {
	in := Queue{Name: "q", Skills: []string{"x"}, Escalation: []Step{{After: time.Second, Skills: []string{"y"}}},
		Announce: Announcements{Position: true, Periodic: []string{"p1"}, ExitKey: "#"}}
	f := newFixture(t, Config{}, []Queue{in}, []Agent{{ID: "a", Skills: []string{"x", "y"}}})
	got, ok := f.Queue("q")
	if !ok || got.Announce.ExitKey != "#" || got.Weight != 1 || !slices.Equal(got.Skills, in.Skills) {
		t.Errorf("Queue = %+v, %v", got, ok)
	}
	got.Skills[0] = "changed"
	if again, _ := f.Queue("q"); again.Skills[0] != "x" {
		t.Error("snapshot shares its skills")
	}
	if _, ok := f.Queue("nope"); ok {
		t.Error("unknown queue found")
	}
}

// TestEscalationEvents checks ContactEscalated and that a requeue with an
// old Since starts at the level its wait has reached.
func TestEscalationEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, featureConfig(), featureQueues(), featureAgents())
		t0 := time.Now()
		f.mustEnqueue(t, "esc", "c1")
		advance(time.Minute)
		var got []string
		for _, e := range f.obs.take() {
			got = append(got, e.Kind.String()+" "+e.Waited.String()+" "+string(rune('0'+e.Level)))
		}
		want := []string{"contact-queued 0s 0", "contact-escalated 30s 1", "contact-escalated 1m0s 2"}
		if !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
		if err := f.Enqueue(Contact{ID: "c2", Queue: "esc", Since: t0.Add(15 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if ev := f.obs.take(); len(ev) != 1 || ev[0].Level != 1 || ev[0].Position != 2 {
			t.Errorf("requeued: %+v", ev)
		}
		f.mustLogin(t, "g2") // admitted at level 2 only
		wantCalls(t, f.line, "ring c1 g2 #1")
	})
}
