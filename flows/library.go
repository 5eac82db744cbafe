package flows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"kcc/ivr"
)

// Builtin is the file name that stands for ivr's built-in 14070 flow.
const Builtin = "builtin:14070.yaml"

// ErrUnknownFlow is returned for a flow name the library has never loaded.
var ErrUnknownFlow = errors.New("unknown flow")

// ErrNoPrevious is returned by Rollback when a flow has a single version.
var ErrNoPrevious = errors.New("no previous version")

// Version is one deployed version of a flow.
type Version struct {
	// ID is "<first 12 hex digits of the content hash>-<load time UTC,
	// 20060102T150405Z>": the hash says what ran, the time when it came.
	ID      string
	Flow    string // the flow's name (its flow: key)
	File    string
	Hash    string // full SHA-256 of the file's content, hex
	Loaded  time.Time
	Program *ivr.Program
	// Source is the file's text as loaded, for the history store.
	Source []byte
}

// Status describes a flow for admins: its versions, oldest first, which one
// runs, and whether it is pinned by a rollback.
type Status struct {
	Flow     string
	Current  string // version id
	Pinned   bool
	Versions []Version
}

// Config says where the flows come from.
type Config struct {
	// Files are the flow files; empty means the built-in 14070 flow.
	Files []string
	// Checker checks prompt and queue names while compiling.
	Checker ivr.Checker
	// Now is the clock for version ids; nil means time.Now.
	Now func() time.Time
	// Deployed, if set, is told of every new version once it runs (the
	// history store keeps them). It is called with the library's lock
	// held, so it must not call back into the Library.
	Deployed func(v Version)
}

// Library holds every flow version and the current one per flow. Its
// methods are safe for concurrent use; Program, called once per call, takes
// no lock.
type Library struct {
	cfg Config
	log zerolog.Logger

	mu       sync.Mutex // serialises loads and rollbacks
	versions map[string][]*Version
	current  map[string]*Version
	pinned   map[string]bool

	byNumber atomic.Pointer[map[string]*Version]
}

// New loads every flow once. Unlike a reload, a problem here is fatal: kcc
// must not start without its flows.
func New(cfg Config, log zerolog.Logger) (*Library, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Library{cfg: cfg, log: log, versions: map[string][]*Version{}, current: map[string]*Version{},
		pinned: map[string]bool{}}
	if _, err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}

// Program returns the program for calls to number, and its version id.
func (l *Library) Program(number string) (*ivr.Program, string, bool) {
	m := l.byNumber.Load()
	if m == nil {
		return nil, "", false
	}
	v, ok := (*m)[number]
	if !ok {
		return nil, "", false
	}
	return v.Program, v.ID, true
}

// Programs returns the current program of every flow, sorted by flow name.
func (l *Library) Programs() []*ivr.Program {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ps []*ivr.Program
	for _, name := range l.names() {
		ps = append(ps, l.current[name].Program)
	}
	return ps
}

func (l *Library) names() []string {
	names := make([]string, 0, len(l.current))
	for n := range l.current {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Reload reads every flow file again. Files whose content changed are
// compiled; if all of them compile and no two flows claim one number, the
// new versions replace the old ones in one step and are returned. Otherwise
// nothing changes and the error lists every problem. A pinned flow keeps
// its version unless its file has content never loaded before.
func (l *Library) Reload() ([]Version, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	files := l.cfg.Files
	if len(files) == 0 {
		files = []string{Builtin}
	}
	now := l.cfg.Now().UTC()
	next := make(map[string]*Version, len(l.current))
	var fresh []*Version
	var errs []error
	for _, file := range files {
		src, err := read(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		hash := sha256.Sum256(src)
		hx := hex.EncodeToString(hash[:])
		if v := l.byHash(file, hx); v != nil {
			next[v.Flow] = v // unchanged, or a version kept from before
			continue
		}
		prog, err := ivr.Load(file, src, l.cfg.Checker)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := next[prog.Name()]; dup {
			errs = append(errs, fmt.Errorf("%s: flow %q is defined by two files", file, prog.Name()))
			continue
		}
		v := &Version{ID: hx[:12] + "-" + now.Format("20060102T150405Z"), Flow: prog.Name(), File: file,
			Hash: hx, Loaded: now, Program: prog, Source: src}
		next[v.Flow] = v
		fresh = append(fresh, v)
	}
	// A pinned flow stays on its version unless its file brought new content.
	for name, cur := range l.current {
		if !l.pinned[name] {
			continue
		}
		if v, ok := next[name]; ok && !slices.Contains(fresh, v) {
			next[name] = cur
		}
	}
	numbers, err := index(next)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		l.log.Error().Err(err).Msg("flow reload refused; the running versions stay")
		return nil, fmt.Errorf("flow reload refused: %w", err)
	}
	var out []Version
	for _, v := range fresh {
		l.versions[v.Flow] = append(l.versions[v.Flow], v)
		delete(l.pinned, v.Flow) // new content lifts a pin
		l.log.Info().Str("flow", v.Flow).Str("version", v.ID).Str("file", v.File).Msg("flow version deployed")
		out = append(out, *v)
	}
	l.current = next
	l.byNumber.Store(&numbers)
	if l.cfg.Deployed != nil {
		for _, v := range out {
			l.cfg.Deployed(v)
		}
	}
	return out, nil
}

// byHash finds a version of file with the given content hash.
func (l *Library) byHash(file, hash string) *Version {
	for _, vs := range l.versions {
		for _, v := range vs {
			if v.File == file && v.Hash == hash {
				return v
			}
		}
	}
	return nil
}

func read(file string) ([]byte, error) {
	if file == Builtin {
		return ivr.Builtin(), nil
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	return src, nil
}

// index maps every number to the version answering it.
func index(vs map[string]*Version) (map[string]*Version, error) {
	m := make(map[string]*Version)
	var errs []error
	names := make([]string, 0, len(vs))
	for n := range vs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := vs[name]
		for _, n := range v.Program.Numbers() {
			if other, dup := m[n]; dup {
				errs = append(errs, fmt.Errorf("number %s is answered by flows %s and %s", n, other.Flow, v.Flow))
				continue
			}
			m[n] = v
		}
	}
	return m, errors.Join(errs...)
}

// Rollback makes the version before the current one of flow current again
// and pins it. Rolling back twice goes back two versions.
func (l *Library) Rollback(flow string) (Version, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.current[flow]
	if !ok {
		return Version{}, fmt.Errorf("rollback %q: %w", flow, ErrUnknownFlow)
	}
	vs := l.versions[flow]
	i := slices.Index(vs, cur)
	if i <= 0 {
		return Version{}, fmt.Errorf("rollback %q: %w", flow, ErrNoPrevious)
	}
	prev := vs[i-1]
	next := make(map[string]*Version, len(l.current))
	for n, v := range l.current {
		next[n] = v
	}
	next[flow] = prev
	numbers, err := index(next)
	if err != nil {
		return Version{}, fmt.Errorf("rollback %q: %w", flow, err)
	}
	l.current = next
	l.pinned[flow] = true
	l.byNumber.Store(&numbers)
	l.log.Warn().Str("flow", flow).Str("version", prev.ID).Str("from", cur.ID).Msg("flow rolled back and pinned")
	return *prev, nil
}

// Unpin lifts a rollback's pin and loads the files again, so the flow
// returns to what its file says.
func (l *Library) Unpin(flow string) ([]Version, error) {
	l.mu.Lock()
	_, ok := l.current[flow]
	delete(l.pinned, flow)
	l.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unpin %q: %w", flow, ErrUnknownFlow)
	}
	return l.Reload()
}

// Status returns every flow's versions and state, sorted by flow name.
func (l *Library) Status() []Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Status
	for _, name := range l.names() {
		st := Status{Flow: name, Current: l.current[name].ID, Pinned: l.pinned[name]}
		for _, v := range l.versions[name] {
			st.Versions = append(st.Versions, *v)
		}
		out = append(out, st)
	}
	return out
}
