package sip

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

// presenceLog records presence changes.
type presenceLog struct {
	mu     sync.Mutex
	events []string
}

func (p *presenceLog) Registered(u string)   { p.add("+" + u) }
func (p *presenceLog) Unregistered(u string) { p.add("-" + u) }
func (p *presenceLog) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, s)
}
func (p *presenceLog) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.events, " ")
}

// testClock is the real time plus an offset a test can move forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// startServer runs a Server on ip:5060 with one account (2001/secret, MD5)
// until the test ends. The handler rejects every call with 486.
func startServer(t *testing.T, ip string) (*Server, *Registrar, *presenceLog, *testClock) {
	t.Helper()
	pres := &presenceLog{}
	reg, err := NewRegistrar(RegistrarConfig{Realm: "kcc", DefaultExpires: 600 * time.Second,
		MinExpires: 60 * time.Second, MaxExpires: 3600 * time.Second, NonceLifetime: time.Minute},
		[]Account{{User: "2001", Password: "secret", Algorithms: []string{AlgorithmMD5}}}, pres, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	reg.now = clock.now
	srv := runServer(t, Config{Listen: netip.MustParseAddrPort(ip + ":5060"), UserAgent: "kcc-test", MinSE: 90 * time.Second}, reg)
	return srv, reg, pres, clock
}

// runServer runs a Server with cfg until the test ends; it rejects every
// call with 486.
func runServer(t *testing.T, cfg Config, reg *Registrar) *Server {
	t.Helper()
	return runServerWith(t, cfg, reg, HandlerFunc(func(in *Inbound) { _ = in.Reject(486, "Busy Here") }))
}

// runServerWith runs a Server with handler h until the test ends.
func runServerWith(t *testing.T, cfg Config, reg *Registrar, h Handler) *Server {
	t.Helper()
	srv, err := New(cfg, h, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return srv
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func optionsTo(server string) *sipmsg.Request {
	return sipmsg.NewRequest(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", User: "14070", Host: server, Port: 5060})
}

// newClient is a SIP UA bound to ip (port chosen by sipgo) for sending requests.
func newClient(t *testing.T, ip string) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname(ip))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientConnectionAddr(ip+":5070"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func register(user, server, ip string, expires string) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: server, Port: 5060})
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: server}})
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: server}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: ip, Port: 5070}})
	if expires != "" {
		req.AppendHeader(sipmsg.NewHeader("Expires", expires))
	}
	return req
}

func TestRegistrar(t *testing.T) {
	const server, phone = "127.0.9.1", "127.0.9.2"
	_, reg, pres, clock := startServer(t, server)
	c := newClient(t, phone)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	res, err := c.Do(ctx, register("2001", server, phone, "120"))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		t.Fatalf("REGISTER without credentials: got %d, want 401", res.StatusCode)
	}
	chal := res.GetHeader("WWW-Authenticate").Value()
	for _, want := range []string{`realm="kcc"`, `algorithm=MD5`, `qop="auth"`} {
		if !strings.Contains(chal, want) {
			t.Errorf("challenge %q lacks %s", chal, want)
		}
	}

	// auth sends a REGISTER and answers its challenge with user/pass.
	auth := func(t *testing.T, user, pass, expires string) *sipmsg.Response {
		t.Helper()
		req := register(user, server, phone, expires)
		first, err := c.Do(ctx, req)
		if err != nil || first.StatusCode != 401 {
			t.Fatalf("got %v, %v; want 401", first, err)
		}
		res, err := c.DoDigestAuth(ctx, req, first, sipgo.DigestAuth{Username: user, Password: pass})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("wrong password", func(t *testing.T) {
		if res := auth(t, "2001", "nope", "120"); res.StatusCode != 403 {
			t.Fatalf("got %v; want 403", res)
		}
	})
	t.Run("unknown user answered like a wrong password", func(t *testing.T) {
		if res := auth(t, "9999", "x", "120"); res.StatusCode != 403 {
			t.Fatalf("got %v; want 403", res)
		}
	})
	t.Run("interval too brief", func(t *testing.T) {
		res := auth(t, "2001", "secret", "10")
		if res.StatusCode != 423 || res.GetHeader("Min-Expires").Value() != "60" {
			t.Fatalf("got %v; want 423 with Min-Expires: 60", res)
		}
	})
	t.Run("register", func(t *testing.T) {
		ok := auth(t, "2001", "secret", "120")
		var err error
		if ok.StatusCode != 200 {
			t.Fatalf("got %v, %v; want 200", ok, err)
		}
		if got := ok.Contact().Params; got == nil {
			t.Fatal("200 without Contact")
		} else if e, _ := got.Get("expires"); e != "120" && e != "119" {
			t.Errorf("Contact expires=%s, want 120", e)
		}
		b, found := reg.Lookup("2001")
		if !found || b.Source.Addr().String() != phone || b.Transport != "udp" || !strings.Contains(b.Contact, phone) {
			t.Fatalf("binding %+v, %v", b, found)
		}
		if got := pres.String(); got != "+2001" {
			t.Errorf("presence %q, want +2001", got)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		clock.advance(121 * time.Second)
		if _, found := reg.Lookup("2001"); found {
			t.Fatal("expired binding still found")
		}
		reg.expire()
		if got := pres.String(); got != "+2001 -2001" {
			t.Errorf("presence %q, want +2001 -2001", got)
		}
	})
}

func TestOptionsAndUnknownMethods(t *testing.T) {
	const server, phone = "127.0.9.3", "127.0.9.4"
	startServer(t, server)
	c := newClient(t, phone)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		method sipmsg.RequestMethod
		want   int
	}{
		{sipmsg.OPTIONS, 200},
		{sipmsg.SUBSCRIBE, 405},
		{sipmsg.RequestMethod("FOO"), 501},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			req := sipmsg.NewRequest(tc.method, sipmsg.Uri{Scheme: "sip", User: "14070", Host: server, Port: 5060})
			res, err := c.Do(ctx, req)
			if err != nil || res.StatusCode != tc.want {
				t.Fatalf("got %v, %v; want %d", res, err, tc.want)
			}
			if tc.want != 200 || tc.method == sipmsg.OPTIONS {
				if allow := res.GetHeader("Allow"); allow == nil || !strings.Contains(allow.Value(), "INVITE") {
					t.Errorf("no Allow header in %d", res.StatusCode)
				}
			}
		})
	}
}

func TestShield(t *testing.T) {
	parse := func(raw string) *sipmsg.Request {
		t.Helper()
		msg, err := sipmsg.NewParser().ParseSIP([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return msg.(*sipmsg.Request)
	}
	const good = `OPTIONS sip:14070@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK1
From: <sip:a@127.0.0.2>;tag=1
To: <sip:14070@127.0.0.1>
Call-ID: c1
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

`
	tests := []struct {
		name string
		raw  string
		code int
	}{
		{"good", good, 0},
		{"no From", strings.Replace(good, "From: <sip:a@127.0.0.2>;tag=1\n", "", 1), 400},
		{"no Call-ID", strings.Replace(good, "Call-ID: c1\n", "", 1), 400},
		{"CSeq method mismatch", strings.Replace(good, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1), 400},
		{"version", strings.Replace(good, "SIP/2.0\n", "SIP/7.0\n", 1), 505},
		{"max-forwards 0 on INVITE", strings.NewReplacer("OPTIONS sip", "INVITE sip", "1 OPTIONS", "1 INVITE", "Max-Forwards: 70", "Max-Forwards: 0").Replace(good), 483},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := check(parse(tt.raw))
			if ok != (tt.code == 0) || v.code != tt.code {
				t.Fatalf("got %+v ok=%v, want code %d", v, ok, tt.code)
			}
		})
	}
}
