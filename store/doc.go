// Package store owns kcc's durable history: the typed event log, one record
// per contact, agent state history, the Asterisk-compatible queue_log (file
// format and table form), the audit log of admin and supervisor changes, and
// pending callbacks with their attempts.
//
// Two back ends implement [Store]: [SQLite] (the embedded default, one file,
// pure Go through modernc.org/sqlite) and [Postgres] (through pgx). Both apply
// the versioned migrations embedded in the binary when they open, inside one
// transaction, and refuse a database whose schema is newer than the binary.
// One conformance suite in the tests runs against both.
//
// Writes go through a [Writer]: callers append records without waiting for
// the disk, and one goroutine writes them in batches, one transaction (one
// fsync) per batch. The Writer never blocks a call: while the database is
// down or the disk is full, records wait in a bounded buffer and are retried;
// when the buffer is full, new records are refused, counted and logged as
// dropped. See [Writer] for exactly when a record counts as acknowledged.
//
// Callbacks are the exception: a resident who was promised a call back
// must get it after a crash, so [SQLite.SaveCallback],
// [SQLite.RecordCallbackAttempt] and [SQLite.FinishCallback] (and the same
// on [Postgres]) commit before they return, outside the Writer. They are
// rare (a few per minute at most), so the fsync each costs does not matter.
//
// Retention: [SQLite.Purge] deletes one kind of history older than a time
// in small batches, one transaction each, so the Writer is held up for
// milliseconds at a time, never for the whole delete; and
// [SQLite.PseudonymizeCallers] replaces raw caller numbers older than a time
// with their pseudonyms. The schedule and the periods belong to the caller
// (package history's Retention).
//
// Times are stored as Unix microseconds (UTC) in every table except the
// queue_log table, whose time column follows Asterisk's table form.
//
// Layer 2: store imports kcc/call, the standard library, zerolog and the two
// database drivers. The call-lifecycle package, api and cmd/kcc may import it;
// the pure layer-1 packages (ivr, routing) must not.
package store
