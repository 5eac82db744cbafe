package hours

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Step is one step of a Path: a map key, or a list index when Index is not -1.
type Step struct {
	Key   string
	Index int
}

func key(k string) Step { return Step{Key: k, Index: -1} }
func index(i int) Step  { return Step{Index: i} }

// Path leads from the top of a Config to the value a Problem is about, such
// as weekly → tue → 1. It is structured rather than a string so that a caller
// holding the YAML node tree (the ivr package) can walk it to a position.
type Path []Step

// String formats p the way the keys appear in YAML: weekly.tue[1],
// special_dates.2026-12-24[0]. Keys that are not plain words are quoted.
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.Index >= 0:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		case plainKey(s.Key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		default:
			b.WriteString("[" + strconv.Quote(s.Key) + "]")
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Problem is one thing wrong in a Config. New and Config.Validate report
// every Problem they find at once, as Problems.
type Problem struct {
	// Path names the offending value.
	Path Path
	// OnKey is set when the map key at the end of Path is itself wrong (an
	// unknown weekday, a bad date), so a position should point at the key
	// rather than at its value.
	OnKey bool
	// Msg says what is wrong, quoting the offending text.
	Msg string
}

// Error formats the problem as "path: message", e.g.
// `weekly.tue[1]: "13:00-12:00": end before start`.
func (p Problem) Error() string {
	if len(p.Path) == 0 {
		return p.Msg
	}
	return p.Path.String() + ": " + p.Msg
}

// Node returns the node of the YAML tree under root that p is about, so the
// caller can report its line and column: the key node when p.OnKey, else the
// value node. When the path cannot be followed to the end (a value given in a
// shape the config allows, such as one string for a list of one), it returns
// the deepest node it reached; it returns nil only when root is nil.
func (p Problem) Node(root *yaml.Node) *yaml.Node {
	n := root
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			break
		}
	}
	for i, s := range p.Path {
		last := i == len(p.Path)-1
		var next *yaml.Node
		switch {
		case s.Index >= 0 && n.Kind == yaml.SequenceNode && s.Index < len(n.Content):
			next = n.Content[s.Index]
		case s.Index < 0 && n.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == s.Key {
					if last && p.OnKey {
						return n.Content[j]
					}
					next = n.Content[j+1]
				}
			}
		}
		if next == nil {
			return n
		}
		for next.Kind == yaml.AliasNode && next.Alias != nil {
			next = next.Alias
		}
		n = next
	}
	return n
}

// Problems is every problem found in one Config, in the order of the config's
// fields. Use errors.As to get it from the error New returns.
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// maxProblems bounds what one validation reports: past that, more messages
// help nobody, and hostile input must not cost unbounded work.
const maxProblems = 100

// problems collects Problems so a whole config is checked before reporting.
type problems struct {
	list    Problems
	dropped int
}

func (ps *problems) add(p Path, onKey bool, msg string) {
	if len(ps.list) >= maxProblems {
		ps.dropped++
		return
	}
	ps.list = append(ps.list, Problem{Path: append(Path(nil), p...), OnKey: onKey, Msg: msg})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	if ps.dropped > 0 {
		ps.list = append(ps.list, Problem{Msg: strconv.Itoa(ps.dropped) + " more problems not shown"})
	}
	return ps.list
}
