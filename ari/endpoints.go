package ari

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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
