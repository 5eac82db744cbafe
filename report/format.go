package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is an output format of a report.
type Format string

// The output formats.
const (
	FormatTable Format = "table" // aligned text for people
	FormatCSV   Format = "csv"   // for spreadsheets and planning tools
	FormatJSON  Format = "json"  // for programs
)

// ParseFormat parses a --format flag value; empty means table.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return FormatTable, nil
	case FormatTable, FormatCSV, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("%w: format %q, want table, csv or json", ErrOptions, s)
}

// Write writes rep to w in format f.
func (rep *Report) Write(w io.Writer, f Format) error {
	switch f {
	case FormatTable, "":
		return rep.WriteTable(w)
	case FormatCSV:
		return rep.WriteCSV(w)
	case FormatJSON:
		return rep.WriteJSON(w)
	}
	return fmt.Errorf("%w: format %q", ErrOptions, f)
}

const allQueues = "(all)"

func (rep *Report) intervalLabel(t time.Time) string {
	if rep.Interval == 24*time.Hour {
		return t.In(rep.Location).Format("2006-01-02")
	}
	return t.In(rep.Location).Format("2006-01-02 15:04")
}

// WriteTable writes rep as aligned text: the queue report, then the agent
// report, each with its total rows.
func (rep *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s to %s (%s), interval %s\n", rep.intervalLabel(rep.From), rep.intervalLabel(rep.To),
		rep.Location, fmtInterval(rep.Interval))
	if rep.Kind.queues() {
		fmt.Fprintf(bw, "\nQueues (service level: answered within target / (offered - short abandoned))\n")
		header := []string{"queue", "interval", "offered", "answered", "abandoned", "short", "callbacks", "overflows",
			"SL%", "target", "ASA", "AHT", "max wait"}
		var rows [][]string
		cell := func(r QueueRow, label string) []string {
			q := r.Queue
			if q == "" {
				q = allQueues
			}
			return []string{q, label, itoa(r.Offered), itoa(r.Answered), itoa(r.Abandoned), itoa(r.ShortAbandoned),
				itoa(r.Callbacks), itoa(r.Overflows), tablePercent(r), targetText(r.Target, clock), clock(r.ASA()),
				clock(r.AHT()), clock(r.MaxWait)}
		}
		for i, t := range rep.QueueTotals {
			for _, r := range rep.Queues {
				if r.Queue == t.Queue {
					rows = append(rows, cell(r, rep.intervalLabel(r.Start)))
				}
			}
			rows = append(rows, cell(t, "total"))
			if i+1 < len(rep.QueueTotals) {
				rows = append(rows, nil)
			}
		}
		rows = append(rows, nil, cell(rep.Total, "total"))
		writeAligned(bw, header, rows, 2)
	}
	if rep.Kind.agents() {
		fmt.Fprintf(bw, "\nAgents\n")
		header := []string{"agent", "interval", "logged in", "available", "ringing", "talk", "wrap-up", "busy", "paused"}
		for _, p := range rep.PauseReasons {
			header = append(header, "paused:"+reasonLabel(p))
		}
		header = append(header, "answered")
		cell := func(r AgentRow, label string) []string {
			c := []string{r.Agent, label, hms(r.LoggedIn), hms(r.Available), hms(r.Ringing), hms(r.Talk),
				hms(r.WrapUp), hms(r.Busy), hms(r.Paused)}
			for _, p := range rep.PauseReasons {
				c = append(c, hms(r.PausedBy[p]))
			}
			return append(c, itoa(r.Answered))
		}
		var rows [][]string
		for i, t := range rep.AgentTotals {
			for _, r := range rep.Agents {
				if r.Agent == t.Agent {
					rows = append(rows, cell(r, rep.intervalLabel(r.Start)))
				}
			}
			rows = append(rows, cell(t, "total"))
			if i+1 < len(rep.AgentTotals) {
				rows = append(rows, nil)
			}
		}
		writeAligned(bw, header, rows, 2)
	}
	return bw.Flush()
}

// writeAligned writes a table: the first left columns left-aligned, the
// rest right-aligned, two spaces apart; a nil row is an empty line.
func writeAligned(w io.Writer, header []string, rows [][]string, left int) {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < left {
				b.WriteString(c)
				if i+1 < len(r) {
					b.WriteString(pad)
				}
			} else {
				b.WriteString(pad)
				b.WriteString(c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	for _, r := range rows {
		if r == nil {
			fmt.Fprintln(w)
			continue
		}
		line(r)
	}
}

func reasonLabel(r string) string {
	if r == "" {
		return "(none)"
	}
	return r
}

func tablePercent(r QueueRow) string {
	sl, ok := r.ServiceLevel()
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(sl*100, 'f', 1, 64)
}

// clock formats a wait or handle time as m:ss (h:mm:ss from an hour on),
// rounded to the second.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return hms(d)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// hms formats an agent's time as h:mm:ss, so 13 minutes never reads as
// 13 o'clock.
func hms(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// targetText formats a row's target; zero (a total over queues whose
// targets differ) is empty.
func targetText(d time.Duration, f func(time.Duration) string) string {
	if d == 0 {
		return ""
	}
	return f(d)
}

func itoa(n int) string { return strconv.Itoa(n) }

// fmtInterval writes 30m, 1h, 24h rather than Go's 30m0s.
func fmtInterval(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// seconds formats d in seconds with at most one decimal.
func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*10) / 10 }

func secondsText(d time.Duration) string { return strconv.FormatFloat(seconds(d), 'f', -1, 64) }

// WriteCSV writes rep as CSV: the queue table (rows of kind interval,
// queue_total and total), then, after an empty line, the agent table (rows
// of kind interval and agent_total). Times are RFC 3339 in the report's
// zone, durations in seconds, the service level a fraction (empty when
// undefined).
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	tf := func(t time.Time) string { return t.In(rep.Location).Format(time.RFC3339) }
	if rep.Kind.queues() {
		_ = cw.Write([]string{"kind", "queue", "start", "end", "offered", "answered", "answered_in_target", "abandoned",
			"short_abandoned", "callbacks", "overflows", "service_level", "target_s", "asa_s", "aht_s", "max_wait_s"})
		row := func(kind string, r QueueRow) {
			sl := ""
			if v, ok := r.ServiceLevel(); ok {
				sl = strconv.FormatFloat(v, 'f', 4, 64)
			}
			_ = cw.Write([]string{kind, r.Queue, tf(r.Start), tf(r.End), itoa(r.Offered), itoa(r.Answered),
				itoa(r.AnsweredInTarget), itoa(r.Abandoned), itoa(r.ShortAbandoned), itoa(r.Callbacks),
				itoa(r.Overflows), sl, targetText(r.Target, secondsText), secondsText(r.ASA()), secondsText(r.AHT()),
				secondsText(r.MaxWait)})
		}
		for _, r := range rep.Queues {
			row("interval", r)
		}
		for _, r := range rep.QueueTotals {
			row("queue_total", r)
		}
		row("total", rep.Total)
	}
	if rep.Kind.agents() {
		if rep.Kind.queues() {
			cw.Flush()
			if _, err := io.WriteString(w, "\n"); err != nil {
				return fmt.Errorf("write csv: %w", err)
			}
		}
		header := []string{"kind", "agent", "start", "end", "logged_in_s", "available_s", "ringing_s", "talk_s",
			"wrap_up_s", "busy_s", "paused_s"}
		for _, p := range rep.PauseReasons {
			header = append(header, "paused_s:"+reasonLabel(p))
		}
		_ = cw.Write(append(header, "answered"))
		row := func(kind string, r AgentRow) {
			c := []string{kind, r.Agent, tf(r.Start), tf(r.End), secondsText(r.LoggedIn), secondsText(r.Available),
				secondsText(r.Ringing), secondsText(r.Talk), secondsText(r.WrapUp), secondsText(r.Busy),
				secondsText(r.Paused)}
			for _, p := range rep.PauseReasons {
				c = append(c, secondsText(r.PausedBy[p]))
			}
			_ = cw.Write(append(c, itoa(r.Answered)))
		}
		for _, r := range rep.Agents {
			row("interval", r)
		}
		for _, r := range rep.AgentTotals {
			row("agent_total", r)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

type jsonReport struct {
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"`
	Interval    string      `json:"interval"`
	TimeZone    string      `json:"time_zone"`
	Queues      []jsonQueue `json:"queues,omitempty"`
	QueueTotals []jsonQueue `json:"queue_totals,omitempty"`
	Total       *jsonQueue  `json:"total,omitempty"`
	Agents      []jsonAgent `json:"agents,omitempty"`
	AgentTotals []jsonAgent `json:"agent_totals,omitempty"`
}

type jsonQueue struct {
	Queue            string    `json:"queue,omitempty"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	Offered          int       `json:"offered"`
	Answered         int       `json:"answered"`
	AnsweredInTarget int       `json:"answered_in_target"`
	Abandoned        int       `json:"abandoned"`
	ShortAbandoned   int       `json:"short_abandoned"`
	Callbacks        int       `json:"callbacks"`
	Overflows        int       `json:"overflows"`
	Handled          int       `json:"handled"`
	ServiceLevel     *float64  `json:"service_level"`
	TargetS          *float64  `json:"target_s"`
	ASAS             float64   `json:"asa_s"`
	AHTS             float64   `json:"aht_s"`
	MaxWaitS         float64   `json:"max_wait_s"`
}

type jsonAgent struct {
	Agent      string             `json:"agent"`
	Start      time.Time          `json:"start"`
	End        time.Time          `json:"end"`
	LoggedInS  float64            `json:"logged_in_s"`
	AvailableS float64            `json:"available_s"`
	RingingS   float64            `json:"ringing_s"`
	TalkS      float64            `json:"talk_s"`
	WrapUpS    float64            `json:"wrap_up_s"`
	BusyS      float64            `json:"busy_s"`
	PausedS    float64            `json:"paused_s"`
	PausedByS  map[string]float64 `json:"paused_by_s,omitempty"`
	Answered   int                `json:"answered"`
}

// WriteJSON writes rep as one indented JSON object; times are RFC 3339 in
// the report's zone, durations seconds, service_level a fraction or null.
func (rep *Report) WriteJSON(w io.Writer) error {
	loc := rep.Location
	out := jsonReport{From: rep.From.In(loc), To: rep.To.In(loc), Interval: fmtInterval(rep.Interval), TimeZone: loc.String()}
	q := func(r QueueRow) jsonQueue {
		j := jsonQueue{Queue: r.Queue, Start: r.Start.In(loc), End: r.End.In(loc), Offered: r.Offered,
			Answered: r.Answered, AnsweredInTarget: r.AnsweredInTarget, Abandoned: r.Abandoned,
			ShortAbandoned: r.ShortAbandoned, Callbacks: r.Callbacks, Overflows: r.Overflows, Handled: r.Handled,
			ASAS: seconds(r.ASA()), AHTS: seconds(r.AHT()), MaxWaitS: seconds(r.MaxWait)}
		if r.Target > 0 {
			t := seconds(r.Target)
			j.TargetS = &t
		}
		if sl, ok := r.ServiceLevel(); ok {
			sl = math.Round(sl*1e4) / 1e4
			j.ServiceLevel = &sl
		}
		return j
	}
	a := func(r AgentRow) jsonAgent {
		j := jsonAgent{Agent: r.Agent, Start: r.Start.In(loc), End: r.End.In(loc), LoggedInS: seconds(r.LoggedIn),
			AvailableS: seconds(r.Available), RingingS: seconds(r.Ringing), TalkS: seconds(r.Talk),
			WrapUpS: seconds(r.WrapUp), BusyS: seconds(r.Busy), PausedS: seconds(r.Paused), Answered: r.Answered}
		for k, v := range r.PausedBy {
			if j.PausedByS == nil {
				j.PausedByS = map[string]float64{}
			}
			j.PausedByS[k] = seconds(v)
		}
		return j
	}
	if rep.Kind.queues() {
		for _, r := range rep.Queues {
			out.Queues = append(out.Queues, q(r))
		}
		for _, r := range rep.QueueTotals {
			out.QueueTotals = append(out.QueueTotals, q(r))
		}
		t := q(rep.Total)
		out.Total = &t
	}
	if rep.Kind.agents() {
		for _, r := range rep.Agents {
			out.Agents = append(out.Agents, a(r))
		}
		for _, r := range rep.AgentTotals {
			out.AgentTotals = append(out.AgentTotals, a(r))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
