package prompts

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"kcc/media"
)

// chunk builds one RIFF chunk, with the pad byte an odd size needs.
func chunk(id string, body []byte) []byte {
	b := make([]byte, 8, 8+len(body)+1)
	copy(b, id)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riff wraps chunks in a RIFF/WAVE header with a correct size.
func riff(chunks ...[]byte) []byte {
	body := slices.Concat(chunks...)
	b := make([]byte, 12, 12+len(body))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(4+len(body)))
	copy(b[8:], "WAVE")
	return append(b, body...)
}

// fmtBody builds a plain 16-byte fmt chunk body.
func fmtBody(tag, channels uint16, rate uint32, bits uint16) []byte {
	b := make([]byte, 16)
	align := channels * bits / 8
	binary.LittleEndian.PutUint16(b[0:], tag)
	binary.LittleEndian.PutUint16(b[2:], channels)
	binary.LittleEndian.PutUint32(b[4:], rate)
	binary.LittleEndian.PutUint32(b[8:], rate*uint32(align))
	binary.LittleEndian.PutUint16(b[12:], align)
	binary.LittleEndian.PutUint16(b[14:], bits)
	return b
}

// extensibleBody builds a 40-byte WAVE_FORMAT_EXTENSIBLE fmt body whose
// subformat is sub.
func extensibleBody(sub uint16, bits uint16) []byte {
	b := fmtBody(formatExtensible, 1, SampleRate, bits)
	ext := make([]byte, 24)
	binary.LittleEndian.PutUint16(ext[0:], 22)   // cbSize
	binary.LittleEndian.PutUint16(ext[2:], bits) // valid bits
	binary.LittleEndian.PutUint32(ext[4:], 0x4)  // front centre
	binary.LittleEndian.PutUint16(ext[8:], sub)
	copy(ext[10:], ksDataFormatTail[:])
	return append(b, ext...)
}

func pcmBytes(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

// wav builds a valid 8 kHz mono 16-bit file of pcm.
func wav(pcm ...int16) []byte {
	return riff(chunk("fmt ", fmtBody(formatPCM, 1, SampleRate, 16)), chunk("data", pcmBytes(pcm)))
}

func withRIFFSize(b []byte, size uint32) []byte {
	b = slices.Clone(b)
	binary.LittleEndian.PutUint32(b[4:], size)
	return b
}

func TestParseWAVAccepts(t *testing.T) {
	pcm := []int16{0, 1, -1, 32767, -32768, 1000}
	good := fmtBody(formatPCM, 1, SampleRate, 16)
	data := pcmBytes(pcm)
	tests := []struct {
		name string
		file []byte
	}{
		{"canonical", wav(pcm...)},
		{"LIST before fmt", riff(chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00sox!\x00")), chunk("fmt ", good), chunk("data", data))},
		{"odd-sized chunk with pad byte", riff(chunk("fmt ", good), chunk("junk", []byte{1, 2, 3}), chunk("data", data))},
		{"fact chunk and trailing LIST", riff(chunk("fmt ", good), chunk("fact", []byte{6, 0, 0, 0}), chunk("data", data), chunk("LIST", []byte("INFO")))},
		{"fmt with cbSize", riff(chunk("fmt ", append(slices.Clone(good), 0, 0)), chunk("data", data))},
		{"extensible PCM", riff(chunk("fmt ", extensibleBody(formatPCM, 16)), chunk("data", data))},
		{"streamed RIFF size 0", withRIFFSize(wav(pcm...), 0)},
		{"streamed RIFF size max", withRIFFSize(wav(pcm...), 0xFFFFFFFF)},
		{"junk after RIFF end", append(wav(pcm...), "garbage that is not a chunk"...)},
		{"missing final pad byte", riff(chunk("fmt ", good), chunk("data", data), chunk("odd!", []byte{9}))[:12+8+16+8+len(data)+8+1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWAV(tt.file)
			if err != nil {
				t.Fatalf("parseWAV: %v", err)
			}
			if !slices.Equal(got, pcm) {
				t.Errorf("samples = %v, want %v", got, pcm)
			}
		})
	}
}

// TestParseWAVG711 checks that A-law and µ-law files decode to what the codec
// decodes, and that A-law survives the trip back to A-law frames unchanged.
func TestParseWAVG711(t *testing.T) {
	pcm := []int16{0, 1, -1, 32767, -32768, 1000, -1000, 12345}
	for _, codec := range codecs {
		tag := uint16(formatALaw)
		if codec == media.PCMU {
			tag = formatMuLaw
		}
		g711 := make([]byte, len(pcm))
		codec.Encode(g711, pcm)
		want := make([]int16, len(g711))
		codec.Decode(want, g711)
		for _, tt := range []struct {
			name string
			fmt  []byte
		}{
			{"plain", fmtBody(tag, 1, SampleRate, 8)},
			{"extensible", extensibleBody(tag, 8)},
		} {
			t.Run(codec.Name+"/"+tt.name, func(t *testing.T) {
				got, err := parseWAV(riff(chunk("fmt ", tt.fmt), chunk("fact", []byte{8, 0, 0, 0}), chunk("data", g711)))
				if err != nil {
					t.Fatalf("parseWAV: %v", err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("samples = %v, want %v", got, want)
				}
				if codec != media.PCMA {
					return // µ-law has two zeros; only A-law is byte-exact
				}
				frame := encodeFrames(codec, got)[0]
				if !bytes.Equal(frame[:len(g711)], g711) {
					t.Errorf("re-encoded %s = % x, want % x", codec.Name, frame[:len(g711)], g711)
				}
			})
		}
	}
}

// refusals lists bad files and the reason Load must give for each; the
// catalogue tests check that the reason comes prefixed with the file's path.
func refusals() []struct {
	name string
	file []byte
	want string
} {
	good := fmtBody(formatPCM, 1, SampleRate, 16)
	data := pcmBytes(make([]int16, 160))
	whole := wav(make([]int16, 160)...)
	tooLong := make([]int16, maxSamples+1)
	return []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "not a WAV file: 0 bytes, too short for a RIFF header"},
		{"too short", []byte("RIFF\x00"), "not a WAV file: 5 bytes, too short for a RIFF header"},
		{"not RIFF", []byte("ID3\x04\x00\x00\x00\x00\x00\x00 this is an mp3"), "not a WAV file: no RIFF header"},
		{"big-endian RIFX", append([]byte("RIFX"), whole[4:]...), "RIFX container not supported"},
		{"RF64", append([]byte("RF64"), whole[4:]...), "RF64 container not supported"},
		{"not WAVE", append([]byte("RIFF\x04\x00\x00\x00AVI "), chunk("data", data)...), `RIFF form "AVI ", want WAVE`},
		{"wrong sample rate", riff(chunk("fmt ", fmtBody(formatPCM, 1, 16000, 16)), chunk("data", data)), "sample rate 16000 Hz, want 8000"},
		{"stereo", riff(chunk("fmt ", fmtBody(formatPCM, 2, SampleRate, 16)), chunk("data", data)), "2 channels, want 1 (mono)"},
		{"8-bit", riff(chunk("fmt ", fmtBody(formatPCM, 1, SampleRate, 8)), chunk("data", data)), "8 bits per sample, want 16"},
		{"24-bit", riff(chunk("fmt ", fmtBody(formatPCM, 1, SampleRate, 24)), chunk("data", data[:300])), "24 bits per sample, want 16"},
		{"float", riff(chunk("fmt ", fmtBody(formatFloat, 1, SampleRate, 32)), chunk("data", data)), "format IEEE float, want 16-bit PCM"},
		{"extensible float", riff(chunk("fmt ", extensibleBody(formatFloat, 32)), chunk("data", data)), "format IEEE float, want 16-bit PCM"},
		{"short extensible fmt", riff(chunk("fmt ", extensibleBody(formatPCM, 16)[:39]), chunk("data", data)), "extensible fmt chunk of 39 bytes, want 40"},
		{"extensible unknown GUID", riff(chunk("fmt ", func() []byte { b := extensibleBody(formatPCM, 16); b[39] = 0; return b }()), chunk("data", data)), "extensible fmt chunk with an unknown subformat GUID"},
		{"extensible 20 valid bits", riff(chunk("fmt ", func() []byte { b := extensibleBody(formatPCM, 16); b[18] = 20; return b }()), chunk("data", data)), "20 valid bits in 16-bit samples, want 16 of 16"},
		{"16-bit A-law", riff(chunk("fmt ", fmtBody(formatALaw, 1, SampleRate, 16)), chunk("data", data)), "16 bits per sample, want 8 for G.711 A-law"},
		{"stereo µ-law", riff(chunk("fmt ", fmtBody(formatMuLaw, 2, SampleRate, 8)), chunk("data", data)), "2 channels, want 1 (mono)"},
		{"empty A-law", riff(chunk("fmt ", fmtBody(formatALaw, 1, SampleRate, 8)), chunk("data", nil)), "no audio: data chunk is empty"},
		{"unknown format", riff(chunk("fmt ", fmtBody(0x55, 1, SampleRate, 0)), chunk("data", data)), "format 0x0055, want 16-bit PCM"},
		{"bad block align", riff(chunk("fmt ", func() []byte { b := slices.Clone(good); b[12] = 4; return b }()), chunk("data", data)), "block align 4, want 2"},
		{"short fmt chunk", riff(chunk("fmt ", good[:10]), chunk("data", data)), "fmt chunk of 10 bytes, want at least 16"},
		{"no fmt chunk", riff(chunk("data", data)), "no fmt chunk"},
		{"no data chunk", riff(chunk("fmt ", good)), "no data chunk"},
		{"two fmt chunks", riff(chunk("fmt ", good), chunk("fmt ", good), chunk("data", data)), "more than one fmt chunk"},
		{"two data chunks", riff(chunk("fmt ", good), chunk("data", data), chunk("data", data)), "more than one data chunk"},
		{"truncated data", whole[:len(whole)-220], `"data" chunk claims 320 bytes but only 100 remain (truncated file?)`},
		{"data bigger than file", withRIFFSize(riff(chunk("fmt ", good), []byte("data\xff\xff\xff\x7f\x00\x00")), 0), `"data" chunk claims 2147483647 bytes but only 2 remain`},
		{"huge LIST chunk", riff([]byte("LIST\xff\xff\xff\xff"), chunk("fmt ", good), chunk("data", data)), `"LIST" chunk claims 4294967295 bytes`},
		{"empty data", riff(chunk("fmt ", good), chunk("data", nil)), "no audio: data chunk is empty"},
		{"odd data", riff(chunk("fmt ", good), chunk("data", data[:5])), "data chunk of 5 bytes is not a whole number of 16-bit samples"},
		{"longer than ten minutes", wav(tooLong...), "audio is 10m0.000125s long, limit 10m0s"},
	}
}

func TestParseWAVRefuses(t *testing.T) {
	for _, tt := range refusals() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWAV(tt.file)
			if err == nil {
				t.Fatalf("parseWAV accepted the file (%d samples), want error %q", len(got), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wav(0, 1, -1, 32767, -32768))
	f.Add(riff(chunk("LIST", []byte("INFOx")), chunk("fmt ", extensibleBody(formatPCM, 16)), chunk("data", pcmBytes(make([]int16, 161)))))
	f.Add(withRIFFSize(wav(5, 6, 7), 0xFFFFFFFF))
	f.Add(riff(chunk("fmt ", fmtBody(formatALaw, 1, SampleRate, 8)), chunk("data", []byte{0xd5, 0x55, 0x2a, 0xaa, 0})))
	for _, r := range refusals() {
		if len(r.file) < 4096 {
			f.Add(r.file)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := parseWAV(b)
		if err != nil {
			if pcm != nil {
				t.Errorf("error %q came with %d samples", err, len(pcm))
			}
			return
		}
		if len(pcm) == 0 || len(pcm) > maxSamples || len(pcm) > len(b) {
			t.Fatalf("accepted %d samples from a %d-byte file", len(pcm), len(b))
		}
		if frames := encodeFrames(media.PCMA, pcm); len(frames) != (len(pcm)+159)/160 {
			t.Errorf("%d samples gave %d frames", len(pcm), len(frames))
		}
	})
}

func BenchmarkParseWAV(b *testing.B) {
	file := wav(make([]int16, 5*SampleRate)...) // a typical 5 s prompt
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := parseWAV(file); err != nil {
			b.Fatal(err)
		}
	}
}
