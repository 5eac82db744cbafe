package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"kcc/api"
	"kcc/flows"
	"kcc/incident"
)

const testToken = "cli-test-token-0123456789"

func writeFile(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlowValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", "flow: t\nnumbers: [\"1234\"]\nlanguages: [nl]\nstart: a\nnodes:\n  a: {play: [welkom], next: b}\n  b: {queue: paspoort}\n")
	bad := writeFile(t, dir, "bad.yaml", "flow: t\nnumbers: [\"1234\"]\nlanguages: [nl]\nstart: a\nnodes:\n  a: {play: [welkon], next: b}\n  b: {queue: paspord}\n")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"flow", "validate", good}, nil, &out, &out); err != nil {
		t.Fatalf("validate good: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "flow t ok, version") {
		t.Errorf("output %q", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"flow", "validate", good, bad, filepath.Join(dir, "missing.yaml")}, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 flow files have errors") {
		t.Errorf("validate bad: err %v", err)
	}
	for _, want := range []string{"bad.yaml:6:", `"welkon"`, "bad.yaml:7:", `"paspord"`, "missing.yaml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "flow.yaml", "flow: t\nnumbers: [\"1234\"]\nlanguages: [nl]\nstart: a\nnodes:\n  a: {play: [welkom], next: b}\n  b: {hangup: normal}\n")
	lib, err := flows.New(flows.Config{Files: []string{file}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Listen: "127.0.0.1:0", AdminToken: testToken}, lib, incident.NewBoard(nil, nil), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	env := []string{"KCC_API_LISTEN=" + srv.Addr(), "KCC_API_ADMIN_TOKEN=" + testToken}

	steps := []struct {
		args    []string
		want    string // in stdout, or in the error
		wantErr bool
	}{
		{[]string{"flow", "versions"}, `"flow": "t"`, false},
		{[]string{"flow", "reload"}, `"deployed": []`, false},
		{[]string{"flow", "rollback", "t"}, "no previous version (HTTP 409)", true},
		{[]string{"flow", "rollback"}, "name one flow", true},
		{[]string{"incident", "open", "storing", "--prompts", "welkom", "--for", "1h", "--by", "test"}, `"slot": "storing"`, false},
		{[]string{"incident", "list"}, `"by": "test"`, false},
		{[]string{"incident", "open", "storing", "--prompts", "welkom"}, "give SLOT, --prompts and --for", true},
		{[]string{"incident", "close", "storing"}, "", false},
		{[]string{"incident", "close", "storing"}, "no incident message", true},
		{[]string{"flow", "bogus"}, "unknown flow command", true},
	}
	for _, s := range steps {
		var out bytes.Buffer
		err := run(context.Background(), s.args, env, &out, &out)
		got := out.String()
		if err != nil {
			got = err.Error()
		}
		if (err != nil) != s.wantErr || !strings.Contains(got, s.want) {
			t.Errorf("kcc %s: err %v, output %q; want error %v with %q", strings.Join(s.args, " "), err, out.String(), s.wantErr, s.want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"flow", "reload"}, []string{"KCC_API_LISTEN=" + srv.Addr()}, &out, &out); err == nil ||
		!strings.Contains(err.Error(), "api.admin_token") {
		t.Errorf("reload without a token: %v, want a hint about api.admin_token", err)
	}
}

func TestRoutingSimulate(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"routing", "simulate", "--per-week", "3000", "--agents", "8", "--mix", "paspoort=3,afval=1"}, nil, &out, &out); err != nil {
		t.Fatalf("routing simulate: %v\n%s", err, out.String())
	}
	for _, want := range []string{"paspoort", "afval", "total", "occupancy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !regexp.MustCompile(`belastingen\s+0\s`).MatchString(out.String()) {
		t.Errorf("a queue without a share in --mix got traffic:\n%s", out.String())
	}
	for _, args := range [][]string{
		{"routing", "simulate", "--mix", "nope=1"},
		{"routing", "simulate", "--agents", "0"},
		{"routing", "simulate", "--mix", "paspoort"},
		{"routing", "bogus"},
	} {
		if err := run(context.Background(), args, nil, &out, &out); err == nil {
			t.Errorf("kcc %s: no error", strings.Join(args, " "))
		}
	}
}

// TestImportAndReport loads an Asterisk queue_log into a fresh SQLite store
// and reports over it, through the commands.
func TestImportAndReport(t *testing.T) {
	env := []string{"KCC_STORE_PATH=" + filepath.Join(t.TempDir(), "kcc.db")}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"import", "queue_log", "../../report/testdata/queue_log.txt"}, env, &out, io.Discard); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "24 imported") || !strings.Contains(out.String(), "4 bad") {
		t.Errorf("import summary:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"import", "queue_log", "../../report/testdata/queue_log.txt"}, env, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "0 imported, 24 duplicates") {
		t.Errorf("second import: %v\n%s", err, out.String())
	}
	out.Reset()
	args := []string{"report", "--from", "2026-03-10", "--to", "2026-03-11", "--interval", "24h", "--kind", "queues", "--format", "csv"}
	if err := run(context.Background(), args, env, &out, io.Discard); err != nil {
		t.Fatalf("report: %v", err)
	}
	if !strings.Contains(out.String(), "support") || strings.Count(out.String(), "\n") < 2 {
		t.Errorf("report:\n%s", out.String())
	}
	for _, bad := range [][]string{{"report", "--from", "yesterday"}, {"import", "queue_log"}, {"import", "cdr", "x"}} {
		if err := run(context.Background(), bad, env, &out, io.Discard); err == nil {
			t.Errorf("kcc %s: no error", strings.Join(bad, " "))
		}
	}
}

func TestFlowSimulateOutcomes(t *testing.T) {
	dir := t.TempDir()
	flow := writeFile(t, dir, "f.yaml", "flow: t\nnumbers: [\"1234\"]\nlanguages: [nl]\nstart: a\nnodes:\n"+
		"  a: {queue: paspoort, unavailable: b, next: einde}\n"+
		"  b: {callback: {queue: afval}, next: einde}\n"+
		"  einde: {play: [tot-ziens], next: stop}\n  stop: {hangup: normal}\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "path a einde stop\n"},
		{[]string{"--unavailable", "paspoort"}, "end: callback"},
		{[]string{"--unavailable", "paspoort", "--decline-callback"}, "path a a:unavailable b b:declined einde stop\n"},
	} {
		var out bytes.Buffer
		args := append([]string{"flow", "simulate", flow, "--at", "2026-11-25T10:00"}, tc.args...)
		if err := run(context.Background(), args, nil, &out, &out); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out.String())
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: transcript lacks %q:\n%s", tc.args, tc.want, out.String())
		}
	}
}
