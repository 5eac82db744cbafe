// Package media is kcc's own RTP layer: SDP offer/answer (RFC 3264) on
// pion/sdp, including late offers and in-dialog updates (re-INVITE/UPDATE
// with hold and re-latching); RTP sessions on pion/rtp; G.711 A-law and
// µ-law; keys received by RFC 4733, in-band tone (Goertzel) and SIP INFO
// (InjectDigit) merged into one de-duplicated stream; keys sent as RFC 4733
// events or tones; paced playback of pre-encoded frames with comfort
// silence in between; symmetric-RTP latching; RTCP reports and statistics;
// and a relay between two legs (Bridge) that transcodes between the laws
// and regenerates keys.
//
// An [Engine] owns the RTP port pool and the pacer: one scheduler goroutine per
// CPU, started by [Engine.Run], that sends every session's next frame (audio,
// silence or key) at an absolute 20 ms deadline and its RTCP report every
// few seconds. There is no ticker per call. Each [Session] owns one UDP
// socket plus its RTCP neighbour and one reader goroutine for each;
// [Session.Close] stops them and returns the ports.
//
// The send and relay paths do not allocate per packet: headers are marshalled
// into a per-session buffer and frames are shared read-only between calls.
//
// media is a layer-1 package (DESIGN.md §2): it imports only kcc/call from kcc
// and may be imported by the sip edge, the call lifecycle package, prompts and
// cmd. It knows nothing about SIP dialogs; callers map its errors to SIP
// responses (ErrBadSDP → 400, ErrNoCodec → 488, ErrNoPorts → 486/503).
package media
