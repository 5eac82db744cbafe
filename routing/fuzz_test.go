package routing

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"kcc/call"
)

// FuzzRouter drives the router with arbitrary sequences of calls, including
// nonsensical ones (answering withdrawn offers, ending unknown contacts,
// logging out twice), and checks after every call that the router's state is
// consistent and matching is complete. Ops 13 and 14 queue callers and
// callbacks in queues that refuse or let go of callers when they are empty,
// turn waiting contacts into callbacks and move them there, while the other
// ops log agents out and pause them. Run long with:
//
//	go test -run '^$' -fuzz FuzzRouter ./routing
func FuzzRouter(f *testing.F) {
	f.Add([]byte{0, 0, 2, 0, 5, 0, 6, 0})                   // login, enqueue, answer, end
	f.Add([]byte{0, 1, 2, 1, 2, 5, 7, 15, 7, 15, 3, 0})     // timeouts, abandon
	f.Add([]byte{2, 0, 2, 1, 0, 2, 4, 0, 1, 2, 0, 2, 7, 9}) // decline, logout while ringing
	f.Add([]byte{0, 3, 2, 2, 5, 0, 1, 3, 6, 0, 0, 3, 7, 30})
	f.Add([]byte{2, 4, 3, 4, 5, 4, 6, 4, 4, 4, 0, 0, 0, 0, 1, 1})                        // calls for unknown contacts
	f.Add([]byte{0, 1, 8, 5, 2, 0, 8, 1, 0, 1, 8, 5, 2, 1, 5, 1, 6, 1, 7, 9, 8, 1})      // busy elsewhere
	f.Add([]byte{0, 0, 2, 4, 9, 0, 2, 4, 10, 0, 12, 7, 7, 31, 11, 5, 7, 31, 4, 0, 4, 1}) // pause, escalation, move
	f.Add([]byte{0, 1, 12, 2, 12, 6, 4, 0, 4, 1, 4, 2, 7, 20, 9, 1, 5, 0, 6, 0, 10, 1})  // priorities, RONA pause
	f.Add([]byte{0, 0, 0, 2, 13, 0, 13, 1, 13, 4, 14, 1, 9, 2, 1, 0, 7, 15, 13, 5})      // empty policies: pause, logout
	f.Add([]byte{13, 0, 0, 2, 14, 0, 2, 0, 14, 1, 7, 25, 4, 1, 5, 1, 14, 130, 1, 2})     // callbacks ringing, declined, moved
	f.Add([]byte{0, 0, 2, 0, 13, 2, 5, 0, 13, 3, 1, 0, 6, 0, 13, 7, 14, 129, 7, 31})     // logout during a call, move into empty
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512 {
			data = data[:512]
		}
		synctest.Test(t, func(t *testing.T) {
			cfg := Config{RingTimeout: 5 * time.Second, WrapUp: 3 * time.Second, MaxMisses: 2,
				Care: Care{Priority: 5, WrapUp: time.Second}}
			esc := Queue{Name: "esc", Skills: []string{"afval", "burgerzaken"}, Strategy: RoundRobin, MaxWait: 20 * time.Second,
				Escalation: []Step{{After: 10 * time.Second, Skills: []string{"afval"}}, {After: 30 * time.Second, Skills: []string{}, MinProficiency: 1}}}
			fx := newFixture(t, cfg, append(testQueues(),
				Queue{Name: "combi", Skills: []string{"afval", "burgerzaken"}, Strategy: MostSkilled, Priority: 1}, esc,
				Queue{Name: "leeg", Skills: []string{"burgerzaken"}, JoinEmpty: EmptyNoAgents, LeaveEmpty: EmptyNoAgents, MaxWait: 15 * time.Second},
				Queue{Name: "vrij", Skills: []string{"afval"}, JoinEmpty: EmptyNoneAvailable, LeaveEmpty: EmptyNoneAvailable, MaxLength: 3,
					Escalation: []Step{{After: 10 * time.Second, Skills: []string{"burgerzaken"}}}},
				Queue{Name: "open", Skills: []string{"afval", "burgerzaken"}, LeaveEmpty: EmptyNoneAvailable}), testAgents())
			queues := []string{"paspoort", "afval", "algemeen", "combi", "esc"}
			emptyQueues := []string{"leeg", "vrij", "open"}
			offers := map[call.ID]uint64{}
			fx.line.onRing = func(o Offer) { offers[o.Contact] = o.ID } // Ring runs one at a time
			next := 0
			contact := func(b byte) call.ID { return call.ID(fmt.Sprint("c", int(b)%(next+1))) }
			for i := 0; i+1 < len(data); i += 2 {
				op, arg := data[i]%15, data[i+1]
				agent := testAgents()[int(arg)%4].ID
				switch op {
				case 0:
					if err := fx.Login(agent); err != nil {
						t.Fatalf("Login: %v", err)
					}
				case 1:
					if err := fx.Logout(agent); err != nil {
						t.Fatalf("Logout: %v", err)
					}
				case 2:
					id := call.ID(fmt.Sprint("c", next))
					next++
					if err := fx.Enqueue(Contact{ID: id, Queue: queues[int(arg)%5]}); err != nil {
						t.Fatalf("Enqueue: %v", err)
					}
				case 3:
					if arg&128 != 0 {
						if err := fx.Exit(contact(arg), "0"); err != nil && !errors.Is(err, ErrUnknownContact) {
							t.Fatalf("Exit: %v", err)
						}
					} else {
						fx.Abandon(contact(arg))
					}
				case 4:
					fx.Declined(offers[contact(arg)])
				case 5:
					if err := fx.Answered(offers[contact(arg)]); err != nil && !errors.Is(err, ErrStaleOffer) {
						t.Fatalf("Answered: %v", err)
					}
				case 6:
					fx.Ended(contact(arg))
				case 7:
					advance(time.Duration(arg%32) * time.Second)
				case 8:
					if err := fx.SetBusy(agent, arg&4 != 0); err != nil {
						t.Fatalf("SetBusy: %v", err)
					}
				case 9:
					if err := fx.Pause(agent, "fuzz"); err != nil {
						t.Fatalf("Pause: %v", err)
					}
				case 10:
					if err := fx.Unpause(agent); err != nil {
						t.Fatalf("Unpause: %v", err)
					}
				case 11:
					if err := fx.Move(contact(arg), queues[int(arg/8)%5]); err != nil && !errors.Is(err, ErrUnknownContact) {
						t.Fatalf("Move: %v", err)
					}
				case 12:
					id := call.ID(fmt.Sprint("c", next))
					next++
					c := Contact{ID: id, Queue: queues[int(arg)%5], Priority: int(arg/5) % 3, Care: arg&32 != 0}
					if arg&64 != 0 {
						c.Skills = []string{"afval"}
					}
					if err := fx.Enqueue(c); err != nil {
						t.Fatalf("Enqueue: %v", err)
					}
					if _, err := fx.Estimate(id); err != nil && !errors.Is(err, ErrUnknownContact) {
						t.Fatalf("Estimate: %v", err)
					}
				case 13:
					id := call.ID(fmt.Sprint("c", next))
					next++
					c := Contact{ID: id, Queue: emptyQueues[int(arg)%3], Callback: arg&4 != 0, Care: arg&8 != 0}
					err := fx.Enqueue(c)
					if err != nil && (c.Callback || !errors.Is(err, ErrQueueEmpty) && !errors.Is(err, ErrQueueFull)) {
						t.Fatalf("Enqueue %+v: %v", c, err)
					}
				case 14:
					var err error
					if arg&128 != 0 {
						err = fx.Move(contact(arg), emptyQueues[int(arg/8)%3])
					} else {
						err = fx.Callback(contact(arg))
					}
					if err != nil && !errors.Is(err, ErrUnknownContact) {
						t.Fatalf("op 14 (%d): %v", arg, err)
					}
				}
				checkInvariants(t, fx.Router)
			}
		})
	})
}
