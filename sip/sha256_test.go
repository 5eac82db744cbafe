package sip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestRegisterSHA256 registers with SHA-256 digest (RFC 8760), computed here
// independently of the registrar's code, for an agent configured to offer
// SHA-256 before MD5.
func TestRegisterSHA256(t *testing.T) {
	const server, phone = "127.0.9.9", "127.0.9.10"
	reg, err := NewRegistrar(RegistrarConfig{Realm: "kcc", DefaultExpires: 600 * time.Second,
		MinExpires: 60 * time.Second, MaxExpires: 3600 * time.Second, NonceLifetime: time.Minute},
		[]Account{{User: "3001", Password: "s3cret", Algorithms: []string{AlgorithmSHA256, AlgorithmMD5}}}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	runServer(t, Config{Listen: mustAddrPort(server + ":5060"), MinSE: 90 * time.Second}, reg)
	c := newClient(t, phone)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	req := register("3001", server, phone, "120")
	res, err := c.Do(ctx, req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("got %v, %v; want 401", res, err)
	}
	chals := res.GetHeaders("WWW-Authenticate")
	if len(chals) != 2 || !strings.Contains(chals[0].Value(), "algorithm=SHA-256") || !strings.Contains(chals[1].Value(), "algorithm=MD5") {
		t.Fatalf("want SHA-256 then MD5 challenges, got %v", chals)
	}
	nonce := regexp.MustCompile(`nonce="([^"]+)"`).FindStringSubmatch(chals[0].Value())[1]
	uri := "sip:" + server + ":5060"
	for _, tc := range []struct {
		name     string
		password string
		want     int
	}{
		{"wrong password", "guess", 403},
		{"right password", "s3cret", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ha1 := sha256hex("3001:kcc:" + tc.password)
			ha2 := sha256hex("REGISTER:" + uri)
			resp := sha256hex(strings.Join([]string{ha1, nonce, "00000001", "c0ffee", "auth", ha2}, ":"))
			req.RemoveHeader("Authorization")
			req.AppendHeader(sipmsg.NewHeader("Authorization", fmt.Sprintf(
				`Digest username="3001", realm="kcc", nonce="%s", uri="%s", response="%s", algorithm=SHA-256, cnonce="c0ffee", qop=auth, nc=00000001`,
				nonce, uri, resp)))
			req.CSeq().SeqNo++
			req.RemoveHeader("Via")
			res, err := c.Do(ctx, req)
			if err != nil || res.StatusCode != tc.want {
				t.Fatalf("got %v, %v; want %d", res, err, tc.want)
			}
		})
	}
	if b, ok := reg.Lookup("3001"); !ok || b.Source.Addr().String() != phone {
		t.Fatalf("binding %+v, %v", b, ok)
	}
}
