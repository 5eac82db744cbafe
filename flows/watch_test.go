package flows

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWatchReloadsChangedFile uses the real file-system notifications, so
// it waits (bounded) for them rather than faking time.
func TestWatchReloadsChangedFile(t *testing.T) {
	f := newFixture(t, flowYAML("t", "1234", "welkom"))
	v1 := f.current(t, "1234")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the watch start
	// An editor's way: write a temporary file and rename it over the flow.
	tmp := filepath.Join(filepath.Dir(f.file), ".flow.yaml.swp")
	if err := os.WriteFile(tmp, []byte(flowYAML("t", "1234", "tot-ziens")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.file); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.current(t, "1234") == v1 {
		if time.Now().After(deadline) {
			t.Fatal("the changed file was not loaded within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
