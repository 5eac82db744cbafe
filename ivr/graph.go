package ivr

import (
	"fmt"
	"strings"
)

// Graph formats p's nodes and the ways between them as a diagram, in
// format "mermaid" (a flowchart for Markdown viewers) or "dot" (Graphviz).
// The output is deterministic: named nodes in file order, then inline nodes
// (labelled with their path, such as hoofdmenu/1), and edges in the order
// the flow lists them. Defaults that
// lead back to the same menu or input (invalid, no_input) are left out.
func Graph(p *Program, format string) ([]byte, error) {
	if p == nil || len(p.nodes) == 0 {
		return nil, fmt.Errorf("graph: not a compiled program (use Compile or Load)")
	}
	var w graphWriter
	switch format {
	case "mermaid":
		w = mermaid{}
	case "dot":
		w = dot{}
	default:
		return nil, fmt.Errorf("graph: format %q: want mermaid or dot", format)
	}
	var b strings.Builder
	w.begin(&b, p.name)
	usesEnd := p.start == end
	for i, n := range p.nodes {
		w.node(&b, nodeID(i), n.label, summary(p, &n))
		for _, e := range n.edges {
			usesEnd = usesEnd || e.to == end
		}
	}
	if usesEnd {
		w.terminal(&b, nodeID(end), "end")
	}
	w.terminal(&b, "flow_start", "start")
	w.edge(&b, "flow_start", nodeID(p.start), "")
	for i, n := range p.nodes {
		for _, e := range n.edges {
			if e.to == i && (e.label == "invalid" || e.label == "no_input") {
				continue
			}
			w.edge(&b, nodeID(i), nodeID(e.to), e.label)
		}
	}
	w.finish(&b)
	return []byte(b.String()), nil
}

func nodeID(i int) string {
	if i == end {
		return "flow_end" // "end" is a keyword in mermaid
	}
	return fmt.Sprintf("n%d", i)
}

// summary says in a few words what a node does.
func summary(p *Program, n *node) string {
	switch n.kind {
	case kindPlay:
		s := "play " + playSummary(n.play)
		if n.bargeIn {
			s += " (barge-in)"
		}
		return s
	case kindMenu:
		return "menu " + playSummary(n.play)
	case kindInput:
		return fmt.Sprintf("input %s (%d-%d digits)", n.input.varName, n.input.min, n.input.max)
	case kindSet:
		var parts []string
		if n.lang != "" {
			parts = append(parts, "language="+string(n.lang))
		}
		for _, a := range n.sets {
			parts = append(parts, a.name+"="+a.value)
		}
		return "set " + strings.Join(parts, " ")
	case kindBranch:
		var parts []string
		for j, bc := range n.branch.cases {
			var conds []string
			for _, cd := range bc.conds {
				conds = append(conds, cd.text)
			}
			parts = append(parts, fmt.Sprintf("case %d: %s", j+1, strings.Join(conds, " and ")))
		}
		return "branch\n" + strings.Join(parts, "\n")
	case kindGoto:
		return "goto"
	case kindHours:
		return "hours " + n.hours.name
	case kindQueue, kindCallback:
		s := kindNames[n.kind] + " " + n.queue.queue
		if n.queue.topic != "" {
			s += " (" + n.queue.topic + ")"
		}
		if n.queue.care {
			s += " care"
		}
		return s
	case kindTransfer:
		return "transfer " + n.target
	case kindHangup:
		return "hangup " + n.cause
	case kindIncident:
		return "incident " + n.slot
	}
	return ""
}

func playSummary(pl playList) string {
	if pl.items == nil {
		return strings.Join(pl.names, ", ")
	}
	parts := make([]string, 0, len(pl.items))
	for _, it := range pl.items {
		switch {
		case it.say == 0:
			parts = append(parts, it.name)
		case it.varName != "":
			parts = append(parts, "say "+sayKindNames[it.say-1]+" "+it.varName)
		default:
			parts = append(parts, "say "+sayKindNames[it.say-1]+" "+it.value)
		}
	}
	return strings.Join(parts, ", ")
}

type graphWriter interface {
	begin(b *strings.Builder, name string)
	node(b *strings.Builder, id, label, summary string)
	terminal(b *strings.Builder, id, label string)
	edge(b *strings.Builder, from, to, label string)
	finish(b *strings.Builder)
}

type mermaid struct{}

// mermaidText escapes text for a quoted mermaid label.
func mermaidText(s string) string {
	s = strings.ReplaceAll(s, `"`, "#quot;")
	return strings.ReplaceAll(s, "\n", "<br/>")
}

func (mermaid) begin(b *strings.Builder, name string) {
	fmt.Fprintf(b, "---\ntitle: \"flow %s\"\n---\nflowchart TD\n", mermaidText(name))
}

func (mermaid) node(b *strings.Builder, id, label, summary string) {
	fmt.Fprintf(b, "  %s[\"%s\"]\n", id, mermaidText(label+"\n"+summary))
}

func (mermaid) terminal(b *strings.Builder, id, label string) {
	fmt.Fprintf(b, "  %s([%s])\n", id, label)
}

func (mermaid) edge(b *strings.Builder, from, to, label string) {
	if label == "" {
		fmt.Fprintf(b, "  %s --> %s\n", from, to)
		return
	}
	fmt.Fprintf(b, "  %s -->|\"%s\"| %s\n", from, mermaidText(label), to)
}

func (mermaid) finish(*strings.Builder) {}

type dot struct{}

// dotText quotes text for a Graphviz string.
func dotText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}

func (dot) begin(b *strings.Builder, name string) {
	fmt.Fprintf(b, "digraph %s {\n  node [shape=box];\n", dotText("flow "+name))
}

func (dot) node(b *strings.Builder, id, label, summary string) {
	fmt.Fprintf(b, "  %s [label=%s];\n", id, dotText(label+"\n"+summary))
}

func (dot) terminal(b *strings.Builder, id, label string) {
	fmt.Fprintf(b, "  %s [shape=oval, label=%s];\n", id, dotText(label))
}

func (dot) edge(b *strings.Builder, from, to, label string) {
	if label == "" {
		fmt.Fprintf(b, "  %s -> %s;\n", from, to)
		return
	}
	fmt.Fprintf(b, "  %s -> %s [label=%s];\n", from, to, dotText(label))
}

func (dot) finish(b *strings.Builder) { b.WriteString("}\n") }
