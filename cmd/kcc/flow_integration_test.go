//go:build integration

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kcc/config"
	"kcc/ivr"
	"kcc/media"
	"kcc/peertest"
)

// TestIntegrationFlowHotReload (issue 5): the flow file changes while a
// caller is in the main menu. That caller finishes on the version it
// started with (key 1 still means paspoort); the next caller runs the new
// version from its first frame (the welcome node now plays "gesloten").
// Then a broken file is written: it is refused, and calls keep running the
// last good version.
func TestIntegrationFlowHotReload(t *testing.T) {
	const subnet = "127.0.38"
	file := filepath.Join(t.TempDir(), "14070.yaml")
	v1src := ivr.Builtin()
	writeFlow(t, file, v1src)
	k := startKCC(t, subnet+".1", func(c *config.Config) { c.Flows.Files = []string{file} })
	_, v1, _ := k.flows.Program("14070")

	// Call 1 reaches the main menu on v1, then the file changes.
	first := make(chan peertest.SIPpResult, 1)
	go func() { first <- callChoosing(t, k, subnet+".2", 2*time.Second, '1', '1') }()
	waitFor(t, 30*time.Second, "caller 1 in the main menu", func() bool { return strings.Contains(k.logs.String(), `"node":"hoofdmenu"`) })
	v2src := bytes.Replace(v1src, []byte("welkom: {play: [welkom], next: taal}"), []byte("welkom: {play: [gesloten], next: taal}"), 1)
	v2src = bytes.Replace(v2src, []byte(`"1": {queue: paspoort, topic: Paspoort}`), []byte(`"1": {queue: afval, topic: Afval}`), 1)
	if bytes.Equal(v1src, v2src) {
		t.Fatal("the built-in flow no longer has the lines this test edits")
	}
	writeFlow(t, file, v2src)
	waitFor(t, 5*time.Second, "the new version deployed", func() bool { _, v, _ := k.flows.Program("14070"); return v != v1 })
	_, v2, _ := k.flows.Program("14070")
	if res := <-first; res.ExitCode != 0 {
		t.Fatalf("caller 1 (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	queued := regexp.MustCompile(`"flow_version":"([^"]+)"[^\n]*"queue":"([a-z]+)"[^\n]*"message":"queued"`).FindStringSubmatch(k.logs.String())
	if queued == nil || queued[1] != v1 || queued[2] != "paspoort" {
		t.Errorf("caller 1 queued as %v, want flow version %s and queue paspoort (v1's meaning of key 1)", queued, v1)
	}

	// Caller 2 hears v2 from its first frame.
	heardFirst(t, k, subnet+".3", "gesloten")

	// A broken file is refused; caller 3 still runs v2.
	writeFlow(t, file, append(bytes.Clone(v2src), []byte("  kapot: {play: [bestaat-niet], next: nergens}\n")...))
	waitFor(t, 5*time.Second, "the broken file refused", func() bool { return strings.Contains(k.logs.String(), "flow reload refused") })
	if _, v, _ := k.flows.Program("14070"); v != v2 {
		t.Errorf("after a broken file the version is %s, want %s", v, v2)
	}
	heardFirst(t, k, subnet+".4", "gesloten")
}

func writeFlow(t *testing.T, file string, src []byte) {
	t.Helper()
	// As an editor saves: a new file renamed over the old one.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// heardFirst makes a call from ip that presses nothing and checks that its
// first non-silence audio is the Dutch prompt name.
func heardFirst(t *testing.T, k *testKCC, ip, name string) {
	t.Helper()
	p, ok := catalog(t).Prompt("nl", name)
	if !ok {
		t.Fatalf("no Dutch prompt %s", name)
	}
	capture := peertest.StartCapture(t, "udp and src host "+k.ip+" and dst host "+ip)
	if res := callChoosing(t, k, ip, p.Duration()); res.ExitCode != 0 {
		t.Fatalf("caller %s (SIPp exit %d):\n%s", ip, res.ExitCode, res.Output)
	}
	var heard [][]byte
	for _, p := range capture.Stop() {
		if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 8 {
			heard = append(heard, r.Payload)
		}
	}
	sameAudio(t, heard, p.Frames(media.PCMA), media.PCMA.Silence())
}

// TestIntegrationIncidentMessage (issue 5): an admin puts an incident
// message on the built-in flow's "storing" slot through the admin API; the
// next caller hears it first, without any flow edit. Once cleared, callers
// hear the welcome first again.
func TestIntegrationIncidentMessage(t *testing.T) {
	const subnet = "127.0.39"
	const token = "integration-admin-token"
	k := startKCC(t, subnet+".1", func(c *config.Config) { c.API.AdminToken = token })
	env := []string{"KCC_API_LISTEN=" + k.cfg.API.Listen, "KCC_API_ADMIN_TOKEN=" + token}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"incident", "open", "storing", "--prompts", "drukte", "--for", "10m", "--by", "test"}, env, &out, &out); err != nil {
		t.Fatalf("kcc incident open: %v\n%s", err, out.String())
	}
	heardFirst(t, k, subnet+".2", "drukte")
	if err := run(t.Context(), []string{"incident", "close", "storing"}, env, &out, &out); err != nil {
		t.Fatalf("kcc incident close: %v\n%s", err, out.String())
	}
	heardFirst(t, k, subnet+".3", "welkom")
}

// TestIntegrationQueueAnnouncements (issue 6): with no agent logged in, two
// callers wait in paspoort, which announces positions every 2 s. The second
// hears "u bent de tweede in de wachtrij"; the first, at the head, never
// hears a position.
func TestIntegrationQueueAnnouncements(t *testing.T) {
	const subnet = "127.0.41"
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		for i := range c.Queues {
			if c.Queues[i].Name == "paspoort" {
				c.Queues[i].Announce = config.Announce{Position: true, Every: 2 * time.Second}
			}
		}
	})
	captureA := peertest.StartCapture(t, "udp and src host "+k.ip+" and dst host "+subnet+".2")
	captureB := peertest.StartCapture(t, "udp and src host "+k.ip+" and dst host "+subnet+".3")
	done := make(chan peertest.SIPpResult, 2)
	go func() { done <- callChoosing(t, k, subnet+".2", 12*time.Second, '1', '1') }()
	time.Sleep(1500 * time.Millisecond) // B joins the queue after A
	go func() { done <- callChoosing(t, k, subnet+".3", 12*time.Second, '1', '1') }()
	for range 2 {
		if res := <-done; res.ExitCode != 0 {
			t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
		}
	}
	youAre := promptFrames(t, "say-you-are")
	second := promptFrames(t, "ord-2")
	heardA, heardB := pcmaPayloads(captureA.Stop()), pcmaPayloads(captureB.Stop())
	if !containsRun(heardB, youAre) || !containsRun(heardB, second) {
		t.Error("the second caller did not hear its position (say-you-are, ord-2)")
	}
	if containsRun(heardA, youAre) {
		t.Error("the caller at the head of the queue heard a position")
	}
}

// promptFrames is a Dutch prompt's PCMA frames without its leading silence.
func promptFrames(t *testing.T, name string) [][]byte {
	t.Helper()
	p, ok := catalog(t).Prompt("nl", name)
	if !ok {
		t.Fatalf("no Dutch prompt %s", name)
	}
	f := p.Frames(media.PCMA)
	return f[leadingSilence(f, media.PCMA.Silence()):]
}

func pcmaPayloads(pkts []peertest.Packet) [][]byte {
	var out [][]byte
	for _, p := range pkts {
		if r, ok := peertest.ParseRTP(p.Payload); ok && r.PayloadType == 8 {
			out = append(out, r.Payload)
		}
	}
	return out
}

// TestIntegrationMaxWaitOverflow (issue 6): paspoort lets callers wait 3 s,
// then overflows to algemeen. Only agent 2003 (afval, belastingen) is
// logged in, so the paspoort caller reaches it only through the overflow;
// the queue_log shows the exit and the new entry.
func TestIntegrationMaxWaitOverflow(t *testing.T) {
	const subnet = "127.0.42"
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Store.QueueLog = queueLog
		for i := range c.Queues {
			if c.Queues[i].Name == "paspoort" {
				c.Queues[i].MaxWait, c.Queues[i].Overflow = 3*time.Second, "algemeen"
			}
		}
	})
	agent := startAgent(t, k, "2003", subnet+".2", "auto")
	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- callChoosing(t, k, subnet+".3", 10*time.Second, '1', '1') }()
	waitFor(t, 30*time.Second, "the caller queued for paspoort", func() bool { return len(k.router.Waiting("paspoort")) == 1 })
	queued := time.Now()
	if _, err := agent.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
		t.Fatalf("the caller did not reach agent 2003 through the overflow: %v", err)
	}
	if waited := time.Since(queued); waited < 2500*time.Millisecond {
		t.Errorf("put through after %v, before the 3 s max wait", waited)
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("SIPp (exit %d):\n%s", res.ExitCode, res.Output)
	}
	settle(t, k)
	b, err := os.ReadFile(queueLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"|paspoort|NONE|EXITWITHTIMEOUT|1|1|", "|algemeen|NONE|ENTERQUEUE||", "|algemeen|2003|CONNECT|"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("queue_log lacks %q:\n%s", want, b)
		}
	}
}

// TestIntegrationExitKey (issue 6): paspoort's exit key is 0. A caller who
// presses it while waiting leaves the queue (EXITWITHKEY in queue_log) and
// the flow goes on at the queue node's next: the goodbye, then kcc hangs up.
func TestIntegrationExitKey(t *testing.T) {
	const subnet = "127.0.43"
	file := filepath.Join(t.TempDir(), "14070.yaml")
	src := bytes.Replace(ivr.Builtin(), []byte(`"1": {queue: paspoort, topic: Paspoort}`),
		[]byte(`"1": {queue: paspoort, topic: Paspoort, next: einde}`), 1)
	writeFlow(t, file, src)
	queueLog := filepath.Join(t.TempDir(), "queue_log")
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Flows.Files = []string{file}
		c.Store.QueueLog = queueLog
		for i := range c.Queues {
			if c.Queues[i].Name == "paspoort" {
				c.Queues[i].Announce.ExitKey = "0"
			}
		}
	})
	capture := peertest.StartCapture(t, "udp and src host "+k.ip+" and dst host "+subnet+".2")
	goodbye := promptFrames(t, "tot-ziens")
	res := callScenario(t, k, subnet+".2", "hungup.xml", pcmaCaller, 10*time.Second, '1', '1', '0')
	if res.ExitCode != 0 {
		t.Fatalf("the caller was not hung up on after the exit key (SIPp exit %d):\n%s", res.ExitCode, res.Output)
	}
	if !containsRun(pcmaPayloads(capture.Stop()), goodbye) {
		t.Error("the caller did not hear the goodbye after leaving the queue")
	}
	settle(t, k)
	b, err := os.ReadFile(queueLog)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\|paspoort\|NONE\|EXITWITHKEY\|0\|1\|1\|[0-9]+\n`).Match(b) {
		t.Errorf("queue_log has no EXITWITHKEY line:\n%s", b)
	}
	if len(k.router.Waiting("paspoort")) != 0 {
		t.Error("the caller is still queued")
	}
}
