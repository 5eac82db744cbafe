package contact

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"kcc/call"
	"kcc/ivr"
	"kcc/media"
	"kcc/numbers"
	"kcc/prompts"
	"kcc/routing"
	"kcc/sip"
)

// Callback prompts: the offer itself is a queue's periodic prompt
// (terugbellen-aanbod), chosen by the admin with the queue's callback key.
const (
	promptCallbackNumber   = "terugbellen-nummer"       // "we call you back on the number"
	promptCallbackConfirm  = "terugbellen-bevestig"     // "press 1 to confirm, 2 to keep waiting"
	promptCallbackAccepted = "terugbellen-bevestigd"    // "we call you back ... goodbye"
	promptCallbackAgent    = "terugbellen-medewerker"   // to the agent: "this is a callback"
	promptCallbackNoAnswer = "terugbellen-onbereikbaar" // to the agent: "the resident did not answer"
	callbackConfirmKey     = '1'
)

// callbackPrompts are the prompts callbacks need in every flow language.
var callbackPrompts = []string{promptCallbackNumber, promptCallbackConfirm, promptCallbackAccepted,
	promptCallbackAgent, promptCallbackNoAnswer}

// Callback attempt results, as stored.
const (
	resultAnswered = "answered"
	resultNoAnswer = "no-answer"
	resultBusy     = "busy"
	resultRejected = "rejected"
	resultFailed   = "failed"
)

// Callback outcomes, as stored when a request is finished.
const (
	outcomeDone      = "done"
	outcomeExhausted = "failed" // every attempt went unanswered
)

// CallbackConfig configures callbacks. With a zero Trunk.Proxy there are
// none: the callback key and node are not offered.
type CallbackConfig struct {
	Trunk          sip.Trunk
	ConfirmTimeout time.Duration // to press the confirm key
	RingTimeout    time.Duration // the resident's phone rings this long
	MaxAttempts    int
	RetryAfter     time.Duration
	PerNumberDay   int // requests accepted per number in 24 hours
	Store          CallbackStore
}

// PendingCallback is a callback request as it is kept across restarts.
type PendingCallback struct {
	ID          call.ID
	Number      string // national form: needed to call back, deleted once done
	Queue       string
	Topic       string
	Language    call.Language
	Priority    int
	Skills      []string
	Care        bool // a repeat or vulnerable caller (routing's care rule)
	Vars        map[string]string
	FlowVersion string
	Since       time.Time // first queue time: the place kept
	Requested   time.Time
	Attempts    int
	NextAttempt time.Time // zero: at once
}

// CallbackStore keeps callback requests durably: a request the caller was
// told about must survive a restart, so every method commits before it
// returns.
type CallbackStore interface {
	SaveCallback(ctx context.Context, cb PendingCallback) error
	// CallbackAttempt records attempt n and when the next one is due.
	CallbackAttempt(ctx context.Context, id call.ID, n int, at time.Time, agent, result string, next time.Time) error
	FinishCallback(ctx context.Context, id call.ID, outcome string, at time.Time) error
	PendingCallbacks(ctx context.Context) ([]PendingCallback, error)
	// CallbacksSince counts the requests for number since a time.
	CallbacksSince(ctx context.Context, number string, since time.Time) (int, error)
}

// callback is a pending request: the caller hung up and keeps a virtual
// place in the queue until an agent is free.
type callback struct {
	PendingCallback
	number numbers.Dutch

	mu     sync.Mutex
	cancel context.CancelFunc // the ringing offer's, or nil
	offer  uint64
	retry  *time.Timer // the next attempt's, or nil
}

// callbacksEnabled reports whether kcc can call residents back.
func (s *Service) callbacksEnabled() bool {
	return s.cfg.Callback.Trunk.Proxy != "" && s.cfg.Callback.Store != nil
}

func (s *Service) callback(id call.ID) *callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callbacks[id]
}

// offerCallback reads the caller's number back and asks to confirm it. It
// returns false without a word when no callback is possible (no trunk, a
// withheld or foreign number, the daily limit reached). On confirmation
// the request is stored before the caller hears that it was accepted.
func (c *contact) offerCallback(ctx context.Context, q ivr.QueueRequest, since time.Time) (bool, error) {
	s := c.svc
	if !s.callbacksEnabled() {
		c.log.Info().Msg("callback asked for, but no trunk is configured")
		return false, nil
	}
	number, err := numbers.Parse(c.caller)
	if err != nil {
		c.log.Info().Err(err).Msg("no callback offered")
		return false, nil
	}
	cfg := s.cfg.Callback
	n, err := cfg.Store.CallbacksSince(ctx, number.National(), time.Now().Add(-24*time.Hour))
	switch {
	case err != nil:
		c.log.Error().Err(err).Msg("callback limit not checked: no callback offered")
		return false, nil
	case n >= cfg.PerNumberDay:
		c.log.Info().Int("requests", n).Msg("no callback offered: the number's daily limit is reached")
		return false, nil
	}
	sayLang, ok := s.prompts.SayerLanguage(q.Language)
	if !ok {
		return false, nil
	}
	names := []string{promptCallbackNumber}
	for _, d := range number.Digits() {
		ws, err := prompts.SayNumber(sayLang, int(d-'0'))
		if err != nil {
			return false, fmt.Errorf("callback: read back the number: %w", err)
		}
		names = append(names, ws...)
	}
	names = append(names, promptCallbackConfirm)
	d, err := c.Play(ctx, q.Language, names, true)
	if err == nil && d == 0 {
		d, err = c.ReadDigit(ctx, cfg.ConfirmTimeout)
	}
	if err != nil {
		return false, err
	}
	if d != callbackConfirmKey {
		c.log.Info().Str("digit", d.String()).Msg("callback not confirmed: the caller keeps waiting")
		return false, nil
	}
	cb := &callback{PendingCallback: PendingCallback{ID: c.id, Number: number.National(), Queue: q.Queue,
		Topic: c.topicOr(q), Language: q.Language, Priority: q.Priority, Skills: q.Skills, Care: q.Care || c.repeat, Vars: q.Vars,
		FlowVersion: c.flowVersion, Since: since, Requested: time.Now()}, number: number}
	if err := cfg.Store.SaveCallback(context.WithoutCancel(ctx), cb.PendingCallback); err != nil {
		c.log.Error().Err(err).Msg("callback request not stored: the caller keeps waiting")
		return false, nil
	}
	s.mu.Lock()
	s.callbacks[c.id] = cb
	s.mu.Unlock()
	c.log.Info().Str("queue", q.Queue).Msg("callback requested")
	return true, nil
}

func (c *contact) topicOr(q ivr.QueueRequest) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.topic != "" {
		return c.topic
	}
	return orElse(q.Topic, c.svc.topics[q.Queue])
}

// orElse returns a, or b when a is empty.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// forgetCallback drops a request that was stored but could not take the
// caller's place after all (an agent answered during the dialogue).
func (s *Service) forgetCallback(id call.ID, log zerolog.Logger) {
	s.mu.Lock()
	delete(s.callbacks, id)
	s.mu.Unlock()
	if err := s.cfg.Callback.Store.FinishCallback(context.Background(), id, "cancelled", time.Now()); err != nil {
		log.Error().Err(err).Msg("cancelled callback not stored")
	}
}

// goodbyeCallback tells the caller the request is accepted and hangs up.
// The request stands even if the caller hangs up during the goodbye.
func (c *contact) goodbyeCallback(ctx context.Context, lang call.Language) error {
	if _, err := c.Play(ctx, lang, []string{promptCallbackAccepted}, false); err != nil {
		return errCallbackAccepted
	}
	if err := c.in.Hangup(context.WithoutCancel(ctx)); err != nil {
		c.log.Debug().Err(err).Msg("hang up after callback accepted")
	}
	return errCallbackAccepted
}

// errCallbackAccepted ends the flow of a caller who will be called back:
// kcc hung up, as the caller was told.
var errCallbackAccepted = fmt.Errorf("callback accepted: %w", context.Canceled)

// Callback implements ivr.Call for the flow's callback node: the caller is
// offered a callback at once, keeping a place that starts now.
func (c *contact) Callback(ctx context.Context, q ivr.QueueRequest) (bool, error) {
	if !c.queuedOnce {
		c.queuedOnce = true
		c.svc.cfg.History.IVREnded(c.id, c.flowVersion, q.Path, ivr.CauseCallback, time.Now())
	}
	since := time.Now()
	ok, err := c.offerCallback(ctx, q, since)
	if err != nil || !ok {
		return false, err
	}
	cb := c.svc.callback(c.id)
	if err := c.svc.enqueueCallback(cb); err != nil {
		c.log.Warn().Err(err).Msg("callback not queued")
		c.svc.forgetCallback(c.id, c.log)
		return false, fmt.Errorf("%w: %w", ivr.ErrQueueUnavailable, err)
	}
	_ = c.goodbyeCallback(ctx, q.Language)
	return true, nil
}

// enqueueCallback puts a pending request into its queue as a virtual
// contact that keeps its place.
func (s *Service) enqueueCallback(cb *callback) error {
	return s.router.Enqueue(routing.Contact{ID: cb.ID, Queue: cb.Queue, Language: cb.Language, Topic: cb.Topic,
		Since: cb.Since, Priority: cb.Priority, Skills: cb.Skills, Care: cb.Care, Callback: true})
}

// RestoreCallbacks queues the pending requests of an earlier run (at
// start, before calls arrive): due ones at once, others when due.
func (s *Service) RestoreCallbacks(ctx context.Context) (int, error) {
	if !s.callbacksEnabled() {
		return 0, nil
	}
	pending, err := s.cfg.Callback.Store.PendingCallbacks(ctx)
	if err != nil {
		return 0, fmt.Errorf("restore callbacks: %w", err)
	}
	n := 0
	for _, p := range pending {
		log := s.log.With().Str("contact_id", string(p.ID)).Logger()
		number, err := numbers.Parse(p.Number)
		if err != nil {
			log.Error().Err(err).Msg("stored callback has no dialable number: finished")
			_ = s.cfg.Callback.Store.FinishCallback(ctx, p.ID, outcomeExhausted, time.Now())
			continue
		}
		cb := &callback{PendingCallback: p, number: number}
		s.mu.Lock()
		s.callbacks[p.ID] = cb
		s.mu.Unlock()
		s.scheduleCallback(cb, time.Until(p.NextAttempt), log)
		n++
	}
	return n, nil
}

// scheduleCallback queues cb after wait (at once when wait <= 0).
func (s *Service) scheduleCallback(cb *callback, wait time.Duration, log zerolog.Logger) {
	queue := func() {
		if err := s.enqueueCallback(cb); err != nil {
			log.Error().Err(err).Msg("callback not queued")
		}
	}
	if wait <= 0 {
		queue()
		return
	}
	cb.mu.Lock()
	cb.retry = time.AfterFunc(wait, queue)
	cb.mu.Unlock()
	log.Info().Dur("in", wait).Msg("callback queued later")
}

// ringCallback serves an offer for a callback: it rings the agent (the
// INVITE says X-KCC-Callback: yes), and once the agent answers, calls the
// resident over the trunk and bridges them.
func (s *Service) ringCallback(cb *callback, o routing.Offer) {
	log := s.log.With().Str("contact_id", string(cb.ID)).Str("agent", o.Agent).Uint64("offer", o.ID).Logger()
	ctx, cancel := context.WithCancel(s.life)
	defer cancel()
	cb.mu.Lock()
	cb.cancel, cb.offer = cancel, o.ID
	cb.mu.Unlock()
	defer func() {
		cb.mu.Lock()
		cb.cancel = nil
		cb.mu.Unlock()
	}()
	info := ringInfo{contact: cb.ID, caller: cb.number.National(), queue: cb.Queue, topic: cb.Topic,
		lang: cb.Language, waited: time.Since(cb.Since), codec: media.PCMA, flow: cb.FlowVersion, vars: cb.Vars, callback: true, care: cb.Care}
	info.name = "[" + orElse(cb.Topic, "Terugbellen") + "] " + info.caller
	conn, sess, err := s.connectAgent(ctx, o, info, func(sess *media.Session) func([]byte) ([]byte, error) { return sess.Update }, nil, log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info().Msg("callback offer withdrawn")
			return
		}
		log.Info().Err(err).Msg("agent did not take the callback")
		s.router.Declined(o.ID)
		return
	}
	defer func() { _ = sess.Close() }()
	if err := s.router.Answered(o.ID); err != nil {
		log.Info().Err(err).Msg("callback answered too late")
		_ = conn.Hangup(context.WithoutCancel(ctx))
		return
	}
	log.Info().Msg("agent took the callback: calling the resident")
	result := s.callResident(ctx, cb, o.Agent, conn, sess, log)
	_ = conn.Hangup(context.WithoutCancel(ctx))
	s.router.Ended(cb.ID)
	s.callbackDone(cb, o.Agent, result, log)
}

// callResident calls the resident while the agent listens, bridges them
// when the resident answers, and returns the attempt's result.
func (s *Service) callResident(ctx context.Context, cb *callback, agent string, conn agentConn, sess *media.Session, log zerolog.Logger) string {
	cfg := s.cfg.Callback
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { // the agent hanging up ends the attempt
		select {
		case <-conn.Done():
			stop()
		case <-ctx.Done():
		}
	}()
	if p, ok := s.prompts.Prompt(call.Language("nl"), promptCallbackAgent); ok {
		_ = sess.Play(ctx, p.Frames(sess.Codec()))
	}
	rsess, offer, err := s.media.OfferBoth(sess.Codec())
	if err != nil {
		log.Error().Err(err).Msg("no media for the resident's leg")
		return resultFailed
	}
	defer func() { _ = rsess.Close() }()
	rctx, cancel := context.WithTimeout(ctx, cfg.RingTimeout)
	out, err := s.phones.DialTrunk(rctx, cfg.Trunk, cb.number.E164(), sip.DialRequest{SDP: offer,
		Headers: []sip.Header{{Name: "X-KCC-Contact-ID", Value: string(cb.ID)}}})
	cancel()
	if err != nil {
		result := dialResult(err)
		log.Info().Err(err).Str("result", result).Msg("the resident was not reached")
		if ctx.Err() == nil {
			if p, ok := s.prompts.Prompt(call.Language("nl"), promptCallbackNoAnswer); ok {
				_ = sess.Play(ctx, p.Frames(sess.Codec()))
			}
		}
		return result
	}
	out.SetHooks(sip.Hooks{Offer: rsess.Update, Digit: rsess.InjectDigit})
	if err := rsess.Accept(out.Answer()); err != nil {
		log.Warn().Err(err).Msg("resident's SDP answer refused")
		_ = out.Hangup(context.WithoutCancel(ctx))
		return resultFailed
	}
	log.Info().Msg("resident answered: talking")
	start := time.Now()
	bctx, endBridge := context.WithCancel(ctx)
	go func() {
		select {
		case <-out.Context().Done():
			endBridge()
		case <-bctx.Done():
		}
	}()
	_ = rsess.Bridge(bctx, sess)
	residentHungUp := out.Context().Err() != nil
	endBridge()
	_ = out.Hangup(context.WithoutCancel(ctx))
	s.cfg.History.Talked(cb.ID, agent, residentHungUp, quality(rsess.Stats()), quality(sess.Stats()), time.Now())
	log.Info().Bool("resident_hung_up", residentHungUp).Dur("talk", time.Since(start)).Msg("callback conversation ended")
	return resultAnswered
}

// dialResult names why a call to the resident failed.
func dialResult(err error) string {
	var st *sip.StatusError
	switch {
	case errors.As(err, &st) && (st.Code == 486 || st.Code == 600):
		return resultBusy
	case errors.As(err, &st) && (st.Code == 603 || st.Code == 403):
		return resultRejected
	case errors.As(err, &st) && st.Code == 480, errors.Is(err, sip.ErrNotAnswered):
		return resultNoAnswer
	}
	return resultFailed
}

// callbackDone records an attempt and finishes the request or schedules
// the next attempt.
func (s *Service) callbackDone(cb *callback, agent, result string, log zerolog.Logger) {
	cfg := s.cfg.Callback
	if s.life.Err() != nil {
		// Cut short by a shutdown: not the resident's doing, so it is no
		// attempt; the request stays pending for the next start.
		log.Info().Msg("callback interrupted by shutdown: it stays pending")
		return
	}
	ctx := context.Background()
	now := time.Now()
	cb.Attempts++
	var next time.Time
	final := result == resultAnswered || cb.Attempts >= cfg.MaxAttempts
	if !final {
		next = now.Add(cfg.RetryAfter)
	}
	if err := cfg.Store.CallbackAttempt(ctx, cb.ID, cb.Attempts, now, agent, result, next); err != nil {
		log.Error().Err(err).Msg("callback attempt not stored")
	}
	if !final {
		cb.NextAttempt = next
		log.Info().Int("attempt", cb.Attempts).Str("result", result).Time("next", next).Msg("callback attempt failed: trying again later")
		s.scheduleCallback(cb, cfg.RetryAfter, log)
		return
	}
	outcome := outcomeDone
	if result != resultAnswered {
		outcome = outcomeExhausted
	}
	s.mu.Lock()
	delete(s.callbacks, cb.ID)
	s.mu.Unlock()
	if err := cfg.Store.FinishCallback(ctx, cb.ID, outcome, now); err != nil {
		log.Error().Err(err).Msg("finished callback not stored")
	}
	s.cfg.History.CallbackEnded(cb.ID, result == resultAnswered, now)
	log.Info().Int("attempts", cb.Attempts).Str("outcome", outcome).Msg("callback finished")
}

// withdrawCallback stops ringing the agent for a callback offer.
func (cb *callback) withdraw(offerID uint64) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.cancel != nil && cb.offer == offerID {
		cb.cancel()
	}
}

// stopCallbacks stops the timers of requests waiting for a retry; the
// requests stay stored for the next start.
func (s *Service) stopCallbacks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cb := range s.callbacks {
		cb.mu.Lock()
		if cb.retry != nil {
			cb.retry.Stop()
		}
		if cb.cancel != nil {
			cb.cancel()
		}
		cb.mu.Unlock()
	}
}
