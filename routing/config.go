package routing

import (
	"errors"
	"fmt"
	"time"
)

// Defaults used when a Config field is zero.
const (
	DefaultRingTimeout = 15 * time.Second
	DefaultWrapUp      = 10 * time.Second
)

// Config holds the router's timers. Zero fields take the defaults, so the zero
// Config is usable; negative durations are rejected by New.
type Config struct {
	// RingTimeout is how long an agent rings before the offer moves on
	// (default 15s).
	RingTimeout time.Duration
	// WrapUp is the after-call work time before the agent is available
	// again (default 10s).
	WrapUp time.Duration
}

// withDefaults fills zero fields and rejects negative ones.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.RingTimeout < 0 {
		errs = append(errs, fmt.Errorf("ring timeout %v is negative", c.RingTimeout))
	}
	if c.WrapUp < 0 {
		errs = append(errs, fmt.Errorf("wrap-up %v is negative", c.WrapUp))
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = DefaultRingTimeout
	}
	if c.WrapUp == 0 {
		c.WrapUp = DefaultWrapUp
	}
	return c, errors.Join(errs...)
}

// Queue describes one queue. Contacts in it may only be offered to agents
// that have every skill in Skills; a queue without skills accepts any agent.
type Queue struct {
	Name   string   // unique key, e.g. "paspoort"
	Topic  string   // display name for agents, e.g. "Paspoort"
	Skills []string // required skills
}

// Agent describes one agent. An agent may have no skills; it then serves only
// queues that require none.
type Agent struct {
	ID     string // unique key, also the SIP user the Line rings
	Name   string
	Skills []string
}
