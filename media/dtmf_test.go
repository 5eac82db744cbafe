package media

import (
	"testing"
)

func TestDecodeTelephoneEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    TelephoneEvent
		wantErr bool
	}{
		{"digit 5 progress", []byte{5, 0x0A, 0x01, 0x40}, TelephoneEvent{Event: 5, Volume: 10, Duration: 320}, false},
		{"hash end", []byte{11, 0x8A, 0x03, 0x20}, TelephoneEvent{Event: 11, End: true, Volume: 10, Duration: 800}, false},
		{"reserved bit ignored", []byte{1, 0x7F, 0, 0}, TelephoneEvent{Event: 1, Volume: 63}, false},
		{"trailing bytes ignored", []byte{2, 0, 0, 160, 9, 9, 9, 9}, TelephoneEvent{Event: 2, Duration: 160}, false},
		{"short", []byte{1, 2, 3}, TelephoneEvent{}, true},
		{"empty", nil, TelephoneEvent{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTelephoneEvent(tt.payload)
			if (err != nil) != tt.wantErr {
				t.Fatalf("DecodeTelephoneEvent error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DecodeTelephoneEvent = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTelephoneEventDigit(t *testing.T) {
	var got []byte
	for ev := range 256 {
		if d, ok := (TelephoneEvent{Event: uint8(ev)}).Digit(); ok {
			if !d.Valid() {
				t.Errorf("event %d gives invalid digit %q", ev, d)
			}
			got = append(got, byte(d))
		}
	}
	if want := "0123456789*#ABCD"; string(got) != want {
		t.Errorf("digits of events 0-255 = %q, want %q", got, want)
	}
}

// tep is one received telephone-event packet in a detector test.
type tep struct {
	ssrc  uint32
	ts    uint32
	event uint8
	end   bool
	dur   uint16
}

// press returns the packets of one key press per RFC 4733 §2.5.1: progress
// packets every 20 ms and three end packets, all with the event's timestamp.
func press(ssrc, ts uint32, event uint8, progress int) []tep {
	var out []tep
	for i := 1; i <= progress; i++ {
		out = append(out, tep{ssrc, ts, event, false, uint16(i * 160)})
	}
	for range 3 {
		out = append(out, tep{ssrc, ts, event, true, uint16((progress + 1) * 160)})
	}
	return out
}

func concat(parts ...[]tep) []tep {
	var out []tep
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestDigitDetector(t *testing.T) {
	one := press(7, 1000, 1, 5)
	tests := []struct {
		name    string
		packets []tep
		want    string
	}{
		{"single digit with three end packets", one, "1"},
		{"end packets lost", one[:5], "1"},
		{"only end packets arrive", one[5:], "1"},
		{"only one progress packet", one[2:3], "1"},
		{"repeated key 11", concat(press(7, 1000, 1, 5), press(7, 3000, 1, 5)), "11"},
		{"repeated key 55, first ends lost", concat(press(7, 1000, 5, 5)[:5], press(7, 2600, 5, 5)), "55"},
		{"sequence 1234#", concat(press(7, 100, 1, 4), press(7, 2000, 2, 4), press(7, 4000, 3, 4), press(7, 6000, 4, 4), press(7, 8000, 11, 4)), "1234#"},
		{
			"interleaved retransmissions of the previous end",
			concat(press(7, 1000, 1, 3), press(7, 2000, 2, 2)[:1], []tep{{7, 1000, 1, true, 640}}, press(7, 2000, 2, 2)[1:], []tep{{7, 1000, 1, true, 640}}),
			"12",
		},
		{"reordered: end before progress", []tep{{7, 500, 9, true, 800}, {7, 500, 9, false, 160}, {7, 500, 9, false, 320}}, "9"},
		{"non-key events ignored", concat(press(7, 1000, 16, 3), press(7, 2000, 32, 3), press(7, 3000, 0, 3)), "0"},
		{"star hash and letters", concat(press(7, 10, 10, 1), press(7, 20000, 11, 1), press(7, 40000, 12, 1), press(7, 60000, 15, 1)), "*#AD"},
		{"new ssrc same timestamp is a new key", concat(press(7, 1000, 3, 2), press(8, 1000, 3, 2)), "33"},
		{"timestamp wraps", concat(press(7, 0xFFFFFF00, 6, 3), press(7, 0x00000300, 6, 3)), "66"},
		{
			"long event split into segments is one key",
			concat(
				[]tep{{7, 1000, 4, false, 0xFF00}, {7, 1000, 4, false, 0xFFFF}},
				[]tep{{7, 1000 + 0xFFFF, 4, false, 160}, {7, 1000 + 0xFFFF, 4, true, 480}},
			),
			"4",
		},
		{
			"long event then a real second press",
			concat(
				[]tep{{7, 1000, 4, false, 0xFFFF}, {7, 1000, 4, true, 0xFFFF}},
				press(7, 1000+0xFFFF, 4, 2),
			),
			"44",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d digitDetector
			var got []byte
			for _, p := range tt.packets {
				if k, ok := d.observe(p.ssrc, p.ts, TelephoneEvent{Event: p.event, End: p.end, Duration: p.dur}); ok {
					got = append(got, byte(k))
				}
			}
			if string(got) != tt.want {
				t.Errorf("digits = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzDecodeTelephoneEvent(f *testing.F) {
	f.Add([]byte{5, 0x0A, 0x01, 0x40}, uint32(1000))
	f.Add([]byte{11, 0x8A, 0x03, 0x20}, uint32(0xFFFFFFFF))
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{255, 255, 255, 255, 255}, uint32(7))
	f.Fuzz(func(t *testing.T, payload []byte, ts uint32) {
		ev, err := DecodeTelephoneEvent(payload)
		if err != nil {
			if len(payload) >= telephoneEventSize {
				t.Fatalf("error %v for %d-byte payload", err, len(payload))
			}
			return
		}
		if ev.Volume > 63 {
			t.Fatalf("volume %d > 63", ev.Volume)
		}
		if d, ok := ev.Digit(); ok && !d.Valid() {
			t.Fatalf("invalid digit %q", d)
		}
		// The same event repeated (retransmissions) yields at most one key.
		var det digitDetector
		n := 0
		for range 4 {
			if _, ok := det.observe(1, ts, ev); ok {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("event %+v at ts %d delivered %d times", ev, ts, n)
		}
	})
}
