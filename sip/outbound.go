package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Header is an extra header for an outgoing request.
type Header struct{ Name, Value string }

// DialRequest describes an INVITE to a registered phone.
type DialRequest struct {
	To       Binding
	FromUser string // user part of From (the caller's number)
	FromName string // display name of From, e.g. "[Paspoort] 0612345678"
	Headers  []Header
	SDP      []byte
	// Ringing, if set, is called once when the phone reports 180/183.
	Ringing func()
}

// Outbound is an answered outgoing call (the INVITE client side of a dialog).
// Context ends when the callee hangs up.
type Outbound struct {
	peer
	s *Server
	d *sipgo.DialogClientSession
}

// Dial sends an INVITE to r.To and waits for the answer. When ctx ends first,
// the INVITE is cancelled (CANCEL) and the error wraps ErrNotAnswered; a
// final non-2xx answer is returned as *StatusError.
func (s *Server) Dial(ctx context.Context, r DialRequest) (*Outbound, error) {
	var ruri sipmsg.Uri
	if err := sipmsg.ParseUri(r.To.Contact, &ruri); err != nil {
		return nil, fmt.Errorf("dial %s: contact %q: %w", r.To.User, r.To.Contact, err)
	}
	from := sipmsg.Uri{Scheme: "sip", User: r.FromUser, Host: s.cfg.advertise().String()}
	to := sipmsg.Uri{Scheme: "sip", User: r.To.User, Host: ruri.Host, Port: ruri.Port}
	// Send where the REGISTER came from, not to the Contact host: that is
	// the address that works behind NAT, and it needs no DNS.
	return s.invite(ctx, r, ruri, from, to, r.To.Source.String(), r.To.Transport, "", "")
}

// invite sends an INVITE for r to request URI ruri at dest and waits for
// the answer; username and password answer a digest challenge.
func (s *Server) invite(ctx context.Context, r DialRequest, ruri, fromURI, toURI sipmsg.Uri, dest, transport, username, password string) (*Outbound, error) {
	req := sipmsg.NewRequest(sipmsg.INVITE, ruri)
	from := &sipmsg.FromHeader{DisplayName: r.FromName, Address: fromURI, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: toURI})
	for _, h := range r.Headers {
		req.AppendHeader(sipmsg.NewHeader(h.Name, h.Value))
	}
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(r.SDP)
	req.SetDestination(dest)
	if transport == "" {
		transport = "udp"
	}
	req.SetTransport(transport)
	if transport == "udp" {
		req.Laddr = sipmsg.Addr{IP: net.IP(s.cfg.Listen.Addr().AsSlice()), Port: int(s.cfg.Listen.Port())}
	}

	d, err := s.dialogUA.WriteInvite(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("dial %s: send INVITE: %w", toURI.User, err)
	}
	// A CANCEL may only follow a provisional answer (RFC 3261 §9.1); sipgo
	// would wait up to Timer B (32 s) for one. A phone that has not answered
	// at all when we give up gets no CANCEL: its INVITE just times out.
	var responded atomic.Bool
	wctx, wcancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer wcancel(nil)
	stopWatch := context.AfterFunc(ctx, func() {
		if responded.Load() {
			wcancel(context.Cause(ctx))
		} else {
			wcancel(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer stopWatch()
	rang := false
	err = d.WaitAnswer(wctx, sipgo.AnswerOptions{Username: username, Password: password, OnResponse: func(res *sipmsg.Response) error {
		responded.Store(true)
		if (res.StatusCode == 180 || res.StatusCode == 183) && !rang && r.Ringing != nil {
			rang = true
			r.Ringing()
		}
		return nil
	}})
	if err != nil {
		if res := d.InviteResponse; res != nil && res.IsSuccess() {
			// The phone answered as we cancelled: its 200 crossed our
			// CANCEL. Confirm and end that dialog, or it would stay up on
			// the phone (RFC 3261 §9.1, §15).
			s.endCrossed(d)
		}
		_ = d.Close()
		var resErr *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &resErr):
			return nil, &StatusError{Code: resErr.Res.StatusCode, Reason: resErr.Res.Reason}
		case ctx.Err() != nil:
			return nil, fmt.Errorf("dial %s: %w: %w", toURI.User, ErrNotAnswered, context.Cause(ctx))
		}
		return nil, fmt.Errorf("dial %s: %w", toURI.User, err)
	}
	out := &Outbound{s: s, d: d}
	out.peer.log = s.log.With().Str("sip_call_id", req.CallID().Value()).Logger()
	out.setSDP(r.SDP)
	s.mu.Lock()
	s.outbound[d.ID] = out
	s.mu.Unlock()
	if err := d.Ack(ctx); err != nil {
		out.forget()
		return nil, fmt.Errorf("dial %s: ACK: %w", toURI.User, err)
	}
	return out, nil
}

// Context is the callee's side of the call: done when it hangs up.
func (o *Outbound) Context() context.Context { return o.d.Context() }

// Answer returns the SDP answer of the 200 OK.
func (o *Outbound) Answer() []byte { return o.d.InviteResponse.Body() }

// CallID returns the Call-ID of the outgoing dialog.
func (o *Outbound) CallID() string { return o.d.InviteRequest.CallID().Value() }

// Hangup sends BYE unless the callee already hung up, and forgets the dialog.
func (o *Outbound) Hangup(ctx context.Context) error {
	defer o.forget()
	if o.d.LoadState() == sipmsg.DialogStateEnded {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, byeTimeout)
	defer cancel()
	return o.d.Bye(ctx)
}

func (o *Outbound) forget() {
	o.s.mu.Lock()
	delete(o.s.outbound, o.d.ID)
	o.s.mu.Unlock()
	_ = o.d.Close()
}

// endCrossed acknowledges and hangs up a dialog whose 2xx arrived after we
// cancelled the INVITE.
func (s *Server) endCrossed(d *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := d.Ack(ctx); err != nil {
		s.log.Debug().Err(err).Msg("ACK crossed 200")
		return
	}
	if err := d.Bye(ctx); err != nil {
		s.log.Debug().Err(err).Msg("BYE crossed 200")
	}
}
