package sip

import (
	"context"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// keepAlive sends OPTIONS to every registered phone each cfg.KeepAlive,
// through the same address and transport its REGISTER came from, which also
// keeps NAT bindings open. A phone that answers nothing (any answer, even an
// error, proves it is there) is unregistered, so routing stops offering
// calls to a dead contact.
func (s *Server) keepAlive(ctx context.Context) {
	t := time.NewTicker(s.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, b := range s.reg.bindingsNow() {
			wg.Go(func() {
				if !s.ping(ctx, b) && ctx.Err() == nil {
					s.log.Info().Str("user", b.User).Stringer("source", b.Source).Msg("phone does not answer OPTIONS: unregistered")
					s.reg.drop(b)
				}
			})
		}
		wg.Wait()
	}
}

// ping sends one OPTIONS to b and reports whether anything answered.
func (s *Server) ping(ctx context.Context, b Binding) bool {
	var ruri sipmsg.Uri
	if err := sipmsg.ParseUri(b.Contact, &ruri); err != nil {
		return false
	}
	req := sipmsg.NewRequest(sipmsg.OPTIONS, ruri)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: b.User, Host: ruri.Host, Port: ruri.Port}})
	req.SetDestination(b.Source.String())
	req.SetTransport(b.Transport)
	if b.Transport == "" || b.Transport == "udp" {
		req.SetTransport("udp")
		req.Laddr = sipmsg.Addr{IP: s.cfg.Listen.Addr().AsSlice(), Port: int(s.cfg.Listen.Port())}
	}
	// Timer F (64*T1) would take 32 s; a phone that needs more than a few
	// seconds to answer OPTIONS on a LAN is as good as gone.
	ctx, cancel := context.WithTimeout(ctx, min(s.cfg.KeepAlive, 5*time.Second))
	defer cancel()
	res, err := s.client.Do(ctx, req)
	return err == nil && res != nil
}

// bindingsNow returns the current bindings.
func (r *Registrar) bindingsNow() []Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make([]Binding, 0, len(r.bindings))
	for _, b := range r.bindings {
		if now.Before(b.Expires) {
			out = append(out, b)
		}
	}
	return out
}

// drop removes b if it is still the user's binding (the phone may have
// registered again from elsewhere meanwhile).
func (r *Registrar) drop(b Binding) {
	r.mu.Lock()
	cur, ok := r.bindings[b.User]
	same := ok && cur.Source == b.Source && cur.Contact == b.Contact
	if same {
		delete(r.bindings, b.User)
	}
	r.mu.Unlock()
	if same && r.presence != nil {
		r.presence.Unregistered(b.User)
	}
}
