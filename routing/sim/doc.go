// Package sim is a discrete-event simulator of the contact centre's routing:
// callers arrive (Poisson, with an hourly profile), wait with a patience,
// talk for a handle time; agents log in and out by a schedule. It drives the
// real routing.Router through a fake Line and a virtual clock, so what it
// reports is what kcc's router would do: service level, average speed of
// answer and abandonment per queue, and how well the router's wait
// estimates match the waits callers got.
//
// A run is deterministic for its Config (including Seed): one goroutine, no
// sleeps, time jumps from event to event. Run answers what-if questions
// ("9,000 contacts a week with 25 agents") and backs `kcc routing simulate`.
//
// Layer 1: sim imports kcc/routing, kcc/call and the standard library.
// Commands and tests may import it.
package sim
