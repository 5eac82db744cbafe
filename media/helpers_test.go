package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/rs/zerolog"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// newTestEngine returns an engine on 127.0.0.1 with a private port range
// and stable SDP ids. The pacer runs when run is true; cleanup stops it
// and checks that every port came back. Comfort silence is off, so tests
// of playback and relay see exactly the packets they caused; the comfort
// tests use newTestEngineWith.
func newTestEngine(t testing.TB, portMin, portMax int, run bool) *Engine {
	t.Helper()
	return newTestEngineWith(t, Config{PortMin: portMin, PortMax: portMax, NoComfortSilence: true}, run)
}

// newTestEngineWith is newTestEngine with more of the configuration.
func newTestEngineWith(t testing.TB, cfg Config, run bool) *Engine {
	t.Helper()
	cfg.IP = loopback
	e, err := NewEngine(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	e.sdpID = func() uint64 { return 4242 }
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := e.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		t.Cleanup(func() {
			cancel()
			wg.Wait()
		})
	}
	t.Cleanup(func() {
		if n := e.PortsInUse(); n != 0 {
			t.Errorf("PortsInUse after test = %d, want 0", n)
		}
	})
	return e
}

// peer is a plain UDP socket acting as the far end.
type peer struct {
	t    testing.TB
	conn *net.UDPConn
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen peer: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &peer{t: t, conn: c}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// offer returns an INVITE-style SDP offer for PCMA, PCMU and telephone-event
// at PT 101, with the peer's address and port.
func (p *peer) offer() []byte {
	return []byte(offerSDP(p.addr()))
}

func offerSDP(ap netip.AddrPort) string {
	return "v=0\r\no=peer 1 1 IN IP4 " + ap.Addr().String() + "\r\ns=-\r\nc=IN IP4 " + ap.Addr().String() +
		"\r\nt=0 0\r\nm=audio " + strconv.Itoa(int(ap.Port())) + " RTP/AVP 8 0 101\r\n" +
		"a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
}

// recv reads one RTP packet, failing the test after timeout.
func (p *peer) recv(timeout time.Duration) (rtp.Packet, netip.AddrPort, time.Time) {
	p.t.Helper()
	pkt, src, at, err := p.tryRecv(timeout)
	if err != nil {
		p.t.Fatalf("peer %s: receive: %v", p.addr(), err)
	}
	return pkt, src, at
}

func (p *peer) tryRecv(timeout time.Duration) (rtp.Packet, netip.AddrPort, time.Time, error) {
	buf := make([]byte, 2048)
	_ = p.conn.SetReadDeadline(time.Now().Add(timeout))
	n, src, err := p.conn.ReadFromUDPAddrPort(buf)
	at := time.Now()
	if err != nil {
		return rtp.Packet{}, src, at, err
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		return rtp.Packet{}, src, at, err
	}
	return pkt, src, at, nil
}

// expectSilence asserts nothing arrives within d.
func (p *peer) expectSilence(d time.Duration) {
	p.t.Helper()
	if pkt, _, _, err := p.tryRecv(d); err == nil {
		p.t.Fatalf("peer %s got unexpected packet PT %d seq %d", p.addr(), pkt.PayloadType, pkt.SequenceNumber)
	} else if ne := (net.Error)(nil); !errors.As(err, &ne) || !ne.Timeout() {
		p.t.Fatalf("peer %s: %v", p.addr(), err)
	}
}

func (p *peer) send(to netip.AddrPort, pkt []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(pkt, to); err != nil {
		p.t.Fatalf("peer send: %v", err)
	}
}

// rtpPacket marshals a test packet.
func rtpPacket(t testing.TB, pt uint8, seq uint16, ts, ssrc uint32, marker bool, payload []byte) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{
		Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc, Marker: marker,
	}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatalf("marshal rtp: %v", err)
	}
	return b
}

// tePayload encodes an RFC 4733 event.
func tePayload(event uint8, end bool, duration uint16) []byte {
	b := []byte{event, 10, byte(duration >> 8), byte(duration)}
	if end {
		b[1] |= 0x80
	}
	return b
}

// frames returns n distinct 160-byte frames.
func testFrames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		f := make([]byte, FrameSamples)
		for j := range f {
			f[j] = byte(i + j)
		}
		out[i] = f
	}
	return out
}

// normalizePort replaces the allocated port in an SDP answer, for goldens.
func normalizePort(sdpText string, port uint16) string {
	return strings.ReplaceAll(sdpText, " "+strconv.Itoa(int(port))+" RTP/AVP", " PORT RTP/AVP")
}

func listenAt(port int) (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
}

func loopbackAddrPort(port uint16) netip.AddrPort { return netip.AddrPortFrom(loopback, port) }
