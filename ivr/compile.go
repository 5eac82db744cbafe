package ivr

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"kcc/call"
	"kcc/hours"
	"kcc/prompts"
)

// Limits and defaults of the flow format (documented in doc.go).
const (
	DefaultTimeout    = 5 * time.Second // how long a menu or input waits for the first key
	DefaultInterDigit = 3 * time.Second // how long an input waits for each further digit
	DefaultRetries    = 3               // failed attempts a menu or input allows before exhausted
	DefaultTimeZone   = "Europe/Amsterdam"
	// MaxPromptDuration is the length above which Compile warns about a
	// prompt: callers hang up on long announcements.
	MaxPromptDuration = 30 * time.Second
	// MaxMenuOptions is the number of options above which Compile warns
	// about a menu: callers do not remember more.
	MaxMenuOptions = 5

	maxTimeout     = time.Minute
	maxRetries     = 20
	maxNameLen     = 64
	maxTopicLen    = 64
	maxNumbers     = 100
	maxInputDigits = 32
	maxPriority    = 100
	maxPattern     = 256
	maxValueLen    = 256
	maxCases       = 100
	// maxSuggestCandidates bounds the "did you mean" search.
	maxSuggestCandidates = 200
)

// Causes a flow can end with (Result.Cause). A hangup node may use the first
// four; the lifecycle package maps them to SIP.
const (
	CauseNormal     = "normal"
	CauseBusy       = "busy"
	CauseCongestion = "congestion"
	CauseRejected   = "rejected"
	// CauseQueued ends a flow whose queue node has no next: the contact was
	// handed to routing and is over.
	CauseQueued = "queued"
	// CauseCallback ends a flow whose callback node the caller accepted:
	// the caller hung up and keeps a place in the queue, to be called back.
	CauseCallback = "callback"
	// CauseTransferred ends a flow whose transfer node connected the caller
	// to its target, and the conversation is over.
	CauseTransferred = "transferred"
)

var hangupCauses = []string{CauseNormal, CauseBusy, CauseCongestion, CauseRejected}

// Built-in variables: language is the call's language (set changes it),
// caller the caller's number as the call arrived (read only).
const (
	VarLanguage = "language"
	VarCaller   = "caller"
)

// Checker lets Compile check a flow's references against the rest of the
// configuration: the prompt catalogue, the routing queues and the transfer
// targets. It is called only during Compile, from one goroutine. The prompt
// catalogue (prompts.Catalog) has HasPrompt as Has, Chain, and
// PromptDuration through Prompt(lang, name).Duration().
type Checker interface {
	// HasPrompt reports whether prompt name is recorded in lang itself.
	HasPrompt(lang call.Language, name string) bool
	// Chain returns the languages a prompt in lang is looked up in at play
	// time: lang first, then its fallbacks ([en nl] for English).
	Chain(lang call.Language) []call.Language
	// PromptDuration returns how long prompt name plays in lang, or 0 when
	// it is not recorded there or its length is unknown.
	PromptDuration(lang call.Language, name string) time.Duration
	// HasQueue reports whether a routing queue of that name exists.
	HasQueue(name string) bool
	// HasTransferTarget reports whether a transfer target of that name
	// is configured; transfer nodes name targets, never numbers.
	HasTransferTarget(name string) bool
}

// Program is a compiled flow: validated, with every reference resolved. It is
// immutable and safe to share between any number of concurrent calls.
type Program struct {
	name     string
	file     string
	version  string
	numbers  []string
	langs    []call.Language
	loc      *time.Location
	vars     []assign // declared variables and their initial values
	sayLang  map[call.Language]call.Language
	slots    []string
	start    int
	nodes    []node
	warnings []Problem
}

// Name returns the flow's name (its "flow:" key).
func (p *Program) Name() string { return p.name }

// File returns the name the flow was parsed under, as used in positions.
func (p *Program) File() string { return p.file }

// Numbers returns the service numbers this flow answers.
func (p *Program) Numbers() []string { return slices.Clone(p.numbers) }

// Languages returns the flow's languages; the first one is the language a
// call starts in.
func (p *Program) Languages() []call.Language { return slices.Clone(p.langs) }

// Version returns a short hex hash of the flow's source, which identifies
// this version of the flow in call records and on reload.
func (p *Program) Version() string { return p.version }

// Location returns the flow's time zone (its timezone key, by default
// Europe/Amsterdam), in which tools read a time given without a zone, such
// as "kcc flow simulate --at 2026-12-25T10:00".
func (p *Program) Location() *time.Location { return p.loc }

// IncidentSlots returns the incident slots the flow plays or tests, sorted,
// so the admin endpoint can refuse a message for a slot no flow uses.
func (p *Program) IncidentSlots() []string { return slices.Clone(p.slots) }

// Warnings returns what Compile found suspicious but not wrong, such as nodes
// that can never be reached, in file order.
func (p *Program) Warnings() []Problem { return slices.Clone(p.warnings) }

type kind uint8

const (
	kindPlay kind = iota + 1
	kindMenu
	kindInput
	kindSet
	kindBranch
	kindGoto
	kindHours
	kindQueue
	kindHangup
	kindIncident
	kindCallback
	kindTransfer
)

// kindNames are the node types by kind, as the flow file spells them.
var kindNames = [...]string{
	kindPlay: "play", kindMenu: "menu", kindInput: "input", kindSet: "set", kindBranch: "branch",
	kindGoto: "goto", kindHours: "hours", kindQueue: "queue", kindHangup: "hangup", kindIncident: "incident",
	kindCallback: "callback", kindTransfer: "transfer",
}

// end is the node index that ends the flow with CauseNormal.
const end = -1

// node is a compiled node. Indices refer to Program.nodes.
type node struct {
	name    string // the node's name; empty for an inline node
	label   string // name, or a path like "hoofdmenu/1" for an inline node (for logs)
	kind    kind
	play    playList // play, menu, input
	bargeIn bool
	next    int // play, set, goto, queue, incident, input, callback, transfer
	sets    []assign
	lang    call.Language // set: the new language, or "" to keep it
	queue   *queueSpec    // queue, callback
	target  string        // transfer
	cause   string        // hangup
	menu    *menu
	input   *input
	branch  *branch
	hours   *hoursSpec
	slot    string // incident
	// edges are every way out of the node, for analysis and graphs.
	edges []edge
}

// edge is one way out of a node.
type edge struct {
	to    int
	label string
	// assigns is set on the edges along which the node's variables are set
	// (all of a set node's, only the next of an input).
	assigns bool
}

type assign struct {
	name, value string
}

// playList is what a play, menu or input node plays.
type playList struct {
	names []string   // the prompt names, when there is no say item
	items []playItem // every item, when there is a say item
}

type sayKind uint8

const (
	sayDigits sayKind = iota + 1
	sayNumber
	sayOrdinal
	sayMinutes
)

var sayKindNames = []string{"digits", "number", "ordinal", "minutes"}

var approxNames = map[string]prompts.Approx{
	"exactly": prompts.Exactly, "about": prompts.About, "more-than": prompts.MoreThan, "less-than": prompts.LessThan,
}

type playItem struct {
	name    string // a prompt, when say is 0
	say     sayKind
	varName string // say: the variable, or "" for value
	value   string
	approx  prompts.Approx
}

type queueSpec struct {
	queue, topic string
	priority     int
	skills       []string
	care         bool
	// unavailable is where a queue node goes when the queue refuses the
	// caller: its unavailable action, else its next.
	unavailable int
}

type menu struct {
	timeout   time.Duration
	retries   int
	keys      []call.Digit // in file order
	options   map[call.Digit]int
	invalid   int
	noInput   int
	exhausted int
}

type input struct {
	varName    string
	min, max   int
	term       call.Digit // 0: none
	timeout    time.Duration
	interDigit time.Duration
	pattern    *regexp.Regexp
	retries    int
	invalid    int
	noInput    int
	exhausted  int
}

type branch struct {
	cases []branchCase
	def   int
}

type branchCase struct {
	conds []cond
	next  int
}

type condKind uint8

const (
	condEquals condKind = iota + 1
	condMatches
	condCaller
	condTime
	condDays
	condOpen
	condClosed
	condIncident
	condWaitingAtLeast
	condWaitingBelow
	condAvailableAtLeast
	condAvailableBelow
)

type cond struct {
	kind     condKind
	name     string // variable, schedule, slot or queue
	value    string
	re       *regexp.Regexp
	callers  []string
	from, to int   // time: minutes after midnight, to exclusive; from > to wraps
	days     uint8 // bit per time.Weekday
	sched    *hours.Schedule
	n        int
	text     string // the condition as written, for traces
}

type hoursSpec struct {
	name                         string
	sched                        *hours.Schedule
	open, closed, holiday, early int
}

// Load parses and compiles a flow file; see Parse and Compile.
func Load(name string, src []byte, chk Checker) (*Program, error) {
	f, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	return Compile(f, chk)
}

// Compile validates f and compiles it into a Program. It reports every
// problem at once, each with its position. chk checks prompts and queues; a
// nil chk skips those checks (for tools that validate a flow on its own).
func Compile(f *Flow, chk Checker) (*Program, error) {
	if f == nil {
		return nil, errors.New("compile flow: no flow")
	}
	c := &compiler{
		f: f, chk: chk, index: make(map[string]int), schedules: make(map[string]*hours.Schedule),
		written: make(map[string]Pos), promptWarned: make(map[string]bool),
	}
	c.header()
	for _, nd := range f.Nodes {
		if nd == nil {
			continue
		}
		if !validName(nd.Name) {
			c.errorf(nd.Pos, "node name %q: want 1 to %d letters, digits, '-' or '_'", nd.Name, maxNameLen)
		}
		if _, dup := c.index[nd.Name]; dup {
			c.errorf(nd.Pos, "node %q defined twice; rename one of them", nd.Name)
			continue
		}
		c.index[nd.Name] = c.alloc(nd.Pos)
	}
	for _, nd := range f.Nodes {
		if nd == nil {
			continue
		}
		if i, ok := c.index[nd.Name]; ok && c.nodes[i].kind == 0 && c.nodes[i].label == "" {
			c.compileNode(i, nd, nd.Name, fmt.Sprintf("node %q", nd.Name))
		}
	}
	start := end
	if f.Start != nil {
		start = c.ref(*f.Start, "start")
	}
	c.checkReads()
	c.checkLoops()
	if err := c.probs.err(); err != nil {
		return nil, err
	}
	c.analyze(start)
	slices.Sort(c.slots)
	p := &Program{
		name:     f.Name.Value,
		file:     f.File,
		version:  f.Version,
		numbers:  c.numbers,
		langs:    c.langs,
		loc:      c.loc,
		vars:     c.declared,
		sayLang:  c.sayLang,
		slots:    slices.Compact(c.slots),
		start:    start,
		nodes:    c.nodes,
		warnings: c.warns.sorted(),
	}
	return p, nil
}

type compiler struct {
	f             *Flow
	chk           Checker
	probs         problems
	warns         problems
	index         map[string]int // named node -> index
	nodes         []node
	pos           []Pos // of each node, for loop messages
	numbers       []string
	langs         []call.Language
	loc           *time.Location
	schedules     map[string]*hours.Schedule
	scheduleNames []string
	declared      []assign
	written       map[string]Pos // variables given a value somewhere
	reads         []varRead
	sayLang       map[call.Language]call.Language
	slots         []string
	promptWarned  map[string]bool
}

// varRead is a place that reads a variable, checked once every write is known.
type varRead struct {
	name string
	node int
	pos  Pos
}

func (c *compiler) errorf(pos Pos, format string, args ...any) {
	c.probs.add(pos, fmt.Sprintf(format, args...))
}

func (c *compiler) warnf(pos Pos, format string, args ...any) {
	c.warns.add(pos, fmt.Sprintf(format, args...))
}

func (c *compiler) alloc(pos Pos) int {
	c.nodes = append(c.nodes, node{next: end})
	c.pos = append(c.pos, pos)
	return len(c.nodes) - 1
}

func (c *compiler) header() {
	f := c.f
	if f.Name == nil || strings.TrimSpace(f.Name.Value) == "" {
		c.errorf(f.Pos, "flow: missing the flow's name (flow: ...)")
	}
	if len(f.Numbers) == 0 {
		c.errorf(f.Pos, "numbers: missing; want the service numbers this flow answers")
	}
	if len(f.Numbers) > maxNumbers {
		c.errorf(f.Numbers[0].Pos, "numbers: %d numbers; at most %d", len(f.Numbers), maxNumbers)
	}
	for _, n := range f.Numbers {
		switch {
		case !validNumber(n.Value):
			c.errorf(n.Pos, "number %q: want digits with an optional leading +", n.Value)
		case slices.Contains(c.numbers, n.Value):
			c.errorf(n.Pos, "number %q listed twice", n.Value)
		default:
			c.numbers = append(c.numbers, n.Value)
		}
	}
	if len(f.Languages) == 0 {
		c.errorf(f.Pos, "languages: missing; want at least one language code, e.g. [nl, en]")
	}
	for _, l := range f.Languages {
		switch lang := call.Language(l.Value); {
		case !validLanguage(l.Value):
			c.errorf(l.Pos, "language %q: want a lower-case language code such as nl or en", l.Value)
		case slices.Contains(c.langs, lang):
			c.errorf(l.Pos, "language %q listed twice", l.Value)
		default:
			c.langs = append(c.langs, lang)
		}
	}
	if f.Start == nil {
		c.errorf(f.Pos, "start: missing; want the name of the first node")
	}
	if len(f.Nodes) == 0 {
		c.errorf(f.Pos, "nodes: missing; a flow needs at least one node")
	}
	tz := DefaultTimeZone
	if f.TimeZone != nil {
		tz = f.TimeZone.Value
	}
	loc, err := time.LoadLocation(tz)
	if (err != nil || tz == "Local" || tz == "") && f.TimeZone != nil {
		c.errorf(f.TimeZone.Pos, "timezone %q: unknown; want an IANA time zone such as Europe/Amsterdam", tz)
	}
	if loc == nil || err != nil {
		loc = time.UTC
	}
	c.loc = loc
	for _, v := range f.Vars {
		if c.checkVarName(v.Name, "vars") {
			c.declared = append(c.declared, assign{v.Name.Value, v.Value.Value})
			c.written[v.Name.Value] = v.Name.Pos
		}
		if len(v.Value.Value) > maxValueLen {
			c.errorf(v.Value.Pos, "vars: %s: value longer than %d bytes", v.Name.Value, maxValueLen)
		}
	}
	for _, s := range f.Schedules {
		if !validName(s.Name) {
			c.errorf(s.Pos, "schedule name %q: want 1 to %d letters, digits, '-' or '_'", s.Name, maxNameLen)
		}
		c.schedules[s.Name] = c.schedule(s, fmt.Sprintf("schedule %q", s.Name))
		c.scheduleNames = append(c.scheduleNames, s.Name)
	}
	c.sayLang = make(map[call.Language]call.Language, len(c.langs))
	for _, l := range c.langs {
		for _, cl := range c.chain(l) {
			if slices.Contains(prompts.SayerLanguages(), cl) {
				c.sayLang[l] = cl
				break
			}
		}
	}
}

// schedule compiles s with the hours package, reporting its problems at the
// positions of the values they are about.
func (c *compiler) schedule(s *Schedule, what string) *hours.Schedule {
	sched, err := hours.New(s.Config)
	if err == nil {
		return sched
	}
	var ps hours.Problems
	if !errors.As(err, &ps) {
		c.errorf(s.Pos, "%s: %v", what, err)
		return nil
	}
	for _, p := range ps {
		pos := s.Pos
		if n := p.Node(s.node); n != nil {
			pos = Pos{File: c.f.File, Line: n.Line, Col: n.Column}
		}
		c.errorf(pos, "%s: %s", what, p.Error())
	}
	return nil
}

// chain returns the languages a prompt in lang is looked up in.
func (c *compiler) chain(lang call.Language) []call.Language {
	if c.chk == nil {
		return []call.Language{lang}
	}
	ch := c.chk.Chain(lang)
	if len(ch) == 0 {
		return []call.Language{lang}
	}
	return ch
}

// ref resolves a reference to a named node.
func (c *compiler) ref(s Str, what string) int {
	if i, ok := c.index[s.Value]; ok {
		return i
	}
	msg := fmt.Sprintf("%s: no node named %q", what, s.Value)
	if !c.probs.full() && len(c.index) <= maxSuggestCandidates {
		names := make([]string, 0, len(c.index))
		for n := range c.index {
			names = append(names, n)
		}
		slices.Sort(names)
		if sug := suggest(s.Value, names); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
	}
	c.probs.add(s.Pos, msg)
	return end
}

// nodeTypes lists the types set in nd, in the order of the key table.
func nodeTypes(nd *Node) ([]string, kind) {
	var types []string
	var k kind
	add := func(set bool, kk kind) {
		if set {
			types = append(types, kindNames[kk])
			k = kk
		}
	}
	add(nd.Play != nil, kindPlay)
	add(nd.Menu != nil, kindMenu)
	add(nd.Input != nil, kindInput)
	add(nd.Set != nil, kindSet)
	add(nd.Branch != nil, kindBranch)
	add(nd.Goto != nil, kindGoto)
	add(nd.Hours != nil, kindHours)
	add(nd.Queue != nil, kindQueue)
	add(nd.Callback != nil, kindCallback)
	add(nd.Transfer != nil, kindTransfer)
	add(nd.Hangup != nil, kindHangup)
	add(nd.Incident != nil, kindIncident)
	return types, k
}

// compileNode fills c.nodes[i] from nd. label names the node in logs, what in
// error messages.
func (c *compiler) compileNode(i int, nd *Node, label, what string) {
	n := node{name: nd.Name, label: label, next: end}
	types, k := nodeTypes(nd)
	n.kind = k
	switch len(types) {
	case 0:
		c.errorf(nd.Pos, "%s does nothing; want one of %s", what, strings.Join(objects["node"].oneOf, ", "))
	case 1:
	default:
		c.errorf(nd.Pos, "%s is %s at once; a node does one thing (chain nodes with next)", what, strings.Join(types, " and "))
	}
	c.belongs(nd, what)
	if nd.Next != nil {
		switch k {
		case kindMenu, kindBranch, kindHours:
			c.errorf(nd.Next.Pos, "%s: a %s has no next; its %s say where to go", what, kindNames[k], map[kind]string{kindMenu: "options", kindBranch: "cases and default", kindHours: "open and closed"}[k])
		case kindGoto:
			c.errorf(nd.Next.Pos, "%s: a goto has no next; goto says where to go", what)
		case kindHangup:
			c.errorf(nd.Next.Pos, "%s: a hangup ends the flow; it has no next", what)
		default:
			n.next = c.ref(*nd.Next, what+": next")
		}
	}
	switch k {
	case kindPlay:
		n.play = c.playList(nd.Play, i, what+": play")
		if nd.BargeIn != nil {
			n.bargeIn = c.boolean(*nd.BargeIn, what+": barge_in")
		}
		n.edges = []edge{{to: n.next, label: "next"}}
	case kindMenu:
		n.play, n.menu = c.menu(i, nd.Menu, label, what)
		m := n.menu
		for _, key := range m.keys {
			n.edges = append(n.edges, edge{to: m.options[key], label: key.String()})
		}
		n.edges = append(n.edges, edge{to: m.invalid, label: "invalid"}, edge{to: m.noInput, label: "no_input"}, edge{to: m.exhausted, label: "exhausted"})
	case kindInput:
		n.play, n.input = c.input(i, nd.Input, label, what)
		in := n.input
		n.edges = []edge{{to: n.next, label: "next", assigns: true}, {to: in.invalid, label: "invalid"}, {to: in.noInput, label: "no_input"}, {to: in.exhausted, label: "exhausted"}}
	case kindSet:
		n.sets, n.lang = c.set(nd.Set, what)
		n.edges = []edge{{to: n.next, label: "next", assigns: true}}
	case kindBranch:
		n.branch = c.branch(i, nd.Branch, label, what)
		for j, bc := range n.branch.cases {
			n.edges = append(n.edges, edge{to: bc.next, label: "case " + strconv.Itoa(j+1)})
		}
		n.edges = append(n.edges, edge{to: n.branch.def, label: "default"})
	case kindGoto:
		n.next = c.ref(*nd.Goto, what+": goto")
		n.edges = []edge{{to: n.next, label: "goto"}}
	case kindHours:
		n.hours = c.hoursNode(nd, label, what)
		h := n.hours
		n.edges = []edge{{to: h.open, label: "open"}, {to: h.closed, label: "closed"}}
		if nd.Holiday != nil {
			n.edges = append(n.edges, edge{to: h.holiday, label: "holiday"})
		}
		if nd.EarlyClose != nil {
			n.edges = append(n.edges, edge{to: h.early, label: "early_close"})
		}
	case kindQueue:
		n.queue = c.queue(nd, what)
		if n.next != end {
			n.edges = []edge{{to: n.next, label: "next"}}
		}
		n.queue.unavailable = n.next
		if nd.Unavailable != nil {
			n.queue.unavailable = c.action(nd.Unavailable, label+"/unavailable", what+": unavailable")
			n.edges = append(n.edges, edge{to: n.queue.unavailable, label: "unavailable"})
		}
	case kindCallback:
		n.queue = c.callback(nd.Callback, what+": callback")
		n.edges = []edge{{to: n.next, label: "declined"}}
	case kindTransfer:
		n.target = c.transfer(nd.Transfer, what+": transfer")
		n.edges = []edge{{to: n.next, label: "failed"}}
	case kindHangup:
		n.cause = nd.Hangup.Value
		if !slices.Contains(hangupCauses, n.cause) {
			c.errorf(nd.Hangup.Pos, "%s: hangup cause %q: want one of %s", what, n.cause, strings.Join(hangupCauses, ", "))
		}
	case kindIncident:
		n.slot = nd.Incident.Value
		if !validName(n.slot) {
			c.errorf(nd.Incident.Pos, "%s: incident slot %q: want 1 to %d letters, digits, '-' or '_'", what, n.slot, maxNameLen)
		}
		c.slots = append(c.slots, n.slot)
		n.edges = []edge{{to: n.next, label: "next"}}
	}
	c.nodes[i] = n
}

// belongs reports keys that belong to another type of node than nd's.
func (c *compiler) belongs(nd *Node, what string) {
	only := func(s *Str, key, owner string, ok bool) {
		if s != nil && !ok {
			c.errorf(s.Pos, "%s: %s belongs to a %s node", what, key, owner)
		}
	}
	only(nd.BargeIn, "barge_in", "play", nd.Play != nil)
	only(nd.Topic, "topic", "queue", nd.Queue != nil)
	only(nd.Priority, "priority", "queue", nd.Queue != nil)
	if len(nd.Skills) > 0 {
		only(&nd.Skills[0], "skills", "queue", nd.Queue != nil)
	}
	only(nd.Care, "care", "queue", nd.Queue != nil)
	if nd.Unavailable != nil && nd.Queue == nil {
		c.errorf(nd.Unavailable.Pos, "%s: unavailable belongs to a queue node", what)
	}
	for _, a := range []struct {
		key string
		a   *Action
	}{{"open", nd.Open}, {"closed", nd.Closed}, {"holiday", nd.Holiday}, {"early_close", nd.EarlyClose}} {
		if a.a != nil && nd.Hours == nil {
			c.errorf(a.a.Pos, "%s: %s belongs to an hours node", what, a.key)
		}
	}
}

func (c *compiler) boolean(s Str, what string) bool {
	switch s.Value {
	case "true":
		return true
	case "false":
		return false
	}
	c.errorf(s.Pos, "%s: %q: want true or false", what, s.Value)
	return false
}

// number parses a whole number in [lo, hi].
func (c *compiler) number(s *Str, what string, lo, hi, def int) int {
	if s == nil {
		return def
	}
	n, err := strconv.Atoi(s.Value)
	switch {
	case err != nil:
		c.errorf(s.Pos, "%s %q: want a whole number", what, s.Value)
	case n < lo || n > hi:
		c.errorf(s.Pos, "%s %d: want %d to %d", what, n, lo, hi)
	default:
		return n
	}
	return def
}

func (c *compiler) duration(s *Str, what string, def time.Duration) time.Duration {
	if s == nil {
		return def
	}
	d, err := time.ParseDuration(s.Value)
	switch {
	case err != nil:
		c.errorf(s.Pos, "%s %q: want a duration such as 4s", what, s.Value)
	case d <= 0 || d > maxTimeout:
		c.errorf(s.Pos, "%s %s: want more than 0 and at most %s", what, s.Value, maxTimeout)
	default:
		return d
	}
	return def
}

// pattern compiles a regular expression that must match a whole value.
func (c *compiler) pattern(s Str, what string) *regexp.Regexp {
	if len(s.Value) > maxPattern {
		c.errorf(s.Pos, "%s: pattern longer than %d bytes", what, maxPattern)
		return nil
	}
	if _, err := regexp.Compile(s.Value); err != nil {
		msg := err.Error()
		if e := (*syntax.Error)(nil); errors.As(err, &e) {
			msg = fmt.Sprintf("%s: %q", e.Code, e.Expr)
		}
		c.errorf(s.Pos, "%s: pattern %q: %s; want a Go regular expression such as [0-9]{6,10}", what, s.Value, msg)
		return nil
	}
	// Anchored, so a pattern states the whole value, as admins expect.
	re, err := regexp.Compile(`^(?:` + s.Value + `)$`)
	if err != nil {
		c.errorf(s.Pos, "%s: pattern %q: %v", what, s.Value, err)
		return nil
	}
	return re
}

func (c *compiler) set(s *Set, what string) ([]assign, call.Language) {
	if len(s.Vars) == 0 {
		c.errorf(s.Pos, "%s: set: want at least one variable, e.g. {language: en}", what)
		return nil, ""
	}
	var out []assign
	var lang call.Language
	for _, v := range s.Vars {
		if v.Name.Value == VarLanguage {
			lang = call.Language(v.Value.Value)
			if !slices.Contains(c.langs, lang) && len(c.langs) > 0 {
				c.errorf(v.Value.Pos, "%s: set: language %q is not one of the flow's languages (%s)", what, lang, joinLangs(c.langs))
			}
			continue
		}
		if !c.checkVarName(v.Name, what+": set") {
			continue
		}
		if len(v.Value.Value) > maxValueLen {
			c.errorf(v.Value.Pos, "%s: set: %s: value longer than %d bytes", what, v.Name.Value, maxValueLen)
		}
		if _, ok := c.written[v.Name.Value]; !ok {
			c.written[v.Name.Value] = v.Name.Pos
		}
		out = append(out, assign{v.Name.Value, v.Value.Value})
	}
	return out, lang
}

// forbiddenVars are names under which a flow might collect a citizen
// service number, which the IVR must never do.
var forbiddenVars = []string{"bsn", "burgerservicenummer", "sofinummer", "sofi"}

// checkVarName checks a variable that is given a value.
func (c *compiler) checkVarName(s Str, what string) bool {
	name := s.Value
	switch {
	case !validVar(name):
		c.errorf(s.Pos, "%s: variable name %q: want a lower-case letter, then lower-case letters, digits or _ (at most %d)", what, name, maxNameLen)
		return false
	case name == VarCaller:
		c.errorf(s.Pos, "%s: variable %q is the caller's number; it cannot be set", what, name)
		return false
	case slices.Contains(forbiddenVars, name) || strings.Contains(name, "bsn"):
		c.errorf(s.Pos, "%s: variable %q: a citizen service number (BSN) must never be collected by the IVR; ask for a case number (zaaknummer) and let the agent verify identity", what, name)
		return false
	}
	return true
}

func validVar(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// read records that node i reads variable s, checked by checkReads.
func (c *compiler) read(s Str, i int) {
	c.reads = append(c.reads, varRead{name: s.Value, node: i, pos: s.Pos})
}

// checkReads reports variables read but given a value nowhere.
func (c *compiler) checkReads() {
	known := make([]string, 0, len(c.written)+2)
	for n := range c.written {
		known = append(known, n)
	}
	known = append(known, VarLanguage, VarCaller)
	slices.Sort(known)
	for _, r := range c.reads {
		if slices.Contains(known, r.name) {
			continue
		}
		msg := fmt.Sprintf("variable %q is never set; give it a value with set, input or vars", r.name)
		if s := suggest(r.name, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		c.probs.add(r.pos, msg)
	}
}

func (c *compiler) menu(self int, m *Menu, label, what string) (playList, *menu) {
	out := &menu{
		timeout:   c.duration(m.Timeout, what+": timeout", DefaultTimeout),
		retries:   c.number(m.Retries, what+": retries", 0, maxRetries, DefaultRetries),
		options:   make(map[call.Digit]int, len(m.Options)),
		invalid:   self,
		noInput:   self,
		exhausted: end,
	}
	var pl playList
	if m.Prompt == nil {
		c.errorf(m.Pos, "%s: menu: missing prompt", what)
	} else {
		pl = c.playList(m.Prompt, self, what+": menu: prompt")
	}
	if len(m.Options) == 0 {
		c.errorf(m.Pos, "%s: menu: no options; a menu needs at least one", what)
	}
	if len(m.Options) > MaxMenuOptions {
		c.warnf(m.Pos, "%s: menu has %d options; callers remember at most %d, so split it into submenus", what, len(m.Options), MaxMenuOptions)
	}
	for _, o := range m.Options {
		if len(o.Key.Value) != 1 || !call.Digit(o.Key.Value[0]).Valid() {
			c.errorf(o.Key.Pos, "%s: option %q: want a single DTMF key (0-9, *, #, A-D)", what, o.Key.Value)
			continue
		}
		d := call.Digit(o.Key.Value[0])
		if _, dup := out.options[d]; dup {
			c.errorf(o.Key.Pos, "%s: option %q given twice", what, o.Key.Value)
			continue
		}
		out.keys = append(out.keys, d)
		out.options[d] = c.action(o.Action, label+"/"+o.Key.Value, fmt.Sprintf("%s: option %q", what, o.Key.Value))
	}
	if m.Invalid != nil {
		out.invalid = c.action(m.Invalid, label+"/invalid", what+": invalid")
	}
	if m.NoInput != nil {
		out.noInput = c.action(m.NoInput, label+"/no_input", what+": no_input")
	}
	if m.Exhausted != nil {
		out.exhausted = c.action(m.Exhausted, label+"/exhausted", what+": exhausted")
	}
	return pl, out
}

func (c *compiler) input(self int, in *Input, label, what string) (playList, *input) {
	w := what + ": input"
	out := &input{
		min:        c.number(in.Min, w+": min", 1, maxInputDigits, 1),
		max:        c.number(in.Max, w+": max", 1, maxInputDigits, 20),
		term:       '#',
		timeout:    c.duration(in.Timeout, w+": timeout", DefaultTimeout),
		interDigit: c.duration(in.InterDigit, w+": inter_digit", DefaultInterDigit),
		retries:    c.number(in.Retries, w+": retries", 0, maxRetries, DefaultRetries),
		invalid:    self,
		noInput:    self,
		exhausted:  end,
	}
	if in.Min != nil && in.Max == nil && out.min > out.max {
		out.max = out.min
	}
	if out.min > out.max {
		c.errorf(in.Max.Pos, "%s: max %d is less than min %d; raise max or lower min", w, out.max, out.min)
	}
	var pl playList
	if in.Prompt == nil {
		c.errorf(in.Pos, "%s: missing prompt", w)
	} else {
		pl = c.playList(in.Prompt, self, w+": prompt")
	}
	if in.Var == nil {
		c.errorf(in.Pos, "%s: missing var; want the variable that receives the digits", w)
	} else if c.checkVarName(*in.Var, w) {
		out.varName = in.Var.Value
		if _, ok := c.written[out.varName]; !ok {
			c.written[out.varName] = in.Var.Pos
		}
	}
	if t := in.Terminator; t != nil {
		switch {
		case t.Value == "none":
			out.term = 0
		case len(t.Value) == 1 && (t.Value == "#" || t.Value == "*"):
			out.term = call.Digit(t.Value[0])
		default:
			c.errorf(t.Pos, "%s: terminator %q: want \"#\", \"*\" or none", w, t.Value)
		}
	}
	if in.Pattern != nil {
		out.pattern = c.pattern(*in.Pattern, w)
	}
	if in.Invalid != nil {
		out.invalid = c.action(in.Invalid, label+"/invalid", w+": invalid")
	}
	if in.NoInput != nil {
		out.noInput = c.action(in.NoInput, label+"/no_input", w+": no_input")
	}
	if in.Exhausted != nil {
		out.exhausted = c.action(in.Exhausted, label+"/exhausted", w+": exhausted")
	}
	return pl, out
}

func (c *compiler) branch(self int, b *Branch, label, what string) *branch {
	w := what + ": branch"
	out := &branch{def: end}
	if len(b.Cases) == 0 {
		c.errorf(b.Pos, "%s: no cases; want a list of {<condition>, next: <node>}", w)
	}
	if len(b.Cases) > maxCases {
		c.errorf(b.Pos, "%s: %d cases; at most %d", w, len(b.Cases), maxCases)
		return out
	}
	for j, bc := range b.Cases {
		cw := fmt.Sprintf("%s: case %d", w, j+1)
		out.cases = append(out.cases, branchCase{
			conds: c.conds(self, bc, cw),
			next:  c.caseTarget(bc, fmt.Sprintf("%s/%d", label, j+1), cw),
		})
	}
	if b.Default != nil {
		out.def = c.action(b.Default, label+"/default", w+": default")
	}
	return out
}

func (c *compiler) caseTarget(bc *Case, label, what string) int {
	if bc.Next == nil {
		c.errorf(bc.Pos, "%s: missing next; want the node to go to when the case holds", what)
		return end
	}
	return c.action(bc.Next, label, what+": next")
}

// conds compiles the conditions of one branch case, which must all hold.
func (c *compiler) conds(self int, bc *Case, what string) []cond {
	var out []cond
	if bc.Var != nil {
		c.read(*bc.Var, self)
		switch {
		case bc.Equals != nil && bc.Matches != nil:
			c.errorf(bc.Matches.Pos, "%s: var takes equals or matches, not both; write two cases", what)
		case bc.Equals != nil:
			out = append(out, cond{kind: condEquals, name: bc.Var.Value, value: bc.Equals.Value,
				text: fmt.Sprintf("%s equals %q", bc.Var.Value, bc.Equals.Value)})
		case bc.Matches != nil:
			if re := c.pattern(*bc.Matches, what+": matches"); re != nil {
				out = append(out, cond{kind: condMatches, name: bc.Var.Value, re: re,
					text: fmt.Sprintf("%s matches %q", bc.Var.Value, bc.Matches.Value)})
			}
		default:
			c.errorf(bc.Var.Pos, "%s: var needs equals or matches", what)
		}
	} else {
		for _, s := range []*Str{bc.Equals, bc.Matches} {
			if s != nil {
				c.errorf(s.Pos, "%s: equals and matches need var: <variable>", what)
			}
		}
	}
	if len(bc.Caller) > 0 {
		cd := cond{kind: condCaller}
		for _, s := range bc.Caller {
			pat := strings.ReplaceAll(s.Value, " ", "")
			if !validCallerPattern(pat) {
				c.errorf(s.Pos, "%s: caller %q: want digits with an optional leading +, * for any digits, ? for one, or withheld", what, s.Value)
				continue
			}
			cd.callers = append(cd.callers, pat)
		}
		cd.text = "caller " + strings.Join(cd.callers, " or ")
		out = append(out, cd)
	}
	if bc.Time != nil {
		from, to, ok := parseTimeRange(bc.Time.Value)
		if !ok {
			c.errorf(bc.Time.Pos, "%s: time %q: want HH:MM-HH:MM, e.g. 08:00-12:30 (a range past midnight such as 22:00-06:00 wraps)", what, bc.Time.Value)
		}
		out = append(out, cond{kind: condTime, from: from, to: to, text: "time " + bc.Time.Value})
	}
	if len(bc.Days) > 0 {
		cd := cond{kind: condDays}
		var texts []string
		for _, s := range bc.Days {
			set, ok := hours.ParseWeekdays(s.Value)
			if !ok {
				c.errorf(s.Pos, "%s: days %q: want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri", what, s.Value)
			}
			cd.days |= set
			texts = append(texts, s.Value)
		}
		cd.text = "days " + strings.Join(texts, ",")
		out = append(out, cd)
	}
	for _, s := range []struct {
		s *Str
		k condKind
	}{{bc.Open, condOpen}, {bc.Closed, condClosed}} {
		if s.s == nil {
			continue
		}
		sched, ok := c.schedules[s.s.Value]
		if !ok {
			c.errorf(s.s.Pos, "%s: no schedule named %q%s", what, s.s.Value, c.scheduleHint(s.s.Value))
		}
		word := map[condKind]string{condOpen: "open", condClosed: "closed"}[s.k]
		out = append(out, cond{kind: s.k, name: s.s.Value, sched: sched, text: word + " " + s.s.Value})
	}
	if bc.Incident != nil {
		if !validName(bc.Incident.Value) {
			c.errorf(bc.Incident.Pos, "%s: incident slot %q: want 1 to %d letters, digits, '-' or '_'", what, bc.Incident.Value, maxNameLen)
		}
		c.slots = append(c.slots, bc.Incident.Value)
		out = append(out, cond{kind: condIncident, name: bc.Incident.Value, text: "incident " + bc.Incident.Value + " active"})
	}
	counts := []struct {
		s    *Str
		k    condKind
		text string
	}{
		{bc.WaitingAtLeast, condWaitingAtLeast, "waiting >= "},
		{bc.WaitingBelow, condWaitingBelow, "waiting < "},
		{bc.AvailableAtLeast, condAvailableAtLeast, "available >= "},
		{bc.AvailableBelow, condAvailableBelow, "available < "},
	}
	hasCount := false
	for _, q := range counts {
		if q.s == nil {
			continue
		}
		hasCount = true
		if bc.Queue == nil {
			c.errorf(q.s.Pos, "%s: a queue condition needs queue: <queue>", what)
			continue
		}
		n := c.number(q.s, what+": count", 0, 1_000_000, 0)
		out = append(out, cond{kind: q.k, name: bc.Queue.Value, n: n, text: fmt.Sprintf("%s %s%d", bc.Queue.Value, q.text, n)})
	}
	if bc.Queue != nil {
		c.checkQueue(*bc.Queue, what)
		if !hasCount {
			c.errorf(bc.Queue.Pos, "%s: queue needs waiting_at_least, waiting_below, available_at_least or available_below", what)
		}
	}
	if bc.Var == nil && bc.Equals == nil && bc.Matches == nil && len(bc.Caller) == 0 && bc.Time == nil && len(bc.Days) == 0 &&
		bc.Open == nil && bc.Closed == nil && bc.Incident == nil && bc.Queue == nil && !hasCount {
		c.errorf(bc.Pos, "%s: no condition; use default for the case that always holds", what)
	}
	return out
}

func (c *compiler) scheduleHint(name string) string {
	if len(c.scheduleNames) == 0 {
		return "; declare it under schedules:"
	}
	if s := suggest(name, c.scheduleNames); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return fmt.Sprintf("; want one of %s", strings.Join(c.scheduleNames, ", "))
}

func (c *compiler) checkQueue(q Str, what string) {
	switch {
	case !validName(q.Value):
		c.errorf(q.Pos, "%s: queue name %q: want 1 to %d letters, digits, '-' or '_'", what, q.Value, maxNameLen)
	case c.chk != nil && !c.chk.HasQueue(q.Value):
		c.errorf(q.Pos, "%s: queue %q does not exist; add it to the routing queues or fix the name", what, q.Value)
	}
}

func (c *compiler) queue(nd *Node, what string) *queueSpec {
	q := c.queueSpec(*nd.Queue, nd.Topic, nd.Priority, nd.Skills, what)
	if nd.Care != nil {
		q.care = c.boolean(*nd.Care, what+": care")
	}
	return q
}

// callback compiles the queue and what the agent sees of a callback node.
func (c *compiler) callback(cb *Callback, what string) *queueSpec {
	if cb.Queue == nil {
		c.errorf(cb.Pos, "%s: missing queue: <queue> (the queue whose place the caller keeps)", what)
		return &queueSpec{}
	}
	return c.queueSpec(*cb.Queue, cb.Topic, cb.Priority, cb.Skills, what)
}

// queueSpec checks the queue, topic, priority and skills of a queue or
// callback node.
func (c *compiler) queueSpec(queue Str, topic, priority *Str, skills []Str, what string) *queueSpec {
	q := &queueSpec{queue: queue.Value, unavailable: end}
	c.checkQueue(queue, what)
	if topic != nil {
		q.topic = topic.Value
		if msg := checkTopic(q.topic); msg != "" {
			c.errorf(topic.Pos, "%s: topic %q: %s", what, q.topic, msg)
		}
	}
	q.priority = c.number(priority, what+": priority", 0, maxPriority, 0)
	for _, s := range skills {
		if !validName(s.Value) {
			c.errorf(s.Pos, "%s: skill %q: want 1 to %d letters, digits, '-' or '_'", what, s.Value, maxNameLen)
			continue
		}
		q.skills = append(q.skills, s.Value)
	}
	return q
}

// transfer checks a transfer node's target: a name from the configuration,
// so a flow can never send callers to a number typed into it or the IVR.
func (c *compiler) transfer(tr *Transfer, what string) string {
	if tr.Target == nil {
		c.errorf(tr.Pos, "%s: missing target: <name> (a transfer target from kcc's configuration)", what)
		return ""
	}
	t := tr.Target
	switch {
	case c.chk != nil && c.chk.HasTransferTarget(t.Value):
	case validNumber(t.Value):
		c.errorf(t.Pos, "%s: target %q: want the name of a configured transfer target, not a number; add the number to kcc's transfer targets and name it here", what, t.Value)
	case !validName(t.Value):
		c.errorf(t.Pos, "%s: target %q: want 1 to %d letters, digits, '-' or '_'", what, t.Value, maxNameLen)
	case c.chk != nil:
		c.errorf(t.Pos, "%s: target %q is not one of kcc's transfer targets; add it to the configuration or fix the name", what, t.Value)
	}
	return t.Value
}

func (c *compiler) hoursNode(nd *Node, label, what string) *hoursSpec {
	h := &hoursSpec{open: end, closed: end}
	ref := nd.Hours
	switch {
	case ref.Inline != nil:
		h.name = label
		h.sched = c.schedule(ref.Inline, what+": hours")
	case ref.Name != nil:
		h.name = ref.Name.Value
		s, ok := c.schedules[h.name]
		if !ok {
			c.errorf(ref.Name.Pos, "%s: no schedule named %q%s", what, h.name, c.scheduleHint(h.name))
		}
		h.sched = s
	}
	if nd.Open == nil {
		c.errorf(ref.Pos, "%s: hours needs open: <node> (where to go when open)", what)
	} else {
		h.open = c.action(nd.Open, label+"/open", what+": open")
	}
	if nd.Closed == nil {
		c.errorf(ref.Pos, "%s: hours needs closed: <node> (where to go when closed)", what)
	} else {
		h.closed = c.action(nd.Closed, label+"/closed", what+": closed")
	}
	h.holiday, h.early = h.closed, h.closed
	if nd.Holiday != nil {
		h.holiday = c.action(nd.Holiday, label+"/holiday", what+": holiday")
	}
	if nd.EarlyClose != nil {
		h.early = c.action(nd.EarlyClose, label+"/early_close", what+": early_close")
	}
	return h
}

// action resolves a reference or compiles an inline node, returning its index.
func (c *compiler) action(a *Action, label, what string) int {
	switch {
	case a == nil:
		return end
	case a.Node != nil:
		i := c.alloc(a.Pos)
		c.compileNode(i, a.Node, label, fmt.Sprintf("inline node %q", label))
		return i
	default:
		return c.ref(Str{Value: a.Ref, Pos: a.Pos}, what)
	}
}

// playList compiles the prompts of node self.
func (c *compiler) playList(ps *Prompts, self int, what string) playList {
	if len(ps.Items) == 0 {
		c.errorf(ps.Pos, "%s: want at least one prompt", what)
		return playList{}
	}
	var pl playList
	hasSay := slices.ContainsFunc(ps.Items, func(it PromptItem) bool { return it.Say != nil })
	for _, it := range ps.Items {
		if it.Say != nil {
			if item, ok := c.say(it.Say, self, what); ok {
				pl.items = append(pl.items, item)
			}
			continue
		}
		c.prompt(it.Name, what)
		if hasSay {
			pl.items = append(pl.items, playItem{name: it.Name.Value})
		} else {
			pl.names = append(pl.names, it.Name.Value)
		}
	}
	return pl
}

func (c *compiler) say(s *Say, self int, what string) (playItem, bool) {
	w := what + ": say"
	if s.Kind == nil {
		c.errorf(s.Pos, "%s: missing say: <how>; want one of %s", w, strings.Join(sayKindNames, ", "))
		return playItem{}, false
	}
	k := slices.Index(sayKindNames, s.Kind.Value)
	if k < 0 {
		msg := fmt.Sprintf("%s %q: want one of %s", w, s.Kind.Value, strings.Join(sayKindNames, ", "))
		if sug := suggest(s.Kind.Value, sayKindNames); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		c.probs.add(s.Kind.Pos, msg)
		return playItem{}, false
	}
	item := playItem{say: sayKind(k + 1)}
	switch {
	case s.Var != nil && s.Value != nil:
		c.errorf(s.Value.Pos, "%s: give var or value, not both", w)
	case s.Var != nil:
		item.varName = s.Var.Value
		c.read(*s.Var, self)
	case s.Value != nil:
		item.value = s.Value.Value
		if !sayable(item.say, item.value) {
			c.errorf(s.Value.Pos, "%s: value %q: want %s", w, item.value, sayWant(item.say))
		}
	default:
		c.errorf(s.Pos, "%s: missing var: <variable> or value: <value>", w)
	}
	if s.Approx != nil {
		a, ok := approxNames[s.Approx.Value]
		switch {
		case item.say != sayMinutes:
			c.errorf(s.Approx.Pos, "%s: approx belongs to say: minutes", w)
		case !ok:
			c.errorf(s.Approx.Pos, "%s: approx %q: want exactly, about, more-than or less-than", w, s.Approx.Value)
		default:
			item.approx = a
		}
	}
	for _, l := range c.langs {
		if _, ok := c.sayLang[l]; !ok {
			c.errorf(s.Pos, "%s: no sayer speaks %s or its fallbacks (sayers speak %s)", w, l, joinLangs(prompts.SayerLanguages()))
		}
	}
	return item, true
}

// sayable reports whether v can be spoken as k.
func sayable(k sayKind, v string) bool {
	if k == sayDigits {
		if v == "" || len(v) > maxInputDigits {
			return false
		}
		for _, r := range v {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	n, err := strconv.Atoi(v)
	lo := 0
	if k == sayOrdinal {
		lo = 1
	}
	return err == nil && n >= lo && n <= prompts.MaxSay
}

func sayWant(k sayKind) string {
	switch k {
	case sayDigits:
		return fmt.Sprintf("1 to %d digits", maxInputDigits)
	case sayOrdinal:
		return fmt.Sprintf("a whole number from 1 to %d", prompts.MaxSay)
	}
	return fmt.Sprintf("a whole number from 0 to %d", prompts.MaxSay)
}

// prompt checks one prompt name against the catalogue in every language of
// the flow: missing along the whole fallback chain is an error, missing in
// the language but present in a fallback a warning, and too long a warning.
func (c *compiler) prompt(s Str, what string) {
	if !validName(s.Value) {
		c.errorf(s.Pos, "%s: prompt name %q: want 1 to %d letters, digits, '-' or '_'", what, s.Value, maxNameLen)
		return
	}
	if c.chk == nil {
		return
	}
	var missing, fallback []string
	var long []string
	for _, l := range c.langs {
		if c.chk.HasPrompt(l, s.Value) {
			if d := c.chk.PromptDuration(l, s.Value); d > MaxPromptDuration {
				long = append(long, fmt.Sprintf("%s in %s", d.Round(time.Second), l))
			}
			continue
		}
		found := call.Language("")
		for _, fl := range c.chain(l)[1:] {
			if c.chk.HasPrompt(fl, s.Value) {
				found = fl
				break
			}
		}
		if found == "" {
			missing = append(missing, string(l))
		} else {
			fallback = append(fallback, fmt.Sprintf("%s (callers hear %s)", l, found))
		}
	}
	if len(missing) > 0 {
		c.errorf(s.Pos, "%s: prompt %q does not exist in %s%s", what, s.Value, strings.Join(missing, ", "), c.promptHint(s.Value, missing))
	}
	if c.promptWarned[s.Value] {
		return
	}
	c.promptWarned[s.Value] = true
	if len(fallback) > 0 {
		c.warnf(s.Pos, "%s: prompt %q is not recorded in %s", what, s.Value, strings.Join(fallback, ", "))
	}
	if len(long) > 0 {
		c.warnf(s.Pos, "%s: prompt %q is long (%s); keep prompts under %s, callers hang up on long announcements", what, s.Value, strings.Join(long, ", "), MaxPromptDuration)
	}
}

// promptHint suggests a prompt name close to a missing one, from the names
// the flow uses elsewhere that exist.
func (c *compiler) promptHint(name string, missing []string) string {
	if c.probs.full() {
		return ""
	}
	var known []string
	for _, nd := range c.f.Nodes {
		for _, ps := range nodePrompts(nd) {
			for _, it := range ps.Items {
				if it.Say == nil && it.Name.Value != name && !slices.Contains(known, it.Name.Value) && c.chk.HasPrompt(call.Language(missing[0]), it.Name.Value) {
					known = append(known, it.Name.Value)
				}
			}
		}
		if len(known) > maxSuggestCandidates {
			break
		}
	}
	if s := suggest(name, known); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return "; record it or fix the name"
}

// nodePrompts returns the prompt lists of a named node (not of its inline
// nodes), for suggestions.
func nodePrompts(nd *Node) []*Prompts {
	var out []*Prompts
	if nd.Play != nil {
		out = append(out, nd.Play)
	}
	if nd.Menu != nil && nd.Menu.Prompt != nil {
		out = append(out, nd.Menu.Prompt)
	}
	if nd.Input != nil && nd.Input.Prompt != nil {
		out = append(out, nd.Input.Prompt)
	}
	return out
}

// validCallerPattern accepts "+316*", "070???????", "*" and "withheld".
func validCallerPattern(s string) bool {
	if s == "withheld" {
		return true
	}
	body := strings.TrimPrefix(s, "+")
	if body == "" || len(s) > 32 {
		return false
	}
	for _, r := range body {
		if !(r >= '0' && r <= '9' || r == '*' || r == '?') {
			return false
		}
	}
	return true
}

// parseTimeRange parses "HH:MM-HH:MM" into minutes after midnight.
func parseTimeRange(s string) (from, to int, ok bool) {
	a, b, found := strings.Cut(strings.ReplaceAll(s, " ", ""), "-")
	if !found {
		return 0, 0, false
	}
	from, ok1 := parseClock(a)
	to, ok2 := parseClock(b)
	if !ok1 || !ok2 || from == to {
		return 0, 0, false
	}
	return from, to, true
}

func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, false
	}
	return hh*60 + mm, true
}

func joinLangs(ls []call.Language) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, ", ")
}

// validName accepts node, prompt and queue names. Prompt names become file
// names and node names appear in call records, so no separators or dots.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validLanguage accepts codes like "nl", "en", "pap" and "pt-br".
func validLanguage(s string) bool {
	primary, rest, _ := strings.Cut(s, "-")
	if len(primary) < 2 || len(primary) > 3 || len(s) > 16 {
		return false
	}
	for _, r := range primary {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	if rest == "" {
		return !strings.Contains(s, "-")
	}
	for _, sub := range strings.Split(rest, "-") {
		if sub == "" || len(sub) > 8 {
			return false
		}
		for _, r := range sub {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func validNumber(s string) bool {
	digits := strings.TrimPrefix(s, "+")
	if digits == "" || len(digits) > 32 {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// checkTopic returns why a topic is unfit, or "". The topic travels to agents
// in a SIP header and a display name, so control characters (header
// injection) and long text are refused.
func checkTopic(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "empty"
	case len(s) > maxTopicLen:
		return fmt.Sprintf("longer than %d bytes", maxTopicLen)
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '"' || r == '\\' {
			return "contains a control character, quote or backslash"
		}
	}
	return ""
}

// The reasons of hours.Status the engine branches on.
const (
	hoursReasonHoliday    = hours.ReasonHoliday
	hoursReasonEarlyClose = hours.ReasonEarlyClose
)
