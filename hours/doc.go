// Package hours owns opening hours: a weekly schedule in a time zone, Dutch
// public holidays computed per year, early closing on chosen days, and
// explicitly closed or specially opened dates. It answers "is the contact
// centre open at this instant, why, and until when?".
//
// It is pure calendar logic: no I/O, no clock and no logging. Every function
// takes the time it is asked about, so flows, simulators and tests get the
// same answers. Any kcc package may import it; it imports only the standard
// library and go.yaml.in/yaml/v3. It embeds the time zone database
// (time/tzdata), so binaries that import it need no zoneinfo on the host.
//
// # Main types
//
// Config is a schedule as written in YAML; Parse decodes one strictly, New
// validates it and compiles a Schedule. Schedule.Open answers yes or no
// without allocating; Schedule.Status also gives a Reason and the instant the
// answer next changes. Holidays and Easter compute the calendar for a year.
//
// # Config
//
//	timezone: Europe/Amsterdam          # required, an IANA zone name
//	weekly:                             # a day that is not listed is closed
//	  mon-fri: ["08:00-12:30", "13:00-18:00"]
//	  sat: "10:00-14:00"                # one range may be given as a string
//	holidays: [nl, goede-vrijdag]       # closed all day on these holidays
//	early_close: {"12-24": "16:00", "12-31": "16:00"}
//	closed_dates: ["2026-06-12"]        # closed all day
//	special_dates:                      # these hours instead of the usual ones
//	  "2026-12-27": ["10:00-14:00"]
//
// weekly keys are mon, tue, wed, thu, fri, sat and sun, or a range of them
// such as mon-fri (sat-mon wraps past Sunday); a day may be set by one key
// only. Ranges are "HH:MM-HH:MM" in wall-clock time, start included and end
// excluded; 24:00 may end a range. A range cannot cross midnight: write
// "22:00-24:00" on one day and "00:00-02:00" on the next; Status treats the
// two as one opening. Ranges of a day must not overlap; touching ones merge.
//
// holidays lists names from HolidayNames: the eleven holidays (nieuwjaarsdag,
// goede-vrijdag, eerste-paasdag, tweede-paasdag, koningsdag, bevrijdingsdag,
// hemelvaartsdag, eerste-pinksterdag, tweede-pinksterdag, eerste-kerstdag,
// tweede-kerstdag), "nl" for the holidays of the Algemene termijnenwet (all
// but goede-vrijdag), and "bevrijdingsdag-lustrum" for 5 May only in years
// divisible by five, which contradicts bevrijdingsdag and nl. Without the key
// the schedule has no holidays. Koningsdag is 27 April, or 26 April when the
// 27th is a Sunday (the rule since 2014, used for every year); Easter is the
// Gregorian one.
//
// early_close maps a day of every year ("MM-DD") to the time at which that
// day's ranges end at the latest. closed_dates and special_dates take dates
// as "YYYY-MM-DD". For each date the most specific rule wins: a closed date,
// then special hours (which open even on a holiday, and ignore early_close;
// an empty list closes), then a holiday, then the weekly hours cut short by
// early_close. A date cannot be both closed and special.
//
// # Validation
//
// New reports every problem at once as Problems. Each Problem carries the
// Path of the offending value (weekly → tue → 1), printed as
// `weekly.tue[1]: "13:00-12:00": end before start`. A caller that parsed the
// YAML into a node tree, such as the ivr package, finds the node to report a
// file position for with Problem.Node. Parse reports YAML syntax, type errors
// and unknown keys with the decoder's line numbers.
//
// # Daylight saving time
//
// Hours are wall-clock times in the schedule's zone: 08:00 in Amsterdam is
// 07:00Z in winter and 06:00Z in summer, and a day on which the clocks change
// has 23 or 25 hours. On such a day:
//
//   - A time that does not exist (02:00-03:00 on the last Sunday of March in
//     Amsterdam) is reached at the jump: a range starting at 02:30 opens at
//     03:00 summer time, and one ending at 02:30 closes at 03:00.
//   - A time that exists twice (02:00-03:00 on the last Sunday of October)
//     counts at its first pass: each range opens and closes once. A range
//     ending at 02:30 closes at the first 02:30 and stays closed during the
//     repeated hour; one starting at 02:30 opens at the first 02:30 and stays
//     open through it.
package hours
