package contact

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"kcc/sip"
)

func TestDialResult(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&sip.StatusError{Code: 486, Reason: "Busy Here"}, resultBusy},
		{&sip.StatusError{Code: 600, Reason: "Busy Everywhere"}, resultBusy},
		{fmt.Errorf("dial: %w", &sip.StatusError{Code: 603, Reason: "Decline"}), resultRejected},
		{&sip.StatusError{Code: 403, Reason: "Forbidden"}, resultRejected},
		{&sip.StatusError{Code: 480, Reason: "Temporarily Unavailable"}, resultNoAnswer},
		{fmt.Errorf("dial +31612345678: %w: %w", sip.ErrNotAnswered, context.DeadlineExceeded), resultNoAnswer},
		{&sip.StatusError{Code: 404, Reason: "Not Found"}, resultFailed},
		{errors.New("send INVITE: network unreachable"), resultFailed},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			if got := dialResult(tc.err); got != tc.want {
				t.Errorf("dialResult(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

func TestRingInfoHeaders(t *testing.T) {
	info := ringInfo{contact: "c1", queue: "paspoort", topic: "Paspoort", lang: "nl", flow: "v1",
		callback: true, care: true, vars: map[string]string{"zaak": "12345", "bad": "a;b"}}
	got := map[string]string{}
	for _, h := range info.headers() {
		got[h.Name] = h.Value
	}
	for name, want := range map[string]string{"X-KCC-Callback": "yes", "X-KCC-Care": "yes", "X-KCC-Var-zaak": "12345",
		"X-KCC-Queue": "paspoort", "X-KCC-Flow-Version": "v1"} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q (headers %v)", name, got[name], want, got)
		}
	}
	if _, ok := got["X-KCC-Var-bad"]; ok {
		t.Error("a variable with a separator reached the headers")
	}
	plain := ringInfo{contact: "c2", queue: "afval"}
	for _, h := range plain.headers() {
		if h.Name == "X-KCC-Callback" || h.Name == "X-KCC-Care" {
			t.Errorf("%s on an ordinary call", h.Name)
		}
	}
}
