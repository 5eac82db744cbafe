package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"kcc/numbers"
)

//go:embed defaults.yaml
var defaults []byte

// Config is kcc's whole configuration. It is built once by Load and then
// only read.
type Config struct {
	SIP      SIP      `mapstructure:"sip"`
	Media    Media    `mapstructure:"media"`
	Call     Call     `mapstructure:"call"`
	Routing  Routing  `mapstructure:"routing"`
	Prompts  Prompts  `mapstructure:"prompts"`
	Flows    Flows    `mapstructure:"flows"`
	Log      Log      `mapstructure:"log"`
	Asterisk Asterisk `mapstructure:"asterisk"`
	API      API      `mapstructure:"api"`
	Store    Store    `mapstructure:"store"`
	Trunk    Trunk    `mapstructure:"trunk"`
	Callback Callback `mapstructure:"callback"`
	Queues   []Queue  `mapstructure:"queues"`
	Agents   []Agent  `mapstructure:"agents"`
	// Transfers are the external numbers the IVR's transfer node may send
	// a caller to, by name; a flow never dials a number it was given.
	Transfers []Transfer `mapstructure:"transfers"`
}

// Trunk is the carrier's SIP proxy for kcc's own outgoing calls:
// callbacks and IVR transfers.
type Trunk struct {
	Proxy     string `mapstructure:"proxy"`     // host:port; empty = no trunk (no callbacks, no transfers)
	Domain    string `mapstructure:"domain"`    // host of the request URI; empty = the proxy's host
	Transport string `mapstructure:"transport"` // udp or tcp
	Username  string `mapstructure:"username"`  // digest user the carrier challenges for
	Password  string `mapstructure:"password"`  // from the file or KCC_TRUNK_PASSWORD, never logged
	Identity  string `mapstructure:"identity"`  // the number kcc calls from (From, P-Asserted-Identity)
}

// Callback configures calling residents back who asked for it in a queue.
type Callback struct {
	ConfirmTimeout time.Duration `mapstructure:"confirm_timeout"` // how long the caller has to press the confirm key
	RingTimeout    time.Duration `mapstructure:"ring_timeout"`    // how long the resident's phone rings
	MaxAttempts    int           `mapstructure:"max_attempts"`    // calls to the resident before the request fails
	RetryAfter     time.Duration `mapstructure:"retry_after"`     // wait before calling again after no answer
	PerNumberDay   int           `mapstructure:"per_number_per_day"`
}

// Transfer is an external number the IVR may transfer callers to.
type Transfer struct {
	Name   string `mapstructure:"name"`
	Number string `mapstructure:"number"`
}

// SIP configures the SIP edge and the registrar.
type SIP struct {
	Listen                 string        `mapstructure:"listen"`
	Advertise              string        `mapstructure:"advertise"`
	UserAgent              string        `mapstructure:"user_agent"`
	Realm                  string        `mapstructure:"realm"`
	RegisterDefaultExpires time.Duration `mapstructure:"register_default_expires"`
	RegisterMinExpires     time.Duration `mapstructure:"register_min_expires"`
	RegisterMaxExpires     time.Duration `mapstructure:"register_max_expires"`
	NonceLifetime          time.Duration `mapstructure:"nonce_lifetime"`
	SessionExpires         time.Duration `mapstructure:"session_expires"`
	MinSE                  time.Duration `mapstructure:"min_se"`
	TCPIdleTimeout         time.Duration `mapstructure:"tcp_idle_timeout"`
	TCPHeaderTimeout       time.Duration `mapstructure:"tcp_header_timeout"`
	KeepAlive              time.Duration `mapstructure:"keepalive"`
	RetryAfter             time.Duration `mapstructure:"retry_after"`
}

// Media configures RTP.
type Media struct {
	IP        string `mapstructure:"ip"`
	Advertise string `mapstructure:"advertise"`
	PortMin   int    `mapstructure:"port_min"`
	PortMax   int    `mapstructure:"port_max"`
}

// Call configures the handling of one contact.
type Call struct {
	AnswerDelay  time.Duration `mapstructure:"answer_delay"`
	MaxCalls     int           `mapstructure:"max_calls"`
	Overload     string        `mapstructure:"overload"`
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
}

// Routing configures the router's timers.
type Routing struct {
	RingTimeout time.Duration `mapstructure:"ring_timeout"`
	WrapUp      time.Duration `mapstructure:"wrap_up"`
	MaxMisses   int           `mapstructure:"max_misses"`  // unanswered offers in a row before the agent is paused; 0 = never
	MissReason  string        `mapstructure:"miss_reason"` // the pause reason then
	Care        Care          `mapstructure:"care"`
}

// Care is what repeat callers and callers the IVR flags (care: true) get.
type Care struct {
	Skill    string        `mapstructure:"skill"`    // required of the agent besides the queue's; empty = none
	Priority int           `mapstructure:"priority"` // added to the caller's priority
	WrapUp   time.Duration `mapstructure:"wrap_up"`  // extra after-call time for the agent
	// RepeatWithin and RepeatCalls: a caller with at least RepeatCalls
	// earlier calls within RepeatWithin is a repeat caller; 0 = off.
	RepeatWithin time.Duration `mapstructure:"repeat_within"`
	RepeatCalls  int           `mapstructure:"repeat_calls"`
}

// Prompts says where the prompt set comes from.
type Prompts struct {
	Dir string `mapstructure:"dir"`
}

// Flows lists the IVR flow files.
type Flows struct {
	Files []string `mapstructure:"files"`
}

// Log configures logging.
type Log struct {
	Level string `mapstructure:"level"`
}

// Asterisk is the ARI connection for agents whose phones are on Asterisk.
type Asterisk struct {
	URL      string `mapstructure:"url"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	App      string `mapstructure:"app"`
}

// API configures kcc's HTTP server: health, and the admin endpoints
// (flow reload and rollback, incident messages) behind a bearer token.
type API struct {
	Listen     string `mapstructure:"listen"`      // host:port; empty = no HTTP server
	AdminToken string `mapstructure:"admin_token"` // empty = admin endpoints refuse every request
}

// Store configures where history goes (package store).
type Store struct {
	Driver        string    `mapstructure:"driver"`         // sqlite or postgres
	Path          string    `mapstructure:"path"`           // SQLite file
	URL           string    `mapstructure:"url"`            // PostgreSQL URL
	QueueLog      string    `mapstructure:"queue_log"`      // Asterisk-format queue_log file; empty = table only
	CallerNumbers string    `mapstructure:"caller_numbers"` // hashed or raw
	HashKey       string    `mapstructure:"hash_key"`       // HMAC key for caller pseudonyms
	Retention     Retention `mapstructure:"retention"`
}

// Retention is how long each kind of history is kept; 0 keeps it forever.
type Retention struct {
	Events      time.Duration `mapstructure:"events"`
	Contacts    time.Duration `mapstructure:"contacts"`
	AgentStates time.Duration `mapstructure:"agent_states"`
	QueueLog    time.Duration `mapstructure:"queue_log"`
	Audit       time.Duration `mapstructure:"audit"`
	Callbacks   time.Duration `mapstructure:"callbacks"` // finished callback requests
	RawNumbers  time.Duration `mapstructure:"raw_numbers"`
}

// Queue is one queue and the skills an agent needs to take its calls.
type Queue struct {
	Name           string        `mapstructure:"name"`
	Topic          string        `mapstructure:"topic"`
	Skills         []string      `mapstructure:"skills"`
	Strategy       string        `mapstructure:"strategy"`        // longest-idle (default), most-skilled, least-talk-time, round-robin, random
	MinProficiency int           `mapstructure:"min_proficiency"` // 1-5; 0 = any
	Priority       int           `mapstructure:"priority"`
	Weight         float64       `mapstructure:"weight"` // scales waiting time against other queues; 0 = 1
	ServiceLevel   ServiceLevel  `mapstructure:"service_level"`
	MaxWait        time.Duration `mapstructure:"max_wait"`
	MaxLength      int           `mapstructure:"max_length"`
	Overflow       string        `mapstructure:"overflow"`
	WrapUp         time.Duration `mapstructure:"wrap_up"` // 0 = routing.wrap_up
	Escalation     []Step        `mapstructure:"escalation"`
	Announce       Announce      `mapstructure:"announce"`
	// JoinEmpty and LeaveEmpty: when a queue without agents refuses new
	// callers and lets its waiting callers go (always, no-agents,
	// none-available); the flow goes on at the queue node's unavailable.
	JoinEmpty  string `mapstructure:"join_empty"`
	LeaveEmpty string `mapstructure:"leave_empty"`
}

// Announce is what callers waiting in a queue hear between the music.
type Announce struct {
	Position   bool          `mapstructure:"position"`    // their place, when it changed, never to the caller at the head
	WaitTime   bool          `mapstructure:"wait_time"`   // the estimated wait, when the estimate is good enough
	Every      time.Duration `mapstructure:"every"`       // how often; 0 = only when they join
	MinSpacing time.Duration `mapstructure:"min_spacing"` // least time between two announcements
	Periodic   []string      `mapstructure:"periodic"`    // prompts played in turn, one per announcement
	ExitKey    string        `mapstructure:"exit_key"`    // a key that leaves the queue; the flow goes on at the queue node's next
	// CallbackKey lets a waiting caller ask to be called back, keeping
	// the place (trunk needed); the offer is a periodic prompt such as
	// terugbellen-aanbod.
	CallbackKey string `mapstructure:"callback_key"`
}

// ServiceLevel is a queue's target: Target (e.g. 0.8) answered within Within.
type ServiceLevel struct {
	Target float64       `mapstructure:"target"`
	Within time.Duration `mapstructure:"within"`
}

// Step widens the agents a waiting contact may go to after After.
type Step struct {
	After          time.Duration `mapstructure:"after"`
	MinProficiency int           `mapstructure:"min_proficiency"`
	Skills         []string      `mapstructure:"skills"`
}

// Agent is an agent with a phone that registers on kcc.
type Agent struct {
	ID       string   `mapstructure:"id"`
	Endpoint string   `mapstructure:"endpoint"` // on Asterisk, e.g. PJSIP/1001; empty: a phone registered on kcc
	Name     string   `mapstructure:"name"`
	Password string   `mapstructure:"password"`
	Digest   []string `mapstructure:"digest"`
	Skills   []string `mapstructure:"skills"`
	// Proficiency gives a skill's level, 1-5 (a skill listed only in
	// Skills counts as 3).
	Proficiency map[string]int `mapstructure:"proficiency"`
	WrapUp      time.Duration  `mapstructure:"wrap_up"` // 0 = the queue's or routing.wrap_up
}

// envPrefix starts every environment variable kcc reads.
const envPrefix = "KCC_"

// Load builds the configuration from the compiled-in defaults, the YAML file
// at path (none when path is empty) and the KCC_* entries of environ (in
// os.Environ form). It returns every problem it finds, not just the first.
func Load(path string, environ []string) (Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(defaults)); err != nil {
		return Config{}, fmt.Errorf("config: compiled-in defaults: %w", err)
	}
	if path != "" {
		src, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := checkKeys(path, src); err != nil {
			return Config{}, err
		}
		if err := v.MergeConfig(bytes.NewReader(src)); err != nil {
			return Config{}, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := applyEnv(v, environ); err != nil {
		return Config{}, err
	}
	var c Config
	err := v.UnmarshalExact(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Default returns the compiled-in configuration.
func Default() (Config, error) { return Load("", nil) }

// envKeys maps every KCC_* variable kcc understands to its config key: one
// per scalar (or list-of-scalars) field of Config.
func envKeys() map[string]string {
	keys := make(map[string]string)
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for f := range t.Fields() {
			key := prefix + f.Tag.Get("mapstructure")
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, key+".")
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				// lists of records (queues, agents) live in the file only
			default:
				keys[envPrefix+strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = key
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}

func applyEnv(v *viper.Viper, environ []string) error {
	known := envKeys()
	var errs []error
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) {
			continue
		}
		key, ok := known[name]
		if !ok {
			errs = append(errs, fmt.Errorf("config: unknown environment variable %s (known: %s)", name, strings.Join(sortedKeys(known), ", ")))
			continue
		}
		v.Set(key, val)
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkKeys refuses keys of the file that Config does not have, naming file,
// line and the full key, before viper (which would only say "invalid keys").
func checkKeys(path string, src []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file changes nothing
	}
	var errs []error
	var walk func(n *yaml.Node, t reflect.Type, key string)
	walk = func(n *yaml.Node, t reflect.Type, key string) {
		switch {
		case t.Kind() == reflect.Struct:
			if n.Kind != yaml.MappingNode {
				errs = append(errs, fmt.Errorf("%s:%d:%d: %s must be a mapping", path, n.Line, n.Column, orRoot(key)))
				return
			}
			fields := make(map[string]reflect.Type)
			for f := range t.Fields() {
				fields[f.Tag.Get("mapstructure")] = f.Type
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				full := k.Value
				if key != "" {
					full = key + "." + k.Value
				}
				ft, ok := fields[k.Value]
				if !ok {
					errs = append(errs, fmt.Errorf("%s:%d:%d: unknown key %s", path, k.Line, k.Column, full))
					continue
				}
				walk(val, ft, full)
			}
		case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
			if n.Kind != yaml.SequenceNode {
				errs = append(errs, fmt.Errorf("%s:%d:%d: %s must be a list", path, n.Line, n.Column, key))
				return
			}
			for i, item := range n.Content {
				walk(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i))
			}
		}
	}
	walk(doc.Content[0], reflect.TypeFor[Config](), "")
	return errors.Join(errs...)
}

func orRoot(key string) string {
	if key == "" {
		return "the document"
	}
	return key
}

// demoPasswords are the compiled-in demo agents' passwords (defaults.yaml).
// They are public, so they may only guard a server nobody else can reach.
var demoPasswords = []string{"demo-2001", "demo-2002", "demo-2003"}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }

	listen, err := netip.ParseAddrPort(c.SIP.Listen)
	if err != nil {
		bad("sip.listen %q: want IP:port", c.SIP.Listen)
	}
	if c.SIP.Realm == "" {
		bad("sip.realm is empty")
	}
	if c.SIP.Advertise != "" {
		if _, err := netip.ParseAddr(c.SIP.Advertise); err != nil {
			bad("sip.advertise %q: want an IP address (no names: kcc does no DNS)", c.SIP.Advertise)
		}
	}
	if c.SIP.MinSE < time.Second {
		// RFC 4028 wants at least 90 s on the wire; less is for tests at test scale.
		bad("sip.min_se %v: must be at least 1s (RFC 4028 asks for 90s)", c.SIP.MinSE)
	}
	if c.SIP.SessionExpires != 0 && c.SIP.SessionExpires < c.SIP.MinSE {
		bad("sip.session_expires %v: want 0s (off) or at least sip.min_se %v", c.SIP.SessionExpires, c.SIP.MinSE)
	}
	for name, d := range map[string]time.Duration{"sip.tcp_idle_timeout": c.SIP.TCPIdleTimeout,
		"sip.tcp_header_timeout": c.SIP.TCPHeaderTimeout, "sip.keepalive": c.SIP.KeepAlive,
		"sip.retry_after": c.SIP.RetryAfter, "call.drain_timeout": c.Call.DrainTimeout} {
		if d < 0 {
			bad("%s %v: must not be negative", name, d)
		}
	}
	if c.Media.Advertise != "" {
		if ip, err := netip.ParseAddr(c.Media.Advertise); err != nil || !ip.Is4() {
			bad("media.advertise %q: want an IPv4 address", c.Media.Advertise)
		}
	}
	if c.Call.MaxCalls < 1 {
		bad("call.max_calls %d: must be at least 1", c.Call.MaxCalls)
	}
	if c.Call.Overload != "busy" && c.Call.Overload != "prompt" {
		bad("call.overload %q: want busy or prompt", c.Call.Overload)
	}
	if ip, err := netip.ParseAddr(c.Media.IP); err != nil || !ip.Is4() {
		bad("media.ip %q: want an IPv4 address", c.Media.IP)
	}
	if c.Media.PortMin < 1024 || c.Media.PortMax > 65534 || c.Media.PortMax-c.Media.PortMin < 3 {
		bad("media.port_min/port_max %d-%d: want a range within 1024-65534 holding at least two even ports", c.Media.PortMin, c.Media.PortMax)
	}
	if c.Call.AnswerDelay < 0 || c.Call.AnswerDelay > time.Minute {
		bad("call.answer_delay %v: want 0 to 1m", c.Call.AnswerDelay)
	}
	if c.Routing.RingTimeout <= 0 {
		bad("routing.ring_timeout %v: must be positive", c.Routing.RingTimeout)
	}
	if cr := c.Routing.Care; cr.WrapUp < 0 || cr.RepeatWithin < 0 || cr.RepeatCalls < 0 || cr.Priority < 0 {
		bad("routing.care: wrap_up, repeat_within, repeat_calls and priority must not be negative")
	} else if (cr.RepeatWithin > 0) != (cr.RepeatCalls > 0) {
		bad("routing.care: set both repeat_within and repeat_calls, or neither")
	} else if cr.Skill != "" && !slices.ContainsFunc(c.Agents, func(a Agent) bool { return slices.Contains(a.Skills, cr.Skill) }) {
		bad("routing.care.skill %q: no agent has it", cr.Skill)
	}
	if c.Routing.WrapUp < 0 {
		bad("routing.wrap_up %v: must not be negative", c.Routing.WrapUp)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Asterisk.URL != "" {
		if u, err := url.Parse(c.Asterisk.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			bad("asterisk.url %q: want http(s)://host:port without credentials", c.Asterisk.URL)
		}
		if c.Asterisk.Username == "" || c.Asterisk.Password == "" {
			bad("asterisk.username and asterisk.password are needed with asterisk.url")
		}
		if c.Asterisk.App == "" {
			bad("asterisk.app is empty")
		}
	}
	if _, err := netip.ParseAddrPort(c.API.Listen); c.API.Listen != "" && err != nil {
		bad("api.listen %q: want ip:port", c.API.Listen)
	}
	if c.API.AdminToken != "" && len(c.API.AdminToken) < 16 {
		bad("api.admin_token: at least 16 characters, so that it cannot be guessed")
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.Path == "" {
			bad("store.path is empty: name the SQLite file")
		}
	case "postgres":
		if u, err := url.Parse(c.Store.URL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("store.url: want postgres://user:password@host:port/db")
		}
	default:
		bad("store.driver %q: want sqlite or postgres", c.Store.Driver)
	}
	for i, q := range c.Queues {
		for name, k := range map[string]string{"exit_key": q.Announce.ExitKey, "callback_key": q.Announce.CallbackKey} {
			if k != "" && (len(k) != 1 || !strings.Contains("0123456789*#ABCD", k)) {
				bad("queues[%d] (%s): announce.%s %q: want one DTMF key (0-9, *, #, A-D)", i, q.Name, name, k)
			}
		}
		for name, p := range map[string]string{"join_empty": q.JoinEmpty, "leave_empty": q.LeaveEmpty} {
			switch p {
			case "", "always", "no-agents", "none-available":
			default:
				bad("queues[%d] (%s): %s %q: want always, no-agents or none-available", i, q.Name, name, p)
			}
		}
		if k := q.Announce.ExitKey; k != "" && k == q.Announce.CallbackKey {
			bad("queues[%d] (%s): announce.exit_key and callback_key are both %q", i, q.Name, k)
		}
		if q.Overflow == "callback" && c.Trunk.Proxy == "" {
			bad("queues[%d] (%s): overflow callback needs trunk.proxy to call back over", i, q.Name)
		}
		if m, ok := strings.CutPrefix(q.Overflow, "message:"); ok {
			if m == "" {
				bad("queues[%d] (%s): overflow %q: name the prompt, e.g. message:drukte", i, q.Name, q.Overflow)
			}
		} else if q.Overflow != "" && q.Overflow != "callback" && !slices.ContainsFunc(c.Queues, func(o Queue) bool { return o.Name == q.Overflow }) {
			bad("queues[%d] (%s): overflow %q: want another queue's name, callback or message:<prompt>", i, q.Name, q.Overflow)
		}
		if q.Announce.CallbackKey != "" && c.Trunk.Proxy == "" {
			bad("queues[%d] (%s): announce.callback_key needs trunk.proxy to call back over", i, q.Name)
		}
	}
	c.validateTrunk(bad)
	if c.Store.CallerNumbers != "hashed" && c.Store.CallerNumbers != "raw" {
		bad("store.caller_numbers %q: want hashed or raw", c.Store.CallerNumbers)
	}
	r := c.Store.Retention
	for name, d := range map[string]time.Duration{"events": r.Events, "contacts": r.Contacts, "agent_states": r.AgentStates,
		"queue_log": r.QueueLog, "audit": r.Audit, "callbacks": r.Callbacks, "raw_numbers": r.RawNumbers} {
		if d < 0 {
			bad("store.retention.%s %v: must not be negative (0 keeps forever)", name, d)
		}
	}
	if c.Store.CallerNumbers == "raw" && r.RawNumbers == 0 {
		bad("store.caller_numbers raw needs store.retention.raw_numbers: raw numbers must not be kept forever")
	}
	if c.Store.HashKey != "" && len(c.Store.HashKey) < 16 {
		bad("store.hash_key: at least 16 characters")
	}
	queues := make(map[string]bool)
	for i, q := range c.Queues {
		if q.Name == "" {
			bad("queues[%d]: name is empty", i)
		}
		if queues[q.Name] {
			bad("queues[%d]: queue %q defined twice", i, q.Name)
		}
		queues[q.Name] = true
	}
	agents := make(map[string]bool)
	for i, a := range c.Agents {
		if a.ID == "" {
			bad("agents[%d]: id is empty", i)
		}
		if agents[a.ID] {
			bad("agents[%d]: agent %q defined twice", i, a.ID)
		}
		agents[a.ID] = true
		if a.Endpoint != "" {
			if tech, res, ok := strings.Cut(a.Endpoint, "/"); !ok || tech == "" || res == "" || strings.ContainsAny(a.Endpoint, ", ") {
				bad("agents[%d] (%s): endpoint %q: want TECH/resource, e.g. PJSIP/1001", i, a.ID, a.Endpoint)
			}
			if c.Asterisk.URL == "" {
				bad("agents[%d] (%s) is on Asterisk (endpoint %s) but asterisk.url is empty", i, a.ID, a.Endpoint)
			}
			continue
		}
		if a.Password == "" {
			bad("agents[%d] (%s): password is empty", i, a.ID)
		}
		if len(a.Digest) == 0 {
			bad("agents[%d] (%s): digest needs at least one algorithm (MD5, SHA-256)", i, a.ID)
		}
		for _, alg := range a.Digest {
			if alg != "MD5" && alg != "SHA-256" {
				bad("agents[%d] (%s): digest algorithm %q: want MD5 or SHA-256", i, a.ID, alg)
			}
		}
		if slices.Contains(demoPasswords, a.Password) && err == nil && !listen.Addr().IsLoopback() {
			bad("agents[%d] (%s) uses a compiled-in demo password while sip.listen %s is not a loopback address: set real passwords",
				i, a.ID, listen)
		}
	}
	return errors.Join(errs...)
}

// validateTrunk checks the trunk, the callback settings and the transfer
// targets.
func (c Config) validateTrunk(bad func(string, ...any)) {
	t := c.Trunk
	if t.Proxy != "" {
		if host, port, err := net.SplitHostPort(t.Proxy); err != nil || host == "" || port == "" {
			bad("trunk.proxy %q: want host:port", t.Proxy)
		}
		if t.Transport != "udp" && t.Transport != "tcp" {
			bad("trunk.transport %q: want udp or tcp", t.Transport)
		}
		if _, err := numbers.Target(t.Identity); err != nil {
			bad("trunk.identity %q: want the number kcc calls from (a Dutch number or a 14xxx service number)", t.Identity)
		}
		if t.Password != "" && t.Username == "" {
			bad("trunk.username is empty but trunk.password is set")
		}
	}
	cb := c.Callback
	if cb.ConfirmTimeout <= 0 || cb.RingTimeout <= 0 || cb.RetryAfter < 0 {
		bad("callback: confirm_timeout and ring_timeout must be positive, retry_after not negative")
	}
	if cb.MaxAttempts < 1 {
		bad("callback.max_attempts %d: must be at least 1", cb.MaxAttempts)
	}
	if cb.PerNumberDay < 1 {
		bad("callback.per_number_per_day %d: must be at least 1", cb.PerNumberDay)
	}
	names := make(map[string]bool)
	for i, tr := range c.Transfers {
		if tr.Name == "" || names[tr.Name] {
			bad("transfers[%d]: name %q is empty or defined twice", i, tr.Name)
		}
		names[tr.Name] = true
		if _, err := numbers.Target(tr.Number); err != nil {
			bad("transfers[%d] (%s): number %q: %v", i, tr.Name, tr.Number, err)
		}
	}
	if len(c.Transfers) > 0 && t.Proxy == "" {
		bad("transfers need trunk.proxy to call over")
	}
}
