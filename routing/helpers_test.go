package routing

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// recLine records Line calls as "ring c1 a1 #1" / "withdraw c1 a1 #1"
// ("ring c1 a1 #2 callback" for a callback offer) and
// remembers the last offer per contact so tests can answer it.
type recLine struct {
	mu     sync.Mutex
	calls  []string
	offers map[call.ID]Offer
	// onRing, when set, runs synchronously inside Ring (re-entrancy tests).
	onRing func(Offer)
}

func (l *recLine) Ring(o Offer) {
	l.mu.Lock()
	c := fmt.Sprintf("ring %s %s #%d", o.Contact, o.Agent, o.Attempt)
	if o.Callback {
		c += " callback"
	}
	l.calls = append(l.calls, c)
	if l.offers == nil {
		l.offers = map[call.ID]Offer{}
	}
	l.offers[o.Contact] = o
	f := l.onRing
	l.mu.Unlock()
	if f != nil {
		f(o)
	}
}

func (l *recLine) Withdraw(o Offer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("withdraw %s %s #%d", o.Contact, o.Agent, o.Attempt))
}

// take returns the calls recorded since the last take.
func (l *recLine) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

// offer returns the last offer rung for contact id.
func (l *recLine) offer(t *testing.T, id call.ID) Offer {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.offers[id]
	if !ok {
		t.Fatalf("no offer was rung for %s", id)
	}
	return o
}

// collected keeps values handed to a test double, under a lock, since the
// router calls its observers from timer goroutines too.
type collected[T any] struct {
	mu  sync.Mutex
	got []T
}

func (c *collected[T]) add(v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, v)
}

// take returns what was collected and starts afresh.
func (c *collected[T]) take() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.got
	c.got = nil
	return g
}

type recObserver struct{ collected[Event] }

func (o *recObserver) Event(e Event) { o.add(e) }

// fixture is a router with recording Line and Observer.
type fixture struct {
	*Router
	line *recLine
	obs  *recObserver
}

// testQueues returns three queues: two with one skill each, one open to all.
func testQueues() []Queue {
	return []Queue{
		{Name: "paspoort", Topic: "Paspoort", Skills: []string{"burgerzaken"}},
		{Name: "afval", Topic: "Afval", Skills: []string{"afval"}},
		{Name: "algemeen", Topic: "Algemeen"},
	}
}

func newFixture(t *testing.T, cfg Config, queues []Queue, agents []Agent) *fixture {
	t.Helper()
	f := &fixture{line: &recLine{}, obs: &recObserver{}}
	r, err := New(cfg, queues, agents, f.line, SystemClock(), zerolog.Nop(), WithObserver(f.obs))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.Router = r
	t.Cleanup(r.Close)
	return f
}

func (f *fixture) mustLogin(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := f.Login(id); err != nil {
			t.Fatalf("Login(%s): %v", id, err)
		}
	}
}

func (f *fixture) mustEnqueue(t *testing.T, queue string, ids ...call.ID) {
	t.Helper()
	for _, id := range ids {
		if err := f.Enqueue(Contact{ID: id, Queue: queue, Language: "nl"}); err != nil {
			t.Fatalf("Enqueue(%s): %v", id, err)
		}
	}
}

func (f *fixture) mustAnswer(t *testing.T, id call.ID) {
	t.Helper()
	if err := f.Answered(f.line.offer(t, id).ID); err != nil {
		t.Fatalf("Answered(%s): %v", id, err)
	}
}

// state returns "agent:state" for every agent, or "agent:state:contact".
func (f *fixture) states() string {
	var b []string
	for _, s := range f.Agents() {
		e := s.ID + ":" + s.State.String()
		if s.Contact != "" {
			e += ":" + string(s.Contact)
		}
		b = append(b, e)
	}
	return strings.Join(b, " ")
}

func wantCalls(t *testing.T, l *recLine, want ...string) {
	t.Helper()
	if got := l.take(); !slices.Equal(got, want) {
		t.Errorf("line calls:\n got %q\nwant %q", got, want)
	}
}

func wantWaiting(t *testing.T, r *Router, queue string, want ...call.ID) {
	t.Helper()
	if got := r.Waiting(queue); !slices.Equal(got, want) {
		t.Errorf("Waiting(%s) = %v, want %v", queue, got, want)
	}
}

func wantStates(t *testing.T, f *fixture, want string) {
	t.Helper()
	if got := f.states(); got != want {
		t.Errorf("agents:\n got %s\nwant %s", got, want)
	}
}

// checkInvariants verifies the router's internal consistency, including
// that matching is complete: no waiting contact without an offer has an
// available agent it may go to.
func checkInvariants(t *testing.T, r *Router) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	avail := 0
	counted := map[*queue][2]int{}
	loggedIn := map[*queue]int{}
	for _, a := range r.byID {
		if a.state == Available {
			avail++
			if a.availAt < 0 || a.availAt >= len(r.avail) || r.avail[a.availAt] != a {
				t.Errorf("agent %s: available but not in the available list", a.id)
			}
		} else if a.availAt != -1 {
			t.Errorf("agent %s: %v with available index %d", a.id, a.state, a.availAt)
		}
		if (a.state == Available && (a.busyElsewhere || a.paused)) || (a.state == Busy && (!a.busyElsewhere || a.paused)) {
			t.Errorf("agent %s: state %v with busy elsewhere %v, paused %v", a.id, a.state, a.busyElsewhere, a.paused)
		}
		if a.state == Paused && !a.paused {
			t.Errorf("agent %s: paused without a pause", a.id)
		}
		if (a.state == Ringing) != (a.offer != nil) {
			t.Errorf("agent %s: state %v with offer %v", a.id, a.state, a.offer != nil)
		}
		if (a.state == OnCall) != (a.contact != nil) {
			t.Errorf("agent %s: state %v with contact %v", a.id, a.state, a.contact != nil)
		}
		if a.offer != nil && (r.offers[a.offer.ID] != a.offer || a.offer.agent != a) {
			t.Errorf("agent %s: offer %d not live or not its own", a.id, a.offer.ID)
		}
		if a.state != LoggedOut {
			for _, aq := range a.queues {
				loggedIn[aq.q]++
			}
		}
		if staffed(a.state) {
			for _, aq := range a.queues {
				n := counted[aq.q]
				n[1]++
				if aq.base {
					n[0]++
				}
				counted[aq.q] = n
			}
		}
	}
	if avail != len(r.avail) {
		t.Errorf("available list has %d, counted %d", len(r.avail), avail)
	}
	seen := map[*contact]bool{}
	for _, q := range r.queues {
		for li := range q.levels {
			lv := &q.levels[li]
			n := 0
			for _, a := range lv.cands {
				if a.state == Available {
					n++
				}
			}
			if n != len(lv.avail) {
				t.Errorf("queue %s level %d: %d available candidates, list has %d", q.Name, li, n, len(lv.avail))
			}
			for i, sl := range lv.avail {
				if sl.a.state != Available || sl.a.members[sl.m].lv != lv || sl.a.members[sl.m].at != i {
					t.Errorf("queue %s level %d: slot %d (%s) inconsistent", q.Name, li, i, sl.a.id)
				}
			}
		}
		if counted[q] != q.staffed {
			t.Errorf("queue %s: staffed %v, counted %v", q.Name, q.staffed, counted[q])
		}
		if loggedIn[q] != q.loggedIn {
			t.Errorf("queue %s: %d logged in, counted %d", q.Name, q.loggedIn, loggedIn[q])
		}
		if q.marked || len(r.emptied) > 0 {
			t.Errorf("queue %s: marked %v with %d emptied queues outside an operation", q.Name, q.marked, len(r.emptied))
		}
		// With a join policy at least as strict as the leave policy, no
		// caller on the line waits in a queue that is empty by the latter.
		if q.JoinEmpty >= q.LeaveEmpty && q.empty(q.LeaveEmpty) {
			for _, c := range q.waiting {
				if !c.Callback {
					t.Errorf("queue %s is empty by %v, but %s waits in it", q.Name, q.LeaveEmpty, c.ID)
				}
			}
		}
		for i, c := range q.waiting {
			if seen[c] {
				t.Errorf("contact %s waiting twice", c.ID)
			}
			seen[c] = true
			if c.queue != q {
				t.Errorf("contact %s in queue %s thinks it is in %s", c.ID, q.Name, c.queue.Name)
			}
			if i > 0 && c.before(q.waiting[i-1]) {
				t.Errorf("queue %s: %s is behind %s out of order", q.Name, c.ID, q.waiting[i-1].ID)
			}
			if r.contacts[c.ID] != c {
				t.Errorf("waiting contact %s not in contacts", c.ID)
			}
			if c.agent != nil {
				t.Errorf("waiting contact %s is connected", c.ID)
			}
			if c.offer != nil && c.offer.Callback != c.Callback {
				t.Errorf("contact %s: callback %v, its offer %v", c.ID, c.Callback, c.offer.Callback)
			}
			if c.offer != nil {
				if c.offer.contact != c || r.offers[c.offer.ID] != c.offer {
					t.Errorf("contact %s: offer %d inconsistent", c.ID, c.offer.ID)
				}
				continue
			}
			if r.closed {
				continue
			}
			for _, a := range r.byID {
				if a.state == Available && c.admits(a) {
					t.Errorf("contact %s waits while eligible agent %s is available", c.ID, a.id)
				}
			}
		}
	}
	for id, c := range r.contacts {
		if !seen[c] && c.agent == nil {
			t.Errorf("contact %s neither waiting nor connected", id)
		}
	}
	for id, o := range r.offers {
		if o.ID != id || o.contact.offer != o || o.agent.offer != o {
			t.Errorf("offer %d inconsistent", id)
		}
	}
}

// advance moves the synctest bubble's fake clock on by d and waits until the
// timer callbacks due by then have finished.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}
