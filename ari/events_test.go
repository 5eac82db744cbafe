package ari

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kcc/call"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// eventFrames returns the frames of one file under testdata/events: a .json
// file holds one event, a .jsonl file one event per line (the form in
// which frames recorded from a real Asterisk can be dropped in).
func eventFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(path) == ".json" {
		return [][]byte{bytes.TrimSpace(data)}
	}
	var frames [][]byte
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			frames = append(frames, line)
		}
	}
	return frames
}

// TestDecodeEventFiles decodes every file under testdata/events and compares
// the result with its .golden file; new files are picked up automatically
// (run with -update to write their golden files after checking them).
func TestDecodeEventFiles(t *testing.T) {
	var files []string
	for _, pat := range []string{"*.json", "*.jsonl"} {
		m, err := filepath.Glob(filepath.Join("testdata", "events", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no event files under testdata/events")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var out bytes.Buffer
			for i, frame := range eventFrames(t, path) {
				ev, err := DecodeEvent(frame)
				if err != nil {
					t.Fatalf("frame %d: DecodeEvent: %v", i, err)
				}
				var head struct{ Type string }
				if err := json.Unmarshal(frame, &head); err != nil {
					t.Fatal(err)
				}
				if got, want := ev.EventType(), head.Type; got != want {
					t.Errorf("frame %d: EventType() = %q, want %q", i, got, want)
				}
				if ev.EventTime().IsZero() {
					t.Errorf("frame %d: EventTime() is zero", i)
				}
				b, err := json.MarshalIndent(ev, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "%T at %s\n%s\n", ev, ev.EventTime().Format(time.RFC3339Nano), b)
			}
			golden := strings.TrimSuffix(path, filepath.Ext(path)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./ari -run TestDecodeEventFiles -update after checking the decoded output)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("decoded %s differs from %s:\ngot:\n%s\nwant:\n%s", path, golden, got, want)
			}
		})
	}
}

func TestDecodeEventFields(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wantTime := time.Date(2026, 11, 27, 8, 31, 44, 740e6, time.UTC)

	t.Run("StasisStart agent", func(t *testing.T) {
		ev, err := DecodeEvent(read("stasis_start_agent.json"))
		if err != nil {
			t.Fatal(err)
		}
		ss, ok := ev.(StasisStart)
		if !ok {
			t.Fatalf("got %T, want StasisStart", ev)
		}
		if got, want := ss.Args, []string{"agent", "call-42", "billing"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Args = %q, want %q", got, want)
		}
		if got, want := ss.Channel.ChannelVars["KCC_CALL"], "call-42"; got != want {
			t.Errorf("channelvars KCC_CALL = %q, want %q", got, want)
		}
		if !ss.Timestamp.Equal(wantTime) {
			t.Errorf("Timestamp = %v, want %v", ss.Timestamp, wantTime)
		}
		if got, want := ss.Channel.CreationTime, time.Date(2026, 11, 27, 8, 31, 42, 100e6, time.UTC); !got.Equal(want) {
			t.Errorf("creationtime = %v, want %v", got, want)
		}
		if got, want := ss.AsteriskID, "02:fc:00:00:00:01"; got != want {
			t.Errorf("AsteriskID = %q, want %q", got, want)
		}
	})
	t.Run("ChannelDestroyed cause", func(t *testing.T) {
		ev, err := DecodeEvent(read("channel_destroyed_busy.json"))
		if err != nil {
			t.Fatal(err)
		}
		cd := ev.(ChannelDestroyed)
		if cd.Cause != 17 || cd.CauseTxt != "User busy" || cd.TechCause != 486 {
			t.Errorf("got cause %d %q tech %d, want 17 \"User busy\" 486", cd.Cause, cd.CauseTxt, cd.TechCause)
		}
	})
	t.Run("ChannelDtmfReceived digit", func(t *testing.T) {
		ev, err := DecodeEvent(read("dtmf_received.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ev.(ChannelDtmfReceived).Digit, call.Digit('#'); got != want {
			t.Errorf("Digit = %q, want %q", got, want)
		}
	})
	t.Run("unknown type keeps the raw frame", func(t *testing.T) {
		frame := read("unknown_contact_status_change.json")
		ev, err := DecodeEvent(frame)
		if err != nil {
			t.Fatal(err)
		}
		u, ok := ev.(Unknown)
		if !ok {
			t.Fatalf("got %T, want Unknown", ev)
		}
		if !bytes.Equal(u.Raw, frame) {
			t.Errorf("Raw = %s, want the frame", u.Raw)
		}
	})
}

func TestDecodeEventErrors(t *testing.T) {
	const ts = `"timestamp":"2026-11-27T08:31:44.740+0000"`
	tests := []struct {
		name  string
		frame string
	}{
		{"empty", ``},
		{"not json", `hello`},
		{"json array", `[1,2]`},
		{"no type", `{` + ts + `}`},
		{"type not a string", `{"type":5,` + ts + `}`},
		{"no timestamp", `{"type":"StasisStart","channel":{"id":"x"}}`},
		{"null timestamp", `{"type":"Foo","timestamp":null}`},
		{"bad timestamp", `{"type":"StasisStart","timestamp":"yesterday","channel":{"id":"x"}}`},
		{"zero timestamp", `{"type":"Foo","timestamp":"0001-01-01T00:00:00.000+0000"}`},
		{"StasisStart without channel", `{"type":"StasisStart",` + ts + `}`},
		{"Dial without peer id", `{"type":"Dial",` + ts + `,"peer":{}}`},
		{"entered bridge without bridge", `{"type":"ChannelEnteredBridge",` + ts + `,"channel":{"id":"a"}}`},
		{"playback without id", `{"type":"PlaybackFinished",` + ts + `,"playback":{"state":"done"}}`},
		{"endpoint without resource", `{"type":"EndpointStateChange",` + ts + `,"endpoint":{"technology":"PJSIP"}}`},
		{"device state without name", `{"type":"DeviceStateChanged",` + ts + `,"device_state":{"state":"INUSE"}}`},
		{"dtmf two digits", `{"type":"ChannelDtmfReceived",` + ts + `,"digit":"12","channel":{"id":"a"}}`},
		{"dtmf bad key", `{"type":"ChannelDtmfReceived",` + ts + `,"digit":"x","channel":{"id":"a"}}`},
		{"channel wrong shape", `{"type":"StasisEnd",` + ts + `,"channel":"a"}`},
		{"ChannelTransfer without source channel", `{"type":"ChannelTransfer",` + ts + `,"refer_to":{"requested_destination":{"destination":"afval"}},"referred_by":{}}`},
		{"ChannelTransfer refer_to wrong shape", `{"type":"ChannelTransfer",` + ts + `,"refer_to":"afval","referred_by":{"source_channel":{"id":"a"}}}`},
		{"ChannelTransfer params wrong shape", `{"type":"ChannelTransfer",` + ts + `,"refer_to":{"requested_destination":{"additional_protocol_params":{"to":"x"}}},"referred_by":{"source_channel":{"id":"a"}}}`},
		{"bad creationtime", `{"type":"StasisEnd",` + ts + `,"channel":{"id":"a","creationtime":"soon"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tt.frame))
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("DecodeEvent(%q) = %v, %v; want an error wrapping ErrBadEvent", tt.frame, ev, err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	cet := time.FixedZone("", 3600)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "2026-11-27T08:28:44.740+0000", want: time.Date(2026, 11, 27, 8, 28, 44, 740e6, time.UTC)},
		{in: "2026-11-27T09:28:44.740+0100", want: time.Date(2026, 11, 27, 9, 28, 44, 740e6, cet)},
		{in: "2026-11-27T08:28:44+0000", want: time.Date(2026, 11, 27, 8, 28, 44, 0, time.UTC)},
		{in: "2026-11-27T08:28:44.123456-0230", want: time.Date(2026, 11, 27, 8, 28, 44, 123456e3, time.FixedZone("", -9000))},
		{in: "2026-11-27T08:28:44.740Z", want: time.Date(2026, 11, 27, 8, 28, 44, 740e6, time.UTC)},
		{in: "2026-11-27T09:28:44.740+01:00", want: time.Date(2026, 11, 27, 9, 28, 44, 740e6, cet)},
		{in: "", wantErr: true},
		{in: "2026-11-27", wantErr: true},
		{in: "2026-11-27 08:28:44.740+0000", wantErr: true},
		{in: "2026-13-27T08:28:44.740+0000", wantErr: true},
		{in: "2026-11-27T08:28:44.740", wantErr: true},
		{in: "2026-11-27T08:28:44.740+00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTime(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("ParseTime(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if _, off := got.Zone(); off != func() int { _, o := tt.want.Zone(); return o }() {
				t.Errorf("ParseTime(%q) offset = %d, want the offset of %v", tt.in, off, tt.want)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	h := func(typ string) Header { return Header{Type: typ, Timestamp: time.Unix(1, 0)} }
	ss := StasisStart{Header: h("StasisStart"), Channel: Channel{ID: "c1"}}
	dial := Dial{Header: h("Dial"), Peer: Channel{ID: "agent"}, Caller: &Channel{ID: "caller"}}
	entered := ChannelEnteredBridge{Header: h("ChannelEnteredBridge"), Channel: Channel{ID: "c1"}, Bridge: Bridge{ID: "b1"}}
	pbChan := PlaybackFinished{Header: h("PlaybackFinished"), Playback: Playback{ID: "pb1", TargetURI: "channel:c1"}}
	pbBridge := PlaybackStarted{Header: h("PlaybackStarted"), Playback: Playback{ID: "pb2", TargetURI: "bridge:b1"}}
	ep := EndpointStateChange{Header: h("EndpointStateChange"), Endpoint: Endpoint{Technology: "PJSIP", Resource: "1001"}}
	dev := DeviceStateChanged{Header: h("DeviceStateChanged"), DeviceState: DeviceState{Name: "PJSIP/1001"}}
	blind := ChannelTransfer{Header: h("ChannelTransfer"), ReferredBy: ReferredBy{SourceChannel: Channel{ID: "agent"}, Bridge: &Bridge{ID: "b1"}}}
	attended := ChannelTransfer{Header: h("ChannelTransfer"), ReferredBy: ReferredBy{SourceChannel: Channel{ID: "agent"}},
		ReferTo: ReferTo{DestinationChannel: &Channel{ID: "consulted"}}}
	unknown := Unknown{Header: h("ChannelTalkingStarted")}

	tests := []struct {
		name   string
		filter Filter
		ev     Event
		want   bool
	}{
		{"zero filter matches all", Filter{}, unknown, true},
		{"type matches", Filter{Types: []string{"Dial", "StasisStart"}}, ss, true},
		{"type does not match", Filter{Types: []string{"StasisEnd"}}, ss, false},
		{"channel matches", Filter{Channels: []string{"c1"}}, ss, true},
		{"other channel", Filter{Channels: []string{"c2"}}, ss, false},
		{"dial peer", Filter{Channels: []string{"agent"}}, dial, true},
		{"dial caller", Filter{Channels: []string{"caller"}}, dial, true},
		{"bridge event by channel", Filter{Channels: []string{"c1"}}, entered, true},
		{"bridge event by bridge", Filter{Bridges: []string{"b1"}}, entered, true},
		{"type and channel both needed", Filter{Types: []string{"StasisEnd"}, Channels: []string{"c1"}}, ss, false},
		{"playback by id", Filter{Playbacks: []string{"pb1"}}, pbChan, true},
		{"playback by target channel", Filter{Channels: []string{"c1"}}, pbChan, true},
		{"playback by target bridge", Filter{Bridges: []string{"b1"}}, pbBridge, true},
		{"playback other bridge", Filter{Bridges: []string{"b2"}}, pbBridge, false},
		{"endpoint", Filter{Endpoints: []string{"PJSIP/1001"}}, ep, true},
		{"endpoint other", Filter{Endpoints: []string{"PJSIP/1002"}}, ep, false},
		{"device", Filter{Devices: []string{"PJSIP/1001"}}, dev, true},
		{"device filter ignores endpoint events", Filter{Devices: []string{"PJSIP/1001"}}, ep, false},
		{"transfer by source channel", Filter{Channels: []string{"agent"}}, blind, true},
		{"transfer by bridge", Filter{Bridges: []string{"b1"}}, blind, true},
		{"transfer other channel", Filter{Channels: []string{"c1"}}, blind, false},
		{"attended transfer by consulted channel", Filter{Channels: []string{"consulted"}}, attended, true},
		{"unknown never matches a resource", Filter{Channels: []string{""}}, unknown, false},
		{"unknown matches by type", Filter{Types: []string{"ChannelTalkingStarted"}}, unknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filter.Match(tt.ev); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
