package ivr

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"kcc/call"
)

// Limits and defaults of the flow format (documented in doc.go).
const (
	DefaultTimeout = 5 * time.Second // how long a menu waits for a key
	DefaultRetries = 3               // failed attempts a menu allows before exhausted

	maxTimeout  = time.Minute
	maxRetries  = 20
	maxNameLen  = 64
	maxTopicLen = 64
	maxNumbers  = 100
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
)

var hangupCauses = []string{CauseNormal, CauseBusy, CauseCongestion, CauseRejected}

// Checker lets Compile check a flow's references against the rest of the
// configuration: the prompt catalogue and the routing queues. It is called
// only during Compile, from one goroutine.
type Checker interface {
	// HasPrompt reports whether prompt name exists in lang.
	HasPrompt(lang call.Language, name string) bool
	// HasQueue reports whether a routing queue of that name exists.
	HasQueue(name string) bool
}

// Program is a compiled flow: validated, with every reference resolved. It is
// immutable and safe to share between any number of concurrent calls.
type Program struct {
	name     string
	file     string
	version  string
	numbers  []string
	langs    []call.Language
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

// Warnings returns what Compile found suspicious but not wrong, such as nodes
// that can never be reached.
func (p *Program) Warnings() []Problem { return slices.Clone(p.warnings) }

type kind uint8

const (
	kindPlay kind = iota + 1
	kindMenu
	kindSet
	kindQueue
	kindHangup
)

// end is the node index that ends the flow with CauseNormal.
const end = -1

// node is a compiled node. Indices refer to Program.nodes.
type node struct {
	name    string // the node's name; empty for an inline node
	label   string // name, or a path like "hoofdmenu/1" for an inline node (for logs)
	kind    kind
	prompts []string // play, menu
	next    int      // play, set, queue
	lang    call.Language
	queue   string
	topic   string
	cause   string // hangup
	menu    *menu
}

type menu struct {
	timeout   time.Duration
	retries   int
	options   map[call.Digit]int
	invalid   int
	noInput   int
	exhausted int
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
	c := &compiler{f: f, chk: chk, index: make(map[string]int)}
	c.header()
	for _, nd := range f.Nodes {
		if nd == nil {
			continue
		}
		if !validName(nd.Name) {
			c.probs.add(nd.Pos, fmt.Sprintf("node name %q: want 1 to %d letters, digits, '-' or '_'", nd.Name, maxNameLen))
		}
		if _, dup := c.index[nd.Name]; dup {
			c.probs.add(nd.Pos, fmt.Sprintf("node %q defined twice", nd.Name))
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
	c.checkLoops()
	if err := c.probs.err(); err != nil {
		return nil, err
	}
	p := &Program{
		name:    f.Name.Value,
		file:    f.File,
		version: f.Version,
		numbers: c.numbers,
		langs:   c.langs,
		start:   start,
		nodes:   c.nodes,
	}
	p.warnings = c.unreachable(start)
	return p, nil
}

type compiler struct {
	f       *Flow
	chk     Checker
	probs   problems
	index   map[string]int // named node -> index
	nodes   []node
	pos     []Pos // of each node, for loop messages
	numbers []string
	langs   []call.Language
}

func (c *compiler) errorf(pos Pos, format string, args ...any) {
	c.probs.add(pos, fmt.Sprintf(format, args...))
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

// compileNode fills c.nodes[i] from nd. label names the node in logs, what in
// error messages.
func (c *compiler) compileNode(i int, nd *Node, label, what string) {
	n := node{name: nd.Name, label: label, next: end}
	var types []string
	if nd.Play != nil {
		types = append(types, "play")
		n.kind = kindPlay
	}
	if nd.Menu != nil {
		types = append(types, "menu")
		n.kind = kindMenu
	}
	if nd.Set != nil {
		types = append(types, "set")
		n.kind = kindSet
	}
	if nd.Queue != nil {
		types = append(types, "queue")
		n.kind = kindQueue
	}
	if nd.Hangup != nil {
		types = append(types, "hangup")
		n.kind = kindHangup
	}
	switch len(types) {
	case 0:
		c.errorf(nd.Pos, "%s does nothing; want one of play, menu, set, queue or hangup", what)
	case 1:
	default:
		c.errorf(nd.Pos, "%s is %s at once; a node does one thing (chain nodes with next)", what, strings.Join(types, " and "))
	}
	if nd.Topic != nil && nd.Queue == nil {
		c.errorf(nd.Topic.Pos, "%s: topic belongs to a queue node", what)
	}
	if nd.Next != nil {
		switch {
		case nd.Menu != nil:
			c.errorf(nd.Next.Pos, "%s: a menu has no next; its options say where to go", what)
		case nd.Hangup != nil:
			c.errorf(nd.Next.Pos, "%s: a hangup ends the flow; it has no next", what)
		default:
			n.next = c.ref(*nd.Next, what+": next")
		}
	}
	if nd.Play != nil {
		n.prompts = c.prompts(nd.Play, what+": play")
	}
	if nd.Set != nil {
		n.lang = c.setLanguage(nd.Set, what)
	}
	if nd.Queue != nil {
		n.queue = nd.Queue.Value
		switch {
		case !validName(n.queue):
			c.errorf(nd.Queue.Pos, "%s: queue name %q: want 1 to %d letters, digits, '-' or '_'", what, n.queue, maxNameLen)
		case c.chk != nil && !c.chk.HasQueue(n.queue):
			c.errorf(nd.Queue.Pos, "%s: queue %q does not exist", what, n.queue)
		}
		if nd.Topic != nil {
			n.topic = nd.Topic.Value
			if msg := checkTopic(n.topic); msg != "" {
				c.errorf(nd.Topic.Pos, "%s: topic %q: %s", what, n.topic, msg)
			}
		}
	}
	if nd.Hangup != nil {
		n.cause = nd.Hangup.Value
		if !slices.Contains(hangupCauses, n.cause) {
			c.errorf(nd.Hangup.Pos, "%s: hangup cause %q: want one of %s", what, n.cause, strings.Join(hangupCauses, ", "))
		}
	}
	if nd.Menu != nil {
		n.prompts, n.menu = c.menu(i, nd.Menu, label, what)
	}
	c.nodes[i] = n
}

func (c *compiler) setLanguage(s *Set, what string) call.Language {
	if s.Language == nil {
		c.errorf(s.Pos, "%s: set: want {language: <code>}", what)
		return ""
	}
	lang := call.Language(s.Language.Value)
	if !slices.Contains(c.langs, lang) && len(c.langs) > 0 {
		c.errorf(s.Language.Pos, "%s: set: language %q is not one of the flow's languages (%s)", what, lang, joinLangs(c.langs))
	}
	return lang
}

func (c *compiler) menu(self int, m *Menu, label, what string) ([]string, *menu) {
	out := &menu{
		timeout:   DefaultTimeout,
		retries:   DefaultRetries,
		options:   make(map[call.Digit]int, len(m.Options)),
		invalid:   self,
		noInput:   self,
		exhausted: end,
	}
	var prompts []string
	if m.Prompt == nil {
		c.errorf(m.Pos, "%s: menu: missing prompt", what)
	} else {
		prompts = c.prompts(m.Prompt, what+": menu: prompt")
	}
	if len(m.Options) == 0 {
		c.errorf(m.Pos, "%s: menu: no options; a menu needs at least one", what)
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
		out.options[d] = c.action(o.Action, label+"/"+o.Key.Value, fmt.Sprintf("%s: option %q", what, o.Key.Value))
	}
	if m.Timeout != nil {
		d, err := time.ParseDuration(m.Timeout.Value)
		switch {
		case err != nil:
			c.errorf(m.Timeout.Pos, "%s: timeout %q: want a duration such as 4s", what, m.Timeout.Value)
		case d <= 0 || d > maxTimeout:
			c.errorf(m.Timeout.Pos, "%s: timeout %s: want more than 0 and at most %s", what, m.Timeout.Value, maxTimeout)
		default:
			out.timeout = d
		}
	}
	if m.Retries != nil {
		n, err := strconv.Atoi(m.Retries.Value)
		switch {
		case err != nil:
			c.errorf(m.Retries.Pos, "%s: retries %q: want a whole number", what, m.Retries.Value)
		case n < 0 || n > maxRetries:
			c.errorf(m.Retries.Pos, "%s: retries %d: want 0 to %d", what, n, maxRetries)
		default:
			out.retries = n
		}
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
	return prompts, out
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

func (c *compiler) prompts(ps *Prompts, what string) []string {
	if len(ps.Names) == 0 {
		c.errorf(ps.Pos, "%s: want at least one prompt", what)
		return nil
	}
	out := make([]string, 0, len(ps.Names))
	for _, s := range ps.Names {
		out = append(out, s.Value)
		if !validName(s.Value) {
			c.errorf(s.Pos, "%s: prompt name %q: want 1 to %d letters, digits, '-' or '_'", what, s.Value, maxNameLen)
			continue
		}
		if c.chk == nil {
			continue
		}
		var missing []call.Language
		for _, l := range c.langs {
			if !c.chk.HasPrompt(l, s.Value) {
				missing = append(missing, l)
			}
		}
		if len(missing) > 0 {
			c.errorf(s.Pos, "%s: prompt %q does not exist in %s", what, s.Value, joinLangs(missing))
		}
	}
	return out
}

// checkLoops reports cycles of play and set nodes: such a flow would run
// forever without ever waiting for the caller.
func (c *compiler) checkLoops() {
	passive := func(i int) bool {
		return i != end && (c.nodes[i].kind == kindPlay || c.nodes[i].kind == kindSet)
	}
	const (
		unseen = iota
		walking
		done
	)
	state := make([]uint8, len(c.nodes))
	for i := range c.nodes {
		var walk []int
		j := i
		for passive(j) && state[j] == unseen {
			state[j] = walking
			walk = append(walk, j)
			j = c.nodes[j].next
		}
		if passive(j) && state[j] == walking {
			loop := walk[slices.Index(walk, j):]
			names := make([]string, 0, len(loop)+1)
			for _, k := range loop {
				names = append(names, c.nodes[k].label)
			}
			names = append(names, c.nodes[j].label)
			c.errorf(c.pos[j], "nodes %s loop without waiting for the caller; put a menu or a queue in the loop", strings.Join(names, " -> "))
		}
		for _, k := range walk {
			state[k] = done
		}
	}
}

// unreachable warns about named nodes no path from start leads to.
func (c *compiler) unreachable(start int) []Problem {
	seen := make([]bool, len(c.nodes))
	queue := []int{start}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		if i == end || seen[i] {
			continue
		}
		seen[i] = true
		n := c.nodes[i]
		queue = append(queue, n.next)
		if m := n.menu; m != nil {
			for _, t := range m.options {
				queue = append(queue, t)
			}
			queue = append(queue, m.invalid, m.noInput, m.exhausted)
		}
	}
	var w problems
	for i, n := range c.nodes {
		if !seen[i] && n.name != "" {
			w.add(c.pos[i], fmt.Sprintf("node %q is never reached from start", n.name))
		}
	}
	return w.sorted()
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
