package routing

import (
	"fmt"
	"math"
	"time"

	"kcc/call"
)

// Qualifier says how a wait estimate may be announced.
type Qualifier int

// Qualifiers. The lifecycle layer maps them onto prompts.SayMinutes.
const (
	// NoEstimate: say nothing about the wait (no agent can serve the
	// queue, the contact is being connected, or the estimate is too
	// uncertain to give even a lower bound of a minute).
	NoEstimate Qualifier = iota
	// About: "about N minutes"; the estimate is good.
	About
	// MoreThan: "more than N minutes"; N is a lower bound the caller
	// will very likely wait at least.
	MoreThan
)

var qualifierNames = [...]string{NoEstimate: "none", About: "about", MoreThan: "more-than"}

// String returns the qualifier's name, e.g. "about".
func (q Qualifier) String() string {
	if q >= 0 && int(q) < len(qualifierNames) {
		return qualifierNames[q]
	}
	return fmt.Sprintf("Qualifier(%d)", int(q))
}

// Estimate is a waiting contact's expected remaining wait, by the
// queue-length estimator with abandonment: with s agents serving the queue
// at rate μ each and callers ahead giving up at rate θ each, a caller with n
// unserved callers ahead waits Σ_{i=0..n} 1/(sμ + iθ) on average (Ibrahim
// and Whitt 2009). μ and θ are learnt from the queue's recent contacts.
type Estimate struct {
	Position int // 1-based place in the queue
	Ahead    int // callers ahead without an agent ringing for them
	// Wait is the expected remaining wait and Spread its standard
	// deviation; both are zero with NoEstimate.
	Wait, Spread time.Duration
	Agents       int  // s: staffed agents behind the estimate
	Thin         bool // the queue's history is too short; defaults were used
	Qualifier    Qualifier
	// Minutes is the number to announce with Qualifier: Wait rounded to
	// the nearest minute (at least 1) for About, a whole-minute lower
	// bound for MoreThan.
	Minutes int
}

// predicted returns the estimate for events: Wait, or -1 without one.
func (e Estimate) predicted() time.Duration {
	if e.Agents == 0 {
		return -1
	}
	return e.Wait
}

// Estimate returns the wait estimate of a waiting contact, for position
// and wait announcements; ErrUnknownContact if it is not waiting.
func (r *Router) Estimate(id call.ID) (Estimate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.contacts[id]
	if !ok || c.agent != nil {
		return Estimate{}, fmt.Errorf("estimate %q: %w", id, ErrUnknownContact)
	}
	if c.offer != nil {
		return Estimate{Position: c.position(), Agents: 1}, nil
	}
	return r.estimate(c), nil
}

// estimate works out c's Estimate; c is waiting without an offer.
func (r *Router) estimate(c *contact) Estimate {
	q, cfg := c.queue, &r.cfg.EWT
	e := Estimate{Position: c.position()}
	for _, d := range q.waiting[:e.Position-1] {
		if d.offer == nil {
			e.Ahead++
		}
	}
	e.Agents = q.staffed[0]
	aht, theta, thin := q.hist.rates(cfg)
	e.Thin = thin
	if e.Agents == 0 {
		// Only escalation could reach agents: estimate with them, but do
		// not promise.
		e.Agents, e.Thin = q.staffed[1], true
	}
	if e.Agents == 0 {
		return e
	}
	smu := float64(e.Agents) / aht
	var mean, variance float64
	for i := 0; i <= e.Ahead; i++ {
		m := 1 / (smu + float64(i)*theta)
		mean += m
		variance += m * m
	}
	sd := math.Sqrt(variance)
	// Milliseconds are plenty, and keep results free of float noise.
	e.Wait = time.Duration(math.Round(mean*1e3)) * time.Millisecond
	e.Spread = time.Duration(math.Round(sd*1e3)) * time.Millisecond
	switch {
	case e.Wait > cfg.Cap:
		e.Qualifier, e.Minutes = MoreThan, int(cfg.Cap/time.Minute)
	case !e.Thin && sd <= cfg.MaxSpread*mean:
		e.Qualifier, e.Minutes = About, max(1, int(math.Round(mean/60)))
	default:
		if low := int((mean - sd) / 60); low >= 1 {
			e.Qualifier, e.Minutes = MoreThan, low
		}
	}
	return e
}

// history is what a queue has learnt about its recent contacts: handle
// times (ringing, talk and wrap-up) and waits, with whether each ended in
// abandonment. Both are rings over the last Window contacts with running
// sums, so an update is O(1).
type history struct {
	handle       []time.Duration
	handleNext   int
	handleSum    time.Duration
	waits        []time.Duration
	abandoned    []bool
	waitNext     int
	waitSum      time.Duration
	abandonCount int
}

// handled records a handle time.
func (h *history) handled(d time.Duration, window int) {
	if len(h.handle) < window {
		h.handle = append(h.handle, d)
	} else {
		h.handleSum -= h.handle[h.handleNext]
		h.handle[h.handleNext] = d
		h.handleNext = (h.handleNext + 1) % window
	}
	h.handleSum += d
}

// outcome records a wait that ended in an answer or abandonment.
func (h *history) outcome(wait time.Duration, abandoned bool, window int) {
	if len(h.waits) < window {
		h.waits = append(h.waits, wait)
		h.abandoned = append(h.abandoned, abandoned)
	} else {
		i := h.waitNext
		h.waitSum -= h.waits[i]
		if h.abandoned[i] {
			h.abandonCount--
		}
		h.waits[i], h.abandoned[i] = wait, abandoned
		h.waitNext = (i + 1) % window
	}
	h.waitSum += wait
	if abandoned {
		h.abandonCount++
	}
}

// rates returns the mean handle time in seconds and the abandonment rate
// per second of waiting (the exponential MLE: abandons / total wait, with
// answered waits as censored observations). With fewer than MinSamples
// handle times the configured handle time fills the gap and thin is true;
// with fewer than MinSamples outcomes the configured patience is used.
func (h *history) rates(cfg *EWTConfig) (aht, theta float64, thin bool) {
	n, k := len(h.handle), cfg.MinSamples
	sum := h.handleSum
	if n < k {
		sum += time.Duration(k-n) * cfg.HandleTime
		n, thin = k, true
	}
	aht = max(sum.Seconds()/float64(n), 1e-3)
	switch {
	case len(h.waits) >= k && h.waitSum > 0:
		theta = float64(h.abandonCount) / h.waitSum.Seconds()
	case cfg.Patience > 0:
		theta = 1 / cfg.Patience.Seconds()
	}
	return aht, theta, thin
}
