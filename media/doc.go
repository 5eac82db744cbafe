// Package media is kcc's own RTP layer: SDP offer/answer (RFC 3264) on
// pion/sdp, RTP sessions on pion/rtp, G.711 A-law and µ-law, RFC 4733 DTMF
// reception, paced playback of pre-encoded frames, symmetric-RTP latching and a
// same-codec relay between two legs (Bridge).
//
// An [Engine] owns the RTP port pool and the pacer: one scheduler goroutine per
// CPU, started by [Engine.Run], that sends every playing session's next frame
// at an absolute 20 ms deadline. There is no ticker per call. Each [Session]
// owns one UDP socket (plus its reserved RTCP neighbour) and one reader
// goroutine; [Session.Close] stops it and returns the ports.
//
// The send and relay paths do not allocate per packet: headers are marshalled
// into a per-session buffer and frames are shared read-only between calls.
//
// media is a layer-1 package (DESIGN.md §2): it imports only kcc/call from kcc
// and may be imported by the sip edge, the call lifecycle package, prompts and
// cmd. It knows nothing about SIP dialogs; callers map its errors to SIP
// responses (ErrBadSDP → 400, ErrNoCodec → 488, ErrNoPorts → 486/503).
package media
