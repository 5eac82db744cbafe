package hours

import (
	"os"
	"testing"
	"time"
)

func mustSchedule(t testing.TB, src string) *Schedule {
	t.Helper()
	cfg, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func kccSchedule(t testing.TB) *Schedule {
	t.Helper()
	src, err := os.ReadFile("testdata/kcc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return mustSchedule(t, string(src))
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

type statusCase struct {
	name string
	at   string // RFC 3339
	want string // Status.String()
}

func runStatus(t *testing.T, s *Schedule, tests []statusCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := mustTime(t, tt.at)
			st := s.Status(at)
			if got := st.String(); got != tt.want {
				t.Errorf("Status(%s)\n got %s\nwant %s", tt.at, got, tt.want)
			}
			if got := s.Open(at); got != st.Open {
				t.Errorf("Open(%s) = %v, but Status says %v", tt.at, got, st.Open)
			}
		})
	}
}

func TestStatusKCC(t *testing.T) {
	runStatus(t, kccSchedule(t), []statusCase{
		{"koningsdag 2026", "2026-04-27T10:00:00+02:00", "closed (holiday koningsdag) until 2026-04-28 08:00 CEST"},
		{"tweede paasdag 2026", "2026-04-06T10:00:00+02:00", "closed (holiday tweede-paasdag) until 2026-04-07 08:00 CEST"},
		{"tweede paasdag 2027", "2027-03-29T10:00:00+02:00", "closed (holiday tweede-paasdag) until 2027-03-30 08:00 CEST"},
		{"goede vrijdag is not in nl", "2026-04-03T10:00:00+02:00", "open (opening hours) until 2026-04-03 12:30 CEST"},
		{"bevrijdingsdag every year with nl", "2026-05-05T10:00:00+02:00", "closed (holiday bevrijdingsdag) until 2026-05-06 08:00 CEST"},
		{"hemelvaartsdag", "2026-05-14T09:00:00+02:00", "closed (holiday hemelvaartsdag) until 2026-05-15 08:00 CEST"},
		{"tweede pinksterdag", "2026-05-25T09:00:00+02:00", "closed (holiday tweede-pinksterdag) until 2026-05-26 08:00 CEST"},
		{"nieuwjaarsdag then saturday hours", "2027-01-01T09:00:00+01:00", "closed (holiday nieuwjaarsdag) until 2027-01-02 10:00 CET"},

		// 08:00 local is 07:00Z in winter and 06:00Z in summer.
		{"winter before opening", "2026-03-27T06:59:59Z", "closed (outside hours) until 2026-03-27 08:00 CET"},
		{"winter opening", "2026-03-27T07:00:00Z", "open (opening hours) until 2026-03-27 12:30 CET"},
		{"saturday evening before DST", "2026-03-28T18:00:00+01:00", "closed (outside hours) until 2026-03-30 08:00 CEST"},
		{"summer before opening", "2026-03-30T05:59:59Z", "closed (outside hours) until 2026-03-30 08:00 CEST"},
		{"summer opening", "2026-03-30T06:00:00Z", "open (opening hours) until 2026-03-30 12:30 CEST"},
		{"summer friday", "2026-10-23T06:00:00Z", "open (opening hours) until 2026-10-23 12:30 CEST"},
		{"winter again before opening", "2026-10-26T06:00:00Z", "closed (outside hours) until 2026-10-26 08:00 CET"},
		{"winter again opening", "2026-10-26T07:00:00Z", "open (opening hours) until 2026-10-26 12:30 CET"},

		{"last second before lunch", "2026-06-10T12:29:59+02:00", "open (opening hours) until 2026-06-10 12:30 CEST"},
		{"lunch", "2026-06-10T12:30:00+02:00", "closed (outside hours) until 2026-06-10 13:00 CEST"},
		{"last second of the day", "2026-06-10T17:59:59+02:00", "open (opening hours) until 2026-06-10 18:00 CEST"},
		{"closing time", "2026-06-10T18:00:00+02:00", "closed (outside hours) until 2026-06-11 08:00 CEST"},
		{"midnight saturday to sunday", "2026-06-14T00:00:00+02:00", "closed (outside hours) until 2026-06-15 08:00 CEST"},
		{"midnight into monday", "2026-06-15T00:00:00+02:00", "closed (outside hours) until 2026-06-15 08:00 CEST"},

		{"closed date", "2026-06-12T10:00:00+02:00", "closed (closed date) until 2026-06-13 10:00 CEST"},
		{"24 december before early closing", "2026-12-24T15:59:00+01:00", "open (opening hours) until 2026-12-24 16:00 CET"},
		{"24 december early closing", "2026-12-24T16:00:00+01:00", "closed (early closing) until 2026-12-27 10:00 CET"},
		{"24 december after usual hours", "2026-12-24T18:30:00+01:00", "closed (outside hours) until 2026-12-27 10:00 CET"},
		{"special hours on a sunday", "2026-12-27T11:00:00+01:00", "open (special hours) until 2026-12-27 14:00 CET"},
		{"after special hours", "2026-12-27T14:00:00+01:00", "closed (special hours) until 2026-12-28 08:00 CET"},
		{"31 december early closing", "2026-12-31T17:00:00+01:00", "closed (early closing) until 2027-01-02 10:00 CET"},
		{"time given in another zone", "2026-06-10T08:30:00-04:00", "open (opening hours) until 2026-06-10 18:00 CEST"},
	})
}

func TestStatusAcrossMidnight(t *testing.T) {
	s := mustSchedule(t, `
timezone: Europe/Amsterdam
weekly:
  fri: "20:00-24:00"
  sat: "00:00-02:00"
`)
	runStatus(t, s, []statusCase{
		{"friday night", "2026-06-12T23:00:00+02:00", "open (opening hours) until 2026-06-13 02:00 CEST"},
		{"last second of friday", "2026-06-12T23:59:59+02:00", "open (opening hours) until 2026-06-13 02:00 CEST"},
		{"saturday midnight", "2026-06-13T00:00:00+02:00", "open (opening hours) until 2026-06-13 02:00 CEST"},
		{"saturday closing", "2026-06-13T02:00:00+02:00", "closed (outside hours) until 2026-06-19 20:00 CEST"},
	})
}

func TestStatusAlwaysOpen(t *testing.T) {
	s := mustSchedule(t, "timezone: UTC\nweekly: {mon-sun: 00:00-24:00}\n")
	runStatus(t, s, []statusCase{
		{"never changes", "2026-06-12T23:00:00Z", "open (opening hours)"},
	})
	s = mustSchedule(t, "timezone: UTC\n")
	runStatus(t, s, []statusCase{
		{"never opens", "2026-06-12T23:00:00Z", "closed (outside hours)"},
	})
}

func TestStatusLustrum(t *testing.T) {
	s := mustSchedule(t, `
timezone: Europe/Amsterdam
weekly: {mon-sun: "08:00-18:00"}
holidays: [hemelvaartsdag, bevrijdingsdag-lustrum]
`)
	runStatus(t, s, []statusCase{
		{"2025 is a lustrum", "2025-05-05T10:00:00+02:00", "closed (holiday bevrijdingsdag) until 2025-05-06 08:00 CEST"},
		{"2026 is not", "2026-05-05T10:00:00+02:00", "open (opening hours) until 2026-05-05 18:00 CEST"},
		{"hemelvaartsdag on 5 May 2016", "2016-05-05T10:00:00+02:00", "closed (holiday hemelvaartsdag) until 2016-05-06 08:00 CEST"},
		{"both on 5 May 2005", "2005-05-05T10:00:00+02:00", "closed (holiday bevrijdingsdag) until 2005-05-06 08:00 CEST"},
	})
}

// TestStatusDST covers ranges that start or end inside the hour that the
// clock skips (29 March 2026) or repeats (25 October 2026) in Amsterdam.
func TestStatusDST(t *testing.T) {
	endsInGap := mustSchedule(t, "timezone: Europe/Amsterdam\nweekly: {sun: \"00:00-02:30\"}\n")
	startsInGap := mustSchedule(t, "timezone: Europe/Amsterdam\nweekly: {sun: \"02:30-05:00\"}\n")
	within := mustSchedule(t, "timezone: Europe/Amsterdam\nweekly: {sun: \"02:15-02:45\"}\n")
	t.Run("ends in the skipped hour", func(t *testing.T) {
		runStatus(t, endsInGap, []statusCase{
			{"before the jump", "2026-03-29T00:59:59Z", "open (opening hours) until 2026-03-29 03:00 CEST"},
			{"at the jump", "2026-03-29T01:00:00Z", "closed (outside hours) until 2026-04-05 00:00 CEST"},
			{"first pass before end", "2026-10-25T00:29:59Z", "open (opening hours) until 2026-10-25 02:30 CEST"},
			{"first pass after end", "2026-10-25T00:45:00Z", "closed (outside hours) until 2026-11-01 00:00 CET"},
			{"second pass stays closed", "2026-10-25T01:15:00Z", "closed (outside hours) until 2026-11-01 00:00 CET"},
		})
	})
	t.Run("starts in the skipped hour", func(t *testing.T) {
		runStatus(t, startsInGap, []statusCase{
			{"before the jump", "2026-03-29T00:59:59Z", "closed (outside hours) until 2026-03-29 03:00 CEST"},
			{"at the jump", "2026-03-29T01:00:00Z", "open (opening hours) until 2026-03-29 05:00 CEST"},
			{"first pass before start", "2026-10-25T00:29:59Z", "closed (outside hours) until 2026-10-25 02:30 CEST"},
			{"first pass after start", "2026-10-25T00:30:00Z", "open (opening hours) until 2026-10-25 05:00 CET"},
			{"second pass before start stays open", "2026-10-25T01:10:00Z", "open (opening hours) until 2026-10-25 05:00 CET"},
			{"closing in winter time", "2026-10-25T04:00:00Z", "closed (outside hours) until 2026-11-01 02:30 CET"},
		})
	})
	t.Run("within the repeated hour", func(t *testing.T) {
		runStatus(t, within, []statusCase{
			{"spring: never open", "2026-03-29T00:00:00Z", "closed (outside hours) until 2026-04-05 02:15 CEST"},
			{"first pass", "2026-10-25T00:20:00Z", "open (opening hours) until 2026-10-25 02:45 CEST"},
			{"second pass", "2026-10-25T01:20:00Z", "closed (outside hours) until 2026-11-01 02:15 CET"},
		})
	})
}

// TestNextIsExact checks Status.Next against Open on a grid of instants over
// two years, DST days included: Open differs at Next, and is unchanged at
// sampled points between the asked instant and Next.
func TestNextIsExact(t *testing.T) {
	schedules := map[string]*Schedule{
		"kcc": kccSchedule(t),
		"dst": mustSchedule(t, "timezone: Europe/Amsterdam\nweekly: {sun: [\"00:00-02:10\", \"02:20-02:40\", \"02:50-24:00\"], mon: \"00:00-01:00\"}\n"),
	}
	for name, s := range schedules {
		t.Run(name, func(t *testing.T) {
			start := mustTime(t, "2026-01-01T00:00:00Z")
			for at := start; at.Year() < 2028; at = at.Add(97*time.Minute + 13*time.Second) {
				st := s.Status(at)
				if st.Next.IsZero() {
					t.Fatalf("Status(%s).Next is zero", at)
				}
				if !st.Next.After(at) {
					t.Fatalf("Status(%s).Next = %s, not after", at, st.Next)
				}
				if s.Open(st.Next) == st.Open {
					t.Fatalf("Status(%s) = %s, but Open(Next) = %v", at, st, st.Open)
				}
				if s.Open(st.Next.Add(-time.Second)) != st.Open {
					t.Fatalf("Status(%s) = %s, but Open changes before Next", at, st)
				}
				for u := at; u.Before(st.Next); u = u.Add(5 * time.Minute) {
					if s.Open(u) != st.Open {
						t.Fatalf("Status(%s) = %s, but Open(%s) = %v", at, st, u, !st.Open)
					}
				}
			}
		})
	}
}

// TestInstant checks instant against time.Date for wall times that exist
// once (none of them is in a changed hour), then where the two differ.
func TestInstant(t *testing.T) {
	s := kccSchedule(t)
	for d := (Date{2026, time.January, 1}); d.Year < 2028; d = d.AddDays(1) {
		for _, w := range []int{0, 8 * 60, 12*60 + 30, 23*60 + 59, minutesPerDay} {
			got := s.instant(d, w)
			want := time.Date(d.Year, d.Month, d.Day, 0, w, 0, 0, s.Location())
			if !got.Equal(want) {
				t.Errorf("instant(%s, %d) = %s, want %s", d, w, got, want)
			}
		}
	}
	// The first of two 02:30s, and the jump for a skipped 02:30.
	if got, want := s.instant(Date{2026, time.October, 25}, 150), mustTime(t, "2026-10-25T00:30:00Z"); !got.Equal(want) {
		t.Errorf("instant(2026-10-25 02:30) = %s, want %s", got, want)
	}
	if got, want := s.instant(Date{2026, time.March, 29}, 150), mustTime(t, "2026-03-29T01:00:00Z"); !got.Equal(want) {
		t.Errorf("instant(2026-03-29 02:30) = %s, want %s", got, want)
	}
}

func TestOpenAllocatesNothing(t *testing.T) {
	s := kccSchedule(t)
	for _, at := range []string{"2026-06-10T10:00:00+02:00", "2026-04-27T10:00:00+02:00", "2026-10-25T01:30:00Z", "2026-12-24T16:30:00+01:00"} {
		tm := mustTime(t, at)
		if got := testing.AllocsPerRun(100, func() { s.Open(tm) }); got != 0 {
			t.Errorf("Open(%s) allocates %v times, want 0", at, got)
		}
	}
}

func TestStatusOpenInSchedulesZone(t *testing.T) {
	s := kccSchedule(t)
	st := s.Status(mustTime(t, "2026-06-10T10:00:00Z"))
	if got, want := st.Next.Location(), s.Location(); got != want {
		t.Errorf("Next in %v, want %v", got, want)
	}
}

func BenchmarkOpen(b *testing.B) {
	s := kccSchedule(b)
	cases := map[string]string{
		"weekday":     "2026-06-10T10:00:00+02:00",
		"holiday":     "2026-04-06T10:00:00+02:00",
		"dst-sunday":  "2026-10-25T01:30:00Z",
		"early-close": "2026-12-24T16:30:00+01:00",
	}
	for name, at := range cases {
		tm := mustTime(b, at)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Open(tm)
			}
		})
	}
}

func BenchmarkStatus(b *testing.B) {
	s := kccSchedule(b)
	tm := mustTime(b, "2026-12-24T16:30:00+01:00")
	b.ReportAllocs()
	for b.Loop() {
		s.Status(tm)
	}
}
