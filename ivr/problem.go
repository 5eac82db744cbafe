package ivr

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Pos is a place in a flow file. Line and Col count from 1; zero means the
// place is not known (a YAML syntax error reports only its line).
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats p as "file:line:col", leaving out what is unknown, so editors
// and terminals can jump to it.
func (p Pos) String() string {
	s := p.File
	if s == "" {
		s = "<flow>"
	}
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Problem is one thing wrong (or, as a warning, suspicious) in a flow file.
// Parse and Compile return every Problem they find joined with errors.Join;
// use errors.As to get the first, or unwrap the join to list them all.
type Problem struct {
	Pos Pos
	Msg string
}

// Error formats the problem as "file:line:col: message".
func (p Problem) Error() string { return p.Pos.String() + ": " + p.Msg }

// maxProblems bounds what one Parse or Compile reports: past that, more
// messages help nobody, and a hostile file must not cost unbounded work.
const maxProblems = 100

// problems collects Problems so a whole file is checked before reporting.
type problems struct {
	list    []Problem
	dropped int
}

func (ps *problems) add(pos Pos, msg string) {
	if ps.full() {
		ps.dropped++
		return
	}
	ps.list = append(ps.list, Problem{Pos: pos, Msg: msg})
}

// count returns how many problems were found, shown or not.
func (ps *problems) count() int { return len(ps.list) + ps.dropped }

// full reports whether further problems would be dropped, so callers can
// skip costly work (such as suggestions) for them.
func (ps *problems) full() bool { return len(ps.list) >= maxProblems }

// sorted returns the problems in file order, so output is stable and reads
// top to bottom.
func (ps *problems) sorted() []Problem {
	out := slices.Clone(ps.list)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return out
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sorted := ps.sorted()
	errs := make([]error, 0, len(sorted)+1)
	for _, p := range sorted {
		errs = append(errs, p)
	}
	if ps.dropped > 0 {
		file := sorted[0].Pos.File
		errs = append(errs, Problem{Pos: Pos{File: file}, Msg: fmt.Sprintf("%d more problems not shown", ps.dropped)})
	}
	return errors.Join(errs...)
}
