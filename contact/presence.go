package contact

import (
	"context"
	"errors"
	"slices"
	"time"

	"kcc/ari"
)

// Presence learns when agents can take calls: the router's Login, Logout
// and SetBusy.
type Presence interface {
	Registered(agent string)
	Unregistered(agent string)
	Busy(agent string, busy bool)
}

// presenceRetry is how long RunPresence waits before reading the state
// again after a failed read while ARI stays connected.
const presenceRetry = 2 * time.Second

// resyncRounds bounds how often a resync re-reads the state because
// events arrived while it was reading (see RunPresence).
const resyncRounds = 3

// agentPresence is what Asterisk tells about one agent's phone.
type agentPresence struct {
	endpointOnline bool // the endpoint has a reachable contact (qualify)
	deviceOK       bool // the device state is not UNAVAILABLE or INVALID
	busy           bool // the device is in use, ringing or on hold
}

func (s agentPresence) online() bool { return s.endpointOnline && s.deviceOK }

// deviceState maps an Asterisk device state onto presence: UNKNOWN counts
// as free (reachability is the endpoint's part), UNAVAILABLE and INVALID
// as unreachable, everything else as a phone in use.
func deviceState(s *agentPresence, state string) {
	s.deviceOK = state != "UNAVAILABLE" && state != "INVALID"
	s.busy = state != "NOT_INUSE" && state != "UNKNOWN" && s.deviceOK
}

// RunPresence keeps the Asterisk agents of endpoints (agent -> endpoint,
// e.g. "PJSIP/1001") logged in exactly while ARI is connected and their
// endpoint is online (Asterisk's qualify), and marks them busy while their
// device is in use by any call, until ctx is done. While the events
// WebSocket is down no agent on Asterisk gets an offer.
//
// Changes come from events: on every connect kcc subscribes its app to
// each agent's endpoint and device state, then reads both. Events that
// arrive while it reads may be older than what it read, so if any do, it
// reads again (at most resyncRounds times); after a quiet read, every
// later change arrives as an event.
func (l *AsteriskLine) RunPresence(ctx context.Context, endpoints map[string]string, p Presence) {
	r := presenceRun{line: l, p: p, endpoints: endpoints, known: make(map[string]agentPresence), byEndpoint: make(map[string][]string)}
	var eps []string
	for agent, ep := range endpoints {
		r.byEndpoint[ep] = append(r.byEndpoint[ep], agent)
		if !slices.Contains(eps, ep) {
			eps = append(eps, ep)
		}
	}
	slices.Sort(eps)
	for {
		connected, changed := l.client.ConnState()
		if !connected {
			r.allOffline()
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			continue
		}
		sub := l.client.Subscribe(ari.Filter{Types: []string{"EndpointStateChange", "DeviceStateChanged"}, Endpoints: eps, Devices: eps})
		err := r.resync(ctx, eps, sub)
		if err == nil {
			err = r.follow(ctx, sub, changed)
		}
		sub.Close()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.log.Warn().Err(err).Msg("agent presence on Asterisk: reading again")
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-time.After(presenceRetry):
			}
		}
	}
}

type presenceRun struct {
	line       *AsteriskLine
	p          Presence
	endpoints  map[string]string   // agent -> endpoint
	byEndpoint map[string][]string // endpoint -> agents
	known      map[string]agentPresence
}

// set tells the router what changed for agent.
func (r *presenceRun) set(agent string, s agentPresence) {
	old, seen := r.known[agent]
	r.known[agent] = s
	if !seen || old.busy != s.busy {
		r.p.Busy(agent, s.busy)
	}
	if !seen || old.online() != s.online() {
		if s.online() {
			r.p.Registered(agent)
		} else {
			r.p.Unregistered(agent)
		}
	}
}

func (r *presenceRun) allOffline() {
	for agent := range r.endpoints {
		s := r.known[agent]
		s.endpointOnline = false
		r.set(agent, s)
	}
}

// resync subscribes the app to every endpoint and device state and reads
// them, again while events keep arriving during the read.
func (r *presenceRun) resync(ctx context.Context, eps []string, sub *ari.Subscription) error {
	c := r.line.client
	for _, ep := range eps {
		// One request per endpoint, so that one endpoint Asterisk does not
		// know (a typo in the config) costs only its own agents.
		if _, err := c.SubscribeApp(ctx, ari.SourceEndpoint+ep, ari.SourceDeviceState+ep); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.line.log.Error().Err(err).Str("endpoint", ep).Msg("cannot follow the agent's phone on Asterisk; it gets no calls")
		}
	}
	for range resyncRounds {
		if err := r.read(ctx, eps); err != nil {
			return err
		}
		if len(sub.Events()) == 0 {
			return nil
		}
		for len(sub.Events()) > 0 {
			<-sub.Events() // superseded by the next read
		}
	}
	return nil
}

// read takes every endpoint's and device's state from Asterisk.
func (r *presenceRun) read(ctx context.Context, eps []string) error {
	c := r.line.client
	all, err := c.Endpoints(ctx)
	if err != nil {
		return err
	}
	online := make(map[string]bool, len(all))
	for _, e := range all {
		online[e.Name()] = e.State == "online"
	}
	for _, ep := range eps {
		var s agentPresence
		s.endpointOnline = online[ep]
		ds, err := c.DeviceState(ctx, ep)
		if err != nil {
			return err
		}
		deviceState(&s, ds.State)
		for _, agent := range r.byEndpoint[ep] {
			r.set(agent, s)
		}
	}
	return nil
}

// follow applies events until the connection changes (nil) or the
// subscription overflows (an error, so the state is read again).
func (r *presenceRun) follow(ctx context.Context, sub *ari.Subscription, changed <-chan struct{}) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			return nil
		case ev, ok := <-sub.Events():
			if !ok {
				if err := sub.Err(); err != nil {
					return err
				}
				return errors.New("presence subscription ended")
			}
			r.apply(ev)
		}
	}
}

func (r *presenceRun) apply(ev ari.Event) {
	switch e := ev.(type) {
	case ari.EndpointStateChange:
		for _, agent := range r.byEndpoint[e.Endpoint.Name()] {
			s := r.known[agent]
			s.endpointOnline = e.Endpoint.State == "online"
			r.set(agent, s)
		}
	case ari.DeviceStateChanged:
		for _, agent := range r.byEndpoint[e.DeviceState.Name] {
			s := r.known[agent]
			deviceState(&s, e.DeviceState.State)
			r.set(agent, s)
		}
	}
}
