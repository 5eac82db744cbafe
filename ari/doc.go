// Package ari is kcc's own client for the Asterisk REST Interface (ARI),
// used in Asterisk mode, where agents are PJSIP endpoints on Asterisk. It
// owns the typed REST calls kcc needs (channels, bridges, playbacks,
// endpoints, device states, Asterisk info), the events WebSocket of one
// Stasis app, the decoding of its events into concrete types, and their
// delivery to subscriptions.
//
// [Client] is concrete and has many methods; consumers should declare the
// few they use as their own small interface. ari is a layer-1 package: it
// imports only the standard library, zerolog, gobwas/ws and kcc/call, and
// may be imported by the call-lifecycle layer, the Asterisk adapter and cmd.
// It knows nothing about SIP or RTP.
//
// # Concurrency
//
// All Client and Subscription methods are safe for concurrent use.
// [Client.Run] owns the only long-lived goroutines: one reader per
// connection and one keepalive that pings and closes the connection when
// ctx ends. Run waits for both before it returns. REST calls run on the
// caller's goroutine, each bounded by Config.Timeout and the caller's ctx.
//
// Events reach each [Subscription] in the order Asterisk sent them. The
// reader never blocks on a consumer: a subscription whose buffer is full
// is closed with [ErrOverflow] (see [Subscription.Err]) rather than losing
// events silently. [Client.ConnState] reports connection changes.
//
// # Asterisk behaviour this package handles
//
// Verified on Asterisk 22 (see the project's ARI research notes):
//
//   - Subscribe before execute. Events for a new channel, bridge or
//     playback can arrive before the HTTP reply that creates it. Every
//     create call therefore takes an id chosen by the caller, who
//     subscribes to it first.
//   - While no WebSocket is connected, Asterisk rejects inbound calls to the
//     app (603) and drops originated agents as soon as they answer. Run
//     reconnects fast (ReconnectMin), and [Client.Originate] and
//     [Client.ExternalMedia] refuse with [ErrNotConnected] while the socket
//     is down. Nothing is replayed after a reconnect; consumers re-read
//     state (ConnState documents the loop).
//   - Parameters that take several values are comma-joined, because
//     Asterisk keeps only the last of repeated parameters; ids containing
//     commas are rejected.
//   - Errors come as {"message":...} or, for "Allocation failed",
//     {"error":...}; both end up in [Error.Message]. A channel already gone
//     during a hang-up race is [ErrNotFound]; a channel not yet in the app
//     is [ErrNotInStasis] (422).
//   - Timestamps have a colon-less offset ("2026-11-27T08:28:44.740+0000"),
//     which time.RFC3339 rejects; [ParseTime] accepts both.
//   - Asterisk sends channel events twice when the app also subscribes to
//     the channel's endpoint; identical frames among the last 64 are
//     dropped.
//   - A second WebSocket for the same app name silently takes over
//     (ApplicationReplaced); the client logs it as an error and delivers
//     the event.
//   - A REFER from a PJSIP phone is handed to the app when the channel's
//     PJSIP_TRANSFER_HANDLING() is "ari-only" (set it as an originate
//     variable): Asterisk answers 202 and NOTIFY 100 itself, raises
//     [ChannelTransfer], and sends the final NOTIFY only when the app calls
//     [Client.TransferProgress] (query parameter "states"). It then echoes
//     the report as a second ChannelTransfer with State set (and echoes
//     channel_unavailable as channel_declined). A blind transfer's event
//     carries only the Refer-To user part, not the URI.
//   - An attended transfer (Replaces) whose consulted call is a channel in
//     the app, originated by it or sent in by the dialplan
//     (Stasis(app,...)), is raised as ChannelTransfer with that channel as
//     refer_to.destination_channel. A global dialplan variable the app sets
//     with [Client.SetGlobalVariable] is how it switches the dialplan, e.g.
//     to send an agent's calls to colleagues into the app.
//   - Credentials go in the Authorization header (REST) and the api_key
//     query parameter (WebSocket, as verified); neither the password nor
//     the query ever appears in errors or logs.
package ari
