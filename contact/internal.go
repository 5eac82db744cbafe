package contact

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"kcc/routing"
	"kcc/sip"
)

// internalCall is a consultation call from one agent's phone to another's
// through kcc (the agent dials the colleague's id), so that an attended
// transfer can hand the caller to the colleague: REFER with Replaces naming
// this call.
type internalCall struct {
	from, to string // the agents: who called whom
	in       *sip.Inbound
	// handover asks the call's goroutine to give up the callee's leg.
	handover chan chan *agentLeg
}

// fromAgent reports whether in comes from a registered agent's phone: the
// From user is an agent with a binding, and the INVITE came from where
// that phone registered. Only such calls may dial agents directly.
func (s *Service) fromAgent(in *sip.Inbound) (string, bool) {
	user, _ := in.Caller()
	b, ok := s.phones.Lookup(user)
	return user, ok && b.Source.String() == in.Source()
}

// serveInternal connects an agent's call to a colleague's phone and bridges
// them until either hangs up, or until an attended transfer takes the
// colleague's leg for a caller. The colleague counts as busy for the
// router meanwhile.
func (s *Service) serveInternal(in *sip.Inbound, from string, to sip.Binding, log zerolog.Logger) {
	log = log.With().Str("agent", from).Str("colleague", to.User).Logger()
	if !s.admit() {
		_ = in.Reject(486, "Busy Here")
		return
	}
	defer s.leave()
	if len(in.Offer()) == 0 {
		_ = in.Reject(488, "Not Acceptable Here") // consultation calls are offered by the phone
		return
	}
	aSess, answer, err := s.media.Answer(in.Offer())
	if err != nil {
		code, reason := answerFailure(err)
		_ = in.Reject(code, reason)
		return
	}
	defer func() { _ = aSess.Close() }()
	in.SetHooks(sip.Hooks{Offer: aSess.Update, Digit: aSess.InjectDigit})
	_ = in.Ringing()
	busy := s.setBusy(to.User, true, log)
	handedOver := false
	defer func() {
		if busy && !handedOver {
			s.setBusy(to.User, false, log)
		}
	}()
	bSess, offer, err := s.media.OfferBoth(aSess.Codec())
	if err != nil {
		_ = in.Reject(503, "Service Unavailable")
		return
	}
	log.Info().Msg("consultation call: ringing the colleague")
	out, err := s.phones.Dial(in.Context(), sip.DialRequest{To: to, FromUser: from, FromName: "Collega " + from, SDP: offer,
		Headers: []sip.Header{{Name: "X-KCC-Internal", Value: "yes"}}})
	if err != nil {
		_ = bSess.Close()
		code := 480
		var st *sip.StatusError
		if errors.As(err, &st) {
			code = st.Code
		}
		log.Info().Err(err).Msg("colleague did not answer")
		_ = in.Reject(code, "Not Answered")
		return
	}
	b := &agentLeg{offer: routing.Offer{Agent: to.User}, conn: phoneConn{out}, sess: bSess, viaTransfer: true}
	defer func() {
		if !handedOver {
			_ = out.Hangup(context.Background())
			_ = bSess.Close()
		}
	}()
	out.SetHooks(sip.Hooks{Offer: bSess.Update, Digit: bSess.InjectDigit})
	if err := bSess.Accept(out.Answer()); err != nil {
		_ = in.Reject(488, "Not Acceptable Here")
		return
	}
	if _, err := in.Answer(answer); err != nil {
		return
	}
	ic := &internalCall{from: from, to: to.User, in: in, handover: make(chan chan *agentLeg)}
	s.mu.Lock()
	s.internals[in.DialogID()] = ic
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.internals, in.DialogID())
		s.mu.Unlock()
	}()
	log.Info().Msg("consultation call connected")
	ctx, stop := context.WithCancel(in.Context())
	defer stop()
	bridged := make(chan error, 1)
	go func() { bridged <- aSess.Bridge(ctx, bSess) }()
	select {
	case <-ctx.Done():
	case <-out.Context().Done():
	case reply := <-ic.handover:
		stop()
		<-bridged
		handedOver = true
		reply <- b
		log.Info().Msg("consultation call handed over: the colleague takes the caller")
		if err := in.Hangup(context.Background()); err != nil {
			log.Debug().Err(err).Msg("BYE to the transferring agent")
		}
		return
	case err := <-bridged:
		if err != nil {
			log.Warn().Err(err).Msg("consultation call media failed")
		}
	}
	stop()
	<-bridged
	log.Info().Msg("consultation call ended")
}

// setBusy marks an agent busy or free for the router; it reports whether
// the router knows the agent.
func (s *Service) setBusy(agent string, busy bool, log zerolog.Logger) bool {
	if err := s.router.SetBusy(agent, busy); err != nil {
		log.Debug().Err(err).Msg("router busy flag")
		return false
	}
	return true
}

// takeConsultation finds the consultation call a Replaces value names,
// made by agent, and takes its callee's leg away from it.
func (s *Service) takeConsultation(ctx context.Context, replaces, agent string) (*agentLeg, error) {
	if leg, ok, err := s.asterisk.takeConsultation(ctx, replaces, agent, s.endpoints); ok {
		return leg, err
	}
	id, swapped, err := sip.ReplacesDialogIDs(replaces)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ic := s.internals[id]
	if ic == nil {
		ic = s.internals[swapped]
	}
	s.mu.Unlock()
	if ic == nil || ic.from != agent {
		return nil, fmt.Errorf("%w: no consultation call of %s matches Replaces %q", sip.ErrReferRefused, agent, replaces)
	}
	reply := make(chan *agentLeg, 1)
	select {
	case ic.handover <- reply:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(2 * time.Second):
		return nil, errors.New("the consultation call ended meanwhile")
	}
	return <-reply, nil
}

// hasConsultation reports whether a Replaces value names a consultation
// call in progress.
func (s *Service) hasConsultation(replaces string) bool {
	if s.asterisk.hasConsultation(replaces) {
		return true
	}
	id, swapped, err := sip.ReplacesDialogIDs(replaces)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.internals[id] != nil || s.internals[swapped] != nil
}
