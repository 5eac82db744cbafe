package sip

import (
	"bytes"
	"net"
	"time"
)

// A peer that sends a message one byte every few seconds never trips an
// idle timeout and holds its connection (and a goroutine) forever. The
// guarded listener gives every message a whole-message deadline as well:
// from its first byte to the empty line that ends its header section.

// guardedListener wraps accepted TCP connections in messageGuard.
type guardedListener struct {
	net.Listener
	timeout time.Duration
}

func (l guardedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.timeout <= 0 {
		return c, err
	}
	return &messageGuard{Conn: c, timeout: l.timeout}, nil
}

// messageGuard tightens the read deadline sipgo sets (its idle timeout) to
// the time the current header section started plus timeout. Read and
// SetReadDeadline are called from the connection's one reader goroutine.
type messageGuard struct {
	net.Conn
	timeout  time.Duration
	deadline time.Time // the deadline sipgo asked for
	started  time.Time // first byte of an unfinished header section; zero at a boundary
	tail     []byte    // the last bytes read, to find "\r\n\r\n" across reads
}

var endOfHeaders = []byte("\r\n\r\n")

func (c *messageGuard) SetReadDeadline(t time.Time) error {
	c.deadline = t
	return c.apply()
}

func (c *messageGuard) SetDeadline(t time.Time) error {
	c.deadline = t
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.apply()
}

func (c *messageGuard) apply() error {
	d := c.deadline
	if !c.started.IsZero() {
		if h := c.started.Add(c.timeout); d.IsZero() || h.Before(d) {
			d = h
		}
	}
	return c.Conn.SetReadDeadline(d)
}

func (c *messageGuard) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.observe(b[:n])
		_ = c.apply()
	}
	return n, err
}

// observe moves the header-section clock along the bytes just read.
func (c *messageGuard) observe(p []byte) {
	window := append(c.tail, p...)
	last := bytes.LastIndex(window, endOfHeaders)
	switch {
	case last >= 0 && last+len(endOfHeaders) == len(window):
		c.started = time.Time{} // a header section just ended
	case last >= 0:
		c.started = time.Now() // a new one began in this read
	case c.started.IsZero():
		c.started = time.Now()
	}
	keep := min(len(window), len(endOfHeaders)-1)
	c.tail = append(c.tail[:0], window[len(window)-keep:]...)
}
