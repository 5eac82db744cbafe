package ari

// The fake Asterisk here is an httptest server that answers with the JSON
// shapes recorded in the project's ARI research notes (Asterisk 22.10). It
// checks what kcc sends, not what Asterisk does: tests against a real
// Asterisk belong to the lead's integration work.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/rs/zerolog"
)

const (
	testUser = "kcc"
	testPass = "kccsecret"
)

// request is one REST request the fake received.
type request struct {
	Method string
	Path   string // escaped
	Query  url.Values
	Body   string
	AuthOK bool
}

// fakeAsterisk serves REST through rest and upgrades /ari/events to a
// WebSocket, handing each connection to the test on conns.
type fakeAsterisk struct {
	t     *testing.T
	srv   *httptest.Server
	conns chan *serverConn

	mu   sync.Mutex
	rest http.HandlerFunc
	reqs []request
}

func newFakeAsterisk(t *testing.T) *fakeAsterisk {
	t.Helper()
	fa := &fakeAsterisk{t: t, conns: make(chan *serverConn, 16)}
	fa.srv = httptest.NewServer(http.HandlerFunc(fa.serve))
	t.Cleanup(fa.srv.Close)
	return fa
}

func (fa *fakeAsterisk) setREST(h http.HandlerFunc) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.rest = h
}

func (fa *fakeAsterisk) requests() []request {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return append([]request(nil), fa.reqs...)
}

func (fa *fakeAsterisk) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ari/events" {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		sc := &serverConn{conn: conn, query: r.URL.Query(), done: make(chan struct{})}
		go sc.readLoop()
		fa.t.Cleanup(sc.close)
		fa.conns <- sc
		return
	}
	body, _ := io.ReadAll(r.Body)
	user, pass, ok := r.BasicAuth()
	req := request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Body: string(body),
		AuthOK: ok && user == testUser && pass == testPass}
	fa.mu.Lock()
	fa.reqs = append(fa.reqs, req)
	h := fa.rest
	fa.mu.Unlock()
	if !req.AuthOK {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Authentication required"}`)
		return
	}
	if h == nil {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Resource not found"}`)
		return
	}
	h(w, r)
}

// next returns the next WebSocket connection the client opened.
func (fa *fakeAsterisk) next(t *testing.T) *serverConn {
	t.Helper()
	select {
	case sc := <-fa.conns:
		return sc
	case <-time.After(10 * time.Second):
		t.Fatal("client did not connect the events websocket")
		return nil
	}
}

// serverConn is Asterisk's side of one events WebSocket.
type serverConn struct {
	conn  net.Conn
	query url.Values
	wmu   sync.Mutex
	done  chan struct{} // closed when the client's side is gone
	once  sync.Once
}

// readLoop answers pings and notices when the client goes away.
func (sc *serverConn) readLoop() {
	defer close(sc.done)
	for {
		if _, _, err := wsutil.ReadClientData(lockedRW{sc}); err != nil {
			return
		}
	}
}

// send writes one text frame.
func (sc *serverConn) send(t *testing.T, frame string) {
	t.Helper()
	b, err := ws.CompileFrame(ws.NewTextFrame([]byte(frame)))
	if err != nil {
		t.Fatal(err)
	}
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if _, err := sc.conn.Write(b); err != nil {
		t.Fatalf("send frame: %v", err)
	}
}

// close drops the TCP connection without a close frame.
func (sc *serverConn) close() { sc.once.Do(func() { sc.conn.Close() }) }

// lockedRW serialises the read loop's control replies with send.
type lockedRW struct{ sc *serverConn }

func (l lockedRW) Read(p []byte) (int, error) { return l.sc.conn.Read(p) }
func (l lockedRW) Write(p []byte) (int, error) {
	l.sc.wmu.Lock()
	defer l.sc.wmu.Unlock()
	return l.sc.conn.Write(p)
}

// testConfig is a Config for the fake at url with fast reconnects.
func testConfig(url string) Config {
	return Config{
		URL: url, Username: testUser, Password: testPass,
		ReconnectMin: time.Millisecond, ReconnectMax: 20 * time.Millisecond,
	}
}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startClient creates a client for fa, runs it until the test ends and
// returns it with the server side of its first connection.
func startClient(t *testing.T, fa *fakeAsterisk, mod func(*Config)) (*Client, *serverConn) {
	t.Helper()
	cfg := testConfig(fa.srv.URL)
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	sc := fa.next(t)
	waitConnected(t, c)
	return c, sc
}

// runClient runs c.Run until the test ends and checks that it returns nil.
func runClient(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitConnected(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("client never reported Connected")
	}
}

// recv returns the next event of s or fails.
func recv(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatalf("subscription ended: %v", s.Err())
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return nil
	}
}

// frame builds a channel event of type typ for channel id; n makes frames
// distinct.
func frame(typ, id string, n int) string {
	return fmt.Sprintf(`{"type":%q,"application":"kcc","timestamp":"2026-11-27T08:31:44.%03d+0000","asterisk_id":"02:fc:00:00:00:01","channel":{"id":%q,"name":"PJSIP/1001-%08d","state":"Up"}}`, typ, n%1000, id, n)
}
