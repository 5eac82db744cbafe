package routing

// skillSet is a bitset over the skills the router knows. Skills are interned
// once in New so the eligibility test on the hot matching path is a few word
// operations and allocates nothing.
type skillSet []uint64

// skillIndex assigns each skill name a bit.
type skillIndex map[string]int

// intern returns the bit for name, assigning a new one if needed.
func (x skillIndex) intern(name string) int {
	if i, ok := x[name]; ok {
		return i
	}
	i := len(x)
	x[name] = i
	return i
}

// set returns the bitset of the known names; unknown names are left out.
func (x skillIndex) set(names []string) skillSet {
	var s skillSet
	for _, n := range names {
		if i, ok := x[n]; ok {
			s = s.with(i)
		}
	}
	return s
}

// with returns s with bit i set; s may be modified.
func (s skillSet) with(i int) skillSet {
	for len(s) <= i/64 {
		s = append(s, 0)
	}
	s[i/64] |= 1 << (i % 64)
	return s
}

// union returns a new set with the skills of both.
func (s skillSet) union(t skillSet) skillSet {
	out := make(skillSet, max(len(s), len(t)))
	copy(out, s)
	for i, w := range t {
		out[i] |= w
	}
	return out
}

// covers reports whether s has every skill in need.
func (s skillSet) covers(need skillSet) bool {
	for i, w := range need {
		var have uint64
		if i < len(s) {
			have = s[i]
		}
		if w&^have != 0 {
			return false
		}
	}
	return true
}

// group is one way to qualify for a contact: every skill in need at
// proficiency min or better.
type group struct {
	need skillSet
	min  int // 1-5
}

// admits reports whether an agent with the given skill levels qualifies.
func (g *group) admits(levels *[MaxLevel]skillSet) bool {
	return levels[g.min-1].covers(g.need)
}
