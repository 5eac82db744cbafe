package ari

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeEvent feeds arbitrary frames to DecodeEvent: it must never
// panic, and every event it returns has a type and a time. Run long with:
//
//	go test -run '^$' -fuzz FuzzDecodeEvent ./ari
func FuzzDecodeEvent(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"ChannelDtmfReceived","timestamp":"2026-11-27T08:31:44.740+0000","digit":"","channel":{"id":"a"}}`))
	f.Add([]byte(`{"type":"Dial","timestamp":"2026-11-27T08:31:44+0100","peer":{"id":"a","creationtime":""},"caller":null}`))
	f.Add([]byte(`{"type":"X","timestamp":"9999-12-31T23:59:59.999999999-2359"}`))
	f.Add([]byte(`{"type":"","timestamp":""}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err != nil {
			if ev != nil {
				t.Fatalf("DecodeEvent returned %#v with error %v", ev, err)
			}
			return
		}
		if ev.EventType() == "" {
			t.Fatalf("event without type from %q", data)
		}
		if ev.EventTime().IsZero() {
			t.Fatalf("event without time from %q", data)
		}
		Filter{Channels: []string{"a"}, Bridges: []string{"b"}, Playbacks: []string{"p"}}.Match(ev)
	})
}

// FuzzParseTime checks that ParseTime never panics and that what it
// accepts round-trips through Asterisk's layout.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-27T08:28:44.740+0000", "2026-11-27T08:28:44Z", "2026-11-27T08:28:44.1+01:00", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if err != nil {
			return
		}
		again, err := ParseTime(got.Format("2006-01-02T15:04:05.000000000-0700"))
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v; reformatted it parses as %v, %v", s, got, again, err)
		}
	})
}
