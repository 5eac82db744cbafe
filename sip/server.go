package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

// Config holds the SIP edge's settings.
type Config struct {
	Listen    netip.AddrPort // UDP and TCP
	UserAgent string         // Server and User-Agent header value
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
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"

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
}

// New binds the UDP and TCP listeners and builds the server. reg may be nil
// (REGISTER is then refused). Nothing is served until Run.
func New(cfg Config, h Handler, reg *Registrar, log zerolog.Logger) (*Server, error) {
	if !cfg.Listen.IsValid() || cfg.Listen.Port() == 0 {
		return nil, fmt.Errorf("sip: listen address %q needs an IP and a port", cfg.Listen)
	}
	slogger := newSlog(log.With().Str("component", "sipgo").Logger())
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(cfg.Listen.Addr().String()),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(slogger)),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerLogger(slogger)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	s := &Server{cfg: cfg, log: log, handler: h, reg: reg, ua: ua,
		inbound: make(map[string]*Inbound), outbound: make(map[string]*Outbound)}
	fail := func(err error) (*Server, error) {
		s.closeListeners()
		_ = ua.Close()
		return nil, err
	}
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(slogger)); err != nil {
		return fail(fmt.Errorf("sip: server: %w", err))
	}
	if s.client, err = sipgo.NewClient(ua,
		sipgo.WithClientHostname(cfg.Listen.Addr().String()),
		sipgo.WithClientPort(int(cfg.Listen.Port())),
		sipgo.WithClientLogger(slogger)); err != nil {
		return fail(fmt.Errorf("sip: client: %w", err))
	}
	s.dialogUA = &sipgo.DialogUA{
		Client: s.client,
		ContactHDR: sipmsg.ContactHeader{Address: sipmsg.Uri{
			Scheme: "sip", User: "kcc", Host: cfg.Listen.Addr().String(), Port: int(cfg.Listen.Port())}},
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

// Addr returns the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.cfg.Listen }

// Run serves SIP until ctx is done, then closes the listeners and waits for
// its goroutines. Calls in progress are their handlers' business.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() { errc <- s.srv.ServeUDP(s.udp) })
	wg.Go(func() { errc <- s.srv.ServeTCP(s.tcp) })
	if s.reg != nil {
		wg.Go(func() { s.reg.run(ctx) })
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
	case sipmsg.SUBSCRIBE, sipmsg.NOTIFY, sipmsg.REFER, sipmsg.MESSAGE, sipmsg.INFO,
		sipmsg.UPDATE, sipmsg.PRACK, sipmsg.PUBLISH:
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
		if err := in.d.ReadAck(req, tx); err != nil {
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
		s.onReinvite(req, tx)
		return
	}
	if req.Contact() == nil {
		s.respond(req, tx, 400, "Missing Contact")
		return
	}
	s.respond(req, tx, 100, "Trying")
	d, err := s.dialogUA.ReadInvite(req, tx)
	if err != nil {
		s.log.Debug().Err(err).Msg("read INVITE")
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	in := newInbound(s, d)
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

// onReinvite answers a re-INVITE inside a known dialog. A session refresh gets
// our current SDP again, unchanged (same o= version); hold and media changes
// come with the carrier-grade issue.
func (s *Server) onReinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	id, err := sipmsg.DialogIDFromRequestUAS(req)
	if err == nil {
		s.mu.Lock()
		in := s.inbound[id]
		s.mu.Unlock()
		if in != nil && in.localSDP() != nil {
			if err := in.d.ReadRequest(req, tx); err != nil {
				s.respond(req, tx, 500, "Server Internal Error", sipmsg.NewHeader("Retry-After", "1"))
				return
			}
			res := sipmsg.NewSDPResponseFromRequest(req, in.localSDP())
			res.AppendHeader(sipmsg.HeaderClone(&s.dialogUA.ContactHDR))
			if err := tx.Respond(res); err != nil {
				in.log.Debug().Err(err).Msg("answer re-INVITE")
			}
			return
		}
	}
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

// StatusError is a final non-2xx answer to a request kcc sent.
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string { return strconv.Itoa(e.Code) + " " + e.Reason }

// ErrNotAnswered is returned by Dial when ctx ended before the callee answered.
var ErrNotAnswered = errors.New("sip: call not answered")
