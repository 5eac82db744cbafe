package ivr

import (
	"slices"
	"strings"
)

// waits reports whether node kind k takes the caller's time (plays, reads
// keys or hands the call to routing), so a loop through it does not spin.
// Callback and transfer nodes do not count: without a trunk or a number
// they return at once.
func waits(k kind) bool {
	switch k {
	case kindPlay, kindMenu, kindInput, kindQueue, kindHangup:
		return true
	}
	return false
}

// instant reports whether the flow may take edge e out of node n without
// the caller having waited: every edge of a node that does not wait, and a
// queue's unavailable, taken when routing refuses the caller at once.
func instant(n *node, e edge) bool {
	return !waits(n.kind) || n.kind == kindQueue && e.label == "unavailable"
}

// checkLoops reports cycles of nodes that neither play, read keys nor queue:
// such a flow would run forever without the caller hearing anything.
func (c *compiler) checkLoops() {
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]uint8, len(c.nodes))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, e := range c.nodes[i].edges {
			j := e.to
			if j == end || !instant(&c.nodes[i], e) || c.nodes[j].kind == 0 {
				continue
			}
			switch state[j] {
			case unseen:
				visit(j)
			case onStack:
				loop := stack[slices.Index(stack, j):]
				names := make([]string, 0, len(loop)+1)
				for _, k := range loop {
					names = append(names, c.nodes[k].label)
				}
				names = append(names, c.nodes[j].label)
				c.errorf(c.pos[j], "nodes %s loop without waiting for the caller; put a play, menu or input in the loop", strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range c.nodes {
		if state[i] == unseen && c.nodes[i].kind != 0 && slices.ContainsFunc(c.nodes[i].edges, func(e edge) bool { return instant(&c.nodes[i], e) }) {
			visit(i)
		}
	}
}

// analyze adds the warnings of a flow that compiles: nodes never reached,
// nodes that can never be left, and variables that may be read before any
// node gives them a value.
func (c *compiler) analyze(start int) {
	seen := make([]bool, len(c.nodes))
	queue := []int{start}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		if i == end || seen[i] {
			continue
		}
		seen[i] = true
		for _, e := range c.nodes[i].edges {
			queue = append(queue, e.to)
		}
	}
	for i, n := range c.nodes {
		if !seen[i] && n.name != "" {
			c.warnf(c.pos[i], "node %q is never reached from start; remove it or lead to it", n.name)
		}
	}
	c.neverLeft(seen)
	c.readBeforeSet(start, seen)
}

// neverLeft warns about reachable nodes from which no path ends the flow or
// reaches a queue, callback or transfer: a caller there can only hang up.
func (c *compiler) neverLeft(seen []bool) {
	preds := make([][]int, len(c.nodes))
	leaves := make([]bool, len(c.nodes))
	var work []int
	for i, n := range c.nodes {
		// A callback or transfer may end the flow too (accepted, connected).
		exit := n.kind == kindQueue || n.kind == kindHangup || n.kind == kindCallback || n.kind == kindTransfer || len(n.edges) == 0
		for _, e := range n.edges {
			if e.to == end {
				exit = true
			} else {
				preds[e.to] = append(preds[e.to], i)
			}
		}
		if exit {
			leaves[i] = true
			work = append(work, i)
		}
	}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		for _, p := range preds[i] {
			if !leaves[p] {
				leaves[p] = true
				work = append(work, p)
			}
		}
	}
	for i, n := range c.nodes {
		if seen[i] && !leaves[i] && n.name != "" {
			c.warnf(c.pos[i], "node %q can never be left: no path from it reaches a queue, a hangup or the end of the flow", n.name)
		}
	}
}

// readBeforeSet warns where a variable may be read on a path from start
// that passes no node giving it a value: it then reads as empty. It is a
// must-be-set data-flow analysis over the node graph, with one bit per
// variable.
func (c *compiler) readBeforeSet(start int, seen []bool) {
	if len(c.reads) == 0 || start == end {
		return
	}
	var names []string
	for _, r := range c.reads {
		if !slices.Contains(names, r.name) {
			names = append(names, r.name)
		}
	}
	words := (len(names) + 63) / 64
	bit := func(name string) (int, uint64) {
		i := slices.Index(names, name)
		return i / 64, 1 << (i % 64)
	}
	always := make([]uint64, words)
	for _, d := range c.declared {
		if slices.Contains(names, d.name) {
			w, b := bit(d.name)
			always[w] |= b
		}
	}
	for _, builtin := range []string{VarLanguage, VarCaller} {
		if slices.Contains(names, builtin) {
			w, b := bit(builtin)
			always[w] |= b
		}
	}
	writes := make([][]uint64, len(c.nodes))
	for i, n := range c.nodes {
		var set []string
		for _, a := range n.sets {
			set = append(set, a.name)
		}
		if n.input != nil && n.input.varName != "" {
			set = append(set, n.input.varName)
		}
		for _, s := range set {
			if slices.Contains(names, s) {
				if writes[i] == nil {
					writes[i] = make([]uint64, words)
				}
				w, b := bit(s)
				writes[i][w] |= b
			}
		}
	}
	// in[i] is the set of variables surely set on entering node i; it starts
	// full (the top of the lattice) for every node but start.
	in := make([][]uint64, len(c.nodes))
	for i := range in {
		in[i] = make([]uint64, words)
		if i != start {
			for w := range in[i] {
				in[i][w] = ^uint64(0)
			}
		}
	}
	copy(in[start], always)
	work := []int{start}
	queued := make([]bool, len(c.nodes))
	queued[start] = true
	out := make([]uint64, words)
	for len(work) > 0 {
		i := work[0]
		work = work[1:]
		queued[i] = false
		for _, e := range c.nodes[i].edges {
			if e.to == end {
				continue
			}
			copy(out, in[i])
			if e.assigns && writes[i] != nil {
				for w := range out {
					out[w] |= writes[i][w]
				}
			}
			changed := false
			for w := range out {
				if v := in[e.to][w] & out[w]; v != in[e.to][w] {
					in[e.to][w] = v
					changed = true
				}
			}
			if changed && !queued[e.to] {
				queued[e.to] = true
				work = append(work, e.to)
			}
		}
	}
	warned := make(map[string]bool)
	for _, r := range c.reads {
		if !seen[r.node] || warned[r.name] {
			continue
		}
		w, b := bit(r.name)
		if in[r.node][w]&b == 0 {
			warned[r.name] = true
			c.warnf(r.pos, "variable %q may be read before it is set (it then reads as empty); set it on every path, or give it a value under vars", r.name)
		}
	}
}

// target names node i for traces and graphs.
func (p *Program) target(i int) string {
	if i == end {
		return "(end)"
	}
	return p.nodes[i].label
}
