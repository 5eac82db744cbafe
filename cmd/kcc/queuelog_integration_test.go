//go:build integration

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"kcc/ari"
	"kcc/config"
	"kcc/peertest"
	"kcc/routing"
	"kcc/store"
)

var updateQueueLog = flag.Bool("update-queuelog", false, "rewrite testdata/queuelog/sequence.golden from Asterisk's queue_log")

// The queue_log comparison (issue 7): the same scripted calls go through
// Asterisk's own Queue() (queue qlcompare in testdata/asterisk/queues.conf)
// and through kcc (testdata/queuelog/flow.yaml), and the two queue_log
// files are compared line by line (queuelog_compare_test.go).
//
// On both sides the agents' phones are baresips with answermode=manual
// (180, then they wait); agent A's phone rings first and is never answered,
// the test answers agent B's after it rang 2 s; each may ring 4 s. Callers
// are SIPp. The calls:
//  1. answered: A rings out, B answers, the caller hangs up 12 s after the
//     system answered it;
//  2. abandoned: the caller hangs up 2 s in, while A rings;
//  3. exit by key: the caller presses 5 (RFC 4733) 2 s in, while A rings,
//     and is hung up on after a goodbye.
//
// Addresses: kcc's side 127.0.50.x, Asterisk's 127.0.51.x (the callers'
// address and the phones' static contacts are in testdata/asterisk).

const (
	qlService   = "14099"
	qlKey       = '5'
	qlAnswered  = 12 * time.Second // the first caller's time on the line
	qlBRings    = 2 * time.Second  // agent B's phone rings before B answers
	qlAbandonAt = 2 * time.Second  // the second caller hangs up
	qlKeyAt     = 2 * time.Second  // the third caller presses the exit key
)

// qlSide is one system the calls go through.
type qlSide struct {
	name     string
	target   string // where callers send INVITE, host:port
	callerIP string
	a, b     *peertest.Baresip
	idle     func(t *testing.T) // waits until the side is idle between calls
}

// TestIntegrationQueueLogMatchesAsterisk runs the calls through Asterisk,
// then through kcc, and compares the queue_logs.
func TestIntegrationQueueLogMatchesAsterisk(t *testing.T) {
	logDir := asteriskLogDir(t)
	requireQueueConfig(t)

	// One side after the other, each in a subtest so that its phones
	// (baresip binds its RTP ports on every address) are gone before the
	// other side's start.
	var astEntries, kccAll []store.QueueLogEntry
	if !t.Run("asterisk", func(t *testing.T) {
		astLog := filepath.Join(logDir, "queue_log")
		from := fileSize(t, astLog)
		runQueueLogCalls(t, asteriskQueueSide(t))
		astEntries = waitQueueLog(t, astLog, from, func(e store.QueueLogEntry) bool { return e.Queue == "qlcompare" })
	}) {
		t.FailNow()
	}
	if !t.Run("kcc", func(t *testing.T) {
		kccLog := filepath.Join(t.TempDir(), "queue_log")
		side, k := kccQueueSide(t, kccLog)
		runQueueLogCalls(t, side)
		settle(t, k)
		kccAll = waitQueueLog(t, kccLog, 0, func(store.QueueLogEntry) bool { return true })
	}) {
		t.FailNow()
	}

	roles := map[string]string{"Agent A": "A", "Agent B": "B", "5001": "A", "5002": "B"}
	astCalls, err := normaliseQueueLog(astEntries, roles)
	if err != nil {
		t.Fatalf("Asterisk's queue_log: %v", err)
	}
	kccCalls, err := normaliseQueueLog(kccAll, roles)
	if err != nil {
		t.Fatalf("kcc's queue_log: %v", err)
	}
	t.Logf("Asterisk's queue_log:\n%s", rawLines(astEntries))
	t.Logf("kcc's queue_log:\n%s", rawLines(kccAll))

	// Lines without a call: kcc writes an agent's login (its phone
	// registered) and pause lines; Asterisk's static members have none, and
	// its QUEUESTART/CONFIGRELOAD (queue NONE) fall outside the filter above.
	// Only the kinds kcc documents for agents are let through.
	for _, e := range kccAll {
		if isCallLine(e) {
			continue
		}
		switch e.Event {
		case store.QLAgentLogin, store.QLAgentLogoff, store.QLPause, store.QLUnpause, store.QLQueueStart, store.QLConfigReload:
		default:
			t.Errorf("kcc wrote a line without a call that is none of its agent or log events: %s", e.Line())
		}
	}

	// Asterisk's own log must show the sequence this test is about, or the
	// comparison compares the wrong thing.
	golden := filepath.Join("testdata", "queuelog", "sequence.golden")
	got := renderCalls(astCalls)
	if *updateQueueLog {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Asterisk's queue_log, normalised, differs from %s (run with -update-queuelog after checking it):\ngot\n%s\nwant\n%s", golden, got, want)
	}
	checkQueueLogTimes(t, "Asterisk", astCalls)
	checkQueueLogTimes(t, "kcc", kccCalls)
	if diffs := compareQueueLogs(astCalls, kccCalls); len(diffs) > 0 {
		t.Errorf("kcc's queue_log differs from Asterisk's in %d places:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
}

// checkQueueLogTimes checks that each side's time fields agree with the
// epochs of its own lines (within a second, since both truncate): a hold
// time is the time from entering to CONNECT, a talk time from CONNECT to
// COMPLETE*, a wait time from entering to ABANDON or EXITWITHKEY.
func checkQueueLogTimes(t *testing.T, side string, calls []qlCall) {
	t.Helper()
	near := func(c qlCall, l qlLine, field int, what string, want int64) {
		if field >= len(l.Data) {
			return // the comparison reports the missing field
		}
		got, err := strconv.ParseInt(l.Data[field], 10, 64)
		if err != nil || got < want-1 || got > want+1 {
			t.Errorf("%s call %s: %s is %s, but its lines are %d s apart: %s", side, c.ID, what, l.Data[field], want, l.Raw)
		}
	}
	for _, c := range calls {
		var connect *qlLine
		for i, l := range c.Lines {
			switch l.Event {
			case store.QLConnect:
				connect = &c.Lines[i]
				near(c, l, 0, "CONNECT's hold time", l.Offset)
			case store.QLCompleteCaller, store.QLCompleteAgent:
				if connect != nil {
					near(c, l, 0, l.Event+"'s hold time", connect.Offset)
					near(c, l, 1, l.Event+"'s talk time", l.Offset-connect.Offset)
				}
			case store.QLAbandon:
				near(c, l, 2, "ABANDON's wait time", l.Offset)
			case store.QLExitWithKey:
				near(c, l, 3, "EXITWITHKEY's wait time", l.Offset)
			}
		}
	}
}

// runQueueLogCalls makes the three calls through s, one after the other.
func runQueueLogCalls(t *testing.T, s qlSide) {
	t.Helper()
	// 1. A rings out, B rings qlBRings and answers, the caller hangs up.
	done := make(chan peertest.SIPpResult, 1)
	go func() { done <- qlCaller(t, s, "caller.xml", qlAnswered, qlAnswered+time.Second) }()
	fail := func(format string, args ...any) {
		t.Helper()
		<-done // bounded by SIPp's timeout; its files must outlive it
		t.Fatalf(format, args...)
	}
	if _, err := s.b.WaitEvent("CALL_INCOMING", 20*time.Second); err != nil {
		fail("%s: agent B was not rung after A: %v", s.name, err)
	}
	time.Sleep(qlBRings)
	if _, err := s.b.Cmd("accept", ""); err != nil {
		fail("%s: agent B cannot answer: %v", s.name, err)
	}
	if _, err := s.b.WaitEvent("CALL_ESTABLISHED", 5*time.Second); err != nil {
		fail("%s: agent B's answer did not connect: %v", s.name, err)
	}
	if res := <-done; res.ExitCode != 0 {
		t.Fatalf("%s: answered call (SIPp exit %d):\n%s", s.name, res.ExitCode, res.Output)
	}
	for _, p := range []*peertest.Baresip{s.a, s.b} {
		if _, err := p.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
			t.Fatalf("%s: an agent's call did not end: %v", s.name, err)
		}
	}
	s.idle(t)

	// 2. The caller hangs up while A rings.
	res := qlCaller(t, s, "caller.xml", qlAbandonAt, qlAbandonAt+time.Second)
	if res.ExitCode != 0 {
		t.Fatalf("%s: abandoned call (SIPp exit %d):\n%s", s.name, res.ExitCode, res.Output)
	}
	if _, err := s.a.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("%s: agent A was not rung, or its ringing did not stop: %v", s.name, err)
	}
	s.idle(t)

	// 3. The caller presses the exit key while A rings, hears goodbye and
	// is hung up on.
	res = qlCaller(t, s, "hungup.xml", 0, 10*time.Second, peertest.Digit{At: qlKeyAt, Event: key(qlKey)})
	if res.ExitCode != 0 {
		t.Fatalf("%s: the caller leaving by key was not hung up on (SIPp exit %d):\n%s", s.name, res.ExitCode, res.Output)
	}
	if _, err := s.a.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("%s: agent A was not rung, or its ringing did not stop: %v", s.name, err)
	}
	s.idle(t)
}

// qlCaller runs one SIPp caller against s with scenario sf (caller.xml:
// hangs up after pause; hungup.xml: waits to be hung up on), sending a
// PCMA tone for stream with keys in it.
func qlCaller(t *testing.T, s qlSide, sf string, pause, stream time.Duration, keys ...peertest.Digit) peertest.SIPpResult {
	t.Helper()
	timeout := stream + 30*time.Second
	return peertest.RunSIPp(t, timeout, map[string]string{
		sf:           scenario(t, sf, "PAUSE_MS", strconv.Itoa(int(pause/time.Millisecond))),
		"media.pcap": string(callerStream(stream, keys...)),
	}, "-sf", sf, s.target, "-s", qlService, "-i", s.callerIP, "-p", "5099", "-mp", "16000",
		"-m", "1", "-l", "1", "-timeout", fmt.Sprintf("%ds", int(timeout/time.Second)))
}

// asteriskQueueSide starts the phones of qlcompare's members, at the
// static contacts pjsip.conf gives qlc-a and qlc-b.
func asteriskQueueSide(t *testing.T) qlSide {
	t.Helper()
	phone := func(id, ip, answer string) *peertest.Baresip {
		lo, hi := agentRTP(ip)
		return peertest.StartBaresip(t, peertest.BaresipConfig{IP: ip, SIPPort: 5081, CtrlPort: 4444,
			RTPPorts: fmt.Sprintf("%d-%d", lo, hi),
			Account:  fmt.Sprintf("<sip:%s@%s>;regint=0;answermode=%s;audio_codecs=PCMA,PCMU", id, ip, answer)})
	}
	s := qlSide{name: "Asterisk", target: "127.0.0.1:5080", callerIP: "127.0.51.3",
		a: phone("qlc-a", "127.0.51.4", "manual"), b: phone("qlc-b", "127.0.51.5", "manual")}
	s.idle = func(t *testing.T) {
		waitFor(t, 10*time.Second, "no call left in Asterisk's queue", func() bool { return len(qlChannels(t)) == 0 })
	}
	return s
}

// qlChannels lists Asterisk's channels of the comparison: the callers' and
// the members' phones'.
func qlChannels(t *testing.T) []string {
	t.Helper()
	c := asteriskClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	chans, err := c.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, ch := range chans {
		if strings.HasPrefix(ch.Name, "PJSIP/qlc-") {
			ours = append(ours, ch.Name)
		}
	}
	return ours
}

func asteriskClient(t *testing.T) *ari.Client {
	t.Helper()
	c, err := ari.New(ari.Config{URL: asteriskARI, Username: "kcc", Password: "kcc-test", App: "kcc-inspect"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kccQueueSide starts kcc with queue qlcompare (4 s ring timeout, exit key
// 5, raw caller numbers as Asterisk logs them) and its agents 5001 (A) and
// 5002 (B), registered in that order so A has been idle longest.
func kccQueueSide(t *testing.T, queueLog string) (qlSide, *testKCC) {
	t.Helper()
	const subnet = "127.0.50"
	k := startKCC(t, subnet+".1", func(c *config.Config) {
		c.Flows.Files = []string{filepath.Join("testdata", "queuelog", "flow.yaml")}
		c.Store.QueueLog = queueLog
		c.Store.CallerNumbers = "raw"
		c.Routing.RingTimeout = 4 * time.Second
		c.Queues = []config.Queue{{Name: "qlcompare", Topic: "Vergelijking", Skills: []string{"qlcompare"},
			Strategy: "longest-idle", Announce: config.Announce{ExitKey: string(rune(qlKey))}}}
		c.Agents = []config.Agent{
			{ID: "5001", Name: "Agent A", Password: "demo-5001", Digest: []string{"MD5"}, Skills: []string{"qlcompare"}},
			{ID: "5002", Name: "Agent B", Password: "demo-5002", Digest: []string{"MD5"}, Skills: []string{"qlcompare"}},
		}
	})
	s := qlSide{name: "kcc", target: k.ip + ":5060", callerIP: subnet + ".3"}
	s.a = startAgent(t, k, "5001", subnet+".4", "manual")
	time.Sleep(50 * time.Millisecond) // A's idle time strictly before B's
	s.b = startAgent(t, k, "5002", subnet+".5", "manual")
	s.idle = func(t *testing.T) {
		waitFor(t, 10*time.Second, "no contact left in kcc", func() bool { return k.svc.Active() == 0 })
		waitFor(t, 10*time.Second, "both agents available", func() bool {
			return k.agentState("5001") == routing.Available && k.agentState("5002") == routing.Available
		})
	}
	return s, k
}

// asteriskLogDir asks scripts/asterisk.sh where the test Asterisk logs.
func asteriskLogDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("../../scripts/asterisk.sh", "logdir").Output()
	if err != nil {
		t.Fatalf("scripts/asterisk.sh logdir: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// requireQueueConfig fails at once, with what to do, when the running
// Asterisk was started before queues.conf and the qlc-* endpoints existed
// (scripts/asterisk.sh start leaves a running Asterisk alone).
func requireQueueConfig(t *testing.T) {
	t.Helper()
	c := asteriskClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, errA := c.Endpoint(ctx, "PJSIP", "qlc-a")
	_, errC := c.Endpoint(ctx, "PJSIP", "qlc-caller")
	var mod struct {
		Status string `json:"status"`
	}
	errM := asteriskGet(ctx, "/ari/asterisk/modules/app_queue.so", &mod)
	if errA != nil || errC != nil || errM != nil || mod.Status != "Running" {
		t.Fatalf("the test Asterisk does not answer, or runs without the queue_log comparison's config "+
			"(endpoint qlc-a: %v; qlc-caller: %v; app_queue: %q, %v); if it was started before testdata/asterisk had "+
			"that config, run scripts/asterisk.sh stop && scripts/asterisk.sh start", errA, errC, mod.Status, errM)
	}
}

// asteriskGet GETs an ARI resource into out (JSON).
func asteriskGet(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, asteriskARI+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth("kcc", "kcc-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// fileSize returns the size of the file at path, 0 if it does not exist.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitQueueLog reads the queue_log at path from offset on, until it holds
// the three calls' last lines (COMPLETECALLER, ABANDON, EXITWITHKEY), at
// most 10 s: a writer may still be flushing the last line.
func waitQueueLog(t *testing.T, path string, offset int64, keep func(store.QueueLogEntry) bool) []store.QueueLogEntry {
	t.Helper()
	var entries []store.QueueLogEntry
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			t.Fatal(err)
		}
		entries, err = readQueueLog(f, keep)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ends := 0
		for _, e := range entries {
			switch e.Event {
			case store.QLCompleteCaller, store.QLCompleteAgent, store.QLAbandon, store.QLExitWithKey:
				ends++
			}
		}
		if ends >= 3 {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d of the 3 calls' last lines after 10 s:\n%s", path, ends, rawLines(entries))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rawLines(entries []store.QueueLogEntry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Line())
		b.WriteByte('\n')
	}
	return b.String()
}
