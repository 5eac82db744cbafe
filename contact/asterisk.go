package contact

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"kcc/ari"
	"kcc/call"
	"kcc/media"
	"kcc/routing"
	"kcc/sip"
)

// AsteriskLine reaches agents whose phones are PJSIP endpoints on Asterisk,
// through ARI.
//
// The caller's leg stays in kcc. For each offer kcc opens a media session
// and an ARI externalMedia channel that sends and takes plain RTP to and
// from it, puts that channel in a mixing bridge, originates the agent's
// endpoint into the Stasis app with the X-KCC-* headers (PJSIP_HEADER) and
// a caller ID of "[Topic] number", and adds the agent to the bridge when it
// answers (its StasisStart). kcc's media relays the caller's leg to the
// externalMedia session. Why externalMedia and not a SIP trunk into
// Stasis: the caller never leaves kcc, so hold music, comfort silence,
// DTMF and the call record stay kcc's, and when Asterisk or the ARI
// connection dies only the agent's side is lost; the caller stays on the
// line and can be queued again. Asterisk cleans nothing up by itself: kcc
// hangs up both of its channels and destroys the bridge when either side
// ends (ari.md §8).
//
// Transfers: the agent's channel is originated with ari-only transfer
// handling, so a REFER from the agent's phone (blind transfer) reaches kcc
// as an ARI ChannelTransfer instead of being carried out by Asterisk's
// dialplan, which would take the caller's externalMedia leg out of kcc's
// hands. kcc decides it like a REFER from a phone registered on kcc and
// reports the outcome, which Asterisk sends to the phone as the NOTIFY.
// Attended transfers work when the consulted call is one kcc controls: see
// asterisk_consult.go for how an agent's call to a colleague comes into
// the app and how the colleague takes the caller over.
type AsteriskLine struct {
	client      *ari.Client
	media       *media.Engine
	ringTimeout time.Duration
	log         zerolog.Logger

	mu sync.Mutex
	// pending are the consultations an attended transfer names, by the
	// Replaces value the transfer was passed on with, while the contact's
	// talk loop takes them over (takeConsultation).
	pending map[string]*consultation
}

// NewAsteriskLine builds the line. ringTimeout is the router's ring
// timeout: Asterisk is told to give up one second earlier, so that a
// no-answer comes back as a cause rather than a withdrawn offer.
func NewAsteriskLine(client *ari.Client, m *media.Engine, ringTimeout time.Duration, log zerolog.Logger) *AsteriskLine {
	return &AsteriskLine{client: client, media: m, ringTimeout: ringTimeout, log: log, pending: make(map[string]*consultation)}
}

// cleanupTimeout bounds the REST calls that tear an attempt down.
const cleanupTimeout = 5 * time.Second

// connect rings endpoint for offer o and returns the answered agent and the
// media session to bridge with the caller.
// refer decides a transfer the agent asks for from its phone (nil: none is
// possible, and every REFER is declined).
func (l *AsteriskLine) connect(ctx context.Context, endpoint string, o routing.Offer, info ringInfo,
	refer func(sip.ReferTo) error, log zerolog.Logger) (agentConn, *media.Session, error) {
	if l == nil {
		return nil, nil, errors.New("agent is on Asterisk but no ARI connection is configured")
	}
	// The router's ring timer started with the offer; Asterisk's must run
	// out a second before it, counting the time the setup below takes
	// (seconds when Asterisk is busy), so that a no-answer comes back as
	// a cause rather than a withdrawn offer.
	deadline := time.Now().Add(l.ringTimeout - time.Second)
	suffix := fmt.Sprintf("%s-%d", info.contact, o.ID)
	a := &asteriskConn{
		line: l, emID: "kcc-em-" + suffix, agentID: "kcc-agent-" + suffix, bridgeID: "kcc-bridge-" + suffix,
		endpoint: endpoint, contact: info.contact, codec: info.codec,
		refer: refer, log: log, done: make(chan struct{}), stop: make(chan struct{}),
	}
	// Subscribe before anything is created: events may come before replies.
	a.sub = l.client.Subscribe(ari.Filter{Channels: []string{a.emID, a.agentID}})
	sess, _, err := l.media.Offer(info.codec)
	if err != nil {
		a.sub.Close()
		return nil, nil, fmt.Errorf("media for the Asterisk leg: %w", err)
	}
	fail := func(err error) (agentConn, *media.Session, error) {
		a.teardown(ctx, ari.HangupNormal)
		_ = sess.Close()
		return nil, nil, err
	}
	format := "ulaw"
	if info.codec.Name == media.PCMA.Name {
		format = "alaw"
	}
	em, err := l.client.ExternalMedia(ctx, ari.ExternalMediaRequest{
		ChannelID: a.emID, ExternalHost: sess.LocalAddr().String(), Format: format, Data: string(info.contact),
	})
	if err != nil {
		return fail(err)
	}
	a.emUp = true
	rtp, err := em.RTPAddress()
	if err != nil {
		return fail(err)
	}
	if err := sess.Accept(externalAnswer(rtp, info.codec)); err != nil {
		return fail(fmt.Errorf("external media address: %w", err))
	}
	if _, err := a.wait(ctx, a.emID); err != nil {
		return fail(fmt.Errorf("external media channel: %w", err))
	}
	if _, err := l.client.CreateBridge(ctx, a.bridgeID, string(info.contact)); err != nil {
		return fail(err)
	}
	a.bridgeUp = true
	if err := l.client.AddChannel(ctx, a.bridgeID, a.emID); err != nil {
		return fail(err)
	}
	// Without ari-only handling Asterisk would carry a REFER out itself.
	vars := map[string]string{ari.TransferHandlingVariable: ari.TransferHandlingARI}
	for _, h := range info.headers() {
		vars["PJSIP_HEADER(add,"+h.Name+")"] = h.Value
	}
	log.Info().Str("endpoint", endpoint).Msg("ringing agent on Asterisk")
	if _, err := l.client.Originate(ctx, ari.OriginateRequest{
		ChannelID: a.agentID, Endpoint: endpoint, AppArgs: []string{"agent", string(info.contact)},
		CallerID: fmt.Sprintf("%q <%s>", info.name, info.caller), Timeout: max(time.Until(deadline).Truncate(time.Second), time.Second), // ARI rounds up
		Variables: vars,
	}); err != nil {
		return fail(err)
	}
	a.agentUp = true
	if _, err := a.wait(ctx, a.agentID); err != nil {
		if ctx.Err() != nil {
			// Withdrawn: "answered elsewhere" keeps it off the phone's missed calls.
			a.teardown(ctx, ari.HangupAnsweredElsewhere)
			_ = sess.Close()
			return nil, nil, ctx.Err()
		}
		return fail(err)
	}
	if err := l.client.AddChannel(ctx, a.bridgeID, a.agentID); err != nil {
		return fail(err)
	}
	watchCtx := context.WithoutCancel(ctx) // the ring's ctx ends with the hand-off
	a.startConsults(watchCtx)
	a.watch.Go(func() { a.watchEnd(watchCtx) })
	return a, sess, nil
}

// externalAnswer is the SDP answer the externalMedia channel would give:
// plain RTP in the caller's codec from Asterisk's UNICASTRTP address.
func externalAnswer(rtp netip.AddrPort, c media.Codec) []byte {
	return fmt.Appendf(nil, "v=0\r\no=asterisk 0 0 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP %d\r\na=rtpmap:%d %s/8000\r\na=sendrecv\r\n",
		rtp.Addr(), rtp.Addr(), rtp.Port(), c.PayloadType, c.PayloadType, c.Name)
}

// asteriskConn is one answered (or ringing) agent on Asterisk: its channel,
// the externalMedia channel and the bridge, all with ids kcc chose.
type asteriskConn struct {
	line                    *AsteriskLine
	emID, agentID, bridgeID string
	sub                     *ari.Subscription

	emUp, agentUp, bridgeUp bool // what teardown must remove

	endpoint string      // the agent's endpoint, e.g. "PJSIP/1001"
	contact  call.ID     // the caller's contact
	codec    media.Codec // the caller's leg's codec
	// consults is the agent's calls to colleagues coming into the app
	// (nil: none are taken); consultVar the global variable that sends
	// them there ("" when not set). See asterisk_consult.go.
	consults   *ari.Subscription
	consultVar string
	// consulting is the agent's consultation in progress, if any.
	consultMu  sync.Mutex
	consulting *consultation
	// stop ends the consultations when the conn is torn down.
	stop     chan struct{}
	stopOnce sync.Once

	refer func(sip.ReferTo) error // nil: transfers are declined
	log   zerolog.Logger
	// transferring is held while a transfer is decided and reported, so
	// that teardown does not hang up the agent's channel before the phone
	// has its NOTIFY.
	transferring sync.Mutex

	watch  sync.WaitGroup
	done   chan struct{}
	once   sync.Once
	failed atomic.Bool // ended by Asterisk or ARI failing, not by the agent
}

// errAgentGone is a ringing agent's channel that ended without answering.
type errAgentGone struct {
	cause int
	text  string
}

func (e errAgentGone) Error() string {
	return fmt.Sprintf("agent's channel ended: cause %d (%s)", e.cause, e.text)
}

// wait waits for the StasisStart of channel id, or its end.
func (a *asteriskConn) wait(ctx context.Context, id string) (ari.StasisStart, error) {
	for {
		select {
		case <-ctx.Done():
			return ari.StasisStart{}, ctx.Err()
		case ev, ok := <-a.sub.Events():
			if !ok {
				return ari.StasisStart{}, fmt.Errorf("ARI events: %w", a.sub.Err())
			}
			switch e := ev.(type) {
			case ari.StasisStart:
				if e.Channel.ID == id {
					return e, nil
				}
			case ari.ChannelDestroyed:
				if e.Channel.ID == a.agentID {
					a.agentUp = false
				}
				if e.Channel.ID == a.emID {
					a.emUp = false
				}
				if e.Channel.ID == id || e.Channel.ID == a.emID {
					return ari.StasisStart{}, errAgentGone{cause: e.Cause, text: e.CauseTxt}
				}
			}
		}
	}
}

// watchEnd closes done when either of the call's channels ends in
// Asterisk (the agent hung up, or Asterisk went away). Events missed while
// the WebSocket was down are not replayed (ari.md §6), so after every
// reconnect the channels are looked up again: one that is gone ended in
// the gap (an Asterisk restart kills them all).
func (a *asteriskConn) watchEnd(ctx context.Context) {
	end := func() { a.once.Do(func() { close(a.done) }) }
	defer end() // the subscription ended: by Hangup, or ARI's stream broke
	for {
		wasConnected, changed := a.line.client.ConnState()
		select {
		case ev, ok := <-a.sub.Events():
			if !ok {
				return
			}
			switch e := ev.(type) {
			case ari.ChannelDestroyed:
				a.ended(e.Channel.ID, end)
			case ari.StasisEnd:
				a.ended(e.Channel.ID, end)
			case ari.ChannelTransfer:
				if e.Requested() && e.Channel() == a.agentID {
					a.transfer(ctx, e)
				}
			}
		case <-changed:
			if connected, _ := a.line.client.ConnState(); connected && !wasConnected && a.goneInGap(ctx) {
				a.line.log.Warn().Str("agent_channel", a.agentID).Msg("the call's channels ended while ARI was disconnected")
				a.failed.Store(true)
				end()
			}
		}
	}
}

// ended handles the end of channel id: the agent's channel ending is the
// agent hanging up; our externalMedia channel ending first means Asterisk
// dropped the call.
func (a *asteriskConn) ended(id string, end func()) {
	switch id {
	case a.agentID:
		end()
	case a.emID:
		select {
		case <-a.done:
		default:
			a.failed.Store(true)
		}
		end()
	}
}

// transfer decides the transfer the agent's phone asked for and reports
// the outcome to the phone: success when refer accepts it (kcc's talk loop
// then re-queues the caller and hangs the agent up), failure otherwise.
func (a *asteriskConn) transfer(ctx context.Context, e ari.ChannelTransfer) {
	a.transferring.Lock()
	defer a.transferring.Unlock()
	d := e.ReferTo.RequestedDestination
	log := a.log.With().Str("agent_channel", a.agentID).Str("to", d.Destination).Logger()
	state := ari.TransferAnswered
	var err error
	switch {
	case a.refer == nil:
		err = fmt.Errorf("%w: no transfer is possible on this call", sip.ErrReferRefused)
	case e.Attended():
		err = a.attended(ctx, e)
	case d.Destination == "":
		err = fmt.Errorf("%w: Refer-To without a user part", sip.ErrReferRefused)
	default:
		// Asterisk passes on only the Refer-To's user part, not its URI.
		err = a.refer(sip.ReferTo{User: d.Destination})
	}
	switch {
	case err == nil:
		log.Info().Msg("agent on Asterisk transfers the call")
	case errors.Is(err, sip.ErrReferRefused):
		log.Warn().Err(err).Msg("transfer refused")
		state = ari.TransferDeclined
	default:
		log.Warn().Err(err).Msg("transfer failed")
		state = ari.TransferUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	if err := a.line.client.TransferProgress(ctx, a.agentID, state); err != nil && !errors.Is(err, ari.ErrNotFound) {
		log.Warn().Err(err).Str("state", string(state)).Msg("transfer outcome not reported to the phone")
	}
}

// goneInGap reports whether one of the call's channels no longer exists.
func (a *asteriskConn) goneInGap(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	for _, id := range []string{a.agentID, a.emID} {
		if _, err := a.line.client.Channel(ctx, id); errors.Is(err, ari.ErrNotFound) {
			return true
		}
	}
	return false
}

func (a *asteriskConn) Done() <-chan struct{} { return a.done }

func (a *asteriskConn) Failed() bool { return a.failed.Load() }

// Hangup ends the agent's side and removes everything kcc made in Asterisk.
func (a *asteriskConn) Hangup(ctx context.Context) error {
	a.teardown(ctx, ari.HangupNormal)
	a.watch.Wait()
	return nil
}

// teardown hangs up both channels and destroys the bridge; resources that
// are already gone (404) are fine. It runs also when ctx is already done.
func (a *asteriskConn) teardown(ctx context.Context, reason ari.HangupReason) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	a.transferring.Lock() // a transfer's NOTIFY goes out before the BYE
	defer a.transferring.Unlock()
	c, log := a.line.client, a.line.log
	ignore := func(what string, err error) {
		if err != nil && !errors.Is(err, ari.ErrNotFound) {
			log.Warn().Err(err).Str("what", what).Msg("Asterisk cleanup")
		}
	}
	if a.agentUp {
		ignore("agent channel", c.Hangup(ctx, a.agentID, reason))
	}
	if a.emUp {
		ignore("external media channel", c.Hangup(ctx, a.emID, ari.HangupNormal))
	}
	if a.bridgeUp {
		ignore("bridge", c.DestroyBridge(ctx, a.bridgeID))
	}
	a.stopConsults(ctx)
	a.sub.Close()
}
