package report

import (
	"context"
	"fmt"
	"time"

	"kcc/call"
	"kcc/store"
)

// Source is what a report reads from the store; store.Store implements it.
type Source interface {
	Contacts(ctx context.Context, r store.Range) ([]store.Contact, error)
	QueueLog(ctx context.Context, r store.Range) ([]store.QueueLogEntry, error)
	AgentStates(ctx context.Context, agent string, r store.Range) ([]store.AgentState, error)
}

// Build reads the history opt asks for from src, one local day at a time
// (calling opt.Progress after each), and computes the report.
func Build(ctx context.Context, src Source, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	g, err := newGrid(opt.From, opt.To, opt.Interval, opt.Location)
	if err != nil {
		return nil, err
	}
	b := newBuilder(opt, g)
	if opt.Kind.agents() {
		states, err := src.AgentStates(ctx, "", store.Range{From: g.start().Add(-opt.AgentLookback), To: g.start()})
		if err != nil {
			return nil, fmt.Errorf("read agent states before %s: %w", g.start().Format("2006-01-02 15:04"), err)
		}
		for _, s := range states {
			b.initialState(s)
		}
		// The same lookback for agents known from queue_log only.
		rows, err := src.QueueLog(ctx, store.Range{From: g.start().Add(-opt.AgentLookback), To: g.start()})
		if err != nil {
			return nil, fmt.Errorf("read queue_log before %s: %w", g.start().Format("2006-01-02 15:04"), err)
		}
		b.queueLogAgents(rows, g.start().Add(-opt.AgentLookback), g.start())
	}
	for k := range g.days {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		from, to := g.dayRange(k)
		if err := readDay(ctx, src, b, from, to); err != nil {
			return nil, fmt.Errorf("read %s: %w", from.Format("2006-01-02"), err)
		}
		if opt.Progress != nil {
			opt.Progress(k+1, len(g.days))
		}
	}
	return b.finish(opt.Now()), nil
}

// readDay feeds the builder the contacts that entered a queue in
// [from, to), from Contact records and, for calls without one, from
// queue_log, and the agent state changes in [from, to).
func readDay(ctx context.Context, src Source, b *builder, from, to time.Time) error {
	contacts, err := src.Contacts(ctx, store.Range{From: from.Add(-b.opt.Lookback), To: to})
	if err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	known := make(map[call.ID]struct{}, len(contacts))
	for _, c := range contacts {
		known[c.ID] = struct{}{}
		if f, ok := contactFact(c); ok && !f.entered.Before(from) && f.entered.Before(to) {
			b.addFact(f)
		}
	}
	rows, err := src.QueueLog(ctx, store.Range{From: from, To: to.Add(b.opt.Lookahead)})
	if err != nil {
		return fmt.Errorf("queue_log: %w", err)
	}
	skip := func(id string) bool { _, ok := known[call.ID(id)]; return ok }
	for _, f := range queueLogFacts(rows, from, to, skip) {
		b.addFact(f)
	}
	if b.opt.Kind.agents() {
		states, err := src.AgentStates(ctx, "", store.Range{From: from, To: to})
		if err != nil {
			return fmt.Errorf("agent states: %w", err)
		}
		for _, s := range states {
			b.agentState(s)
		}
		b.queueLogAgents(rows, from, to)
	}
	return nil
}
