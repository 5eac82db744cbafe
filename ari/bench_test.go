package ari

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// BenchmarkDecodeEvent decodes the largest common event, a StasisStart
// with a full channel; every event frame takes this path.
func BenchmarkDecodeEvent(b *testing.B) {
	frame, err := os.ReadFile(filepath.Join("testdata", "events", "stasis_start_agent.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := DecodeEvent(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatch measures matching one event against 500 per-call
// subscriptions, one of which takes it.
func BenchmarkDispatch(b *testing.B) {
	c, err := New(Config{Username: "kcc", EventBuffer: 1}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	var target *Subscription
	for i := range 500 {
		s := c.Subscribe(Filter{Channels: []string{"chan-" + string(rune('a'+i%26)) + string(rune('a'+i/26))}, Bridges: []string{"bridge"}})
		if i == 250 {
			target = s
		}
	}
	ev := ChannelStateChange{Header: Header{Type: "ChannelStateChange", Timestamp: time.Unix(1, 0)}, Channel: Channel{ID: target.filter.Channels[0]}}
	var scratch []*Subscription
	b.ReportAllocs()
	for b.Loop() {
		scratch = c.dispatch(ev, scratch)
		<-target.Events()
	}
}
