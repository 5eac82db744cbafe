package media

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// portPool hands out even RTP ports of one Engine's range. A port is held by
// binding both it and its RTCP neighbour, so another process (or a later
// RTCP implementation) can never collide with a call in progress.
type portPool struct {
	ip    netip.Addr
	first int // lowest even port

	mu     sync.Mutex
	used   []bool // index i is port first+2i
	cursor int    // next index to try; rotating avoids reusing a just-freed port
	inUse  int
}

func newPortPool(ip netip.Addr, minPort, maxPort int) *portPool {
	first := firstEven(minPort)
	n := (maxPort-first-1)/2 + 1 // ports first, first+2, ... with p+1 <= max
	return &portPool{ip: ip, first: first, used: make([]bool, n)}
}

// acquire binds the next free even port and its neighbour. Ports that fail to
// bind (in use by another process) are skipped; each slot is tried at most
// once per call.
func (p *portPool) acquire() (rtpConn, rtcpConn *net.UDPConn, port int, err error) {
	var lastErr error
	for range len(p.used) {
		idx, ok := p.reserve()
		if !ok {
			break
		}
		port = p.first + 2*idx
		rtpConn, err = p.bind(port)
		if err == nil {
			rtcpConn, err = p.bind(port + 1)
			if err == nil {
				return rtpConn, rtcpConn, port, nil
			}
			_ = rtpConn.Close()
		}
		lastErr = err
		p.unreserve(idx)
	}
	if lastErr != nil {
		return nil, nil, 0, fmt.Errorf("%w (last bind error: %w)", ErrNoPorts, lastErr)
	}
	return nil, nil, 0, ErrNoPorts
}

func (p *portPool) reserve() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.used)
	for i := range n {
		idx := (p.cursor + i) % n
		if !p.used[idx] {
			p.used[idx] = true
			p.inUse++
			p.cursor = (idx + 1) % n
			return idx, true
		}
	}
	return 0, false
}

func (p *portPool) unreserve(idx int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used[idx] {
		p.used[idx] = false
		p.inUse--
	}
}

// release returns an RTP port acquired earlier.
func (p *portPool) release(port int) {
	p.unreserve((port - p.first) / 2)
}

func (p *portPool) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

func (p *portPool) bind(port int) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
	if err != nil {
		return nil, fmt.Errorf("bind rtp port %d: %w", port, err)
	}
	return c, nil
}
