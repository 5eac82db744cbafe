// Package sip is kcc's SIP edge, built on github.com/emiago/sipgo (imported
// as sipgo and sipmsg, because this package is called sip too).
//
// It owns the listeners (UDP and TCP on one address), a sanity shield that
// every request passes before any handler sees it, the INVITE server side
// (an [Inbound] per incoming call, handed to a [Handler] that owns the call
// until it returns), the registrar with digest authentication and a location
// store ([Registrar]), and the client side that rings agents' phones
// ([Server.Dial] returning an [Outbound]).
//
// The package knows nothing about flows, queues or media: SDP bodies pass
// through as bytes. Only the call-lifecycle package and cmd/kcc import it.
//
// Goroutines: [Server.Run] owns the listeners and the registrar's expiry
// sweep and returns when its context is done; sipgo runs each request in a
// goroutine of its own, and an INVITE's goroutine is the call's goroutine
// (it runs the Handler).
package sip
