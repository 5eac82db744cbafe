package peertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SIPpResult is what a finished SIPp run left behind.
type SIPpResult struct {
	ExitCode int
	Output   string // stdout, stderr and the screen/error logs
}

// RunSIPp runs sipp with args in a temporary directory holding the given
// scenario files (name -> XML) and waits at most timeout. Exit code 0 means
// every call succeeded.
func RunSIPp(t *testing.T, timeout time.Duration, files map[string]string, args ...string) SIPpResult {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", append(args, "-nostdin", "-trace_err", "-trace_screen")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	res := SIPpResult{Output: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ExitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	var logs strings.Builder
	matches, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, m := range matches {
		b, _ := os.ReadFile(m)
		logs.WriteString("--- " + filepath.Base(m) + "\n" + tail(string(b), 3000) + "\n")
	}
	res.Output += logs.String()
	return res
}
