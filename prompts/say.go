package prompts

import (
	"errors"
	"fmt"
	"strconv"

	"kcc/call"
)

// MaxSay is the largest value a sayer speaks. Numbers are built from the
// recorded words for 0-99, the hundreds and the thousands, so 9999 is the
// largest the built-in set can say; the IVR has no use for more (a wait of
// more than 9999 minutes, or a queue of ten thousand, is not announced).
const MaxSay = 9999

// ErrOutOfRange is returned (wrapped) for a value a sayer cannot speak, so a
// caller can clamp it, e.g. say "meer dan 60 minuten" instead.
var ErrOutOfRange = errors.New("out of range")

// ErrNoSayer is returned (wrapped) for a language without a sayer grammar,
// so a caller can fall back to another language (see Catalog.SayerLanguage).
var ErrNoSayer = errors.New("no sayer for language")

// Approx qualifies a number of minutes in a wait announcement.
type Approx int

// The qualifiers of SayMinutes. Exactly reads the number alone.
const (
	Exactly  Approx = iota // "2 minuten", "2 minutes"
	About                  // "ongeveer 2 minuten", "about 2 minutes"
	MoreThan               // "meer dan 10 minuten", "more than 10 minutes"
	LessThan               // "minder dan 1 minuut", "less than one minute"
)

// String returns the qualifier as used in golden files and logs.
func (a Approx) String() string {
	switch a {
	case Exactly:
		return "exactly"
	case About:
		return "about"
	case MoreThan:
		return "more-than"
	case LessThan:
		return "less-than"
	}
	return "Approx(" + strconv.Itoa(int(a)) + ")"
}

// Carrier words of the sayers; see doc.go for the whole naming scheme.
const (
	promptAnd       = "say-and"
	promptMinute    = "say-minute"
	promptMinutes   = "say-minutes"
	promptAbout     = "say-about"
	promptMoreThan  = "say-more-than"
	promptLessThan  = "say-less-than"
	promptYouAre    = "say-you-are"
	promptInLine    = "say-in-line"
	cardinalPrefix  = "num-"
	ordinalPrefix   = "ord-"
	sayerLanguageNL = call.Language("nl")
	sayerLanguageEN = call.Language("en")
)

// grammar is what differs between the sayer languages. Both build numbers
// the same way, from thousands, hundreds and a 0-99 word, because both have
// a recorded word for every value 0-99 (Dutch writes 21 as one word,
// "eenentwintig", that cannot be put together from "een" and "twintig").
type grammar struct {
	// and is spoken between hundreds or thousands and the rest: English
	// "one hundred and five", while Dutch says "honderd vijf".
	and string
}

// grammarOf returns lang's grammar. A switch rather than a map keeps the
// package free of mutable state.
func grammarOf(lang call.Language) (grammar, bool) {
	switch lang {
	case sayerLanguageNL:
		return grammar{}, true
	case sayerLanguageEN:
		return grammar{and: promptAnd}, true
	}
	return grammar{}, false
}

// SayerLanguages returns the languages the sayers speak, sorted.
func SayerLanguages() []call.Language {
	return []call.Language{sayerLanguageEN, sayerLanguageNL}
}

// SayerLanguage returns the first language of lang's fallback chain that the
// sayers speak, so a caller in a language without a grammar hears numbers in
// its fallback language rather than nothing.
func (c *Catalog) SayerLanguage(lang call.Language) (call.Language, bool) {
	for _, l := range c.Chain(lang) {
		if _, ok := grammarOf(l); ok {
			return l, true
		}
	}
	return "", false
}

// numberNames and ordinalNames hold the prompt name of every recorded value,
// indexed by value (0-99, then the hundreds and thousands at their own
// index), so the sayers allocate only the slice they return.
var (
	numberNames  = recordedNames(cardinalPrefix)
	ordinalNames = recordedNames(ordinalPrefix)
)

func recordedNames(prefix string) map[int]string {
	m := make(map[int]string, 118)
	for v := range 100 {
		m[v] = prefix + strconv.Itoa(v)
	}
	for d := 1; d <= 9; d++ {
		m[d*100] = prefix + strconv.Itoa(d*100)
		m[d*1000] = prefix + strconv.Itoa(d*1000)
	}
	return m
}

func check(what string, lang call.Language, n, lo int) (grammar, error) {
	g, ok := grammarOf(lang)
	if !ok {
		return g, fmt.Errorf("say %s in %q: %w (have nl, en)", what, lang, ErrNoSayer)
	}
	if n < lo || n > MaxSay {
		return g, fmt.Errorf("say %s %d: %w (want %d-%d)", what, n, ErrOutOfRange, lo, MaxSay)
	}
	return g, nil
}

// SayNumber returns the prompts that read n (0-9999) as a cardinal in lang:
// nl 21 is [num-21] "eenentwintig", nl 2021 is [num-2000 num-21]
// "tweeduizend eenentwintig", en 105 is [num-100 say-and num-5] "one hundred
// and five". Hundred and thousand are never preceded by one in Dutch
// ("honderd", "duizend").
func SayNumber(lang call.Language, n int) ([]string, error) {
	g, err := check("number", lang, n, 0)
	if err != nil {
		return nil, err
	}
	return g.number(make([]string, 0, 4), n, false), nil
}

// SayOrdinal returns the prompts that read n (1-9999) as an ordinal in lang:
// nl 3 is "derde", 21 "eenentwintigste", 100 "honderdste", 101 "honderd
// eerste"; en 21 is "twenty-first". Only the last word is an ordinal.
func SayOrdinal(lang call.Language, n int) ([]string, error) {
	g, err := check("ordinal", lang, n, 1)
	if err != nil {
		return nil, err
	}
	return g.number(make([]string, 0, 4), n, true), nil
}

// SayMinutes returns the prompts of a wait of n (0-9999) minutes, with the
// qualifier a: nl "ongeveer 5 minuten", "meer dan 10 minuten", "1 minuut";
// en "about 5 minutes". One is spoken as the stressed numeral ("één minuut",
// "one minute"), never as an article, and the singular is used for exactly
// 1 only ("0 minuten").
func SayMinutes(lang call.Language, n int, a Approx) ([]string, error) {
	g, err := check("minutes", lang, n, 0)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, 6)
	switch a {
	case Exactly:
	case About:
		out = append(out, promptAbout)
	case MoreThan:
		out = append(out, promptMoreThan)
	case LessThan:
		out = append(out, promptLessThan)
	default:
		return nil, fmt.Errorf("say minutes: unknown qualifier %v", a)
	}
	out = g.number(out, n, false)
	if n == 1 {
		return append(out, promptMinute), nil
	}
	return append(out, promptMinutes), nil
}

// SayPosition returns the prompts of a caller's place in the queue, n
// (1-9999): nl "u bent de derde in de wachtrij", en "you are third in line".
func SayPosition(lang call.Language, n int) ([]string, error) {
	g, err := check("position", lang, n, 1)
	if err != nil {
		return nil, err
	}
	out := append(make([]string, 0, 6), promptYouAre)
	out = g.number(out, n, true)
	return append(out, promptInLine), nil
}

// number appends the words of n (0-9999) to out; with ordinal set, the last
// word is the ordinal one ("tweeduizend" "eenentwintigste").
func (g grammar) number(out []string, n int, ordinal bool) []string {
	if n == 0 {
		return append(out, numberNames[0])
	}
	parts := [3]int{n / 1000 * 1000, n / 100 % 10 * 100, n % 100}
	last := 2
	for parts[last] == 0 {
		last--
	}
	for i, v := range parts {
		if v == 0 {
			continue
		}
		if i == 2 && g.and != "" && n >= 100 {
			out = append(out, g.and)
		}
		if ordinal && i == last {
			out = append(out, ordinalNames[v])
		} else {
			out = append(out, numberNames[v])
		}
	}
	return out
}
