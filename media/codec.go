package media

// Codec is an audio codec as negotiated in SDP. kcc speaks G.711 only: both
// laws are 8 kHz, one byte per sample, so a 20 ms frame is 160 bytes.
type Codec struct {
	Name        string // rtpmap encoding name, e.g. "PCMA"
	PayloadType uint8  // static payload type (RFC 3551)
	ClockRate   uint32
}

// The codecs kcc offers and accepts, in order of preference (DESIGN.md §3:
// prefer PCMA, then PCMU).
var (
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
)

// FrameSamples is the number of samples (and G.711 bytes) in one 20 ms frame.
const FrameSamples = 160

// Silence returns the G.711 byte that decodes to zero amplitude for c. A
// zero byte is full-scale noise in both laws, so muting must use this.
func (c Codec) Silence() byte {
	if c.PayloadType == PCMU.PayloadType {
		return 0xFF
	}
	return 0xD5
}

// Encode encodes 16-bit linear samples into dst (len(dst) >= len(pcm)) and
// returns the number of bytes written.
func (c Codec) Encode(dst []byte, pcm []int16) int {
	enc := encodeALaw
	if c.PayloadType == PCMU.PayloadType {
		enc = encodeULaw
	}
	n := min(len(dst), len(pcm))
	for i := range n {
		dst[i] = enc(pcm[i])
	}
	return n
}

// Decode decodes G.711 bytes into 16-bit linear samples in dst and returns the
// number of samples written.
func (c Codec) Decode(dst []int16, g711 []byte) int {
	table := &alawToLinear
	if c.PayloadType == PCMU.PayloadType {
		table = &ulawToLinear
	}
	n := min(len(dst), len(g711))
	for i := range n {
		dst[i] = table[g711[i]]
	}
	return n
}
