package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // reports and flows use Europe/Amsterdam on hosts without zoneinfo

	"github.com/rs/zerolog"

	"kcc/api"
	"kcc/ari"
	"kcc/call"
	"kcc/config"
	"kcc/contact"
	"kcc/flows"
	"kcc/history"
	"kcc/incident"
	"kcc/media"
	"kcc/numbers"
	"kcc/prompts"
	"kcc/routing"
	"kcc/sip"
	"kcc/store"
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
  kcc flow ...                validate flows; versions, reload, rollback (kcc flow for more)
  kcc incident ...            incident messages in the IVR (kcc incident for more)
  kcc routing simulate ...    what-if: service level, ASA, abandonment for a week of traffic
  kcc report ...              service level, ASA, AHT, abandons per queue and interval; agent times
  kcc import queue_log FILE   load an Asterisk queue_log as history
  kcc store load ...          synthetic history load (crash and throughput tests)
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
	case "flow":
		return flowCmd(ctx, args[1:], environ, stdout, stderr)
	case "incident":
		return incidentCmd(ctx, args[1:], environ, stdout, stderr)
	case "store":
		return storeCmd(ctx, args[1:], stdout, stderr)
	case "routing":
		return routingCmd(ctx, args[1:], environ, stdout, stderr)
	case "report":
		return reportCmd(ctx, args[1:], environ, stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], environ, stdout, stderr)
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
	flows     *flows.Library
	incidents *incident.Board
	store     storeCloser
	writer    *store.Writer
	history   *history.Recorder
	retention *history.Retention
	queueLog  *os.File    // nil without store.queue_log
	api       *api.Server // nil without api.listen
}

// newApp builds every component from cfg. Sockets are bound here, so a
// busy address fails now and tests can call as soon as newApp returns.
func newApp(cfg config.Config, log zerolog.Logger, opts ...appOption) (*app, error) {
	var o appOptions
	for _, opt := range opts {
		opt(&o)
	}
	fsys := prompts.Builtin()
	if cfg.Prompts.Dir != "" {
		fsys = os.DirFS(cfg.Prompts.Dir)
	}
	catalog, err := prompts.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	queues, err := routingQueues(cfg.Queues)
	if err != nil {
		return nil, err
	}
	a := &app{log: log, cfg: cfg}
	// The store opens first, so that the first versions are kept too.
	if err := a.openHistory(cfg.Store, log); err != nil {
		return nil, errors.Join(err, a.closeHistory())
	}
	if a.flows, err = flows.New(flows.Config{Files: cfg.Flows.Files, Checker: checker{catalog, queues, cfg.Transfers},
		Deployed: a.keepFlowVersion}, log.With().Str("component", "flows").Logger()); err != nil {
		return nil, errors.Join(err, a.closeHistory())
	}
	// An incident message must exist in every language a flow speaks.
	a.incidents = incident.NewBoard(func(name string) bool {
		for _, p := range a.flows.Programs() {
			for _, l := range p.Languages() {
				if _, _, ok := catalog.Lookup(l, name); !ok {
					return false
				}
			}
		}
		return true
	}, func(slot string) bool {
		for _, p := range a.flows.Programs() {
			if slices.Contains(p.IncidentSlots(), slot) {
				return true
			}
		}
		return false
	})
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
		return nil, errors.Join(err, a.closeHistory())
	}
	accounts := make([]sip.Account, 0, len(cfg.Agents))
	agents := make([]routing.Agent, 0, len(cfg.Agents))
	a.endpoints = make(map[string]string)
	for _, ag := range cfg.Agents {
		agents = append(agents, routing.Agent{ID: ag.ID, Name: ag.Name, Skills: ag.Skills, Proficiency: ag.Proficiency, WrapUp: ag.WrapUp})
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
		return nil, errors.Join(err, a.closeHistory())
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
		return nil, errors.Join(err, a.closeHistory())
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
		Incidents:      a.incidents,
		History:        a.history,
		Now:            o.ivrClock,
		Callback:       a.callbackConfig(),
		Transfers:      transferNumbers(cfg.Transfers),
		CallbackKeys:   callbackKeys(cfg.Queues),
		Repeats:        a.repeats(),
	},
		a.media, catalog, a.flows, queues, phones{a.reg, a.sip}, log)
	if err != nil {
		return nil, errors.Join(err, a.close())
	}
	a.router, err = routing.New(routing.Config{RingTimeout: cfg.Routing.RingTimeout, WrapUp: cfg.Routing.WrapUp,
		MaxMisses: cfg.Routing.MaxMisses, MissReason: cfg.Routing.MissReason,
		Care: routing.Care{Skill: cfg.Routing.Care.Skill, Priority: cfg.Routing.Care.Priority, WrapUp: cfg.Routing.Care.WrapUp}},
		queues, agents, a.svc, routing.SystemClock(), log.With().Str("component", "routing").Logger(),
		routing.WithObserver(a.history), routing.WithOverflow(a.svc), routing.WithEmpty(a.svc))
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
	if cfg.API.Listen != "" {
		a.api, err = api.New(api.Config{Listen: cfg.API.Listen, AdminToken: cfg.API.AdminToken, Audit: a.history}, a.flows, a.incidents,
			log.With().Str("component", "api").Logger())
		if err != nil {
			return nil, errors.Join(err, a.close())
		}
	}
	return a, nil
}

// appOptions are what tests change beyond the configuration.
type appOptions struct {
	ivrClock func() time.Time // nil: time.Now
}

type appOption func(*appOptions)

// withIVRClock gives the IVR another clock: the built-in flow checks
// opening hours, and a test must not hear "gesloten" at night.
func withIVRClock(now func() time.Time) appOption {
	return func(o *appOptions) { o.ivrClock = now }
}

// storeCloser is the store as the app holds it: a writer's target that is
// closed at the end.
type storeCloser interface {
	store.BatchWriter
	Close() error
}

// openHistory opens the store, starts its group-commit writer and builds
// the recorder that feeds it.
func (a *app) openHistory(c config.Store, log zerolog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	switch c.Driver {
	case "postgres":
		a.store, err = store.OpenPostgres(ctx, c.URL, store.PostgresOptions{})
	default:
		a.store, err = store.OpenSQLite(ctx, c.Path, store.SQLiteOptions{})
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	slog := log.With().Str("component", "store").Logger()
	// The writer outlives newApp's context: it runs until closeHistory.
	if a.writer, err = store.NewWriter(context.Background(), a.store, store.WriterConfig{}, slog); err != nil {
		return errors.Join(fmt.Errorf("store: %w", err), a.store.Close())
	}
	hc := history.Config{RawNumbers: c.CallerNumbers == "raw", HashKey: []byte(c.HashKey)}
	if c.HashKey == "" && c.CallerNumbers != "raw" {
		hc.HashKey = make([]byte, 32)
		_, _ = rand.Read(hc.HashKey)
		slog.Warn().Msg("store.hash_key is not set: caller pseudonyms use a random key, so repeat callers are not linked across restarts")
	}
	if c.QueueLog != "" {
		if a.queueLog, err = os.OpenFile(c.QueueLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err != nil {
			return errors.Join(fmt.Errorf("store.queue_log: %w", err), a.closeHistory())
		}
		hc.QueueLog = a.queueLog
	}
	a.history = history.New(hc, a.writer, log.With().Str("component", "history").Logger())
	r := c.Retention
	a.retention, err = history.NewRetention(a.store.(history.Purger), history.RetentionConfig{
		Policy: history.RetentionPolicy{Events: r.Events, Contacts: r.Contacts, AgentStates: r.AgentStates,
			QueueLog: r.QueueLog, Audit: r.Audit, Callbacks: r.Callbacks, RawNumbers: r.RawNumbers},
		HashKey: hc.HashKey,
	}, log.With().Str("component", "retention").Logger())
	if err != nil {
		return errors.Join(fmt.Errorf("store.retention: %w", err), a.closeHistory())
	}
	return nil
}

// closeHistory flushes what the writer holds (for up to 10 s), then closes
// the store and the queue_log file.
func (a *app) closeHistory() error {
	if a.writer == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.writer.Close(ctx)
	if err != nil {
		a.log.Error().Err(err).Interface("stats", a.writer.Stats()).Msg("history not fully written at shutdown")
	}
	err = errors.Join(err, a.store.Close())
	if a.queueLog != nil {
		err = errors.Join(err, a.queueLog.Close())
	}
	a.writer = nil
	return err
}

// close releases what newApp bound when the app never runs.
func (a *app) close() error {
	err := errors.Join(a.sip.Close(), a.closeHistory())
	if a.api != nil {
		err = errors.Join(err, a.api.Close())
	}
	return err
}

// run serves until ctx is done, then drains (new calls get 503 while the
// calls in progress go on for up to call.drain_timeout, then are hung up),
// stops every component and waits for it.
func (a *app) run(ctx context.Context) error {
	defer a.router.Close()
	a.log.Info().Str("sip", a.cfg.SIP.Listen).Str("media_ip", a.cfg.Media.IP).
		Int("flows", len(a.flows.Programs())).Str("version", version()).Msg("kcc serving")
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	// The servers outlive ctx by the drain: they stop when cancel is called.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	wg.Go(func() { errc <- a.media.Run(runCtx) })
	wg.Go(func() { errc <- a.sip.Run(runCtx) })
	if a.api != nil {
		wg.Go(func() { errc <- a.api.Run(runCtx) })
	}
	wg.Go(func() { a.retention.Run(runCtx) })
	wg.Go(func() {
		if err := a.flows.Watch(runCtx); err != nil {
			a.log.Error().Err(err).Msg("flow files are not watched; reload them through the admin API")
		}
	})
	if a.ari != nil {
		wg.Go(func() { errc <- a.ari.Run(runCtx) })
		wg.Go(func() { a.line.RunPresence(runCtx, a.endpoints, presence{a.router, a.log}) })
	}
	if n, err := a.svc.RestoreCallbacks(ctx); err != nil {
		a.log.Error().Err(err).Msg("pending callbacks not restored")
	} else if n > 0 {
		a.log.Info().Int("callbacks", n).Msg("pending callbacks restored")
	}
	var err error
	select {
	case <-ctx.Done():
		a.drain()
	case err = <-errc:
	}
	a.svc.Close()
	cancel()
	wg.Wait()
	a.router.Close()
	if herr := a.closeHistory(); herr != nil && err == nil {
		err = herr
	}
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

// routingQueues maps the configured queues onto the router's.
func routingQueues(cqs []config.Queue) ([]routing.Queue, error) {
	queues := make([]routing.Queue, 0, len(cqs))
	for _, q := range cqs {
		rq := routing.Queue{Name: q.Name, Topic: q.Topic, Skills: q.Skills, MinProficiency: q.MinProficiency,
			Priority: q.Priority, Weight: q.Weight, MaxWait: q.MaxWait, MaxLength: q.MaxLength, Overflow: q.Overflow,
			WrapUp: q.WrapUp, ServiceLevel: routing.ServiceLevel{Target: q.ServiceLevel.Target, Within: q.ServiceLevel.Within},
			Announce: routing.Announcements{Position: q.Announce.Position, WaitTime: q.Announce.WaitTime, Every: q.Announce.Every,
				MinSpacing: q.Announce.MinSpacing, Periodic: q.Announce.Periodic, ExitKey: q.Announce.ExitKey}}
		if q.Strategy != "" {
			if err := rq.Strategy.UnmarshalText([]byte(q.Strategy)); err != nil {
				return nil, fmt.Errorf("queues %s: strategy: %w", q.Name, err)
			}
		}
		for _, p := range []struct {
			name string
			to   *routing.EmptyPolicy
		}{{q.JoinEmpty, &rq.JoinEmpty}, {q.LeaveEmpty, &rq.LeaveEmpty}} {
			if p.name == "" {
				continue
			}
			if err := p.to.UnmarshalText([]byte(p.name)); err != nil {
				return nil, fmt.Errorf("queues %s: %w", q.Name, err)
			}
		}
		for _, st := range q.Escalation {
			rq.Escalation = append(rq.Escalation, routing.Step{After: st.After, MinProficiency: st.MinProficiency, Skills: st.Skills})
		}
		queues = append(queues, rq)
	}
	return queues, nil
}

// checker lets the IVR compiler check prompt and queue names.
type checker struct {
	catalog   *prompts.Catalog
	queues    []routing.Queue
	transfers []config.Transfer
}

// HasTransferTarget reports whether transfers lists the target.
func (c checker) HasTransferTarget(name string) bool {
	return slices.ContainsFunc(c.transfers, func(t config.Transfer) bool { return t.Name == name })
}

func (c checker) HasPrompt(lang call.Language, name string) bool { return c.catalog.Has(lang, name) }

// Chain is the prompt fallback chain of lang (en -> nl).
func (c checker) Chain(l call.Language) []call.Language { return c.catalog.Chain(l) }

// PromptDuration is how long a prompt plays, 0 when it does not exist.
func (c checker) PromptDuration(l call.Language, name string) time.Duration {
	if p, ok := c.catalog.Prompt(l, name); ok {
		return p.Duration()
	}
	return 0
}

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

// callbackConfig is the contact layer's callback configuration; without a
// trunk there are no callbacks.
func (a *app) callbackConfig() contact.CallbackConfig {
	c, t := a.cfg.Callback, a.cfg.Trunk
	cc := contact.CallbackConfig{
		Trunk: sip.Trunk{Proxy: t.Proxy, Domain: t.Domain, Transport: t.Transport, Username: t.Username,
			Password: t.Password, Identity: t.Identity},
		ConfirmTimeout: c.ConfirmTimeout, RingTimeout: c.RingTimeout, MaxAttempts: c.MaxAttempts,
		RetryAfter: c.RetryAfter, PerNumberDay: c.PerNumberDay,
	}
	if t.Proxy != "" {
		cc.Store = callbackStore{a.store, a.history}
	}
	return cc
}

// transferNumbers maps the transfer targets to the numbers dialled.
func transferNumbers(ts []config.Transfer) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		n, err := numbers.Target(t.Number)
		if err == nil { // config.Validate refused the others
			m[t.Name] = n
		}
	}
	return m
}

// callbackKeys maps each queue with a callback key to it.
func callbackKeys(qs []config.Queue) map[string]string {
	m := make(map[string]string)
	for _, q := range qs {
		if q.Announce.CallbackKey != "" {
			m[q.Name] = q.Announce.CallbackKey
		}
	}
	return m
}
