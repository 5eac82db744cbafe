package incident

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"
)

// MaxDuration bounds how long a message may run: an incident message that
// nobody remembers to clear should not play for weeks.
const MaxDuration = 7 * 24 * time.Hour

// Message is what plays at a slot until it expires.
type Message struct {
	Slot    string    `json:"slot"`
	Prompts []string  `json:"prompts"`
	Set     time.Time `json:"set"`
	Expires time.Time `json:"expires"`
	By      string    `json:"by,omitempty"` // who set it, for the audit trail
}

// PromptChecker tells whether a prompt exists (in every language the
// flows use), so a message cannot point at silence.
type PromptChecker func(name string) bool

// SlotChecker tells whether a flow has an incident node for the slot, so a
// message cannot wait at a slot no caller passes.
type SlotChecker func(slot string) bool

// ErrInvalid marks a message the board refuses.
var ErrInvalid = errors.New("invalid incident message")

var slotName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Board is the set of active incident messages. It is safe for concurrent
// use.
type Board struct {
	check PromptChecker
	slots SlotChecker

	mu       sync.RWMutex
	messages map[string]Message
}

// NewBoard returns an empty board. Either checker may be nil (no check).
func NewBoard(check PromptChecker, slots SlotChecker) *Board {
	return &Board{check: check, slots: slots, messages: make(map[string]Message)}
}

// Set puts m on its slot, replacing what was there, if it is valid at now:
// a slot name, one to ten known prompts, and an expiry after now and at
// most MaxDuration away.
func (b *Board) Set(m Message, now time.Time) error {
	var errs []error
	if !slotName.MatchString(m.Slot) {
		errs = append(errs, fmt.Errorf("slot %q: use 1-64 letters, digits, '-' or '_'", m.Slot))
	} else if b.slots != nil && !b.slots(m.Slot) {
		errs = append(errs, fmt.Errorf("slot %q: no flow has an incident node for it", m.Slot))
	}
	if len(m.Prompts) == 0 || len(m.Prompts) > 10 {
		errs = append(errs, fmt.Errorf("%d prompts, want 1 to 10", len(m.Prompts)))
	}
	for _, p := range m.Prompts {
		if b.check != nil && !b.check(p) {
			errs = append(errs, fmt.Errorf("prompt %q does not exist", p))
		}
	}
	switch {
	case !m.Expires.After(now):
		errs = append(errs, fmt.Errorf("expires %s, which is not after now (%s)", m.Expires.Format(time.RFC3339), now.Format(time.RFC3339)))
	case m.Expires.Sub(now) > MaxDuration:
		errs = append(errs, fmt.Errorf("expires in %v, more than the %v allowed", m.Expires.Sub(now).Round(time.Minute), MaxDuration))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	m.Prompts = slices.Clone(m.Prompts)
	m.Set = now
	b.mu.Lock()
	b.messages[m.Slot] = m
	b.mu.Unlock()
	return nil
}

// Clear removes the message of slot and reports whether there was one.
func (b *Board) Clear(slot string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.messages[slot]
	delete(b.messages, slot)
	return ok
}

// Active returns the prompts to play at slot at time now, if a message is
// set there and has not expired. Expired messages are simply not returned;
// List drops them.
func (b *Board) Active(slot string, now time.Time) ([]string, bool) {
	b.mu.RLock()
	m, ok := b.messages[slot]
	b.mu.RUnlock()
	if !ok || !now.Before(m.Expires) {
		return nil, false
	}
	return slices.Clone(m.Prompts), true
}

// List returns the messages active at now, sorted by slot, and forgets the
// expired ones.
func (b *Board) List(now time.Time) []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Message, 0, len(b.messages))
	for slot, m := range b.messages {
		if !now.Before(m.Expires) {
			delete(b.messages, slot)
			continue
		}
		m.Prompts = slices.Clone(m.Prompts)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out
}
