package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// CreateBridge creates a mixing bridge with the caller's own id (so it can
// subscribe first) and a name for logs. Asterisk neither destroys an empty
// bridge nor hangs up the remaining party; the caller cleans up.
func (c *Client) CreateBridge(ctx context.Context, bridgeID, name string) (Bridge, error) {
	if err := checkID("bridge id", bridgeID); err != nil {
		return Bridge{}, fmt.Errorf("create bridge: %w", err)
	}
	q := url.Values{"type": {"mixing"}, "bridgeId": {bridgeID}}
	if name != "" {
		q.Set("name", name)
	}
	var b Bridge
	if err := c.do(ctx, http.MethodPost, "/bridges", q, nil, &b); err != nil {
		return Bridge{}, fmt.Errorf("create bridge %s: %w", bridgeID, err)
	}
	return b, nil
}

// AddChannel adds channels to a bridge in one request. A channel whose
// StasisStart has not arrived yet gives an error matching ErrNotInStasis.
func (c *Client) AddChannel(ctx context.Context, bridgeID string, channelIDs ...string) error {
	return c.bridgeMembers(ctx, "addChannel", bridgeID, channelIDs)
}

// RemoveChannel removes channels from a bridge.
func (c *Client) RemoveChannel(ctx context.Context, bridgeID string, channelIDs ...string) error {
	return c.bridgeMembers(ctx, "removeChannel", bridgeID, channelIDs)
}

func (c *Client) bridgeMembers(ctx context.Context, op, bridgeID string, channelIDs []string) error {
	if err := checkID("bridge id", bridgeID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	list, err := joinList("channel id", channelIDs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := c.do(ctx, http.MethodPost, "/bridges/"+seg(bridgeID)+"/"+op, url.Values{"channel": {list}}, nil, nil); err != nil {
		return fmt.Errorf("%s %s: %w", op, bridgeID, err)
	}
	return nil
}

// DestroyBridge destroys a bridge; its channels stay up.
func (c *Client) DestroyBridge(ctx context.Context, bridgeID string) error {
	if err := checkID("bridge id", bridgeID); err != nil {
		return fmt.Errorf("destroy bridge: %w", err)
	}
	return c.do(ctx, http.MethodDelete, "/bridges/"+seg(bridgeID), nil, nil, nil)
}

// Bridge returns the current snapshot of a bridge.
func (c *Client) Bridge(ctx context.Context, bridgeID string) (Bridge, error) {
	if err := checkID("bridge id", bridgeID); err != nil {
		return Bridge{}, err
	}
	var b Bridge
	err := c.do(ctx, http.MethodGet, "/bridges/"+seg(bridgeID), nil, nil, &b)
	return b, err
}

// Bridges lists every bridge.
func (c *Client) Bridges(ctx context.Context) ([]Bridge, error) {
	var bs []Bridge
	err := c.do(ctx, http.MethodGet, "/bridges", nil, nil, &bs)
	return bs, err
}

// PlayBridge plays media URIs to every member of a bridge as playback
// playbackID.
func (c *Client) PlayBridge(ctx context.Context, bridgeID, playbackID string, media ...string) (Playback, error) {
	return c.play(ctx, "/bridges/", bridgeID, playbackID, media)
}
