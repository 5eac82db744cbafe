package peertest

import (
	"encoding/binary"
	"math"
	"time"
)

// Tone returns n samples of a sine-like 1 kHz tone at 8 kHz, as a test
// signal that is clearly not silence.
func Tone(n int) []int16 {
	// one period of 1 kHz at 8 kHz: 8 samples
	period := [8]int16{0, 5657, 8000, 5657, 0, -5657, -8000, -5657}
	out := make([]int16, n)
	for i := range out {
		out[i] = period[i%8]
	}
	return out
}

// Digit is a DTMF key sent at a moment of a generated stream.
type Digit struct {
	At    time.Duration // from the start of the stream
	Event uint8         // RFC 4733 event code: 0-9, 10 = *, 11 = #
}

// MediaStream describes an RTP stream for SIPp's play_pcap_audio: 20 ms
// audio frames for Duration, with RFC 4733 events replacing the audio while
// a key is down (RFC 4733 §2.5.1.5 lets a sender stop audio during events).
type MediaStream struct {
	Duration    time.Duration
	AudioPT     uint8
	Frame       []byte // one 20 ms payload, repeated
	EventPT     uint8
	Digits      []Digit
	KeyDuration time.Duration // how long a key is held (default 100 ms)
	// InBand, when set, sends keys as DTMF tones in the audio (for a peer
	// without telephone-event): it encodes 16-bit samples into the stream's
	// codec, e.g. media.PCMA.Encode.
	InBand func(dst []byte, pcm []int16) int
}

// dtmfFreqs are the row and column frequencies of RFC 4733 events 0-15
// (ITU-T Q.23): 0-9, *, #, A-D.
var dtmfFreqs = [16][2]float64{
	{941, 1336}, {697, 1209}, {697, 1336}, {697, 1477}, {770, 1209}, {770, 1336}, {770, 1477},
	{852, 1209}, {852, 1336}, {852, 1477}, {941, 1209}, {941, 1477},
	{697, 1633}, {770, 1633}, {852, 1633}, {941, 1633},
}

// dtmfFrame returns 20 ms of the dual tone of event ev starting at sample n0,
// each tone at about -10 dBm0.
func dtmfFrame(ev uint8, n0 int) []int16 {
	out := make([]int16, 160)
	f := dtmfFreqs[ev&15]
	for i := range out {
		tm := float64(n0+i) / 8000
		out[i] = int16(5000*math.Sin(2*math.Pi*f[0]*tm) + 5000*math.Sin(2*math.Pi*f[1]*tm))
	}
	return out
}

// Pcap renders s as a classic little-endian pcap file of Ethernet/IPv4/UDP
// frames. Addresses and ports are placeholders: SIPp sends to the address
// from the remote SDP and from its own media port.
func (s MediaStream) Pcap() []byte {
	const ptime = 20 * time.Millisecond
	hold := s.KeyDuration
	if hold == 0 {
		hold = 100 * time.Millisecond
	}
	out := make([]byte, 24)
	binary.LittleEndian.PutUint32(out[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(out[4:], 2)
	binary.LittleEndian.PutUint16(out[6:], 4)
	binary.LittleEndian.PutUint32(out[16:], 65535)
	binary.LittleEndian.PutUint32(out[20:], 1) // Ethernet
	base := time.Unix(1_700_000_000, 0)
	var seq uint16 = 1000
	var ts uint32 = 80000
	const ssrc = 0x4b43_4331
	marker := true
	add := func(at time.Duration, pt uint8, mark bool, rtpTS uint32, payload []byte) {
		rtp := make([]byte, 12+len(payload))
		rtp[0] = 0x80
		rtp[1] = pt
		if mark {
			rtp[1] |= 0x80
		}
		binary.BigEndian.PutUint16(rtp[2:], seq)
		binary.BigEndian.PutUint32(rtp[4:], rtpTS)
		binary.BigEndian.PutUint32(rtp[8:], ssrc)
		copy(rtp[12:], payload)
		seq++
		out = appendRecord(out, base.Add(at), rtp)
	}
	steps := int(s.Duration / ptime)
	for i := 0; i < steps; i++ {
		at := time.Duration(i) * ptime
		if d, ok := s.keyAt(at, hold); ok && s.InBand != nil {
			frame := make([]byte, 160)
			s.InBand(frame, dtmfFrame(d.Event, i*160))
			add(at, s.AudioPT, false, ts, frame)
		} else if ok {
			// the event's packets all carry the timestamp of its start
			start := d.At.Truncate(ptime)
			evTS := ts - uint32((at-start)/ptime)*160
			dur := uint16((at-start)/ptime+1) * 160
			end := at+ptime >= start+hold
			p := []byte{d.Event, 10, 0, 0} // volume -10 dBm0
			if end {
				p[1] |= 0x80
			}
			binary.BigEndian.PutUint16(p[2:], dur)
			add(at, s.EventPT, at == start, evTS, p)
			if end { // the end packet is sent three times (RFC 4733 §2.5.1.4)
				add(at+time.Millisecond, s.EventPT, false, evTS, p)
				add(at+2*time.Millisecond, s.EventPT, false, evTS, p)
				marker = true
			}
		} else {
			add(at, s.AudioPT, marker, ts, s.Frame)
			marker = false
		}
		ts += 160
	}
	return out
}

func (s MediaStream) keyAt(at, hold time.Duration) (Digit, bool) {
	for _, d := range s.Digits {
		start := d.At.Truncate(20 * time.Millisecond)
		if at >= start && at < start+hold {
			return d, true
		}
	}
	return Digit{}, false
}

func appendRecord(out []byte, t time.Time, rtp []byte) []byte {
	udpLen := 8 + len(rtp)
	ipLen := 20 + udpLen
	frame := make([]byte, 14+ipLen)
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	ip := frame[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], 40000)
	binary.BigEndian.PutUint16(u[2:], 40002)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen))
	copy(u[8:], rtp)
	var rec [16]byte
	binary.LittleEndian.PutUint32(rec[0:], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(rec[4:], uint32(t.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
	return append(append(out, rec[:]...), frame...)
}
