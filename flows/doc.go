// Package flows keeps the IVR flow versions kcc has deployed: it loads the
// configured flow files (or the built-in 14070 flow), compiles them with
// package ivr, and answers, per dialled number, which program a new call
// runs.
//
// Every successful load becomes a [Version] (its id is the content hash and
// the load time) and every version is kept, so an admin can go back in one
// step. A changed file, seen by [Library.Watch] or asked for with
// [Library.Reload] (the admin endpoint's "kcc flow reload"), is validated
// and compiled before anything changes; an invalid file is refused with all
// its problems, logged, and the running version stays. The swap is atomic:
// a call looks its program up once, when it is answered, and finishes on
// that version even if a new one arrives meanwhile.
//
// [Library.Rollback] returns a flow to its previous version and pins it:
// reloads keep the pinned version until a file with content never seen
// before appears, or [Library.Unpin] lifts the pin.
//
// flows sits above ivr and below the call lifecycle package (contact),
// which asks it for programs through an interface of its own; cmd/kcc
// builds it and the api package drives reloads and rollbacks.
package flows
