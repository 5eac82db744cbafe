package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Data names a kind of history that has its own retention period.
type Data string

// The kinds of history [SQLite.Purge] and [Postgres.Purge] delete.
const (
	DataEvents      Data = "events"
	DataContacts    Data = "contacts"
	DataAgentStates Data = "agent_states"
	DataQueueLog    Data = "queue_log"
	DataAudit       Data = "audit"
	// DataCallbacks are finished callbacks (with their attempts), aged by
	// when they finished. Pending callbacks are never purged.
	DataCallbacks Data = "callbacks"
)

// DefaultPurgeBatch is the batch size of Purge and PseudonymizeCallers when
// none is given: small enough that one transaction holds SQLite's write
// lock for milliseconds, so the Writer's batches wait at most that long.
const DefaultPurgeBatch = 1000

// purgeSQL returns the statements that delete one batch of d older than
// $1, at most $2 rows. They run in one transaction; the first may be a
// preparation (the attempts of the callbacks deleted next).
func purgeSQL(d Data) ([]string, error) {
	del := func(table, key, timeCol string) []string {
		return []string{fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s IN (SELECT %[2]s FROM %[1]s WHERE %[3]s < $1 LIMIT $2)`,
			table, key, timeCol)}
	}
	switch d {
	case DataEvents, DataAgentStates, DataQueueLog, DataAudit:
		return del(string(d), "id", "time_us"), nil
	case DataContacts:
		return del("contacts", "contact_id", "arrival_us"), nil
	case DataCallbacks:
		// Ordered so both statements pick the same callbacks; a callback
		// finishing meanwhile is newer than $1 and not among them.
		pick := `SELECT id FROM callbacks WHERE state <> 'pending' AND finished_us < $1 ORDER BY finished_us, id LIMIT $2`
		return []string{
			`DELETE FROM callback_attempts WHERE callback_id IN (` + pick + `)`,
			`DELETE FROM callbacks WHERE id IN (` + pick + `)`,
		}, nil
	}
	return nil, fmt.Errorf("%w: no retention for data %q", ErrInvalid, d)
}

// purge deletes d older than before in batches, each in its own
// transaction (through inTx), and returns how many rows (of the main
// table) were deleted.
func purge(ctx context.Context, inTx func(context.Context, func(execer) error) error, d Data, before time.Time, batch int) (int64, error) {
	stmts, err := purgeSQL(d)
	if err != nil {
		return 0, err
	}
	if err := checkTime("purge before", before, true); err != nil {
		return 0, err
	}
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("purge %s: %w", d, err)
		}
		var n int64
		err := inTx(ctx, func(ex execer) error {
			for _, s := range stmts {
				var err error
				if n, err = ex.execN(ctx, s, before.UnixMicro(), int64(batch)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("purge %s before %s: %w", d, before.UTC().Format(time.RFC3339), err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

// Pseudonymizer replaces raw caller numbers; see PseudonymizeCallers.
type Pseudonymizer struct {
	// Prefix starts every pseudonym: values that start with it are
	// pseudonyms already and are not read again.
	Prefix string
	// Pseudonym returns what to store instead of raw. Returning raw
	// unchanged (for example for "anonymous") leaves the value as it is.
	Pseudonym func(raw string) string
}

// pseudonymize replaces the raw caller numbers older than before in the
// contact records (caller) and in queue_log ENTERQUEUE rows (the caller-id
// field, data2), batch rows per transaction. It returns how many values it
// replaced.
func pseudonymize(ctx context.Context, inTx func(context.Context, func(execer) error) error,
	before time.Time, p Pseudonymizer, batch int) (int64, error) {
	if p.Pseudonym == nil || p.Prefix == "" {
		return 0, fmt.Errorf("%w: pseudonymizer needs a prefix and a function", ErrInvalid)
	}
	if err := checkTime("pseudonymize before", before, true); err != nil {
		return 0, err
	}
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	var total int64
	// Contacts, keyed by contact_id: the cursor moves past values the
	// function leaves as they are, so each run reads every row once.
	cursor := ""
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("pseudonymize: %w", err)
		}
		type row struct{ key, caller string }
		var got []row
		var changed int64
		err := inTx(ctx, func(ex execer) error {
			got = got[:0]
			err := queryAll(ctx, ex, "contact callers", func(r rows) error {
				var x row
				if err := r.Scan(&x.key, &x.caller); err != nil {
					return err
				}
				got = append(got, x)
				return nil
			}, `SELECT contact_id, caller FROM contacts WHERE arrival_us < $1 AND contact_id > $2 AND caller <> ''
				AND substr(caller, 1, length($3)) <> $3 ORDER BY contact_id LIMIT $4`,
				before.UnixMicro(), cursor, p.Prefix, int64(batch))
			if err != nil {
				return err
			}
			changed = 0
			for _, x := range got {
				if ps := p.Pseudonym(x.caller); ps != x.caller {
					if err := checkText("caller pseudonym", ps); err != nil {
						return err
					}
					n, err := ex.execN(ctx, `UPDATE contacts SET caller = $2 WHERE contact_id = $1 AND caller = $3`, x.key, ps, x.caller)
					if err != nil {
						return fmt.Errorf("update contact caller: %w", err)
					}
					changed += n
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("pseudonymize contact callers: %w", err)
		}
		total += changed
		if len(got) < batch {
			break
		}
		cursor = got[len(got)-1].key
	}
	// queue_log ENTERQUEUE rows, keyed by id. data keeps the whole data
	// string, data2 its second field: both change.
	var idCursor int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("pseudonymize: %w", err)
		}
		type row struct {
			id   int64
			data string
		}
		var got []row
		var changed int64
		err := inTx(ctx, func(ex execer) error {
			got = got[:0]
			err := queryAll(ctx, ex, "queue_log callers", func(r rows) error {
				var x row
				if err := r.Scan(&x.id, &x.data); err != nil {
					return err
				}
				got = append(got, x)
				return nil
			}, `SELECT id, data FROM queue_log WHERE event = 'ENTERQUEUE' AND time_us < $1 AND id > $2 AND data2 <> ''
				AND substr(data2, 1, length($3)) <> $3 ORDER BY id LIMIT $4`,
				before.UnixMicro(), idCursor, p.Prefix, int64(batch))
			if err != nil {
				return err
			}
			changed = 0
			for _, x := range got {
				fields := strings.Split(x.data, "|")
				if len(fields) < 2 {
					continue
				}
				ps := p.Pseudonym(fields[1])
				if ps == fields[1] {
					continue
				}
				if err := checkText("caller pseudonym", ps); err != nil {
					return err
				}
				if strings.ContainsRune(ps, '|') {
					return fmt.Errorf("%w: caller pseudonym %q contains '|'", ErrInvalid, ps)
				}
				fields[1] = ps
				e := QueueLogEntry{Data: fields}
				n, err := ex.execN(ctx, `UPDATE queue_log SET data = $2, data2 = $3 WHERE id = $1 AND data = $4`,
					x.id, strings.Join(fields, "|"), e.TableData()[1], x.data)
				if err != nil {
					return fmt.Errorf("update queue_log caller: %w", err)
				}
				changed += n
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("pseudonymize queue_log callers: %w", err)
		}
		total += changed
		if len(got) < batch {
			break
		}
		idCursor = got[len(got)-1].id
	}
	return total, nil
}
