package routing

import "time"

// Clock is the router's source of time. Ring timeouts, wrap-up, escalation
// and max wait are scheduled through it so tests and simulations can control
// time.
//
// AfterFunc must call f later, never before it returns: the router calls
// AfterFunc while holding its lock, and f takes that lock. A real clock runs
// f on its own goroutine; a simulator may run it from its event loop.
// The returned stop function reports whether it prevented f from running; the
// router treats a late f as harmless, so stop need not be exact.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock returns the real clock, backed by time.Now and time.AfterFunc.
// Inside a testing/synctest bubble it follows the bubble's fake time. A
// Router on it gives each offer and contact a time.Timer of its own that it
// resets, rather than calling AfterFunc per timer: a routing decision then
// allocates nothing.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
