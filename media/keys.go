package media

import (
	"time"

	"kcc/call"
)

// keyMethod is how a key reached kcc.
type keyMethod uint8

const (
	viaRFC4733 keyMethod = iota // telephone-event packets
	viaInband                   // dual tone in the audio (Goertzel)
	viaInfo                     // SIP INFO, through InjectDigit
)

// dedupeWindow is how close in time the same key by two methods must be to
// count as one press. Phones that send RFC 4733 and SIP INFO, or events
// whose audio also carries the tone, report one press twice well within
// it; a person cannot press a key twice that fast by two methods.
const dedupeWindow = 250 * time.Millisecond

// keyPress is one press seen recently and the methods that reported it.
type keyPress struct {
	d       call.Digit
	at      time.Time
	methods uint8 // bit per keyMethod
}

// keyDedupe lets each press through once whatever mix of methods reports
// it: a key is dropped when the same key came by a different method within
// dedupeWindow and that press has not been reported by this method yet.
// Repeats by one method ("11") always pass. It is guarded by the session's
// keysMu.
type keyDedupe struct {
	recent [8]keyPress
	pos    int
}

// admit records a key and reports whether it is a new press.
func (k *keyDedupe) admit(d call.Digit, m keyMethod, now time.Time) bool {
	bit := uint8(1) << m
	for i := range k.recent {
		p := &k.recent[i]
		if p.at.IsZero() || p.d != d || p.methods&bit != 0 {
			continue
		}
		if age := now.Sub(p.at); age > dedupeWindow || age < -dedupeWindow {
			continue
		}
		p.methods |= bit
		return false
	}
	k.recent[k.pos] = keyPress{d: d, at: now, methods: bit}
	k.pos = (k.pos + 1) % len(k.recent)
	return true
}

// deliverKey is the one entry of every key into Digits(): it drops copies
// of a press that arrived by another method, and while bridged has the
// peer regenerate the key towards its remote. The key never goes back to
// the leg it came from.
func (s *Session) deliverKey(d call.Digit, m keyMethod, now time.Time) {
	s.keysMu.Lock()
	if s.keysClosed {
		s.keysMu.Unlock()
		return
	}
	if !s.dedupe.admit(d, m, now) {
		s.keysMu.Unlock()
		s.stats.digitsDup.Add(1)
		return
	}
	s.deliver(d)
	s.keysMu.Unlock()
	if peer := s.relayTo.Load(); peer != nil {
		if ev, ok := eventCode(d); ok {
			if err := peer.queueKey(ev, nil); err != nil {
				s.log.Debug().Err(err).Stringer("key", d).Msg("key not regenerated on the bridged leg")
			}
		}
	}
}

// InjectDigit delivers a key that arrived another way than RTP (SIP INFO)
// into the same Digits() stream as RFC 4733 and in-band keys, with the
// same de-duplication and bridge regeneration. Invalid keys and keys after
// Close are ignored.
func (s *Session) InjectDigit(d call.Digit) {
	if !d.Valid() {
		return
	}
	s.deliverKey(d, viaInfo, time.Now())
}
