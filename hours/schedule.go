package hours

import (
	"time"
)

// Schedule answers whether a contact centre is open at a given instant. It is
// immutable once built by New, so any number of goroutines may use it, and
// it holds no clock: callers pass the time they ask about.
type Schedule struct {
	loc      *time.Location
	weekly   [7][]span // by time.Weekday
	holidays holidaySet
	lustrum  bool // Bevrijdingsdag only in years divisible by five
	early    map[monthDay]int
	closed   map[Date]struct{}
	special  map[Date][]span
}

// Location returns the schedule's time zone, in which its hours are wall-clock
// times. Tools use it to read a time given without a zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Reason says why a Schedule is open or closed at some instant.
type Reason int

// The reasons, from the most specific rule to the weekly hours.
const (
	// ReasonHours means open within the weekly hours.
	ReasonHours Reason = iota
	// ReasonOutsideHours means closed outside the weekly hours.
	ReasonOutsideHours
	// ReasonEarlyClose means closed after an early_close time, within what
	// would otherwise be opening hours.
	ReasonEarlyClose
	// ReasonHoliday means closed all day for a public holiday.
	ReasonHoliday
	// ReasonClosedDate means closed all day for a date in closed_dates.
	ReasonClosedDate
	// ReasonSpecialHours means open or closed by the hours special_dates
	// gives for this date.
	ReasonSpecialHours
)

// String returns the reason in words, as tools print it.
func (r Reason) String() string {
	switch r {
	case ReasonHours:
		return "opening hours"
	case ReasonOutsideHours:
		return "outside hours"
	case ReasonEarlyClose:
		return "early closing"
	case ReasonHoliday:
		return "holiday"
	case ReasonClosedDate:
		return "closed date"
	case ReasonSpecialHours:
		return "special hours"
	}
	return "unknown reason"
}

// Status is the state of a Schedule at one instant and when it changes.
type Status struct {
	Open   bool
	Reason Reason
	// Holiday names the holiday when Reason is ReasonHoliday.
	Holiday Holiday
	// Next is the first instant after the one asked about at which Open
	// changes, in the schedule's zone; zero when it does not change within
	// two years.
	Next time.Time
}

// String describes st for logs and tools, e.g.
// "closed (holiday koningsdag) until 2026-04-28 08:00 CEST".
func (st Status) String() string {
	s := "closed"
	if st.Open {
		s = "open"
	}
	s += " (" + st.Reason.String()
	if st.Reason == ReasonHoliday {
		s += " " + string(st.Holiday)
	}
	s += ")"
	if !st.Next.IsZero() {
		s += " until " + st.Next.Format("2006-01-02 15:04 MST")
	}
	return s
}

// plan is what the schedule does on one date.
type plan struct {
	spans   []span
	cut     int    // early closing minute; minutesPerDay when none
	kind    Reason // ReasonHours, ReasonHoliday, ReasonClosedDate or ReasonSpecialHours
	holiday Holiday
}

// plan applies the rules for d from the most specific down: a closed date,
// special hours, a holiday, then the weekly hours with early closing.
func (s *Schedule) plan(d Date) plan {
	if _, ok := s.closed[d]; ok {
		return plan{kind: ReasonClosedDate}
	}
	if sp, ok := s.special[d]; ok {
		return plan{spans: sp, cut: minutesPerDay, kind: ReasonSpecialHours}
	}
	if s.holidays != 0 {
		h := holidaysOn(d) & s.holidays
		if s.lustrum && d.Year%5 != 0 {
			h &^= setBevrijdingsdag
		}
		if h != 0 {
			return plan{kind: ReasonHoliday, holiday: h.first()}
		}
	}
	cut := minutesPerDay
	if m, ok := s.early[monthDay{d.Month, d.Day}]; ok {
		cut = m
	}
	return plan{spans: s.weekly[d.Weekday()], cut: cut, kind: ReasonHours}
}

// covers reports whether wall-clock minute w is within the plan's hours.
func (p plan) covers(w int, cut int) bool {
	for _, sp := range p.spans {
		if sp.start <= w && w < min(sp.end, cut) {
			return true
		}
	}
	return false
}

// openAcross reports whether one range of the plan is open both just before and
// at wall-clock minute b. During the second pass of a wall-clock hour that a
// DST change repeats, the plan is open exactly when that holds for the end
// of the repeated hour: each range opens and closes once, at the first pass.
func (p plan) openAcross(b int) bool {
	for _, sp := range p.spans {
		end := min(sp.end, p.cut)
		if sp.start < b && b <= end {
			return true
		}
	}
	return false
}

// Open reports whether the schedule is open at t. It allocates nothing and
// is safe for concurrent use.
func (s *Schedule) Open(t time.Time) bool {
	open, _, _ := s.at(t)
	return open
}

// at evaluates the schedule at t, returning also the plan of t's local date
// and t's wall-clock minute, from which Status explains the answer.
func (s *Schedule) at(t time.Time) (bool, plan, int) {
	lt := t.In(s.loc)
	y, m, d := lt.Date()
	p := s.plan(Date{y, m, d})
	hh, mm, _ := lt.Clock()
	w := hh*60 + mm
	if b, ok := repeatEnd(lt); ok {
		return p.openAcross(b), p, w
	}
	return p.covers(w, p.cut), p, w
}

// repeatEnd reports whether lt falls in the second pass of wall-clock time
// that a backward offset change (the end of DST) repeats on lt's date, and if
// so returns the wall-clock minute at which the repetition ends (03:00 in
// Europe/Amsterdam). A forward change needs no such care: comparing wall-clock
// times already opens a range that starts in the skipped hour at the jump.
func repeatEnd(lt time.Time) (int, bool) {
	start, _ := lt.ZoneBounds()
	if start.IsZero() {
		return 0, false
	}
	since := lt.Unix() - start.Unix()
	if since >= 24*60*60 {
		return 0, false // no offset change today: the common case
	}
	_, cur := lt.Zone()
	_, prev := start.Add(-time.Second).Zone()
	drop := int64(prev - cur)
	if drop <= 0 || since >= drop {
		return 0, false
	}
	end := start.Add(time.Duration(drop) * time.Second)
	ey, em, ed := end.Date()
	y, m, d := lt.Date()
	hh, mm, _ := end.Clock()
	switch {
	case ey == y && em == m && ed == d:
		return hh*60 + mm, true
	case hh == 0 && mm == 0 && Date{ey, em, ed} == (Date{y, m, d}).AddDays(1):
		return minutesPerDay, true
	}
	// The repetition crosses a date boundary, which no zone in use does;
	// fall back to plain wall-clock comparison.
	return 0, false
}

// horizon bounds how far Status looks for the next change: far enough for any
// real schedule, and it keeps Status's cost bounded for one that never changes.
const horizon = 2*366 + 1

// Status reports whether the schedule is open at t, why, and when that next
// changes. It is meant for tools, logs and flow decisions, not per-packet
// paths: finding the next change may scan up to two years of days.
func (s *Schedule) Status(t time.Time) Status {
	open, p, w := s.at(t)
	st := Status{Open: open, Reason: p.kind, Holiday: p.holiday}
	if p.kind == ReasonHours && !open {
		st.Reason = ReasonOutsideHours
		if _, ok := repeatEnd(t.In(s.loc)); !ok && p.covers(w, minutesPerDay) {
			st.Reason = ReasonEarlyClose
		}
	}
	st.Next = s.next(t, open)
	return st
}

// next returns the first instant after t at which Open is no longer open.
// Open only changes where a range of some date starts or ends, so it tries
// those instants in order and asks Open itself, which keeps the two
// consistent on DST days by construction.
func (s *Schedule) next(t time.Time, open bool) time.Time {
	lt := t.In(s.loc)
	y, m, d := lt.Date()
	day := Date{y, m, d}
	for range horizon {
		p := s.plan(day)
		for _, sp := range p.spans {
			end := min(sp.end, p.cut)
			if sp.start >= end {
				continue
			}
			for _, w := range [2]int{sp.start, end} {
				c := s.instant(day, w)
				if c.After(t) && s.Open(c) != open {
					return c
				}
			}
		}
		day = day.AddDays(1)
	}
	return time.Time{}
}

// instant returns the instant at which the wall clock in the schedule's zone
// reaches minute w of day: for a wall time that happens twice, the first
// time; for one that is skipped, the instant of the jump. (time.Date leaves
// both choices unspecified.) It assumes at most one offset change within a
// day either side, which holds for every zone in use.
func (s *Schedule) instant(day Date, w int) time.Time {
	local := int64(day.serial())*24*60*60 + int64(w)*60
	offset := func(u int64) int64 {
		_, off := time.Unix(u, 0).In(s.loc).Zone()
		return int64(off)
	}
	before, after := offset(local-24*60*60), offset(local+24*60*60)
	ua, ub := local-before, local-after
	va, vb := offset(ua) == before, offset(ub) == after
	switch {
	case va && vb:
		return time.Unix(min(ua, ub), 0).In(s.loc)
	case va:
		return time.Unix(ua, 0).In(s.loc)
	case vb:
		return time.Unix(ub, 0).In(s.loc)
	}
	if before < after {
		// Skipped: ub is just before the jump, in the old offset.
		_, end := time.Unix(ub, 0).In(s.loc).ZoneBounds()
		if !end.IsZero() {
			return end
		}
	}
	return time.Date(day.Year, day.Month, day.Day, 0, w, 0, 0, s.loc)
}
