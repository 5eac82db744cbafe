package sip

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

// Inbound is one incoming call (the INVITE server side of a dialog). Its
// methods are safe for concurrent use; Context ends when the caller hangs up
// (BYE), cancels (CANCEL) or the dialog ends otherwise.
type Inbound struct {
	s   *Server
	d   *sipgo.DialogServerSession
	log zerolog.Logger

	mu       sync.Mutex
	final    bool   // a final response was sent
	answered bool   // 2xx sent and acknowledged
	sdp      []byte // our answer, repeated on session refreshes
}

func newInbound(s *Server, d *sipgo.DialogServerSession) *Inbound {
	req := d.InviteRequest
	return &Inbound{s: s, d: d, log: s.log.With().Str("sip_call_id", req.CallID().Value()).Logger()}
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

// Offer returns the SDP offer of the INVITE (nil when it carried none).
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

// Answer sends 200 OK with sdp and blocks until the ACK arrives (or the
// retransmissions time out).
func (c *Inbound) Answer(sdp []byte) error {
	c.mu.Lock()
	c.final = true
	c.sdp = sdp
	c.mu.Unlock()
	if err := c.d.RespondSDP(sdp); err != nil {
		return err
	}
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
	return nil
}

func (c *Inbound) localSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.answered {
		return nil
	}
	return c.sdp
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
	_ = c.d.Close()
}
