package routing

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
)

var strictTiming = flag.Bool("routing.strict-timing", false, "fail TestDecisionTiming when p99 exceeds 10µs (quiet machine, no -race)")

// bigCentre is the timed harness's contact centre, the stated skill mix:
//
//   - 100 queues; queue i needs skill s<i> at proficiency 2 or better,
//     escalates after 60s to proficiency 1 and after 120s adds the group
//     "general"; strategies rotate over all five.
//   - 10,000 agents with 8 distinct skills each, drawn uniformly from the
//     100, at proficiency 1-5 uniformly; one in ten also has "general". So
//     some 640 agents may take each queue's contacts before escalation.
//   - 9,000 agents on a call (routed through the router), 1,000 available;
//     100 contacts wait in a queue nobody can serve.
//
// An observer that drops events is attached, so events and wait estimates
// are produced as in production.
func bigCentre(tb testing.TB) (*Router, *lineRecorder) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(42, 1))
	queues := make([]Queue, 0, 101)
	for i := range 100 {
		queues = append(queues, Queue{Name: fmt.Sprintf("q%02d", i), Skills: []string{fmt.Sprintf("s%02d", i)},
			MinProficiency: 2, Strategy: Strategy(i % 5), Escalation: []Step{
				{After: time.Minute, MinProficiency: 1},
				{After: 2 * time.Minute, Skills: []string{"general"}},
			}})
	}
	queues = append(queues, Queue{Name: "nobody", Skills: []string{"nobody"}})
	agents := make([]Agent, 10000)
	for i := range agents {
		prof := map[string]int{}
		for _, s := range rng.Perm(100)[:8] {
			prof[fmt.Sprintf("s%02d", s)] = 1 + rng.IntN(5)
		}
		if i%10 == 0 {
			prof["general"] = 3
		}
		agents[i] = Agent{ID: fmt.Sprintf("agent%05d", i), Proficiency: prof}
	}
	line := &lineRecorder{}
	r, err := New(Config{}, queues, agents, line, SystemClock(), zerolog.Nop(),
		WithObserver(dropEvents{}), WithRandom(rand.NewPCG(1, 2)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Close)
	for i := range 100 {
		if err := r.Enqueue(Contact{ID: call.ID(fmt.Sprint("stuck", i)), Queue: "nobody"}); err != nil {
			tb.Fatal(err)
		}
	}
	for _, a := range agents {
		if err := r.Login(a.ID); err != nil {
			tb.Fatal(err)
		}
	}
	for k := 0; len(r.avail) > 1000; k++ {
		id := call.ID(fmt.Sprint("busy", k))
		if err := r.Enqueue(Contact{ID: id, Queue: fmt.Sprintf("q%02d", k%100)}); err != nil {
			tb.Fatal(err)
		}
		if line.last.Contact != id {
			r.Abandon(id) // nobody left for that queue
			continue
		}
		if err := r.Answered(line.last.ID); err != nil {
			tb.Fatal(err)
		}
	}
	return r, line
}

type dropEvents struct{}

func (dropEvents) Event(Event) {}

// decide times one routing decision: a contact arrives in queue q and is
// offered to an agent (pick by the queue's strategy, offer, ring timer,
// events). The Abandon that puts the agent back is not timed.
func decide(tb testing.TB, r *Router, line *lineRecorder, id call.ID, q string) time.Duration {
	start := time.Now()
	err := r.Enqueue(Contact{ID: id, Queue: q})
	d := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	if line.last.Contact != id {
		tb.Fatalf("%s in %s was not offered", id, q)
	}
	r.Abandon(id)
	return d
}

// TestDecisionTiming is the timed harness: it measures single routing
// decisions in bigCentre one by one and reports percentiles, not a mean.
// Run it alone, on a quiet machine, for numbers:
//
//	go test -run TestDecisionTiming -v -routing.strict-timing ./routing
func TestDecisionTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-agent centre")
	}
	r, line := bigCentre(t)
	ids := make([]call.ID, 1000)
	for i := range ids {
		ids[i] = call.ID(fmt.Sprint("new", i))
	}
	warm, n := 2000, 20000
	if raceEnabled { // the numbers mean nothing there; keep the check quick
		warm, n = 100, 1000
	}
	// Queue names made once: the harness's own garbage would bring GC
	// cycles into the timed decisions.
	queues := make([]string, 100)
	for i := range queues {
		queues[i] = fmt.Sprintf("q%02d", i)
	}
	samples := make([]time.Duration, 0, n)
	for i := range warm + n {
		d := decide(t, r, line, ids[i%len(ids)], queues[i%100])
		if i >= warm {
			samples = append(samples, d)
		}
	}
	slices.Sort(samples)
	pct := func(p float64) time.Duration { return samples[int(p*float64(len(samples)-1))] }
	p50, p90, p99, top := pct(0.5), pct(0.9), pct(0.99), samples[len(samples)-1]
	t.Logf("one routing decision, 10,000 agents (1,000 available), 100 queues, %d samples: p50 %v, p90 %v, p99 %v, max %v (race detector: %v)",
		n, p50, p90, p99, top, raceEnabled)
	if *strictTiming && !raceEnabled && p99 > 10*time.Microsecond {
		t.Errorf("p99 %v exceeds 10µs", p99)
	}
	checkInvariants(t, r)
}

// BenchmarkRoute10k is TestDecisionTiming's decision as a benchmark
// (Enqueue and the untimed-in-the-harness Abandon together).
func BenchmarkRoute10k(b *testing.B) {
	r, line := bigCentre(b)
	ids := make([]call.ID, 1000)
	names := make([]string, 100)
	for i := range ids {
		ids[i] = call.ID(fmt.Sprint("new", i))
	}
	for i := range names {
		names[i] = fmt.Sprintf("q%02d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := ids[i%len(ids)]
		if err := r.Enqueue(Contact{ID: id, Queue: names[i%100]}); err != nil {
			b.Fatal(err)
		}
		r.Abandon(id)
	}
	b.StopTimer()
	if line.last.Contact != ids[(b.N-1)%len(ids)] {
		b.Fatalf("benchmark did not route: last offer %+v", line.last)
	}
}
