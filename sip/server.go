package sip

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

// Config holds the SIP edge's settings.
type Config struct {
	Listen    netip.AddrPort // UDP and TCP
	Advertise netip.Addr     // our address in Via, Contact and From (NAT); zero: Listen's address
	UserAgent string         // Server and User-Agent header value

	// SessionExpires is the session timer kcc asks for when the caller
	// asks for none (RFC 4028); zero: only timers the caller asks for.
	SessionExpires time.Duration
	MinSE          time.Duration // smaller Session-Expires get 422

	// TCPIdleTimeout closes a TCP connection that sends nothing for this
	// long; TCPHeaderTimeout closes one whose header section takes longer
	// than this from its first byte to its end (a slow drip).
	TCPIdleTimeout   time.Duration
	TCPHeaderTimeout time.Duration
	// KeepAlive is how often registered phones are sent OPTIONS; one that
	// does not answer is unregistered. Zero: no keep-alive.
	KeepAlive time.Duration
	// RetryAfter is sent with 503 while draining; zero: no Retry-After,
	// because it makes a carrier stop sending us anything (RFC 3261 §21.5.4).
	RetryAfter time.Duration
}

func (c Config) advertise() netip.Addr {
	if c.Advertise.IsValid() {
		return c.Advertise
	}
	return c.Listen.Addr()
}

// Handler owns one incoming call. ServeCall runs in the INVITE's goroutine
// and returning from it ends the call: the server then hangs up (BYE) if the
// call is still up, or rejects it if it was never answered.
type Handler interface {
	ServeCall(c *Inbound)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(c *Inbound)

// ServeCall calls f(c).
func (f HandlerFunc) ServeCall(c *Inbound) { f(c) }

// allowed is what kcc answers with in Allow headers.
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, UPDATE, INFO, REFER"

// supported lists the extensions kcc implements; a Require of anything else
// gets 420 (RFC 3261 §8.2.2.3). 100rel is not among them, so kcc never needs
// PRACK.
var supported = []string{"timer"}

// Server is the SIP edge: listeners, shield, dialogs, registrar, dialling.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	handler Handler
	reg     *Registrar

	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	client   *sipgo.Client
	dialogUA *sipgo.DialogUA
	udp      *net.UDPConn
	tcp      *net.TCPListener

	mu       sync.Mutex
	inbound  map[string]*Inbound  // by dialog ID (UAS)
	outbound map[string]*Outbound // by dialog ID (UAC)
	draining bool
}

// errNoDNS refuses every DNS lookup: kcc never resolves names on the call
// path, so an attacker's Via host can never make it look one up.
var errNoDNS = errors.New("sip: DNS lookups are disabled")

// newParser is sipgo's parser, except that the top Via of every request is
// treated as if it carried rport (RFC 3581): responses then go back to the
// exact source address and port of the request, never to a Via port or host.
func newParser() *sipmsg.Parser {
	// DefaultHeadersParser returns sipgo's package-level map: copy it.
	parsers := maps.Clone(sipmsg.DefaultHeadersParser())
	via := parsers["via"]
	withRport := func(name []byte, data string) (sipmsg.Header, error) {
		h, err := via(name, data)
		if v, ok := h.(*sipmsg.ViaHeader); ok && err == nil && !v.Params.Has("rport") {
			v.Params.Add("rport", "")
		}
		return h, err
	}
	parsers["via"], parsers["v"] = withRport, withRport
	return sipmsg.NewParser(sipmsg.WithHeadersParsers(parsers))
}

// New binds the UDP and TCP listeners and builds the server. reg may be nil
// (REGISTER is then refused). Nothing is served until Run.
func New(cfg Config, h Handler, reg *Registrar, log zerolog.Logger) (*Server, error) {
	if !cfg.Listen.IsValid() || cfg.Listen.Port() == 0 {
		return nil, fmt.Errorf("sip: listen address %q needs an IP and a port", cfg.Listen)
	}
	// sipgo logs every unparseable datagram with its bytes: a flood of
	// garbage must not become a flood of log lines (reliability.md S1).
	slogger := newSlog(log.With().Str("component", "sipgo").Logger().
		Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second}))
	host := cfg.advertise().String()
	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errNoDNS
	}}
	s := &Server{cfg: cfg, log: log, handler: h, reg: reg,
		inbound: make(map[string]*Inbound), outbound: make(map[string]*Outbound)}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentDNSResolver(noDNS),
		sipgo.WithUserAgentParser(newParser()),
		sipgo.WithUserAgentTransactionLayerOptions(
			sipmsg.WithTransactionLayerLogger(slogger),
			// A response whose TCP connection is gone is dropped, not sent
			// on a new connection to the Via host (reliability.md S4).
			sipmsg.WithTransactionLayerTerminateOnConnClose()),
		sipgo.WithUserAgentTransportLayerOptions(
			sipmsg.WithTransportLayerLogger(slogger),
			sipmsg.WithTransportLayerTransports(sipmsg.TransportsConfig{TCP: &sipmsg.TransportTCP{
				ReadTimeout:  cfg.TCPIdleTimeout,
				WriteTimeout: 5 * time.Second,
				DialerCreate: func(laddr net.Addr) net.Dialer {
					return net.Dialer{Timeout: 5 * time.Second, LocalAddr: laddr, Control: s.mayDial}
				},
			}})),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	s.ua = ua
	fail := func(err error) (*Server, error) {
		s.closeListeners()
		_ = ua.Close()
		return nil, err
	}
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(slogger)); err != nil {
		return fail(fmt.Errorf("sip: server: %w", err))
	}
	if s.client, err = sipgo.NewClient(ua,
		sipgo.WithClientHostname(host),
		sipgo.WithClientPort(int(cfg.Listen.Port())),
		sipgo.WithClientLogger(slogger)); err != nil {
		return fail(fmt.Errorf("sip: client: %w", err))
	}
	s.dialogUA = &sipgo.DialogUA{
		Client: s.client,
		// In-dialog requests (ACK, BYE, re-INVITE) go back to where the
		// other side's INVITE or 200 came from, not to its Contact: phones
		// behind NAT put private addresses there.
		RewriteContact: true,
		ContactHDR: sipmsg.ContactHeader{Address: sipmsg.Uri{
			Scheme: "sip", User: "kcc", Host: host, Port: int(cfg.Listen.Port())}},
	}
	udpAddr := net.UDPAddrFromAddrPort(cfg.Listen)
	if s.udp, err = net.ListenUDP("udp", udpAddr); err != nil {
		return fail(fmt.Errorf("sip: listen udp %s: %w", cfg.Listen, err))
	}
	if s.tcp, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(cfg.Listen)); err != nil {
		return fail(fmt.Errorf("sip: listen tcp %s: %w", cfg.Listen, err))
	}
	s.srv.OnInvite(s.shielded(s.onInvite))
	s.srv.OnAck(s.shielded(s.onAck))
	s.srv.OnBye(s.shielded(s.onBye))
	s.srv.OnCancel(s.shielded(s.onCancel))
	s.srv.OnOptions(s.shielded(s.onOptions))
	s.srv.OnUpdate(s.shielded(s.onSessionUpdate))
	s.srv.OnInfo(s.shielded(s.onInfo))
	s.srv.OnRefer(s.shielded(s.onRefer))
	s.srv.OnRegister(s.shielded(s.onRegister))
	s.srv.OnNoRoute(s.shielded(s.onNoRoute))
	return s, nil
}

// Close releases the listeners of a server that will not Run.
func (s *Server) Close() error {
	s.closeListeners()
	return s.ua.Close()
}

func (s *Server) closeListeners() {
	if s.udp != nil {
		_ = s.udp.Close()
	}
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
}

// errNoDial refuses a new TCP connection kcc did not decide to make.
var errNoDial = errors.New("sip: no new TCP connections except to registered phones")

// mayDial lets sipgo open a TCP connection only to the source address of a
// phone registered over TCP (to ring it when its connection dropped). sipgo
// would otherwise dial the Via host of a request whose connection closed
// before its answer, letting whoever sent it steer kcc's traffic
// (reliability.md S4).
func (s *Server) mayDial(network, address string, _ syscall.RawConn) error {
	if s.reg != nil {
		if ap, err := netip.ParseAddrPort(address); err == nil {
			for _, b := range s.reg.bindingsNow() {
				if b.Transport == "tcp" && b.Source == ap {
					return nil
				}
			}
		}
	}
	s.log.Warn().Str("address", address).Msg("refused to open a TCP connection")
	return errNoDial
}

// Addr returns the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.cfg.Listen }

// Run serves SIP until ctx is done, then closes the listeners and waits for
// its goroutines. Calls in progress are their handlers' business.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() { errc <- s.srv.ServeUDP(s.udp) })
	wg.Go(func() { errc <- s.srv.ServeTCP(guardedListener{Listener: s.tcp, timeout: s.cfg.TCPHeaderTimeout}) })
	if s.reg != nil {
		wg.Go(func() { s.reg.run(ctx) })
		if s.cfg.KeepAlive > 0 {
			wg.Go(func() { s.keepAlive(ctx) })
		}
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("sip: serve: %w", err)
	}
	s.closeListeners()
	_ = s.ua.Close()
	wg.Wait()
	return err
}

func (s *Server) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.respond(req, tx, 200, "OK",
		sipmsg.NewHeader("Allow", allowed),
		sipmsg.NewHeader("Accept", "application/sdp"))
}

func (s *Server) onRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if s.reg == nil {
		s.respond(req, tx, 403, "Forbidden")
		return
	}
	s.reg.serveRegister(req, tx)
}

// onNoRoute answers methods kcc does not implement (RFC 3261 §8.2.1: 405 with
// Allow for methods we know, 501 for methods nobody defined).
func (s *Server) onNoRoute(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	switch req.Method {
	case sipmsg.SUBSCRIBE, sipmsg.NOTIFY, sipmsg.REFER, sipmsg.MESSAGE, sipmsg.PRACK, sipmsg.PUBLISH:
		s.respond(req, tx, 405, "Method Not Allowed", sipmsg.NewHeader("Allow", allowed))
	default:
		s.respond(req, tx, 501, "Not Implemented", sipmsg.NewHeader("Allow", allowed))
	}
}

func (s *Server) onCancel(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	// A CANCEL that matched a pending INVITE was answered by the transaction
	// layer (200, then 487 for the INVITE); anything reaching here matched nothing.
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	id, err := sipmsg.DialogIDFromRequestUAS(req)
	if err != nil {
		return
	}
	s.mu.Lock()
	in := s.inbound[id]
	s.mu.Unlock()
	if in != nil {
		if err := in.readAck(req, tx); err != nil {
			s.log.Debug().Err(err).Str("call_id", req.CallID().Value()).Msg("ACK")
		}
	}
}

func (s *Server) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if id, err := sipmsg.DialogIDFromRequestUAS(req); err == nil {
		s.mu.Lock()
		in := s.inbound[id]
		s.mu.Unlock()
		if in != nil {
			if err := in.d.ReadBye(req, tx); err != nil {
				s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
			}
			return
		}
	}
	if id, err := sipmsg.DialogIDFromRequestUAC(req); err == nil {
		s.mu.Lock()
		out := s.outbound[id]
		s.mu.Unlock()
		if out != nil {
			if err := out.d.ReadBye(req, tx); err != nil {
				s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
			}
			return
		}
	}
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if req.To().Params.Has("tag") {
		s.onSessionUpdate(req, tx)
		return
	}
	if req.Contact() == nil {
		s.respond(req, tx, 400, "Missing Contact")
		return
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		var hdrs []sipmsg.Header
		if s.cfg.RetryAfter > 0 {
			hdrs = append(hdrs, sipmsg.NewHeader("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter.Seconds()))))
		}
		s.respond(req, tx, 503, "Service Unavailable", hdrs...)
		return
	}
	se, ok := s.sessionTimer(req, tx)
	if !ok {
		return
	}
	s.respond(req, tx, 100, "Trying")
	d, err := s.dialogUA.ReadInvite(req, tx)
	if err != nil {
		s.log.Debug().Err(err).Msg("read INVITE")
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	in := newInbound(s, d, se)
	s.mu.Lock()
	s.inbound[d.ID] = in
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inbound, d.ID)
		s.mu.Unlock()
	}()
	s.serve(in)
}

// unsupportedRequire returns the Require options of req kcc does not
// implement, comma-separated, or "".
func unsupportedRequire(req *sipmsg.Request) string {
	var out []string
	for _, h := range req.GetHeaders("Require") {
		for _, v := range strings.Split(h.Value(), ",") {
			if v = strings.TrimSpace(v); v != "" && !slices.Contains(supported, strings.ToLower(v)) {
				out = append(out, v)
			}
		}
	}
	return strings.Join(out, ", ")
}

// Drain makes the server refuse new calls with 503 (Retry-After only when
// configured) while the calls in progress go on.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Calls returns the number of incoming calls in progress.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inbound)
}

// serve runs the handler and cleans up the dialog whatever it did.
func (s *Server) serve(in *Inbound) {
	defer in.finish()
	defer func() {
		if p := recover(); p != nil {
			in.log.Error().Interface("panic", p).Msg("call handler panicked")
		}
	}()
	s.handler.ServeCall(in)
}

// StatusError is a final non-2xx answer to a request kcc sent.
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string { return strconv.Itoa(e.Code) + " " + e.Reason }

// ErrNotAnswered is returned by Dial when ctx ended before the callee answered.
var ErrNotAnswered = errors.New("sip: call not answered")
