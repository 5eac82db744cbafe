package ari

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/rs/zerolog"
)

func TestEventsInOrder(t *testing.T) {
	fa := newFakeAsterisk(t)
	c, sc := startClient(t, fa, func(c *Config) { c.SubscribeAll = true })
	if got, want := sc.query.Get("app"), "kcc"; got != want {
		t.Errorf("websocket app = %q, want %q", got, want)
	}
	if got, want := sc.query.Get("api_key"), testUser+":"+testPass; got != want {
		t.Errorf("websocket api_key = %q, want %q", got, want)
	}
	if got, want := sc.query.Get("subscribeAll"), "true"; got != want {
		t.Errorf("websocket subscribeAll = %q, want %q", got, want)
	}

	mine := c.Subscribe(Filter{Channels: []string{"c1"}})
	all := c.Subscribe(Filter{})
	types := []string{"StasisStart", "ChannelStateChange", "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"}
	for i, typ := range types {
		sc.send(t, frame(typ, "c1", i))
		sc.send(t, frame(typ, "c2", 100+i))
	}
	for i, typ := range types {
		ev := recv(t, mine)
		if got := ev.EventType(); got != typ {
			t.Fatalf("event %d for c1 = %s, want %s", i, got, typ)
		}
	}
	for i := range 2 * len(types) {
		ev := recv(t, all)
		want := types[i/2]
		if got := ev.EventType(); got != want {
			t.Fatalf("event %d on the all-subscription = %s, want %s", i, got, want)
		}
	}
	select {
	case ev := <-mine.Events():
		t.Errorf("c1 subscription got an extra event %#v", ev)
	default:
	}
}

func TestSubscribeBeforeExecute(t *testing.T) {
	fa := newFakeAsterisk(t)
	var sc *serverConn
	var mu sync.Mutex
	fa.setREST(func(w http.ResponseWriter, r *http.Request) {
		// As Asterisk does for externalMedia, the event goes out before
		// the HTTP reply.
		mu.Lock()
		sc.send(t, frame("StasisStart", r.URL.Query().Get("channelId"), 1))
		mu.Unlock()
		w.Write([]byte(chanJSON))
	})
	c, first := startClient(t, fa, nil)
	mu.Lock()
	sc = first
	mu.Unlock()

	sub := c.Subscribe(Filter{Channels: []string{"agent-1"}})
	defer sub.Close()
	if _, err := c.Originate(t.Context(), OriginateRequest{ChannelID: "agent-1", Endpoint: "PJSIP/1001"}); err != nil {
		t.Fatal(err)
	}
	ev := recv(t, sub)
	ss, ok := ev.(StasisStart)
	if !ok || ss.Channel.ID != "agent-1" {
		t.Fatalf("got %#v, want StasisStart for agent-1", ev)
	}
}

func TestReconnect(t *testing.T) {
	fa := newFakeAsterisk(t)
	c, sc := startClient(t, fa, nil)
	sub := c.Subscribe(Filter{Channels: []string{"c1"}})
	sc.send(t, frame("StasisStart", "c1", 1))
	if got := recv(t, sub).EventType(); got != "StasisStart" {
		t.Fatalf("got %s, want StasisStart", got)
	}

	up, changed := c.ConnState()
	if !up {
		t.Fatal("ConnState says down while connected")
	}
	sc.close() // abrupt drop, no close frame
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("ConnState did not change after the drop")
	}
	sc2 := fa.next(t)
	waitConnected(t, c)
	if !c.IsConnected() {
		t.Fatal("IsConnected false after reconnect")
	}
	// The subscription survives the reconnect.
	sc2.send(t, frame("StasisEnd", "c1", 2))
	if got := recv(t, sub).EventType(); got != "StasisEnd" {
		t.Fatalf("after reconnect got %s, want StasisEnd", got)
	}
}

func TestOverflowClosesSlowSubscription(t *testing.T) {
	fa := newFakeAsterisk(t)
	c, sc := startClient(t, fa, func(c *Config) { c.EventBuffer = 2 })
	slow := c.Subscribe(Filter{})
	fast := c.Subscribe(Filter{})
	const n = 5
	for i := range n {
		sc.send(t, frame("ChannelStateChange", "c1", i))
		recv(t, fast) // keeps up; by the last one the reader has offered all to slow
	}
	var got int
	for range slow.Events() {
		got++
	}
	if got != 2 {
		t.Errorf("slow subscription yielded %d events, want its buffer of 2", got)
	}
	if err := slow.Err(); !errors.Is(err, ErrOverflow) {
		t.Errorf("slow.Err() = %v, want ErrOverflow", err)
	}
	if err := fast.Err(); err != nil {
		t.Errorf("fast.Err() = %v, want nil", err)
	}
}

func TestBadAndDuplicateFrames(t *testing.T) {
	fa := newFakeAsterisk(t)
	c, sc := startClient(t, fa, nil)
	sub := c.Subscribe(Filter{})
	dup := frame("ChannelStateChange", "c1", 1)
	sc.send(t, `not json`)
	sc.send(t, `{"type":"StasisStart"}`)
	sc.send(t, dup)
	sc.send(t, dup) // as with an endpoint subscription: the same frame twice
	sc.send(t, `{"type":"ChannelTalkingStarted","application":"kcc","timestamp":"2026-11-27T08:31:44.740+0000","channel":{"id":"c1"}}`)
	if ev := recv(t, sub); ev.EventType() != "ChannelStateChange" {
		t.Fatalf("first event %s, want ChannelStateChange", ev.EventType())
	}
	ev := recv(t, sub)
	if _, ok := ev.(Unknown); !ok || ev.EventType() != "ChannelTalkingStarted" {
		t.Fatalf("second event %#v, want Unknown ChannelTalkingStarted (the duplicate dropped)", ev)
	}
	if !c.IsConnected() {
		t.Error("bad frames broke the connection")
	}
}

func TestRunStops(t *testing.T) {
	fa := newFakeAsterisk(t)
	c, err := New(testConfig(fa.srv.URL), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	before := c.Subscribe(Filter{}) // before Run: allowed
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	sc := fa.next(t)
	waitConnected(t, c)
	if err := c.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if c.IsConnected() {
		t.Error("still connected after Run returned")
	}
	if _, ok := <-before.Events(); ok || !errors.Is(before.Err(), ErrStopped) {
		t.Errorf("subscription after Run: open=%v err=%v, want closed with ErrStopped", ok, before.Err())
	}
	after := c.Subscribe(Filter{})
	if _, ok := <-after.Events(); ok || !errors.Is(after.Err(), ErrStopped) {
		t.Errorf("Subscribe after Run: open=%v err=%v, want closed with ErrStopped", ok, after.Err())
	}
	select {
	case <-sc.done:
	case <-time.After(10 * time.Second):
		t.Error("server side of the socket still open after Run returned")
	}
}

func TestSubscriptionClose(t *testing.T) {
	fa := newFakeAsterisk(t)
	c, sc := startClient(t, fa, nil)
	closed := c.Subscribe(Filter{})
	open := c.Subscribe(Filter{})
	closed.Close()
	closed.Close() // twice is fine
	sc.send(t, frame("StasisStart", "c1", 1))
	recv(t, open)
	if _, ok := <-closed.Events(); ok {
		t.Error("closed subscription delivered an event")
	}
	if err := closed.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
}

// TestReconnectBackoff observes the delays between failing connection
// attempts in fake time.
func TestReconnectBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log lockedBuffer
		c, err := New(Config{Username: "kcc", Password: testPass, ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second},
			zerolog.New(&log))
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu       sync.Mutex
			attempts []time.Time
		)
		c.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, time.Now())
			return nil, errors.New("connection refused")
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(6 * time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) < 7 {
			t.Fatalf("%d attempts in 6s, want at least 7", len(attempts))
		}
		for i := 1; i < len(attempts); i++ {
			ceil := min(100*time.Millisecond<<(i-1), time.Second)
			if gap := attempts[i].Sub(attempts[i-1]); gap < ceil/2 || gap > ceil {
				t.Errorf("gap before attempt %d = %v, want within [%v, %v]", i, gap, ceil/2, ceil)
			}
		}
		if strings.Contains(log.String(), testPass) {
			t.Error("log contains the password")
		}
		if !strings.Contains(log.String(), "connection refused") {
			t.Error("log does not mention the connection failures")
		}
	})
}

// pipeServer accepts the client's WebSocket over net.Pipe inside a
// synctest bubble and hands the server side to the test.
func pipeServer(t *testing.T, c *Client) <-chan net.Conn {
	conns := make(chan net.Conn, 8)
	c.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		cli, srv := net.Pipe()
		go func() {
			if _, err := ws.Upgrade(srv); err != nil {
				srv.Close()
				return
			}
			conns <- srv
		}()
		return cli, nil
	}
	return conns
}

// TestKeepalive checks, in fake time, that a peer answering pings keeps
// the connection and a silent one is dropped and redialled.
func TestKeepalive(t *testing.T) {
	for _, tt := range []struct {
		name       string
		answer     bool
		wantRedial bool
	}{
		{"answering peer stays connected", true, false},
		{"silent peer is dropped", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(Config{Username: "kcc", PingInterval: time.Second, Timeout: time.Second,
					ReconnectMin: 10 * time.Millisecond, ReconnectMax: 10 * time.Millisecond}, zerolog.Nop())
				if err != nil {
					t.Fatal(err)
				}
				conns := pipeServer(t, c)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- c.Run(ctx) }()
				srv := <-conns
				var wg sync.WaitGroup
				if tt.answer {
					wg.Go(func() {
						for {
							if _, _, err := wsutil.ReadClientData(srv); err != nil {
								return
							}
						}
					})
				}
				time.Sleep(10 * time.Second)
				synctest.Wait()
				redialled := len(conns) > 0
				if redialled != tt.wantRedial {
					t.Errorf("redialled = %v, want %v", redialled, tt.wantRedial)
				}
				if !tt.wantRedial && !c.IsConnected() {
					t.Error("not connected to a peer that answers pings")
				}
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run = %v", err)
				}
				srv.Close()
				wg.Wait()
				for len(conns) > 0 {
					(<-conns).Close()
				}
			})
		})
	}
}

// TestConnStateLoop runs the documented consumer loop and checks that it
// sees up, down and up again.
func TestConnStateLoop(t *testing.T) {
	fa := newFakeAsterisk(t)
	c, err := New(testConfig(fa.srv.URL), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	states := make(chan bool, 16)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			up, changed := c.ConnState()
			states <- up
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	})
	defer func() { cancel(); wg.Wait() }()
	next := func() bool {
		t.Helper()
		select {
		case s := <-states:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no state change")
			return false
		}
	}
	if next() {
		t.Fatal("initial state up before Run")
	}
	runClient(t, c)
	sc := fa.next(t)
	if !next() {
		t.Fatal("want up after connect")
	}
	sc.close()
	if next() {
		t.Fatal("want down after the drop")
	}
	fa.next(t)
	if !next() {
		t.Fatal("want up after reconnect")
	}
}
