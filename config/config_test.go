package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kcc.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.Listen != "127.0.0.1:5060" || c.Media.IP != "127.0.0.1" || c.Routing.RingTimeout != 15*time.Second {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if len(c.Agents) != 3 || c.Agents[0].ID != "2001" || len(c.Queues) != 4 {
		t.Errorf("demo agents/queues missing: %+v %+v", c.Agents, c.Queues)
	}
}

func TestLoadOverrides(t *testing.T) {
	path := writeFile(t, `
sip:
  listen: 127.0.0.9:5070
routing:
  ring_timeout: 3s
agents:
  - {id: "3001", name: Anna, password: s3cret-long, digest: [SHA-256, MD5], skills: [afval]}
`)
	c, err := Load(path, []string{"KCC_SIP_LISTEN=127.0.0.8:5080", "KCC_FLOWS_FILES=a.yaml,b.yaml", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.Listen != "127.0.0.8:5080" {
		t.Errorf("env must beat the file: listen %s", c.SIP.Listen)
	}
	if c.Routing.RingTimeout != 3*time.Second || c.Routing.WrapUp != 10*time.Second {
		t.Errorf("routing %+v: file value or default lost", c.Routing)
	}
	if len(c.Agents) != 1 || c.Agents[0].ID != "3001" || c.Agents[0].Digest[0] != "SHA-256" {
		t.Errorf("the file's agents must replace the demo agents: %+v", c.Agents)
	}
	if got := strings.Join(c.Flows.Files, "|"); got != "a.yaml|b.yaml" {
		t.Errorf("flows.files from env = %q", got)
	}
	if c.SIP.Realm != "kcc" {
		t.Errorf("default realm lost: %q", c.SIP.Realm)
	}
}

func TestRoutingKeys(t *testing.T) {
	path := writeFile(t, `
routing:
  max_misses: 2
queues:
  - name: paspoort
    topic: Paspoort
    skills: [paspoort]
    strategy: most-skilled
    min_proficiency: 3
    service_level: {target: 0.8, within: 60s}
    max_wait: 10m
    escalation:
      - {after: 60s, min_proficiency: 1}
      - {after: 2m, skills: [algemeen]}
agents:
  - {id: "3001", name: Anna, password: s3cret-long, digest: [SHA-256], skills: [paspoort], proficiency: {paspoort: 5}, wrap_up: 30s}
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := c.Queues[0]
	if q.Strategy != "most-skilled" || q.MinProficiency != 3 || q.ServiceLevel.Within != time.Minute || q.MaxWait != 10*time.Minute ||
		len(q.Escalation) != 2 || q.Escalation[1].After != 2*time.Minute || q.Escalation[1].Skills[0] != "algemeen" {
		t.Errorf("queue %+v", q)
	}
	if a := c.Agents[0]; a.Proficiency["paspoort"] != 5 || a.WrapUp != 30*time.Second || c.Routing.MaxMisses != 2 {
		t.Errorf("agent %+v, routing %+v", a, c.Routing)
	}
	bad := writeFile(t, "queues:\n  - name: q\n    escalation:\n      - {aftr: 60s}\n")
	if _, err := Load(bad, nil); err == nil || !strings.Contains(err.Error(), "kcc.yaml:4:10: unknown key queues[0].escalation[0].aftr") {
		t.Errorf("typo in an escalation step: %v", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want []string // every one must appear in the error
	}{
		{
			name: "unknown keys with lines",
			file: "sip:\n  lisen: 127.0.0.1:5060\nfoo: 1\nagents:\n  - {id: \"9\", pasword: x}\n",
			want: []string{"kcc.yaml:2:3: unknown key sip.lisen", "kcc.yaml:3:1: unknown key foo", "kcc.yaml:5:15: unknown key agents[0].pasword"},
		},
		{
			name: "unknown env",
			env:  []string{"KCC_SIP_LISEN=x", "KCC_AGENTS=y"},
			want: []string{"unknown environment variable KCC_SIP_LISEN", "unknown environment variable KCC_AGENTS"},
		},
		{
			name: "trunk, callback and transfers",
			file: "trunk: {proxy: carrier, transport: sctp, identity: \"0900123456\", password: x}\n" +
				"callback: {max_attempts: 0, per_number_per_day: 0, ring_timeout: 0s}\n" +
				"transfers: [{name: belastingdienst, number: \"0900-1234\"}, {name: belastingdienst, number: \"0800-0543\"}]\n" +
				"queues: [{name: q, announce: {exit_key: \"2\", callback_key: \"2\"}, join_empty: sometimes}]\n",
			want: []string{`trunk.proxy "carrier": want host:port`, `trunk.transport "sctp"`, `trunk.identity "0900123456"`,
				"trunk.username is empty", "callback.max_attempts 0", "callback.per_number_per_day 0",
				"ring_timeout must be positive", `transfers[0] (belastingdienst): number "0900-1234"`,
				`transfers[1]: name "belastingdienst" is empty or defined twice`,
				"announce.exit_key and callback_key are both", `join_empty "sometimes"`},
		},
		{
			name: "callback key without a trunk",
			file: "queues: [{name: q, announce: {callback_key: \"2\"}, overflow: callback}, {name: r, overflow: nowhere}]\n" +
				"transfers: [{name: x, number: \"0612345678\"}]\n",
			want: []string{"callback_key needs trunk.proxy", "transfers need trunk.proxy", "overflow callback needs trunk.proxy",
				`overflow "nowhere": want another queue's name, callback or message:<prompt>`},
		},
		{
			name: "bad yaml",
			file: "sip: [\n",
			want: []string{"kcc.yaml"},
		},
		{
			name: "wrong shape",
			file: "sip: 5\n",
			want: []string{"kcc.yaml:1:6: sip must be a mapping"},
		},
		{
			name: "every invalid value at once",
			file: "sip: {listen: nowhere}\nmedia: {ip: \"::1\", port_min: 10, port_max: 11}\nrouting: {ring_timeout: 0s}\nlog: {level: loud}\n",
			want: []string{"sip.listen", "media.ip", "media.port_min", "routing.ring_timeout", "log.level"},
		},
		{
			name: "bad duration",
			env:  []string{"KCC_ROUTING_WRAP_UP=soon"},
			want: []string{"wrap_up"},
		},
		{
			name: "demo passwords off loopback",
			env:  []string{"KCC_SIP_LISTEN=192.0.2.10:5060"},
			want: []string{"agents[0] (2001) uses a compiled-in demo password", "agents[2] (2003)"},
		},
		{
			name: "agent problems",
			file: "agents:\n  - {id: \"1\", password: \"\", digest: [SHA-1]}\n  - {id: \"1\", password: x, digest: []}\n",
			want: []string{"password is empty", `digest algorithm "SHA-1"`, `agent "1" defined twice`, "digest needs at least one algorithm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, err := Load(path, tt.env)
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestEnvKeysCoverScalars(t *testing.T) {
	keys := envKeys()
	for _, name := range []string{"KCC_SIP_LISTEN", "KCC_MEDIA_PORT_MIN", "KCC_CALL_ANSWER_DELAY", "KCC_ROUTING_WRAP_UP", "KCC_LOG_LEVEL", "KCC_FLOWS_FILES"} {
		if _, ok := keys[name]; !ok {
			t.Errorf("%s not accepted", name)
		}
	}
	if _, ok := keys["KCC_AGENTS"]; ok {
		t.Error("lists of records must not come from the environment")
	}
}
