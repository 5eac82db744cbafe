package media

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// DefaultPTime is the packetisation time kcc sends and advertises.
const DefaultPTime = 20 * time.Millisecond

// Config is the media configuration of one Engine. Its zero value is not
// usable: IP and the port range must be set.
type Config struct {
	// IP is the IPv4 address the RTP sockets bind to.
	IP netip.Addr
	// Advertise is the address written in SDP c= and o= lines; the zero
	// value means IP. It must be set when IP is 0.0.0.0.
	Advertise netip.Addr
	// PortMin and PortMax bound the RTP port range (inclusive). RTP uses even
	// ports; port+1 is reserved for RTCP and must lie inside the range too.
	PortMin int
	PortMax int
	// PTime is the packetisation time; zero means DefaultPTime. Only 20 ms
	// is supported: prompts are pre-encoded in 160-byte frames.
	PTime time.Duration
	// RTCPInterval is how often each session sends an RTCP report; zero
	// means DefaultRTCPInterval (RFC 3550 §6.2 recommends 5 s minimum).
	RTCPInterval time.Duration
	// DigitDuration is how long a key kcc sends lasts (RFC 4733 event or
	// in-band tone) before its end; zero means DefaultDigitDuration.
	DigitDuration time.Duration
	// NoComfortSilence turns comfort silence off: a session then sends only
	// while it plays or relays. Carriers hang up legs that stay silent, so
	// this is for lab use and tests that count packets.
	NoComfortSilence bool
}

// Defaults for the optional Config fields.
const (
	DefaultRTCPInterval  = 5 * time.Second
	DefaultDigitDuration = 100 * time.Millisecond
)

// Validate reports every problem of c at once, so an operator fixes the
// configuration in one go.
func (c Config) Validate() error {
	var errs []error
	switch {
	case !c.IP.IsValid():
		errs = append(errs, errors.New("media: ip is not set"))
	case !c.IP.Unmap().Is4():
		errs = append(errs, fmt.Errorf("media: ip %s: only IPv4 is supported", c.IP))
	}
	adv := c.advertise()
	switch {
	case c.Advertise.IsValid() && !c.Advertise.Unmap().Is4():
		errs = append(errs, fmt.Errorf("media: advertise %s: only IPv4 is supported", c.Advertise))
	case adv.IsValid() && adv.IsUnspecified():
		errs = append(errs, errors.New("media: advertise must be set when ip is unspecified (0.0.0.0)"))
	case adv.IsValid() && adv.IsMulticast():
		errs = append(errs, fmt.Errorf("media: advertise %s is a multicast address", adv))
	}
	switch {
	case c.PortMin < 1 || c.PortMin > 65535 || c.PortMax < 1 || c.PortMax > 65535:
		errs = append(errs, fmt.Errorf("media: port range %d-%d: ports must be 1-65535", c.PortMin, c.PortMax))
	case c.PortMin > c.PortMax:
		errs = append(errs, fmt.Errorf("media: port range %d-%d: min is above max", c.PortMin, c.PortMax))
	case firstEven(c.PortMin)+1 > c.PortMax:
		errs = append(errs, fmt.Errorf("media: port range %d-%d holds no even RTP port with its RTCP port", c.PortMin, c.PortMax))
	}
	if c.RTCPInterval != 0 && (c.RTCPInterval < 10*time.Millisecond || c.RTCPInterval > time.Minute) {
		errs = append(errs, fmt.Errorf("media: rtcp interval %s: must be between 10ms and 1m", c.RTCPInterval))
	}
	if c.DigitDuration != 0 && (c.DigitDuration < 40*time.Millisecond || c.DigitDuration > 2*time.Second) {
		errs = append(errs, fmt.Errorf("media: digit duration %s: must be between 40ms and 2s", c.DigitDuration))
	}
	if c.PTime != 0 && c.PTime != DefaultPTime {
		errs = append(errs, fmt.Errorf("media: ptime %s: only %s is supported", c.PTime, DefaultPTime))
	}
	return errors.Join(errs...)
}

func (c Config) advertise() netip.Addr {
	if c.Advertise.IsValid() {
		return c.Advertise.Unmap()
	}
	return c.IP.Unmap()
}

func (c Config) ptime() time.Duration {
	if c.PTime == 0 {
		return DefaultPTime
	}
	return c.PTime
}

func firstEven(p int) int { return p + p&1 }

func (c Config) rtcpInterval() time.Duration {
	if c.RTCPInterval == 0 {
		return DefaultRTCPInterval
	}
	return c.RTCPInterval
}

// digitFrames is the number of ptime frames a sent key lasts.
func (c Config) digitFrames() int {
	d := c.DigitDuration
	if d == 0 {
		d = DefaultDigitDuration
	}
	return max(int((d+c.ptime()-1)/c.ptime()), 2)
}
