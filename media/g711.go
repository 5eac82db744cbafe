package media

// G.711 (ITU-T G.711, 1988) segment encoding of 16-bit linear PCM. The
// decode tables are computed once at start-up and never written again.

var (
	alawToLinear = decodeTable(decodeALaw)
	ulawToLinear = decodeTable(decodeULaw)
)

func decodeTable(f func(byte) int16) (t [256]int16) {
	for i := range t {
		t[i] = f(byte(i))
	}
	return t
}

const (
	ulawBias = 0x84
	ulawClip = 32635
)

func encodeULaw(s int16) byte {
	v := int(s)
	sign := 0
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

func decodeULaw(b byte) int16 {
	b = ^b
	sign := b & 0x80
	exp := int(b>>4) & 0x07
	mant := int(b & 0x0F)
	v := ((mant << 3) + ulawBias) << exp
	v -= ulawBias
	if sign != 0 {
		return int16(-v)
	}
	return int16(v)
}

func encodeALaw(s int16) byte {
	v := int(s)
	sign := 0x80 // A-law sets the sign bit for positive samples
	if v < 0 {
		v = -v - 1
		sign = 0
	}
	if v > 32767 {
		v = 32767
	}
	var out int
	if v < 256 {
		out = v >> 4
	} else {
		exp := 1
		for t := v >> 8; t > 1; t >>= 1 {
			exp++
		}
		out = exp<<4 | (v>>(exp+3))&0x0F
	}
	return byte(out|sign) ^ 0x55
}

func decodeALaw(b byte) int16 {
	b ^= 0x55
	exp := int(b>>4) & 0x07
	mant := int(b & 0x0F)
	var v int
	if exp == 0 {
		v = mant<<4 + 8
	} else {
		v = (mant<<4 + 0x108) << (exp - 1)
	}
	if b&0x80 == 0 {
		return int16(-v)
	}
	return int16(v)
}

// Transcoding tables between the two laws, computed once from the decode
// tables and the encoders above, so a bridged packet is converted byte by
// byte with one lookup and no allocation. Both laws have 8-bit resolution,
// so one hop loses at most one quantisation step of the target law.
var (
	alawToULaw = func() [256]byte {
		t := transcodeTable(&alawToLinear, encodeULaw)
		// A-law has no zero: its silence 0xD5 (and 0x55) is ±8, which
		// µ-law could carry as faint noise. Silence must stay silence.
		t[0xD5], t[0x55] = 0xFF, 0xFF
		return t
	}()
	ulawToALaw = transcodeTable(&ulawToLinear, encodeALaw)
)

func transcodeTable(dec *[256]int16, enc func(int16) byte) (t [256]byte) {
	for i := range t {
		t[i] = enc(dec[i])
	}
	return t
}

// transcoder returns the table converting from's bytes into to's, or nil
// when both are the same law and payloads are copied as they are.
func transcoder(from, to Codec) *[256]byte {
	switch {
	case from.PayloadType == to.PayloadType:
		return nil
	case to.PayloadType == PCMU.PayloadType:
		return &alawToULaw
	default:
		return &ulawToALaw
	}
}

// Comfort-silence frames: one ptime of the byte that decodes to zero.
var (
	silenceALaw = silenceFrame(0xD5)
	silenceULaw = silenceFrame(0xFF)
)

func silenceFrame(b byte) (f [FrameSamples]byte) {
	for i := range f {
		f[i] = b
	}
	return f
}

func silenceFor(c Codec) []byte {
	if c.PayloadType == PCMU.PayloadType {
		return silenceULaw[:]
	}
	return silenceALaw[:]
}
