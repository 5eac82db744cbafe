package hours

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	// The zone database is embedded so a schedule means the same on every
	// machine, including minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"

	"go.yaml.in/yaml/v3"
)

// Config is an opening-hours schedule as written in YAML. The zero value is
// not a valid schedule: TimeZone is required. See the package doc for the
// meaning of each field.
type Config struct {
	// TimeZone is the IANA zone in which all hours are wall-clock times.
	TimeZone string `yaml:"timezone" json:"timezone"`
	// Weekly maps a weekday or a range of them ("mon-fri") to its ranges
	// ("08:00-12:30"); a day not listed is closed.
	Weekly map[string]StringList `yaml:"weekly,omitempty" json:"weekly,omitempty"`
	// Holidays lists the holidays on which the schedule closes all day,
	// by the names HolidayNames returns.
	Holidays StringList `yaml:"holidays,omitempty" json:"holidays,omitempty"`
	// EarlyClose maps a day of every year ("12-24") to the time its hours
	// end at the latest ("16:00").
	EarlyClose map[string]string `yaml:"early_close,omitempty" json:"early_close,omitempty"`
	// ClosedDates lists dates ("2026-06-12") closed all day.
	ClosedDates StringList `yaml:"closed_dates,omitempty" json:"closed_dates,omitempty"`
	// SpecialDates maps a date to the ranges that replace its usual hours,
	// holidays and early closing included; an empty list closes the date.
	SpecialDates map[string]StringList `yaml:"special_dates,omitempty" json:"special_dates,omitempty"`
}

// StringList is a list of strings that YAML may also give as one string, so
// that `mon-fri: "08:00-18:00"` and `holidays: nl` read naturally.
type StringList []string

// UnmarshalYAML accepts a scalar as a list of one, and null (a key
// without a value) as an empty list.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		*l = nil
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// maxSource bounds what Parse reads; a schedule is a few hundred bytes.
const maxSource = 1 << 20

// Parse decodes a Config from YAML, refusing unknown keys (typos must not
// silently leave a schedule open on a holiday). It checks only the shape;
// New checks the values.
func Parse(src []byte) (cfg Config, err error) {
	if len(src) > maxSource {
		return Config{}, fmt.Errorf("parse hours: %d bytes; at most %d", len(src), maxSource)
	}
	// The decoder is third-party code fed with untrusted bytes; whatever it
	// does, Parse must return an error rather than crash the server.
	defer func() {
		if r := recover(); r != nil {
			cfg, err = Config{}, fmt.Errorf("parse hours: YAML decoder failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, errors.New("parse hours: empty document")
		}
		return Config{}, fmt.Errorf("parse hours: %w", err)
	}
	return cfg, nil
}

// Validate reports every problem in c as Problems, or nil.
func (c Config) Validate() error {
	_, err := New(c)
	return err
}

// weekdayKeys are the weekday names of Config.Weekly, indexed by time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

const (
	minutesPerDay = 24 * 60
	// maxRanges bounds the ranges of one day; a real day has one to three,
	// and the bound keeps Status's scan cheap for any config.
	maxRanges = 24
)

// New validates cfg and compiles it into a Schedule. On failure the error is
// Problems listing everything wrong, in field order.
func New(cfg Config) (*Schedule, error) {
	var ps problems
	s := &Schedule{
		early:   map[monthDay]int{},
		closed:  map[Date]struct{}{},
		special: map[Date][]span{},
	}
	s.loc = loadZone(&ps, cfg.TimeZone)
	compileWeekly(&ps, s, cfg.Weekly)
	compileHolidays(&ps, s, cfg.Holidays)
	for _, k := range sortedKeys(cfg.EarlyClose) {
		p := Path{key("early_close"), key(k)}
		md, ok := parseMonthDay(k)
		if !ok {
			ps.add(p, true, fmt.Sprintf("bad day %q (want MM-DD, such as 12-24)", k))
		}
		m, err := parseClock(cfg.EarlyClose[k], true)
		if err != nil {
			ps.add(p, false, fmt.Sprintf("%q: %v", cfg.EarlyClose[k], err))
			continue
		}
		s.early[md] = m
	}
	for i, v := range cfg.ClosedDates {
		d, ok := parseDate(v)
		if !ok {
			ps.add(Path{key("closed_dates"), index(i)}, false, fmt.Sprintf("bad date %q (want YYYY-MM-DD)", v))
			continue
		}
		s.closed[d] = struct{}{}
	}
	for _, k := range sortedKeys(cfg.SpecialDates) {
		p := Path{key("special_dates"), key(k)}
		d, ok := parseDate(k)
		if !ok {
			ps.add(p, true, fmt.Sprintf("bad date %q (want YYYY-MM-DD)", k))
		} else if _, closed := s.closed[d]; closed {
			ps.add(p, true, fmt.Sprintf("%s is also in closed_dates; a date is either closed or has special hours", k))
		}
		s.special[d] = compileRanges(&ps, p, cfg.SpecialDates[k])
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return s, nil
}

func loadZone(ps *problems, name string) *time.Location {
	p := Path{key("timezone")}
	switch name {
	case "":
		ps.add(p, false, "missing; name an IANA time zone such as Europe/Amsterdam")
		return nil
	case "Local":
		ps.add(p, false, `"Local" depends on the machine; name an IANA time zone such as Europe/Amsterdam`)
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		ps.add(p, false, fmt.Sprintf("unknown time zone %q (want an IANA name such as Europe/Amsterdam)", name))
		return nil
	}
	return loc
}

func compileWeekly(ps *problems, s *Schedule, weekly map[string]StringList) {
	keys := sortedKeys(weekly)
	// Order keys by their first weekday so problems read in week order.
	slices.SortStableFunc(keys, func(a, b string) int {
		da, _ := ParseWeekdays(a)
		db, _ := ParseWeekdays(b)
		return firstDay(da) - firstDay(db)
	})
	var setBy [7]string
	for _, k := range keys {
		p := Path{key("weekly"), key(k)}
		days, ok := ParseWeekdays(k)
		if !ok {
			ps.add(p, true, fmt.Sprintf("unknown weekday %q (want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)", k))
			continue
		}
		spans := compileRanges(ps, p, weekly[k])
		for wd := range 7 {
			if days&(1<<wd) == 0 {
				continue
			}
			if setBy[wd] != "" {
				ps.add(p, true, fmt.Sprintf("%s is also set by %q", weekdayKeys[wd], setBy[wd]))
				continue
			}
			setBy[wd] = k
			s.weekly[wd] = spans
		}
	}
}

// ParseWeekdays parses a weekday ("tue") or a range of them ("mon-fri",
// "sat-sun"; a range may wrap past Sunday) into a bit set by time.Weekday
// (bit 0 Sunday). Flows use the same day names for their time conditions.
func ParseWeekdays(k string) (uint8, bool) {
	from, to, isRange := strings.Cut(k, "-")
	a := slices.Index(weekdayKeys[:], from)
	b := a
	if isRange {
		b = slices.Index(weekdayKeys[:], to)
	}
	if a < 0 || b < 0 {
		return 0, false
	}
	var set uint8
	for d := a; ; d = (d + 1) % 7 {
		set |= 1 << d
		if d == b {
			return set, true
		}
	}
}

// firstDay returns the first day of set counting from Monday, or 7.
func firstDay(set uint8) int {
	for i := range 7 {
		if set&(1<<((i+1)%7)) != 0 {
			return i
		}
	}
	return 7
}

func compileHolidays(ps *problems, s *Schedule, names StringList) {
	var every, lustrum bool
	for i, name := range names {
		p := Path{key("holidays"), index(i)}
		switch name {
		case HolidaysNL:
			for _, h := range holidayOrder {
				if h != GoedeVrijdag {
					s.holidays |= bitOf(h)
				}
			}
			every = true
		case BevrijdingsdagLustrum:
			lustrum = true
		default:
			b := bitOf(Holiday(name))
			if b == 0 {
				ps.add(p, false, fmt.Sprintf("unknown holiday %q (want one of %s)", name, strings.Join(HolidayNames(), ", ")))
				continue
			}
			s.holidays |= b
			every = every || b == setBevrijdingsdag
		}
		if every && lustrum {
			ps.add(p, false, fmt.Sprintf("%s contradicts bevrijdingsdag every year (listed directly or through %q)", BevrijdingsdagLustrum, HolidaysNL))
			every, lustrum = true, false
		}
	}
	if lustrum {
		s.holidays |= setBevrijdingsdag
		s.lustrum = true
	}
}

// compileRanges parses "HH:MM-HH:MM" ranges, checks that they do not
// overlap, and returns them sorted with touching ranges merged.
func compileRanges(ps *problems, p Path, ranges StringList) []span {
	if len(ranges) > maxRanges {
		ps.add(p, false, fmt.Sprintf("%d ranges; at most %d a day", len(ranges), maxRanges))
		return nil
	}
	type parsed struct {
		span
		i int
	}
	var list []parsed
	for i, r := range ranges {
		sp, err := parseRange(r)
		if err != nil {
			ps.add(append(p, index(i)), false, fmt.Sprintf("%q: %v", r, err))
			continue
		}
		list = append(list, parsed{sp, i})
	}
	slices.SortStableFunc(list, func(a, b parsed) int { return a.start - b.start })
	var out []span
	last := -1 // index in list of the range that reaches furthest so far
	for j, r := range list {
		if last >= 0 && r.start < list[last].end {
			a, b := min(r.i, list[last].i), max(r.i, list[last].i)
			ps.add(append(p, index(b)), false, fmt.Sprintf("%q overlaps %q", ranges[b], ranges[a]))
			if r.end > list[last].end {
				last = j
			}
			continue
		}
		last = j
		if n := len(out); n > 0 && out[n-1].end == r.start {
			out[n-1].end = r.end
			continue
		}
		out = append(out, r.span)
	}
	return out
}

// span is an opening range [start, end) in minutes after local midnight.
type span struct{ start, end int }

func parseRange(r string) (span, error) {
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		return span{}, errors.New("want HH:MM-HH:MM")
	}
	start, err := parseClock(strings.TrimSpace(a), false)
	if err != nil {
		return span{}, fmt.Errorf("start: %w", err)
	}
	end, err := parseClock(strings.TrimSpace(b), true)
	if err != nil {
		return span{}, fmt.Errorf("end: %w", err)
	}
	if end <= start {
		return span{}, errors.New("end before start (a range cannot cross midnight; split it over two days)")
	}
	return span{start, end}, nil
}

// parseClock parses a wall-clock time "H:MM" or "HH:MM" into minutes after
// midnight. 24:00 is allowed only where it ends something.
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, fmt.Errorf("bad time %q (want HH:MM)", s)
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	switch {
	case mm > 59:
		return 0, fmt.Errorf("bad time %q: minutes past 59", s)
	case hh == 24 && mm == 0 && end:
		return minutesPerDay, nil
	case hh > 23:
		if end {
			return 0, fmt.Errorf("bad time %q: past 24:00", s)
		}
		return 0, fmt.Errorf("bad time %q: hour past 23 (24:00 may only end a range)", s)
	}
	return hh*60 + mm, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// monthDay is a day that recurs every year, such as 24 December.
type monthDay struct {
	month time.Month
	day   int
}

func parseMonthDay(s string) (monthDay, bool) {
	if len(s) != 5 || s[2] != '-' || !digits(s[:2]) || !digits(s[3:]) {
		return monthDay{}, false
	}
	m, _ := strconv.Atoi(s[:2])
	d, _ := strconv.Atoi(s[3:])
	// 2000 is a leap year, so 02-29 is accepted; it applies in leap years only.
	if m < 1 || m > 12 || d < 1 || d > daysIn(2000, time.Month(m)) {
		return monthDay{}, false
	}
	return monthDay{time.Month(m), d}, true
}

func parseDate(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s[:4]) || !digits(s[5:7]) || !digits(s[8:]) {
		return Date{}, false
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:])
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
		return Date{}, false
	}
	return Date{y, time.Month(m), d}, true
}

func daysIn(y int, m time.Month) int {
	if m == time.December {
		return 31
	}
	return Date{y, m + 1, 1}.AddDays(-1).Day
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
