package media

import (
	"math"
	"math/rand/v2"
	"testing"

	"kcc/call"
)

// signal builds linear audio for in-band tests at 8 kHz.
type signal []float64

func (s signal) silence(ms int) signal { return append(s, make([]float64, ms*8)...) }

// key appends the dual tone of key k for ms milliseconds, each tone at
// -level dBm0, the column tone twistDB louder than the row tone.
func (s signal) key(k byte, ms, level int, twistDB float64) signal {
	i := indexByte(dtmfKeypad, k)
	row, col := dtmfRows[i/4], dtmfCols[i%4]
	amp := 22772 * math.Pow(10, -float64(level)/20)
	return s.tones(ms, []float64{row, col}, []float64{amp, amp * math.Pow(10, twistDB/20)})
}

func (s signal) tones(ms int, freqs, amps []float64) signal {
	n0 := len(s)
	for n := range ms * 8 {
		var v float64
		for j, f := range freqs {
			v += amps[j] * math.Sin(2*math.Pi*f*float64(n0+n)/8000)
		}
		s = append(s, v)
	}
	return s
}

// noise adds white noise of the given RMS to the whole signal.
func (s signal) noise(rms float64, seed uint64) signal {
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range s {
		s[i] += r.NormFloat64() * rms
	}
	return s
}

// encode clips and encodes s with c.
func (s signal) encode(c Codec) []byte {
	pcm := make([]int16, len(s))
	for i, v := range s {
		pcm[i] = int16(max(min(v, 32767), -32768))
	}
	out := make([]byte, len(pcm))
	c.Encode(out, pcm)
	return out
}

// detect feeds g711 to a detector in 20 ms packets and returns the keys.
func detect(c Codec, g711 []byte) string {
	var d inbandDetector
	var got []byte
	for off := 0; off < len(g711); off += FrameSamples {
		keys, n := d.feed(c, g711[off:min(off+FrameSamples, len(g711))])
		for _, k := range keys[:n] {
			got = append(got, byte(k))
		}
	}
	return string(got)
}

func TestInbandDetection(t *testing.T) {
	all := signal{}.silence(30)
	for i := range len(dtmfKeypad) {
		all = all.key(dtmfKeypad[i], 80, 10, 0).silence(60)
	}
	sweep := signal{}
	for n := range 8000 { // 1 s sweep 300 Hz to 3400 Hz
		f := 300 + 3100*float64(n)/8000
		sweep = append(sweep, 12000*math.Sin(2*math.Pi*f*float64(n)/8000))
	}
	var speech signal // a vowel: 140 Hz with falling harmonics, pitch wobbling
	for n := range 8000 {
		f0 := 140 + 10*math.Sin(2*math.Pi*3*float64(n)/8000)
		var v float64
		for h := 1; h <= 20; h++ {
			v += 6000 / float64(h) * math.Sin(2*math.Pi*f0*float64(h)*float64(n)/8000)
		}
		speech = append(speech, v)
	}
	tests := []struct {
		name  string
		codec Codec
		sig   signal
		want  string
	}{
		{"one key", PCMA, signal{}.silence(40).key('5', 100, 10, 0).silence(40), "5"},
		{"every key", PCMA, all, dtmfKeypad},
		{"every key mu-law", PCMU, all, dtmfKeypad},
		{"repeated key with 60 ms pause", PCMA, signal{}.key('1', 80, 8, 0).silence(60).key('1', 80, 8, 0).silence(40), "11"},
		{"held key is one", PCMA, signal{}.key('0', 1500, 10, 0), "0"},
		{"40 ms key", PCMA, signal{}.silence(13).key('8', 40, 10, 0).silence(40), "8"},
		{"20 ms key refused", PCMA, signal{}.silence(13).key('8', 20, 10, 0).silence(60), ""},
		{"with noise at 20 dB SNR", PCMA, signal{}.silence(40).key('7', 100, 10, 0).silence(40).noise(22772*math.Pow(10, -30.0/20)*0.7, 7), "7"},
		{"quiet key at -25 dBm0", PCMA, signal{}.key('3', 100, 25, 0).silence(40), "3"},
		{"too quiet at -40 dBm0", PCMA, signal{}.key('3', 100, 40, 0).silence(40), ""},
		{"normal twist 6 dB accepted", PCMA, signal{}.key('9', 100, 12, 6).silence(40), "9"},
		{"reverse twist 3 dB accepted", PCMA, signal{}.key('9', 100, 10, -3).silence(40), "9"},
		{"normal twist 11 dB refused", PCMA, signal{}.key('9', 100, 14, 11).silence(40), ""},
		{"reverse twist 7 dB refused", PCMA, signal{}.key('9', 100, 8, -7).silence(40), ""},
		{"chord with a third note refused", PCMA, signal{}.tones(500, []float64{697, 1209, 440}, []float64{6000, 6000, 6000}), ""},
		{"two row tones refused", PCMA, signal{}.tones(500, []float64{697, 852, 1336}, []float64{6000, 6000, 6000}), ""},
		{"sweep refused", PCMA, sweep, ""},
		{"speech-like vowel refused", PCMA, speech, ""},
		{"white noise refused", PCMA, signal{}.silence(1000).noise(5000, 3), ""},
		{"silence", PCMU, signal{}.silence(500), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := detect(tt.codec, tt.sig.encode(tt.codec)); got != tt.want {
				t.Errorf("detected %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInbandOddPacketSizes(t *testing.T) {
	g := signal{}.silence(20).key('6', 100, 10, 0).silence(60).key('2', 100, 10, 0).silence(60).encode(PCMA)
	var d inbandDetector
	var got []byte
	for off, size := 0, 1; off < len(g); off, size = off+size, size%97+13 {
		keys, n := d.feed(PCMA, g[off:min(off+size, len(g))])
		for _, k := range keys[:n] {
			got = append(got, byte(k))
		}
	}
	if string(got) != "62" {
		t.Errorf("detected %q with odd packet sizes, want %q", got, "62")
	}
}

// TestToneGeneratorRoundTrip checks the generator used for in-band sending
// against the detector: every key, both laws, frame by frame.
func TestToneGeneratorRoundTrip(t *testing.T) {
	for _, c := range []Codec{PCMA, PCMU} {
		t.Run(c.Name, func(t *testing.T) {
			var g []byte
			pcm := make([]int16, FrameSamples)
			frame := make([]byte, FrameSamples)
			silence := silenceFor(c)
			for ev := range uint8(16) {
				for f := range 5 {
					dtmfTone(pcm, ev, f*FrameSamples, keyVolume)
					c.Encode(frame, pcm)
					g = append(g, frame...)
				}
				for range keyGapFrames {
					g = append(g, silence...)
				}
			}
			if got := detect(c, g); got != dtmfKeys {
				t.Errorf("detected %q, want %q", got, dtmfKeys)
			}
		})
	}
}

func FuzzInband(f *testing.F) {
	f.Add(signal{}.key('1', 100, 10, 0).encode(PCMA), false)
	f.Add(signal{}.key('#', 100, 10, 0).encode(PCMU), true)
	f.Add([]byte{}, false)
	f.Add([]byte{0, 0xFF, 0x80, 0x7F}, true)
	f.Fuzz(func(t *testing.T, g711 []byte, ulaw bool) {
		c := PCMA
		if ulaw {
			c = PCMU
		}
		var d inbandDetector
		keys, n := d.feed(c, g711)
		for _, k := range keys[:n] {
			if !call.Digit(k).Valid() {
				t.Fatalf("detected invalid key %q", k)
			}
		}
		if n > len(g711)/(inbandHop*inbandConfirm)+1 {
			t.Fatalf("%d keys from %d samples", n, len(g711))
		}
	})
}

func BenchmarkGoertzelFrame(b *testing.B) {
	g := signal{}.key('5', 1000, 10, 0).noise(300, 1).encode(PCMA)
	var d inbandDetector
	b.ReportAllocs()
	b.SetBytes(FrameSamples)
	i := 0
	for b.Loop() {
		off := (i % 50) * FrameSamples
		d.feed(PCMA, g[off:off+FrameSamples])
		i++
	}
}
