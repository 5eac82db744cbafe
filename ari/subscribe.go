package ari

import (
	"slices"
	"sync"
)

// Filter selects events for a Subscription. Types, if set, restricts the
// event types. The resource lists, if any is set, restrict events to those
// that concern at least one listed resource. The zero Filter selects
// every event.
//
// A channel event concerns its channel; Dial concerns the peer and the
// caller; bridge membership events concern the channel and the bridge;
// playback events concern the playback and its target channel or bridge.
type Filter struct {
	Types     []string // e.g. "StasisStart"
	Channels  []string // channel ids
	Bridges   []string // bridge ids
	Playbacks []string // playback ids
	Endpoints []string // "PJSIP/1001"
	Devices   []string // device state names, e.g. "PJSIP/1001"
}

func (f Filter) hasResources() bool {
	return len(f.Channels)+len(f.Bridges)+len(f.Playbacks)+len(f.Endpoints)+len(f.Devices) > 0
}

// Match reports whether f selects ev.
func (f Filter) Match(ev Event) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, ev.EventType()) {
		return false
	}
	if !f.hasResources() {
		return true
	}
	r := ev.refs()
	for _, id := range r.channels {
		if id != "" && slices.Contains(f.Channels, id) {
			return true
		}
	}
	return has(f.Bridges, r.bridge) || has(f.Playbacks, r.playback) ||
		has(f.Endpoints, r.endpoint) || has(f.Devices, r.device)
}

func has(list []string, v string) bool { return v != "" && slices.Contains(list, v) }

// Subscription receives the events its Filter selects, in the order
// Asterisk sent them. Its channel is closed when the subscription ends:
// by Close, by ErrOverflow when the consumer falls behind by more than
// Config.EventBuffer events, or by ErrStopped when Run returns. Err tells
// which.
type Subscription struct {
	client *Client
	filter Filter
	ch     chan Event

	mu     sync.Mutex
	closed bool
	err    error
}

// Subscribe starts delivering events selected by f. Events read after
// Subscribe returns are delivered, so subscribing to an id the caller chose
// before the request that creates the resource (Originate, CreateBridge,
// Play, ExternalMedia) loses nothing, not even an event that Asterisk sends
// before its HTTP reply. A subscription may be created before Run.
func (c *Client) Subscribe(f Filter) *Subscription {
	f = Filter{
		Types: slices.Clone(f.Types), Channels: slices.Clone(f.Channels), Bridges: slices.Clone(f.Bridges),
		Playbacks: slices.Clone(f.Playbacks), Endpoints: slices.Clone(f.Endpoints), Devices: slices.Clone(f.Devices),
	}
	s := &Subscription{client: c, filter: f, ch: make(chan Event, c.cfg.EventBuffer)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		s.end(ErrStopped)
		return s
	}
	c.subs[s] = struct{}{}
	return s
}

// Events returns the channel the events arrive on; it is closed when the
// subscription ends.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Err returns why the subscription ended: nil while it is open or after
// Close, ErrOverflow or ErrStopped otherwise.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes its channel. Events still
// buffered can be read. Close may be called more than once.
func (s *Subscription) Close() {
	s.client.mu.Lock()
	delete(s.client.subs, s)
	s.client.mu.Unlock()
	s.end(nil)
}

// end closes the channel once, recording err.
func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	close(s.ch)
}

// deliver hands ev to the consumer without blocking. It reports false if
// the buffer was full, after ending the subscription with ErrOverflow:
// silently dropping an event could leave a call stuck, so the consumer
// must see that it lost some.
func (s *Subscription) deliver(ev Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true
	}
	select {
	case s.ch <- ev:
		return true
	default:
		s.closed, s.err = true, ErrOverflow
		close(s.ch)
		return false
	}
}

// dispatch delivers ev to every matching subscription. Only the reader
// goroutine calls it, so deliveries keep Asterisk's order.
func (c *Client) dispatch(ev Event, scratch []*Subscription) []*Subscription {
	scratch = scratch[:0]
	c.mu.Lock()
	for s := range c.subs {
		if s.filter.Match(ev) {
			scratch = append(scratch, s)
		}
	}
	c.mu.Unlock()
	for _, s := range scratch {
		if !s.deliver(ev) {
			c.mu.Lock()
			delete(c.subs, s)
			c.mu.Unlock()
			c.log.Warn().Str("event", ev.EventType()).Msg("subscriber fell behind; subscription closed with overflow")
		}
	}
	clear(scratch) // drop references to closed subscriptions
	return scratch
}

// stop ends every subscription with ErrStopped and refuses new ones.
func (c *Client) stop() {
	c.mu.Lock()
	c.stopped = true
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	c.mu.Unlock()
	for s := range subs {
		s.end(ErrStopped)
	}
}
