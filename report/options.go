package report

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// DefaultZone is the time zone intervals are aligned to unless
// Options.Location says otherwise: the municipality's.
const DefaultZone = "Europe/Amsterdam"

// Defaults of [Options].
const (
	DefaultInterval      = 30 * time.Minute
	DefaultTarget        = 60 * time.Second
	DefaultShortAbandon  = 5 * time.Second
	DefaultLookback      = 2 * time.Hour
	DefaultLookahead     = 6 * time.Hour
	DefaultAgentLookback = 24 * time.Hour
)

// maxIntervals bounds a report, so a typo such as --interval 1m over a year
// gets an error instead of a quarter of a million rows.
const maxIntervals = 100_000

// ErrOptions is wrapped by every error about bad report options.
var ErrOptions = errors.New("bad report options")

// Kind selects which parts a report has.
type Kind string

// The report kinds. The zero value is KindAll.
const (
	KindAll    Kind = ""
	KindQueues Kind = "queues"
	KindAgents Kind = "agents"
)

// ParseKind parses a --kind flag value: all, queues or agents.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "", "all":
		return KindAll, nil
	case "queue", "queues":
		return KindQueues, nil
	case "agent", "agents":
		return KindAgents, nil
	}
	return "", fmt.Errorf("%w: kind %q, want all, queues or agents", ErrOptions, s)
}

func (k Kind) queues() bool { return k == KindAll || k == KindQueues }
func (k Kind) agents() bool { return k == KindAll || k == KindAgents }

// Options say what a report covers and how it counts. Zero fields take the
// defaults.
type Options struct {
	// From and To bound the report: [From, To), rounded to interval edges.
	From, To time.Time
	// Interval is the length of one row; it must divide 24 h (default 30m).
	Interval time.Duration
	// Location is the time zone intervals are aligned to (default
	// Europe/Amsterdam).
	Location *time.Location
	// Queue, if set, limits the queue report to one queue. The agent report
	// is not limited: agents' states do not belong to a queue.
	Queue string
	// Kind selects queue report, agent report or both (default both).
	Kind Kind
	// Target is the service-level target wait (default 60 s); Targets
	// overrides it per queue.
	Target  time.Duration
	Targets map[string]time.Duration
	// ShortAbandon is the longest wait of an abandon that does not count
	// against the service level (default 5 s).
	ShortAbandon time.Duration
	// Lookback is the longest time between a contact's arrival and its
	// queue entry (the IVR); contacts are looked up by arrival, so one that
	// arrived this long before From is still found (default 2 h).
	Lookback time.Duration
	// Lookahead is the longest time between a queue_log ENTERQUEUE and the
	// last line of that call (wait plus talk); later lines are not seen
	// (default 6 h).
	Lookahead time.Duration
	// AgentLookback is how far before From an agent's last state is looked
	// for (default 24 h).
	AgentLookback time.Duration
	// Now cuts states still open; default time.Now.
	Now func() time.Time
	// Progress, if set, is called after each day read: done of total.
	Progress func(done, total int)
}

func (o Options) withDefaults() (Options, error) {
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Location == nil {
		loc, err := time.LoadLocation(DefaultZone)
		if err != nil {
			return o, fmt.Errorf("load time zone: %w", err)
		}
		o.Location = loc
	}
	if o.Target == 0 {
		o.Target = DefaultTarget
	}
	if o.ShortAbandon == 0 {
		o.ShortAbandon = DefaultShortAbandon
	}
	if o.Lookback == 0 {
		o.Lookback = DefaultLookback
	}
	if o.Lookahead == 0 {
		o.Lookahead = DefaultLookahead
	}
	if o.AgentLookback == 0 {
		o.AgentLookback = DefaultAgentLookback
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.From.IsZero() || o.To.IsZero():
		return o, fmt.Errorf("%w: from and to are required", ErrOptions)
	case !o.From.Before(o.To):
		return o, fmt.Errorf("%w: from %s is not before to %s", ErrOptions, o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	case o.Interval < time.Minute || (24*time.Hour)%o.Interval != 0:
		return o, fmt.Errorf("%w: interval %v must be at least 1m and divide 24h", ErrOptions, o.Interval)
	case o.Target < 0 || o.ShortAbandon < 0 || o.Lookback < 0 || o.Lookahead < 0 || o.AgentLookback < 0:
		return o, fmt.Errorf("%w: negative duration", ErrOptions)
	}
	for q, t := range o.Targets {
		if t <= 0 {
			return o, fmt.Errorf("%w: target %v of queue %q is not positive", ErrOptions, t, q)
		}
	}
	if !o.Kind.queues() && !o.Kind.agents() {
		return o, fmt.Errorf("%w: kind %q", ErrOptions, o.Kind)
	}
	return o, nil
}

func (o Options) target(queue string) time.Duration {
	if t, ok := o.Targets[queue]; ok {
		return t
	}
	return o.Target
}

// grid is the report's intervals: interval i is [starts[i], starts[i+1]),
// the last one ends at end. days holds the index of each local day's first
// interval, for reading one day at a time.
type grid struct {
	starts []time.Time
	end    time.Time
	days   []int
}

// newGrid lays intervals of length d from local midnight to local midnight
// over [from, to), rounding from down and to up to interval edges. Steps
// are in absolute time from each midnight, so on a daylight-saving day the
// edges stay on the wall clock's multiples of d (the shift is one hour) and
// the day has one interval of d more or less.
func newGrid(from, to time.Time, d time.Duration, loc *time.Location) (grid, error) {
	var g grid
	day := midnight(from.In(loc))
	for day.Before(to) {
		next := midnight(day.Add(36 * time.Hour)) // the next local midnight, 23-25 h on
		first := true
		for t := day; t.Before(next); {
			end := min64(t.Add(d), next)
			if d == 24*time.Hour {
				end = next
			}
			if end.After(from) && t.Before(to) {
				if first {
					g.days = append(g.days, len(g.starts))
					first = false
				}
				g.starts = append(g.starts, t)
				g.end = end
				if len(g.starts) > maxIntervals {
					return grid{}, fmt.Errorf("%w: more than %d intervals", ErrOptions, maxIntervals)
				}
			}
			t = end
		}
		day = next
	}
	if len(g.starts) == 0 {
		return grid{}, fmt.Errorf("%w: empty range", ErrOptions)
	}
	return g, nil
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func min64(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (g grid) start() time.Time { return g.starts[0] }

// intervalEnd returns the end of interval i.
func (g grid) intervalEnd(i int) time.Time {
	if i+1 < len(g.starts) {
		return g.starts[i+1]
	}
	return g.end
}

// index returns the interval holding t, or -1 outside the grid.
func (g grid) index(t time.Time) int {
	if t.Before(g.starts[0]) || !t.Before(g.end) {
		return -1
	}
	return sort.Search(len(g.starts), func(i int) bool { return g.starts[i].After(t) }) - 1
}

// dayRange returns the times day k of the grid covers.
func (g grid) dayRange(k int) (from, to time.Time) {
	from = g.starts[g.days[k]]
	if k+1 < len(g.days) {
		return from, g.starts[g.days[k+1]]
	}
	return from, g.end
}
