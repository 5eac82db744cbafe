package sip

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// ReferTo is where a REFER inside a dialog asks kcc to send the other party
// (RFC 3515): a blind transfer, or an attended one when Replaces names the
// dialog that the transfer target already has with the referrer (RFC 3891).
type ReferTo struct {
	URI      string // the Refer-To URI as sent, without its header part
	User     string // its user part: a queue name or a number
	Replaces string // the Replaces value of an attended transfer; empty for a blind one
}

// ErrReferRefused is returned by a Refer hook for a target kcc must not
// transfer to (not a queue, not on the allowlist); the REFER gets 403.
var ErrReferRefused = errors.New("transfer target not allowed")

// maxReferTo bounds the Refer-To header kcc parses.
const maxReferTo = 1024

// parseReferTo reads a Refer-To header value: a name-addr or addr-spec
// whose URI may carry a Replaces header (?Replaces=...).
func parseReferTo(v string) (ReferTo, error) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxReferTo {
		return ReferTo{}, errors.New("empty or oversized Refer-To")
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return ReferTo{}, errors.New("Refer-To: unterminated <")
		}
		v = v[i+1 : i+j]
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i] // header parameters of an addr-spec
	}
	uri, headers, _ := strings.Cut(v, "?")
	if len(uri) > 4 && strings.EqualFold(uri[:4], "tel:") {
		if number, _, _ := strings.Cut(uri[4:], ";"); number != "" {
			return ReferTo{URI: uri, User: number}, nil
		}
		return ReferTo{}, errors.New("Refer-To: tel URI without a number")
	}
	var ru sipmsg.Uri
	if err := sipmsg.ParseUri(uri, &ru); err != nil {
		return ReferTo{}, err
	}
	if ru.Scheme != "sip" && ru.Scheme != "sips" {
		return ReferTo{}, errors.New("Refer-To: not a sip or tel URI")
	}
	r := ReferTo{URI: uri, User: ru.User}
	if headers != "" {
		q, err := url.ParseQuery(headers)
		if err != nil {
			return ReferTo{}, errors.New("Refer-To: bad URI headers")
		}
		r.Replaces = q.Get("Replaces")
	}
	if r.User == "" {
		return ReferTo{}, errors.New("Refer-To: no user part")
	}
	return r, nil
}

// notifier sends a request inside a dialog, in either direction.
type notifier interface {
	Do(ctx context.Context, req *sipmsg.Request) (*sipmsg.Response, error)
}

// onRefer takes a transfer request inside a dialog: the hook decides; kcc
// accepts (202) and reports the result with one NOTIFY that ends the
// implicit subscription, so the referrer (the agent's phone) hangs up.
func (s *Server) onRefer(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	p, d, ok := s.lookupDialog(req)
	if !ok {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := d.ReadRequest(req, tx); err != nil {
		s.respond(req, tx, 500, "Server Internal Error", sipmsg.NewHeader("Retry-After", "1"))
		return
	}
	h := req.GetHeader("Refer-To")
	if h == nil {
		s.respond(req, tx, 400, "Missing Refer-To")
		return
	}
	to, err := parseReferTo(h.Value())
	if err != nil {
		p.log.Info().Err(err).Msg("REFER refused")
		s.respond(req, tx, 400, "Bad Refer-To")
		return
	}
	hook := p.currentHooks().Refer
	if hook == nil {
		s.respond(req, tx, 603, "Decline")
		return
	}
	if err := hook(to); err != nil {
		p.log.Info().Err(err).Str("refer_to", to.URI).Msg("transfer refused")
		if errors.Is(err, ErrReferRefused) {
			s.respond(req, tx, 403, "Forbidden")
		} else {
			s.respond(req, tx, 603, "Decline")
		}
		return
	}
	s.respond(req, tx, 202, "Accepted")
	n, ok := d.(notifier)
	if !ok {
		return
	}
	// The NOTIFY must not wait on the handler's goroutine: the phone may
	// send its BYE meanwhile.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		notify := sipmsg.NewRequest(sipmsg.NOTIFY, referrerContact(req))
		notify.SetDestination(req.Source())
		notify.SetTransport(req.Transport())
		notify.AppendHeader(sipmsg.NewHeader("Event", "refer"))
		notify.AppendHeader(sipmsg.NewHeader("Subscription-State", "terminated;reason=noresource"))
		notify.AppendHeader(sipmsg.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		notify.SetBody([]byte("SIP/2.0 200 OK\r\n"))
		if _, err := n.Do(ctx, notify); err != nil {
			p.log.Debug().Err(err).Msg("NOTIFY after REFER")
		}
	}()
}

// referrerContact is where in-dialog requests to the referrer go: its
// Contact, or the request's source.
func referrerContact(req *sipmsg.Request) sipmsg.Uri {
	if c := req.Contact(); c != nil {
		return *c.Address.Clone()
	}
	return req.From().Address
}

// DialogID is the dialog's id as sipgo makes it (Call-ID and both tags):
// what a Replaces header naming this dialog resolves to.
func (c *Inbound) DialogID() string { return c.d.ID }

// ReplacesDialogIDs reads a Replaces value ("call-id;to-tag=a;from-tag=b",
// RFC 3891) into the ids of the dialog it names, as seen by its UAS (the
// to-tag is the recipient's) and, for peers that swap the tags, the other
// way round.
func ReplacesDialogIDs(replaces string) (id, swapped string, err error) {
	parts := strings.Split(replaces, ";")
	callID := strings.TrimSpace(parts[0])
	var to, from string
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			to = v
		case "from-tag":
			from = v
		}
	}
	if callID == "" || to == "" || from == "" {
		return "", "", errors.New("Replaces needs a Call-ID, to-tag and from-tag")
	}
	return sipmsg.DialogIDMake(callID, to, from), sipmsg.DialogIDMake(callID, from, to), nil
}
