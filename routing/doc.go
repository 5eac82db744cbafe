// Package routing owns the contact centre's routing state: queues, agents and
// their skills, the agent state machine (logged out, available, ringing, on
// call, wrap-up), the waiting contacts in queue order, and the offers that
// ring an agent for a contact.
//
// The package is pure: it performs no SIP, RTP, HTTP or SQL and starts no
// goroutines of its own. Time comes from an injected [Clock], agents are
// reached through a [Line] that the call-lifecycle layer implements, and every
// state change is reported as an [Event] to an optional [Observer]. This keeps
// routing deterministic, so it can be tested with testing/synctest and run in
// a simulator.
//
// A [Router] matches whenever something changes: a contact is enqueued, an
// agent becomes available, or an offer ends. Contacts are served oldest first
// across all queues; each goes to the longest-idle agent that has every skill
// its queue requires. An unanswered offer moves on after the ring timeout
// while the contact keeps its place at the head of the queue.
//
// Effects (Line calls and Observer events) are collected while the router's
// lock is held and run after it is released, in the order they were produced,
// by whichever goroutine is not already running them. Line and Observer may
// therefore call back into the Router.
//
// Layer 1: routing imports only kcc/call and the standard library (plus
// zerolog). The call-lifecycle package, api, cmd and simulators may import it.
package routing
