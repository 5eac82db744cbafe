package flows

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long Watch waits after the last change before it reloads:
// editors write a file in several steps (truncate, write, rename).
const settle = 250 * time.Millisecond

// Watch reloads the flows whenever one of their files changes, until ctx is
// done. It watches the files' directories, since many editors replace a
// file rather than write it in place. A reload that fails is logged by
// Reload and changes nothing; the next change tries again.
func (l *Library) Watch(ctx context.Context) error {
	var files []string
	for _, f := range l.cfg.Files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fmt.Errorf("watch flows: %w", err)
		}
		files = append(files, abs)
	}
	if len(files) == 0 {
		<-ctx.Done() // the built-in flow never changes
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch flows: %w", err)
	}
	defer w.Close()
	var dirs []string
	for _, f := range files {
		if d := filepath.Dir(f); !slices.Contains(dirs, d) {
			if err := w.Add(d); err != nil {
				return fmt.Errorf("watch flows in %s: %w", d, err)
			}
			dirs = append(dirs, d)
		}
	}
	t := time.NewTimer(settle)
	t.Stop()
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if slices.Contains(files, filepath.Clean(ev.Name)) && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
				t.Reset(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			l.log.Warn().Err(err).Msg("watching flow files")
		case <-t.C:
			_, _ = l.Reload() // Reload logs both outcomes
		}
	}
}
