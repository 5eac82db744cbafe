// Package sip is kcc's SIP edge, built on github.com/emiago/sipgo (imported
// as sipgo and sipmsg, because this package is called sip too).
//
// It owns:
//   - the listeners, UDP and TCP on one address, with a shield in front of
//     every handler: requests without From, To, Call-ID, CSeq or Via, with a
//     CSeq method that differs from the request's, another SIP version (505)
//     or a Require kcc lacks (420) never reach a handler; a panic in one
//     request's goroutine is recovered; the top Via is treated as carrying
//     rport, so answers go to the request's source address and port (UDP) or
//     back on its own connection (TCP); DNS lookups are disabled; new TCP
//     connections are refused except to phones registered over TCP; TCP
//     connections have an idle and a header-section timeout;
//   - incoming calls: an [Inbound] per INVITE, handed to a [Handler] that
//     owns the call until it returns (100 Trying is sent at once, the
//     handler answers, rejects or lets it ring); late offers (INVITE without
//     SDP, answer in the ACK); 503 while draining ([Server.Drain]);
//   - in-dialog requests of both directions, delivered through [Hooks]:
//     re-INVITE and UPDATE offers (refresh, hold, moved media), SIP INFO DTMF
//     (application/dtmf-relay and application/dtmf);
//   - session timers (RFC 4028): 422 below Min-SE, Session-Expires and
//     refresher in the 200, refreshes by UPDATE (or re-INVITE when the peer
//     does not allow UPDATE) when kcc is the refresher, BYE when the
//     caller's refresh does not come;
//   - the registrar ([Registrar]): digest authentication with MD5 and
//     SHA-256 (RFC 8760) offered per account in order, stateless nonces,
//     identical answers for unknown users and wrong passwords, one binding per
//     user holding the REGISTER's source address (NAT), expiry, and OPTIONS
//     keep-alives that unregister phones that stopped answering;
//   - ringing agents' phones ([Server.Dial] returning an [Outbound]), sent to
//     the address their REGISTER came from; in-dialog requests go to where
//     the other side's INVITE or 200 came from, never to a private Contact.
//
// The package knows nothing about flows, queues or media: SDP bodies pass
// through as bytes, and [Hooks] hand offers and keys to the call's owner.
// Only the call-lifecycle package and cmd/kcc import it.
//
// Goroutines: [Server.Run] owns the listeners, the registrar's expiry sweep
// and the keep-alive loop and returns when its context is done; sipgo runs
// each request in a goroutine of its own, and an INVITE's goroutine is the
// call's goroutine (it runs the Handler). An Inbound's session-timer
// goroutine ends with its dialog and is waited for before the INVITE's
// goroutine returns.
package sip
