package hours

import (
	"fmt"
	"testing"
	"time"
)

// easterGolden is Easter Sunday 2000-2040 as published in church calendars,
// plus the years in which Gauss's original formula needs its exceptions
// (1954, 1981, 2049, 2076) and the extremes 22 March (1818, 2285) and
// 25 April (1943, 2038).
var easterGolden = map[int]string{
	2000: "04-23", 2001: "04-15", 2002: "03-31", 2003: "04-20", 2004: "04-11",
	2005: "03-27", 2006: "04-16", 2007: "04-08", 2008: "03-23", 2009: "04-12",
	2010: "04-04", 2011: "04-24", 2012: "04-08", 2013: "03-31", 2014: "04-20",
	2015: "04-05", 2016: "03-27", 2017: "04-16", 2018: "04-01", 2019: "04-21",
	2020: "04-12", 2021: "04-04", 2022: "04-17", 2023: "04-09", 2024: "03-31",
	2025: "04-20", 2026: "04-05", 2027: "03-28", 2028: "04-16", 2029: "04-01",
	2030: "04-21", 2031: "04-13", 2032: "03-28", 2033: "04-17", 2034: "04-09",
	2035: "03-25", 2036: "04-13", 2037: "04-05", 2038: "04-25", 2039: "04-10",
	2040: "04-01",
	1954: "04-18", 1981: "04-19", 2049: "04-18", 2076: "04-19",
	1818: "03-22", 2285: "03-22", 1943: "04-25",
}

func TestEasterGolden(t *testing.T) {
	for year, want := range easterGolden {
		t.Run(fmt.Sprint(year), func(t *testing.T) {
			e := Easter(year)
			if got := fmt.Sprintf("%02d-%02d", int(e.Month), e.Day); got != want {
				t.Errorf("Easter(%d) = %s, want %s", year, got, want)
			}
			if e.Weekday() != time.Sunday {
				t.Errorf("Easter(%d) = %s is a %s", year, e, e.Weekday())
			}
		})
	}
}

// easterOudin is Oudin's 1940 algorithm, as in the Explanatory Supplement to
// the Astronomical Almanac; independent of Meeus's formulation in Easter.
func easterOudin(y int) Date {
	c := y / 100
	g := y % 19
	k := (c - 17) / 25
	i := (c - c/4 - (c-k)/3 + 19*g + 15) % 30
	i -= (i / 28) * (1 - (i/28)*(29/(i+1))*((21-g)/11))
	j := (y + y/4 + i + 2 - c + c/4) % 7
	l := i - j
	m := 3 + (l+40)/44
	d := l + 28 - 31*(m/4)
	return Date{y, time.Month(m), d}
}

// easterKnuth is Knuth's Algorithm E (TAOCP 1.3.2, exercise 14), the
// Lilius/Clavius computus with golden number, epact and solar and lunar
// corrections spelled out.
func easterKnuth(y int) Date {
	g := y%19 + 1
	c := y/100 + 1
	x := 3*c/4 - 12
	z := (8*c+5)/25 - 5
	d := 5*y/4 - x - 10
	e := (11*g + 20 + z - x) % 30
	if e < 0 {
		e += 30
	}
	if (e == 25 && g > 11) || e == 24 {
		e++
	}
	n := 44 - e
	if n < 21 {
		n += 30
	}
	n = n + 7 - (d+n)%7
	if n > 31 {
		return Date{y, time.April, n - 31}
	}
	return Date{y, time.March, n}
}

func TestEasterThreeAlgorithmsAgree(t *testing.T) {
	for y := 1583; y <= 4099; y++ {
		got, oudin, knuth := Easter(y), easterOudin(y), easterKnuth(y)
		if got != oudin || got != knuth {
			t.Errorf("year %d: Easter = %s, Oudin = %s, Knuth = %s", y, got, oudin, knuth)
		}
	}
}

func TestKoningsdag(t *testing.T) {
	tests := []struct {
		year int
		want Date
	}{
		{2014, Date{2014, time.April, 26}}, // 27th a Sunday: the first Koningsdag
		{2024, Date{2024, time.April, 27}},
		{2025, Date{2025, time.April, 26}},
		{2026, Date{2026, time.April, 27}},
		{2031, Date{2031, time.April, 26}},
		{2036, Date{2036, time.April, 26}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.year), func(t *testing.T) {
			got := find(t, Holidays(tt.year), Koningsdag)
			if got != tt.want {
				t.Errorf("koningsdag %d = %s, want %s", tt.year, got, tt.want)
			}
			if got.Weekday() == time.Sunday {
				t.Errorf("koningsdag %d falls on a Sunday", tt.year)
			}
		})
	}
}

func find(t *testing.T, list []HolidayDate, h Holiday) Date {
	t.Helper()
	for _, hd := range list {
		if hd.Holiday == h {
			return hd.Date
		}
	}
	t.Fatalf("%s missing from %v", h, list)
	return Date{}
}

func TestHolidays2026And2027(t *testing.T) {
	want := map[int]string{
		2026: "nieuwjaarsdag 2026-01-01, goede-vrijdag 2026-04-03, eerste-paasdag 2026-04-05, " +
			"tweede-paasdag 2026-04-06, koningsdag 2026-04-27, bevrijdingsdag 2026-05-05, " +
			"hemelvaartsdag 2026-05-14, eerste-pinksterdag 2026-05-24, tweede-pinksterdag 2026-05-25, " +
			"eerste-kerstdag 2026-12-25, tweede-kerstdag 2026-12-26",
		2027: "nieuwjaarsdag 2027-01-01, goede-vrijdag 2027-03-26, eerste-paasdag 2027-03-28, " +
			"tweede-paasdag 2027-03-29, koningsdag 2027-04-27, bevrijdingsdag 2027-05-05, " +
			"hemelvaartsdag 2027-05-06, eerste-pinksterdag 2027-05-16, tweede-pinksterdag 2027-05-17, " +
			"eerste-kerstdag 2027-12-25, tweede-kerstdag 2027-12-26",
		// Hemelvaartsdag on Bevrijdingsdag: both are listed.
		2016: "nieuwjaarsdag 2016-01-01, goede-vrijdag 2016-03-25, eerste-paasdag 2016-03-27, " +
			"tweede-paasdag 2016-03-28, koningsdag 2016-04-27, bevrijdingsdag 2016-05-05, " +
			"hemelvaartsdag 2016-05-05, eerste-pinksterdag 2016-05-15, tweede-pinksterdag 2016-05-16, " +
			"eerste-kerstdag 2016-12-25, tweede-kerstdag 2016-12-26",
	}
	for year, want := range want {
		t.Run(fmt.Sprint(year), func(t *testing.T) {
			got := ""
			for i, hd := range Holidays(year) {
				if i > 0 {
					got += ", "
				}
				got += string(hd.Holiday) + " " + hd.Date.String()
			}
			if got != want {
				t.Errorf("Holidays(%d)\n got %s\nwant %s", year, got, want)
			}
		})
	}
}

// TestHolidaysOnMatchesList checks the allocation-free lookup Open uses
// against the list tools print, for every day of many years.
func TestHolidaysOnMatchesList(t *testing.T) {
	for year := 1990; year <= 2110; year++ {
		want := map[Date]holidaySet{}
		for _, hd := range Holidays(year) {
			want[hd.Date] |= bitOf(hd.Holiday)
		}
		for d := (Date{year, time.January, 1}); d.Year == year; d = d.AddDays(1) {
			if got := holidaysOn(d); got != want[d] {
				t.Fatalf("holidaysOn(%s) = %b, want %b", d, got, want[d])
			}
		}
	}
}

func TestHolidayBits(t *testing.T) {
	for i, h := range holidayOrder {
		if got, want := bitOf(h), holidaySet(1)<<i; got != want {
			t.Errorf("bitOf(%s) = %b, want %b", h, got, want)
		}
	}
	if got, want := holidaySet(setTweedeKerstdag), holidaySet(1)<<(len(holidayOrder)-1); got != want {
		t.Errorf("setTweedeKerstdag = %b, want %b", got, want)
	}
}

// TestDateArithmetic checks the zone-free date arithmetic against package time.
func TestDateArithmetic(t *testing.T) {
	start := time.Date(1600, time.January, 1, 12, 0, 0, 0, time.UTC)
	d := Date{1600, time.January, 1}
	for i := 0; i < 200000; i += 7 {
		tt := start.AddDate(0, 0, i)
		want := DateOf(tt)
		if got := d.AddDays(i); got != want {
			t.Fatalf("AddDays(%d) = %s, want %s", i, got, want)
		}
		if got := want.Weekday(); got != tt.Weekday() {
			t.Fatalf("%s.Weekday() = %s, want %s", want, got, tt.Weekday())
		}
	}
	if got, want := (Date{1970, time.January, 1}).serial(), 0; got != want {
		t.Errorf("serial(1970-01-01) = %d, want %d", got, want)
	}
	if got, want := (Date{1969, time.December, 31}).AddDays(-365), (Date{1968, time.December, 31}); got != want {
		t.Errorf("AddDays before 1970 = %s, want %s", got, want)
	}
}
