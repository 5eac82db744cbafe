package routing

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"kcc/call"
)

// step is one action in a scenario and the Line calls it must cause, in
// order. Actions:
//
//	login A | logout A | enqueue C QUEUE | abandon C | end C | exit C KEY
//	busy A | free A      (SetBusy: the phone is in use by a call kcc did not route / no longer)
//	answer C | stale C   (Answered for C's last offer: must succeed / fail with ErrStaleOffer)
//	decline C            (Declined for C's last offer)
//	wait DURATION        (advance the fake clock, timers fire)
//	waiting QUEUE [C...] (assert queue order)
//	agents A:state[:C] ... (assert every agent's state)
//	pause A [REASON...] | unpause A
//	move C QUEUE
//	enqueue C QUEUE [p=N] [skills=S,S] [care]
//	reason A [REASON...]  (assert the agent's pause reason, empty for none)
//	full C QUEUE         (Enqueue must fail with ErrQueueFull)
//	empty C QUEUE        (Enqueue must fail with ErrQueueEmpty)
//	enqueue C QUEUE callback (a callback contact, e.g. reloaded after a restart)
//	callback C           (Router.Callback: the caller hangs up to be called back)
type step struct {
	do   string
	line []string
}

func s(do string, line ...string) step { return step{do: do, line: line} }

// testAgents: a1 has both skills, a2 and a3 one each, a4 none.
func testAgents() []Agent {
	return []Agent{
		{ID: "a1", Name: "Anne", Skills: []string{"burgerzaken", "afval"}},
		{ID: "a2", Name: "Bram", Skills: []string{"burgerzaken"}},
		{ID: "a3", Name: "Cor", Skills: []string{"afval"}},
		{ID: "a4", Name: "Dirk"},
	}
}

func runScenario(t *testing.T, cfg Config, steps []step) {
	t.Helper()
	runScenarioWith(t, cfg, append(testQueues(), Queue{Name: "combi", Skills: []string{"afval", "burgerzaken"}}), testAgents(), steps)
}

// runScenarioWith runs steps on a router with the given queues and agents
// and returns its fixture.
func runScenarioWith(t *testing.T, cfg Config, queues []Queue, agents []Agent, steps []step) *fixture {
	t.Helper()
	f := newFixture(t, cfg, queues, agents)
	for i, st := range steps {
		fields := strings.Fields(st.do)
		op, args := fields[0], fields[1:]
		arg := func(n int) string {
			if n >= len(args) {
				t.Fatalf("step %d %q: missing argument %d", i, st.do, n+1)
			}
			return args[n]
		}
		switch op {
		case "login":
			f.mustLogin(t, arg(0))
		case "logout":
			if err := f.Logout(arg(0)); err != nil {
				t.Fatalf("step %d: Logout: %v", i, err)
			}
		case "busy", "free":
			if err := f.SetBusy(arg(0), op == "busy"); err != nil {
				t.Fatalf("step %d: SetBusy: %v", i, err)
			}
		case "enqueue", "full", "empty":
			c := Contact{ID: call.ID(arg(0)), Queue: arg(1), Language: "nl"}
			for _, o := range args[2:] {
				switch {
				case strings.HasPrefix(o, "p="):
					p, err := strconv.Atoi(o[2:])
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					c.Priority = p
				case strings.HasPrefix(o, "skills="):
					c.Skills = strings.Split(o[7:], ",")
				case o == "care":
					c.Care = true
				case o == "callback":
					c.Callback = true
				default:
					t.Fatalf("step %d: unknown enqueue option %q", i, o)
				}
			}
			err := f.Enqueue(c)
			if op == "full" && !errors.Is(err, ErrQueueFull) {
				t.Errorf("step %d %q: Enqueue err = %v, want ErrQueueFull", i, st.do, err)
			}
			if op == "empty" && !errors.Is(err, ErrQueueEmpty) {
				t.Errorf("step %d %q: Enqueue err = %v, want ErrQueueEmpty", i, st.do, err)
			}
			if op == "enqueue" && err != nil {
				t.Fatalf("step %d %q: Enqueue: %v", i, st.do, err)
			}
		case "pause":
			if err := f.Pause(arg(0), strings.Join(args[1:], " ")); err != nil {
				t.Fatalf("step %d: Pause: %v", i, err)
			}
		case "unpause":
			if err := f.Unpause(arg(0)); err != nil {
				t.Fatalf("step %d: Unpause: %v", i, err)
			}
		case "move":
			if err := f.Move(call.ID(arg(0)), arg(1)); err != nil {
				t.Fatalf("step %d: Move: %v", i, err)
			}
		case "reason":
			want := strings.Join(args[1:], " ")
			for _, a := range f.Agents() {
				if a.ID == arg(0) && a.Reason != want {
					t.Errorf("step %d: agent %s pause reason %q, want %q", i, a.ID, a.Reason, want)
				}
			}
		case "abandon":
			f.Abandon(call.ID(arg(0)))
		case "exit":
			if err := f.Exit(call.ID(arg(0)), arg(1)); err != nil {
				t.Fatalf("step %d: Exit: %v", i, err)
			}
		case "end":
			f.Ended(call.ID(arg(0)))
		case "callback":
			if err := f.Callback(call.ID(arg(0))); err != nil {
				t.Fatalf("step %d: Callback: %v", i, err)
			}
		case "answer":
			f.mustAnswer(t, call.ID(arg(0)))
		case "stale":
			err := f.Answered(f.line.offer(t, call.ID(arg(0))).ID)
			if !errors.Is(err, ErrStaleOffer) {
				t.Errorf("step %d %q: Answered err = %v, want ErrStaleOffer", i, st.do, err)
			}
		case "decline":
			f.Declined(f.line.offer(t, call.ID(arg(0))).ID)
		case "wait":
			d, err := time.ParseDuration(arg(0))
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			advance(d)
		case "waiting":
			var want []call.ID
			for _, a := range args[1:] {
				want = append(want, call.ID(a))
			}
			wantWaiting(t, f.Router, arg(0), want...)
		case "agents":
			wantStates(t, f, strings.Join(args, " "))
		default:
			t.Fatalf("step %d: unknown op %q", i, op)
		}
		if got := f.line.take(); strings.Join(got, ",") != strings.Join(st.line, ",") {
			t.Errorf("step %d %q: line calls\n got %q\nwant %q", i, st.do, got, st.line)
		}
		checkInvariants(t, f.Router)
	}
	return f
}

func TestScenarios(t *testing.T) {
	cfg := Config{RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second}
	tests := []struct {
		name  string
		steps []step
	}{
		{"longest idle agent gets the offer", []step{
			s("login a2"), s("wait 1s"), s("login a1"), s("wait 1s"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("enqueue c2 paspoort", "ring c2 a1 #1"),
		}},
		{"equal idle time goes to the lower ID", []step{
			s("login a2"), s("login a1"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
		}},
		{"agent without the skill is skipped even when idle longest", []step{
			s("login a3"), s("wait 1s"), s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("agents a1:logged-out a2:ringing:c1 a3:available a4:logged-out"),
		}},
		{"queue needing two skills waits for an agent with both", []step{
			s("login a2"), s("login a3"),
			s("enqueue c1 combi"),
			s("waiting combi c1"),
			s("login a1", "ring c1 a1 #1"),
		}},
		{"agent with no skills serves only the open queue", []step{
			s("login a4"),
			s("enqueue c1 afval"),
			s("enqueue c2 algemeen", "ring c2 a4 #1"),
			s("waiting afval c1"),
		}},
		{"an agent whose phone is busy elsewhere gets no offer until it is free", []step{
			s("login a2"), s("busy a2"),
			s("agents a1:logged-out a2:busy a3:logged-out a4:logged-out"),
			s("enqueue c1 paspoort"),
			s("waiting paspoort c1"),
			s("free a2", "ring c1 a2 #1"),
		}},
		{"busy before login: the agent logs in busy", []step{
			s("busy a2"), s("login a2"),
			s("enqueue c1 paspoort"),
			s("agents a1:logged-out a2:busy a3:logged-out a4:logged-out"),
			s("free a2", "ring c1 a2 #1"),
		}},
		{"the phone busy with kcc's own call: wrap-up ends in busy until the phone is free", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("busy a2"), // the device rings for kcc's own offer
			s("agents a1:logged-out a2:ringing:c1 a3:logged-out a4:logged-out"),
			s("answer c1"), s("enqueue c2 paspoort"),
			s("end c1"), s("wait 10s"),
			s("agents a1:logged-out a2:busy a3:logged-out a4:logged-out"),
			s("free a2", "ring c2 a2 #1"),
		}},
		{"a busy agent keeps its idle time", []step{
			s("login a2"), s("wait 1s"), s("login a1"),
			s("busy a2"), s("wait 1m"), s("free a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
		}},
		{"a busy agent logs out", []step{
			s("login a2"), s("busy a2"), s("logout a2"),
			s("agents a1:logged-out a2:logged-out a3:logged-out a4:logged-out"),
			s("free a2"), // stays logged out
			s("agents a1:logged-out a2:logged-out a3:logged-out a4:logged-out"),
		}},
		{"FIFO within a queue", []step{
			s("enqueue c1 paspoort"), s("enqueue c2 paspoort"), s("enqueue c3 paspoort"),
			s("waiting paspoort c1 c2 c3"),
			s("login a2", "ring c1 a2 #1"),
			s("answer c1"),
			s("waiting paspoort c2 c3"),
			s("login a1", "ring c2 a1 #1"),
		}},
		{"oldest contact across queues goes first", []step{
			s("enqueue c1 afval"), s("wait 1s"),
			s("enqueue c2 paspoort"), s("wait 1s"),
			s("enqueue c3 algemeen"),
			s("login a1", "ring c1 a1 #1"), // a1 can serve all three
			s("login a2", "ring c2 a2 #1"), // c3 is older in its own queue but c2 waited longer
			s("login a4", "ring c3 a4 #1"),
		}},
		{"ring timeout moves to an untried agent; the contact keeps its place", []step{
			s("login a1"), s("wait 1s"), s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
			s("enqueue c2 afval"), // only a1 has afval, and a1 is ringing
			s("wait 15s", "withdraw c1 a1 #1", "ring c1 a2 #2", "ring c2 a1 #1"),
			s("waiting paspoort c1"),
			s("agents a1:ringing:c2 a2:ringing:c1 a3:logged-out a4:logged-out"),
		}},
		{"when every agent was tried the round starts over with the longest idle", []step{
			s("login a1"), s("wait 1s"), s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
			s("wait 15s", "withdraw c1 a1 #1", "ring c1 a2 #2"),
			s("wait 15s", "withdraw c1 a2 #2", "ring c1 a1 #3"),
			s("wait 15s", "withdraw c1 a1 #3", "ring c1 a2 #4"),
			s("answer c1"),
		}},
		{"head of the queue keeps priority after a timeout", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("enqueue c2 paspoort"),
			s("wait 15s", "withdraw c1 a2 #1", "ring c1 a2 #2"),
			s("waiting paspoort c1 c2"),
		}},
		{"timed-out agent keeps its idle time", []step{
			s("login a1"), s("wait 1s"), s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
			s("wait 15s", "withdraw c1 a1 #1", "ring c1 a2 #2"),
			s("answer c1"),
			s("enqueue c2 paspoort", "ring c2 a1 #1"), // a1 is still the longest idle
		}},
		{"decline moves on at once without Withdraw", []step{
			s("login a1"), s("wait 1s"), s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
			s("wait 3s"),
			s("decline c1", "ring c1 a2 #2"),
			s("decline c1", "ring c1 a1 #3"), // round over: back to the longest idle
		}},
		{"abandon while ringing withdraws and frees the agent", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("enqueue c2 paspoort"),
			s("abandon c1", "withdraw c1 a2 #1", "ring c2 a2 #1"),
			s("waiting paspoort c2"),
		}},
		{"exit key while ringing withdraws and frees the agent", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("enqueue c2 paspoort"),
			s("exit c1 0", "withdraw c1 a2 #1", "ring c2 a2 #1"),
			s("waiting paspoort c2"),
		}},
		{"abandon while queued removes quietly", []step{
			s("enqueue c1 paspoort"), s("enqueue c2 paspoort"), s("enqueue c3 paspoort"),
			s("abandon c2"),
			s("waiting paspoort c1 c3"),
			s("abandon nobody"),
			s("login a2", "ring c1 a2 #1"),
		}},
		{"answered after abandon is stale", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("abandon c1", "withdraw c1 a2 #1"),
			s("stale c1"),
			s("agents a1:logged-out a2:available a3:logged-out a4:logged-out"),
		}},
		{"answered after ring timeout is stale", []step{
			s("login a2"), s("login a1"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
			s("wait 15s", "withdraw c1 a1 #1", "ring c1 a2 #2"),
			s("answer c1"),
			s("enqueue c9 afval", "ring c9 a1 #1"),
		}},
		{"answered twice is stale", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("answer c1"),
			s("stale c1"),
			s("agents a1:logged-out a2:on-call:c1 a3:logged-out a4:logged-out"),
		}},
		{"wrap-up, then available, then the next contact", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("answer c1"),
			s("enqueue c2 paspoort"),
			s("wait 60s"),
			s("end c1"),
			s("agents a1:logged-out a2:wrap-up a3:logged-out a4:logged-out"),
			s("wait 9s"),
			s("waiting paspoort c2"),
			s("wait 1s", "ring c2 a2 #1"),
		}},
		{"after wrap-up the agent is idle since its end", []step{
			s("login a1"), s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
			s("answer c1"),
			s("end c1"),
			s("wait 10s"),
			s("enqueue c2 paspoort", "ring c2 a2 #1"),
			s("enqueue c3 paspoort", "ring c3 a1 #1"),
		}},
		{"logout while ringing withdraws and moves on", []step{
			s("login a1"), s("wait 1s"), s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a1 #1"),
			s("logout a1", "withdraw c1 a1 #1", "ring c1 a2 #2"),
			s("agents a1:logged-out a2:ringing:c1 a3:logged-out a4:logged-out"),
		}},
		{"logout while ringing the only agent leaves the contact waiting", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("logout a2", "withdraw c1 a2 #1"),
			s("waiting paspoort c1"),
			s("wait 1m"),
			s("login a2", "ring c1 a2 #2"),
		}},
		{"logout during a call takes effect when it ends", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("answer c1"),
			s("logout a2"),
			s("agents a1:logged-out a2:on-call:c1 a3:logged-out a4:logged-out"),
			s("end c1"),
			s("agents a1:logged-out a2:logged-out a3:logged-out a4:logged-out"),
			s("wait 1m"),
			s("agents a1:logged-out a2:logged-out a3:logged-out a4:logged-out"),
		}},
		{"login during a call cancels the pending logout", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("answer c1"),
			s("logout a2"), s("login a2"),
			s("end c1"),
			s("agents a1:logged-out a2:wrap-up a3:logged-out a4:logged-out"),
		}},
		{"logout during wrap-up, stale wrap-up timer is harmless", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("answer c1"),
			s("end c1"),
			s("logout a2"),
			s("login a2"),
			s("enqueue c2 paspoort", "ring c2 a2 #1"),
			s("answer c2"),
			s("end c2"),
			s("wait 5s"), s("logout a2"), s("login a2"), s("enqueue c3 paspoort", "ring c3 a2 #1"),
			s("answer c3"), s("end c3"),
			s("wait 5s"), // the timer of c2's wrap-up would fire now
			s("agents a1:logged-out a2:wrap-up a3:logged-out a4:logged-out"),
			s("wait 5s"),
			s("agents a1:logged-out a2:available a3:logged-out a4:logged-out"),
		}},
		{"ended while still queued acts as abandon", []step{
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("end c1", "withdraw c1 a2 #1"),
			s("agents a1:logged-out a2:available a3:logged-out a4:logged-out"),
			s("end unknown"),
		}},
		{"registration refresh changes nothing", []step{
			s("login a2"), s("wait 5s"), s("login a1"),
			s("login a2"),
			s("enqueue c1 paspoort", "ring c1 a2 #1"),
			s("login a2"),
			s("agents a1:available a2:ringing:c1 a3:logged-out a4:logged-out"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runScenario(t, cfg, tt.steps) })
		})
	}
}
