// Package contact owns one resident's contact from the INVITE to the agent's
// wrap-up: it admits the call (call limit: 486 Busy Here or the overload
// prompt, never 503), answers it (also late offers), runs the IVR program
// for the dialled number, queues the caller with the router while "please
// hold" and hold music play, rings the agent the router picks (INVITE with
// the X-KCC-* headers and the topic in the From display name; the caller's
// codec offered first, the other G.711 law after it), bridges the two media
// legs (transcoding and DTMF regeneration are media's), plays hold music to
// the caller while the agent holds the call, and ends both legs when either
// side hangs up. Keys from SIP INFO and new offers from re-INVITE/UPDATE
// reach the media sessions through sip.Hooks.
//
// Agents come in two kinds: phones registered on kcc (rung by SIP through
// the sip package) and agents on Asterisk (rung through ARI by
// [AsteriskLine], whose doc says why the caller's leg stays in kcc). Both
// hand the contact an answered agentConn and a media session to bridge.
//
// [Service] is the sip.Handler for incoming calls and the routing.Line the
// router rings agents through. Each contact runs in its INVITE's goroutine;
// the goroutines it starts (ringing an agent, playing a prompt while digits
// are watched, hold music while queued) belong to that contact and are
// waited for before it returns. [Service.HangUpAll] ends every contact at
// the end of a drain.
//
// It sits above sip, ari, media, prompts, ivr and routing and below cmd/kcc,
// which is the only package that imports it.
package contact
