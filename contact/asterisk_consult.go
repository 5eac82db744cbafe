package contact

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"kcc/ari"
	"kcc/media"
	"kcc/routing"
	"kcc/sip"
)

// Consultation calls of agents on Asterisk, for attended transfers.
//
// An attended transfer hands the caller to a colleague the agent has
// consulted, and the consulted call must be one kcc controls: only then
// can kcc give the colleague's leg to the caller. So while an agent on
// Asterisk talks with one of kcc's callers, kcc sets the global dialplan
// variable KCC_CONSULT_<endpoint resource> (e.g. KCC_CONSULT_1001) to its
// app's name, and the dialplan sends that agent's calls to colleagues into
// the app instead of dialling them itself:
//
//	exten => _100X,1,GotoIf($["${GLOBAL(KCC_CONSULT_${CHANNEL(endpoint)})}" != ""]?consult)
//	 same => n(direct),Dial(PJSIP/${EXTEN},30)
//	 same => n,Hangup()
//	 same => n(consult),Stasis(${GLOBAL(KCC_CONSULT_${CHANNEL(endpoint)})},consult,${EXTEN},${CHANNEL(endpoint)})
//	 same => n,GotoIf($["${STASISSTATUS}" = "FAILED"]?direct)
//
// (the last line dials directly when kcc's app is gone, e.g. kcc died with
// the variable set).
// kcc originates the colleague (PJSIP/<exten>) and bridges both channels in
// a consultation bridge; Asterisk's device state marks the colleague busy
// for the router meanwhile (RunPresence). When the agent then transfers
// the caller with Replaces naming the consultation, Asterisk's
// ChannelTransfer names the consultation's channel (destination_channel,
// verified on 22.10) and kcc passes the transfer on to the contact; the
// talk loop takes the consultation (AsteriskLine.takeConsultation): an
// externalMedia channel for the caller joins the consultation bridge, the
// agent's consultation channel is hung up, and the colleague's channel,
// that externalMedia channel and the bridge become the contact's new agent
// leg. Only then is success reported to the phone (NOTIFY 200), which ends
// its call with the caller; the talk loop hangs up that side too.
//
// The consultation belongs to the agent's call with the caller: if that
// call ends first, the consultation is hung up with it.

// consultVarPrefix starts the name of the global variable that sends an
// agent's calls to colleagues into the app.
const consultVarPrefix = "KCC_CONSULT_"

// consultRingTimeout bounds how long a colleague is rung for a consultation.
const consultRingTimeout = 30 * time.Second

// handoverTimeout bounds how long an attended transfer waits for the
// contact's talk loop to take the consultation over.
const handoverTimeout = 5 * time.Second

// consultation is one call of an agent on Asterisk to a colleague, in the
// app: the agent's channel (which Replaces names), the colleague's
// originated channel and the bridge, all but the first with ids kcc chose.
type consultation struct {
	from       string // the consulting agent's endpoint
	fromNumber string // its resource, e.g. "1001": the colleague sees it
	colleague  string // the colleague's endpoint, e.g. "PJSIP/1002"
	inID       string // the agent's call into the app
	protocolID string // its SIP Call-ID
	colID      string // the colleague's channel
	bridgeID   string
	emID       string // the caller's externalMedia channel, made at the handover

	// handover asks the consultation's goroutine for the colleague's leg.
	handover chan chan handoverResult
	// handedOver is closed once the colleague's leg went to the contact.
	handedOver chan struct{}
	// done is closed when the consultation's goroutine returned.
	done chan struct{}
}

// handoverResult is the colleague's leg or why it could not be made.
type handoverResult struct {
	leg *agentLeg
	err error
}

// consultResource returns the endpoint's resource ("1001" for
// "PJSIP/1001") if it is safe in a dialplan variable name.
func consultResource(endpoint string) (string, bool) {
	_, res, ok := strings.Cut(endpoint, "/")
	if !ok || res == "" || len(res) > 64 {
		return "", false
	}
	for _, r := range res {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-') {
			return "", false
		}
	}
	return res, true
}

// startConsults lets the agent's calls to colleagues come into the app
// while this conn lasts. Failing that, the agent can still consult (the
// dialplan dials directly) but not transfer after consulting.
func (a *asteriskConn) startConsults(ctx context.Context) {
	res, ok := consultResource(a.endpoint)
	if !ok {
		return
	}
	a.consults = a.line.client.Subscribe(ari.Filter{Types: []string{"StasisStart"}})
	name := consultVarPrefix + res
	sctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	if err := a.line.client.SetGlobalVariable(sctx, name, a.line.client.App()); err != nil {
		a.log.Warn().Err(err).Msg("agent's consultation calls will not come to kcc")
		a.consults.Close()
		a.consults = nil
		return
	}
	a.consultVar = name
	a.watch.Go(func() { a.takeConsults(ctx, res) })
}

// takeConsults starts a consultation for each of the agent's calls to a
// colleague that comes into the app; a second one while the first lasts is
// refused (busy).
func (a *asteriskConn) takeConsults(ctx context.Context, res string) {
	defer func() {
		select {
		case <-a.stop:
		default:
			// The subscription broke (ErrOverflow): calls must not come
			// into the app with nobody to take them.
			a.log.Warn().Err(a.consults.Err()).Msg("agent's consultation calls no longer taken")
			cctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
			defer cancel()
			_ = a.line.client.SetGlobalVariable(cctx, consultVarPrefix+res, "")
		}
	}()
	for ev := range a.consults.Events() {
		ss, ok := ev.(ari.StasisStart)
		if !ok || len(ss.Args) < 3 || ss.Args[0] != "consult" || ss.Args[2] != res {
			continue
		}
		if ss.Args[1] == "" || strings.ContainsAny(ss.Args[1], "/&,") {
			hctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
			_ = a.line.client.Hangup(hctx, ss.Channel.ID, ari.HangupUnallocated)
			cancel()
			continue
		}
		cons := &consultation{
			from: a.endpoint, fromNumber: res, colleague: "PJSIP/" + ss.Args[1], inID: ss.Channel.ID, protocolID: ss.Channel.ProtocolID,
			colID: "kcc-consult-" + ss.Channel.ID, bridgeID: "kcc-cbridge-" + ss.Channel.ID, emID: "kcc-cem-" + ss.Channel.ID,
			handover: make(chan chan handoverResult), handedOver: make(chan struct{}), done: make(chan struct{}),
		}
		a.consultMu.Lock()
		busy := a.consulting != nil
		if !busy {
			a.consulting = cons
		}
		a.consultMu.Unlock()
		if busy {
			hctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
			_ = a.line.client.Hangup(hctx, ss.Channel.ID, ari.HangupBusy)
			cancel()
			continue
		}
		a.watch.Go(func() {
			defer func() {
				a.consultMu.Lock()
				a.consulting = nil
				a.consultMu.Unlock()
				close(cons.done)
			}()
			a.consult(ctx, cons)
		})
	}
}

// stopConsults ends the agent's consultations (teardown): no more calls
// come into the app, and one in progress is hung up unless handed over.
func (a *asteriskConn) stopConsults(ctx context.Context) {
	a.stopOnce.Do(func() { close(a.stop) })
	if a.consultVar != "" {
		if err := a.line.client.SetGlobalVariable(ctx, a.consultVar, ""); err != nil {
			a.log.Warn().Err(err).Msg("Asterisk cleanup: consultation variable")
		}
		a.consultVar = ""
	}
	if a.consults != nil {
		a.consults.Close()
	}
}

// consult rings the colleague for the agent's consultation call, bridges
// them, and keeps the call until either hangs up, the conn is torn down,
// or the contact takes the colleague over (handover).
func (a *asteriskConn) consult(ctx context.Context, cons *consultation) {
	c := a.line.client
	log := a.log.With().Str("consult_channel", cons.inID).Str("colleague", cons.colleague).Logger()
	sub := c.Subscribe(ari.Filter{Channels: []string{cons.inID, cons.colID}})
	defer sub.Close()
	handedOver, colUp, bridgeUp := false, false, false
	defer func() {
		if handedOver {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
		defer cancel()
		for _, id := range []string{cons.inID, cons.colID} {
			if id == cons.colID && !colUp {
				continue
			}
			if err := c.Hangup(cctx, id, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
				log.Warn().Err(err).Str("channel", id).Msg("Asterisk cleanup: consultation")
			}
		}
		if bridgeUp {
			if err := c.DestroyBridge(cctx, cons.bridgeID); err != nil && !errors.Is(err, ari.ErrNotFound) {
				log.Warn().Err(err).Msg("Asterisk cleanup: consultation bridge")
			}
		}
	}()
	if err := c.Ring(ctx, cons.inID); err != nil {
		log.Debug().Err(err).Msg("consultation: ringing indication")
	}
	log.Info().Msg("consultation call on Asterisk: ringing the colleague")
	if _, err := c.Originate(ctx, ari.OriginateRequest{
		ChannelID: cons.colID, Endpoint: cons.colleague, AppArgs: []string{"colleague", string(a.contact)},
		CallerID: fmt.Sprintf("%q <%s>", "Collega "+cons.fromNumber, cons.fromNumber), Timeout: consultRingTimeout,
		Variables: map[string]string{
			ari.TransferHandlingVariable:       ari.TransferHandlingARI,
			"PJSIP_HEADER(add,X-KCC-Internal)": "yes",
		},
	}); err != nil {
		log.Info().Err(err).Msg("consultation: colleague not rung")
		return
	}
	colUp = true
	// Until the colleague answers, or either side ends.
	for answered := false; !answered; {
		select {
		case <-a.stop:
			return
		case ev, ok := <-sub.Events():
			if !ok {
				return
			}
			switch e := ev.(type) {
			case ari.StasisStart:
				answered = e.Channel.ID == cons.colID
			case ari.ChannelDestroyed:
				log.Info().Str("channel", e.Channel.ID).Int("cause", e.Cause).Msg("consultation ended before it was answered")
				return
			case ari.StasisEnd:
				return
			}
		}
	}
	if err := c.Answer(ctx, cons.inID); err != nil {
		log.Info().Err(err).Msg("consultation: agent's call gone")
		return
	}
	if _, err := c.CreateBridge(ctx, cons.bridgeID, "consult "+cons.inID); err != nil {
		log.Warn().Err(err).Msg("consultation bridge")
		return
	}
	bridgeUp = true
	if err := c.AddChannel(ctx, cons.bridgeID, cons.inID, cons.colID); err != nil {
		log.Warn().Err(err).Msg("consultation bridge")
		return
	}
	log.Info().Msg("consultation call on Asterisk connected")
	for {
		select {
		case <-a.stop:
			return
		case ev, ok := <-sub.Events():
			if !ok {
				return
			}
			switch e := ev.(type) {
			case ari.ChannelDestroyed, ari.StasisEnd:
				log.Info().Msg("consultation call on Asterisk ended")
				return
			case ari.ChannelTransfer:
				// The colleague has no caller of kcc's to transfer yet.
				if e.Requested() && e.Channel() == cons.colID {
					if err := c.TransferProgress(ctx, cons.colID, ari.TransferDeclined); err != nil {
						log.Debug().Err(err).Msg("transfer during a consultation not declined")
					}
				}
			}
		case reply := <-cons.handover:
			leg, err := a.handOver(ctx, cons)
			reply <- handoverResult{leg: leg, err: err}
			if err != nil {
				log.Warn().Err(err).Msg("consultation not handed over: it goes on")
				continue
			}
			handedOver = true
			close(cons.handedOver)
			log.Info().Msg("consultation handed over: the colleague takes the caller")
			return
		}
	}
}

// handOver makes the colleague's side of the consultation the caller's new
// agent leg: an externalMedia channel for the caller joins the
// consultation bridge and the agent's consultation channel is hung up. On
// failure the consultation is left as it was.
func (a *asteriskConn) handOver(ctx context.Context, cons *consultation) (*agentLeg, error) {
	l := a.line
	next := &asteriskConn{
		line: l, emID: cons.emID, agentID: cons.colID, bridgeID: cons.bridgeID,
		endpoint: cons.colleague, contact: a.contact, codec: a.codec,
		refer: a.refer, log: a.log.With().Str("agent_channel", cons.colID).Logger(),
		done: make(chan struct{}), stop: make(chan struct{}),
	}
	next.sub = l.client.Subscribe(ari.Filter{Channels: []string{cons.emID, cons.colID}})
	sess, _, err := l.media.Offer(a.codec)
	if err != nil {
		next.sub.Close()
		return nil, fmt.Errorf("media for the colleague's leg: %w", err)
	}
	fail := func(err error) (*agentLeg, error) {
		if next.emUp {
			hctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
			_ = l.client.Hangup(hctx, cons.emID, ari.HangupNormal)
			cancel()
		}
		next.sub.Close()
		_ = sess.Close()
		return nil, err
	}
	format := "ulaw"
	if a.codec.Name == media.PCMA.Name {
		format = "alaw"
	}
	em, err := l.client.ExternalMedia(ctx, ari.ExternalMediaRequest{
		ChannelID: cons.emID, ExternalHost: sess.LocalAddr().String(), Format: format, Data: string(a.contact),
	})
	if err != nil {
		return fail(err)
	}
	next.emUp = true
	rtp, err := em.RTPAddress()
	if err != nil {
		return fail(err)
	}
	if err := sess.Accept(externalAnswer(rtp, a.codec)); err != nil {
		return fail(fmt.Errorf("external media address: %w", err))
	}
	wctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	if _, err := next.wait(wctx, cons.emID); err != nil {
		return fail(fmt.Errorf("external media channel: %w", err))
	}
	if err := l.client.AddChannel(ctx, cons.bridgeID, cons.emID); err != nil {
		return fail(err)
	}
	if err := l.client.Hangup(ctx, cons.inID, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
		a.log.Warn().Err(err).Msg("agent's consultation channel not hung up")
	}
	next.agentUp, next.bridgeUp = true, true
	next.startConsults(ctx) // the colleague may consult and transfer in turn
	next.watch.Go(func() { next.watchEnd(ctx) })
	return &agentLeg{offer: routing.Offer{Agent: cons.colleague}, conn: next, sess: sess, viaTransfer: true}, nil
}

// attended carries out an attended transfer on the agent's channel: the
// Replaces must name the agent's consultation in progress (Asterisk
// resolves it to the consultation's channel). The transfer is passed on to
// the contact, and attended returns once the contact has taken the
// colleague over, so that the phone hears of success only then.
func (a *asteriskConn) attended(ctx context.Context, e ari.ChannelTransfer) error {
	d := e.ReferTo.RequestedDestination
	a.consultMu.Lock()
	cons := a.consulting
	a.consultMu.Unlock()
	named := cons != nil && (e.ReferTo.DestinationChannel != nil && e.ReferTo.DestinationChannel.ID == cons.inID ||
		d.ProtocolID != "" && d.ProtocolID == cons.protocolID)
	if !named {
		return fmt.Errorf("%w: Replaces %q names no consultation of this agent in kcc", sip.ErrReferRefused, d.Replaces())
	}
	replaces := d.Replaces()
	if _, _, err := sip.ReplacesDialogIDs(replaces); err != nil {
		return fmt.Errorf("%w: %w", sip.ErrReferRefused, err)
	}
	l := a.line
	l.mu.Lock()
	l.pending[replaces] = cons
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.pending, replaces)
		l.mu.Unlock()
	}()
	if err := a.refer(sip.ReferTo{User: d.Destination, Replaces: replaces}); err != nil {
		return err
	}
	t := time.NewTimer(handoverTimeout)
	defer t.Stop()
	select {
	case <-cons.handedOver:
		return nil
	case <-cons.done:
		return errors.New("the consultation ended before the colleague took the caller")
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("the call did not take the consultation over in time")
	}
}

// hasConsultation reports whether replaces names an attended transfer of
// an agent on Asterisk under way (Service.hasConsultation asks it).
func (l *AsteriskLine) hasConsultation(replaces string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending[replaces] != nil
}

// takeConsultation takes over the consultation an attended transfer of
// agent on Asterisk names (Service.takeConsultation asks it first): the
// colleague's leg, with the colleague's agent id from endpoints (agent ->
// endpoint). ok is false when replaces names no such transfer, so that the
// caller looks among kcc's own consultation calls.
func (l *AsteriskLine) takeConsultation(ctx context.Context, replaces, agent string, endpoints map[string]string) (leg *agentLeg, ok bool, err error) {
	if l == nil {
		return nil, false, nil
	}
	l.mu.Lock()
	cons := l.pending[replaces]
	l.mu.Unlock()
	if cons == nil {
		return nil, false, nil
	}
	if endpoints[agent] != cons.from {
		return nil, true, fmt.Errorf("%w: the consultation %q is not %s's", sip.ErrReferRefused, replaces, agent)
	}
	reply := make(chan handoverResult, 1)
	t := time.NewTimer(handoverTimeout)
	defer t.Stop()
	select {
	case cons.handover <- reply:
	case <-cons.done:
		return nil, true, errors.New("the consultation ended meanwhile")
	case <-ctx.Done():
		return nil, true, ctx.Err()
	case <-t.C:
		return nil, true, errors.New("the consultation is not connected")
	}
	r := <-reply
	if r.err != nil {
		return nil, true, r.err
	}
	// The colleague's agent id, for the router's busy flag and the record;
	// a colleague who is no routed agent keeps the endpoint as its name.
	for _, id := range slices.Sorted(maps.Keys(endpoints)) {
		if endpoints[id] == cons.colleague {
			r.leg.offer.Agent = id
			break
		}
	}
	return r.leg, true, nil
}
