package ari

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults used when a Config field is zero.
const (
	DefaultURL          = "http://127.0.0.1:8088"
	DefaultApp          = "kcc"
	DefaultTimeout      = 5 * time.Second
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 5 * time.Second
	DefaultPingInterval = 10 * time.Second
	DefaultEventBuffer  = 256
)

// Config says which Asterisk to talk to and how. Zero fields take the
// defaults above; Validate rejects values that cannot work.
type Config struct {
	// URL is the base of Asterisk's HTTP server, without the /ari suffix,
	// e.g. "http://127.0.0.1:8088". https is allowed; the events
	// WebSocket then uses wss. Credentials belong in Username and Password,
	// never in the URL, so they cannot leak into error messages.
	URL string
	// Username and Password are an ARI user from ari.conf.
	Username string
	Password string
	// App is the Stasis application name. Asterisk allows one WebSocket per
	// name (a second one silently takes over), so every kcc instance needs
	// its own.
	App string
	// SubscribeAll asks Asterisk for every event of the system, not only
	// those of the app's own resources (subscribeAll=true).
	SubscribeAll bool
	// Timeout bounds every REST call and the WebSocket handshake.
	Timeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// WebSocket connection attempts. While no socket is connected Asterisk
	// rejects inbound calls to the app, so the minimum should stay small.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// PingInterval is how often the client pings Asterisk on the WebSocket.
	// A connection that has carried no frame for three intervals is
	// considered dead (a half-open TCP connection otherwise never ends).
	PingInterval time.Duration
	// EventBuffer is each subscription's buffer, in events. A subscription
	// whose buffer is full is closed with ErrOverflow.
	EventBuffer int
	// Record, if set, receives every event frame (duplicates dropped) before
	// it is decoded; tests record a real Asterisk's frames with it. It runs on
	// the reader goroutine and must not block or keep the slice.
	Record func(frame []byte)
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.App == "" {
		c.App = DefaultApp
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	return c
}

// Validate reports every problem with c (after defaults are applied) in one
// error. The password never appears in it.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if _, err := parseBaseURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.Username == "" {
		errs = append(errs, errors.New("username is empty"))
	}
	if strings.Contains(c.Username, ":") {
		errs = append(errs, errors.New("username contains ':'"))
	}
	if strings.ContainsAny(c.App, ",/?#& ") {
		errs = append(errs, fmt.Errorf("app name %q contains one of \",/?#& \"", c.App))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"timeout", c.Timeout},
		{"reconnect min", c.ReconnectMin},
		{"reconnect max", c.ReconnectMax},
		{"ping interval", c.PingInterval},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", d.name, d.v))
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, fmt.Errorf("reconnect max %v is below reconnect min %v", c.ReconnectMax, c.ReconnectMin))
	}
	if c.EventBuffer < 0 {
		errs = append(errs, fmt.Errorf("event buffer %d is negative", c.EventBuffer))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ari config: %w", err)
	}
	return nil
}

// parseBaseURL checks that s is an http(s) URL with a host and nothing
// that would be ambiguous once /ari/... is appended.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the URL, which may hold credentials; keep only
		// the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("url: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("url scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return nil, errors.New("url has no host")
	case u.User != nil:
		return nil, errors.New("url must not carry credentials; use username and password")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("url must not have a query or fragment")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
