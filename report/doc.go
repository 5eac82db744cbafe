// Package report owns kcc's historical reports and the import of Asterisk
// queue_log files as history: the computation behind `kcc report` and
// `kcc import queue_log`. It reads what package store holds and writes
// nothing but imported queue_log rows. cmd/kcc and api may import it; it
// imports only store, call and the standard library.
//
// # Sources
//
// A report is built from two kinds of history, combined into one list of
// per-contact facts (queue, queue entry, outcome, wait, talk, wrap-up,
// agent) that feed the same computation:
//
//   - kcc's own calls: the one [store.Contact] record per contact is the
//     source of truth. A contact counts in the queue it was last queued to
//     (the record holds one queue), at its first queue entry. A contact
//     that never entered a queue (closed or hung up in the IVR) is not in
//     the queue report.
//   - history from Asterisk (imported with [Import]): queue_log rows whose
//     callid has no Contact record. Each ENTERQUEUE starts a fact; CONNECT
//     makes it answered (wait = holdtime, data1); COMPLETECALLER,
//     COMPLETEAGENT, BLINDTRANSFER and ATTENDEDTRANSFER end the talk
//     (calltime); ABANDON makes it abandoned (waittime, data3);
//     EXITWITHTIMEOUT, EXITEMPTY and EXITWITHKEY make it an overflow (the
//     caller left the queue for another destination of the dial plan).
//     queue_log knows neither wrap-up nor callbacks, so imported calls have
//     no wrap-up time and no callbacks. Agent rows feed the agent report
//     (see below).
//
// kcc writes queue_log rows for its own calls too; they are skipped because
// a Contact record exists for their callid, so no call counts twice.
//
// # Queue report definitions
//
// Per queue and interval (a contact counts in the interval of its queue
// entry, whatever the time it was answered or ended):
//
//	offered          contacts that entered the queue
//	answered         answered by an agent
//	abandoned        the caller hung up while waiting (short abandons included)
//	short abandoned  abandoned with wait <= ShortAbandon (default 5 s)
//	callbacks        left the queue with a callback request
//	overflows        left the queue for another destination (max wait, exit key, empty queue)
//	service level    answered with wait <= Target / (offered - short abandoned)
//	ASA              sum of the waits of answered contacts / answered
//	AHT              sum of (talk + wrap-up) / handled, where handled are the
//	                 answered contacts whose conversation has ended
//	max wait         the longest wait of any contact that left the queue
//
// A contact still waiting (or whose end was never recorded) counts as
// offered only; one closed or failed after entering the queue counts as
// offered and not answered.
//
// The service level is the "offered" definition that workforce planning
// tools (Erlang A/C calculators) assume, with short abandons taken out of
// the denominator: a caller who hangs up within seconds never gave an agent
// a chance. Abandons after those seconds, callbacks and overflows count as
// not answered within the target. Target is per queue (default 60 s); both
// thresholds are inclusive ("within"). When the denominator is zero the
// service level is undefined: "-" in the table, empty in CSV, null in JSON.
//
// # Agent report
//
// Per agent and interval, from the agents' state history (store.AgentState,
// cut at interval edges): logged-in time (every state but logged-out) and
// within it available, ringing, talk (on-call), wrap-up, busy (on a call
// kcc did not route) and paused time, the latter also by pause reason; and
// calls answered (contacts answered by the agent, in the interval of the
// answer, of those that entered a queue within the report). An agent's state at the start of the report is its last state
// in the AgentLookback (default 24 h) before it; an agent in no state is
// logged out. A state still open at the end is cut at the report's end or
// at Now, whichever is earlier.
//
// History imported from Asterisk has no agent states; its agents' time
// comes from their queue_log rows instead, read the same way (with the same
// lookback): AGENTLOGIN/AGENTLOGOFF (and the old AGENTCALLBACK* forms) log
// an agent in and out, ADDMEMBER/REMOVEMEMBER make it a member of a queue
// (logged in while it is a member of any), PAUSE/UNPAUSE pause it in one
// queue (or in all, with queue NONE, and PAUSEALL/UNPAUSEALL), and CONNECT
// to COMPLETECALLER, COMPLETEAGENT, BLINDTRANSFER or ATTENDEDTRANSFER is
// talk. An agent is on a call (talk, even if paused meanwhile) while it has
// one, else paused when it is paused in every queue it is a member of (the
// reason of its latest pause), else available; a static member that never
// logs in counts only its calls. QUEUESTART (Asterisk restarted) ends every
// call in progress. queue_log has no wrap-up, ringing or busy time. Where
// kcc's own agent states have the agent logged in, they win over queue_log
// for that interval (kcc writes queue_log lines for its agents too), so an
// agent moving from Asterisk to kcc is counted once. An agent with neither
// (not even a queue_log row) gets talk and wrap-up from its answered calls,
// counted in the interval of the answer.
//
// # Intervals
//
// Intervals are aligned to local midnight in the report's time zone
// (default Europe/Amsterdam). The interval must divide 24 hours; 24 hours
// means the calendar day, 23 or 25 hours long on the days daylight saving
// time changes. From is rounded down and To up to interval edges.
package report
