package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTortureUDP sends every message of the torture corpus over UDP, each
// to a fresh server (many reuse branch and Call-ID values, so one server
// would take them for retransmissions). None may crash it; the ones RFC 4475
// names a status for must get it; and the server must still answer OPTIONS
// afterwards.
func TestTortureUDP(t *testing.T) {
	files, err := filepath.Glob("testdata/torture/*")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"insuf.dat":      400, // missing From, To, Call-ID
		"badvers.dat":    505, // SIP/7.0
		"bext01.dat":     420, // Require: nothing kcc implements
		"mismatch01.dat": 400, // CSeq method differs
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.9.6")})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := newClient(t, "127.0.9.7")
	buf := make([]byte, 65536)
	for i, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".md") {
			continue
		}
		server := fmt.Sprintf("127.0.10.%d", i+1)
		startServer(t, server)
		dst := &net.UDPAddr{IP: net.ParseIP(server), Port: 5060}
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteToUDP(msg, dst); err != nil && len(msg) < 65000 {
			t.Fatalf("%s: send: %v", name, err)
		}
		// Answers are matched by Call-ID: retransmissions of earlier
		// answers (Timer G) may arrive in this message's window.
		callID := callIDOf(msg)
		code := 0
		_ = conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				break
			}
			if c, ok := statusCode(buf[:n]); ok && c >= 200 && code == 0 && callIDOf(buf[:n]) == callID {
				code = c
			}
		}
		if w, ok := want[name]; ok && code != w {
			t.Errorf("%s: got %d, want %d", name, code, w)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := client.Do(ctx, optionsTo(server))
		cancel()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("after %s the server no longer answers OPTIONS: %v, %v", name, res, err)
		}
	}
}

var callIDHeader = regexp.MustCompile(`(?mi)^(?:call-id|i)[ \t]*:[ \t]*(\S+)`)

func callIDOf(msg []byte) string {
	if m := callIDHeader.FindSubmatch(msg); m != nil {
		return string(m[1])
	}
	return ""
}

func statusCode(b []byte) (int, bool) {
	if !bytes.HasPrefix(b, []byte("SIP/2.0 ")) || len(b) < 11 {
		return 0, false
	}
	c, err := strconv.Atoi(string(b[8:11]))
	return c, err == nil
}

// TestTCPIdleTimeout: a TCP connection that sends half a message and then
// nothing is closed after the idle timeout (reliability.md S5).
func TestTCPIdleTimeout(t *testing.T) {
	const server = "127.0.9.8"
	reg, err := NewRegistrar(RegistrarConfig{Realm: "kcc", DefaultExpires: time.Minute, MinExpires: time.Minute,
		MaxExpires: time.Minute, NonceLifetime: time.Minute}, nil, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runServer(t, Config{Listen: mustAddrPort(server + ":5060"), TCPIdleTimeout: 500 * time.Millisecond, MinSE: 90 * time.Second}, reg)
	c, err := net.Dial("tcp", server+":5060")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("OPTIONS sip:14070@" + server + " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKx\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 100))
	if err == nil {
		t.Fatal("server answered half a message")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", time.Since(start))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v, want about 500ms", d)
	}
}

// TestNoCallIDNeverReachesHandler: an INVITE without Call-ID (RFC 4475
// insuf) is answered 400 by the shield; the call handler never sees it
// (reliability.md §0a: such a request crashed a diago-based server).
func TestNoCallIDNeverReachesHandler(t *testing.T) {
	const server = "127.0.9.13"
	var calls atomic.Int32
	runServerWith(t, Config{Listen: mustAddrPort(server + ":5060"), MinSE: 90 * time.Second}, nil,
		HandlerFunc(func(in *Inbound) { calls.Add(1); _ = in.Reject(486, "Busy Here") }))
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.9.14")})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg, err := os.ReadFile("testdata/torture/insuf.dat")
	if err != nil {
		t.Fatal(err)
	}
	valid := []byte(strings.NewReplacer("CSeq: 193942 INVITE\r\n",
		"CSeq: 193942 INVITE\r\nCall-ID: with-call-id\r\nFrom: <sip:a@127.0.9.14>;tag=1\r\nTo: <sip:user@example.com>\r\nContact: <sip:a@127.0.9.14>\r\n",
		"branch=z9hG4bKkdj.insuf", "branch=z9hG4bKkdj.valid").Replace(string(msg)))
	for _, tc := range []struct {
		name  string
		msg   []byte
		code  int
		calls int32
	}{
		{"without Call-ID, From and To", msg, 400, 0},
		{"the same with them (the handler runs)", valid, 486, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := conn.WriteToUDP(tc.msg, &net.UDPAddr{IP: net.ParseIP(server), Port: 5060}); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			code := 0
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			for code < 200 {
				n, _, err := conn.ReadFromUDP(buf)
				if err != nil {
					t.Fatalf("no final answer: %v", err)
				}
				code, _ = statusCode(buf[:n])
			}
			if code != tc.code || calls.Load() != tc.calls {
				t.Fatalf("got %d with %d handler calls, want %d with %d", code, calls.Load(), tc.code, tc.calls)
			}
		})
	}
}

// TestTCPHeaderTimeout: a peer dripping a header one byte at a time, never
// idle long enough for the idle timeout, loses its connection after the
// header timeout; a complete message in time is answered.
func TestTCPHeaderTimeout(t *testing.T) {
	const server = "127.0.9.15"
	runServer(t, Config{Listen: mustAddrPort(server + ":5060"), TCPIdleTimeout: 2 * time.Second,
		TCPHeaderTimeout: 700 * time.Millisecond, MinSE: 90 * time.Second}, nil)
	options := "OPTIONS sip:14070@" + server + " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKdrip\r\n" +
		"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:14070@" + server + ">\r\nCall-ID: drip\r\nCSeq: 1 OPTIONS\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"

	c, err := net.Dial("tcp", server+":5060")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(options)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(buf); err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200")) {
		t.Fatalf("a whole OPTIONS got %q, %v", buf[:n], err)
	}

	start := time.Now()
	closed := false
	for i := 0; i < len(options) && time.Since(start) < 4*time.Second; i++ {
		if _, err := c.Write([]byte{options[i]}); err != nil {
			closed = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !closed {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, err := c.Read(buf)
		closed = err != nil && !isTimeout(err)
	}
	if !closed {
		t.Fatalf("a 1-byte-per-100ms drip kept its connection for %v", time.Since(start))
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func FuzzMessageGuard(f *testing.F) {
	f.Add([]byte("OPTIONS sip:x SIP/2.0\r\n\r\n"), 3)
	f.Add([]byte("\r\n\r\n\r\n"), 1)
	f.Add([]byte("abc"), 2)
	f.Fuzz(func(t *testing.T, stream []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		g := &messageGuard{timeout: time.Second}
		for len(stream) > 0 {
			n := min(chunk, len(stream))
			g.observe(stream[:n])
			stream = stream[n:]
			if len(g.tail) > len(endOfHeaders)-1 {
				t.Fatalf("tail grew to %d bytes", len(g.tail))
			}
		}
		// A stream that ends with an empty line leaves no header pending.
		g.observe([]byte("\r\n\r\n"))
		if !g.started.IsZero() {
			t.Fatal("header clock still running after the end of a header section")
		}
	})
}
