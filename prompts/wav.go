package prompts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"kcc/media"
)

// SampleRate is the only sample rate Load accepts: G.711's, so prompts are
// never resampled on the call path.
const SampleRate = 8000

// MaxDuration bounds one prompt file. Longer files are almost certainly a
// mistake (a whole album as hold music), and the bound keeps a bad file from
// taking the memory of two pre-encoded copies of it.
const MaxDuration = 10 * time.Minute

const (
	maxSamples = int(MaxDuration / time.Second * SampleRate)
	// maxFileBytes is the most Load reads of one file: the longest allowed
	// audio plus generous room for headers and metadata chunks.
	maxFileBytes = 2*maxSamples + 1<<20
)

// WAVE format tags (RFC 2361) that people are likely to feed us by mistake,
// so the refusal can say what the file is rather than just a number.
const (
	formatPCM        = 0x0001
	formatFloat      = 0x0003
	formatALaw       = 0x0006
	formatMuLaw      = 0x0007
	formatExtensible = 0xFFFE
)

// ksDataFormatTail is the constant tail of the KSDATAFORMAT_SUBTYPE_* GUIDs
// in a WAVE_FORMAT_EXTENSIBLE header; the first two bytes carry the format tag.
var ksDataFormatTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

func formatName(tag uint16) string {
	switch tag {
	case formatPCM:
		return "PCM"
	case formatFloat:
		return "IEEE float"
	case formatALaw:
		return "G.711 A-law"
	case formatMuLaw:
		return "G.711 µ-law"
	default:
		return fmt.Sprintf("0x%04X", tag)
	}
}

// parseWAV decodes a RIFF/WAVE file that must hold mono audio at SampleRate,
// either 16-bit signed PCM or 8-bit G.711 (A-law or µ-law), and returns its
// samples as linear PCM. Errors say what is wrong without
// naming the file; the caller adds the name.
//
// The input is untrusted (an operator's directory), so every size read from
// it is checked against what is actually there before it is used.
func parseWAV(b []byte) ([]int16, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("not a WAV file: %d bytes, too short for a RIFF header", len(b))
	}
	switch id := string(b[0:4]); id {
	case "RIFF":
	case "RIFX", "RF64", "BW64":
		return nil, fmt.Errorf("%s container not supported, want little-endian RIFF", id)
	default:
		return nil, errors.New("not a WAV file: no RIFF header")
	}
	if form := b[8:12]; !bytes.Equal(form, []byte("WAVE")) {
		return nil, fmt.Errorf("RIFF form %q, want WAVE", form)
	}

	// Writers that stream (espeak-ng to a pipe, for one) leave the RIFF size
	// at 0 or 0xFFFFFFFF, so a size beyond the file is tolerated; a size
	// inside the file ends the walk there so trailing junk is ignored.
	end := len(b)
	if riff := uint64(binary.LittleEndian.Uint32(b[4:8])) + 8; riff >= 12 && riff < uint64(end) {
		end = int(riff)
	}

	var fmtChunk, data []byte
	var haveFmt, haveData bool
	for off := 12; end-off >= 8; {
		id := string(b[off : off+4])
		size := uint64(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		if size > uint64(end-body) {
			return nil, fmt.Errorf("%q chunk claims %d bytes but only %d remain (truncated file?)", id, size, end-body)
		}
		chunk := b[body : body+int(size)]
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, errors.New("more than one fmt chunk")
			}
			fmtChunk, haveFmt = chunk, true
		case "data":
			if haveData {
				return nil, errors.New("more than one data chunk")
			}
			data, haveData = chunk, true
		}
		// Chunks are word-aligned: an odd-sized chunk is followed by one
		// pad byte. A missing pad byte at the very end is harmless.
		off = body + int(size) + int(size&1)
	}
	if !haveFmt {
		return nil, errors.New("no fmt chunk")
	}
	tag, err := checkFormat(fmtChunk)
	if err != nil {
		return nil, err
	}
	if !haveData {
		return nil, errors.New("no data chunk")
	}
	if tag != formatPCM {
		return decodeG711(tag, data)
	}
	if len(data)%2 != 0 {
		return nil, fmt.Errorf("data chunk of %d bytes is not a whole number of 16-bit samples", len(data))
	}
	n := len(data) / 2
	if err := checkSamples(n); err != nil {
		return nil, err
	}
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return pcm, nil
}

// decodeG711 decodes the data chunk of an A-law or µ-law file. Such files are
// half the size of 16-bit PCM, which is why the built-in sayer words use
// them; A-law decoded here and encoded again for an A-law call gives back
// the very same bytes.
func decodeG711(tag uint16, data []byte) ([]int16, error) {
	if err := checkSamples(len(data)); err != nil {
		return nil, err
	}
	codec := media.PCMA
	if tag == formatMuLaw {
		codec = media.PCMU
	}
	pcm := make([]int16, len(data))
	codec.Decode(pcm, data)
	return pcm, nil
}

// checkSamples bounds the number of samples of the data chunk.
func checkSamples(n int) error {
	if n == 0 {
		return errors.New("no audio: data chunk is empty")
	}
	if n > maxSamples {
		return fmt.Errorf("audio is %v long, limit %v", samplesDuration(n), MaxDuration)
	}
	return nil
}

// checkFormat accepts mono 8000 Hz audio in 16-bit signed PCM or 8-bit G.711
// A-law or µ-law, either as a plain fmt chunk or as WAVE_FORMAT_EXTENSIBLE
// (which some tools write even for mono 16-bit), and returns the format tag.
func checkFormat(c []byte) (uint16, error) {
	if len(c) < 16 {
		return 0, fmt.Errorf("fmt chunk of %d bytes, want at least 16", len(c))
	}
	tag := binary.LittleEndian.Uint16(c[0:2])
	channels := binary.LittleEndian.Uint16(c[2:4])
	rate := binary.LittleEndian.Uint32(c[4:8])
	blockAlign := binary.LittleEndian.Uint16(c[12:14])
	bits := binary.LittleEndian.Uint16(c[14:16])

	if tag == formatExtensible {
		if len(c) < 40 {
			return 0, fmt.Errorf("extensible fmt chunk of %d bytes, want 40", len(c))
		}
		if !bytes.Equal(c[26:40], ksDataFormatTail[:]) {
			return 0, errors.New("extensible fmt chunk with an unknown subformat GUID")
		}
		tag = binary.LittleEndian.Uint16(c[24:26])
		if valid := binary.LittleEndian.Uint16(c[18:20]); valid != 0 && valid != bits {
			return 0, fmt.Errorf("%d valid bits in %d-bit samples, want %d of %d", valid, bits, bits, bits)
		}
	}
	var wantBits uint16
	switch tag {
	case formatPCM:
		wantBits = 16
	case formatALaw, formatMuLaw:
		wantBits = 8
	default:
		return 0, fmt.Errorf("format %s, want 16-bit PCM or 8-bit G.711", formatName(tag))
	}
	switch {
	case channels != 1:
		return 0, fmt.Errorf("%d channels, want 1 (mono)", channels)
	case rate != SampleRate:
		return 0, fmt.Errorf("sample rate %d Hz, want %d", rate, SampleRate)
	case bits != wantBits:
		return 0, fmt.Errorf("%d bits per sample, want %d for %s", bits, wantBits, formatName(tag))
	case blockAlign != wantBits/8:
		return 0, fmt.Errorf("block align %d, want %d", blockAlign, wantBits/8)
	}
	return tag, nil
}

func samplesDuration(n int) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}
