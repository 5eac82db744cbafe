package ari

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OriginateRequest describes an outgoing channel (an agent leg) that enters
// the client's app when it is answered.
type OriginateRequest struct {
	// ChannelID is the new channel's id, chosen by the caller so that it
	// can Subscribe to it before originating. Required.
	ChannelID string
	// OtherChannelID is the id of the ;2 half for Local channels.
	OtherChannelID string
	// Endpoint to dial, e.g. "PJSIP/1001". Required.
	Endpoint string
	// AppArgs become StasisStart.Args. They may not contain commas,
	// because Asterisk splits them on commas.
	AppArgs []string
	// CallerID is the identity the agent's phone shows, e.g.
	// `"Customer" <+4930123456>`. Without it the INVITE says Anonymous.
	CallerID string
	// Timeout is how long the endpoint rings (whole seconds, rounded up).
	// Zero means Asterisk's default of 30 s; negative means no timeout.
	Timeout time.Duration
	// Originator is the caller's channel id; it links the legs (codec
	// preference, linkedid).
	Originator string
	// Formats restricts the codecs offered, e.g. "alaw", "ulaw".
	Formats []string
	// Variables are set on the new channel before it dials, e.g.
	// "PJSIP_HEADER(add,X-KCC-Topic)": "billing" adds a SIP header.
	Variables map[string]string
	// ReportedVariables are set like Variables and also reported in the
	// channelvars of every event for the channel.
	ReportedVariables map[string]string
}

// Originate creates a channel to r.Endpoint in the client's app. The
// returned channel is still Down; StasisStart (with r.AppArgs) arrives only
// when the endpoint answers, and ChannelDestroyed with a cause if it does
// not. It fails with ErrNotConnected while the events WebSocket is down.
func (c *Client) Originate(ctx context.Context, r OriginateRequest) (Channel, error) {
	if err := checkID("channel id", r.ChannelID); err != nil {
		return Channel{}, fmt.Errorf("originate: %w", err)
	}
	if r.Endpoint == "" {
		return Channel{}, errors.New("originate: endpoint is empty")
	}
	q := url.Values{
		"endpoint":  {r.Endpoint},
		"app":       {c.cfg.App},
		"channelId": {r.ChannelID},
	}
	if len(r.AppArgs) > 0 {
		for _, a := range r.AppArgs {
			if strings.Contains(a, ",") {
				return Channel{}, fmt.Errorf("originate: app argument %q contains a comma", truncate(a, 64))
			}
		}
		q.Set("appArgs", strings.Join(r.AppArgs, ","))
	}
	if r.OtherChannelID != "" {
		if err := checkID("other channel id", r.OtherChannelID); err != nil {
			return Channel{}, fmt.Errorf("originate: %w", err)
		}
		q.Set("otherChannelId", r.OtherChannelID)
	}
	if r.CallerID != "" {
		q.Set("callerId", r.CallerID)
	}
	if r.Timeout != 0 {
		q.Set("timeout", timeoutSeconds(r.Timeout))
	}
	if r.Originator != "" {
		if err := checkID("originator", r.Originator); err != nil {
			return Channel{}, fmt.Errorf("originate: %w", err)
		}
		q.Set("originator", r.Originator)
	}
	if len(r.Formats) > 0 {
		f, err := joinList("format", r.Formats)
		if err != nil {
			return Channel{}, fmt.Errorf("originate: %w", err)
		}
		q.Set("formats", f)
	}
	if !c.IsConnected() {
		return Channel{}, fmt.Errorf("originate %s: %w", r.ChannelID, ErrNotConnected)
	}
	var ch Channel
	if err := c.do(ctx, http.MethodPost, "/channels", q, variablesBody(r.Variables, r.ReportedVariables), &ch); err != nil {
		return Channel{}, fmt.Errorf("originate %s to %s: %w", r.ChannelID, r.Endpoint, err)
	}
	return ch, nil
}

// timeoutSeconds renders d as ARI's whole-second timeout, -1 for none.
func timeoutSeconds(d time.Duration) string {
	if d < 0 {
		return "-1"
	}
	s := math.Ceil(d.Seconds())
	return strconv.FormatInt(int64(s), 10)
}

// variablesBody builds {"variables":{...}} or nil when there are none.
func variablesBody(vars, reported map[string]string) any {
	if len(vars) == 0 && len(reported) == 0 {
		return nil
	}
	type reportedVar struct {
		Value        string `json:"value"`
		ReportEvents bool   `json:"report_events"`
	}
	m := make(map[string]any, len(vars)+len(reported))
	for k, v := range vars {
		m[k] = v
	}
	for k, v := range reported {
		m[k] = reportedVar{Value: v, ReportEvents: true}
	}
	return map[string]any{"variables": m}
}

// Ring indicates ringing to an inbound channel that is not answered yet
// (the phone gets 180 Ringing), e.g. while the app rings another party for
// it.
func (c *Client) Ring(ctx context.Context, channelID string) error {
	if err := checkID("channel id", channelID); err != nil {
		return fmt.Errorf("ring: %w", err)
	}
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/ring", nil, nil, nil)
}

// Answer answers an inbound channel (the caller gets 200 OK).
func (c *Client) Answer(ctx context.Context, channelID string) error {
	if err := checkID("channel id", channelID); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/answer", nil, nil, nil)
}

// HangupReason selects the cause Asterisk signals when it hangs up a
// channel. On an unanswered inbound call it picks the SIP final response.
type HangupReason string

// Hang-up reasons ARI accepts, with the SIP response an unanswered inbound
// caller receives.
const (
	HangupNormal            HangupReason = "normal"             // 603 before answer, BYE after
	HangupBusy              HangupReason = "busy"               // 486
	HangupCongestion        HangupReason = "congestion"         // 503
	HangupNoAnswer          HangupReason = "no_answer"          // 480
	HangupTimeout           HangupReason = "timeout"            //
	HangupRejected          HangupReason = "rejected"           // 403
	HangupUnallocated       HangupReason = "unallocated"        // 404
	HangupNormalUnspecified HangupReason = "normal_unspecified" //
	HangupNumberIncomplete  HangupReason = "number_incomplete"  //
	HangupCodecMismatch     HangupReason = "codec_mismatch"     // 488
	HangupInterworking      HangupReason = "interworking"       //
	HangupFailure           HangupReason = "failure"            //
	// HangupAnsweredElsewhere cancels a ringing agent with "Call completed
	// elsewhere", so most phones show no missed call.
	HangupAnsweredElsewhere HangupReason = "answered_elsewhere"
)

var hangupReasons = []HangupReason{
	HangupNormal, HangupBusy, HangupCongestion, HangupNoAnswer, HangupTimeout,
	HangupRejected, HangupUnallocated, HangupNormalUnspecified, HangupNumberIncomplete,
	HangupCodecMismatch, HangupInterworking, HangupFailure, HangupAnsweredElsewhere,
}

// Hangup hangs up a channel with reason (empty means Asterisk's default,
// normal). A channel that is already gone gives an error matching
// ErrNotFound, which during hang-up races is usually fine.
func (c *Client) Hangup(ctx context.Context, channelID string, reason HangupReason) error {
	if err := checkID("channel id", channelID); err != nil {
		return fmt.Errorf("hangup: %w", err)
	}
	var q url.Values
	if reason != "" {
		if !slices.Contains(hangupReasons, reason) {
			return fmt.Errorf("hangup %s: unknown reason %q", channelID, truncate(string(reason), 32))
		}
		q = url.Values{"reason": {string(reason)}}
	}
	return c.do(ctx, http.MethodDelete, "/channels/"+seg(channelID), q, nil, nil)
}

// Channel returns the current snapshot of a channel.
func (c *Client) Channel(ctx context.Context, channelID string) (Channel, error) {
	if err := checkID("channel id", channelID); err != nil {
		return Channel{}, err
	}
	var ch Channel
	err := c.do(ctx, http.MethodGet, "/channels/"+seg(channelID), nil, nil, &ch)
	return ch, err
}

// Channels lists every channel Asterisk has, not only the app's.
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var chs []Channel
	err := c.do(ctx, http.MethodGet, "/channels", nil, nil, &chs)
	return chs, err
}

// SetVariable sets a channel variable or writes a dialplan function, e.g.
// "PJSIP_HEADER(add,X-KCC-Queue)" on a created channel before it dials.
func (c *Client) SetVariable(ctx context.Context, channelID, name, value string) error {
	if err := checkID("channel id", channelID); err != nil {
		return err
	}
	if name == "" {
		return errors.New("ari: set variable: name is empty")
	}
	q := url.Values{"variable": {name}, "value": {value}}
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/variable", q, nil, nil)
}

// GetVariable reads a channel variable or dialplan function, e.g.
// "PJSIP_HEADER(read,X-KCC-Call-ID)". An unset variable gives an error
// matching ErrNotFound.
func (c *Client) GetVariable(ctx context.Context, channelID, name string) (string, error) {
	if err := checkID("channel id", channelID); err != nil {
		return "", err
	}
	if name == "" {
		return "", errors.New("ari: get variable: name is empty")
	}
	var v struct {
		Value string `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, "/channels/"+seg(channelID)+"/variable", url.Values{"variable": {name}}, nil, &v)
	return v.Value, err
}

// StartMOH starts music on hold of class (empty: the default class) on a
// channel. Asterisk returns success for an unknown class and plays silence.
func (c *Client) StartMOH(ctx context.Context, channelID, class string) error {
	if err := checkID("channel id", channelID); err != nil {
		return err
	}
	var q url.Values
	if class != "" {
		q = url.Values{"mohClass": {class}}
	}
	return c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/moh", q, nil, nil)
}

// StopMOH stops music on hold on a channel.
func (c *Client) StopMOH(ctx context.Context, channelID string) error {
	if err := checkID("channel id", channelID); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/channels/"+seg(channelID)+"/moh", nil, nil, nil)
}

// Play plays media URIs ("sound:hello-world", "digits:42", "tone:ring",
// "recording:name") one after another on a channel, as playback
// playbackID, which the caller chooses so that it can subscribe first.
// A playback of a missing recording never finishes, so callers need a
// timeout.
func (c *Client) Play(ctx context.Context, channelID, playbackID string, media ...string) (Playback, error) {
	return c.play(ctx, "/channels/", channelID, playbackID, media)
}

func (c *Client) play(ctx context.Context, prefix, targetID, playbackID string, media []string) (Playback, error) {
	if err := checkID("target id", targetID); err != nil {
		return Playback{}, fmt.Errorf("play: %w", err)
	}
	if err := checkID("playback id", playbackID); err != nil {
		return Playback{}, fmt.Errorf("play: %w", err)
	}
	m, err := joinList("media uri", media)
	if err != nil {
		return Playback{}, fmt.Errorf("play: %w", err)
	}
	var pb Playback
	q := url.Values{"media": {m}, "playbackId": {playbackID}}
	if err := c.do(ctx, http.MethodPost, prefix+seg(targetID)+"/play", q, nil, &pb); err != nil {
		return Playback{}, fmt.Errorf("play %s: %w", playbackID, err)
	}
	return pb, nil
}

// ExternalMediaRequest describes an externalMedia channel: plain RTP over
// UDP between Asterisk and ExternalHost.
type ExternalMediaRequest struct {
	// ChannelID is chosen by the caller so that it can subscribe first.
	ChannelID string
	// ExternalHost is where Asterisk sends RTP, "host:port".
	ExternalHost string
	// Format is the codec: ulaw, alaw, g722, slin (big-endian), slin16, opus.
	Format string
	// Data becomes StasisStart.Args (one argument).
	Data string
	// Variables are set on the new channel.
	Variables map[string]string
}

// ExternalMedia creates an externalMedia channel in the client's app
// (encapsulation rtp, transport udp, connection_type client, direction
// both). The returned channel's RTPAddress is where Asterisk receives and
// sends. It enters the app about a millisecond after the reply; wait for
// its StasisStart before bridging it. Asterisk sends no RTP until it is
// bridged with a source. It fails with ErrNotConnected while the events
// WebSocket is down.
func (c *Client) ExternalMedia(ctx context.Context, r ExternalMediaRequest) (Channel, error) {
	if err := checkID("channel id", r.ChannelID); err != nil {
		return Channel{}, fmt.Errorf("external media: %w", err)
	}
	if r.ExternalHost == "" || r.Format == "" {
		return Channel{}, errors.New("external media: external host and format are required")
	}
	q := url.Values{
		"app":             {c.cfg.App},
		"channelId":       {r.ChannelID},
		"external_host":   {r.ExternalHost},
		"format":          {r.Format},
		"encapsulation":   {"rtp"},
		"transport":       {"udp"},
		"connection_type": {"client"},
		"direction":       {"both"},
	}
	if r.Data != "" {
		q.Set("data", r.Data)
	}
	if !c.IsConnected() {
		return Channel{}, fmt.Errorf("external media %s: %w", r.ChannelID, ErrNotConnected)
	}
	var ch Channel
	if err := c.do(ctx, http.MethodPost, "/channels/externalMedia", q, variablesBody(r.Variables, nil), &ch); err != nil {
		return Channel{}, fmt.Errorf("external media %s: %w", r.ChannelID, err)
	}
	return ch, nil
}
