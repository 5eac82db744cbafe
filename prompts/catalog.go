package prompts

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"kcc/call"
)

// holdDir is the directory of hold music; every other directory at the root
// of a prompt tree is a language.
const holdDir = "hold"

// languageDir matches the directory names taken as languages: a BCP 47-like
// primary tag with optional subtags ("nl", "en", "pap", "zh-Hant"). Anything
// else is refused rather than silently becoming a language nobody selects.
var languageDir = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// Catalog holds every prompt of a prompt tree, decoded once and pre-encoded
// for both G.711 laws. It is immutable after Load and safe for concurrent use;
// all calls share its frames.
type Catalog struct {
	prompts   map[call.Language]map[string]*Prompt
	languages []call.Language
	hold      *Prompt
	fallback  Fallback // checked to end; never modified after construction
}

// Load reads a prompt tree: <lang>/<name>.wav for every language directory
// and hold/*.wav for the hold music. Files at the root, files not ending in
// .wav, hidden entries and subdirectories of a language are ignored, so a
// README or transcripts may sit alongside.
//
// Every WAV file must be mono, 8000 Hz, 16-bit signed PCM or 8-bit G.711
// (A-law or µ-law), and no longer than MaxDuration. Load reports every bad
// file at once, each error starting with the file's path ("nl/welkom.wav:
// sample rate 16000 Hz, want 8000"). A tree without any prompt, a language directory without prompts, and a tree
// without hold music are errors too. The catalogue resolves missing prompts
// along DefaultFallback; WithFallback changes that.
func Load(fsys fs.FS) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("load prompts: %w", err)
	}
	c := &Catalog{prompts: make(map[call.Language]map[string]*Prompt), fallback: DefaultFallback()}
	var errs []error
	var holdParts [][]int16
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if name == holdDir {
			holdParts, errs = loadHold(fsys, errs)
			continue
		}
		if !languageDir.MatchString(name) {
			errs = append(errs, fmt.Errorf("%s: directory name is not a language code (want e.g. nl or en)", name))
			continue
		}
		lang := call.Language(name)
		set, langErrs := loadLanguage(fsys, lang)
		errs = append(errs, langErrs...)
		if len(set) == 0 {
			if len(langErrs) == 0 {
				errs = append(errs, fmt.Errorf("%s: no prompts (want %s/<name>.wav)", name, name))
			}
			continue
		}
		c.prompts[lang] = set
		c.languages = append(c.languages, lang)
	}
	if len(c.languages) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no prompts: want <lang>/<name>.wav, e.g. nl/welkom.wav"))
	}
	if len(holdParts) == 0 && !slices.ContainsFunc(errs, isHoldErr) {
		errs = append(errs, errors.New("hold: no hold music (want hold/<name>.wav)"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("load prompts: %w", errors.Join(errs...))
	}
	slices.Sort(c.languages)
	// All hold files play as one loop in name order, so an operator can add
	// tracks without a config change.
	c.hold = newPrompt("", holdDir, slices.Concat(holdParts...))
	return c, nil
}

// holdError marks errors about hold files so a bad hold file does not also
// produce a confusing "no hold music" error.
type holdError struct{ err error }

func (e holdError) Error() string { return e.err.Error() }
func (e holdError) Unwrap() error { return e.err }

func isHoldErr(err error) bool {
	var h holdError
	return errors.As(err, &h)
}

func loadHold(fsys fs.FS, errs []error) ([][]int16, []error) {
	files, err := wavFiles(fsys, holdDir)
	if err != nil {
		return nil, append(errs, holdError{err})
	}
	var parts [][]int16
	for _, f := range files {
		pcm, err := readWAV(fsys, path.Join(holdDir, f))
		if err != nil {
			errs = append(errs, holdError{err})
			continue
		}
		parts = append(parts, pcm)
	}
	return parts, errs
}

func loadLanguage(fsys fs.FS, lang call.Language) (map[string]*Prompt, []error) {
	files, err := wavFiles(fsys, string(lang))
	if err != nil {
		return nil, []error{err}
	}
	set := make(map[string]*Prompt, len(files))
	var errs []error
	for _, f := range files {
		pcm, err := readWAV(fsys, path.Join(string(lang), f))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		name := strings.TrimSuffix(f, path.Ext(f))
		set[name] = newPrompt(lang, name, pcm)
	}
	return set, errs
}

// wavFiles lists the .wav files (any case of the extension) directly in dir,
// in name order.
func wavFiles(fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.EqualFold(path.Ext(n), ".wav") {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}

// readWAV reads and decodes one file; errors name the file.
func readWAV(fsys fs.FS, name string) ([]int16, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	// Read at most one byte past the limit, so a huge file is refused
	// without being read into memory.
	b, err := io.ReadAll(io.LimitReader(f, int64(maxFileBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s: file larger than %d bytes (limit is %v of audio)", name, maxFileBytes, MaxDuration)
	}
	pcm, err := parseWAV(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return pcm, nil
}

// Prompt returns the prompt called name in language lang.
func (c *Catalog) Prompt(lang call.Language, name string) (*Prompt, bool) {
	p, ok := c.prompts[lang][name]
	return p, ok
}

// Has reports whether the catalogue holds the prompt called name in language
// lang; flow validation uses it to reject references to missing prompts.
func (c *Catalog) Has(lang call.Language, name string) bool {
	_, ok := c.prompts[lang][name]
	return ok
}

// Hold returns the hold music: every hold/*.wav in name order, joined into
// one loop. It is never nil for a loaded catalogue.
func (c *Catalog) Hold() *Prompt { return c.hold }

// Languages returns the catalogue's languages in sorted order. The slice is
// the caller's own.
func (c *Catalog) Languages() []call.Language { return slices.Clone(c.languages) }

// Names returns the prompt names of language lang in sorted order, or nil
// for a language the catalogue does not have.
func (c *Catalog) Names(lang call.Language) []string {
	set := c.prompts[lang]
	if set == nil {
		return nil
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
