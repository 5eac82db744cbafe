package routing

// skillSet is a bitset over the skills the router's queues require. Skills
// are interned once in New so the eligibility test on the hot matching path
// is a few word operations and allocates nothing.
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

// set returns the bitset of the known names; names no queue requires are
// irrelevant to eligibility and left out.
func (x skillIndex) set(names []string) skillSet {
	var s skillSet
	for _, n := range names {
		i, ok := x[n]
		if !ok {
			continue
		}
		for len(s) <= i/64 {
			s = append(s, 0)
		}
		s[i/64] |= 1 << (i % 64)
	}
	return s
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
