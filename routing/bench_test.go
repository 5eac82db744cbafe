package routing

import (
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"kcc/call"
)

// BenchmarkRoute measures one routing decision under load: 200 agents (150 on
// a call, 50 available), 50 contacts waiting in a queue none of them can
// serve, and a new contact that must pass them and pick the longest-idle of
// the 50. Each iteration is Enqueue (match + offer + timer) followed by
// Abandon (withdraw + a second matching pass), so the router returns to the
// same state.
func BenchmarkRoute(b *testing.B) {
	queues := []Queue{
		{Name: "paspoort", Skills: []string{"burgerzaken"}},
		{Name: "afval", Skills: []string{"afval"}},
	}
	agents := make([]Agent, 200)
	for i := range agents {
		agents[i] = Agent{ID: fmt.Sprintf("agent%03d", i), Skills: []string{"afval", "parkeren"}}
	}
	var line lineRecorder
	r, err := New(Config{}, queues, agents, &line, SystemClock(), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	for i := range 50 {
		if err := r.Enqueue(Contact{ID: call.ID(fmt.Sprint("wait", i)), Queue: "paspoort"}); err != nil {
			b.Fatal(err)
		}
	}
	for i, a := range agents {
		if err := r.Login(a.ID); err != nil {
			b.Fatal(err)
		}
		if i < 150 {
			id := call.ID(fmt.Sprint("busy", i))
			if err := r.Enqueue(Contact{ID: id, Queue: "afval"}); err != nil {
				b.Fatal(err)
			}
			if err := r.Answered(line.last.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	ids := make([]call.ID, 1024)
	for i := range ids {
		ids[i] = call.ID(fmt.Sprint("new", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := ids[i%len(ids)]
		if err := r.Enqueue(Contact{ID: id, Queue: "afval"}); err != nil {
			b.Fatal(err)
		}
		r.Abandon(id)
	}
	b.StopTimer()
	if line.last.Contact != ids[(b.N-1)%len(ids)] || len(r.Waiting("paspoort")) != 50 {
		b.Fatalf("benchmark did not route: last offer %+v", line.last)
	}
}

// lineRecorder keeps the last offer rung; the benchmark is single-threaded.
type lineRecorder struct{ last Offer }

func (l *lineRecorder) Ring(o Offer) { l.last = o }
func (*lineRecorder) Withdraw(Offer) {}
