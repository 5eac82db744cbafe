package ivr

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"kcc/hours"
)

const (
	// maxSource bounds what Parse reads; a real flow is a few kilobytes.
	maxSource = 1 << 20
	// maxInlineDepth bounds inline nodes inside inline nodes; deeper nesting
	// is unreadable and only serves to exhaust the stack.
	maxInlineDepth = 16
	// maxNodes bounds the nodes of one flow, named and inline; a flow for
	// callers to find their way through has tens.
	maxNodes = 1000
)

// reservedKeys are top-level keys that admins may expect from other systems
// or older sketches of the format; they get a hint where the feature lives
// rather than a bare "unknown key".
var reservedKeys = map[string]string{
	"hours":    "opening hours are declared under schedules: and checked by an hours node ({hours: <schedule>, open: ..., closed: ...})",
	"holidays": "holidays belong to a schedule under schedules: (holidays: [nl])",
	"incident": "incident messages are played by an incident node ({incident: <slot>, next: ...})",
}

// Parse decodes the flow file src; name is used in positions (usually the
// file name). It checks the YAML syntax, the shape of every value and that
// every key is known, and reports all problems at once.
func Parse(name string, src []byte) (*Flow, error) {
	if len(src) > maxSource {
		return nil, Problem{Pos: Pos{File: name}, Msg: fmt.Sprintf("file is %d bytes; a flow file may have at most %d", len(src), maxSource)}
	}
	root, err := decodeYAML(name, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: name}
	f := p.flow(root)
	if err := p.probs.err(); err != nil {
		return nil, err
	}
	f.File = name
	f.Version = version(src)
	return f, nil
}

// version is the content hash that identifies one version of a flow: calls
// record it, and reload compares it.
func version(src []byte) string {
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:6])
}

// decodeYAML returns the top node of the single YAML document in src.
func decodeYAML(name string, src []byte) (top *yaml.Node, err error) {
	// The decoder is third-party code fed with untrusted bytes; whatever it
	// does, Parse must return an error rather than crash the server.
	defer func() {
		if r := recover(); r != nil {
			top, err = nil, Problem{Pos: Pos{File: name}, Msg: fmt.Sprintf("YAML decoder failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problem{Pos: Pos{File: name}, Msg: "file is empty; want a flow"}
		}
		return nil, yamlProblem(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlProblem(name, err)
	default:
		return nil, Problem{Pos: Pos{File: name, Line: extra.Line}, Msg: "a second YAML document (---); a flow file holds one flow"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, Problem{Pos: Pos{File: name}, Msg: "file is empty; want a flow"}
	}
	return doc.Content[0], nil
}

// yamlProblem turns the decoder's "yaml: line N: msg" into a positioned
// Problem. The decoder counts lines from 1 for scanner errors but from 0 for
// parser errors (those it words "did not find expected ..." and the like,
// where the line is that of the unclosed construct), and leaves the line out
// when it is the first; this undoes both.
func yamlProblem(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := Pos{File: name, Line: 1}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n >= 0 {
				pos.Line, msg = n, after
				if isParserError(msg) {
					pos.Line++
				}
			}
		}
	}
	return Problem{Pos: pos, Msg: "bad YAML: " + msg}
}

func isParserError(msg string) bool {
	for _, prefix := range []string{"did not find expected", "found undefined tag handle", "found duplicate %", "found incompatible YAML document"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// parser walks the YAML tree into a Flow, collecting problems as it goes so
// one run reports all of them.
type parser struct {
	file  string
	probs problems
	depth int
	nodes int
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Col: n.Column} }

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.probs.add(p.pos(n), fmt.Sprintf(format, args...))
}

// describe names what a YAML node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// is reports whether n is of kind; otherwise it records why not.
func (p *parser) is(n *yaml.Node, kind yaml.Kind, what, want string) bool {
	if n.Kind == kind {
		return true
	}
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "%s: YAML aliases (*%s) are not supported; write the value out", what, n.Value)
		return false
	}
	p.errorf(n, "%s: want %s, got %s", what, want, describe(n))
	return false
}

// fields walks the map n, calling fn for each known key and reporting
// duplicate, reserved and unknown keys.
func (p *parser) fields(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) {
	if !p.is(n, yaml.MappingNode, what, "a map") {
		return
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: a key must be a plain name, got %s", what, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "%s: key %q given twice (first at line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		if known != nil && !slices.Contains(known, k.Value) {
			p.unknown(k, what, known)
			continue
		}
		fn(k.Value, k, v)
	}
}

func (p *parser) unknown(k *yaml.Node, what string, known []string) {
	if feature, ok := reservedKeys[k.Value]; ok && what == "flow" {
		p.errorf(k, "flow: unknown key %q; %s", k.Value, feature)
		return
	}
	msg := fmt.Sprintf("%s: unknown key %q; want one of %s", what, k.Value, strings.Join(known, ", "))
	if s := suggest(k.Value, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	p.errorf(k, "%s", msg)
}

// str reads a scalar that must have a value.
func (p *parser) str(n *yaml.Node, what string) *Str {
	if !p.is(n, yaml.ScalarNode, what, "a value") {
		return nil
	}
	if n.Tag == "!!null" {
		p.errorf(n, "%s: want a value, got nothing", what)
		return nil
	}
	return &Str{Value: n.Value, Pos: p.pos(n)}
}

// strs reads a list of scalars; a single scalar is a list of one.
func (p *parser) strs(n *yaml.Node, what string) []Str {
	if n.Kind == yaml.ScalarNode {
		if s := p.str(n, what); s != nil {
			return []Str{*s}
		}
		return nil
	}
	if !p.is(n, yaml.SequenceNode, what, "a list") {
		return nil
	}
	out := make([]Str, 0, len(n.Content))
	for i, item := range n.Content {
		if s := p.str(item, fmt.Sprintf("%s[%d]", what, i)); s != nil {
			out = append(out, *s)
		}
	}
	return out
}

func (p *parser) flow(n *yaml.Node) *Flow {
	f := &Flow{Pos: p.pos(n)}
	p.fields(n, "flow", keysOf("flow"), func(key string, _, v *yaml.Node) {
		switch key {
		case "flow":
			f.Name = p.str(v, "flow")
		case "numbers":
			f.Numbers = p.strs(v, "numbers")
		case "languages":
			f.Languages = p.strs(v, "languages")
		case "start":
			f.Start = p.str(v, "start")
		case "timezone":
			f.TimeZone = p.str(v, "timezone")
		case "vars":
			f.Vars = p.vars(v, "vars")
		case "schedules":
			p.fields(v, "schedules", nil, func(name string, k, v *yaml.Node) {
				if s := p.schedule(v, fmt.Sprintf("schedule %q", name)); s != nil {
					s.Name, s.Pos = name, p.pos(k)
					f.Schedules = append(f.Schedules, s)
				}
			})
		case "nodes":
			p.fields(v, "nodes", nil, func(name string, k, v *yaml.Node) {
				nd := p.node(v, name, fmt.Sprintf("node %q", name))
				if nd != nil {
					nd.Name, nd.Pos = name, p.pos(k)
					f.Nodes = append(f.Nodes, nd)
				}
			})
		default:
			p.unhandled(v, key)
		}
	})
	return f
}

// unhandled reports a key that is in a key table but that the parser does
// not read: a bug in kcc, not in the flow, caught by the tests.
func (p *parser) unhandled(n *yaml.Node, key string) {
	p.errorf(n, "internal error: key %q is not handled; please report this", key)
}

// vars reads a map of variable names to scalar values.
func (p *parser) vars(n *yaml.Node, what string) []Var {
	var out []Var
	p.fields(n, what, nil, func(name string, k, v *yaml.Node) {
		if s := p.str(v, fmt.Sprintf("%s: %s", what, name)); s != nil {
			out = append(out, Var{Name: Str{Value: name, Pos: p.pos(k)}, Value: *s})
		}
	})
	return out
}

// schedule reads an opening-hours schedule. The keys are checked here, with
// positions, since hours.Parse is strict only for a file of its own; the
// values are decoded by the hours package's own YAML rules and checked by
// hours.New during Compile.
func (p *parser) schedule(n *yaml.Node, what string) *Schedule {
	if !p.is(n, yaml.MappingNode, what, "a map") {
		return nil
	}
	s := &Schedule{Pos: p.pos(n), node: n}
	before := p.probs.count()
	p.fields(n, what, scheduleKeys(), func(string, *yaml.Node, *yaml.Node) {})
	if p.probs.count() > before || !p.noAliases(n, what) {
		return nil // decoding would only repeat the unknown or duplicate keys
	}
	// Each value is decoded into its field on its own, so a value of the
	// wrong shape is reported at its own position.
	cfg := reflect.ValueOf(&s.Config).Elem()
	fields := scheduleFields()
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := cfg.Field(fields[k.Value])
		if err := decodeValue(v, f.Addr().Interface()); err != nil {
			p.errorf(v, "%s: %s: want %s, got %s", what, k.Value, shapeOf(f.Type()), describe(v))
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return s
}

// decodeValue decodes n into out with yaml's own rules, turning a panic of
// the third-party decoder into an error.
func decodeValue(n *yaml.Node, out any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML decoder failed: %v", r)
		}
	}()
	return n.Decode(out)
}

// noAliases reports whether the tree under n is free of YAML aliases, which
// flow files refuse everywhere; otherwise it records where one is.
func (p *parser) noAliases(n *yaml.Node, what string) bool {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "%s: YAML aliases (*%s) are not supported; write the value out", what, n.Value)
		return false
	}
	for _, c := range n.Content {
		if !p.noAliases(c, what) {
			return false
		}
	}
	return true
}

// shapeOf describes what a schedule field takes, for messages.
func shapeOf(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[hours.StringList]():
		return "a value or a list of them"
	case t.Kind() == reflect.Map:
		return "a map"
	}
	return "a value"
}

// node reads a node; label names it like Compile does ("hoofdmenu" or
// "hoofdmenu/1" for an inline node), what in messages.
func (p *parser) node(n *yaml.Node, label, what string) *Node {
	if !p.is(n, yaml.MappingNode, what, "a map") {
		return nil
	}
	if p.nodes++; p.nodes > maxNodes {
		if p.nodes == maxNodes+1 {
			p.errorf(n, "%s: more than %d nodes in one flow; split the flow", what, maxNodes)
		}
		return nil
	}
	nd := &Node{Pos: p.pos(n)}
	p.fields(n, what, keysOf("node"), func(key string, k, v *yaml.Node) {
		switch key {
		case "play":
			nd.Play = p.prompts(k, v, what+": play")
		case "barge_in":
			nd.BargeIn = p.str(v, what+": barge_in")
		case "menu":
			nd.Menu = p.menu(k, v, label, what+": menu")
		case "input":
			nd.Input = p.input(k, v, label, what+": input")
		case "set":
			nd.Set = &Set{Pos: p.pos(k), Vars: p.vars(v, what+": set")}
		case "branch":
			nd.Branch = p.branch(k, v, label, what+": branch")
		case "goto":
			nd.Goto = p.str(v, what+": goto")
		case "hours":
			nd.Hours = &HoursRef{Pos: p.pos(k)}
			if v.Kind == yaml.MappingNode {
				nd.Hours.Inline = p.schedule(v, what+": hours")
			} else {
				nd.Hours.Name = p.str(v, what+": hours")
			}
		case "open":
			nd.Open = p.action(v, label+"/open", what+": open")
		case "closed":
			nd.Closed = p.action(v, label+"/closed", what+": closed")
		case "holiday":
			nd.Holiday = p.action(v, label+"/holiday", what+": holiday")
		case "early_close":
			nd.EarlyClose = p.action(v, label+"/early_close", what+": early_close")
		case "queue":
			nd.Queue = p.str(v, what+": queue")
		case "topic":
			nd.Topic = p.str(v, what+": topic")
		case "priority":
			nd.Priority = p.str(v, what+": priority")
		case "skills":
			nd.Skills = p.strs(v, what+": skills")
		case "care":
			nd.Care = p.str(v, what+": care")
		case "unavailable":
			nd.Unavailable = p.action(v, label+"/unavailable", what+": unavailable")
		case "callback":
			nd.Callback = p.callback(k, v, what+": callback")
		case "transfer":
			nd.Transfer = p.transfer(k, v, what+": transfer")
		case "hangup":
			nd.Hangup = p.str(v, what+": hangup")
		case "incident":
			nd.Incident = p.str(v, what+": incident")
		case "next":
			nd.Next = p.str(v, what+": next")
		default:
			p.unhandled(v, key)
		}
	})
	return nd
}

// prompts reads a prompt list: a prompt name, a say item, or a list of them.
func (p *parser) prompts(k, n *yaml.Node, what string) *Prompts {
	ps := &Prompts{Pos: p.pos(k)}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for i, item := range items {
		w := what
		if n.Kind == yaml.SequenceNode {
			w = fmt.Sprintf("%s[%d]", what, i)
		}
		if item.Kind == yaml.MappingNode {
			if s := p.say(item, w); s != nil {
				ps.Items = append(ps.Items, PromptItem{Say: s})
			}
			continue
		}
		if !p.is(item, yaml.ScalarNode, w, "a prompt name or a say item") {
			continue
		}
		if s := p.str(item, w); s != nil {
			ps.Items = append(ps.Items, PromptItem{Name: *s})
		}
	}
	return ps
}

func (p *parser) say(n *yaml.Node, what string) *Say {
	s := &Say{Pos: p.pos(n)}
	p.fields(n, what, keysOf("say"), func(key string, _, v *yaml.Node) {
		switch key {
		case "say":
			s.Kind = p.str(v, what+": say")
		case "var":
			s.Var = p.str(v, what+": var")
		case "value":
			s.Value = p.str(v, what+": value")
		case "approx":
			s.Approx = p.str(v, what+": approx")
		default:
			p.unhandled(v, key)
		}
	})
	return s
}

func (p *parser) menu(k, n *yaml.Node, label, what string) *Menu {
	m := &Menu{Pos: p.pos(k)}
	p.fields(n, what, keysOf("menu"), func(key string, k, v *yaml.Node) {
		switch key {
		case "prompt":
			m.Prompt = p.prompts(k, v, what+": prompt")
		case "options":
			p.fields(v, what+": options", nil, func(key string, k, v *yaml.Node) {
				if a := p.action(v, label+"/"+key, fmt.Sprintf("%s: option %q", what, key)); a != nil {
					m.Options = append(m.Options, MenuOption{Key: Str{Value: key, Pos: p.pos(k)}, Action: a})
				}
			})
		case "timeout":
			m.Timeout = p.str(v, what+": timeout")
		case "retries":
			m.Retries = p.str(v, what+": retries")
		case "invalid":
			m.Invalid = p.action(v, label+"/invalid", what+": invalid")
		case "no_input":
			m.NoInput = p.action(v, label+"/no_input", what+": no_input")
		case "exhausted":
			m.Exhausted = p.action(v, label+"/exhausted", what+": exhausted")
		default:
			p.unhandled(v, key)
		}
	})
	return m
}

func (p *parser) input(k, n *yaml.Node, label, what string) *Input {
	in := &Input{Pos: p.pos(k)}
	p.fields(n, what, keysOf("input"), func(key string, k, v *yaml.Node) {
		switch key {
		case "prompt":
			in.Prompt = p.prompts(k, v, what+": prompt")
		case "var":
			in.Var = p.str(v, what+": var")
		case "min":
			in.Min = p.str(v, what+": min")
		case "max":
			in.Max = p.str(v, what+": max")
		case "terminator":
			in.Terminator = p.str(v, what+": terminator")
		case "timeout":
			in.Timeout = p.str(v, what+": timeout")
		case "inter_digit":
			in.InterDigit = p.str(v, what+": inter_digit")
		case "pattern":
			in.Pattern = p.str(v, what+": pattern")
		case "retries":
			in.Retries = p.str(v, what+": retries")
		case "invalid":
			in.Invalid = p.action(v, label+"/invalid", what+": invalid")
		case "no_input":
			in.NoInput = p.action(v, label+"/no_input", what+": no_input")
		case "exhausted":
			in.Exhausted = p.action(v, label+"/exhausted", what+": exhausted")
		default:
			p.unhandled(v, key)
		}
	})
	return in
}

func (p *parser) callback(k, n *yaml.Node, what string) *Callback {
	cb := &Callback{Pos: p.pos(k)}
	p.fields(n, what, keysOf("callback"), func(key string, _, v *yaml.Node) {
		switch key {
		case "queue":
			cb.Queue = p.str(v, what+": queue")
		case "topic":
			cb.Topic = p.str(v, what+": topic")
		case "priority":
			cb.Priority = p.str(v, what+": priority")
		case "skills":
			cb.Skills = p.strs(v, what+": skills")
		default:
			p.unhandled(v, key)
		}
	})
	return cb
}

func (p *parser) transfer(k, n *yaml.Node, what string) *Transfer {
	tr := &Transfer{Pos: p.pos(k)}
	p.fields(n, what, keysOf("transfer"), func(key string, _, v *yaml.Node) {
		switch key {
		case "target":
			tr.Target = p.str(v, what+": target")
		default:
			p.unhandled(v, key)
		}
	})
	return tr
}

func (p *parser) branch(k, n *yaml.Node, label, what string) *Branch {
	b := &Branch{Pos: p.pos(k)}
	p.fields(n, what, keysOf("branch"), func(key string, k, v *yaml.Node) {
		switch key {
		case "cases":
			if !p.is(v, yaml.SequenceNode, what+": cases", "a list") {
				return
			}
			for i, item := range v.Content {
				c := p.branchCase(item, fmt.Sprintf("%s/%d", label, i+1), fmt.Sprintf("%s: case %d", what, i+1))
				if c != nil {
					b.Cases = append(b.Cases, c)
				}
			}
		case "default":
			b.Default = p.action(v, label+"/default", what+": default")
		default:
			p.unhandled(v, key)
		}
	})
	return b
}

func (p *parser) branchCase(n *yaml.Node, label, what string) *Case {
	if !p.is(n, yaml.MappingNode, what, "a map") {
		return nil
	}
	c := &Case{Pos: p.pos(n)}
	p.fields(n, what, keysOf("case"), func(key string, _, v *yaml.Node) {
		w := what + ": " + key
		switch key {
		case "var":
			c.Var = p.str(v, w)
		case "equals":
			c.Equals = p.str(v, w)
		case "matches":
			c.Matches = p.str(v, w)
		case "caller":
			c.Caller = p.strs(v, w)
		case "time":
			c.Time = p.str(v, w)
		case "days":
			c.Days = p.strs(v, w)
		case "open":
			c.Open = p.str(v, w)
		case "closed":
			c.Closed = p.str(v, w)
		case "incident":
			c.Incident = p.str(v, w)
		case "queue":
			c.Queue = p.str(v, w)
		case "waiting_at_least":
			c.WaitingAtLeast = p.str(v, w)
		case "waiting_below":
			c.WaitingBelow = p.str(v, w)
		case "available_at_least":
			c.AvailableAtLeast = p.str(v, w)
		case "available_below":
			c.AvailableBelow = p.str(v, w)
		case "next":
			c.Next = p.action(v, label, w)
		default:
			p.unhandled(v, key)
		}
	})
	return c
}

// action reads a node name or an inline node; label is the inline node's.
func (p *parser) action(n *yaml.Node, label, what string) *Action {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			p.errorf(n, "%s: want a node name or an inline node, got nothing", what)
			return nil
		}
		return &Action{Pos: p.pos(n), Ref: n.Value}
	case yaml.MappingNode:
		if p.depth >= maxInlineDepth {
			p.errorf(n, "%s: inline nodes nested more than %d deep; give some of them names", what, maxInlineDepth)
			return nil
		}
		p.depth++
		defer func() { p.depth-- }()
		if nd := p.node(n, label, fmt.Sprintf("inline node %q", label)); nd != nil {
			return &Action{Pos: nd.Pos, Node: nd}
		}
		return nil
	}
	p.is(n, yaml.MappingNode, what, "a node name or an inline node")
	return nil
}

// suggest returns the candidate closest to s when it is close enough to be a
// likely typo: at most one edit per three characters, and never a complete
// rewrite of a short name.
func suggest(s string, candidates []string) string {
	limit := max(1, len(s)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if len(c) > len(s)+limit || len(s) > len(c)+limit {
			continue // too far apart to be a typo; skip the costly distance
		}
		if d := editDistance(s, c); d < bestDist && d < len(s) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance (Levenshtein plus
// swapping two neighbours, the commonest typo), for short names only.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
