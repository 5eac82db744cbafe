package hours

import (
	"fmt"
	"time"
)

// Date is a day in the calendar, without a time or a zone: holidays and
// closed dates are days in the schedule's zone, not instants.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String formats d as YYYY-MM-DD, the form config files use.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Weekday returns the day of the week of d in the proleptic Gregorian calendar.
func (d Date) Weekday() time.Weekday {
	// 1970-01-01 (serial 0) was a Thursday.
	return time.Weekday((d.serial()%7 + 7 + 4) % 7)
}

// AddDays returns the date n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date { return fromSerial(d.serial() + n) }

// serial counts days since 1970-01-01 without going through time.Time, so
// holiday arithmetic is cheap and does not depend on any zone. The algorithm
// is Howard Hinnant's days_from_civil.
func (d Date) serial() int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// fromSerial is the inverse of serial (Hinnant's civil_from_days).
func fromSerial(z int) Date {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return Date{y, time.Month(m), d}
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Holiday names a Dutch public holiday, in the spelling config files use.
type Holiday string

// The Dutch public holidays this package computes. The Algemene termijnenwet
// names all of them except Goede Vrijdag, which many employers give off anyway,
// so a schedule lists the ones on which its office closes.
const (
	Nieuwjaarsdag     Holiday = "nieuwjaarsdag"      // 1 January
	GoedeVrijdag      Holiday = "goede-vrijdag"      // Friday before Easter
	EerstePaasdag     Holiday = "eerste-paasdag"     // Easter Sunday
	TweedePaasdag     Holiday = "tweede-paasdag"     // Easter Monday
	Koningsdag        Holiday = "koningsdag"         // 27 April, or 26 April when the 27th is a Sunday
	Bevrijdingsdag    Holiday = "bevrijdingsdag"     // 5 May
	Hemelvaartsdag    Holiday = "hemelvaartsdag"     // Easter + 39 days
	EerstePinksterdag Holiday = "eerste-pinksterdag" // Easter + 49 days
	TweedePinksterdag Holiday = "tweede-pinksterdag" // Easter + 50 days
	EersteKerstdag    Holiday = "eerste-kerstdag"    // 25 December
	TweedeKerstdag    Holiday = "tweede-kerstdag"    // 26 December
)

// Names usable in Config.Holidays besides the holidays themselves.
const (
	// HolidaysNL selects every holiday of the Algemene termijnenwet: all of
	// the above except Goede Vrijdag, with Bevrijdingsdag every year.
	HolidaysNL = "nl"
	// BevrijdingsdagLustrum selects 5 May only in years divisible by five,
	// the rule many collective agreements follow.
	BevrijdingsdagLustrum = "bevrijdingsdag-lustrum"
)

// holidayOrder lists the holidays in calendar order; a holiday's bit in a
// holidaySet is its index here. It is a compiled-once lookup table.
var holidayOrder = [...]Holiday{
	Nieuwjaarsdag, GoedeVrijdag, EerstePaasdag, TweedePaasdag, Koningsdag, Bevrijdingsdag,
	Hemelvaartsdag, EerstePinksterdag, TweedePinksterdag, EersteKerstdag, TweedeKerstdag,
}

// holidaySet is a set of holidays as a bit mask, so checking a date against
// a schedule's holidays allocates nothing.
type holidaySet uint16

// Bits of a holidaySet, in the order of holidayOrder.
const (
	setNieuwjaarsdag holidaySet = 1 << iota
	setGoedeVrijdag
	setEerstePaasdag
	setTweedePaasdag
	setKoningsdag
	setBevrijdingsdag
	setHemelvaartsdag
	setEerstePinksterdag
	setTweedePinksterdag
	setEersteKerstdag
	setTweedeKerstdag
)

func bitOf(h Holiday) holidaySet {
	for i, o := range holidayOrder {
		if o == h {
			return 1 << i
		}
	}
	return 0
}

// first returns the earliest holiday in s in calendar order.
func (s holidaySet) first() Holiday {
	for i, h := range holidayOrder {
		if s&(1<<i) != 0 {
			return h
		}
	}
	return ""
}

// KnownHolidays returns every holiday this package computes, in calendar order.
func KnownHolidays() []Holiday { return append([]Holiday(nil), holidayOrder[:]...) }

// HolidayNames returns every name Config.Holidays accepts: the holidays,
// HolidaysNL and BevrijdingsdagLustrum. A JSON Schema can list them as an enum.
func HolidayNames() []string {
	out := make([]string, 0, len(holidayOrder)+2)
	for _, h := range holidayOrder {
		out = append(out, string(h))
	}
	return append(out, HolidaysNL, BevrijdingsdagLustrum)
}

// Easter returns the date of Easter Sunday in the Gregorian calendar, using
// the anonymous Gregorian algorithm (Meeus/Jones/Butcher). It is exact for
// every Gregorian year; for years before 1583 it extrapolates the Gregorian
// rules, which no church used then.
func Easter(year int) Date {
	a := mod(year, 19)
	b := floorDiv(year, 100)
	c := mod(year, 100)
	d := floorDiv(b, 4)
	e := mod(b, 4)
	f := floorDiv(b+8, 25)
	g := floorDiv(b-f+1, 3)
	h := mod(19*a+b-d-g+15, 30)
	i := c / 4
	k := c % 4
	l := mod(32+2*e+2*i-h-k, 7)
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

func mod(a, b int) int { return a - floorDiv(a, b)*b }

// HolidayDate is one holiday in one year.
type HolidayDate struct {
	Holiday Holiday
	Date    Date
}

// Holidays returns the dates of every known holiday in year, in calendar
// order, for tools that show a year's closing days. Koningsdag follows the
// rule in force since 2014 for every year.
func Holidays(year int) []HolidayDate {
	e := Easter(year)
	kd := Date{year, time.April, 27}
	if kd.Weekday() == time.Sunday {
		kd.Day = 26
	}
	out := []HolidayDate{
		{Nieuwjaarsdag, Date{year, time.January, 1}},
		{GoedeVrijdag, e.AddDays(-2)},
		{EerstePaasdag, e},
		{TweedePaasdag, e.AddDays(1)},
		{Koningsdag, kd},
		{Bevrijdingsdag, Date{year, time.May, 5}},
		{Hemelvaartsdag, e.AddDays(39)},
		{EerstePinksterdag, e.AddDays(49)},
		{TweedePinksterdag, e.AddDays(50)},
		{EersteKerstdag, Date{year, time.December, 25}},
		{TweedeKerstdag, Date{year, time.December, 26}},
	}
	// Hemelvaartsdag can fall on 5 May (2005, 2016); keep calendar order then.
	if out[6].Date.serial() < out[5].Date.serial() {
		out[5], out[6] = out[6], out[5]
	}
	return out
}

// holidaysOn returns the holidays that fall on d. Two can coincide:
// Hemelvaartsdag on Bevrijdingsdag. It allocates nothing: the schedule calls
// it on every Open.
func holidaysOn(d Date) holidaySet {
	var s holidaySet
	switch {
	case d.Month == time.January && d.Day == 1:
		s |= setNieuwjaarsdag
	case d.Month == time.April && (d.Day == 27 || d.Day == 26):
		kd := Date{d.Year, time.April, 27}
		if (kd.Weekday() == time.Sunday) == (d.Day == 26) {
			s |= setKoningsdag
		}
	case d.Month == time.May && d.Day == 5:
		s |= setBevrijdingsdag
	case d.Month == time.December && d.Day == 25:
		s |= setEersteKerstdag
	case d.Month == time.December && d.Day == 26:
		s |= setTweedeKerstdag
	}
	// Easter-based holidays fall between 20 March (Goede Vrijdag) and
	// 14 June (Tweede Pinksterdag).
	if d.Month < time.March || d.Month > time.June {
		return s
	}
	switch d.serial() - Easter(d.Year).serial() {
	case -2:
		s |= setGoedeVrijdag
	case 0:
		s |= setEerstePaasdag
	case 1:
		s |= setTweedePaasdag
	case 39:
		s |= setHemelvaartsdag
	case 49:
		s |= setEerstePinksterdag
	case 50:
		s |= setTweedePinksterdag
	}
	return s
}
