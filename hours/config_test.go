package hours

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// problemsOf parses src and returns New's problems formatted, or fails.
func problemsOf(t *testing.T, src string) []string {
	t.Helper()
	cfg, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	_, err = New(cfg)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("New returned %v, want Problems", err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}

func TestValidateOneProblem(t *testing.T) {
	const tz = "timezone: Europe/Amsterdam\n"
	tests := []struct {
		name, src, want string
	}{
		{"missing time zone", "weekly: {mon: 08:00-18:00}\n",
			"timezone: missing; name an IANA time zone such as Europe/Amsterdam"},
		{"unknown time zone", "timezone: Europe/Amsterdm\n",
			`timezone: unknown time zone "Europe/Amsterdm" (want an IANA name such as Europe/Amsterdam)`},
		{"local time zone", "timezone: Local\n",
			`timezone: "Local" depends on the machine; name an IANA time zone such as Europe/Amsterdam`},
		{"end before start", tz + `weekly: {tue: ["08:00-12:30", "13:00-12:00"]}`,
			`weekly.tue[1]: "13:00-12:00": end before start (a range cannot cross midnight; split it over two days)`},
		{"empty range", tz + `weekly: {tue: "08:00-08:00"}`,
			`weekly.tue[0]: "08:00-08:00": end before start (a range cannot cross midnight; split it over two days)`},
		{"bad time", tz + `weekly: {wed: "8.00-18:00"}`,
			`weekly.wed[0]: "8.00-18:00": start: bad time "8.00" (want HH:MM)`},
		{"no dash", tz + `weekly: {wed: "08:00"}`,
			`weekly.wed[0]: "08:00": want HH:MM-HH:MM`},
		{"hour 25", tz + `weekly: {wed: "08:00-25:00"}`,
			`weekly.wed[0]: "08:00-25:00": end: bad time "25:00": past 24:00`},
		{"24:00 as start", tz + `weekly: {wed: "24:00-24:00"}`,
			`weekly.wed[0]: "24:00-24:00": start: bad time "24:00": hour past 23 (24:00 may only end a range)`},
		{"minute 60", tz + `weekly: {wed: "08:60-18:00"}`,
			`weekly.wed[0]: "08:60-18:00": start: bad time "08:60": minutes past 59`},
		{"overlap", tz + `weekly: {thu: ["08:00-12:30", "12:00-14:00"]}`,
			`weekly.thu[1]: "12:00-14:00" overlaps "08:00-12:30"`},
		{"overlap listed out of order", tz + `weekly: {thu: ["12:00-14:00", "08:00-17:00"]}`,
			`weekly.thu[1]: "08:00-17:00" overlaps "12:00-14:00"`},
		{"nested overlap", tz + `weekly: {thu: ["08:00-18:00", "09:00-10:00", "11:00-12:00"]}`,
			`weekly.thu[1]: "09:00-10:00" overlaps "08:00-18:00"` + "\n" + `weekly.thu[2]: "11:00-12:00" overlaps "08:00-18:00"`},
		{"unknown weekday", tz + `weekly: {tu: "08:00-18:00"}`,
			`weekly.tu: unknown weekday "tu" (want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)`},
		{"bad weekday range", tz + `weekly: {mon-fry: "08:00-18:00"}`,
			`weekly.mon-fry: unknown weekday "mon-fry" (want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)`},
		{"day set twice", tz + `weekly: {mon-fri: "08:00-18:00", wed: "08:00-12:00"}`,
			`weekly.wed: wed is also set by "mon-fri"`},
		{"unknown holiday", tz + `holidays: [koningsdag, koninginnedag]`,
			`holidays[1]: unknown holiday "koninginnedag" (want one of ` + strings.Join(HolidayNames(), ", ") + `)`},
		{"lustrum contradicts nl", tz + `holidays: [nl, bevrijdingsdag-lustrum]`,
			`holidays[1]: bevrijdingsdag-lustrum contradicts bevrijdingsdag every year (listed directly or through "nl")`},
		{"lustrum contradicts bevrijdingsdag", tz + `holidays: [bevrijdingsdag-lustrum, bevrijdingsdag]`,
			`holidays[1]: bevrijdingsdag-lustrum contradicts bevrijdingsdag every year (listed directly or through "nl")`},
		{"early close bad day", tz + `early_close: {"12-32": "16:00"}`,
			`early_close.12-32: bad day "12-32" (want MM-DD, such as 12-24)`},
		{"early close bad time", tz + `early_close: {"12-24": "4pm"}`,
			`early_close.12-24: "4pm": bad time "4pm" (want HH:MM)`},
		{"bad closed date", tz + `closed_dates: [2026-06-12, 2026-02-29]`,
			`closed_dates[1]: bad date "2026-02-29" (want YYYY-MM-DD)`},
		{"closed date not padded", tz + `closed_dates: [2026-6-12]`,
			`closed_dates[0]: bad date "2026-6-12" (want YYYY-MM-DD)`},
		{"bad special date", tz + `special_dates: {2026-13-01: "10:00-12:00"}`,
			`special_dates.2026-13-01: bad date "2026-13-01" (want YYYY-MM-DD)`},
		{"special and closed", tz + `closed_dates: [2026-12-27]` + "\n" + `special_dates: {2026-12-27: "10:00-12:00"}`,
			`special_dates.2026-12-27: 2026-12-27 is also in closed_dates; a date is either closed or has special hours`},
		{"bad special range", tz + `special_dates: {2026-12-27: ["10:00-12:00", "11:00-09:00"]}`,
			`special_dates.2026-12-27[1]: "11:00-09:00": end before start (a range cannot cross midnight; split it over two days)`},
		{"quoted odd key", tz + `weekly: {"mon fri": "08:00-18:00"}`,
			`weekly["mon fri"]: unknown weekday "mon fri" (want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)`},
		{"too many ranges", tz + "weekly: {mon: [" + strings.Repeat(`"01:00-02:00", `, 25) + "]}",
			"weekly.mon: 25 ranges; at most 24 a day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(problemsOf(t, tt.src), "\n")
			if got != tt.want {
				t.Errorf("problems\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestValidateAllAtOnce checks that one config with many problems reports
// every one of them, in field order.
func TestValidateAllAtOnce(t *testing.T) {
	got := problemsOf(t, `
timezone: Mars/Olympus
weekly:
  sat: "10:00-09:00"
  mon-fri: ["08:00-12:30", "12:00-18:00"]
  tu: "08:00-18:00"
holidays: [paasmaandag]
early_close: {"12-24": "25:00"}
closed_dates: [tomorrow]
special_dates: {"2026-12-32": []}
`)
	want := []string{
		`timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Amsterdam)`,
		`weekly.mon-fri[1]: "12:00-18:00" overlaps "08:00-12:30"`,
		`weekly.sat[0]: "10:00-09:00": end before start (a range cannot cross midnight; split it over two days)`,
		`weekly.tu: unknown weekday "tu" (want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)`,
		`holidays[0]: unknown holiday "paasmaandag" (want one of ` + strings.Join(HolidayNames(), ", ") + `)`,
		`early_close.12-24: "25:00": bad time "25:00": past 24:00`,
		`closed_dates[0]: bad date "tomorrow" (want YYYY-MM-DD)`,
		`special_dates.2026-12-32: bad date "2026-12-32" (want YYYY-MM-DD)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestValidateCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("timezone: UTC\nclosed_dates: [")
	for i := range 150 {
		fmt.Fprintf(&b, "bad%d, ", i)
	}
	b.WriteString("]\n")
	got := problemsOf(t, b.String())
	if len(got) != maxProblems+1 {
		t.Fatalf("got %d problems, want %d", len(got), maxProblems+1)
	}
	if want := "50 more problems not shown"; got[maxProblems] != want {
		t.Errorf("last problem = %q, want %q", got[maxProblems], want)
	}
}

func TestValidateAcceptsValid(t *testing.T) {
	tests := map[string]string{
		"minimal":           "timezone: UTC\n",
		"24:00 end":         "timezone: UTC\nweekly: {sat: [\"20:00-24:00\"]}\n",
		"touching ranges":   "timezone: UTC\nweekly: {mon: [\"08:00-12:00\", \"12:00-13:00\"]}\n",
		"wrapping range":    "timezone: UTC\nweekly: {sat-mon: \"10:00-12:00\"}\n",
		"single-digit hour": "timezone: UTC\nweekly: {mon: \"8:00-9:30\"}\n",
		"spaces":            "timezone: UTC\nweekly: {mon: \"08:00 - 18:00\"}\n",
		"empty day":         "timezone: UTC\nweekly: {mon: []}\n",
		"29 february":       "timezone: UTC\nearly_close: {\"02-29\": \"12:00\"}\nclosed_dates: [2028-02-29]\n",
		"null lists":        "timezone: UTC\nweekly: {mon: }\nholidays:\nclosed_dates: ~\n",
		"closed special":    "timezone: UTC\nspecial_dates: {2026-12-27: []}\n",
		"all holidays":      "timezone: UTC\nholidays: [nieuwjaarsdag, goede-vrijdag, eerste-paasdag, tweede-paasdag, koningsdag, bevrijdingsdag, hemelvaartsdag, eerste-pinksterdag, tweede-pinksterdag, eerste-kerstdag, tweede-kerstdag, nl]\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse([]byte(src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestWeeklyRanges(t *testing.T) {
	s := mustSchedule(t, `
timezone: UTC
weekly:
  sat-mon: "10:00-12:00"
  tue: ["08:00-12:00", "12:00-13:00", "14:00-15:00"]
`)
	want := [7][]span{
		0: {{600, 720}}, 1: {{600, 720}}, 6: {{600, 720}},
		2: {{480, 780}, {840, 900}},
	}
	for wd := range 7 {
		if got := s.weekly[wd]; !slices.Equal(got, want[wd]) {
			t.Errorf("%s: spans %v, want %v", weekdayKeys[wd], got, want[wd])
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"unknown key", "timezone: UTC\nholiday: [nl]\n", "field holiday not found"},
		{"wrong type", "timezone: UTC\nweekly: [mon]\n", "cannot unmarshal"},
		{"empty", "", "empty document"},
		{"syntax", "timezone: [UTC\n", "parse hours"},
		{"too big", strings.Repeat("#", maxSource+1), "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	cfg, err := Parse([]byte("timezone: UTC\nholidays: nl\nweekly: {mon: 08:00-18:00}\nclosed_dates: 2026-06-12\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		TimeZone:    "UTC",
		Holidays:    StringList{"nl"},
		Weekly:      map[string]StringList{"mon": {"08:00-18:00"}},
		ClosedDates: StringList{"2026-06-12"},
	}
	if got := fmt.Sprint(cfg); got != fmt.Sprint(want) {
		t.Errorf("Parse = %s, want %s", got, fmt.Sprint(want))
	}
}

// TestProblemNode checks that each problem leads back to the YAML node it is
// about, which is how the ivr package will give it a file position.
func TestProblemNode(t *testing.T) {
	src := `timezone: Nowhere
weekly:
  tue: ["08:00-12:30", "13:00-12:00"]
  tu: "08:00-18:00"
  wed: "8-18"
holidays: [nl, kerst]
early_close: {"12-24": "16.00"}
special_dates:
  2026-13-01: []
`
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("New = %v, want Problems", err)
	}
	want := map[string]string{
		"timezone":                 "1:11",
		"weekly.tue[1]":            "3:24",
		"weekly.tu":                "4:3",
		"weekly.wed[0]":            "5:8",
		"holidays[1]":              "6:16",
		"early_close.12-24":        "7:24",
		"special_dates.2026-13-01": "9:3",
	}
	got := map[string]string{}
	for _, p := range ps {
		n := p.Node(&root)
		got[p.Path.String()] = fmt.Sprintf("%d:%d", n.Line, n.Column)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("positions\n got %v\nwant %v", got, want)
	}
	if n := (Problem{}).Node(nil); n != nil {
		t.Errorf("Node(nil) = %v, want nil", n)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte("timezone: Europe/Amsterdam\nweekly: {mon-fri: [\"08:00-12:30\", \"13:00-18:00\"], sat: 10:00-14:00}\nholidays: nl\nearly_close: {\"12-24\": \"16:00\"}\nclosed_dates: [2026-06-12]\nspecial_dates: {2026-12-27: [\"10:00-14:00\"]}\n"))
	f.Add([]byte("timezone: UTC\nweekly: {sat-mon: \"00:00-24:00\"}\nholidays: [bevrijdingsdag-lustrum, hemelvaartsdag]\n"))
	f.Add([]byte("timezone: Europe/Amsterdam\nweekly: {sun: [\"02:15-02:45\", \"00:00-02:00\"]}\n"))
	f.Add([]byte("timezone: ../../etc/passwd\n"))
	f.Add([]byte("timezone: America/Santiago\nweekly: {mon-sun: \"00:00-00:30\"}\n"))
	f.Add([]byte("weekly: {tu: 25:00-26:00, mon: [a, b, 1:1-2:2]}\nclosed_dates: [0000-00-00]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("timezone: UTC\nweekly: {mon: [\"08:00-12:00\", \"09:00-10:00\"]}\nspecial_dates: {\"\": x}\n"))
	at := mustTime(f, "2026-10-25T01:30:00Z")
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse(src)
		if err != nil {
			return
		}
		s, err := New(cfg)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("New error %v is not Problems", err)
			}
			for _, p := range ps {
				if p.Msg == "" {
					t.Fatalf("empty problem message in %v", ps)
				}
			}
			return
		}
		for d := range 8 {
			s.Open(at.AddDate(0, 0, d))
		}
		st := s.Status(at)
		if !st.Next.IsZero() && s.Open(st.Next) == st.Open {
			t.Fatalf("Status(%s) = %s, but Open(Next) = %v", at, st, st.Open)
		}
	})
}
