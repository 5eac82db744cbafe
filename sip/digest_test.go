package sip

import (
	"errors"
	"testing"
	"time"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want credentials
		err  bool
	}{
		{
			name: "baresip style",
			in:   `Digest username="2001",realm="kcc",nonce="abc",uri="sip:127.0.0.1:5060",response="0123",algorithm=MD5,cnonce="cn",qop=auth,nc=00000001`,
			want: credentials{username: "2001", realm: "kcc", nonce: "abc", uri: "sip:127.0.0.1:5060", response: "0123",
				algorithm: "MD5", cnonce: "cn", qop: "auth", nc: "00000001"},
		},
		{
			name: "spaces, no qop, default algorithm",
			in:   `Digest  username = "u" , realm="r", nonce="n", uri="sip:x", response="f"`,
			want: credentials{username: "u", realm: "r", nonce: "n", uri: "sip:x", response: "f", algorithm: "MD5"},
		},
		{
			name: "quoted comma",
			in:   `Digest username="a,b", realm="r", nonce="n", uri="sip:x", response="f", algorithm=SHA-256`,
			want: credentials{username: "a,b", realm: "r", nonce: "n", uri: "sip:x", response: "f", algorithm: "SHA-256"},
		},
		{name: "basic scheme", in: `Basic dXNlcjpwYXNz`, err: true},
		{name: "unterminated quote", in: `Digest username="u, realm="r"`, err: true},
		{name: "missing response", in: `Digest username="u", realm="r", nonce="n", uri="sip:x"`, err: true},
		{name: "no value", in: `Digest username`, err: true},
		{name: "garbage after quote", in: `Digest username="u"x, nonce="n"`, err: true},
		{name: "empty", in: ``, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCredentials(tt.in)
			if tt.err {
				if !errors.Is(err, errBadCredentials) {
					t.Fatalf("got %+v, %v; want errBadCredentials", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

// The RFC 2617 §3.5 example (MD5, qop=auth) and the RFC 7616 §3.9.1
// example (SHA-256) check the response computation against published values.
func TestExpectedResponse(t *testing.T) {
	rfc2617 := credentials{username: "Mufasa", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", uri: "/dir/index.html",
		algorithm: "MD5", cnonce: "0a4f113b", qop: "auth", nc: "00000001"}
	if got, want := expectedResponse(rfc2617, "GET", "testrealm@host.com", "Circle Of Life"),
		"6629fae49393a05397450978507c4ef1"; got != want {
		t.Errorf("MD5: got %s, want %s", got, want)
	}
	rfc7616 := credentials{username: "Mufasa", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri: "/dir/index.html",
		algorithm: "SHA-256", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop: "auth", nc: "00000001"}
	if got, want := expectedResponse(rfc7616, "GET", "http-auth@example.org", "Circle of Life"),
		"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"; got != want {
		t.Errorf("SHA-256: got %s, want %s", got, want)
	}
}

func TestNonces(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := nonces{key: []byte("k"), lifetime: time.Minute, now: func() time.Time { return now }}
	fresh := n.issue()
	if valid, stale := n.check(fresh); !valid || stale {
		t.Fatalf("fresh nonce: valid=%v stale=%v", valid, stale)
	}
	now = now.Add(2 * time.Minute)
	if valid, stale := n.check(fresh); !valid || !stale {
		t.Fatalf("old nonce: valid=%v stale=%v, want valid and stale", valid, stale)
	}
	other := nonces{key: []byte("other"), lifetime: time.Minute, now: n.now}
	for _, bad := range []string{other.issue(), "", "!!", fresh[:10], fresh + "AA"} {
		if valid, _ := n.check(bad); valid {
			t.Errorf("nonce %q accepted", bad)
		}
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="2001",realm="kcc",nonce="abc",uri="sip:127.0.0.1",response="0123",algorithm=MD5,cnonce="cn",qop=auth,nc=00000001`)
	f.Add(`Digest username="a,b", realm="r"`)
	f.Add(`Digest x=`)
	f.Add(`Digest ="`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCredentials(s)
		if err == nil && (c.username == "" || c.nonce == "" || c.uri == "" || c.response == "") {
			t.Fatalf("accepted incomplete credentials %+v", c)
		}
	})
}
