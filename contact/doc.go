// Package contact owns one resident's contact from the INVITE to the agent's
// wrap-up: it answers the call, runs the IVR program for the dialled number,
// queues the caller with the router while hold music plays, rings the agent
// the router picks (INVITE with the X-KCC-* headers), bridges the two media
// legs and ends both when either side hangs up.
//
// [Service] is the sip.Handler for incoming calls and the routing.Line the
// router rings agents through. Each contact runs in its INVITE's goroutine;
// the goroutines it starts (ringing an agent, playing a prompt while digits
// are watched) belong to that contact and are waited for before it returns.
//
// It sits above sip, media, prompts, ivr and routing and below cmd/kcc,
// which is the only package that imports it.
package contact
