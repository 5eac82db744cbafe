package media

import (
	"kcc/call"
	"testing"
	"time"
)

func TestKeyDedupe(t *testing.T) {
	type in struct {
		key byte
		m   keyMethod
		at  int // ms
	}
	tests := []struct {
		name string
		keys []in
		want string
	}{
		{"one method repeated stays two", []in{{'1', viaRFC4733, 0}, {'1', viaRFC4733, 100}}, "11"},
		{"rfc4733 then info is one", []in{{'5', viaRFC4733, 0}, {'5', viaInfo, 40}}, "5"},
		{"info then rfc4733 is one", []in{{'5', viaInfo, 0}, {'5', viaRFC4733, 200}}, "5"},
		{"rfc4733 then inband is one", []in{{'#', viaRFC4733, 0}, {'#', viaInband, 60}}, "#"},
		{"outside the window is two", []in{{'5', viaRFC4733, 0}, {'5', viaInfo, 300}}, "55"},
		{"different keys pass", []in{{'1', viaRFC4733, 0}, {'2', viaInfo, 10}}, "12"},
		{
			"11 by two methods each is two",
			[]in{{'1', viaRFC4733, 0}, {'1', viaInfo, 20}, {'1', viaRFC4733, 150}, {'1', viaInfo, 170}},
			"11",
		},
		{
			"a pairing is used once",
			[]in{{'1', viaRFC4733, 0}, {'1', viaInfo, 20}, {'1', viaInfo, 40}},
			"11",
		},
		{"three methods one press", []in{{'9', viaRFC4733, 0}, {'9', viaInfo, 20}, {'9', viaInband, 30}}, "9"},
		{"pairs with the newest open press", []in{{'4', viaInfo, 0}, {'4', viaInfo, 100}, {'4', viaRFC4733, 120}}, "44"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d keyDedupe
			base := time.Unix(1000, 0)
			var got []byte
			for _, k := range tt.keys {
				if d.admit(callDigit(k.key), k.m, base.Add(time.Duration(k.at)*time.Millisecond)) {
					got = append(got, k.key)
				}
			}
			if string(got) != tt.want {
				t.Errorf("delivered %q, want %q", got, tt.want)
			}
		})
	}
}

func callDigit(b byte) call.Digit { return call.Digit(b) }
