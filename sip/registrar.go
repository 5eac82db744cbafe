package sip

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

// Account is a phone that may register: an agent's extension.
type Account struct {
	User       string
	Password   string
	Algorithms []string // digest algorithms offered, in order of preference
}

// RegistrarConfig holds the registrar's settings.
type RegistrarConfig struct {
	Realm          string
	DefaultExpires time.Duration // when the phone asks for none
	MinExpires     time.Duration // shorter requests get 423 Interval Too Brief
	MaxExpires     time.Duration // longer requests are shortened to this
	NonceLifetime  time.Duration // a challenge older than this is answered stale=true
}

// Binding is where a registered user can be reached now.
type Binding struct {
	User      string
	Contact   string         // the Contact URI the phone registered
	Source    netip.AddrPort // where the REGISTER came from: we send there (NAT)
	Transport string         // "udp" or "tcp"
	Expires   time.Time
}

// Presence learns when agents' phones come and go. It is called without the
// registrar's lock held and must not block.
type Presence interface {
	Registered(user string)
	Unregistered(user string)
}

// Registrar authenticates REGISTER requests with digest (RFC 3261 §22,
// RFC 8760 for SHA-256) and keeps one contact per user with its expiry.
type Registrar struct {
	cfg      RegistrarConfig
	accounts map[string]Account
	presence Presence
	log      zerolog.Logger
	nonces   nonces
	now      func() time.Time

	mu       sync.Mutex
	bindings map[string]Binding
}

// NewRegistrar builds a registrar for accounts. presence may be nil.
func NewRegistrar(cfg RegistrarConfig, accounts []Account, presence Presence, log zerolog.Logger) (*Registrar, error) {
	if cfg.Realm == "" {
		return nil, fmt.Errorf("registrar: realm is empty")
	}
	if cfg.MinExpires <= 0 || cfg.MaxExpires < cfg.MinExpires || cfg.DefaultExpires < cfg.MinExpires || cfg.DefaultExpires > cfg.MaxExpires {
		return nil, fmt.Errorf("registrar: want 0 < min_expires <= default_expires <= max_expires, got %v, %v, %v",
			cfg.MinExpires, cfg.DefaultExpires, cfg.MaxExpires)
	}
	if cfg.NonceLifetime <= 0 {
		return nil, fmt.Errorf("registrar: nonce lifetime must be positive")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("registrar: nonce key: %w", err)
	}
	r := &Registrar{
		cfg:      cfg,
		accounts: make(map[string]Account, len(accounts)),
		presence: presence,
		log:      log,
		now:      time.Now,
		bindings: make(map[string]Binding),
	}
	r.nonces = nonces{key: key, lifetime: cfg.NonceLifetime, now: func() time.Time { return r.now() }}
	for _, a := range accounts {
		if a.User == "" || a.Password == "" {
			return nil, fmt.Errorf("registrar: account %q needs a user and a password", a.User)
		}
		if len(a.Algorithms) == 0 {
			return nil, fmt.Errorf("registrar: account %s offers no digest algorithm", a.User)
		}
		for _, alg := range a.Algorithms {
			if !ValidAlgorithm(alg) {
				return nil, fmt.Errorf("registrar: account %s: unknown digest algorithm %q (want MD5 or SHA-256)", a.User, alg)
			}
		}
		if _, dup := r.accounts[a.User]; dup {
			return nil, fmt.Errorf("registrar: account %s defined twice", a.User)
		}
		r.accounts[a.User] = a
	}
	return r, nil
}

// SetPresence sets who learns about registrations. It must be called before
// the server runs; it exists because presence (routing) and the registrar
// are built in either order by the composition root.
func (r *Registrar) SetPresence(p Presence) { r.presence = p }

// Lookup returns the current binding of user.
func (r *Registrar) Lookup(user string) (Binding, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bindings[user]
	if ok && !r.now().Before(b.Expires) {
		return Binding{}, false
	}
	return b, ok
}

// run removes expired bindings until ctx is done.
func (r *Registrar) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.expire()
		}
	}
}

func (r *Registrar) expire() {
	now := r.now()
	var gone []string
	r.mu.Lock()
	for user, b := range r.bindings {
		if !now.Before(b.Expires) {
			delete(r.bindings, user)
			gone = append(gone, user)
		}
	}
	r.mu.Unlock()
	for _, user := range gone {
		r.log.Info().Str("user", user).Msg("registration expired")
		if r.presence != nil {
			r.presence.Unregistered(user)
		}
	}
}

// serveRegister answers one REGISTER. Unknown users and wrong passwords get
// the same answers, so REGISTER cannot be used to find extensions.
func (r *Registrar) serveRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	respond := func(code int, reason string, hdrs ...sipmsg.Header) {
		res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		if err := tx.Respond(res); err != nil {
			r.log.Debug().Err(err).Msg("respond to REGISTER")
		}
	}
	user := req.To().Address.User
	acct, known := r.accounts[user]
	algs := acct.Algorithms
	if !known {
		algs = []string{AlgorithmMD5}
	}
	challenge401 := func(stale bool) {
		nonce := r.nonces.issue()
		hdrs := make([]sipmsg.Header, 0, len(algs))
		for _, alg := range algs {
			hdrs = append(hdrs, sipmsg.NewHeader("WWW-Authenticate", challenge(r.cfg.Realm, nonce, alg, stale)))
		}
		respond(401, "Unauthorized", hdrs...)
	}
	auth := req.GetHeader("Authorization")
	if auth == nil {
		challenge401(false)
		return
	}
	cred, err := parseCredentials(auth.Value())
	if err != nil {
		respond(400, "Bad Authorization")
		return
	}
	valid, stale := r.nonces.check(cred.nonce)
	if !valid {
		challenge401(false)
		return
	}
	if stale {
		challenge401(true)
		return
	}
	ok := known && cred.username == user && cred.realm == r.cfg.Realm && offers(algs, cred.algorithm) &&
		(cred.qop == "" || cred.qop == "auth")
	if ok {
		want := expectedResponse(cred, string(req.Method), r.cfg.Realm, acct.Password)
		ok = subtle.ConstantTimeCompare([]byte(strings.ToLower(cred.response)), []byte(want)) == 1
	}
	if !ok {
		r.log.Warn().Str("user", user).Str("source", req.Source()).Msg("REGISTER authentication failed")
		respond(403, "Forbidden")
		return
	}
	r.bind(req, user, respond)
}

func offers(algs []string, alg string) bool {
	for _, a := range algs {
		if strings.EqualFold(a, alg) {
			return true
		}
	}
	return false
}

func (r *Registrar) bind(req *sipmsg.Request, user string, respond func(int, string, ...sipmsg.Header)) {
	expires := r.cfg.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			respond(400, "Bad Expires")
			return
		}
		expires = time.Duration(n) * time.Second
	}
	contact := req.Contact()
	if contact == nil {
		// A REGISTER without Contact asks for the current bindings (RFC 3261 §10.2.3).
		r.respondBindings(user, respond)
		return
	}
	if v, ok := contact.Params.Get("expires"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			respond(400, "Bad Contact expires")
			return
		}
		expires = time.Duration(n) * time.Second
	}
	if contact.Address.Wildcard || expires == 0 {
		r.unbind(user)
		respond(200, "OK")
		return
	}
	if expires < r.cfg.MinExpires {
		respond(423, "Interval Too Brief",
			sipmsg.NewHeader("Min-Expires", strconv.Itoa(int(r.cfg.MinExpires/time.Second))))
		return
	}
	expires = min(expires, r.cfg.MaxExpires)
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		respond(400, "Bad Source")
		return
	}
	b := Binding{
		User:      user,
		Contact:   contact.Address.String(),
		Source:    src,
		Transport: strings.ToLower(req.Transport()),
		Expires:   r.now().Add(expires),
	}
	r.mu.Lock()
	_, had := r.bindings[user]
	r.bindings[user] = b
	r.mu.Unlock()
	if !had {
		r.log.Info().Str("user", user).Str("contact", b.Contact).Stringer("source", b.Source).Msg("registered")
		if r.presence != nil {
			r.presence.Registered(user)
		}
	}
	r.respondBindings(user, respond)
}

func (r *Registrar) respondBindings(user string, respond func(int, string, ...sipmsg.Header)) {
	b, ok := r.Lookup(user)
	if !ok {
		respond(200, "OK")
		return
	}
	left := max(int(b.Expires.Sub(r.now())/time.Second), 1)
	respond(200, "OK", sipmsg.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", b.Contact, left)))
}

func (r *Registrar) unbind(user string) {
	r.mu.Lock()
	_, had := r.bindings[user]
	delete(r.bindings, user)
	r.mu.Unlock()
	if had {
		r.log.Info().Str("user", user).Msg("unregistered")
		if r.presence != nil {
			r.presence.Unregistered(user)
		}
	}
}
