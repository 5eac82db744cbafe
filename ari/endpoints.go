package ari

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Playback returns the current state of a playback.
func (c *Client) Playback(ctx context.Context, playbackID string) (Playback, error) {
	if err := checkID("playback id", playbackID); err != nil {
		return Playback{}, err
	}
	var pb Playback
	err := c.do(ctx, http.MethodGet, "/playbacks/"+seg(playbackID), nil, nil, &pb)
	return pb, err
}

// StopPlayback stops a playback; PlaybackFinished follows.
func (c *Client) StopPlayback(ctx context.Context, playbackID string) error {
	if err := checkID("playback id", playbackID); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/playbacks/"+seg(playbackID), nil, nil, nil)
}

// Endpoint returns one endpoint, e.g. ("PJSIP", "1001").
func (c *Client) Endpoint(ctx context.Context, technology, resource string) (Endpoint, error) {
	if technology == "" || resource == "" {
		return Endpoint{}, errors.New("ari: endpoint technology and resource are required")
	}
	var e Endpoint
	err := c.do(ctx, http.MethodGet, "/endpoints/"+seg(technology)+"/"+seg(resource), nil, nil, &e)
	return e, err
}

// Endpoints lists every endpoint of every technology.
func (c *Client) Endpoints(ctx context.Context) ([]Endpoint, error) {
	var es []Endpoint
	err := c.do(ctx, http.MethodGet, "/endpoints", nil, nil, &es)
	return es, err
}

// DeviceState returns the state of a device, e.g. "PJSIP/1001" (busy on
// any call, not only the app's) or "Stasis:agent-1001".
func (c *Client) DeviceState(ctx context.Context, name string) (DeviceState, error) {
	if name == "" {
		return DeviceState{}, errors.New("ari: device name is empty")
	}
	var d DeviceState
	err := c.do(ctx, http.MethodGet, "/deviceStates/"+seg(name), nil, nil, &d)
	return d, err
}

// DeviceStates lists the device states ARI controls (the Stasis: ones).
func (c *Client) DeviceStates(ctx context.Context) ([]DeviceState, error) {
	var ds []DeviceState
	err := c.do(ctx, http.MethodGet, "/deviceStates", nil, nil, &ds)
	return ds, err
}

// AsteriskInfo reads GET /asterisk/info; a readiness check that proves
// Asterisk is up and the credentials work.
func (c *Client) AsteriskInfo(ctx context.Context) (Info, error) {
	var in Info
	err := c.do(ctx, http.MethodGet, "/asterisk/info", nil, nil, &in)
	return in, err
}

// Application is what Asterisk holds for kcc's app: the resources it owns or
// is subscribed to (GET /applications/{app}). After a reconnect it is where
// kcc re-reads which channels and bridges survived the gap (ari.md §6).
type Application struct {
	Name        string   `json:"name"`
	ChannelIDs  []string `json:"channel_ids"`
	BridgeIDs   []string `json:"bridge_ids"`
	EndpointIDs []string `json:"endpoint_ids"`
	DeviceNames []string `json:"device_names"`
}

// Application returns the state of the client's app. Asterisk forgets an
// app with no socket and no resources: that is ErrNotFound.
func (c *Client) Application(ctx context.Context) (Application, error) {
	var a Application
	err := c.do(ctx, http.MethodGet, "/applications/"+url.PathEscape(c.cfg.App), nil, nil, &a)
	return a, err
}

// Event sources an app can subscribe to beyond its own channels: kcc needs
// them for presence, since Asterisk sends endpoint and device changes only
// to an app that asked for them (ari.md §7).
const (
	SourceEndpoint    = "endpoint:"    // + "PJSIP/1001", or "PJSIP" for all of a technology
	SourceDeviceState = "deviceState:" // + "PJSIP/1001" or "Stasis:agent-1001"
	SourceChannel     = "channel:"     // + channel id
	SourceBridge      = "bridge:"      // + bridge id
)

// SubscribeApp subscribes the client's app to event sources, such as
// SourceEndpoint+"PJSIP/1001", and returns what the app is subscribed to
// afterwards. Asterisk 22 keeps subscriptions across WebSocket reconnects
// and counts them: each SubscribeApp needs its own UnsubscribeApp. A
// client that re-applies its subscriptions on every connect, as kcc does,
// just raises the count.
func (c *Client) SubscribeApp(ctx context.Context, sources ...string) (Application, error) {
	return c.appSubscription(ctx, http.MethodPost, sources)
}

// UnsubscribeApp removes event sources from the client's app.
func (c *Client) UnsubscribeApp(ctx context.Context, sources ...string) (Application, error) {
	return c.appSubscription(ctx, http.MethodDelete, sources)
}

func (c *Client) appSubscription(ctx context.Context, method string, sources []string) (Application, error) {
	for _, s := range sources {
		kind, id, ok := strings.Cut(s, ":")
		if !ok || id == "" || !slices.Contains([]string{"endpoint", "deviceState", "channel", "bridge"}, kind) {
			return Application{}, fmt.Errorf("ari: event source %q is not endpoint:, deviceState:, channel: or bridge: followed by a name", truncate(s, 64))
		}
	}
	list, err := joinList("event source", sources)
	if err != nil {
		return Application{}, err
	}
	var a Application
	err = c.do(ctx, method, "/applications/"+url.PathEscape(c.cfg.App)+"/subscription", url.Values{"eventSource": {list}}, nil, &a)
	return a, err
}

// SetDeviceState sets a device state that ARI controls: the name must
// start with "Stasis:". Dialplan hints and DEVICE_STATE() see it, so kcc
// can show its agents' state to Asterisk. Asterisk answers 409 for any
// other device and 500 "Unknown device" for an unknown state value.
func (c *Client) SetDeviceState(ctx context.Context, name, state string) error {
	if !strings.HasPrefix(name, "Stasis:") || len(name) == len("Stasis:") {
		return fmt.Errorf("ari: device %q is not a Stasis: device", truncate(name, 64))
	}
	if !slices.Contains(deviceStateValues, state) {
		return fmt.Errorf("ari: device state %q is not one of %s", truncate(state, 32), strings.Join(deviceStateValues, ", "))
	}
	return c.do(ctx, http.MethodPut, "/deviceStates/"+seg(name), url.Values{"deviceState": {state}}, nil, nil)
}

// DeleteDeviceState removes a Stasis: device state.
func (c *Client) DeleteDeviceState(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, "Stasis:") || len(name) == len("Stasis:") {
		return fmt.Errorf("ari: device %q is not a Stasis: device", truncate(name, 64))
	}
	return c.do(ctx, http.MethodDelete, "/deviceStates/"+seg(name), nil, nil, nil)
}

// SetGlobalVariable sets a global dialplan variable (POST
// /asterisk/variable); an empty value clears it. kcc uses it to switch
// dialplan behaviour from outside a call, e.g. to send an agent's calls
// into the app while the agent talks to one of kcc's callers.
func (c *Client) SetGlobalVariable(ctx context.Context, name, value string) error {
	if name == "" {
		return errors.New("ari: set global variable: name is empty")
	}
	q := url.Values{"variable": {name}, "value": {value}}
	if err := c.do(ctx, http.MethodPost, "/asterisk/variable", q, nil, nil); err != nil {
		return fmt.Errorf("set global variable %s: %w", truncate(name, 64), err)
	}
	return nil
}

// deviceStateValues are the states Asterisk accepts in SetDeviceState.
var deviceStateValues = []string{"NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD"}
