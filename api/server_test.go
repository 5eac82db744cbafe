package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/flows"
	"kcc/incident"
)

const token = "test-admin-token-0123456789"

func flowYAML(prompt string) string {
	return "flow: t\nnumbers: [\"1234\"]\nlanguages: [nl]\nstart: a\nnodes:\n  a: {play: [" + prompt + "], next: b}\n  b: {hangup: normal}\n"
}

type fixture struct {
	url   string
	file  string
	lib   *flows.Library
	audit *audits
}

// audits keeps the audit entries the server made.
type audits struct {
	mu   sync.Mutex
	list []string
}

func (a *audits) Audit(who, what string, details any, _ time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, who+" "+what+" "+fmt.Sprint(details))
}

func (a *audits) entries() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.list)
}

// start runs a real server on a loopback port with a real flow library
// and incident board.
func start(t *testing.T, adminToken string) *fixture {
	t.Helper()
	f := &fixture{file: filepath.Join(t.TempDir(), "flow.yaml")}
	f.write(t, flowYAML("welkom"))
	lib, err := flows.New(flows.Config{Files: []string{f.file}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	f.lib = lib
	now := func() time.Time { return time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC) }
	board := incident.NewBoard(func(name string) bool { return name == "storing" }, nil)
	f.audit = &audits{}
	s, err := New(Config{Listen: "127.0.0.1:0", AdminToken: adminToken, Now: now, Audit: f.audit}, lib, board, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	f.url = "http://" + s.Addr()
	return f
}

func (f *fixture) write(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile(f.file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// call does one request and returns the status and body.
func (f *fixture) call(t *testing.T, method, path, tok, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuth(t *testing.T) {
	open := start(t, "")
	if st, body := open.call(t, "GET", "/healthz", "", ""); st != 200 || body != "ok\n" {
		t.Errorf("healthz = %d %q", st, body)
	}
	if st, body := open.call(t, "POST", "/api/v1/flows/reload", "anything", ""); st != 403 || !strings.Contains(body, "api.admin_token") {
		t.Errorf("admin call without a configured token = %d %s, want 403", st, body)
	}
	f := start(t, token)
	for _, tok := range []string{"", "wrong", token + "x"} {
		if st, _ := f.call(t, "GET", "/api/v1/flows", tok, ""); st != 401 {
			t.Errorf("token %q: status %d, want 401", tok, st)
		}
	}
	if st, _ := f.call(t, "GET", "/api/v1/flows", token, ""); st != 200 {
		t.Errorf("right token: status %d", st)
	}
}

func TestFlowAdmin(t *testing.T) {
	f := start(t, token)
	_, v1, _ := f.lib.Program("1234")
	steps := []struct {
		name, method, path string
		write              string // new flow file content before the call, if any
		status             int
		want               string // substring of the body
	}{
		{"status", "GET", "/api/v1/flows", "", 200, `"current": "` + v1 + `"`},
		{"reload unchanged", "POST", "/api/v1/flows/reload", "", 200, `"deployed": []`},
		{"reload broken", "POST", "/api/v1/flows/reload", "flow: t\nnodes: {a: {bogus: 1}}\n", 422, `flow.yaml:2:`},
		{"rollback with one version", "POST", "/api/v1/flows/t/rollback", "", 409, "no previous version"},
		{"rollback unknown flow", "POST", "/api/v1/flows/x/rollback", "", 404, "unknown flow"},
		{"reload changed", "POST", "/api/v1/flows/reload", flowYAML("tot-ziens"), 200, `"flow": "t"`},
		{"rollback", "POST", "/api/v1/flows/t/rollback", "", 200, `"id": "` + v1 + `"`},
		{"pinned", "GET", "/api/v1/flows", "", 200, `"pinned": true`},
		{"unpin", "POST", "/api/v1/flows/t/unpin", "", 200, `"deployed": []`},
		{"unpinned", "GET", "/api/v1/flows", "", 200, `"pinned": false`},
		{"wrong method", "DELETE", "/api/v1/flows", "", 405, ""},
	}
	for _, s := range steps {
		if s.write != "" {
			f.write(t, s.write)
		}
		st, body := f.call(t, s.method, s.path, token, "")
		if st != s.status || !strings.Contains(body, s.want) {
			t.Errorf("%s: %d %s\nwant %d with %q", s.name, st, body, s.status, s.want)
		}
	}
	if _, v, _ := f.lib.Program("1234"); v == v1 {
		t.Error("after unpin the flow still runs the rolled-back version")
	}
	// Every change is audited, refused ones too; reads are not.
	got := f.audit.entries()
	if len(got) != 7 || !strings.HasPrefix(got[0], "admin@127.0.0.1 POST /api/v1/flows/reload map[path:/api/v1/flows/reload status:200]") ||
		!strings.Contains(got[1], "status:422") {
		t.Errorf("audit trail:\n%s", strings.Join(got, "\n"))
	}
}

func TestIncidentAdmin(t *testing.T) {
	f := start(t, token)
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"set", "PUT", "/api/v1/incidents/storing", `{"prompts":["storing"],"expires_in":"2h","by":"jan"}`, 200, `"expires": "2026-11-27T16:00:00Z"`},
		{"list", "GET", "/api/v1/incidents", "", 200, `"slot": "storing"`},
		{"unknown field", "PUT", "/api/v1/incidents/storing", `{"prompt":["storing"],"expires_in":"2h"}`, 400, `unknown field \"prompt\"`},
		{"bad json", "PUT", "/api/v1/incidents/storing", `{"prompts":`, 400, "incident body"},
		{"bad duration", "PUT", "/api/v1/incidents/storing", `{"prompts":["storing"],"expires_in":"soon"}`, 400, "expires_in"},
		{"unknown prompt", "PUT", "/api/v1/incidents/storing", `{"prompts":["storm"],"expires_in":"1h"}`, 422, `prompt \"storm\" does not exist`},
		{"too big", "PUT", "/api/v1/incidents/storing", `{"prompts":["` + strings.Repeat("x", 70000) + `"]}`, 400, "too large"},
		{"clear", "DELETE", "/api/v1/incidents/storing", "", 204, ""},
		{"clear again", "DELETE", "/api/v1/incidents/storing", "", 404, "no incident message"},
		{"list empty", "GET", "/api/v1/incidents", "", 200, "[]"},
	}
	for _, s := range steps {
		st, body := f.call(t, s.method, s.path, token, s.body)
		if st != s.status || !strings.Contains(body, s.want) {
			t.Errorf("%s: %d %s\nwant %d with %q", s.name, st, body, s.status, s.want)
		}
		if st >= 400 && st != 405 {
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("%s: error body %q is not {\"error\": ...}", s.name, body)
			}
		}
	}
}
