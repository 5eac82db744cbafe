package store

import (
	"context"
	"fmt"
	"time"
)

// FlowVersion is one deployed version of an IVR flow: what a call record's
// FlowVersion names. Versions are saved synchronously, once each (saving
// the same id again changes nothing), and never updated.
type FlowVersion struct {
	ID       string // flows' version id: content hash prefix and load time
	Flow     string
	File     string
	Hash     string // SHA-256 of Source, hex
	Deployed time.Time
	Source   string // the flow file's text as it was deployed
}

// maxFlowSource bounds a stored flow file; flows refuses larger ones.
const maxFlowSource = 4 << 20

func (v *FlowVersion) validate() error {
	if v.ID == "" || v.Flow == "" {
		return fmt.Errorf("%w: flow version needs an id and a flow", ErrInvalid)
	}
	if len(v.Source) > maxFlowSource {
		return fmt.Errorf("%w: flow version %s: source of %d bytes", ErrInvalid, v.ID, len(v.Source))
	}
	if err := checkTexts("flow version id", v.ID, "flow", v.Flow, "flow file", v.File, "flow hash", v.Hash,
		"flow source", v.Source); err != nil {
		return err
	}
	return checkTime("flow version deployed", v.Deployed, true)
}

func (d dialect) saveFlowVersion(ctx context.Context, ex execer, v *FlowVersion) error {
	return ex.exec(ctx, `INSERT INTO flow_versions (id, flow, file, hash, deployed_us, source)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		v.ID, v.Flow, v.File, v.Hash, v.Deployed.UnixMicro(), v.Source)
}

func (d dialect) flowVersions(ctx context.Context, ex execer, flow string) ([]FlowVersion, error) {
	var out []FlowVersion
	err := queryAll(ctx, ex, "flow versions", func(r rows) error {
		var v FlowVersion
		var us int64
		if err := r.Scan(&v.ID, &v.Flow, &v.File, &v.Hash, &us, &v.Source); err != nil {
			return err
		}
		v.Deployed = time.UnixMicro(us).UTC()
		out = append(out, v)
		return nil
	}, `SELECT id, flow, file, hash, deployed_us, source FROM flow_versions WHERE flow = $1 ORDER BY deployed_us, id`, flow)
	return out, err
}

// SaveFlowVersion implements [Store].
func (s *SQLite) SaveFlowVersion(ctx context.Context, v FlowVersion) error {
	if err := v.validate(); err != nil {
		return fmt.Errorf("sqlite save flow version: %w", err)
	}
	if err := s.inTx(ctx, func(ex execer) error { return sqliteDialect.saveFlowVersion(ctx, ex, &v) }); err != nil {
		return fmt.Errorf("sqlite save flow version: %w", err)
	}
	return nil
}

// FlowVersions implements [Store].
func (s *SQLite) FlowVersions(ctx context.Context, flow string) ([]FlowVersion, error) {
	return sqliteDialect.flowVersions(ctx, s.ex(), flow)
}

// SaveFlowVersion implements [Store].
func (p *Postgres) SaveFlowVersion(ctx context.Context, v FlowVersion) error {
	if err := v.validate(); err != nil {
		return fmt.Errorf("postgres save flow version: %w", err)
	}
	if err := p.inTx(ctx, func(ex execer) error { return postgresDialect.saveFlowVersion(ctx, ex, &v) }); err != nil {
		return fmt.Errorf("postgres save flow version: %w", err)
	}
	return nil
}

// FlowVersions implements [Store].
func (p *Postgres) FlowVersions(ctx context.Context, flow string) (out []FlowVersion, err error) {
	err = p.read(ctx, func(ex execer) (err error) { out, err = postgresDialect.flowVersions(ctx, ex, flow); return })
	return out, err
}
