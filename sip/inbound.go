package sip

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Inbound is one incoming call (the INVITE server side of a dialog). Its
// methods are safe for concurrent use; Context ends when the caller hangs up
// (BYE), cancels (CANCEL), stops refreshing the session, or the dialog ends
// otherwise.
type Inbound struct {
	peer
	s *Server
	d *sipgo.DialogServerSession

	mu       sync.Mutex
	final    bool   // a final response was sent
	answered bool   // 2xx sent and acknowledged
	ackSDP   []byte // the answer in the ACK, after a late offer
	timers   sync.WaitGroup
	done     chan struct{} // closed by finish: the session timer stops even if the BYE failed
}

func newInbound(s *Server, d *sipgo.DialogServerSession, se sessionExpires) *Inbound {
	req := d.InviteRequest
	in := &Inbound{s: s, d: d, done: make(chan struct{})}
	in.peer.log = s.log.With().Str("sip_call_id", req.CallID().Value()).Logger()
	in.peer.se = se
	in.peer.reset = make(chan struct{}, 1)
	return in
}

// Context is the call's lifetime: done when the caller is gone.
func (c *Inbound) Context() context.Context { return c.d.Context() }

// CallID returns the SIP Call-ID.
func (c *Inbound) CallID() string { return c.d.InviteRequest.CallID().Value() }

// Number returns the dialled number: the user part of the Request-URI.
func (c *Inbound) Number() string { return c.d.InviteRequest.Recipient.User }

// Caller returns the caller's user part and display name from From.
func (c *Inbound) Caller() (user, display string) {
	f := c.d.InviteRequest.From()
	return f.Address.User, f.DisplayName
}

// Source returns the address the INVITE came from.
func (c *Inbound) Source() string { return c.d.InviteRequest.Source() }

// Offer returns the SDP offer of the INVITE (nil when it carried none: the
// offer is then ours, in the 200 OK, and the answer comes in the ACK).
func (c *Inbound) Offer() []byte { return c.d.InviteRequest.Body() }

// Ringing sends 180 Ringing.
func (c *Inbound) Ringing() error {
	return c.d.Respond(180, "Ringing", nil)
}

// Reject sends a final non-2xx answer, e.g. 404, 486 or 488.
func (c *Inbound) Reject(code int, reason string) error {
	c.mu.Lock()
	if c.final {
		c.mu.Unlock()
		return nil
	}
	c.final = true
	c.mu.Unlock()
	return c.d.Respond(code, reason, nil)
}

// ErrNoAnswerSDP is returned by Answer when a late-offer call's ACK carried
// no SDP answer.
var ErrNoAnswerSDP = errors.New("sip: ACK carried no SDP answer")

// Answer sends 200 OK with sdp and blocks until the ACK arrives (or the
// retransmissions time out). When the INVITE had no offer, sdp is our offer
// and Answer returns the caller's answer from the ACK. Once answered, the
// session timer negotiated with the caller runs until the call ends.
func (c *Inbound) Answer(sdp []byte) ([]byte, error) {
	c.mu.Lock()
	c.final = true
	c.mu.Unlock()
	c.setSDP(sdp)
	req := c.d.InviteRequest
	res := sipmsg.NewSDPResponseFromRequest(req, sdp)
	c.peer.mu.Lock()
	se := c.peer.se
	c.peer.mu.Unlock()
	for _, h := range timerHeaders(req, se) {
		res.AppendHeader(h)
	}
	res.AppendHeader(sipmsg.NewHeader("Allow", allowed))
	if err := c.d.WriteResponse(res); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.answered = true
	ack := c.ackSDP
	c.mu.Unlock()
	if se.interval > 0 {
		c.timers.Go(c.runSessionTimer)
	}
	if len(c.Offer()) == 0 {
		if len(ack) == 0 {
			return nil, ErrNoAnswerSDP
		}
		return ack, nil
	}
	return nil, nil
}

// readAck takes the ACK of our 2xx (with the answer of a late offer).
func (c *Inbound) readAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	if body := req.Body(); len(body) > 0 {
		c.mu.Lock()
		c.ackSDP = body
		c.mu.Unlock()
	}
	return c.d.ReadAck(req, tx)
}

// byeTimeout bounds how long the server waits for a BYE's answer.
const byeTimeout = 5 * time.Second

// Hangup ends the call: BYE when answered, 480 before a final answer.
func (c *Inbound) Hangup(ctx context.Context) error {
	c.mu.Lock()
	answered, final := c.answered, c.final
	c.final = true
	c.mu.Unlock()
	if c.d.LoadState() == sipmsg.DialogStateEnded || c.Context().Err() != nil {
		return nil
	}
	if !final {
		return c.d.Respond(480, "Temporarily Unavailable", nil)
	}
	if !answered {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, byeTimeout)
	defer cancel()
	return c.d.Bye(ctx)
}

// finish runs after the handler returned: whatever it left open is closed.
func (c *Inbound) finish() {
	if err := c.Hangup(context.WithoutCancel(c.Context())); err != nil {
		c.log.Debug().Err(err).Msg("hang up after handler")
	}
	close(c.done)
	c.timers.Wait()
	_ = c.d.Close()
}

// runSessionTimer refreshes the session when we are the refresher, and ends
// the call when the caller is the refresher and its refresh does not come
// (RFC 4028 §10). It returns when the dialog ends.
func (c *Inbound) runSessionTimer() {
	ctx := c.Context()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		c.peer.mu.Lock()
		se := c.peer.se
		c.peer.mu.Unlock()
		if se.interval <= 0 {
			return
		}
		wait := expiryWait(se.interval)
		if se.refresher == "uas" {
			wait = se.interval / 2
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-c.reset:
			continue
		case <-t.C:
		}
		if se.refresher != "uas" {
			c.log.Info().Dur("interval", se.interval).Msg("session not refreshed in time: hanging up")
			c.expire()
			return
		}
		if err := c.refresh(ctx, se); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Info().Err(err).Msg("session refresh failed: hanging up")
			c.expire()
			return
		}
	}
}

func (c *Inbound) expire() {
	if err := c.Hangup(context.WithoutCancel(c.Context())); err != nil {
		c.log.Debug().Err(err).Msg("BYE after session expiry")
	}
}

// refreshTimeout bounds one refresh transaction.
const refreshTimeout = 32 * time.Second

// refresh sends a session refresh as UAS: UPDATE without SDP when the
// caller allows UPDATE, else a re-INVITE with our unchanged SDP.
func (c *Inbound) refresh(ctx context.Context, se sessionExpires) error {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	invite := c.d.InviteRequest
	method := sipmsg.INVITE
	if hasOption(invite, "Allow", "UPDATE") {
		method = sipmsg.UPDATE
	}
	req := c.inDialog(method)
	req.AppendHeader(sipmsg.NewHeader("Session-Expires", se.String()))
	req.AppendHeader(sipmsg.NewHeader("Supported", "timer"))
	if method == sipmsg.INVITE {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(c.localSDP())
	}
	res, err := c.d.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%s refresh: %w", method, err)
	}
	if method == sipmsg.INVITE && res.IsSuccess() {
		ack := c.inDialog(sipmsg.ACK)
		if err := c.d.WriteRequest(ack); err != nil {
			return fmt.Errorf("ACK refresh: %w", err)
		}
	}
	if !res.IsSuccess() {
		return &StatusError{Code: res.StatusCode, Reason: res.Reason}
	}
	if h := res.GetHeader("Session-Expires"); h != nil {
		if got, err := parseSessionExpires(h.Value()); err == nil {
			if got.refresher == "" {
				got.refresher = se.refresher
			}
			c.peer.mu.Lock()
			c.peer.se = got
			c.peer.mu.Unlock()
		}
	}
	c.log.Debug().Str("method", string(method)).Msg("session refreshed")
	return nil
}

// inDialog builds a request to the caller inside the dialog, sent to where
// the INVITE came from (the address that works through NAT).
func (c *Inbound) inDialog(method sipmsg.RequestMethod) *sipmsg.Request {
	invite := c.d.InviteRequest
	target := invite.Recipient
	if ct := invite.Contact(); ct != nil {
		target = *ct.Address.Clone()
	}
	req := sipmsg.NewRequest(method, target)
	req.SetDestination(invite.Source())
	return req
}
