package contact

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/ivr"
	"kcc/media"
	"kcc/prompts"
	"kcc/routing"
	"kcc/sip"
	"kcc/store"
)

// contact is one caller's contact while it is answered. It implements
// ivr.Call for the engine.
type contact struct {
	id     call.ID
	svc    *Service
	in     *sip.Inbound
	sess   *media.Session
	log    zerolog.Logger
	caller string
	ctx    context.Context // the caller's side: done when the caller is gone
	// flowVersion is the deployed flow version the call runs (flows.Version.ID).
	flowVersion string
	// repeat: the caller called before, often enough for routing's care.
	repeat bool
	// queuedOnce: the IVR reached a queue node, which ended its part for
	// the call record (only the contact's goroutine touches it).
	queuedOnce bool

	// connected hands an answered agent leg from a ring goroutine to the
	// contact's own goroutine (waiting in Enqueue).
	connected chan *agentLeg
	// held says the agent put the call on hold or took it off hold.
	held chan struct{}
	// emptied says the router let the caller go: nobody is left in the
	// queue who could answer (the queue's leave-empty policy).
	emptied chan struct{}
	// overflowed says the caller reached its queue's max wait and the
	// queue overflows to a callback offer.
	overflowed chan string // the queue's overflow target
	// referred carries a transfer the agent asked for (REFER) to talk.
	referred chan sip.ReferTo

	mu       sync.Mutex
	queue    ivr.QueueRequest
	topic    string
	enqueued time.Time
	rings    map[uint64]context.CancelFunc // ringing offers by ID
	rung     sync.WaitGroup                // ring goroutines
}

// agentLeg is an answered agent: its dialog and its media session.
type agentLeg struct {
	offer routing.Offer
	conn  agentConn
	sess  *media.Session
	// viaTransfer: the leg came by an attended transfer (a colleague the
	// agent consulted), so the router never offered it: the agent is
	// marked busy instead, until the conversation ends.
	viaTransfer bool
}

// talkEnd is how a conversation ended.
type talkEnd struct {
	requeue  bool      // the agent's side failed: the caller is queued again in place
	transfer string    // blind transfer: a queue or a transfer target
	next     *agentLeg // attended transfer: the consulted colleague takes over
}

var _ ivr.Call = (*contact)(nil)

// Play plays prompts in lang. With interruptible set, a key stops playback
// and is returned.
func (c *contact) Play(ctx context.Context, lang call.Language, names []string, interruptible bool) (call.Digit, error) {
	for _, name := range names {
		p, used, ok := c.svc.prompts.Lookup(lang, name)
		if !ok {
			return 0, fmt.Errorf("play %s/%s: no such prompt", lang, name)
		}
		if used != lang {
			c.log.Debug().Str("prompt", name).Str("language", string(used)).Msg("prompt from the fallback language")
		}
		d, err := c.play(ctx, p.Frames(c.sess.Codec()), interruptible)
		if err != nil || d != 0 {
			return d, err
		}
	}
	return 0, nil
}

// play sends frames and, when interruptible, watches for a key meanwhile.
func (c *contact) play(ctx context.Context, frames [][]byte, interruptible bool) (call.Digit, error) {
	if !interruptible {
		return 0, c.sess.Play(ctx, frames)
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- c.sess.Play(pctx, frames) }()
	select {
	case err := <-done:
		return 0, err
	case d := <-c.sess.Digits():
		stop()
		<-done
		c.log.Debug().Str("digit", d.String()).Msg("barge-in")
		return d, nil
	}
}

// ReadDigit waits up to timeout for a key.
func (c *contact) ReadDigit(ctx context.Context, timeout time.Duration) (call.Digit, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d := <-c.sess.Digits():
		c.log.Debug().Str("digit", d.String()).Msg("digit")
		return d, nil
	case <-t.C:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Enqueue queues the caller and plays hold music until an agent answers (then
// bridges them until either hangs up) or the caller hangs up.
func (c *contact) Enqueue(ctx context.Context, q ivr.QueueRequest) error {
	topic := q.Topic
	if topic == "" {
		topic = c.svc.topics[q.Queue]
	}
	c.mu.Lock()
	c.queue, c.topic, c.enqueued = q, topic, time.Now()
	first := c.enqueued
	c.mu.Unlock()
	if !c.queuedOnce {
		c.queuedOnce = true
		c.svc.cfg.History.IVREnded(c.id, c.flowVersion, q.Path, ivr.CauseQueued, first)
	}
	transferred := false
	for requeued := false; ; requeued = true {
		if requeued && !transferred && c.svc.cfg.RequeuePrompt != "" {
			// Before the caller is queued again, so that an agent who is
			// free at once does not cut the explanation short. Its place
			// is kept all the same (Since).
			if p, ok := c.svc.prompts.Prompt(q.Language, c.svc.cfg.RequeuePrompt); ok {
				if err := c.sess.Play(ctx, p.Frames(c.sess.Codec())); err != nil {
					return err
				}
			}
		}
		// Since keeps the first queue time: a caller put back after its
		// agent's side failed keeps its place.
		if err := c.svc.router.Enqueue(routing.Contact{ID: c.id, Queue: q.Queue, Language: q.Language,
			Topic: topic, Since: first, Priority: q.Priority, Skills: q.Skills, Care: q.Care || c.repeat}); err != nil {
			if errors.Is(err, routing.ErrQueueFull) || errors.Is(err, routing.ErrQueueEmpty) {
				c.log.Info().Err(err).Str("queue", q.Queue).Msg("queue refused the caller")
				return fmt.Errorf("%w: %w", ivr.ErrQueueUnavailable, err)
			}
			return fmt.Errorf("enqueue %s: %w", q.Queue, err)
		}
		c.log.Info().Str("queue", q.Queue).Str("language", string(q.Language)).Msg("queued")

		leg, err := c.wait(ctx, q, first)
		switch {
		case errors.Is(err, errCallbackAccepted), errors.Is(err, errSentAway):
			return err
		case errors.Is(err, errEmptied):
			c.log.Info().Str("queue", q.Queue).Dur("waited", time.Since(first)).Msg("queue emptied: the caller leaves it")
			return fmt.Errorf("%w: %w", ivr.ErrQueueUnavailable, err)
		case err != nil:
			c.svc.router.Abandon(c.id)
			c.log.Info().Str("queue", q.Queue).Dur("waited", time.Since(first)).Msg("caller left the queue")
			return err
		case leg == nil:
			c.log.Info().Str("queue", q.Queue).Dur("waited", time.Since(first)).Msg("caller left the queue with the exit key")
			return nil // the flow goes on at the queue node's next
		}
		end := c.talk(ctx, leg)
		for end.next != nil {
			end = c.talk(ctx, end.next)
		}
		requeue, transfer := end.requeue, end.transfer
		_, toQueue := c.svc.topics[transfer]
		switch {
		case transfer != "" && !toQueue: // a configured transfer target (agentRefer checked it)
			return c.Transfer(ctx, transfer, q.Language)
		case transfer != "":
			// A blind transfer to a queue: the caller keeps its topic and
			// its first queue time, so it goes ahead of later callers.
			q.Queue, transferred = transfer, true
			c.mu.Lock()
			c.queue.Queue = transfer
			c.mu.Unlock()
			continue
		case !requeue:
			return nil
		}
		transferred = false
		c.log.Warn().Str("agent", leg.offer.Agent).Msg("the agent's side failed: queued again in place")
	}
}

// wait holds the caller in the queue (music and announcements) until an
// agent answers (its leg), the caller leaves with the exit key (nil, nil),
// accepts a callback (errCallbackAccepted, after the goodbye) or hangs up
// (ctx's error).
func (c *contact) wait(ctx context.Context, q ivr.QueueRequest, first time.Time) (*agentLeg, error) {
	ann := c.svc.announce[q.Queue]
	for resumed := false; ; resumed = true {
		holdCtx, stopHold := context.WithCancel(ctx)
		held := make(chan struct{})
		go func() {
			defer close(held)
			c.hold(holdCtx, q.Language, q.Queue, resumed)
		}()
		leg, key, err := c.awaitAgent(ctx, ann.ExitKey, c.svc.cfg.CallbackKeys[q.Queue])
		stopHold()
		<-held
		if err != nil || leg != nil || key == ann.ExitKey {
			return leg, err
		}
		if message, ok := strings.CutPrefix(key, OverflowMessage); ok {
			if err := c.svc.router.TimedOut(c.id); err != nil {
				c.log.Info().Err(err).Msg("max wait message too late: an agent took the call")
				continue
			}
			_, _ = c.Play(ctx, q.Language, []string{message}, false)
			if err := c.in.Hangup(context.WithoutCancel(ctx)); err != nil {
				c.log.Debug().Err(err).Msg("hang up after the max wait message")
			}
			return nil, errSentAway
		}
		// The callback key or a max wait that overflows to a callback
		// offer: the dialogue runs while the caller keeps the place, so an
		// agent may still answer meanwhile.
		ok, err := c.offerCallback(ctx, q, first)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := c.svc.router.Callback(c.id); err != nil {
			c.log.Info().Err(err).Msg("callback too late: an agent took the call")
			c.svc.forgetCallback(c.id, c.log)
			continue
		}
		return nil, c.goodbyeCallback(ctx, q.Language)
	}
}

// errSentAway ends the flow of a caller kcc hung up on at max wait, after
// the queue's message.
var errSentAway = fmt.Errorf("max wait message played: %w", context.Canceled)

// errEmptied: the router removed the caller from a queue left without agents.
var errEmptied = errors.New("no agent left in the queue")

// awaitAgent waits in the queue until an agent answers (its leg), the
// caller presses exitKey and the router lets it go, or callbackKey (the
// key), or the caller hangs up (ctx's error). Other keys mean nothing in
// the queue.
func (c *contact) awaitAgent(ctx context.Context, exitKey, callbackKey string) (leg *agentLeg, key string, err error) {
	for {
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case leg := <-c.connected:
			return leg, "", nil
		case <-c.emptied:
			return nil, "", errEmptied
		case target := <-c.overflowed:
			return nil, target, nil
		case d := <-c.sess.Digits():
			switch d.String() {
			case "":
			case callbackKey:
				return nil, callbackKey, nil
			case exitKey:
				if err := c.svc.router.Exit(c.id, exitKey); err != nil {
					// An agent answered just then: the conversation wins.
					c.log.Info().Err(err).Msg("exit key too late")
					continue
				}
				return nil, exitKey, nil
			}
		}
	}
}

// hold plays the hold prompt once, then hold music until ctx is done,
// with the queue's announcements (position, expected wait, periodic
// messages) between the music.
func (c *contact) hold(ctx context.Context, lang call.Language, queue string, resumed bool) {
	codec := c.sess.Codec()
	if name := c.svc.cfg.HoldPrompt; name != "" && !resumed {
		if _, err := c.Play(ctx, lang, []string{name}, false); err != nil {
			return
		}
	}
	music := c.svc.prompts.Hold().Frames(codec)
	ann := c.svc.announce[queue]
	if !ann.Position && !ann.WaitTime && len(ann.Periodic) == 0 {
		_ = c.sess.Loop(ctx, music)
		return
	}
	var (
		said     announced
		lastSaid time.Time
		offset   int // where the music stopped, so it goes on from there
	)
	for ctx.Err() == nil {
		if lastSaid.IsZero() || time.Since(lastSaid) >= ann.MinSpacing {
			if names := c.announcement(lang, ann, &said); len(names) > 0 {
				if _, err := c.Play(ctx, lang, names, false); err != nil {
					return
				}
				lastSaid = time.Now()
			}
		}
		if ann.Every <= 0 {
			break
		}
		mctx, cancel := context.WithTimeout(ctx, ann.Every)
		start := time.Now()
		_ = c.sess.Loop(mctx, rotate(music, offset))
		cancel()
		offset += int(time.Since(start) / (media.FrameSamples * time.Second / 8000))
	}
	if ctx.Err() == nil {
		_ = c.sess.Loop(ctx, rotate(music, offset))
	}
}

// rotate returns frames starting at frame offset (modulo their number) and
// wrapping around, so that music interrupted by an announcement goes on
// where it stopped instead of starting over.
func rotate(frames [][]byte, offset int) [][]byte {
	if len(frames) == 0 {
		return frames
	}
	offset %= len(frames)
	return append(frames[offset:len(frames):len(frames)], frames[:offset]...)
}

// announced is what a waiting caller has been told so far.
type announced struct {
	position int // the last position said (or seen at the head)
	periodic int // the next periodic message
}

// announcement is what to tell the caller now: the position if it changed
// and the caller is not at the head, the expected wait if the router's
// estimate is good enough to say, and the next periodic message.
func (c *contact) announcement(lang call.Language, ann routing.Announcements, said *announced) []string {
	est, err := c.svc.router.Estimate(c.id)
	if err != nil {
		return nil // answered or gone meanwhile
	}
	sayLang, ok := c.svc.prompts.SayerLanguage(lang)
	var names []string
	if ann.Position && ok && est.Position > 1 && est.Position != said.position {
		if ns, err := prompts.SayPosition(sayLang, est.Position); err == nil {
			names = append(names, ns...)
		}
	}
	said.position = est.Position
	if ann.WaitTime && ok && est.Qualifier != routing.NoEstimate {
		approx := prompts.About
		if est.Qualifier == routing.MoreThan {
			approx = prompts.MoreThan
		}
		if ns, err := prompts.SayMinutes(sayLang, est.Minutes, approx); err == nil {
			names = append(append(names, waitTimePrompt), ns...)
		}
	}
	if len(ann.Periodic) > 0 {
		names = append(names, ann.Periodic[said.periodic%len(ann.Periodic)])
		said.periodic++
	}
	return names
}

// waitTimePrompt introduces the expected wait: "de verwachte wachttijd is".
const waitTimePrompt = "wachttijd"

// talk bridges caller and agent until either hangs up, then ends the other
// side and tells the router the conversation is over. While the agent holds
// the call (re-INVITE with sendonly or inactive), the caller hears hold music.
// It reports whether the agent's side failed (rather than hung up) while the
// caller is still there: the caller is then to be queued again.
func (c *contact) talk(ctx context.Context, leg *agentLeg) (end talkEnd) {
	start := time.Now()
	c.log.Info().Str("agent", leg.offer.Agent).Msg("agent connected")
	tctx, stop := context.WithCancel(ctx)
	agentGone := make(chan struct{})
	go func() { // ends when the agent leaves or the talk ends
		select {
		case <-leg.conn.Done():
			stop()
		case <-tctx.Done():
		}
		close(agentGone)
	}()
	for tctx.Err() == nil {
		pctx, endPhase := context.WithCancel(tctx)
		done := make(chan error, 1)
		onHold := leg.sess.RemoteHold()
		go func() {
			if onHold {
				done <- c.sess.Loop(pctx, c.svc.prompts.Hold().Frames(c.sess.Codec()))
				return
			}
			done <- c.sess.Bridge(pctx, leg.sess)
		}()
		var err error
		select {
		case to := <-c.referred:
			if to.Replaces != "" {
				next, err := c.svc.takeConsultation(tctx, to.Replaces, leg.offer.Agent)
				if err != nil {
					c.log.Warn().Err(err).Msg("attended transfer failed: the conversation goes on")
					endPhase()
					<-done
					continue
				}
				c.log.Info().Str("agent", leg.offer.Agent).Str("to", next.offer.Agent).Msg("agent transferred the call after consulting")
				end.next = next
			} else {
				c.log.Info().Str("agent", leg.offer.Agent).Str("to", to.User).Msg("agent transferred the call")
				end.transfer = to.User
			}
			endPhase()
			<-done
			stop()
			continue
		case <-c.held:
			c.log.Info().Bool("hold", leg.sess.RemoteHold()).Msg("agent changed hold")
			endPhase()
			err = <-done
		case err = <-done:
			endPhase()
		}
		if err != nil && pctx.Err() == nil {
			c.log.Warn().Err(err).Msg("media between caller and agent failed")
			stop()
		}
	}
	stop()
	<-agentGone
	by := "agent"
	if ctx.Err() != nil {
		by = "caller"
	}
	if err := leg.conn.Hangup(context.WithoutCancel(ctx)); err != nil {
		c.log.Debug().Err(err).Msg("BYE to agent")
	}
	st, at := c.sess.Stats(), leg.sess.Stats()
	_ = leg.sess.Close()
	// Before the router hears of the end, so the record has the talk
	// before the wrap-up starts.
	switch {
	case leg.viaTransfer:
		// The router never had this conversation: only the busy flag ends.
		c.svc.setBusy(leg.offer.Agent, false, c.log)
	case end.next != nil:
		c.svc.cfg.History.Transferred(c.id, leg.offer.Agent, end.next.offer.Agent, true, quality(st), quality(at), time.Now())
	case end.transfer != "":
		c.svc.cfg.History.Transferred(c.id, leg.offer.Agent, end.transfer, false, quality(st), quality(at), time.Now())
	default:
		c.svc.cfg.History.Talked(c.id, leg.offer.Agent, by == "caller", quality(st), quality(at), time.Now())
	}
	if !leg.viaTransfer {
		c.svc.router.Ended(c.id)
	}
	c.log.Info().Str("agent", leg.offer.Agent).Str("hung_up_by", by).Dur("talk", time.Since(start)).
		Uint64("caller_rtp_in", st.PacketsReceived).Uint64("caller_rtp_out", st.PacketsSent).
		Int64("caller_rtp_lost", st.PacketsLost).
		Uint64("agent_rtp_in", at.PacketsReceived).Uint64("agent_rtp_out", at.PacketsSent).
		Int64("agent_rtp_lost", at.PacketsLost).
		Msg("conversation ended")
	if ctx.Err() != nil {
		if end.next != nil { // the caller left as the colleague took over
			c.drop(end.next)
			c.svc.setBusy(end.next.offer.Agent, false, c.log)
		}
		return talkEnd{}
	}
	if end.next == nil && end.transfer == "" {
		end.requeue = leg.conn.Failed()
	}
	return end
}

// agentRefer decides a transfer the agent asks for with REFER: to one of
// kcc's queues (the caller keeps its topic and first queue time) or to a
// configured transfer target, or, with Replaces, to the colleague the agent
// consulted in a call through kcc (attended transfer).
func (c *contact) agentRefer(to sip.ReferTo) error {
	if to.Replaces != "" {
		if !c.svc.hasConsultation(to.Replaces) {
			return fmt.Errorf("%w: no consultation call matches Replaces %q", sip.ErrReferRefused, to.Replaces)
		}
		select {
		case c.referred <- to:
			return nil
		default:
			return errors.New("a transfer is already under way")
		}
	}
	_, queue := c.svc.topics[to.User]
	_, target := c.svc.cfg.Transfers[to.User]
	if !queue && !target {
		return fmt.Errorf("%w: %q is neither a queue nor a transfer target", sip.ErrReferRefused, to.User)
	}
	select {
	case c.referred <- to:
		return nil
	default:
		return errors.New("a transfer is already under way")
	}
}

// agentOffer applies a re-INVITE/UPDATE offer of the agent and tells talk
// when the hold state changed.
func (c *contact) agentOffer(sess *media.Session) func([]byte) ([]byte, error) {
	return func(offer []byte) ([]byte, error) {
		was := sess.RemoteHold()
		answer, err := sess.Update(offer)
		if err == nil && sess.RemoteHold() != was {
			select {
			case c.held <- struct{}{}:
			default:
			}
		}
		return answer, err
	}
}

// ring rings one agent for this contact in a goroutine the contact owns.
func (c *contact) ring(o routing.Offer) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	c.rings[o.ID] = cancel
	c.mu.Unlock()
	c.rung.Go(func() {
		defer func() {
			c.mu.Lock()
			delete(c.rings, o.ID)
			c.mu.Unlock()
			cancel()
		}()
		c.dial(ctx, o)
	})
}

func (c *contact) withdraw(offerID uint64) {
	c.mu.Lock()
	cancel := c.rings[offerID]
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// ringInfo is what every agent line tells the agent about the contact.
type ringInfo struct {
	contact call.ID
	caller  string // the caller's number
	name    string // display name: "[Topic] caller" for desk phones
	queue   string
	topic   string
	lang    call.Language
	waited  time.Duration
	codec   media.Codec       // the caller's leg's codec
	flow    string            // the IVR flow version the call runs
	vars    map[string]string // what the IVR collected (a case number), as X-KCC-Var-<name>
	// callback: the agent calls a resident back who asked for it (the
	// resident is dialled once the agent answers).
	callback bool
	// care: a repeat caller or one the IVR flagged (routing's care rule).
	care bool
}

// headers are the X-KCC-* headers of DESIGN.md §4.
func (r ringInfo) headers() []sip.Header {
	hs := []sip.Header{
		{Name: "X-KCC-Contact-ID", Value: string(r.contact)},
		{Name: "X-KCC-Queue", Value: r.queue},
		{Name: "X-KCC-Topic", Value: r.topic},
		{Name: "X-KCC-Wait", Value: strconv.Itoa(int(r.waited.Seconds()))},
		{Name: "X-KCC-Language", Value: string(r.lang)},
		{Name: "X-KCC-Flow-Version", Value: r.flow},
	}
	if r.callback {
		hs = append(hs, sip.Header{Name: "X-KCC-Callback", Value: "yes"})
	}
	if r.care {
		hs = append(hs, sip.Header{Name: "X-KCC-Care", Value: "yes"})
	}
	for _, k := range slices.Sorted(maps.Keys(r.vars)) {
		if v := r.vars[k]; headerSafe(k) && headerSafe(v) {
			hs = append(hs, sip.Header{Name: "X-KCC-Var-" + k, Value: v})
		}
	}
	return hs
}

// headerSafe admits what the IVR collects (digits, names) into a SIP
// header: printable ASCII without separators that could break it.
func headerSafe(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e || strings.ContainsRune(`"\,;:<>`, r) {
			return false
		}
	}
	return true
}

// agentConn is an answered agent's side of the call, whichever line
// reached it (a phone registered on kcc, or an agent on Asterisk).
type agentConn interface {
	// Done is closed when the agent's side ended (the agent hung up).
	Done() <-chan struct{}
	// Hangup ends the agent's side; it is safe after Done.
	Hangup(ctx context.Context) error
	// Failed reports, after Done, whether the side ended by a failure
	// (its server went away) rather than by the agent hanging up.
	Failed() bool
}

// dial rings the agent of offer o and hands an answered leg to the
// contact, or tells the router why not.
func (c *contact) dial(ctx context.Context, o routing.Offer) {
	log := c.log.With().Str("agent", o.Agent).Uint64("offer", o.ID).Logger()
	router := c.svc.router
	c.mu.Lock()
	info := ringInfo{contact: c.id, caller: c.caller, queue: c.queue.Queue, topic: c.topic,
		lang: c.queue.Language, waited: time.Since(c.enqueued), codec: c.sess.Codec(), flow: c.flowVersion, vars: c.queue.Vars,
		care: c.queue.Care || c.repeat}
	c.mu.Unlock()
	info.name = c.caller
	if info.topic != "" {
		info.name = "[" + info.topic + "] " + c.caller
	}
	conn, sess, err := c.svc.connectAgent(ctx, o, info, c.agentOffer, c.agentRefer, log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info().Msg("ringing stopped")
			return // withdrawn by the router, or the caller left: the router knows
		}
		log.Info().Err(err).Msg("agent did not take the call")
		router.Declined(o.ID)
		return
	}
	leg := &agentLeg{offer: o, conn: conn, sess: sess}
	if err := router.Answered(o.ID); err != nil {
		log.Info().Err(err).Msg("answered too late")
		c.drop(leg)
		return
	}
	select {
	case c.connected <- leg:
	case <-c.ctx.Done():
		log.Info().Msg("caller left as the agent answered")
		c.drop(leg)
		router.Ended(c.id)
	}
}

// connectAgent rings the agent of o on its line (a phone on kcc or on
// Asterisk) and returns the answered side. onOffer, for a phone on kcc,
// builds the handler of the phone's re-INVITEs (hold).
func (s *Service) connectAgent(ctx context.Context, o routing.Offer, info ringInfo,
	onOffer func(*media.Session) func([]byte) ([]byte, error), refer func(sip.ReferTo) error, log zerolog.Logger) (agentConn, *media.Session, error) {
	if endpoint, ok := s.endpoints[o.Agent]; ok {
		return s.asterisk.connect(ctx, endpoint, o, info, refer, log)
	}
	return s.dialPhone(ctx, o, info, onOffer, refer, log)
}

// dialPhone rings a phone registered on kcc: INVITE with the X-KCC-*
// headers, the caller's law offered first.
func (s *Service) dialPhone(ctx context.Context, o routing.Offer, info ringInfo,
	onOffer func(*media.Session) func([]byte) ([]byte, error), refer func(sip.ReferTo) error, log zerolog.Logger) (agentConn, *media.Session, error) {
	b, ok := s.phones.Lookup(o.Agent)
	if !ok {
		return nil, nil, fmt.Errorf("agent %s has no registered phone", o.Agent)
	}
	// The caller's law first: a relay without transcoding when the phone
	// speaks it, transcoding when it speaks only the other law.
	sess, offer, err := s.media.OfferBoth(info.codec)
	if err != nil {
		return nil, nil, fmt.Errorf("media for agent leg: %w", err)
	}
	log.Info().Str("contact", b.Contact).Msg("ringing agent")
	out, err := s.phones.Dial(ctx, sip.DialRequest{
		To: b, FromUser: info.caller, FromName: info.name, SDP: offer, Headers: info.headers(),
	})
	if err != nil {
		_ = sess.Close()
		return nil, nil, err
	}
	out.SetHooks(sip.Hooks{Offer: onOffer(sess), Digit: sess.InjectDigit, Refer: refer})
	if err := sess.Accept(out.Answer()); err != nil {
		_ = out.Hangup(context.WithoutCancel(ctx))
		_ = sess.Close()
		return nil, nil, fmt.Errorf("agent's SDP answer: %w", err)
	}
	return phoneConn{out}, sess, nil
}

// phoneConn is an answered phone registered on kcc.
type phoneConn struct{ out *sip.Outbound }

func (p phoneConn) Done() <-chan struct{}            { return p.out.Context().Done() }
func (p phoneConn) Hangup(ctx context.Context) error { return p.out.Hangup(ctx) }

// Failed is false: a phone's end is a BYE, whatever the agent meant by it.
func (p phoneConn) Failed() bool { return false }

func (c *contact) drop(leg *agentLeg) {
	if err := leg.conn.Hangup(context.WithoutCancel(c.ctx)); err != nil {
		c.log.Debug().Err(err).Msg("BYE to agent")
	}
	_ = leg.sess.Close()
}

// quality is a leg's receive quality for the call record.
func quality(st media.Stats) store.LegQuality {
	q := store.LegQuality{Jitter: st.Jitter}
	if lost := max(st.PacketsLost, 0); lost > 0 {
		q.Loss = float64(lost) / (float64(st.PacketsReceived) + float64(lost))
	}
	return q
}
