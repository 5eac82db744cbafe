package ari

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Channel is Asterisk's snapshot of one channel, as returned by REST calls
// and carried in channel events.
type Channel struct {
	ID    string `json:"id"`
	Name  string `json:"name"` // e.g. "PJSIP/1001-00000006"
	State string `json:"state"`
	// ProtocolID is the SIP Call-ID of a PJSIP channel.
	ProtocolID  string   `json:"protocol_id"`
	Caller      CallerID `json:"caller"`
	Connected   CallerID `json:"connected"`
	AccountCode string   `json:"accountcode"`
	Dialplan    Dialplan `json:"dialplan"`
	// ChannelVars holds only variables set with report_events and, on
	// externalMedia channels, UNICASTRTP_LOCAL_ADDRESS and _PORT.
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
	CreationTime time.Time         `json:"creationtime"`
	Language     string            `json:"language"`
}

// Channel states Asterisk reports.
const (
	StateDown    = "Down"
	StateRing    = "Ring"
	StateRinging = "Ringing"
	StateUp      = "Up"
	StateBusy    = "Busy"
)

// UnmarshalJSON decodes Asterisk's colon-less time offset in creationtime.
func (c *Channel) UnmarshalJSON(b []byte) error {
	type plain Channel
	var w struct {
		plain
		CreationTime timestamp `json:"creationtime"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Channel(w.plain)
	c.CreationTime = time.Time(w.CreationTime)
	return nil
}

// RTPAddress returns where an externalMedia channel receives RTP and sends
// it from (symmetric RTP), taken from its UNICASTRTP_LOCAL_* variables.
func (c Channel) RTPAddress() (netip.AddrPort, error) {
	a, p := c.ChannelVars["UNICASTRTP_LOCAL_ADDRESS"], c.ChannelVars["UNICASTRTP_LOCAL_PORT"]
	if a == "" || p == "" {
		return netip.AddrPort{}, fmt.Errorf("channel %s has no UNICASTRTP_LOCAL_ADDRESS/PORT", c.ID)
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("channel %s rtp address: %w", c.ID, err)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("channel %s rtp port %q is not a port number", c.ID, truncate(p, 16))
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// CallerID is a name and number pair (caller or connected line).
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// Dialplan is where a channel is in the dialplan; for Stasis channels
// AppData holds the app name and its arguments.
type Dialplan struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Bridge is Asterisk's snapshot of one bridge. Its Technology changes by
// itself (simple_bridge, native_rtp, softmix) as members join and leave.
type Bridge struct {
	ID           string    `json:"id"`
	Technology   string    `json:"technology"`
	BridgeType   string    `json:"bridge_type"`
	BridgeClass  string    `json:"bridge_class"`
	Creator      string    `json:"creator"`
	Name         string    `json:"name"`
	Channels     []string  `json:"channels"`
	CreationTime time.Time `json:"creationtime"`
	VideoMode    string    `json:"video_mode,omitempty"`
}

// UnmarshalJSON decodes Asterisk's colon-less time offset in creationtime.
func (br *Bridge) UnmarshalJSON(b []byte) error {
	type plain Bridge
	var w struct {
		plain
		CreationTime timestamp `json:"creationtime"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*br = Bridge(w.plain)
	br.CreationTime = time.Time(w.CreationTime)
	return nil
}

// Playback is one media playback on a channel or bridge.
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	// TargetURI is "channel:<id>" or "bridge:<id>".
	TargetURI string `json:"target_uri"`
	Language  string `json:"language,omitempty"`
	// State is queued, playing, continuing, done or failed.
	State string `json:"state"`
}

// Endpoint is a PJSIP (or other technology) endpoint. Its State is
// "online" for any static contact unless Asterisk qualifies it, so presence
// must rest on qualify, registration or device state.
type Endpoint struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"` // online, offline or unknown
	ChannelIDs []string `json:"channel_ids"`
}

// Name returns "technology/resource", e.g. "PJSIP/1001", the form used in
// subscriptions and Filter.Endpoints.
func (e Endpoint) Name() string { return e.Technology + "/" + e.Resource }

// DeviceState is the state of a device such as "PJSIP/1001" or
// "Stasis:agent-1001": NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE,
// RINGING, RINGINUSE, ONHOLD or UNKNOWN.
type DeviceState struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Info is the part of GET /asterisk/info that readiness checks use.
type Info struct {
	Version     string
	EntityID    string // the asterisk_id events carry
	SystemName  string
	StartupTime time.Time
	LastReload  time.Time
	MaxChannels int
	DefaultLang string
}

// UnmarshalJSON flattens Asterisk's nested AsteriskInfo object.
func (in *Info) UnmarshalJSON(b []byte) error {
	var w struct {
		System struct {
			Version  string `json:"version"`
			EntityID string `json:"entity_id"`
		} `json:"system"`
		Config struct {
			Name            string `json:"name"`
			DefaultLanguage string `json:"default_language"`
			MaxChannels     int    `json:"max_channels"`
		} `json:"config"`
		Status struct {
			StartupTime    timestamp `json:"startup_time"`
			LastReloadTime timestamp `json:"last_reload_time"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*in = Info{
		Version:     w.System.Version,
		EntityID:    w.System.EntityID,
		SystemName:  w.Config.Name,
		StartupTime: time.Time(w.Status.StartupTime),
		LastReload:  time.Time(w.Status.LastReloadTime),
		MaxChannels: w.Config.MaxChannels,
		DefaultLang: w.Config.DefaultLanguage,
	}
	return nil
}
