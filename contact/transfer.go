package contact

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kcc/call"
	"kcc/sip"
)

// promptTransfer tells the caller the transfer is being set up.
const promptTransfer = "doorverbinden"

// ErrUnknownTarget is returned by Transfer for a target not in the
// configuration; flows are checked against it, so it means a stale flow.
var ErrUnknownTarget = errors.New("unknown transfer target")

// Transfer implements ivr.Call for the flow's transfer node: kcc calls the
// configured target over the trunk and connects the caller to it, staying
// in the media path (so the call record has both legs and no carrier has
// to support REFER). It returns nil once the conversation is over, and an
// error when the target was not reached (the flow goes on).
func (c *contact) Transfer(ctx context.Context, target string, lang call.Language) error {
	s := c.svc
	number, ok := s.cfg.Transfers[target]
	if !ok {
		return fmt.Errorf("transfer to %q: %w", target, ErrUnknownTarget)
	}
	if s.cfg.Callback.Trunk.Proxy == "" {
		return fmt.Errorf("transfer to %q: no trunk configured", target)
	}
	log := c.log.With().Str("target", target).Logger()
	if _, err := c.Play(ctx, lang, []string{promptTransfer}, false); err != nil {
		return err
	}
	leg, offer, err := s.media.OfferBoth(c.sess.Codec())
	if err != nil {
		return fmt.Errorf("transfer to %q: media: %w", target, err)
	}
	defer func() { _ = leg.Close() }()
	// Music while the target rings, so the caller does not hear silence.
	mctx, stopMusic := context.WithCancel(ctx)
	music := make(chan struct{})
	go func() {
		defer close(music)
		_ = c.sess.Loop(mctx, s.prompts.Hold().Frames(c.sess.Codec()))
	}()
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Callback.RingTimeout)
	out, err := s.phones.DialTrunk(rctx, s.cfg.Callback.Trunk, number, sip.DialRequest{SDP: offer, FromUser: c.caller,
		Headers: []sip.Header{{Name: "X-KCC-Contact-ID", Value: string(c.id)}}})
	cancel()
	stopMusic()
	<-music
	if err != nil {
		log.Info().Err(err).Msg("transfer target not reached")
		return fmt.Errorf("transfer to %q: %w", target, err)
	}
	out.SetHooks(sip.Hooks{Offer: leg.Update, Digit: leg.InjectDigit})
	if err := leg.Accept(out.Answer()); err != nil {
		_ = out.Hangup(context.WithoutCancel(ctx))
		return fmt.Errorf("transfer to %q: target's SDP answer: %w", target, err)
	}
	log.Info().Msg("transferred: connected to the target")
	start := time.Now()
	bctx, end := context.WithCancel(ctx)
	go func() {
		select {
		case <-out.Context().Done():
			end()
		case <-bctx.Done():
		}
	}()
	_ = c.sess.Bridge(bctx, leg)
	end()
	_ = out.Hangup(context.WithoutCancel(ctx))
	log.Info().Dur("talk", time.Since(start)).Msg("transferred call ended")
	return nil
}
