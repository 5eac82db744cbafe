//go:build integration

package ari

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// These tests talk to the real Asterisk 22 that scripts/asterisk.sh starts
// (scripts/test.sh does so before the integration tests). With
// KCCTEST_ARI_RECORD=DIR the frames Asterisk sent are written to
// DIR/recorded-<test>.jsonl, one per line: copy them to testdata/events and
// run the event tests with -update to add their golden files.

func realClient(t *testing.T, record func([]byte)) *Client {
	t.Helper()
	addr := os.Getenv("KCCTEST_ASTERISK_ARI")
	if addr == "" {
		addr = "127.0.0.1:8088"
	}
	c, err := New(Config{URL: "http://" + addr, Username: "kcc", Password: "kcc-test", App: "kcc",
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second, Record: record},
		zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-c.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("events WebSocket did not connect to Asterisk (is scripts/asterisk.sh start done?)")
	}
	return c
}

// recorder returns the client's Record hook. With KCCTEST_ARI_RECORD=DIR
// it keeps every frame and writes them to DIR/recorded-<test>.jsonl when
// the test ends; otherwise it is nil.
func recorder(t *testing.T) func([]byte) {
	dir := os.Getenv("KCCTEST_ARI_RECORD")
	if dir == "" {
		return nil
	}
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if err := os.WriteFile(filepath.Join(dir, "recorded-"+t.Name()+".jsonl"), out.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	})
	return func(f []byte) {
		mu.Lock()
		defer mu.Unlock()
		out.Write(bytes.TrimSpace(f))
		out.WriteByte('\n')
	}
}

func randomID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// next waits for the next event of sub that has type typ.
func next(t *testing.T, sub *Subscription, typ string) Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription closed waiting for %s: %v", typ, sub.Err())
			}
			if ev.EventType() == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within 10 s", typ)
		}
	}
}

// TestIntegrationRealAsterisk drives one channel through a real Asterisk:
// subscribe before originate (our own channel id), StasisStart with our
// args, a playback, a bridge, hang-up, and nothing left behind.
func TestIntegrationRealAsterisk(t *testing.T) {
	c := realClient(t, recorder(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	info, err := c.AsteriskInfo(ctx)
	if err != nil || !strings.HasPrefix(info.Version, "22.") {
		t.Fatalf("AsteriskInfo: %+v, %v; want Asterisk 22", info, err)
	}

	app, err := c.Application(ctx)
	if err != nil || app.Name != "kcc" {
		t.Fatalf("Application: %+v, %v", app, err)
	}

	id, bridgeID, playbackID := randomID("kcc-test-"), randomID("kcc-bridge-"), randomID("kcc-pb-")
	sub := c.Subscribe(Filter{Channels: []string{id}, Bridges: []string{bridgeID}})
	defer sub.Close()
	ch, err := c.Originate(ctx, OriginateRequest{ChannelID: id, Endpoint: "Local/700@kcc-test",
		AppArgs: []string{"probe", "42"}, CallerID: `"Kcc Test" <14070>`, Timeout: 10 * time.Second})
	if err != nil || ch.ID != id {
		t.Fatalf("Originate: %+v, %v", ch, err)
	}
	start := next(t, sub, "StasisStart").(StasisStart)
	if !slices.Equal(start.Args, []string{"probe", "42"}) || start.Channel.ID != id {
		t.Errorf("StasisStart args %v channel %s, want [probe 42] %s", start.Args, start.Channel.ID, id)
	}
	if _, err := c.Play(ctx, id, playbackID, "sound:beep"); err != nil {
		t.Fatalf("Play: %v", err)
	}
	next(t, sub, "PlaybackFinished")
	if _, err := c.CreateBridge(ctx, bridgeID, "kcc test"); err != nil {
		t.Fatalf("CreateBridge: %v", err)
	}
	if err := c.AddChannel(ctx, bridgeID, id); err != nil {
		t.Fatalf("AddChannel: %v", err)
	}
	next(t, sub, "ChannelEnteredBridge")
	// What a reconnecting kcc would re-read: its channel and bridge.
	if app, err := c.Application(ctx); err != nil || !slices.Contains(app.ChannelIDs, id) || !slices.Contains(app.BridgeIDs, bridgeID) {
		t.Errorf("Application while bridged: %+v, %v; want channel %s and bridge %s", app, err, id, bridgeID)
	}
	if err := c.Hangup(ctx, id, HangupNormal); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	destroyed := next(t, sub, "ChannelDestroyed").(ChannelDestroyed)
	if destroyed.Cause != 16 {
		t.Errorf("ChannelDestroyed cause %d, want 16 (normal clearing)", destroyed.Cause)
	}
	if err := c.DestroyBridge(ctx, bridgeID); err != nil {
		t.Fatalf("DestroyBridge: %v", err)
	}
	if err := c.Hangup(ctx, id, HangupNormal); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Hangup: %v, want ErrNotFound", err)
	}
	chans, err := c.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chans {
		if ch.ID == id {
			t.Errorf("channel %s still in Asterisk", id)
		}
	}
	bridges, err := c.Bridges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bridges {
		if b.ID == bridgeID {
			t.Errorf("bridge %s still in Asterisk", bridgeID)
		}
	}
}

// TestIntegrationRealAsteriskPresenceSources subscribes the app to
// endpoints and device states. It sees a DeviceStateChanged for a Stasis:
// device kcc sets itself, and EndpointStateChange for PJSIP/1005 (a static
// contact nobody answers on) when a channel to it comes and goes.
func TestIntegrationRealAsteriskPresenceSources(t *testing.T) {
	c := realClient(t, recorder(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	device := "Stasis:" + randomID("kcc-agent-")
	sub := c.Subscribe(Filter{Types: []string{"DeviceStateChanged"}, Devices: []string{device}})
	defer sub.Close()
	app, err := c.SubscribeApp(ctx, SourceEndpoint+"PJSIP/1001", SourceDeviceState+"PJSIP/1001", SourceDeviceState+device)
	if err != nil {
		t.Fatalf("SubscribeApp: %v", err)
	}
	if !slices.Contains(app.EndpointIDs, "PJSIP/1001") || !slices.Contains(app.DeviceNames, "PJSIP/1001") || !slices.Contains(app.DeviceNames, device) {
		t.Errorf("after SubscribeApp: endpoints %v devices %v; want PJSIP/1001 in both and %s", app.EndpointIDs, app.DeviceNames, device)
	}
	if ds, err := c.DeviceState(ctx, "PJSIP/1001"); err != nil || ds.Name != "PJSIP/1001" || ds.State == "" {
		t.Errorf("DeviceState(PJSIP/1001) = %+v, %v", ds, err)
	}
	if err := c.SetDeviceState(ctx, device, "INUSE"); err != nil {
		t.Fatalf("SetDeviceState: %v", err)
	}
	ev := next(t, sub, "DeviceStateChanged").(DeviceStateChanged)
	if ev.DeviceState.Name != device || ev.DeviceState.State != "INUSE" {
		t.Errorf("DeviceStateChanged %+v, want %s INUSE", ev.DeviceState, device)
	}
	if err := c.DeleteDeviceState(ctx, device); err != nil {
		t.Errorf("DeleteDeviceState: %v", err)
	}
	app, err = c.UnsubscribeApp(ctx, SourceEndpoint+"PJSIP/1001", SourceDeviceState+"PJSIP/1001", SourceDeviceState+device)
	if err != nil {
		t.Fatalf("UnsubscribeApp: %v", err)
	}
	// Asterisk counts subscriptions (PJSIP/1001 may still be listed for an
	// earlier run's client); this run's device was subscribed once.
	if slices.Contains(app.DeviceNames, device) {
		t.Errorf("after UnsubscribeApp: devices %v still has %s", app.DeviceNames, device)
	}

	if _, err := c.SubscribeApp(ctx, SourceEndpoint+"PJSIP/1005", SourceDeviceState+"PJSIP/1005"); err != nil {
		t.Fatalf("SubscribeApp: %v", err)
	}
	id := randomID("kcc-test-")
	phone := c.Subscribe(Filter{Channels: []string{id}, Endpoints: []string{"PJSIP/1005"}, Devices: []string{"PJSIP/1005"}})
	defer phone.Close()
	if _, err := c.Originate(ctx, OriginateRequest{ChannelID: id, Endpoint: "PJSIP/1005", AppArgs: []string{"probe"}, Timeout: 5 * time.Second}); err != nil {
		t.Fatalf("Originate to PJSIP/1005: %v", err)
	}
	// The channel fails at once (nobody listens), too fast for Asterisk to
	// report the device ringing; the device-state events of a real phone
	// are checked by cmd/kcc's busy-elsewhere test.
	var endpointEvents, deviceEvents int
	deadline := time.After(15 * time.Second)
	for destroyed := false; !destroyed || endpointEvents == 0; {
		select {
		case ev, ok := <-phone.Events():
			if !ok {
				t.Fatalf("subscription closed: %v", phone.Err())
			}
			switch e := ev.(type) {
			case EndpointStateChange:
				endpointEvents++
				if e.Endpoint.Name() != "PJSIP/1005" || e.Endpoint.State == "" {
					t.Errorf("EndpointStateChange %+v", e.Endpoint)
				}
			case DeviceStateChanged:
				deviceEvents++
				if e.DeviceState.Name != "PJSIP/1005" || e.DeviceState.State == "" {
					t.Errorf("DeviceStateChanged %+v", e.DeviceState)
				}
			case ChannelDestroyed:
				destroyed = true
			}
		case <-deadline:
			t.Fatalf("after 15 s: channel destroyed %v, %d EndpointStateChange, %d DeviceStateChanged for PJSIP/1005", destroyed, endpointEvents, deviceEvents)
		}
	}
	// kcc never unsubscribes; after a channel of the app used PJSIP/1005,
	// Asterisk 22 kept listing the subscriptions, so this is best effort.
	if _, err := c.UnsubscribeApp(ctx, SourceEndpoint+"PJSIP/1005", SourceDeviceState+"PJSIP/1005"); err != nil {
		t.Errorf("UnsubscribeApp: %v", err)
	}
}
