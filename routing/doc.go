// Package routing owns the contact centre's routing state: queues, agents
// and their skills with proficiency 1-5, the agent state machine (logged
// out, available, ringing, on call, wrap-up, busy elsewhere, paused with a
// reason), the waiting contacts in queue order, the offers that ring an
// agent for a contact, and the wait estimates callers hear.
//
// The package is pure: it performs no SIP, RTP, HTTP or SQL and starts no
// goroutines of its own. Time comes from an injected [Clock], agents are
// reached through a [Line] that the call-lifecycle layer implements, and every
// state change is reported as an [Event] to an optional [Observer]. This keeps
// routing deterministic, so it can be tested with testing/synctest and run in
// a simulator (package routing/sim).
//
// Matching keeps one invariant: no waiting contact without a ringing offer
// has an available agent it may go to. A contact that joins, escalates or
// loses its offer picks among the available agents by its queue's
// [Strategy] (longest idle, most skilled, least talk time, round robin,
// random), preferring agents it has not rung yet. An agent that becomes
// available takes the most urgent contact over every queue it serves:
// highest priority, then longest wait × queue weight. Within a queue,
// contacts are ordered by priority, then by first queue time.
//
// Escalation steps ("bullseye") lower a queue's minimum proficiency or add
// alternative skill groups after a contact has waited a while; they fire on
// clock timers, also while an offer rings, and the wider set counts from the
// next offer. An unanswered or declined offer moves on while the contact
// keeps its place; Config.MaxMisses pauses an agent after that many misses
// in a row. After a call the agent wraps up (its own time, else the queue's,
// else Config's, plus extra after a care call); an agent in wrap-up, busy or
// paused is never counted available. A pause asked for during a call or
// wrap-up starts when they end, and only Unpause ends a pause.
//
// [Router.Estimate] gives a waiting caller's expected wait by the
// queue-length estimator with abandonment, learnt from the queue's recent
// handle times and abandonments, with a confidence rule for announcing it
// ("about N minutes" or "more than N minutes"). The estimate made when a
// contact joins is carried in its events next to the wait it got, for
// calibration. At a queue's MaxWait the router tells the [OverflowHandler];
// the lifecycle layer then moves the contact ([Router.Move]), offers a
// callback or ends it.
//
// A callback keeps the caller's place: [Router.Callback] turns a waiting
// contact into a virtual one whose caller has hung up, with the same
// position, first queue time, escalation level and priority. It is offered
// like any other contact, with [Offer.Callback] set so the lifecycle layer
// reserves the agent and calls the caller back; it never reaches MaxWait,
// and it still counts in the positions and wait estimates of the callers
// behind it. A callback reloaded after a restart is enqueued with
// [Contact.Callback] and its first queue time.
//
// A queue's [Queue.JoinEmpty] and [Queue.LeaveEmpty] policies (Asterisk's
// joinempty and leavewhenempty) say when a queue without agents refuses
// callers ([ErrQueueEmpty]) and when its waiting callers leave it
// ([ContactExitedEmpty], [EmptyHandler]). Leaving is checked on the state
// change that emptied the queue, not by polling, and spares callbacks.
//
// Effects (Line calls, overflow and empty-queue notices and Observer
// events) are collected while the router's lock is held and run after it is
// released, in the order they were produced, by whichever goroutine is not
// already running them. Line, OverflowHandler, EmptyHandler and Observer may
// therefore call back into the Router.
//
// Layer 1: routing imports only kcc/call and the standard library (plus
// zerolog). The call-lifecycle package, api, cmd and simulators may import it.
package routing
