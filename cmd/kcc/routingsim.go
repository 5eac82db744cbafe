package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"kcc/config"
	"kcc/routing"
	"kcc/routing/sim"
)

const routingUsage = `usage:
  kcc routing simulate [--config FILE] [--per-week 9000] [--agents 25] [--aht 6m] [--patience 3m]
                       [--mix paspoort=40,afval=30,...] [--weeks 1] [--seed 1]
      what-if: contacts arrive Monday to Friday 08:00-20:00 over the configured queues (in the --mix
      proportions; equal without it), handled by --agents agents with every queue's skills who work
      those hours; prints service level, ASA and abandonment per queue. Runs the real router.`

// routingCmd runs "kcc routing ...".
func routingCmd(_ context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "simulate" {
		return errors.New(routingUsage)
	}
	fs := flag.NewFlagSet("routing simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (default: compiled-in defaults)")
	perWeek := fs.Float64("per-week", 9000, "contacts per week")
	agents := fs.Int("agents", 25, "agents on shift Monday to Friday 08:00-20:00")
	aht := fs.Duration("aht", 6*time.Minute, "mean handle time (talk), exponential")
	patience := fs.Duration("patience", 3*time.Minute, "mean patience of waiting callers, exponential; 0 = infinite")
	mix := fs.String("mix", "", "share of contacts per queue, e.g. paspoort=40,afval=30 (default: equal)")
	weeks := fs.Int("weeks", 1, "weeks to simulate")
	seed := fs.Uint64("seed", 1, "random seed (runs are deterministic per seed)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	sc, err := simConfig(cfg, *perWeek, *agents, *aht, *patience, *mix, *weeks, *seed)
	if err != nil {
		return err
	}
	res, err := sim.Run(sc)
	if err != nil {
		return err
	}
	return res.WriteText(stdout)
}

// simConfig builds the what-if scenario from the configured queues.
func simConfig(cfg config.Config, perWeek float64, agents int, aht, patience time.Duration, mix string, weeks int, seed uint64) (sim.Config, error) {
	if perWeek <= 0 || agents <= 0 || aht <= 0 || patience < 0 || weeks <= 0 || weeks > 52 {
		return sim.Config{}, errors.New("routing simulate: --per-week, --agents, --aht and --weeks (1-52) must be positive, --patience not negative")
	}
	share := map[string]float64{}
	if mix != "" {
		for _, kv := range strings.Split(mix, ",") {
			k, v, ok := strings.Cut(kv, "=")
			f, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil || f < 0 {
				return sim.Config{}, fmt.Errorf("routing simulate: --mix %q: want queue=share,...", kv)
			}
			share[k] = f
		}
	}
	var total float64
	for _, q := range cfg.Queues {
		if mix == "" {
			share[q.Name] = 1
		}
		total += share[q.Name]
	}
	for name := range share {
		if !slicesContainsQueue(cfg.Queues, name) {
			return sim.Config{}, fmt.Errorf("routing simulate: --mix names queue %q, which is not configured", name)
		}
	}
	if total <= 0 {
		return sim.Config{}, errors.New("routing simulate: no contacts in any queue")
	}
	// Monday to Friday 08:00-20:00: 60 open hours a week.
	profile := make([]float64, 168)
	for d := range 5 {
		for h := 8; h < 20; h++ {
			profile[d*24+h] = 1
		}
	}
	sc := sim.Config{Seed: seed, Router: routing.Config{RingTimeout: cfg.Routing.RingTimeout, WrapUp: cfg.Routing.WrapUp},
		Duration: time.Duration(weeks) * 7 * 24 * time.Hour}
	var skills []string
	for _, q := range cfg.Queues {
		sc.Queues = append(sc.Queues, routing.Queue{Name: q.Name, Topic: q.Topic, Skills: q.Skills})
		skills = append(skills, q.Skills...)
		if share[q.Name] > 0 {
			sc.Traffic = append(sc.Traffic, sim.Traffic{Queue: q.Name, PerWeek: perWeek * share[q.Name] / total, Profile: profile,
				HandleTime: sim.Dist{Mean: aht}, Patience: sim.Dist{Mean: patience}})
		}
	}
	shift := sim.Shift{Start: 8 * time.Hour, End: 20 * time.Hour,
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
	for i := range agents {
		id := fmt.Sprintf("a%03d", i+1)
		sc.Agents = append(sc.Agents, routing.Agent{ID: id, Name: id, Skills: skills})
		shift.Agents = append(shift.Agents, id)
	}
	sc.Shifts = []sim.Shift{shift}
	return sc, nil
}

func slicesContainsQueue(qs []config.Queue, name string) bool {
	for _, q := range qs {
		if q.Name == name {
			return true
		}
	}
	return false
}
