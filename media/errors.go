package media

import "errors"

// Errors callers branch on. Everything else is wrapped with context and
// reported as is.
var (
	// ErrBadSDP means the SDP could not be parsed or violates RFC 4566
	// (for example an audio stream without any c= line). SIP: 400.
	ErrBadSDP = errors.New("bad sdp")

	// ErrNoCodec means no offered audio stream is usable: none is plain
	// RTP/AVP over IPv4 with PCMA or PCMU, or an answer rejected our stream.
	// SIP: 488 Not Acceptable Here.
	ErrNoCodec = errors.New("no acceptable audio stream")

	// ErrNoPorts means every RTP port of the configured range is in use or
	// could not be bound. SIP: 486 Busy Here (kcc never answers 503 here).
	ErrNoPorts = errors.New("no free rtp port")

	// ErrClosed is returned by operations on a closed session, by Play and
	// Loop when the engine's pacer has stopped, and by Bridge when either
	// leg is closed.
	ErrClosed = errors.New("media session closed")

	// ErrReplaced is returned by a Play or Loop whose output was taken over
	// by a later Play, Loop or Bridge on the same session.
	ErrReplaced = errors.New("playback replaced")

	// ErrBridged is returned by Play, Loop and Bridge on a session that is
	// already bridged.
	ErrBridged = errors.New("media session is bridged")
)
