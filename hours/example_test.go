package hours_test

import (
	"fmt"
	"time"

	"kcc/hours"
)

func ExampleSchedule_Status() {
	cfg, err := hours.Parse([]byte(`
timezone: Europe/Amsterdam
weekly:
  mon-fri: ["08:00-12:30", "13:00-18:00"]
holidays: nl
early_close: {"12-24": "16:00"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := hours.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, at := range []string{"2026-04-27T10:00:00+02:00", "2026-12-24T16:30:00+01:00", "2026-03-30T06:00:00Z"} {
		t, _ := time.Parse(time.RFC3339, at)
		fmt.Println(s.Open(t), s.Status(t))
	}
	// Output:
	// false closed (holiday koningsdag) until 2026-04-28 08:00 CEST
	// false closed (early closing) until 2026-12-28 08:00 CET
	// true open (opening hours) until 2026-03-30 12:30 CEST
}

func ExampleNew_problems() {
	_, err := hours.New(hours.Config{
		TimeZone: "Europe/Amsterdam",
		Weekly:   map[string]hours.StringList{"tue": {"08:00-12:30", "13:00-12:00"}, "tu": {"08:00-18:00"}},
	})
	fmt.Println(err)
	// Output:
	// weekly.tue[1]: "13:00-12:00": end before start (a range cannot cross midnight; split it over two days)
	// weekly.tu: unknown weekday "tu" (want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)
}

func ExampleHolidays() {
	for _, h := range hours.Holidays(2027)[1:4] {
		fmt.Println(h.Date, h.Holiday)
	}
	// Output:
	// 2027-03-26 goede-vrijdag
	// 2027-03-28 eerste-paasdag
	// 2027-03-29 tweede-paasdag
}
