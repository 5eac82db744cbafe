// Package incident holds the incident messages that admins put into the IVR
// without editing a flow: during a power outage or after a mailing to
// residents, "we know about the outage in Escamp" plays at a flow's
// incident slot for new calls, and stops by itself when it expires.
//
// A [Board] maps slot names (the names flows use in their incident nodes)
// to a [Message]: the prompts to play and when they stop. It is set through
// the admin API and read by every call; it has no I/O of its own.
// (The supervisor issue adds an incident queue and staff pool on top.)
package incident
