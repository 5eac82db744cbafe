package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"kcc/ari"
	"kcc/call"
	"kcc/config"
	"kcc/contact"
	"kcc/ivr"
	"kcc/media"
	"kcc/prompts"
	"kcc/routing"
	"kcc/sip"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kcc:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  kcc serve [--config FILE]   answer calls (compiled-in defaults without --config)
  kcc version                 print the version`

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		path := fs.String("config", "", "YAML configuration file (default: compiled-in defaults)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		cfg, err := config.Load(*path, environ)
		if err != nil {
			return err
		}
		a, err := newApp(cfg, newLogger(cfg.Log, stderr))
		if err != nil {
			return err
		}
		return a.run(ctx)
	case "version":
		fmt.Fprintln(stdout, "kcc", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}

func newLogger(c config.Log, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// app is kcc with every component built and wired, ready to run.
type app struct {
	log       zerolog.Logger
	ari       *ari.Client // nil without asterisk.url
	line      *contact.AsteriskLine
	endpoints map[string]string // Asterisk agents: id -> endpoint
	cfg       config.Config
	media     *media.Engine
	reg       *sip.Registrar
	sip       *sip.Server
	svc       *contact.Service
	router    *routing.Router
	flows     []*ivr.Program
}

// newApp builds every component from cfg. Sockets are bound here, so a
// busy address fails now and tests can call as soon as newApp returns.
func newApp(cfg config.Config, log zerolog.Logger) (*app, error) {
	fsys := prompts.Builtin()
	if cfg.Prompts.Dir != "" {
		fsys = os.DirFS(cfg.Prompts.Dir)
	}
	catalog, err := prompts.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	queues := make([]routing.Queue, 0, len(cfg.Queues))
	for _, q := range cfg.Queues {
		queues = append(queues, routing.Queue{Name: q.Name, Topic: q.Topic, Skills: q.Skills})
	}
	a := &app{log: log, cfg: cfg}
	if a.flows, err = loadFlows(cfg.Flows, checker{catalog, queues}); err != nil {
		return nil, err
	}
	var mediaAdvertise netip.Addr
	if cfg.Media.Advertise != "" {
		mediaAdvertise = netip.MustParseAddr(cfg.Media.Advertise) // validated by config
	}
	a.media, err = media.NewEngine(media.Config{
		IP:        netip.MustParseAddr(cfg.Media.IP), // validated by config
		Advertise: mediaAdvertise,
		PortMin:   cfg.Media.PortMin,
		PortMax:   cfg.Media.PortMax,
		PTime:     20 * time.Millisecond,
	}, log.With().Str("component", "media").Logger())
	if err != nil {
		return nil, err
	}
	accounts := make([]sip.Account, 0, len(cfg.Agents))
	agents := make([]routing.Agent, 0, len(cfg.Agents))
	a.endpoints = make(map[string]string)
	for _, ag := range cfg.Agents {
		agents = append(agents, routing.Agent{ID: ag.ID, Name: ag.Name, Skills: ag.Skills})
		if ag.Endpoint != "" {
			a.endpoints[ag.ID] = ag.Endpoint
			continue
		}
		accounts = append(accounts, sip.Account{User: ag.ID, Password: ag.Password, Algorithms: ag.Digest})
	}
	a.reg, err = sip.NewRegistrar(sip.RegistrarConfig{
		Realm:          cfg.SIP.Realm,
		DefaultExpires: cfg.SIP.RegisterDefaultExpires,
		MinExpires:     cfg.SIP.RegisterMinExpires,
		MaxExpires:     cfg.SIP.RegisterMaxExpires,
		NonceLifetime:  cfg.SIP.NonceLifetime,
	}, accounts, nil, log.With().Str("component", "registrar").Logger())
	if err != nil {
		return nil, err
	}

	// The SIP server calls the contact service, which dials through the SIP
	// server and is the router's line, which the registrar informs: build in
	// that order and close the loops with the handler closure and two setters.
	var sipAdvertise netip.Addr
	if cfg.SIP.Advertise != "" {
		sipAdvertise = netip.MustParseAddr(cfg.SIP.Advertise) // validated by config
	}
	a.sip, err = sip.New(sip.Config{
		Listen:           netip.MustParseAddrPort(cfg.SIP.Listen),
		Advertise:        sipAdvertise,
		UserAgent:        cfg.SIP.UserAgent,
		SessionExpires:   cfg.SIP.SessionExpires,
		MinSE:            cfg.SIP.MinSE,
		TCPIdleTimeout:   cfg.SIP.TCPIdleTimeout,
		TCPHeaderTimeout: cfg.SIP.TCPHeaderTimeout,
		KeepAlive:        cfg.SIP.KeepAlive,
		RetryAfter:       cfg.SIP.RetryAfter,
	},
		sip.HandlerFunc(func(in *sip.Inbound) { a.svc.ServeCall(in) }), a.reg, log.With().Str("component", "sip").Logger())
	if err != nil {
		return nil, err
	}
	overloadPrompt := ""
	if cfg.Call.Overload == "prompt" {
		overloadPrompt = "drukte"
	}
	a.svc, err = contact.New(contact.Config{
		AnswerDelay:    cfg.Call.AnswerDelay,
		HoldPrompt:     "even-geduld",
		RequeuePrompt:  "opnieuw-verbinden",
		MaxCalls:       cfg.Call.MaxCalls,
		OverloadPrompt: overloadPrompt,
	},
		a.media, catalog, a.flows, queues, phones{a.reg, a.sip}, log)
	if err != nil {
		return nil, errors.Join(err, a.close())
	}
	a.router, err = routing.New(routing.Config{RingTimeout: cfg.Routing.RingTimeout, WrapUp: cfg.Routing.WrapUp},
		queues, agents, a.svc, routing.SystemClock(), log.With().Str("component", "routing").Logger())
	if err != nil {
		return nil, errors.Join(err, a.close())
	}
	a.svc.Attach(a.router)
	a.reg.SetPresence(presence{a.router, log})
	if cfg.Asterisk.URL != "" {
		a.ari, err = ari.New(ari.Config{URL: cfg.Asterisk.URL, Username: cfg.Asterisk.Username,
			Password: cfg.Asterisk.Password, App: cfg.Asterisk.App}, log.With().Str("component", "ari").Logger())
		if err != nil {
			return nil, errors.Join(err, a.close())
		}
		a.line = contact.NewAsteriskLine(a.ari, a.media, cfg.Routing.RingTimeout, log.With().Str("component", "asterisk").Logger())
		a.svc.UseAsterisk(a.line, a.endpoints)
	}
	return a, nil
}

// close releases what newApp bound when the app never runs.
func (a *app) close() error { return a.sip.Close() }

// run serves until ctx is done, then drains (new calls get 503 while the
// calls in progress go on for up to call.drain_timeout, then are hung up),
// stops every component and waits for it.
func (a *app) run(ctx context.Context) error {
	defer a.router.Close()
	a.log.Info().Str("sip", a.cfg.SIP.Listen).Str("media_ip", a.cfg.Media.IP).
		Int("flows", len(a.flows)).Str("version", version()).Msg("kcc serving")
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	// The servers outlive ctx by the drain: they stop when cancel is called.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	wg.Go(func() { errc <- a.media.Run(runCtx) })
	wg.Go(func() { errc <- a.sip.Run(runCtx) })
	if a.ari != nil {
		wg.Go(func() { errc <- a.ari.Run(runCtx) })
		wg.Go(func() { a.line.RunPresence(runCtx, a.endpoints, presence{a.router, a.log}) })
	}
	var err error
	select {
	case <-ctx.Done():
		a.drain()
	case err = <-errc:
	}
	cancel()
	wg.Wait()
	a.log.Info().Msg("kcc stopped")
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// drain refuses new calls and waits for the calls in progress, then hangs
// up those still going when call.drain_timeout has passed.
func (a *app) drain() {
	a.sip.Drain()
	n := a.svc.Active()
	if n == 0 {
		return
	}
	a.log.Info().Int("calls", n).Dur("timeout", a.cfg.Call.DrainTimeout).Msg("draining")
	done := make(chan struct{})
	go func() { a.svc.Wait(); close(done) }()
	t := time.NewTimer(a.cfg.Call.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	a.log.Warn().Int("calls", a.svc.Active()).Msg("drain timeout: hanging up")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.svc.HangUpAll(ctx)
	select {
	case <-done:
	case <-ctx.Done():
		a.log.Error().Msg("calls still running after hang-up")
	}
}

func loadFlows(c config.Flows, chk ivr.Checker) ([]*ivr.Program, error) {
	if len(c.Files) == 0 {
		p, err := ivr.Load("builtin:14070.yaml", ivr.Builtin(), chk)
		if err != nil {
			return nil, fmt.Errorf("built-in flow: %w", err)
		}
		return []*ivr.Program{p}, nil
	}
	var progs []*ivr.Program
	for _, f := range c.Files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("flow: %w", err)
		}
		p, err := ivr.Load(f, src, chk)
		if err != nil {
			return nil, err
		}
		progs = append(progs, p)
	}
	return progs, nil
}

// checker lets the IVR compiler check prompt and queue names.
type checker struct {
	catalog *prompts.Catalog
	queues  []routing.Queue
}

func (c checker) HasPrompt(lang call.Language, name string) bool { return c.catalog.Has(lang, name) }

func (c checker) HasQueue(name string) bool {
	for _, q := range c.queues {
		if q.Name == name {
			return true
		}
	}
	return false
}

// phones joins where agents are (registrar) with how to ring them (server).
type phones struct {
	*sip.Registrar
	*sip.Server
}

// presence logs agents in and out of routing as their phones register.
type presence struct {
	router *routing.Router
	log    zerolog.Logger
}

func (p presence) Registered(user string) {
	if err := p.router.Login(user); err != nil {
		p.log.Warn().Err(err).Str("agent", user).Msg("login")
	}
}

func (p presence) Unregistered(user string) {
	if err := p.router.Logout(user); err != nil {
		p.log.Warn().Err(err).Str("agent", user).Msg("logout")
	}
}

func (p presence) Busy(user string, busy bool) {
	if err := p.router.SetBusy(user, busy); err != nil {
		p.log.Warn().Err(err).Str("agent", user).Msg("busy")
	}
}
