package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"kcc/call"
)

func TestParseInfoDigit(t *testing.T) {
	tests := []struct {
		ct, body string
		want     call.Digit
		err      bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', false},
		{"application/dtmf-relay", "Signal= #\nDuration=100", '#', false},
		{"application/dtmf-relay", "signal=*", '*', false},
		{"application/dtmf-relay", "Signal=11\r\n", '#', false},
		{"application/dtmf-relay", "Signal=10", '*', false},
		{"application/dtmf-relay", "Signal=a", 'A', false},
		{"application/dtmf", "7", '7', false},
		{"application/dtmf", " 0 \r\n", '0', false},
		{"application/dtmf-relay", "Duration=160", 0, true},
		{"application/dtmf-relay", "Signal=55", 0, true},
		{"application/dtmf", "x", 0, true},
		{"application/dtmf", "", 0, true},
		{"application/dtmf", strings.Repeat("1", 2000), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.ct+"/"+tt.body, func(t *testing.T) {
			got, err := parseInfoDigit(tt.ct, []byte(tt.body))
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("got %q, %v; want %q, err=%v", got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzParseInfoDigit(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Add("application/dtmf-relay", []byte("Signal=\n"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, err := parseInfoDigit(ct, body)
		if err == nil && !d.Valid() {
			t.Fatalf("returned invalid key %q", d)
		}
	})
}

func FuzzParseSessionExpires(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uac", "4000 ; refresher = UAS", "0", "-1", "1;refresher=x", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		se, err := parseSessionExpires(s)
		if err == nil && (se.interval <= 0 || (se.refresher != "" && se.refresher != "uac" && se.refresher != "uas")) {
			t.Fatalf("accepted %q as %+v", s, se)
		}
	})
}

func TestNegotiateTimer(t *testing.T) {
	const want, minSE = 1800 * time.Second, 90 * time.Second
	tests := []struct {
		name    string
		headers map[string]string
		se      sessionExpires
		ok      bool
		err     bool
	}{
		{"nothing asked, no support: we refresh", nil, sessionExpires{want, "uas"}, true, false},
		{"nothing asked, supports timer: caller refreshes", map[string]string{"Supported": "replaces, timer"}, sessionExpires{want, "uac"}, true, false},
		{"asked with refresher", map[string]string{"Supported": "timer", "Session-Expires": "600;refresher=uas"}, sessionExpires{600 * time.Second, "uas"}, true, false},
		{"asked without refresher, supports", map[string]string{"Supported": "timer", "Session-Expires": "600"}, sessionExpires{600 * time.Second, "uac"}, true, false},
		{"asked without refresher, no support", map[string]string{"Session-Expires": "600"}, sessionExpires{600 * time.Second, "uas"}, true, false},
		{"too small", map[string]string{"Session-Expires": "30"}, sessionExpires{30 * time.Second, ""}, false, false},
		{"caller's Min-SE above ours", map[string]string{"Min-SE": "3600"}, sessionExpires{3600 * time.Second, "uas"}, true, false},
		{"garbage", map[string]string{"Session-Expires": "soon"}, sessionExpires{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "14070", Host: "127.0.0.1"})
			for k, v := range tt.headers {
				req.AppendHeader(sipmsg.NewHeader(k, v))
			}
			se, ok, err := negotiateTimer(req, want, minSE)
			if (err != nil) != tt.err || ok != tt.ok || (!tt.err && se != tt.se) {
				t.Fatalf("got %+v ok=%v err=%v; want %+v ok=%v err=%v", se, ok, err, tt.se, tt.ok, tt.err)
			}
		})
	}
}

// TestInviteRefusals: extensions we lack (420), too short session timers
// (422) and draining (503, Retry-After only when configured).
func TestInviteRefusals(t *testing.T) {
	const server, phone = "127.0.9.11", "127.0.9.12"
	srv := runServer(t, Config{Listen: mustAddrPort(server + ":5060"), MinSE: 90 * time.Second, RetryAfter: 30 * time.Second}, nil)
	c := newClient(t, phone)
	invite := func(hdrs ...sipmsg.Header) *sipmsg.Response {
		t.Helper()
		req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "14070", Host: server, Port: 5060})
		req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "r", Host: phone, Port: 5070}})
		for _, h := range hdrs {
			req.AppendHeader(h)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := c.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := invite(sipmsg.NewHeader("Require", "100rel")); res.StatusCode != 420 || res.GetHeader("Unsupported").Value() != "100rel" {
		t.Errorf("Require: 100rel: got %v", res)
	}
	if res := invite(sipmsg.NewHeader("Session-Expires", "30")); res.StatusCode != 422 || res.GetHeader("Min-SE").Value() != "90" {
		t.Errorf("Session-Expires: 30: got %v", res)
	}
	if res := invite(); res.StatusCode != 486 {
		t.Errorf("plain INVITE: got %v, want the handler's 486", res)
	}
	srv.Drain()
	if res := invite(); res.StatusCode != 503 || res.GetHeader("Retry-After") == nil || res.GetHeader("Retry-After").Value() != "30" {
		t.Errorf("while draining: got %v, want 503 with Retry-After: 30", res)
	}
}
