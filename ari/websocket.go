package ari

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// maxMessage bounds one WebSocket message; ARI events are a few kB.
const maxMessage = 1 << 20

// dedupWindow is how many recent frames are remembered to drop duplicates:
// Asterisk sends a channel event twice when the app is also subscribed to
// the channel's endpoint.
const dedupWindow = 64

// Run keeps the events WebSocket connected until ctx is done, reconnecting
// with exponential backoff and jitter between Config.ReconnectMin and
// ReconnectMax, and delivers every event to the matching subscriptions.
// It returns nil once ctx is done, after its goroutines have stopped and
// every subscription has ended with ErrStopped. It may be called once.
//
// Asterisk replays nothing after a reconnect: events of the gap are lost.
// Watch ConnState and re-read the state of the app's channels and bridges
// after every reconnect.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.stop()
	attempt := 0
	for {
		wasUp, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if wasUp {
			attempt = 0
		}
		delay := c.backoff(attempt)
		attempt++
		c.log.Warn().Err(err).Dur("retry_in", delay).Msg("events websocket down")
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// backoff returns the delay before connection attempt n+1: ReconnectMin
// doubled n times, capped at ReconnectMax, then jittered down by up to
// half so that several clients do not reconnect in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.ReconnectMin
	for i := 0; i < n && d < c.cfg.ReconnectMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.ReconnectMax)
	if half := d / 2; half > 0 {
		d = half + rand.N(half+1)
	}
	return d
}

// ConnState reports whether the events WebSocket is connected, and returns
// a channel that is closed at the next change. A consumer that must not
// offer calls to Asterisk agents while the socket is down, and must
// re-read state after a reconnect, loops:
//
//	for {
//		up, changed := client.ConnState()
//		if up { resync() } else { pause() }
//		select { case <-changed: case <-ctx.Done(): return }
//	}
//
// A drop and reconnect in quick succession may show up as one change to
// "up", which still triggers the resync.
func (c *Client) ConnState() (connected bool, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected, c.changed
}

// IsConnected reports whether the events WebSocket is connected now.
func (c *Client) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Connected returns a channel that is closed while the events WebSocket is
// connected: immediately if it is, otherwise at the next connection.
func (c *Client) Connected() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up
}

func (c *Client) setConnected(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.connected == up {
		return
	}
	c.connected = up
	if up {
		close(c.up)
	} else {
		c.up = make(chan struct{})
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// session runs one WebSocket connection until it fails or ctx is done. It
// reports whether the connection was established.
func (c *Client) session(ctx context.Context) (bool, error) {
	conn, src, err := c.dialEvents(ctx)
	if err != nil {
		return false, err
	}
	sctx, cancel := context.WithCancel(ctx)
	var (
		wmu sync.Mutex // one frame at a time: pings, pongs, close
		wg  sync.WaitGroup
	)
	wg.Go(func() { c.keepalive(sctx, conn, &wmu) })
	defer func() {
		conn.Close() // first, so keepalive's close frame cannot wait on a dead peer
		cancel()
		wg.Wait()
		c.setConnected(false)
	}()
	c.setConnected(true)
	c.log.Info().Msg("events websocket connected")
	return true, c.read(conn, src, &wmu)
}

// dialEvents opens the events WebSocket. The returned reader holds any
// bytes the server sent right after the handshake.
func (c *Client) dialEvents(ctx context.Context) (net.Conn, io.Reader, error) {
	u := *c.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += "/ari/events"
	q := url.Values{"app": {c.cfg.App}, "api_key": {c.cfg.Username + ":" + c.cfg.Password}}
	if c.cfg.SubscribeAll {
		q.Set("subscribeAll", "true")
	}
	u.RawQuery = q.Encode()
	d := ws.Dialer{Timeout: c.cfg.Timeout, NetDial: c.dial}
	conn, br, _, err := d.Dial(ctx, u.String())
	if err != nil {
		// Name the URL without its query: that holds the password.
		u.RawQuery = ""
		return nil, nil, fmt.Errorf("connect %s: %w", u.Redacted(), err)
	}
	if br != nil {
		return conn, br, nil
	}
	return conn, conn, nil
}

// keepalive pings every PingInterval so that read deadlines catch a dead
// peer, and closes conn when ctx is done, which ends the reader.
func (c *Client) keepalive(ctx context.Context, conn net.Conn, wmu *sync.Mutex) {
	t := time.NewTicker(c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.writeFrame(conn, wmu, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
			conn.Close()
			return
		case <-t.C:
			if err := c.writeFrame(conn, wmu, ws.OpPing, nil); err != nil {
				conn.Close()
				return
			}
		}
	}
}

func (c *Client) writeFrame(conn net.Conn, wmu *sync.Mutex, op ws.OpCode, p []byte) error {
	wmu.Lock()
	defer wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(c.cfg.Timeout))
	return wsutil.WriteClientMessage(conn, op, p)
}

// read decodes and dispatches messages until the connection fails.
func (c *Client) read(conn net.Conn, src io.Reader, wmu *sync.Mutex) error {
	ctrl := wsutil.ControlFrameHandler(conn, ws.StateClientSide)
	onControl := func(h ws.Header, r io.Reader) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(c.cfg.Timeout))
		return ctrl(h, r)
	}
	rd := &wsutil.Reader{
		Source:         src,
		State:          ws.StateClientSide,
		CheckUTF8:      true,
		MaxFrameSize:   maxMessage,
		OnIntermediate: onControl,
	}
	idle := 3 * c.cfg.PingInterval
	var (
		seed    = maphash.MakeSeed()
		recent  [dedupWindow]uint64
		next    int
		scratch []*Subscription
	)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(idle))
		h, err := rd.NextFrame()
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		if h.OpCode.IsControl() {
			if err := onControl(h, rd); err != nil {
				var closed wsutil.ClosedError
				if errors.As(err, &closed) {
					return fmt.Errorf("asterisk closed the events websocket: %w", err)
				}
				return fmt.Errorf("read events: %w", err)
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rd, maxMessage+1))
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		if len(data) > maxMessage {
			return fmt.Errorf("read events: message larger than %d bytes", maxMessage)
		}
		sum := maphash.Bytes(seed, data)
		dup := false
		for _, r := range recent {
			if r == sum {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		recent[next] = sum
		next = (next + 1) % dedupWindow
		if c.cfg.Record != nil {
			c.cfg.Record(data)
		}
		ev, err := DecodeEvent(data)
		if err != nil {
			c.log.Warn().Err(err).Str("frame", truncate(string(data), 200)).Msg("dropping undecodable frame")
			continue
		}
		if _, ok := ev.(ApplicationReplaced); ok {
			c.log.Error().Msg("another websocket took over the app; this one receives no more events (two instances share the app name?)")
		}
		scratch = c.dispatch(ev, scratch)
	}
}
