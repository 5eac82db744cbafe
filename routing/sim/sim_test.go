package sim

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"kcc/routing"
)

// erlangC returns the probability of waiting in M/M/n with offered load a
// (Erlangs), by the Erlang B recursion (research/wfm.md §1.1).
func erlangC(n int, a float64) float64 {
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return float64(n) * b / (float64(n) - a*(1-b))
}

func TestErlangCHelper(t *testing.T) {
	// Textbook value: 10 agents, 8 Erlangs → P(wait) ≈ 0.4092.
	if got := erlangC(10, 8); math.Abs(got-0.40918) > 1e-4 {
		t.Errorf("erlangC(10, 8) = %v, want 0.40918", got)
	}
	if got := erlangC(1, 0.5); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("erlangC(1, 0.5) = %v, want 0.5 (M/M/1: ρ)", got)
	}
}

// agents returns n agents with the one skill "s".
func agents(n int) []routing.Agent {
	out := make([]routing.Agent, n)
	for i := range out {
		out[i] = routing.Agent{ID: fmt.Sprintf("a%03d", i), Skills: []string{"s"}}
	}
	return out
}

// runSeeds runs cfg for seeds 1..n in parallel.
func runSeeds(t *testing.T, cfg Config, n int) []Result {
	t.Helper()
	out := make([]Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c := cfg
			c.Seed = uint64(i + 1)
			out[i], errs[i] = Run(c)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// ci99 returns the mean of xs and the half-width of its 99% confidence
// interval (Student t, n−1 degrees of freedom; n = 20 here).
func ci99(xs []float64) (mean, half float64) {
	for _, x := range xs {
		mean += x
	}
	n := float64(len(xs))
	mean /= n
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	const t19 = 2.861 // t(0.995, 19)
	return mean, t19 * math.Sqrt(ss/(n-1)/n)
}

// TestErlangC: single queue, single skill, FIFO, no wrap-up, no
// abandonment, Poisson arrivals, exponential handle times; 20 seeds × 20,000
// calls. Erlang C's service level and ASA must lie inside the 99%
// confidence intervals of the simulated ones.
func TestErlangC(t *testing.T) {
	const (
		n      = 10
		load   = 8.0 // Erlangs: ρ = 0.8
		aht    = 180 * time.Second
		within = 20 * time.Second
		seeds  = 20
		calls  = 20000
		warmUp = 1000
	)
	cfg := Config{
		Router: routing.Config{WrapUp: routing.NoWrapUp, RingTimeout: time.Hour},
		Queues: []routing.Queue{{Name: "q", Skills: []string{"s"}, ServiceLevel: routing.ServiceLevel{Target: 0.8, Within: within}}},
		Agents: agents(n),
		Traffic: []Traffic{{Queue: "q", PerHour: load / aht.Hours(),
			HandleTime: Dist{Mean: aht}}},
		Contacts: calls + warmUp,
		WarmUp:   warmUp,
	}
	start := time.Now()
	results := runSeeds(t, cfg, seeds)
	elapsed := time.Since(start)

	c := erlangC(n, load)
	wantSL := 1 - c*math.Exp(-(n-load)*within.Seconds()/aht.Seconds())
	wantASA := c * aht.Seconds() / (n - load)
	var sls, asas []float64
	for i, r := range results {
		q := r.Queues[0]
		if q.Offered != calls || q.Answered != calls || q.Abandons != 0 || r.Unfinished != 0 {
			t.Fatalf("seed %d: offered %d answered %d abandoned %d unfinished %d, want %d answered",
				i+1, q.Offered, q.Answered, q.Abandons, r.Unfinished, calls)
		}
		sls = append(sls, q.ServiceLevel)
		asas = append(asas, q.ASA.Seconds())
	}
	sl, slHalf := ci99(sls)
	asa, asaHalf := ci99(asas)
	t.Logf("Erlang C: SL(%v) %.4f, ASA %.2fs; simulated (%d seeds × %d calls, %v): SL %.4f ± %.4f, ASA %.2f ± %.2fs",
		within, wantSL, wantASA, seeds, calls, elapsed.Round(time.Millisecond), sl, slHalf, asa, asaHalf)
	if math.Abs(sl-wantSL) > slHalf {
		t.Errorf("service level: Erlang C %.4f outside the simulated 99%% interval %.4f ± %.4f", wantSL, sl, slHalf)
	}
	if math.Abs(asa-wantASA) > asaHalf {
		t.Errorf("ASA: Erlang C %.2fs outside the simulated 99%% interval %.2f ± %.2fs", wantASA, asa, asaHalf)
	}
}

// TestEWT: 20 agents, load 0.95, exponential patience with mean 120s. The
// router's per-caller estimate must have an RMSE at least 20% below that of
// Asterisk app_queue's moving average.
func TestEWT(t *testing.T) {
	const (
		n   = 20
		aht = 300 * time.Second
	)
	cfg := Config{
		Seed:   1,
		Router: routing.Config{WrapUp: routing.NoWrapUp, RingTimeout: time.Hour},
		Queues: []routing.Queue{{Name: "q", Skills: []string{"s"}}},
		Agents: agents(n),
		Traffic: []Traffic{{Queue: "q", PerHour: 0.95 * n / aht.Hours(),
			HandleTime: Dist{Mean: aht}, Patience: Dist{Mean: 120 * time.Second}}},
		Contacts: 40000,
		WarmUp:   1000,
	}
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := res.EWT
	t.Logf("EWT over %d callers who found someone ahead: router RMSE %v (bias %v), Asterisk moving average RMSE %v (bias %v): %+.0f%%; abandon rate %.1f%%",
		e.Scored, e.RMSE.Round(100*time.Millisecond), e.Bias.Round(100*time.Millisecond),
		e.AsteriskRMSE.Round(100*time.Millisecond), e.AsteriskBias.Round(100*time.Millisecond),
		100*e.RelativeChange, 100*res.Total.AbandonRate)
	if e.Scored < 5000 {
		t.Fatalf("only %d callers scored", e.Scored)
	}
	if e.RMSE > e.AsteriskRMSE*8/10 {
		t.Errorf("router RMSE %v is not 20%% below Asterisk's %v", e.RMSE, e.AsteriskRMSE)
	}
}

// TestWeek: 9,000 contacts a week over three queues with a weekday
// profile, 25 agents in two shifts; the run must take under a second (a
// few seconds under the race detector) and serve everyone.
func TestWeek(t *testing.T) {
	cfg := weekConfig()
	start := time.Now()
	res, err := Run(cfg)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.WriteText(&b)
	t.Logf("simulated week in %v (%d events):\n%s", elapsed.Round(time.Millisecond), res.Events, b.String())
	if res.Arrivals < 8000 || res.Arrivals > 10000 {
		t.Errorf("arrivals %d, want about 9,000", res.Arrivals)
	}
	if res.Unfinished != 0 || res.Total.Answered+res.Total.Abandons != res.Total.Offered {
		t.Errorf("total %+v, unfinished %d: not every contact finished", res.Total, res.Unfinished)
	}
	if limit := time.Second * time.Duration(raceFactor); elapsed > limit {
		t.Errorf("a simulated week took %v, want < %v", elapsed, limit)
	}
}

// weekConfig is 14070-like: 9,000 contacts Monday to Friday 08:00-18:00,
// 25 agents (15 early, 10 late), three queues with a shared general skill.
func weekConfig() Config {
	profile := make([]float64, 168)
	for d := range 5 {
		for h := 8; h < 18; h++ {
			w := 1.0
			if h < 10 {
				w = 1.5 // the morning peak
			}
			profile[d*24+h] = w
		}
	}
	var ags []routing.Agent
	var early, late []string
	for i := range 25 {
		id := fmt.Sprintf("a%02d", i)
		skills := []string{"algemeen", []string{"burgerzaken", "afval", "belastingen"}[i%3]}
		ags = append(ags, routing.Agent{ID: id, Skills: skills})
		if i < 15 {
			early = append(early, id)
		} else {
			late = append(late, id)
		}
	}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	tr := func(q string, share float64) Traffic {
		return Traffic{Queue: q, PerWeek: 9000 * share, Profile: profile,
			HandleTime: Dist{Mean: 4 * time.Minute, Shape: LogNormal, CV: 0.8},
			Patience:   Dist{Mean: 3 * time.Minute}}
	}
	esc := []routing.Step{{After: 2 * time.Minute, Skills: []string{"algemeen"}}}
	return Config{
		Seed:   7,
		Router: routing.Config{WrapUp: 30 * time.Second, RingTimeout: 15 * time.Second, MaxMisses: 3},
		Queues: []routing.Queue{
			{Name: "paspoort", Skills: []string{"burgerzaken"}, Escalation: esc, ServiceLevel: routing.ServiceLevel{Target: 0.8, Within: time.Minute}},
			{Name: "afval", Skills: []string{"afval"}, Escalation: esc},
			{Name: "belastingen", Skills: []string{"belastingen"}, Escalation: esc, Strategy: routing.RoundRobin},
		},
		Agents: ags,
		Traffic: []Traffic{
			tr("paspoort", 0.5), tr("afval", 0.3), tr("belastingen", 0.2),
		},
		Shifts: []Shift{
			{Agents: early, Start: 8 * time.Hour, End: 16 * time.Hour, Days: weekdays},
			{Agents: late, Start: 10 * time.Hour, End: 18*time.Hour + 30*time.Minute, Days: weekdays},
		},
		Duration:    7 * 24 * time.Hour,
		AnswerDelay: 3 * time.Second,
		NoAnswer:    0.02,
	}
}

func TestDeterministic(t *testing.T) {
	cfg := weekConfig()
	cfg.Duration = 2 * 24 * time.Hour
	a, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", b) {
		t.Errorf("two runs of one config differ:\n%+v\n%+v", a, b)
	}
	cfg.Seed++
	c, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", c) {
		t.Errorf("another seed gave the same run")
	}
}

func TestConfigErrors(t *testing.T) {
	ok := func() Config {
		return Config{Queues: []routing.Queue{{Name: "q"}}, Agents: agents(1),
			Traffic: []Traffic{{Queue: "q", PerHour: 1, HandleTime: Dist{Mean: time.Minute}}}, Contacts: 1}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no traffic", func(c *Config) { c.Traffic = nil }, "no traffic"},
		{"no stop", func(c *Config) { c.Contacts = 0 }, "to stop arrivals"},
		{"unknown queue", func(c *Config) { c.Traffic[0].Queue = "x" }, `unknown queue "x"`},
		{"two rates", func(c *Config) { c.Traffic[0].PerWeek = 5 }, "one of per hour and per week"},
		{"no handle time", func(c *Config) { c.Traffic[0].HandleTime.Mean = 0 }, "handle time must be positive"},
		{"bad profile", func(c *Config) { c.Traffic[0].Profile = []float64{0, -1} }, "profile weight -1"},
		{"empty profile", func(c *Config) { c.Traffic[0].Profile = []float64{0, 0} }, "profile has no weight"},
		{"lognormal without cv", func(c *Config) { c.Traffic[0].Patience = Dist{Mean: 1, Shape: LogNormal} }, "bad distribution"},
		{"unknown shift agent", func(c *Config) { c.Shifts = []Shift{{Agents: []string{"zz"}, Start: 0, End: time.Hour}} }, `unknown agent "zz"`},
		{"empty shift", func(c *Config) { c.Shifts = []Shift{{Start: time.Hour, End: time.Hour}} }, "distinct times of day"},
		{"no-answer chance", func(c *Config) { c.NoAnswer = 1 }, "no-answer chance"},
		{"router config", func(c *Config) { c.Queues = append(c.Queues, routing.Queue{Name: "q"}) }, "duplicate name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok()
			tt.change(&cfg)
			_, err := Run(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Run(ok()); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
