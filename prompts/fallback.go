package prompts

import (
	"fmt"
	"maps"
	"strings"

	"kcc/call"
)

// Fallback says, per language, which language's prompt plays when a prompt
// is missing in it: with {"en": "nl"} an English caller hears the Dutch
// recording rather than nothing. A language may have one fallback, which may
// have its own, forming a chain; chains must end (no language may lead back
// to itself). The target need not be in the catalogue: the chain then simply
// finds nothing there, so one policy serves any prompt tree.
type Fallback map[call.Language]call.Language

// DefaultFallback returns kcc's chain: English falls back to Dutch, and Dutch,
// the language every prompt of the 14070 line is recorded in first, has no
// fallback. It returns a new map each time, so callers may extend it.
func DefaultFallback() Fallback { return Fallback{"en": "nl"} }

// check refuses invalid language codes and chains that never end, naming the
// loop ("en → nl → en") so an operator can see which entry to remove.
func (f Fallback) check() error {
	for from, to := range f {
		if !languageDir.MatchString(string(from)) {
			return fmt.Errorf("fallback %q → %q: %q is not a language code (want e.g. nl or en)", from, to, from)
		}
		if !languageDir.MatchString(string(to)) {
			return fmt.Errorf("fallback %q → %q: %q is not a language code (want e.g. nl or en)", from, to, to)
		}
	}
	for from := range f {
		path := []string{string(from)}
		seen := map[call.Language]bool{from: true}
		for l, ok := f[from]; ok; l, ok = f[l] {
			path = append(path, string(l))
			if seen[l] {
				return fmt.Errorf("fallback cycle: %s", strings.Join(path, " → "))
			}
			seen[l] = true
		}
	}
	return nil
}

// WithFallback returns a catalogue with the same prompts (shared, not
// copied) that resolves missing prompts along f instead of the chain it had.
// An empty or nil f turns fallback off. f is copied, so changing it later
// does not change the catalogue.
func (c *Catalog) WithFallback(f Fallback) (*Catalog, error) {
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	cc := *c
	cc.fallback = maps.Clone(f)
	if cc.fallback == nil {
		cc.fallback = Fallback{}
	}
	return &cc, nil
}

// Fallback returns a copy of the catalogue's fallback chain (DefaultFallback
// for a catalogue straight from Load).
func (c *Catalog) Fallback() Fallback { return maps.Clone(c.fallback) }

// Chain returns the languages Lookup tries for lang, in order: lang itself
// first, then its fallbacks ([en nl] under DefaultFallback).
func (c *Catalog) Chain(lang call.Language) []call.Language {
	chain := []call.Language{lang}
	for l, ok := c.fallback[lang]; ok; l, ok = c.fallback[l] {
		chain = append(chain, l)
	}
	return chain
}

// Lookup returns the prompt called name in lang or, if lang lacks it, in the
// first language of lang's fallback chain that has it, together with the
// language it was found in, so a caller can log that an English caller heard
// a Dutch prompt. Prompt and Has, in contrast, look in lang only.
func (c *Catalog) Lookup(lang call.Language, name string) (*Prompt, call.Language, bool) {
	// The chain was checked to end, so this loop does too.
	for l, ok := lang, true; ok; l, ok = c.fallback[l] {
		if p, found := c.prompts[l][name]; found {
			return p, l, true
		}
	}
	return nil, "", false
}

// Sentence looks up every name along lang's fallback chain, for playing a
// sayer's output or a play node's list. It fails naming every missing
// prompt, so nothing half a sentence long is ever played.
func (c *Catalog) Sentence(lang call.Language, names []string) ([]*Prompt, error) {
	out := make([]*Prompt, 0, len(names))
	var missing []string
	for _, n := range names {
		p, _, ok := c.Lookup(lang, n)
		if !ok {
			missing = append(missing, n)
			continue
		}
		out = append(out, p)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("prompts %s not found in %s", strings.Join(missing, ", "), joinLanguages(c.Chain(lang)))
	}
	return out, nil
}

func joinLanguages(ls []call.Language) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, " or ")
}
