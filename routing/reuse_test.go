package routing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

// afterFuncClock is the system clock under another type, so the router
// takes the general Clock path (an AfterFunc and closures per timer)
// instead of its own reusable timers.
type afterFuncClock struct{}

func (afterFuncClock) Now() time.Time { return time.Now() }

func (afterFuncClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// TestOwnTimersAgreeWithAfterFunc drives two routers with the same random
// calls: one on SystemClock, which reuses contacts, offers and their timers,
// and one on a clock the router knows nothing about, which gets an
// AfterFunc per timer. Contact IDs come back after their contacts end, so
// reused structs meet stale timers of the contacts they were. Both must
// make the same Line calls and events at the same times. The timer
// durations have odd nanoseconds, so no two timers come due at once and
// the order of their callbacks is defined.
func TestOwnTimersAgreeWithAfterFunc(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { agreeWithAfterFunc(t, seed) })
		})
	}
}

func agreeWithAfterFunc(t *testing.T, seed uint64) {
	const ns = time.Nanosecond
	cfg := Config{RingTimeout: 15*time.Second + 1234567*ns, WrapUp: 3*time.Second + 55501*ns, MaxMisses: 3,
		Care: Care{Priority: 5, WrapUp: time.Second + 777*ns}}
	var queues []Queue
	for i := range 5 {
		queues = append(queues, Queue{Name: fmt.Sprint("q", i), Skills: []string{"burgerzaken"}, MinProficiency: 2,
			Strategy: Strategy(i), MaxWait: 20*time.Second + 12343*ns, Escalation: []Step{
				{After: 10*time.Second + 345679*ns, MinProficiency: 1},
				{After: 30*time.Second + 771113*ns, Skills: []string{"afval"}},
			}})
	}
	queues = append(queues, Queue{Name: "leeg", Skills: []string{"afval"}, LeaveEmpty: EmptyNoneAvailable})
	var agents []Agent
	for i := range 6 {
		agents = append(agents, Agent{ID: fmt.Sprint("a", i), Proficiency: map[string]int{"burgerzaken": 1 + i%5, "afval": 1 + i%2}})
	}
	type side struct {
		r    *Router
		line *recLine
		obs  *recObserver
	}
	mk := func(clock Clock) side {
		s := side{line: &recLine{}, obs: &recObserver{}}
		r, err := New(cfg, queues, agents, s.line, clock, zerolog.Nop(), WithObserver(s.obs), WithRandom(rand.NewPCG(seed, 7)))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(r.Close)
		s.r = r
		return s
	}
	own, plain := mk(SystemClock()), mk(afterFuncClock{})
	if !own.r.ownTimers || plain.r.ownTimers {
		t.Fatalf("ownTimers: got %v and %v, want true and false", own.r.ownTimers, plain.r.ownTimers)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	ignore := func(err error) error {
		if errors.Is(err, ErrUnknownContact) || errors.Is(err, ErrStaleOffer) || errors.Is(err, ErrQueueEmpty) {
			return nil
		}
		return err
	}
	for step := range 600 {
		op, id := rng.IntN(14), call.ID(fmt.Sprint("c", rng.IntN(8)))
		agent, queue := agents[rng.IntN(len(agents))].ID, queues[rng.IntN(len(queues))].Name
		offer := func(s side) uint64 {
			s.line.mu.Lock()
			defer s.line.mu.Unlock()
			return s.line.offers[id].ID
		}
		o := offer(own)
		var since time.Time
		if rng.IntN(4) == 0 {
			since = time.Now().Add(-time.Duration(rng.Int64N(int64(40 * time.Second))))
		}
		c := Contact{ID: id, Queue: queue, Since: since, Priority: rng.IntN(2), Care: rng.IntN(5) == 0}
		var desc string
		apply := func(s side) error {
			switch op {
			case 0, 1:
				desc = "enqueue " + string(id)
				if err := s.r.Enqueue(c); err != nil && !errors.Is(err, ErrQueueEmpty) && err.Error() != fmt.Sprintf("enqueue %q: contact is already routed", id) {
					return err
				}
			case 2:
				desc = "login " + agent
				return s.r.Login(agent)
			case 3:
				desc = "logout " + agent
				return s.r.Logout(agent)
			case 4:
				desc = "abandon " + string(id)
				s.r.Abandon(id)
			case 5:
				desc = fmt.Sprint("answered ", o)
				return ignore(s.r.Answered(o))
			case 6:
				desc = fmt.Sprint("declined ", o)
				s.r.Declined(o)
			case 7:
				desc = "ended " + string(id)
				s.r.Ended(id)
			case 8:
				desc = "pause " + agent
				return s.r.Pause(agent, "test")
			case 9:
				desc = "unpause " + agent
				return s.r.Unpause(agent)
			case 10:
				desc = "move " + string(id) + " " + queue
				return ignore(s.r.Move(id, queue))
			case 11:
				desc = "callback " + string(id)
				return ignore(s.r.Callback(id))
			case 12:
				desc = "exit " + string(id)
				return ignore(s.r.Exit(id, "0"))
			case 13:
				desc = "timed out " + string(id)
				return ignore(s.r.TimedOut(id))
			}
			return nil
		}
		for _, s := range []side{own, plain} {
			if err := apply(s); err != nil {
				t.Fatalf("step %d %s: %v", step, desc, err)
			}
		}
		synctest.Wait()
		// Between calls time passes by an odd amount, sometimes past
		// several timers.
		advance(time.Duration(rng.Int64N(int64(12*time.Second))) + 1)
		for _, s := range []side{own, plain} {
			checkInvariants(t, s.r)
		}
		if got, want := own.line.take(), plain.line.take(); !slices.Equal(got, want) {
			t.Fatalf("step %d %s: line calls\n got %q\nwant %q", step, desc, got, want)
		}
		if got, want := own.obs.take(), plain.obs.take(); !slices.Equal(got, want) {
			t.Fatalf("step %d %s: events\n got %+v\nwant %+v", step, desc, got, want)
		}
	}
}

// TestStaleTimerOfReusedStructIsHarmless fires, by hand, the timer of an
// offer and of a contact whose structs have since been reused, as a real
// timer may when its callback was already on its way when the offer or
// contact ended. The firing must leave the new offer and contact alone; their
// own timers still act when due.
func TestStaleTimerOfReusedStructIsHarmless(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{RingTimeout: 15 * time.Second}
		queues := append(testQueues(), Queue{Name: "esc", Skills: []string{"afval"},
			Escalation: []Step{{After: 20 * time.Second, MinProficiency: 1}}})
		f := newFixture(t, cfg, queues, testAgents())
		f.mustLogin(t, "a2")
		f.mustEnqueue(t, "paspoort", "c1")
		first := f.offers[f.line.offer(t, "c1").ID]
		f.Abandon("c1")
		f.mustEnqueue(t, "paspoort", "c2")
		if got := f.offers[f.line.offer(t, "c2").ID]; got != first {
			t.Fatalf("the second offer is a new struct; want the first one reused")
		}
		f.line.take()
		f.obs.take()
		f.ringFired(first) // the first offer's timer, late
		synctest.Wait()
		if got := f.line.take(); len(got) != 0 {
			t.Errorf("stale ring timer: line calls %q, want none", got)
		}
		advance(cfg.RingTimeout)
		if got, want := f.line.take(), []string{"withdraw c2 a2 #1", "ring c2 a2 #2"}; !slices.Equal(got, want) {
			t.Errorf("after the ring timeout: line calls %q, want %q", got, want)
		}

		if err := f.Answered(f.line.offer(t, "c2").ID); err != nil {
			t.Fatalf("Answered: %v", err)
		}

		// Nobody logged in can take afval contacts: c3 and then c4 wait
		// for their escalation step, in the same struct.
		f.mustEnqueue(t, "esc", "c3")
		c3 := f.contacts["c3"]
		f.Abandon("c3")
		f.mustEnqueue(t, "esc", "c4")
		if f.contacts["c4"] != c3 {
			t.Fatalf("contact c4 is a new struct; want c3's reused")
		}
		f.obs.take()
		advance(10 * time.Second)
		f.contactFired(c3) // c3's timer, late
		synctest.Wait()
		if got := kinds(f.obs.take()); len(got) != 0 {
			t.Errorf("stale contact timer: events %v, want none", got)
		}
		advance(15 * time.Second)
		if got, want := kinds(f.obs.take()), []EventKind{ContactEscalated}; !slices.Equal(got, want) {
			t.Errorf("at the escalation step: events %v, want %v", got, want)
		}
	})
}

func kinds(evs []Event) []EventKind {
	var out []EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}
