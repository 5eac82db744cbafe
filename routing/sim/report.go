package sim

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteText writes the result as a table: one row per queue and a total,
// then the wait-estimate comparison when any caller was scored.
func (r Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "queue\toffered\tanswered\tabandoned\tSL\twithin\tASA\tmax wait\t")
	row := func(name string, q QueueResult) {
		within := q.Within.String()
		if q.Within < 0 {
			within = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.1f%%\t%s\t%s\t%s\t\n", name, q.Offered, q.Answered,
			100*q.AbandonRate, 100*q.ServiceLevel, within, q.ASA.Round(time.Second), q.MaxWait.Round(time.Second))
	}
	for _, q := range r.Queues {
		row(q.Queue, q)
	}
	row("total", r.Total)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	_, err := fmt.Fprintf(w, "occupancy %.1f%%, %d arrivals, %d unfinished, %v simulated\n",
		100*r.Total.Occupancy, r.Arrivals, r.Unfinished, r.Span.Round(time.Minute))
	if err == nil && r.EWT.Scored > 0 {
		e := r.EWT
		_, err = fmt.Fprintf(w, "wait estimate RMSE %v (bias %v) vs Asterisk's moving average %v (bias %v) over %d callers\n",
			e.RMSE.Round(time.Second), e.Bias.Round(time.Second), e.AsteriskRMSE.Round(time.Second),
			e.AsteriskBias.Round(time.Second), e.Scored)
	}
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
