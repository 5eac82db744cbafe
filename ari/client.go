package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// Errors callers branch on. An *Error from a REST call matches the
// sentinel for its HTTP status with errors.Is.
var (
	// ErrBadRequest is a 400: a parameter Asterisk rejected.
	ErrBadRequest = errors.New("ari: bad request")
	// ErrUnauthorized is a 401 or 403: wrong ARI credentials.
	ErrUnauthorized = errors.New("ari: unauthorized")
	// ErrNotFound is a 404. During hang-up races a channel that is already
	// gone is normal, so callers usually treat it as success.
	ErrNotFound = errors.New("ari: not found")
	// ErrConflict is a 409, e.g. a channel that is not in a state for the
	// operation, or a device state Asterisk does not let ARI control.
	ErrConflict = errors.New("ari: conflict")
	// ErrNotInStasis is a 422: the channel has not entered the app yet.
	// HTTP replies come before StasisStart, so wait for that event before
	// adding a new channel to a bridge.
	ErrNotInStasis = errors.New("ari: channel not in stasis")
	// ErrServer is a 5xx. Originating to an endpoint whose contact is
	// known to be unreachable gives 500 "Allocation failed".
	ErrServer = errors.New("ari: server error")

	// ErrNotConnected is returned by Originate and ExternalMedia while the
	// events WebSocket is down: Asterisk would accept the request, ring the
	// agent and then drop the answered call because the app has no socket.
	ErrNotConnected = errors.New("ari: events websocket not connected")
	// ErrOverflow ends a subscription whose consumer fell behind.
	ErrOverflow = errors.New("ari: subscription buffer overflow")
	// ErrStopped ends subscriptions when Run returns; Subscribe after that
	// returns an already-ended subscription.
	ErrStopped = errors.New("ari: client stopped")
	// ErrRunning is returned by a second call of Run.
	ErrRunning = errors.New("ari: Run already called")
)

// Error is a REST call that Asterisk answered with an HTTP error status.
type Error struct {
	Status  int    // HTTP status code
	Message string // Asterisk's "message" (or "error") from the JSON body
	Method  string
	Path    string // request path below the base URL, without the query
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("ari %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// Is lets errors.Is match an *Error against the sentinel for its status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrNotInStasis:
		return e.Status == http.StatusUnprocessableEntity
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// maxBody bounds what the client reads of any HTTP response.
const maxBody = 4 << 20

// Client talks to one Asterisk for one Stasis app: typed REST calls and
// the events WebSocket, whose events it hands to subscriptions. All
// methods are safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	log  zerolog.Logger
	http *http.Client
	// dial replaces the TCP dialer for the WebSocket in tests.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	running atomic.Bool

	mu        sync.Mutex
	subs      map[*Subscription]struct{}
	stopped   bool
	connected bool
	up        chan struct{} // closed while connected
	changed   chan struct{} // closed at the next change of connected
}

// New returns a client for cfg. It starts nothing: call Run to connect the
// events WebSocket.
func New(cfg Config, log zerolog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	base, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:  cfg,
		base: base,
		log:  log.With().Str("component", "ari").Str("app", cfg.App).Logger(),
		// Timeouts come from each call's context.
		http:    &http.Client{},
		subs:    make(map[*Subscription]struct{}),
		up:      make(chan struct{}),
		changed: make(chan struct{}),
	}
	return c, nil
}

// App returns the Stasis application name the client serves.
func (c *Client) App() string { return c.cfg.App }

// do performs one REST call: method on /ari+path with query, body encoded
// as JSON when non-nil, and the response decoded into out when non-nil.
// path must already be escaped.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	u := *c.base
	u.Path = c.base.Path + "/ari" + path
	if unesc, err := url.PathUnescape(u.Path); err == nil {
		u.RawPath, u.Path = u.Path, unesc
	}
	u.RawQuery = query.Encode()

	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("ari %s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the URL; ours holds no credentials (they go
		// in the Authorization header), but keep the message short.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("ari %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return &Error{Status: resp.StatusCode, Message: errorMessage(data), Method: method, Path: path}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("ari %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// errorMessage extracts Asterisk's reason from an error body, which is
// usually {"message":...} but {"error":...} for "Allocation failed".
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return truncate(strings.TrimSpace(string(body)), 200)
	}
	if e.Message != "" {
		return truncate(e.Message, 200)
	}
	return truncate(e.Error, 200)
}

// seg escapes one path segment; IDs and device names may contain '/'.
func seg(s string) string { return url.PathEscape(s) }

// checkID rejects IDs that would break a path or a comma-joined list.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("ari: %s is empty", what)
	}
	if strings.ContainsAny(id, ",\x00") || len(id) > 255 {
		return fmt.Errorf("ari: %s %q contains a comma or NUL, or is too long", what, truncate(id, 64))
	}
	return nil
}

// joinList comma-joins values for a parameter that takes several: Asterisk
// keeps only the last of repeated parameters.
func joinList(what string, vals []string) (string, error) {
	if len(vals) == 0 {
		return "", fmt.Errorf("ari: no %s given", what)
	}
	for _, v := range vals {
		if err := checkID(what, v); err != nil {
			return "", err
		}
	}
	return strings.Join(vals, ","), nil
}
