package peertest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Packet is one captured UDP datagram.
type Packet struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte
}

// Capture is a running tcpdump writing UDP packets on lo to a pcap file.
type Capture struct {
	t    *testing.T
	path string
	cmd  *exec.Cmd
	done bool
}

// StartCapture starts tcpdump on lo with a BPF filter (e.g. "udp and host
// 127.0.1.1") and waits until it captures. Needs root (CI runs as root).
func StartCapture(t *testing.T, filter string) *Capture {
	t.Helper()
	return StartCaptureOn(t, "lo", filter)
}

// StartCaptureOn is StartCapture on another interface ("any" for all).
func StartCaptureOn(t *testing.T, iface, filter string) *Capture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	logPath := path + ".log"
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// --immediate-mode: without it the last packets (BYE, 200) may still be
	// in tcpdump's buffer when it is stopped (PEERS.md §5).
	cmd := exec.Command("tcpdump", "-i", iface, "-n", "-s", "0", "--immediate-mode", "-U", "-w", path, filter)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tcpdump: %v", err)
	}
	c := &Capture{t: t, path: path, cmd: cmd}
	t.Cleanup(func() {
		c.stop()
		_ = logf.Close()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(logPath)
		if bytes.Contains(log, []byte("listening on")) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *Capture) stop() {
	if c.done {
		return
	}
	c.done = true
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
}

// Stop ends the capture and returns its UDP packets in capture order.
func (c *Capture) Stop() []Packet {
	c.t.Helper()
	time.Sleep(200 * time.Millisecond) // let the last packets reach the file
	c.stop()
	raw, err := os.ReadFile(c.path)
	if err != nil {
		c.t.Fatal(err)
	}
	pkts, err := ParsePcap(raw)
	if err != nil {
		c.t.Fatalf("parse capture: %v", err)
	}
	return pkts
}

// StopCount ends the capture and returns how many packets of any protocol
// it holds (for "nothing at all went there" checks).
func (c *Capture) StopCount() int {
	c.t.Helper()
	time.Sleep(200 * time.Millisecond)
	c.stop()
	raw, err := os.ReadFile(c.path)
	if err != nil {
		c.t.Fatal(err)
	}
	n := 0
	for off := 24; off+16 <= len(raw); n++ {
		off += 16 + int(binary.LittleEndian.Uint32(raw[off+8:]))
	}
	return n
}

// ParsePcap reads a classic pcap file (as tcpdump -w writes it) of Ethernet
// (lo on Linux), raw IP or Linux cooked frames and returns the IPv4 UDP
// datagrams in it.
func ParsePcap(b []byte) ([]Packet, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("pcap: short file")
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	default:
		switch binary.BigEndian.Uint32(b) {
		case 0xa1b2c3d4:
			bo = binary.BigEndian
		case 0xa1b23c4d:
			bo, nano = binary.BigEndian, true
		default:
			return nil, fmt.Errorf("pcap: bad magic")
		}
	}
	link := bo.Uint32(b[20:])
	var out []Packet
	for off := 24; off+16 <= len(b); {
		sec, frac := bo.Uint32(b[off:]), bo.Uint32(b[off+4:])
		incl := int(bo.Uint32(b[off+8:]))
		off += 16
		if incl < 0 || off+incl > len(b) {
			return out, fmt.Errorf("pcap: truncated record")
		}
		frame := b[off : off+incl]
		off += incl
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		ts := time.Unix(int64(sec), ns)
		switch link {
		case 1: // Ethernet
			if len(frame) < 14 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
				continue
			}
			frame = frame[14:]
		case 101, 12: // raw IP
		case 113: // Linux cooked
			if len(frame) < 16 {
				continue
			}
			frame = frame[16:]
		default:
			return nil, fmt.Errorf("pcap: link type %d not supported", link)
		}
		if p, ok := udp(frame, ts); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func udp(ip []byte, ts time.Time) (Packet, bool) {
	if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
		return Packet{}, false
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || total > len(ip) || total < ihl+8 {
		return Packet{}, false
	}
	u := ip[ihl:total]
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < 8 || ulen > len(u) {
		return Packet{}, false
	}
	return Packet{
		Time:    ts,
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:])),
		Payload: u[8:ulen],
	}, true
}

// RTP is the part of an RTP header tests look at.
type RTP struct {
	PayloadType uint8
	Marker      bool
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
	Payload     []byte
}

// ParseRTP reads an RTP packet (RFC 3550 §5.1); ok is false for anything
// else (SIP, RTCP).
func ParseRTP(b []byte) (RTP, bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return RTP{}, false
	}
	pt := b[1] & 0x7f
	if pt >= 72 && pt <= 76 { // RTCP SR/RR/SDES/BYE/APP share the port space (RFC 5761)
		return RTP{}, false
	}
	n := 12 + int(b[0]&0x0f)*4
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return RTP{}, false
		}
		n += 4 + int(binary.BigEndian.Uint16(b[n+2:]))*4
	}
	if n > len(b) {
		return RTP{}, false
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > n {
		end -= int(b[end-1])
		if end < n {
			return RTP{}, false
		}
	}
	return RTP{
		PayloadType: pt, Marker: b[1]&0x80 != 0,
		Seq: binary.BigEndian.Uint16(b[2:]), Timestamp: binary.BigEndian.Uint32(b[4:]), SSRC: binary.BigEndian.Uint32(b[8:]),
		Payload: b[n:end],
	}, true
}
