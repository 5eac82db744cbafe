package prompts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"kcc/call"
	"kcc/media"
)

// builtinNames are the prompts kcc ships: those of the built-in 14070 flow,
// the hold prompt and the overload prompt.
var builtinNames = []string{
	"doorverbinden", "drukte", "even-geduld", "gesloten", "hoofdmenu", "kies-taal",
	"ongeldige-keuze", "opnieuw-verbinden",
	"terugbellen-aanbod", "terugbellen-bevestig", "terugbellen-bevestigd", "terugbellen-medewerker",
	"terugbellen-nummer", "terugbellen-onbereikbaar",
	"tot-ziens", "wachttijd", "welkom", "zie-website",
}

var codecs = []media.Codec{media.PCMA, media.PCMU}

func loadBuiltin(t testing.TB) *Catalog {
	t.Helper()
	c, err := Load(Builtin())
	if err != nil {
		t.Fatalf("Load(Builtin()): %v", err)
	}
	return c
}

func TestBuiltinHasEveryPrompt(t *testing.T) {
	c := loadBuiltin(t)
	if got, want := c.Languages(), []call.Language{"en", "nl"}; !slices.Equal(got, want) {
		t.Errorf("Languages() = %v, want %v", got, want)
	}
	for _, lang := range []call.Language{"nl", "en"} {
		// The sayers' words are checked by TestSayerWordsMatchFiles.
		got := slices.DeleteFunc(c.Names(lang), isSayerWord)
		if !slices.Equal(got, builtinNames) {
			t.Errorf("Names(%q) without sayer words = %v, want %v", lang, got, builtinNames)
		}
		for _, name := range builtinNames {
			t.Run(string(lang)+"/"+name, func(t *testing.T) {
				if !c.Has(lang, name) {
					t.Fatalf("Has(%q, %q) = false, want true", lang, name)
				}
				p, ok := c.Prompt(lang, name)
				if !ok || p == nil {
					t.Fatalf("Prompt(%q, %q) = %v, %v; want a prompt", lang, name, p, ok)
				}
				if p.Name() != name || p.Language() != lang {
					t.Errorf("prompt is %s/%s, want %s/%s", p.Language(), p.Name(), lang, name)
				}
				if d := p.Duration(); d < time.Second || d > 30*time.Second {
					t.Errorf("Duration() = %v, want a spoken prompt of 1-30 s", d)
				}
			})
		}
	}
	h := c.Hold()
	if h == nil {
		t.Fatal("Hold() = nil")
	}
	if h.Name() != "hold" {
		t.Errorf("Hold().Name() = %q, want hold", h.Name())
	}
	if d := h.Duration(); d < 25*time.Second || d > 35*time.Second {
		t.Errorf("hold music lasts %v, want about 30 s", d)
	}
}

// decodeTestWAV reads the samples of a WAV file laid out as sox writes it,
// independently of parseWAV, so the built-in files check Load: 16-bit PCM
// with a 44-byte header, or (the sayers' words) A-law with an 18-byte fmt
// chunk and a fact chunk, whose bytes it also returns.
func decodeTestWAV(t *testing.T, b []byte) (pcm []int16, alaw []byte) {
	t.Helper()
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[12:16]) != "fmt " {
		t.Fatalf("not a WAV file as sox writes it: % x", b[:min(len(b), 44)])
	}
	if rate := binary.LittleEndian.Uint32(b[24:28]); rate != 8000 {
		t.Fatalf("sample rate %d, want 8000", rate)
	}
	switch tag := binary.LittleEndian.Uint16(b[20:22]); {
	case tag == 1 && string(b[36:40]) == "data":
		n := binary.LittleEndian.Uint32(b[40:44])
		data := b[44 : 44+n]
		pcm = make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(data[2*i]) | int16(data[2*i+1])<<8
		}
		return pcm, nil
	case tag == 6 && len(b) >= 58 && string(b[38:42]) == "fact" && string(b[50:54]) == "data":
		n := binary.LittleEndian.Uint32(b[54:58])
		alaw = b[58 : 58+n]
		pcm = make([]int16, len(alaw))
		media.PCMA.Decode(pcm, alaw)
		return pcm, alaw
	default:
		t.Fatalf("format %d or layout not as sox writes it: % x", tag, b[:44])
	}
	return nil, nil
}

// TestBuiltinFrames checks every built-in file frame by frame against its
// samples encoded directly, and that decoding the frames gives the recording
// back within G.711's quantisation error.
func TestBuiltinFrames(t *testing.T) {
	c := loadBuiltin(t)
	err := fs.WalkDir(Builtin(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".wav") {
			return err
		}
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(Builtin(), name)
			if err != nil {
				t.Fatal(err)
			}
			pcm, alaw := decodeTestWAV(t, b)
			if alaw != nil && !strings.HasPrefix(name, "nl/") && !strings.HasPrefix(name, "en/") {
				t.Errorf("A-law outside the language folders")
			}
			p := c.Hold()
			if dir, base, _ := strings.Cut(strings.TrimSuffix(name, ".wav"), "/"); dir != "hold" {
				p, _ = c.Prompt(call.Language(dir), base)
			}
			if got, want := p.Duration(), time.Duration(len(pcm))*time.Second/8000; got != want {
				t.Errorf("Duration() = %v, want %v", got, want)
			}
			for _, codec := range codecs {
				frames := p.Frames(codec)
				if got, want := len(frames), (len(pcm)+159)/160; got != want {
					t.Fatalf("%s: %d frames, want %d", codec.Name, got, want)
				}
				want := make([]byte, len(frames)*160)
				for i := range want {
					want[i] = codec.Silence()
				}
				codec.Encode(want, pcm)
				got := slices.Concat(frames...)
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("%s: byte %d (frame %d) = %#02x, want %#02x", codec.Name, i, i/160, got[i], want[i])
				}
				if !slices.ContainsFunc(got, func(b byte) bool { return b != codec.Silence() }) {
					t.Errorf("%s: every frame is silence", codec.Name)
				}
				// An A-law file plays on an A-law call byte for byte.
				if i := firstDiff(got[:len(alaw)], alaw); codec == media.PCMA && alaw != nil && i >= 0 {
					t.Fatalf("A-law file byte %d = %#02x, frames have %#02x", i, alaw[i], got[i])
				}
				back := make([]int16, len(pcm))
				codec.Decode(back, got)
				for i, s := range pcm {
					if e := abs(int(back[i]) - int(s)); e > abs(int(s))/16+16 {
						t.Fatalf("%s: sample %d is %d, decodes to %d", codec.Name, i, s, back[i])
					}
				}
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestFirstFrameKnownValues pins G.711 bytes for known samples (from the
// G.711 tables, computed by hand) so a wiring mistake, such as the laws
// swapped or samples read big-endian, cannot pass.
func TestFirstFrameKnownValues(t *testing.T) {
	pcm := []int16{0, 1, -1, 1000, -1000, 32767, -32768}
	want := map[string][]byte{
		"PCMA": {0xD5, 0xD5, 0x55, 0xFA, 0x7A, 0xAA, 0x2A},
		"PCMU": {0xFF, 0xFF, 0x7F, 0xCE, 0x4E, 0x80, 0x00},
	}
	c, err := Load(fstest.MapFS{
		"nl/test.wav":    {Data: wav(pcm...)},
		"hold/music.wav": {Data: wav(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Prompt("nl", "test")
	for _, codec := range codecs {
		t.Run(codec.Name, func(t *testing.T) {
			frames := p.Frames(codec)
			if len(frames) != 1 {
				t.Fatalf("%d frames, want 1", len(frames))
			}
			if got := frames[0][:len(pcm)]; !bytes.Equal(got, want[codec.Name]) {
				t.Errorf("first bytes = % x, want % x", got, want[codec.Name])
			}
			if got, want := frames[0][len(pcm):], bytes.Repeat([]byte{codec.Silence()}, 160-len(pcm)); !bytes.Equal(got, want) {
				t.Errorf("padding = % x, want % x", got, want)
			}
		})
	}
}

func TestFramesLengthAndPadding(t *testing.T) {
	for _, n := range []int{1, 159, 160, 161, 320, 321, 8000} {
		pcm := make([]int16, n)
		for i := range pcm {
			pcm[i] = int16(i*97%20000 - 10000) // never a silence sample
		}
		p := newPrompt("nl", "x", pcm)
		for _, codec := range codecs {
			t.Run(codec.Name+"/"+strconv.Itoa(n)+"-samples", func(t *testing.T) {
				frames := p.Frames(codec)
				if got, want := len(frames), (n+159)/160; got != want {
					t.Fatalf("%d frames, want %d", got, want)
				}
				for i, f := range frames {
					if len(f) != 160 || cap(f) != 160 {
						t.Fatalf("frame %d: len %d cap %d, want 160 and 160", i, len(f), cap(f))
					}
				}
				last := frames[len(frames)-1]
				pad := len(frames)*160 - n
				for i, b := range last[160-pad:] {
					if b != codec.Silence() {
						t.Errorf("padding byte %d = %#02x, want silence %#02x", i, b, codec.Silence())
					}
				}
				if pad < 160 && last[160-pad-1] == codec.Silence() {
					t.Errorf("last audio byte is silence; padding starts too early")
				}
				if got, want := p.Duration(), time.Duration(n)*125*time.Microsecond; got != want {
					t.Errorf("Duration() = %v, want %v", got, want)
				}
			})
		}
	}
}

// TestFramesAreIsolated guards the shared frames: appending to one frame must
// not write into the next one that other calls are playing.
func TestFramesAreIsolated(t *testing.T) {
	p := newPrompt("nl", "x", make([]int16, 320))
	frames := p.Frames(media.PCMA)
	next := slices.Clone(frames[1])
	_ = append(frames[0], 1, 2, 3)
	if !bytes.Equal(frames[1], next) {
		t.Errorf("append to frame 0 changed frame 1")
	}
}

func TestFramesCodecMatching(t *testing.T) {
	p := newPrompt("nl", "x", []int16{1000})
	tests := []struct {
		name  string
		codec media.Codec
		want  byte // first byte, or 0 for nil frames
	}{
		{"PCMA", media.PCMA, 0xFA},
		{"PCMU", media.PCMU, 0xCE},
		{"lower-case name", media.Codec{Name: "pcmu", PayloadType: 0, ClockRate: 8000}, 0xCE},
		{"dynamic payload type", media.Codec{Name: "PCMA", PayloadType: 101, ClockRate: 8000}, 0xFA},
		{"G722", media.Codec{Name: "G722", PayloadType: 9, ClockRate: 8000}, 0},
		{"wrong clock rate", media.Codec{Name: "PCMA", PayloadType: 8, ClockRate: 16000}, 0},
		{"zero codec", media.Codec{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames := p.Frames(tt.codec)
			switch {
			case tt.want == 0 && frames != nil:
				t.Errorf("Frames = %d frames, want nil", len(frames))
			case tt.want != 0 && (len(frames) != 1 || frames[0][0] != tt.want):
				t.Errorf("Frames = %v, want one frame starting %#02x", frames, tt.want)
			}
		})
	}
}

func TestLoadRefusalNamesFile(t *testing.T) {
	for _, tt := range refusals() {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{
				"nl/welkom.wav":  {Data: wav(1, 2, 3)},
				"nl/bad.wav":     {Data: tt.file},
				"hold/music.wav": {Data: wav(4, 5, 6)},
			})
			if err == nil {
				t.Fatalf("Load accepted nl/bad.wav, want %q", tt.want)
			}
			if want := "nl/bad.wav: " + tt.want; !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q, want it to contain %q", err, want)
			}
			if strings.Contains(err.Error(), "welkom") {
				t.Errorf("error = %q, blames the good file too", err)
			}
		})
	}
}

func TestLoadRefusesOversizedFile(t *testing.T) {
	_, err := Load(fstest.MapFS{
		"nl/huge.wav":    {Data: make([]byte, maxFileBytes+1)},
		"hold/music.wav": {Data: wav(1)},
	})
	if want := "nl/huge.wav: file larger than"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
}

func TestLoadCatalogueErrors(t *testing.T) {
	good := &fstest.MapFile{Data: wav(1, 2, 3)}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
	}{
		{"empty tree", fstest.MapFS{}, []string{"no prompts: want <lang>/<name>.wav", "hold: no hold music"}},
		{"only hold music", fstest.MapFS{"hold/music.wav": good}, []string{"no prompts"}},
		{"no hold music", fstest.MapFS{"nl/welkom.wav": good}, []string{"hold: no hold music (want hold/<name>.wav)"}},
		{"hold without wav", fstest.MapFS{"nl/welkom.wav": good, "hold/README": good}, []string{"hold: no hold music"}},
		{"language without prompts", fstest.MapFS{"nl/welkom.wav": good, "en/notes.txt": good, "hold/music.wav": good}, []string{"en: no prompts (want en/<name>.wav)"}},
		{"directory that is not a language", fstest.MapFS{"nl/welkom.wav": good, "Dutch/welkom.wav": good, "hold/music.wav": good}, []string{"Dutch: directory name is not a language code"}},
		{"bad hold file", fstest.MapFS{"nl/welkom.wav": good, "hold/music.wav": {Data: []byte("junk")}}, []string{"hold/music.wav: not a WAV file"}},
		{"every bad file reported", fstest.MapFS{
			"nl/a.wav":       {Data: []byte("junk")},
			"en/b.wav":       {Data: riff(chunk("fmt ", fmtBody(formatPCM, 2, SampleRate, 16)), chunk("data", make([]byte, 4)))},
			"hold/music.wav": good,
		}, []string{"nl/a.wav: not a WAV file", "en/b.wav: 2 channels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.fsys)
			if err == nil {
				t.Fatalf("Load = %v, want an error", c.Languages())
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q, want it to contain %q", err, want)
				}
			}
			if tt.name == "bad hold file" && strings.Contains(err.Error(), "no hold music") {
				t.Errorf("error = %q, also claims the hold music is missing", err)
			}
		})
	}
}

func TestLoadIgnoresNonPrompts(t *testing.T) {
	good := &fstest.MapFile{Data: wav(1, 2, 3)}
	junk := &fstest.MapFile{Data: []byte("not audio")}
	c, err := Load(fstest.MapFS{
		"README.md":          junk,
		"stray.wav":          junk,
		".git/HEAD":          junk,
		".cache/x.wav":       junk,
		"nl/welkom.wav":      good,
		"nl/OPEN.WAV":        good,
		"nl/notes.txt":       junk,
		"nl/.hidden.wav":     junk,
		"nl/old/welkom.wav":  junk,
		"zh-Hant/x.wav":      good,
		"hold/music.wav":     good,
		"hold/licence.txt":   junk,
		"hold/archive/z.wav": junk,
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := c.Languages(), []call.Language{"nl", "zh-Hant"}; !slices.Equal(got, want) {
		t.Errorf("Languages() = %v, want %v", got, want)
	}
	if got, want := c.Names("nl"), []string{"OPEN", "welkom"}; !slices.Equal(got, want) {
		t.Errorf("Names(nl) = %v, want %v", got, want)
	}
	if c.Names("fr") != nil {
		t.Errorf("Names(fr) = %v, want nil", c.Names("fr"))
	}
	if c.Has("nl", "notes") || c.Has("fr", "welkom") {
		t.Errorf("Has reports a prompt that does not exist")
	}
	if p, ok := c.Prompt("en", "welkom"); ok || p != nil {
		t.Errorf("Prompt(en, welkom) = %v, %v; want nil, false", p, ok)
	}
}

func TestHoldJoinsFilesInNameOrder(t *testing.T) {
	a := make([]int16, 200) // 25 ms: joined, not padded to a frame boundary
	b := make([]int16, 100)
	for i := range a {
		a[i] = 1000
	}
	for i := range b {
		b[i] = -1000
	}
	c, err := Load(fstest.MapFS{
		"nl/x.wav":      {Data: wav(1)},
		"hold/2-b.wav":  {Data: wav(b...)},
		"hold/1-a.wav":  {Data: wav(a...)},
		"hold/notes.md": {Data: []byte("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Hold()
	if got, want := h.Duration(), 300*125*time.Microsecond; got != want {
		t.Errorf("Duration() = %v, want %v", got, want)
	}
	frames := h.Frames(media.PCMA)
	if len(frames) != 2 {
		t.Fatalf("%d frames, want 2", len(frames))
	}
	all := slices.Concat(frames...)
	for i, want := range map[int]byte{0: 0xFA, 199: 0xFA, 200: 0x7A, 299: 0x7A, 300: media.PCMA.Silence(), 319: media.PCMA.Silence()} {
		if all[i] != want {
			t.Errorf("byte %d = %#02x, want %#02x", i, all[i], want)
		}
	}
}

func TestLanguagesIsACopy(t *testing.T) {
	c := loadBuiltin(t)
	c.Languages()[0] = "xx"
	if got := c.Languages()[0]; got != "en" {
		t.Errorf("Languages()[0] = %q after a caller wrote to its copy, want en", got)
	}
}

// TestConcurrentPlayback reads one catalogue from many goroutines, as calls
// do; run with -race it proves reads need no locking.
func TestConcurrentPlayback(t *testing.T) {
	c := loadBuiltin(t)
	var wg sync.WaitGroup
	sums := make([]int, 8)
	for g := range sums {
		wg.Go(func() {
			lang := c.Languages()[g%2]
			for _, name := range c.Names(lang) {
				p, _ := c.Prompt(lang, name)
				for _, f := range p.Frames(codecs[g%2]) {
					sums[g] += int(f[0])
				}
			}
			for _, f := range c.Hold().Frames(media.PCMU) {
				sums[g] += int(f[len(f)-1])
			}
		})
	}
	wg.Wait()
	for g := 2; g < len(sums); g++ {
		if sums[g] != sums[g%2] {
			t.Errorf("goroutine %d read %d, goroutine %d read %d from the same prompts", g, sums[g], g%2, sums[g%2])
		}
	}
}

func BenchmarkLoadBuiltin(b *testing.B) {
	fsys := Builtin()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// failingFS lists a file it then refuses to open, like a file whose
// permissions deny reading.
type failingFS struct{ fstest.MapFS }

func (f failingFS) Open(name string) (fs.File, error) {
	if name == "nl/locked.wav" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.MapFS.Open(name)
}

func TestLoadUnreadableFile(t *testing.T) {
	_, err := Load(failingFS{fstest.MapFS{
		"nl/locked.wav":  {Data: wav(1)},
		"hold/music.wav": {Data: wav(1)},
	}})
	if err == nil || !strings.Contains(err.Error(), "nl/locked.wav: ") || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("error = %v, want one naming nl/locked.wav and wrapping fs.ErrPermission", err)
	}
}
