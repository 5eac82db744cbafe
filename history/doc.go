// Package history turns what happens to contacts and agents into the
// records package store keeps: the typed event log, one call record per
// contact (written whole at each milestone, the last write wins), the
// agents' state history, and Asterisk's queue_log, both as table rows and,
// if configured, as a queue_log text file in Asterisk's format so that
// existing reporting tools read kcc as they read Asterisk.
//
// A [Recorder] observes the router (it is a routing.Observer) and hears
// the lifecycle milestones routing does not see from the contact package
// (arrival, end of the IVR, end of the conversation and who ended it, RTP
// quality). It never blocks a call: records go to the store's group-commit
// writer, which buffers them while the database is away.
//
// Caller numbers are pseudonymised with HMAC-SHA-256 under a configured
// key, so a repeat caller is still recognised without the number being
// stored; raw numbers are kept only when configured, and then only in the
// call record and queue_log (the event log always gets the pseudonym).
//
// A [Retention] job deletes each kind of history after its retention
// period and replaces raw numbers with their pseudonyms after theirs: once
// at start and then daily, in the goroutine of whoever calls its Run.
package history
