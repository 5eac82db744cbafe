package prompts

import (
	"strings"
	"time"

	"kcc/call"
	"kcc/media"
)

// Prompt is one decoded recording, pre-encoded into 20 ms G.711 frames for
// both laws. Its frames are shared by every call playing it and must not be
// modified.
type Prompt struct {
	lang     call.Language
	name     string
	duration time.Duration
	pcma     [][]byte
	pcmu     [][]byte
}

func newPrompt(lang call.Language, name string, pcm []int16) *Prompt {
	return &Prompt{
		lang:     lang,
		name:     name,
		duration: samplesDuration(len(pcm)),
		pcma:     encodeFrames(media.PCMA, pcm),
		pcmu:     encodeFrames(media.PCMU, pcm),
	}
}

// encodeFrames encodes pcm into FrameSamples-byte frames, padding the last
// one with the codec's silence byte (a zero byte is loud noise in G.711).
// The frames share one backing array, each capped at its own length so an
// append by a careless caller copies instead of overwriting the next frame.
func encodeFrames(codec media.Codec, pcm []int16) [][]byte {
	n := (len(pcm) + media.FrameSamples - 1) / media.FrameSamples
	buf := make([]byte, n*media.FrameSamples)
	written := codec.Encode(buf, pcm)
	silence := codec.Silence()
	for i := written; i < len(buf); i++ {
		buf[i] = silence
	}
	frames := make([][]byte, n)
	for i := range frames {
		lo, hi := i*media.FrameSamples, (i+1)*media.FrameSamples
		frames[i] = buf[lo:hi:hi]
	}
	return frames
}

// Name returns the prompt's name, e.g. "welkom"; the hold music is called
// "hold".
func (p *Prompt) Name() string { return p.name }

// Language returns the prompt's language, or "" for the hold music.
func (p *Prompt) Language() call.Language { return p.lang }

// Frames returns the prompt as 20 ms frames of media.FrameSamples bytes in
// codec, or nil if codec is neither PCMA nor PCMU. Codecs are matched by
// their SDP encoding name (case-insensitive, as SDP names are) and 8000 Hz
// clock rate, not by payload type, so a codec negotiated with a dynamic
// payload type still finds its frames. The frames are shared and read-only.
func (p *Prompt) Frames(codec media.Codec) [][]byte {
	if codec.ClockRate != SampleRate {
		return nil
	}
	switch {
	case strings.EqualFold(codec.Name, media.PCMA.Name):
		return p.pcma
	case strings.EqualFold(codec.Name, media.PCMU.Name):
		return p.pcmu
	}
	return nil
}

// Duration returns the length of the recorded audio, without the padding of
// the last frame.
func (p *Prompt) Duration() time.Duration { return p.duration }
