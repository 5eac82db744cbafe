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
// consistent and matching is complete. Run long with:
//
//	go test -run '^$' -fuzz FuzzRouter ./routing
func FuzzRouter(f *testing.F) {
	f.Add([]byte{0, 0, 2, 0, 5, 0, 6, 0})                   // login, enqueue, answer, end
	f.Add([]byte{0, 1, 2, 1, 2, 5, 7, 15, 7, 15, 3, 0})     // timeouts, abandon
	f.Add([]byte{2, 0, 2, 1, 0, 2, 4, 0, 1, 2, 0, 2, 7, 9}) // decline, logout while ringing
	f.Add([]byte{0, 3, 2, 2, 5, 0, 1, 3, 6, 0, 0, 3, 7, 30})
	f.Add([]byte{2, 4, 3, 4, 5, 4, 6, 4, 4, 4, 0, 0, 0, 0, 1, 1})                   // calls for unknown contacts
	f.Add([]byte{0, 1, 8, 5, 2, 0, 8, 1, 0, 1, 8, 5, 2, 1, 5, 1, 6, 1, 7, 9, 8, 1}) // busy elsewhere
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512 {
			data = data[:512]
		}
		synctest.Test(t, func(t *testing.T) {
			fx := newFixture(t, Config{RingTimeout: 5 * time.Second, WrapUp: 3 * time.Second},
				append(testQueues(), Queue{Name: "combi", Skills: []string{"afval", "burgerzaken"}}), testAgents())
			queues := []string{"paspoort", "afval", "algemeen", "combi"}
			offers := map[call.ID]uint64{}
			fx.line.onRing = func(o Offer) { offers[o.Contact] = o.ID } // Ring runs one at a time
			next := 0
			contact := func(b byte) call.ID { return call.ID(fmt.Sprint("c", int(b)%(next+1))) }
			for i := 0; i+1 < len(data); i += 2 {
				op, arg := data[i]%9, data[i+1]
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
					if err := fx.Enqueue(Contact{ID: id, Queue: queues[int(arg)%4]}); err != nil {
						t.Fatalf("Enqueue: %v", err)
					}
				case 3:
					fx.Abandon(contact(arg))
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
				}
				checkInvariants(t, fx.Router)
			}
		})
	})
}
