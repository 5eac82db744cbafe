package store

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"kcc/call"
)

// The SQL below is shared by both back ends: both understand $n
// placeholders, multi-row VALUES and ON CONFLICT. Where PostgreSQL needs a
// type (jsonb, timestamp) the dialect adds a cast.

//go:embed migrations
var migrationFiles embed.FS

// execer is the little both drivers' connections and transactions offer.
type execer interface {
	exec(ctx context.Context, sql string, args ...any) error
	// execN is exec that also returns the number of rows it changed.
	execN(ctx context.Context, sql string, args ...any) (int64, error)
	query(ctx context.Context, sql string, args ...any) (rows, error)
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type dialect struct {
	name string
	// casts maps table.column to the cast its parameter needs.
	casts map[string]string
	// positional: bulk inserts use "?" rather than "$n". SQLite treats
	// "$n" as a named parameter and looks each name up in a list, which
	// makes preparing a statement with thousands of them quadratic (more
	// than half the CPU of a batch, measured).
	positional bool
	// greatest names the two-argument maximum function.
	greatest string
}

var (
	sqliteDialect   = dialect{name: "sqlite", positional: true, greatest: "MAX"}
	postgresDialect = dialect{name: "postgres", greatest: "GREATEST", casts: map[string]string{
		"events.data": "::jsonb", "audit.details": "::jsonb", "queue_log.time": "::timestamp",
	}}
)

// maxParams keeps one statement under both back ends' parameter limits
// (SQLite 32766, PostgreSQL 65535) and its text small.
const maxParams = 4000

// table describes a multi-row insert.
type table struct {
	name     string
	cols     []string
	conflict string // the ON CONFLICT clause
}

func (d dialect) insertSQL(t table, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.name)
	b.WriteString(" (")
	b.WriteString(strings.Join(t.cols, ", "))
	b.WriteString(") VALUES ")
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c, col := range t.cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if d.positional {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
			b.WriteString(d.casts[t.name+"."+col])
			n++
		}
		b.WriteByte(')')
	}
	b.WriteByte(' ')
	b.WriteString(t.conflict)
	return b.String()
}

// insertRows inserts n rows in statements of at most maxParams parameters;
// row appends the values of row i to args.
func (d dialect) insertRows(ctx context.Context, ex execer, t table, n int, row func(i int, args []any) []any) error {
	per := max(1, maxParams/len(t.cols))
	args := make([]any, 0, min(n, per)*len(t.cols))
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		if err := ex.exec(ctx, d.insertSQL(t, end-start), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
	}
	return nil
}

func upsert(key string, cols []string) string {
	var b strings.Builder
	b.WriteString("ON CONFLICT (")
	b.WriteString(key)
	b.WriteString(") DO UPDATE SET ")
	first := true
	for _, c := range cols {
		if c == key {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(c)
		b.WriteString(" = excluded.")
		b.WriteString(c)
	}
	return b.String()
}

const doNothing = "ON CONFLICT (id) DO NOTHING"

var (
	eventsTable = table{name: "events", cols: []string{"id", "contact_id", "kind", "time_us", "data"}, conflict: doNothing}
	contactCols = []string{"contact_id", "caller", "arrival_us", "ivr_end_us", "queue_entry_us", "answer_us", "end_us",
		"wrapup_end_us", "offers", "flow_version", "ivr_path", "topic", "queue", "agent", "outcome", "wait_ms", "talk_ms",
		"wrapup_ms", "predicted_wait_ms", "caller_loss", "caller_jitter_us", "agent_loss", "agent_jitter_us"}
	contactsTable    = table{name: "contacts", cols: contactCols, conflict: upsert("contact_id", contactCols)}
	agentStatesTable = table{name: "agent_states", cols: []string{"id", "agent", "state", "reason", "time_us"}, conflict: doNothing}
	queueLogTable    = table{name: "queue_log", cols: []string{"id", "time", "time_us", "callid", "queuename", "agent", "event",
		"data", "data1", "data2", "data3", "data4", "data5"}, conflict: doNothing}
	auditTable = table{name: "audit", cols: []string{"id", "time_us", "who", "what", "details"}, conflict: doNothing}
)

// microsOrNil stores a zero time as NULL.
func microsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromMicrosPtr(us *int64) time.Time {
	if us == nil {
		return time.Time{}
	}
	return fromMicros(*us)
}

// lastByKey keeps the last of several upserts of the same key: PostgreSQL
// refuses one statement that updates a row twice, and the last write wins
// anyway.
func lastByKey[T any](in []T, key func(T) string) []T {
	seen := make(map[string]bool, len(in))
	out := make([]T, 0, len(in))
	for i := len(in) - 1; i >= 0; i-- {
		k := key(in[i])
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, in[i])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// writeBatch writes b through ex, which the caller has put in a transaction.
func (d dialect) writeBatch(ctx context.Context, ex execer, b *Batch) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if err := d.insertRows(ctx, ex, eventsTable, len(b.Events), func(i int, a []any) []any {
		e := &b.Events[i]
		return append(a, e.ID, string(e.ContactID), e.Kind, e.Time.UnixMicro(), jsonText(e.Data))
	}); err != nil {
		return err
	}
	contacts := lastByKey(b.Contacts, func(c Contact) string { return string(c.ID) })
	if err := d.insertRows(ctx, ex, contactsTable, len(contacts), func(i int, a []any) []any {
		c := &contacts[i]
		return append(a, string(c.ID), c.Caller, c.Arrival.UnixMicro(), microsOrNil(c.IVREnd), microsOrNil(c.QueueEntry),
			microsOrNil(c.Answer), microsOrNil(c.End), microsOrNil(c.WrapUpEnd), int64(c.Offers), c.FlowVersion,
			c.IVRPath, c.Topic, c.Queue, c.Agent, string(c.Outcome), c.Wait.Milliseconds(), c.Talk.Milliseconds(),
			c.WrapUp.Milliseconds(), c.PredictedWait.Milliseconds(), c.CallerLeg.Loss, c.CallerLeg.Jitter.Microseconds(),
			c.AgentLeg.Loss, c.AgentLeg.Jitter.Microseconds())
	}); err != nil {
		return err
	}
	if err := d.insertRows(ctx, ex, agentStatesTable, len(b.AgentStates), func(i int, a []any) []any {
		s := &b.AgentStates[i]
		return append(a, s.ID, s.Agent, s.State, s.Reason, s.Time.UnixMicro())
	}); err != nil {
		return err
	}
	if err := d.insertRows(ctx, ex, queueLogTable, len(b.QueueLog), func(i int, a []any) []any {
		q := &b.QueueLog[i]
		td := q.TableData()
		return append(a, q.ID, DBTime(q.Time), q.Time.UnixMicro(), q.CallID, q.Queue, q.Agent, q.Event,
			strings.Join(q.Data, "|"), td[0], td[1], td[2], td[3], td[4])
	}); err != nil {
		return err
	}
	return d.insertRows(ctx, ex, auditTable, len(b.Audit), func(i int, a []any) []any {
		e := &b.Audit[i]
		return append(a, e.ID, e.Time.UnixMicro(), e.Who, e.What, jsonText(e.Details))
	})
}

const maxSeqSQL = `SELECT COALESCE(MAX(m), 0) FROM (
	SELECT MAX(id) AS m FROM events
	UNION ALL SELECT MAX(id) FROM agent_states
	UNION ALL SELECT MAX(id) FROM queue_log
	UNION ALL SELECT MAX(id) FROM audit) AS t`

// queryAll runs sql and calls scan for each row.
func queryAll(ctx context.Context, ex execer, what string, scan func(r rows) error, sql string, args ...any) error {
	r, err := ex.query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", what, err)
	}
	defer r.Close()
	for r.Next() {
		if err := scan(r); err != nil {
			return fmt.Errorf("scan %s: %w", what, err)
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

func queryInt(ctx context.Context, ex execer, what, sql string, args ...any) (int64, error) {
	var n int64
	err := queryAll(ctx, ex, what, func(r rows) error { return r.Scan(&n) }, sql, args...)
	return n, err
}

func (d dialect) maxSeq(ctx context.Context, ex execer) (int64, error) {
	return queryInt(ctx, ex, "max seq", maxSeqSQL)
}

func (d dialect) events(ctx context.Context, ex execer, q EventQuery) ([]Event, error) {
	sql := `SELECT id, contact_id, kind, time_us, data FROM events WHERE id > $1`
	args := []any{q.AfterID}
	if q.ContactID != "" {
		sql += ` AND contact_id = $3`
	}
	sql += ` ORDER BY id LIMIT $2`
	args = append(args, int64(q.limit()))
	if q.ContactID != "" {
		args = append(args, string(q.ContactID))
	}
	var out []Event
	err := queryAll(ctx, ex, "events", func(r rows) error {
		var e Event
		var cid, data string
		var us int64
		if err := r.Scan(&e.ID, &cid, &e.Kind, &us, &data); err != nil {
			return err
		}
		e.ContactID, e.Time, e.Data = call.ID(cid), fromMicros(us), json.RawMessage(data)
		out = append(out, e)
		return nil
	}, sql, args...)
	return out, err
}

const contactSelect = `SELECT contact_id, caller, arrival_us, ivr_end_us, queue_entry_us, answer_us, end_us,
	wrapup_end_us, offers, flow_version, ivr_path, topic, queue, agent, outcome, wait_ms, talk_ms,
	wrapup_ms, predicted_wait_ms, caller_loss, caller_jitter_us, agent_loss, agent_jitter_us FROM contacts `

func scanContact(r rows) (Contact, error) {
	var c Contact
	var id, outcome string
	var arrival, offers, wait, talk, wrap, pred, cj, aj int64
	var ivrEnd, qEntry, answer, end, wrapEnd *int64
	if err := r.Scan(&id, &c.Caller, &arrival, &ivrEnd, &qEntry, &answer, &end, &wrapEnd, &offers, &c.FlowVersion,
		&c.IVRPath, &c.Topic, &c.Queue, &c.Agent, &outcome, &wait, &talk, &wrap, &pred, &c.CallerLeg.Loss, &cj,
		&c.AgentLeg.Loss, &aj); err != nil {
		return Contact{}, err
	}
	c.ID, c.Outcome, c.Offers = call.ID(id), Outcome(outcome), int(offers)
	c.Arrival, c.IVREnd, c.QueueEntry = fromMicros(arrival), fromMicrosPtr(ivrEnd), fromMicrosPtr(qEntry)
	c.Answer, c.End, c.WrapUpEnd = fromMicrosPtr(answer), fromMicrosPtr(end), fromMicrosPtr(wrapEnd)
	c.Wait, c.Talk = time.Duration(wait)*time.Millisecond, time.Duration(talk)*time.Millisecond
	c.WrapUp, c.PredictedWait = time.Duration(wrap)*time.Millisecond, time.Duration(pred)*time.Millisecond
	c.CallerLeg.Jitter, c.AgentLeg.Jitter = time.Duration(cj)*time.Microsecond, time.Duration(aj)*time.Microsecond
	return c, nil
}

func (d dialect) contact(ctx context.Context, ex execer, id call.ID) (Contact, error) {
	var out []Contact
	err := queryAll(ctx, ex, "contact", func(r rows) error {
		c, err := scanContact(r)
		out = append(out, c)
		return err
	}, contactSelect+`WHERE contact_id = $1`, string(id))
	if err != nil {
		return Contact{}, err
	}
	if len(out) == 0 {
		return Contact{}, fmt.Errorf("contact %s: %w", id, ErrNotFound)
	}
	return out[0], nil
}

func (d dialect) contacts(ctx context.Context, ex execer, rg Range) ([]Contact, error) {
	from, to := rg.bounds()
	var out []Contact
	err := queryAll(ctx, ex, "contacts", func(r rows) error {
		c, err := scanContact(r)
		out = append(out, c)
		return err
	}, contactSelect+`WHERE arrival_us >= $1 AND arrival_us < $2 ORDER BY arrival_us, contact_id`, from, to)
	return out, err
}

func (d dialect) countCallerContacts(ctx context.Context, ex execer, caller string, rg Range) (int, error) {
	from, to := rg.bounds()
	n, err := queryInt(ctx, ex, "caller contacts",
		`SELECT COUNT(*) FROM contacts WHERE caller = $1 AND arrival_us >= $2 AND arrival_us < $3`, caller, from, to)
	return int(n), err
}

func (d dialect) agentStates(ctx context.Context, ex execer, agent string, rg Range) ([]AgentState, error) {
	from, to := rg.bounds()
	sql := `SELECT id, agent, state, reason, time_us FROM agent_states WHERE time_us >= $1 AND time_us < $2`
	args := []any{from, to}
	if agent != "" {
		sql += ` AND agent = $3`
		args = append(args, agent)
	}
	sql += ` ORDER BY time_us, id`
	var out []AgentState
	err := queryAll(ctx, ex, "agent states", func(r rows) error {
		var s AgentState
		var us int64
		if err := r.Scan(&s.ID, &s.Agent, &s.State, &s.Reason, &us); err != nil {
			return err
		}
		s.Time = fromMicros(us)
		out = append(out, s)
		return nil
	}, sql, args...)
	return out, err
}

func (d dialect) queueLog(ctx context.Context, ex execer, rg Range) ([]QueueLogEntry, error) {
	from, to := rg.bounds()
	var out []QueueLogEntry
	err := queryAll(ctx, ex, "queue_log", func(r rows) error {
		var e QueueLogEntry
		var us int64
		var data string
		if err := r.Scan(&e.ID, &us, &e.CallID, &e.Queue, &e.Agent, &e.Event, &data); err != nil {
			return err
		}
		e.Time = fromMicros(us)
		if data != "" {
			e.Data = strings.Split(data, "|")
		}
		out = append(out, e)
		return nil
	}, `SELECT id, time_us, callid, queuename, agent, event, data FROM queue_log
		WHERE time_us >= $1 AND time_us < $2 ORDER BY id`, from, to)
	return out, err
}

func (d dialect) audit(ctx context.Context, ex execer, rg Range) ([]AuditEntry, error) {
	from, to := rg.bounds()
	var out []AuditEntry
	err := queryAll(ctx, ex, "audit", func(r rows) error {
		var e AuditEntry
		var us int64
		var details string
		if err := r.Scan(&e.ID, &us, &e.Who, &e.What, &details); err != nil {
			return err
		}
		e.Time, e.Details = fromMicros(us), json.RawMessage(details)
		out = append(out, e)
		return nil
	}, `SELECT id, time_us, who, what, details FROM audit WHERE time_us >= $1 AND time_us < $2 ORDER BY id`, from, to)
	return out, err
}

// migration is one embedded schema step, migrations/<dialect>/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in order. Versions must run
// 1, 2, 3, ... without gaps, so a missing file is a build-time mistake that
// the tests catch rather than a silently skipped step.
func (d dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.name)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations of %s: version %d where %d was expected", d.name, m.version, i+1)
		}
	}
	return out, nil
}

const schemaMigrationsSQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_us BIGINT  NOT NULL
)`

// migrate brings the schema up to date through ex, which the caller has put
// in a transaction (and, on PostgreSQL, holding a lock against a second kcc
// migrating at the same time).
func (d dialect) migrate(ctx context.Context, ex execer, now time.Time) error {
	ms, err := d.migrations()
	if err != nil {
		return err
	}
	if err := ex.exec(ctx, schemaMigrationsSQL); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	cur, err := queryInt(ctx, ex, "schema version", `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	if err != nil {
		return err
	}
	if latest := len(ms); int(cur) > latest {
		return fmt.Errorf("%w: database at version %d, this kcc knows up to %d", ErrSchemaTooNew, cur, latest)
	}
	for _, m := range ms[cur:] {
		if err := ex.exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if err := ex.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)`,
			int64(m.version), m.name, now.UnixMicro()); err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
	}
	return nil
}

func (d dialect) schemaVersion(ctx context.Context, ex execer) (int, error) {
	n, err := queryInt(ctx, ex, "schema version", `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	return int(n), err
}
