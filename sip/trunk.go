package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Trunk is the carrier's SIP proxy that kcc places its own outgoing calls
// through: callbacks to residents and IVR transfers.
type Trunk struct {
	Proxy     string // host:port every INVITE is sent to
	Domain    string // host of the request URI, From and To; empty: Proxy's host
	Transport string // "udp" (default) or "tcp"
	// Username and Password answer the carrier's digest challenge (401 or
	// 407); empty Password: none expected.
	Username, Password string
	// Identity is the number kcc calls from (the service number): the user
	// of From and of P-Asserted-Identity, which carriers require to show
	// it to the called resident (RFC 3325).
	Identity string
}

// Validate reports a trunk that cannot place calls.
func (t Trunk) Validate() error {
	host, port, err := net.SplitHostPort(t.Proxy)
	if err != nil || host == "" {
		return fmt.Errorf("trunk proxy %q: want host:port", t.Proxy)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("trunk proxy %q: bad port", t.Proxy)
	}
	switch t.Transport {
	case "", "udp", "tcp":
	default:
		return fmt.Errorf("trunk transport %q: want udp or tcp", t.Transport)
	}
	if !dialable(t.Identity) {
		return fmt.Errorf("trunk identity %q: want the number kcc calls from", t.Identity)
	}
	return nil
}

func (t Trunk) domain() string {
	if t.Domain != "" {
		return t.Domain
	}
	host, _, _ := net.SplitHostPort(t.Proxy)
	return host
}

// dialable admits a number as the user part of a request URI: digits with
// an optional leading +. Which numbers kcc may call at all is package
// numbers' decision; this only keeps anything else out of the request line.
func dialable(number string) bool {
	if number == "" || len(number) > 20 {
		return false
	}
	for i, r := range number {
		if !(r >= '0' && r <= '9' || r == '+' && i == 0) {
			return false
		}
	}
	return number != "+"
}

// ErrBadNumber is returned by DialTrunk for a number that is not digits.
var ErrBadNumber = errors.New("not a dialable number")

// DialTrunk calls number through t and waits for the answer, like Dial:
// INVITE sip:number@domain sent to t.Proxy, From and P-Asserted-Identity
// carrying t.Identity, and a digest challenge answered with t's
// credentials. r.To is ignored.
func (s *Server) DialTrunk(ctx context.Context, t Trunk, number string, r DialRequest) (*Outbound, error) {
	if !dialable(number) {
		return nil, fmt.Errorf("dial %q: %w", number, ErrBadNumber)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("dial %s: %w", number, err)
	}
	domain := t.domain()
	ruri := sipmsg.Uri{Scheme: "sip", User: number, Host: domain}
	from := sipmsg.Uri{Scheme: "sip", User: t.Identity, Host: domain}
	r.Headers = append(r.Headers[:len(r.Headers):len(r.Headers)],
		Header{Name: "P-Asserted-Identity", Value: "<sip:" + t.Identity + "@" + domain + ">"})
	return s.invite(ctx, r, ruri, from, ruri, t.Proxy, t.Transport, t.Username, t.Password)
}
