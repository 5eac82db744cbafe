package call

import (
	"crypto/rand"
	"encoding/hex"
)

// ID identifies one contact (one resident's call) from INVITE to wrap-up. It is
// sent to agents as X-KCC-Contact-ID and ties log lines, events and records
// together.
type ID string

// NewID returns a random contact ID (16 hex digits).
func NewID() ID {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux (Go 1.24+ panics instead)
	return ID(hex.EncodeToString(b[:]))
}

// Digit is one DTMF key: '0'-'9', '*', '#' or 'A'-'D'.
type Digit byte

// Valid reports whether d is one of the sixteen DTMF keys.
func (d Digit) Valid() bool {
	switch {
	case d >= '0' && d <= '9', d == '*', d == '#', d >= 'A' && d <= 'D':
		return true
	}
	return false
}

// String returns the key as a one-character string.
func (d Digit) String() string { return string(rune(d)) }

// Language is a prompt language code, e.g. "nl" or "en".
type Language string
