package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"kcc/call"
)

// ErrBadEvent is wrapped by DecodeEvent for a frame that is not an ARI
// event: not JSON, no type, no valid timestamp, or a known type without the
// resource it is about.
var ErrBadEvent = errors.New("ari: bad event")

// Event is one decoded ARI event. The concrete types below are values;
// switch on them. Types this package does not model arrive as Unknown.
// The set is closed: only this package implements Event.
type Event interface {
	// EventType returns the ARI type, e.g. "StasisStart".
	EventType() string
	// EventTime returns when Asterisk raised the event.
	EventTime() time.Time
	// refs lists the resources the event concerns, for Filter.
	refs() refs
}

// Header holds the fields every event carries.
type Header struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	// Timestamp is parsed by DecodeEvent (Asterisk's format is not RFC
	// 3339, which encoding/json expects), so JSON skips it.
	Timestamp time.Time `json:"-"`
	// AsteriskID identifies the Asterisk instance, e.g. "02:fc:00:00:00:01".
	AsteriskID string `json:"asterisk_id"`
}

// EventType returns h.Type.
func (h Header) EventType() string { return h.Type }

// EventTime returns h.Timestamp.
func (h Header) EventTime() time.Time { return h.Timestamp }

func (h *Header) setHeader(v Header) { *h = v }

// refs names the resources an event is about. Dial and bridge events
// concern two channels or a channel and a bridge; playbacks concern their
// target too.
type refs struct {
	channels [2]string
	bridge   string
	playback string
	endpoint string // "PJSIP/1001"
	device   string
}

// StasisStart: a channel entered the app. An originated channel enters when
// it is answered; a /channels/create or externalMedia channel at once.
type StasisStart struct {
	Header
	// Args are the app arguments (appArgs split on commas, or the
	// externalMedia data).
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left the app. For channels that came from the
// dialplan no ChannelDestroyed follows; this is the end of the app's
// control.
type StasisEnd struct {
	Header
	Channel Channel `json:"channel"`
}

// ChannelStateChange: Channel.State changed (e.g. Ringing, Up).
type ChannelStateChange struct {
	Header
	Channel Channel `json:"channel"`
}

// ChannelDestroyed: a channel is gone. Cause is the Q.850 cause that
// explains an agent leg's failure: 17 busy, 18 no response, 19 no answer
// (also Asterisk's own originate timeout), 21 rejected, 16 normal.
type ChannelDestroyed struct {
	Header
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause int     `json:"tech_cause,omitempty"` // SIP status, e.g. 486
	Channel   Channel `json:"channel"`
}

// ChannelHangupRequest: a hang-up was requested. For ARI hang-ups it says
// cause 32 and Soft whatever the reason; ChannelDestroyed has the real one.
type ChannelHangupRequest struct {
	Header
	Cause     int     `json:"cause,omitempty"`
	TechCause int     `json:"tech_cause,omitempty"`
	Soft      bool    `json:"soft,omitempty"`
	Channel   Channel `json:"channel"`
}

// Dial reports progress of a dial: DialStatus goes "" → RINGING → ANSWER,
// BUSY, NOANSWER and so on. Caller is absent for originate.
type Dial struct {
	Header
	Peer       Channel  `json:"peer"`
	Caller     *Channel `json:"caller,omitempty"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	DialStatus string   `json:"dialstatus"`
	DialString string   `json:"dialstring,omitempty"`
	Forward    string   `json:"forward,omitempty"`
}

// ChannelEnteredBridge: a channel joined a bridge.
type ChannelEnteredBridge struct {
	Header
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// ChannelLeftBridge: a channel left a bridge. The bridge stays.
type ChannelLeftBridge struct {
	Header
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// BridgeDestroyed: a bridge is gone.
type BridgeDestroyed struct {
	Header
	Bridge Bridge `json:"bridge"`
}

// ChannelVarset: a variable changed. Asterisk sends many unasked
// (BRIDGEPEER, STASISSTATUS, RTPAUDIOQOS...).
type ChannelVarset struct {
	Header
	Variable string `json:"variable"`
	Value    string `json:"value"`
	// Channel is nil for global variables.
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelDtmfReceived: a key was pressed on a channel (sent when the key
// ends).
type ChannelDtmfReceived struct {
	Header
	Digit      call.Digit `json:"digit"`
	DurationMs int        `json:"duration_ms"`
	Channel    Channel    `json:"channel"`
}

// UnmarshalJSON decodes the digit from Asterisk's one-character string.
func (e *ChannelDtmfReceived) UnmarshalJSON(b []byte) error {
	var w struct {
		Digit      string  `json:"digit"`
		DurationMs int     `json:"duration_ms"`
		Channel    Channel `json:"channel"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.Digit) != 1 || !call.Digit(w.Digit[0]).Valid() {
		return fmt.Errorf("dtmf digit %q is not one DTMF key", truncate(w.Digit, 8))
	}
	e.Digit, e.DurationMs, e.Channel = call.Digit(w.Digit[0]), w.DurationMs, w.Channel
	return nil
}

// MarshalJSON writes the digit back as a string.
func (e ChannelDtmfReceived) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Header
		Digit      string  `json:"digit"`
		DurationMs int     `json:"duration_ms"`
		Channel    Channel `json:"channel"`
	}{e.Header, e.Digit.String(), e.DurationMs, e.Channel})
}

// PlaybackStarted: a playback began.
type PlaybackStarted struct {
	Header
	Playback Playback `json:"playback"`
}

// PlaybackContinuing: a playback moved on to its next media URI.
type PlaybackContinuing struct {
	Header
	Playback Playback `json:"playback"`
}

// PlaybackFinished: a playback ended, Playback.State "done" or "failed".
type PlaybackFinished struct {
	Header
	Playback Playback `json:"playback"`
}

// EndpointStateChange: an endpoint went online or offline, or its
// ChannelIDs changed (every call start and end).
type EndpointStateChange struct {
	Header
	Endpoint Endpoint `json:"endpoint"`
}

// DeviceStateChanged: a device's state changed.
type DeviceStateChanged struct {
	Header
	DeviceState DeviceState `json:"device_state"`
}

// ApplicationReplaced: another WebSocket took over the app name; this
// connection receives nothing more. Two kcc instances share an app name.
type ApplicationReplaced struct {
	Header
}

// Unknown is any event type this package does not model. Raw is the whole
// frame, for logging or decoding by the consumer.
type Unknown struct {
	Header
	Raw json.RawMessage `json:"raw"`
}

func (e StasisStart) refs() refs          { return refs{channels: [2]string{e.Channel.ID}} }
func (e StasisEnd) refs() refs            { return refs{channels: [2]string{e.Channel.ID}} }
func (e ChannelStateChange) refs() refs   { return refs{channels: [2]string{e.Channel.ID}} }
func (e ChannelDestroyed) refs() refs     { return refs{channels: [2]string{e.Channel.ID}} }
func (e ChannelHangupRequest) refs() refs { return refs{channels: [2]string{e.Channel.ID}} }
func (e ChannelDtmfReceived) refs() refs  { return refs{channels: [2]string{e.Channel.ID}} }
func (e Dial) refs() refs {
	r := refs{channels: [2]string{e.Peer.ID}}
	if e.Caller != nil {
		r.channels[1] = e.Caller.ID
	}
	return r
}
func (e ChannelEnteredBridge) refs() refs {
	return refs{channels: [2]string{e.Channel.ID}, bridge: e.Bridge.ID}
}
func (e ChannelLeftBridge) refs() refs {
	return refs{channels: [2]string{e.Channel.ID}, bridge: e.Bridge.ID}
}
func (e BridgeDestroyed) refs() refs { return refs{bridge: e.Bridge.ID} }
func (e ChannelVarset) refs() refs {
	if e.Channel == nil {
		return refs{}
	}
	return refs{channels: [2]string{e.Channel.ID}}
}
func (e PlaybackStarted) refs() refs     { return playbackRefs(e.Playback) }
func (e PlaybackContinuing) refs() refs  { return playbackRefs(e.Playback) }
func (e PlaybackFinished) refs() refs    { return playbackRefs(e.Playback) }
func (e EndpointStateChange) refs() refs { return refs{endpoint: e.Endpoint.Name()} }
func (e DeviceStateChanged) refs() refs  { return refs{device: e.DeviceState.Name} }
func (e ApplicationReplaced) refs() refs { return refs{} }
func (e Unknown) refs() refs             { return refs{} }

// playbackRefs makes a playback event concern its target too, so a
// subscription for a channel sees the playbacks on it.
func playbackRefs(p Playback) refs {
	r := refs{playback: p.ID}
	if id, ok := strings.CutPrefix(p.TargetURI, "channel:"); ok {
		r.channels[0] = id
	} else if id, ok := strings.CutPrefix(p.TargetURI, "bridge:"); ok {
		r.bridge = id
	}
	return r
}

// DecodeEvent decodes one WebSocket frame from Asterisk. A frame of a type
// the package does not model decodes as Unknown, never as an error. The
// error (wrapping ErrBadEvent) is for frames that are not ARI events:
// invalid JSON, no type, no valid timestamp, or a known type missing the
// resource it is about.
func DecodeEvent(data []byte) (Event, error) {
	var h struct {
		Type        string          `json:"type"`
		Application string          `json:"application"`
		Timestamp   json.RawMessage `json:"timestamp"`
		AsteriskID  string          `json:"asterisk_id"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	if h.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrBadEvent)
	}
	if len(h.Timestamp) == 0 {
		return nil, fmt.Errorf("%w: %s has no timestamp", ErrBadEvent, truncate(h.Type, 64))
	}
	var ts timestamp
	if err := ts.UnmarshalJSON(h.Timestamp); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadEvent, truncate(h.Type, 64), err)
	}
	if time.Time(ts).IsZero() {
		return nil, fmt.Errorf("%w: %s has no timestamp", ErrBadEvent, truncate(h.Type, 64))
	}
	hdr := Header{Type: h.Type, Application: h.Application, Timestamp: time.Time(ts), AsteriskID: h.AsteriskID}

	var (
		ev  Event
		err error
	)
	switch h.Type {
	case "StasisStart":
		ev, err = decodeAs[StasisStart](data, hdr)
	case "StasisEnd":
		ev, err = decodeAs[StasisEnd](data, hdr)
	case "ChannelStateChange":
		ev, err = decodeAs[ChannelStateChange](data, hdr)
	case "ChannelDestroyed":
		ev, err = decodeAs[ChannelDestroyed](data, hdr)
	case "ChannelHangupRequest":
		ev, err = decodeAs[ChannelHangupRequest](data, hdr)
	case "ChannelDtmfReceived":
		ev, err = decodeAs[ChannelDtmfReceived](data, hdr)
	case "Dial":
		ev, err = decodeAs[Dial](data, hdr)
	case "ChannelEnteredBridge":
		ev, err = decodeAs[ChannelEnteredBridge](data, hdr)
	case "ChannelLeftBridge":
		ev, err = decodeAs[ChannelLeftBridge](data, hdr)
	case "BridgeDestroyed":
		ev, err = decodeAs[BridgeDestroyed](data, hdr)
	case "ChannelVarset":
		ev, err = decodeAs[ChannelVarset](data, hdr)
	case "PlaybackStarted":
		ev, err = decodeAs[PlaybackStarted](data, hdr)
	case "PlaybackContinuing":
		ev, err = decodeAs[PlaybackContinuing](data, hdr)
	case "PlaybackFinished":
		ev, err = decodeAs[PlaybackFinished](data, hdr)
	case "EndpointStateChange":
		ev, err = decodeAs[EndpointStateChange](data, hdr)
	case "DeviceStateChanged":
		ev, err = decodeAs[DeviceStateChanged](data, hdr)
	case "ChannelTransfer":
		ev, err = decodeAs[ChannelTransfer](data, hdr)
	case "ApplicationReplaced":
		ev = ApplicationReplaced{Header: hdr}
	default:
		ev = Unknown{Header: hdr, Raw: json.RawMessage(append([]byte(nil), data...))}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadEvent, h.Type, err)
	}
	if err := checkRefs(ev); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadEvent, h.Type, err)
	}
	return ev, nil
}

// decodeAs decodes data into a T and stamps it with the parsed header.
func decodeAs[T any, P interface {
	*T
	setHeader(Header)
}](data []byte, h Header) (Event, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	P(&v).setHeader(h)
	ev, ok := any(v).(Event)
	if !ok {
		return nil, fmt.Errorf("%T is not an Event", v)
	}
	return ev, nil
}

// checkRefs rejects a known event without the resource it is about, so
// consumers can rely on, e.g., StasisStart.Channel.ID being set.
func checkRefs(ev Event) error {
	r := ev.refs()
	var missing string
	switch e := ev.(type) {
	case StasisStart, StasisEnd, ChannelStateChange, ChannelDestroyed, ChannelHangupRequest, ChannelDtmfReceived:
		if r.channels[0] == "" {
			missing = "channel id"
		}
	case Dial:
		if e.Peer.ID == "" {
			missing = "peer id"
		}
	case ChannelEnteredBridge, ChannelLeftBridge:
		if r.channels[0] == "" || r.bridge == "" {
			missing = "channel or bridge id"
		}
	case BridgeDestroyed:
		if r.bridge == "" {
			missing = "bridge id"
		}
	case PlaybackStarted, PlaybackContinuing, PlaybackFinished:
		if r.playback == "" {
			missing = "playback id"
		}
	case EndpointStateChange:
		if e.Endpoint.Technology == "" || e.Endpoint.Resource == "" {
			missing = "endpoint technology or resource"
		}
	case DeviceStateChanged:
		if r.device == "" {
			missing = "device name"
		}
	case ChannelVarset:
		if e.Channel != nil && e.Channel.ID == "" {
			missing = "channel id"
		}
	case ChannelTransfer:
		if r.channels[0] == "" {
			missing = "referred_by source channel id"
		}
	}
	if missing != "" {
		return fmt.Errorf("no %s", missing)
	}
	return nil
}
