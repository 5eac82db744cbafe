package routing

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// emptyQueues exercise callbacks and the empty-queue policies; see
// emptyAgents for who serves them.
func emptyQueues() []Queue {
	b, af := []string{"burgerzaken"}, []string{"afval"}
	return []Queue{
		{Name: "lang", Skills: b},
		{Name: "esc", Skills: b, MinProficiency: 4, Escalation: []Step{{After: 30 * time.Second, MinProficiency: 2}}},
		{Name: "leeg", Skills: af, JoinEmpty: EmptyNoAgents, LeaveEmpty: EmptyNoAgents},
		{Name: "vrij", Skills: af, JoinEmpty: EmptyNoneAvailable, LeaveEmpty: EmptyNoneAvailable, MaxLength: 1},
		{Name: "open", Skills: af, LeaveEmpty: EmptyNoneAvailable},
		// Only at its widest level does algemeen's g1 serve it.
		{Name: "breed", Skills: af, JoinEmpty: EmptyNoneAvailable, LeaveEmpty: EmptyNoneAvailable,
			Escalation: []Step{{After: 30 * time.Second, Skills: []string{"algemeen"}}}},
		{Name: "algemeen", Skills: []string{"algemeen"}},
	}
}

// emptyAgents: b1-b3 have burgerzaken at 5, 3 and 2; a1 has afval, m1
// afval and burgerzaken; g1 algemeen.
func emptyAgents() []Agent {
	return []Agent{
		{ID: "a1", Skills: []string{"afval"}},
		{ID: "b1", Proficiency: map[string]int{"burgerzaken": 5}},
		{ID: "b2", Skills: []string{"burgerzaken"}},
		{ID: "b3", Proficiency: map[string]int{"burgerzaken": 2}},
		{ID: "g1", Skills: []string{"algemeen"}},
		{ID: "m1", Skills: []string{"afval", "burgerzaken"}},
	}
}

func TestCallbackAndEmptyQueues(t *testing.T) {
	misses := func(n int) func(*Config) { return func(c *Config) { c.MaxMisses = n } }
	tests := []struct {
		name   string
		config func(*Config)
		steps  []step
	}{
		// Callbacks.
		{"a callback keeps its place in the queue", nil, []step{
			s("enqueue c1 lang"), s("enqueue c2 lang"), s("enqueue c3 lang"),
			s("callback c2"),
			s("waiting lang c1 c2 c3"),
			s("login b1", "ring c1 b1 #1"), s("answer c1"),
			s("login b2", "ring c2 b2 #1 callback"),
			s("answer c2"),
			s("agents a1:logged-out b1:on-call:c1 b2:on-call:c2 b3:logged-out g1:logged-out m1:logged-out"),
		}},
		{"a ringing offer is withdrawn and rung again as a callback", nil, []step{
			s("login b1"), s("wait 1s"), s("login b2"),
			s("enqueue c1 lang", "ring c1 b1 #1"),
			s("wait 5s"),
			s("callback c1", "withdraw c1 b1 #1", "ring c1 b1 #2 callback"),
			s("callback c1"), // already a callback: nothing happens
			s("wait 15s", "withdraw c1 b1 #2", "ring c1 b2 #3 callback"),
			s("decline c1", "ring c1 b1 #4 callback"),
			s("answer c1"),
			s("waiting lang"),
		}},
		{"a callback whose agent left waits for the next one", nil, []step{
			s("login b1"), s("enqueue c1 lang", "ring c1 b1 #1"),
			s("logout b1", "withdraw c1 b1 #1"),
			s("callback c1"),
			s("waiting lang c1"),
			s("login b2", "ring c1 b2 #2 callback"),
		}},
		{"a callback keeps its escalation level", nil, []step{
			s("login b3"),
			s("enqueue c1 esc"), s("wait 20s"),
			s("callback c1"),
			s("wait 9s"), s("waiting esc c1"),
			s("wait 1s", "ring c1 b3 #1 callback"),
		}},
		{"a reloaded callback joins a queue that would refuse a caller", nil, []step{
			s("empty c1 vrij"),
			s("enqueue c2 vrij callback"),
			s("enqueue c3 vrij callback"), // past MaxLength 1 too
			s("waiting vrij c2 c3"),
			s("login a1", "ring c2 a1 #1 callback"),
		}},
		// Joining an empty queue.
		{"join no-agents: a paused agent counts as logged in", nil, []step{
			s("empty c1 leeg"),
			s("login a1"), s("pause a1 lunch"),
			s("enqueue c1 leeg"),
			s("waiting leeg c1"),
			s("logout a1"), // and the last one logging out empties it
			s("waiting leeg"),
		}},
		{"join none-available: paused does not count; busy and on a call do", nil, []step{
			s("login a1"), s("pause a1 lunch"),
			s("empty c1 vrij"),
			s("unpause a1"), s("busy a1"),
			s("enqueue c1 vrij"),
			s("free a1", "ring c1 a1 #1"), s("answer c1"),
			s("enqueue c2 vrij"),
			s("waiting vrij c2"),
			s("end c1"), s("wait 10s", "ring c2 a1 #1"),
		}},
		{"join always: a caller may wait for agents to come", nil, []step{
			s("enqueue c1 open"),
			s("waiting open c1"),
			s("login a1", "ring c1 a1 #1"),
		}},
		{"an agent of the widest escalation level keeps a queue open", nil, []step{
			s("empty c1 breed"),
			s("login g1"),
			s("enqueue c1 breed"),
			s("wait 29s"), s("waiting breed c1"),
			s("wait 1s", "ring c1 g1 #1"),
		}},
		{"agents of other queues do not count", nil, []step{
			s("login b1"), s("login g1"),
			s("empty c1 leeg"), s("empty c1 vrij"),
		}},
		// Leaving an emptied queue.
		{"leave no-agents: callers leave when the last agent logs out; callbacks stay", nil, []step{
			s("login a1"), s("login m1"), s("pause a1 lunch"), s("pause m1 lunch"),
			s("enqueue c1 leeg"), s("enqueue c2 leeg"), s("callback c2"), s("enqueue c3 leeg"),
			s("logout a1"),
			s("waiting leeg c1 c2 c3"),
			s("logout m1"),
			s("waiting leeg c2"),
			s("login a1"), s("unpause a1", "ring c2 a1 #1 callback"),
		}},
		{"leave none-available: the last pause empties the queue once the call is over", nil, []step{
			s("login a1"),
			s("enqueue c0 open", "ring c0 a1 #1"), s("answer c0"),
			s("enqueue c1 open"), s("enqueue c2 open"),
			s("pause a1 lunch"),
			s("end c0"),
			s("waiting open c1 c2"), // wrap-up: a1 will be free again
			s("wait 10s"),
			s("waiting open"),
			s("agents a1:paused b1:logged-out b2:logged-out b3:logged-out g1:logged-out m1:logged-out"),
		}},
		{"leave none-available: a pause while ringing empties it at once", nil, []step{
			s("enqueue c1 open"), s("enqueue c2 open"),
			s("login a1", "ring c1 a1 #1"),
			s("pause a1 weg", "withdraw c1 a1 #1"),
			s("waiting open"),
		}},
		{"leave none-available: a pause for missed offers empties it", misses(1), []step{
			s("enqueue c1 open"),
			s("login a1", "ring c1 a1 #1"),
			s("wait 15s", "withdraw c1 a1 #1"),
			s("reason a1 no answer"),
			s("waiting open"),
		}},
		{"leave no-agents: a logout during a call empties the queue when it ends", nil, []step{
			s("login a1"),
			s("enqueue c0 leeg", "ring c0 a1 #1"), s("answer c0"),
			s("enqueue c1 leeg"),
			s("logout a1"),
			s("waiting leeg c1"),
			s("end c0"),
			s("waiting leeg"),
		}},
		{"a caller moved into an empty queue leaves it at once; a callback stays", nil, []step{
			s("enqueue c1 algemeen"), s("enqueue c2 algemeen"), s("callback c2"),
			s("move c1 leeg"),
			s("move c2 leeg"),
			s("waiting leeg c2"),
			s("waiting algemeen"),
		}},
		{"a logout that leaves someone logged in changes nothing", nil, []step{
			s("login a1"), s("login m1"), s("busy m1"),
			s("enqueue c0 open", "ring c0 a1 #1"), s("answer c0"),
			s("enqueue c1 open"),
			s("logout m1"),
			s("waiting open c1"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second}
			if tt.config != nil {
				tt.config(&cfg)
			}
			synctest.Test(t, func(t *testing.T) { runScenarioWith(t, cfg, emptyQueues(), emptyAgents(), tt.steps) })
		})
	}
}

// TestCallbackEvents: a callback is reported with its place and the offer it
// replaced, and every later event of the contact says it is a callback.
func TestCallbackEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, emptyQueues(), emptyAgents())
		t0 := time.Now()
		f.mustEnqueue(t, "lang", "c0")
		f.mustLogin(t, "b1")
		f.mustAnswer(t, "c0")
		f.mustEnqueue(t, "lang", "c1", "c2")
		advance(10 * time.Second)
		if err := f.Callback("c2"); err != nil {
			t.Fatal(err)
		}
		f.mustLogin(t, "b2")
		advance(5 * time.Second)
		if err := f.Callback("c1"); err != nil {
			t.Fatal(err)
		}
		if o := f.line.offer(t, "c1"); !o.Callback || o.Attempt != 2 || o.Agent != "b2" {
			t.Errorf("offer after the callback: %+v, want a callback to b2, attempt 2", o)
		}
		f.mustAnswer(t, "c1")
		var got []Event
		for _, e := range f.obs.take() {
			if e.Contact == "c1" || e.Contact == "c2" {
				got = append(got, e)
			}
		}
		t10, t15 := t0.Add(10*time.Second), t0.Add(15*time.Second)
		want := []Event{
			{Kind: ContactQueued, At: t0, Contact: "c1", Queue: "lang", Position: 1, Predicted: 5 * time.Minute},
			{Kind: ContactQueued, At: t0, Contact: "c2", Queue: "lang", Position: 2, Predicted: 10 * time.Minute},
			{Kind: ContactCallback, At: t10, Contact: "c2", Queue: "lang", Position: 2, Waited: 10 * time.Second,
				Predicted: 10 * time.Minute, Callback: true},
			{Kind: OfferRinging, At: t10, Contact: "c1", Queue: "lang", Agent: "b2", Offer: 2, Attempt: 1},
			{Kind: AgentStateChanged, At: t10, Agent: "b2", Contact: "c1", From: Available, To: Ringing},
			{Kind: ContactCallback, At: t15, Contact: "c1", Queue: "lang", Position: 1, Waited: 15 * time.Second,
				Agent: "b2", Offer: 2, Attempt: 1, Rang: 5 * time.Second, Predicted: 5 * time.Minute, Callback: true},
			{Kind: AgentStateChanged, At: t15, Agent: "b2", Contact: "c1", From: Ringing, To: Available},
			{Kind: OfferRinging, At: t15, Contact: "c1", Queue: "lang", Agent: "b2", Offer: 3, Attempt: 2, Callback: true},
			{Kind: AgentStateChanged, At: t15, Agent: "b2", Contact: "c1", From: Available, To: Ringing},
			{Kind: ContactAnswered, At: t15, Contact: "c1", Queue: "lang", Agent: "b2", Offer: 3, Attempt: 2,
				Waited: 15 * time.Second, Predicted: 5 * time.Minute, Callback: true},
			{Kind: AgentStateChanged, At: t15, Agent: "b2", Contact: "c1", From: Ringing, To: OnCall},
		}
		if !slices.Equal(got, want) {
			t.Errorf("events:\n got %+v\nwant %+v", got, want)
		}
		for name, id := range map[string]call.ID{"answered": "c1", "unknown": "zz"} {
			if err := f.Callback(id); !errors.Is(err, ErrUnknownContact) {
				t.Errorf("Callback of an %s contact: %v, want ErrUnknownContact", name, err)
			}
		}
		f.Close()
		if err := f.Callback("c2"); !errors.Is(err, ErrClosed) {
			t.Errorf("Callback after Close: %v, want ErrClosed", err)
		}
	})
}

// TestReloadedCallbackKeepsItsPlace: a callback queued again with its first
// queue time (after a restart, or a failed call back) goes ahead of the
// callers who came after it, and says so in its event.
func TestReloadedCallbackKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, emptyQueues(), emptyAgents())
		t0 := time.Now()
		advance(time.Minute)
		f.mustEnqueue(t, "lang", "c1")
		if err := f.Enqueue(Contact{ID: "cb", Queue: "lang", Since: t0, Callback: true}); err != nil {
			t.Fatal(err)
		}
		wantWaiting(t, f.Router, "lang", "cb", "c1")
		evs := f.obs.take()
		if e := evs[len(evs)-1]; e.Kind != ContactQueued || e.Contact != "cb" || e.Position != 1 || !e.Callback {
			t.Errorf("queued event of the callback: %+v", e)
		}
		est, err := f.Estimate("c1")
		if err != nil || est.Position != 2 {
			t.Errorf("Estimate(c1) = %+v, %v; want position 2 behind the callback", est, err)
		}
		f.mustLogin(t, "b1")
		wantCalls(t, f.line, "ring cb b1 #1 callback")
	})
}

// TestCallbackNeverOverflows: a callback has nobody on the line, so it never
// reaches MaxWait, also when it became one while ringing at its max wait.
func TestCallbackNeverOverflows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line, obs, ov := &recLine{}, &recObserver{}, &overflows{}
		queues := []Queue{{Name: "q", Skills: []string{"burgerzaken"}, MaxWait: time.Minute, Overflow: "algemeen"}, {Name: "algemeen"}}
		r, err := New(Config{RingTimeout: 40 * time.Second}, queues, emptyAgents(), line, SystemClock(), zerolog.Nop(),
			WithObserver(obs), WithOverflow(ov))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, id := range []call.ID{"c1", "c2", "c3"} {
			if err := r.Enqueue(Contact{ID: id, Queue: "q"}); err != nil {
				t.Fatal(err)
			}
		}
		advance(30 * time.Second)
		if err := r.Callback("c1"); err != nil {
			t.Fatal(err)
		}
		if err := r.Login("b1"); err != nil { // rings c1 from 30s to 70s
			t.Fatal(err)
		}
		advance(30 * time.Second) // c2 and c3 reach max wait
		if err := r.Callback("c3"); err != nil {
			t.Fatal(err)
		}
		advance(5 * time.Minute)
		want := []Overflow{
			{Contact: "c2", Queue: "q", Target: "algemeen", Waited: time.Minute},
			{Contact: "c3", Queue: "q", Target: "algemeen", Waited: time.Minute},
		}
		got := ov.take()
		// Both timers are due at the same instant, in no set order.
		slices.SortFunc(got, func(a, b Overflow) int { return strings.Compare(string(a.Contact), string(b.Contact)) })
		if !slices.Equal(got, want) {
			t.Errorf("overflows:\n got %+v\nwant %+v", got, want)
		}
		for _, e := range obs.take() {
			if e.Kind == ContactMaxWait && e.Contact == "c1" {
				t.Errorf("max wait for the callback: %+v", e)
			}
		}
		checkInvariants(t, r)
	})
}

type emptied struct{ collected[Emptied] }

func (e *emptied) Emptied(v Emptied) { e.add(v) }

// TestLeaveEmptyEvents: the callers of an emptied queue leave in queue order,
// each reported with its place before the queue emptied, to the observer
// and the EmptyHandler; they count as not answered, and callbacks stay.
func TestLeaveEmptyEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line, obs, h := &recLine{}, &recObserver{}, &emptied{}
		r, err := New(Config{}, emptyQueues(), emptyAgents(), line, SystemClock(), zerolog.Nop(), WithObserver(obs), WithEmpty(h))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		t0 := time.Now()
		for _, op := range []error{r.Login("a1"), r.SetBusy("a1", true)} {
			if op != nil {
				t.Fatal(op)
			}
		}
		for _, c := range []Contact{{ID: "c1", Queue: "leeg"}, {ID: "c2", Queue: "leeg", Callback: true}, {ID: "c3", Queue: "leeg", Priority: 2}} {
			if err := r.Enqueue(c); err != nil {
				t.Fatal(err)
			}
			advance(10 * time.Second)
		}
		obs.take()
		if err := r.Logout("a1"); err != nil {
			t.Fatal(err)
		}
		t30 := t0.Add(30 * time.Second)
		want := []Event{
			{Kind: AgentStateChanged, At: t30, Agent: "a1", From: Busy, To: LoggedOut},
			{Kind: ContactExitedEmpty, At: t30, Contact: "c3", Queue: "leeg", Position: 1, Waited: 10 * time.Second, Priority: 2, Predicted: 5 * time.Minute},
			{Kind: ContactExitedEmpty, At: t30, Contact: "c1", Queue: "leeg", Position: 2, Waited: 30 * time.Second, Predicted: 5 * time.Minute},
		}
		if got := obs.take(); !slices.Equal(got, want) {
			t.Errorf("events:\n got %+v\nwant %+v", got, want)
		}
		wantEmptied := []Emptied{{Contact: "c3", Queue: "leeg", Waited: 10 * time.Second}, {Contact: "c1", Queue: "leeg", Waited: 30 * time.Second}}
		if got := h.take(); !slices.Equal(got, wantEmptied) {
			t.Errorf("Emptied:\n got %+v\nwant %+v", got, wantEmptied)
		}
		wantWaiting(t, r, "leeg", "c2")
		if st, _ := r.QueueStats("leeg"); st.Offered != 3 || st.Abandoned != 2 || st.Waiting != 1 {
			t.Errorf("QueueStats = %+v, want 3 offered, 2 not answered, 1 waiting", st)
		}
		for _, id := range []call.ID{"c1", "c3"} {
			if _, err := r.Estimate(id); !errors.Is(err, ErrUnknownContact) {
				t.Errorf("Estimate(%s) after it left: %v, want ErrUnknownContact", id, err)
			}
		}
		if err := r.Enqueue(Contact{ID: "c4", Queue: "leeg"}); !errors.Is(err, ErrQueueEmpty) || !strings.Contains(err.Error(), "no-agents") {
			t.Errorf("Enqueue into the empty queue: %v, want ErrQueueEmpty naming the policy", err)
		}
		checkInvariants(t, r)
	})
}

func TestEmptyPolicyText(t *testing.T) {
	tests := []struct {
		in      string
		want    EmptyPolicy
		wantErr bool
	}{
		{"always", EmptyAlways, false},
		{"no-agents", EmptyNoAgents, false},
		{"none-available", EmptyNoneAvailable, false},
		{"", 0, true},
		{"never", 0, true},
		{"No-Agents", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEmptyPolicy(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseEmptyPolicy(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			var u EmptyPolicy
			if err := u.UnmarshalText([]byte(tt.in)); (err != nil) != tt.wantErr || u != tt.want {
				t.Errorf("UnmarshalText(%q) = %v, %v", tt.in, u, err)
			}
			if tt.wantErr {
				return
			}
			if b, _ := got.MarshalText(); string(b) != tt.in || got.String() != tt.in {
				t.Errorf("%v marshals as %q, String %q; want %q", got, b, got.String(), tt.in)
			}
		})
	}
	if got := EmptyPolicy(9).String(); got != "EmptyPolicy(9)" {
		t.Errorf("EmptyPolicy(9).String() = %q", got)
	}
	_, err := New(Config{}, []Queue{{Name: "q", JoinEmpty: 9}, {Name: "r", LeaveEmpty: -1}}, nil, &recLine{}, SystemClock(), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), `queue "q": unknown empty policy`) || !strings.Contains(err.Error(), `queue "r": unknown empty policy`) {
		t.Errorf("New with bad empty policies: %v", err)
	}
}

func TestNewEventKindNames(t *testing.T) {
	for k, want := range map[EventKind]string{ContactCallback: "contact-callback", ContactExitedEmpty: "contact-exited-empty"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
	for k := ContactQueued; int(k) < len(eventKindNames); k++ {
		if eventKindNames[k] == "" {
			t.Errorf("event kind %d has no name", int(k))
		}
	}
}
