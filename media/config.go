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
}

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
