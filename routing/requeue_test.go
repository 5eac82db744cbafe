package routing

import (
	"slices"
	"testing"
	"time"

	"kcc/call"
)

// TestRequeueKeepsPlace: a caller whose connection to an agent failed is
// queued again with its first queue time and goes back ahead of everyone
// who came after it, not to the end.
func TestRequeueKeepsPlace(t *testing.T) {
	f := newFixture(t, Config{RingTimeout: time.Minute, WrapUp: time.Minute}, testQueues(),
		[]Agent{{ID: "a1", Skills: []string{"burgerzaken"}}})
	f.mustLogin(t, "a1")
	first := time.Now()
	f.mustEnqueue(t, "paspoort", "c1")
	f.mustAnswer(t, "c1") // a1 takes c1
	f.mustEnqueue(t, "paspoort", "c2", "c3")
	f.Ended("c1") // the agent's side died; a1 goes to wrap-up
	if err := f.Enqueue(Contact{ID: "c1", Queue: "paspoort", Language: "nl", Since: first}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.Waiting("paspoort"), []call.ID{"c1", "c2", "c3"}; !slices.Equal(got, want) {
		t.Fatalf("waiting %v, want %v", got, want)
	}
	// A Since in the future is "now": it cannot jump the queue.
	if err := f.Enqueue(Contact{ID: "c4", Queue: "paspoort", Language: "nl", Since: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := f.Waiting("paspoort"); got[len(got)-1] != "c4" {
		t.Fatalf("waiting %v, want c4 last", got)
	}
	checkInvariants(t, f.Router)
}
