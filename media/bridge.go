package media

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Bridge relays RTP between s and other until ctx is done or either session
// closes, and returns then: ctx.Err(), or ErrClosed. Audio is forwarded on
// receipt (no re-pacing) with each leg's own SSRC, sequence numbers and
// timeline, transcoded by table when one leg speaks A-law and the other
// µ-law. Keys are not forwarded as packets: a key received on one leg (RFC
// 4733, in-band or InjectDigit) appears on that leg's Digits() and is
// regenerated on the other leg with that leg's telephone-event payload type
// (or as a tone when it has none); it never goes back to the leg it came
// from. When a leg's relayed audio pauses for more than 60 ms, that leg
// gets comfort silence. Playback on both sessions stops while bridged
// (running Plays return ErrReplaced). When Bridge returns, both sessions are
// intact and may play or bridge again.
func (s *Session) Bridge(ctx context.Context, other *Session) error {
	switch {
	case other == nil:
		return errors.New("bridge: other session is nil")
	case other == s:
		return errors.New("bridge: cannot bridge a session with itself")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	first, second := s, other
	if second.id < first.id {
		first, second = second, first
	}
	first.mu.Lock()
	second.mu.Lock()
	var err error
	switch {
	case s.isClosed || other.isClosed:
		err = ErrClosed
	case s.peer != nil || other.peer != nil:
		err = ErrBridged
	}
	if err == nil {
		for _, leg := range []*Session{s, other} {
			if leg.out != nil {
				leg.out.finish(ErrReplaced)
				leg.out = nil
			}
			leg.tx.mu.Lock()
			leg.tx.relayOn = false
			leg.tx.lastRelay = time.Time{}
			leg.tx.mu.Unlock()
		}
		s.peer, other.peer = other, s
		s.relayTo.Store(other)
		other.relayTo.Store(s)
	}
	second.mu.Unlock()
	first.mu.Unlock()
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}

	select {
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.closed:
		err = fmt.Errorf("bridge: %w", ErrClosed)
	case <-other.closed:
		err = fmt.Errorf("bridge: %w", ErrClosed)
	}

	first.mu.Lock()
	second.mu.Lock()
	s.relayTo.Store(nil)
	other.relayTo.Store(nil)
	s.peer, other.peer = nil, nil
	second.mu.Unlock()
	first.mu.Unlock()
	return err
}
