package sip

import (
	"errors"
	"strings"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"kcc/call"
)

// Hooks are how the owner of a call hears what the remote party does inside
// an established dialog. They run in the request's goroutine and must not
// block for long: the remote waits for the answer.
type Hooks struct {
	// Offer answers a new SDP offer (re-INVITE or UPDATE). An error makes
	// kcc refuse the offer with 488 and keep the session as it was.
	Offer func(offer []byte) ([]byte, error)
	// Digit receives a key sent by SIP INFO (application/dtmf-relay or
	// application/dtmf).
	Digit func(d call.Digit)
	// Refer decides a transfer the other party asks for with REFER; nil
	// refuses every transfer (603). An error wrapping ErrReferRefused gets
	// 403. It is called on the request's goroutine and must not block long.
	Refer func(to ReferTo) error
}

// peer is the part of a dialog both directions share: the hooks, our
// current SDP and the session timer's state.
type peer struct {
	log zerolog.Logger

	mu    sync.Mutex
	hooks Hooks
	sdp   []byte
	se    sessionExpires
	reset chan struct{} // a refresh arrived: restart the session timer
}

// SetHooks sets how in-dialog requests reach the call's owner.
func (p *peer) SetHooks(h Hooks) {
	p.mu.Lock()
	p.hooks = h
	p.mu.Unlock()
}

func (p *peer) currentHooks() Hooks {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hooks
}

func (p *peer) localSDP() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sdp
}

func (p *peer) setSDP(b []byte) {
	p.mu.Lock()
	p.sdp = b
	p.mu.Unlock()
}

// dialogReader checks the CSeq of an in-dialog request (sipgo's Dialog).
type dialogReader interface {
	ReadRequest(req *sipmsg.Request, tx sipmsg.ServerTransaction) error
}

// lookupDialog finds the dialog an in-dialog request belongs to: one of our
// incoming calls (we are UAS) or one of the agents we rang (we are UAC).
func (s *Server) lookupDialog(req *sipmsg.Request) (*peer, dialogReader, bool) {
	if id, err := sipmsg.DialogIDFromRequestUAS(req); err == nil {
		s.mu.Lock()
		in := s.inbound[id]
		s.mu.Unlock()
		if in != nil {
			return &in.peer, in.d, true
		}
	}
	if id, err := sipmsg.DialogIDFromRequestUAC(req); err == nil {
		s.mu.Lock()
		out := s.outbound[id]
		s.mu.Unlock()
		if out != nil {
			return &out.peer, out.d, true
		}
	}
	return nil, nil, false
}

// onSessionUpdate answers a re-INVITE or an UPDATE inside a dialog: a
// session refresh, a hold or resume, or moved media (RFC 3311, RFC 4028).
func (s *Server) onSessionUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	p, d, ok := s.lookupDialog(req)
	if !ok {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := d.ReadRequest(req, tx); err != nil {
		// An older CSeq, or a second offer while one is pending (RFC 3261 §14.2).
		s.respond(req, tx, 500, "Server Internal Error", sipmsg.NewHeader("Retry-After", "1"))
		return
	}
	se, ok := s.sessionTimer(req, tx)
	if !ok {
		return
	}
	answer := p.localSDP()
	if offer := req.Body(); len(offer) > 0 {
		h := p.currentHooks()
		if h.Offer == nil {
			s.respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		var err error
		if answer, err = h.Offer(offer); err != nil {
			p.log.Info().Err(err).Str("method", string(req.Method)).Msg("refused new offer")
			s.respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		p.setSDP(answer)
	} else if req.Method == sipmsg.UPDATE {
		answer = nil // a refresh by UPDATE carries no SDP (RFC 4028 §9)
	}
	p.mu.Lock()
	p.se = se
	reset := p.reset
	p.mu.Unlock()
	if reset != nil {
		select {
		case reset <- struct{}{}:
		default:
		}
	}
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	if answer != nil {
		res = sipmsg.NewSDPResponseFromRequest(req, answer)
	}
	res.AppendHeader(sipmsg.HeaderClone(&s.dialogUA.ContactHDR))
	for _, h := range timerHeaders(req, se) {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		p.log.Debug().Err(err).Msg("answer in-dialog offer")
	}
}

// errBadDTMF is a SIP INFO body that names no key.
var errBadDTMF = errors.New("no DTMF key in INFO body")

// parseInfoDigit reads the key of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5").
func parseInfoDigit(contentType string, body []byte) (call.Digit, error) {
	if len(body) > 1024 {
		return 0, errBadDTMF
	}
	text := strings.TrimSpace(string(body))
	if strings.EqualFold(contentType, "application/dtmf-relay") {
		text = ""
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "Signal") {
				text = strings.TrimSpace(v)
				break
			}
		}
	}
	if len(text) != 1 {
		// Some phones send events as numbers: 10 is *, 11 is #.
		switch text {
		case "10":
			return '*', nil
		case "11":
			return '#', nil
		}
		return 0, errBadDTMF
	}
	d := call.Digit(text[0])
	if d >= 'a' && d <= 'd' {
		d -= 'a' - 'A'
	}
	if !d.Valid() {
		return 0, errBadDTMF
	}
	return d, nil
}

// onInfo takes DTMF sent as SIP INFO inside a dialog.
func (s *Server) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	p, _, ok := s.lookupDialog(req)
	if !ok {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.TrimSpace(strings.Split(h.Value(), ";")[0])
	}
	if !strings.EqualFold(ct, "application/dtmf-relay") && !strings.EqualFold(ct, "application/dtmf") {
		if len(req.Body()) == 0 {
			s.respond(req, tx, 200, "OK") // an empty INFO is a keep-alive
			return
		}
		s.respond(req, tx, 415, "Unsupported Media Type",
			sipmsg.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		return
	}
	d, err := parseInfoDigit(ct, req.Body())
	if err != nil {
		s.respond(req, tx, 400, "Bad DTMF")
		return
	}
	s.respond(req, tx, 200, "OK")
	if h := p.currentHooks(); h.Digit != nil {
		h.Digit(d)
	}
}
