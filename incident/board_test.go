package incident

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)

func known(name string) bool { return name == "storing" || name == "tot-ziens" }

func TestSetActiveExpire(t *testing.T) {
	b := NewBoard(known, func(slot string) bool { return slot != "nergens" })
	if err := b.Set(Message{Slot: "storing", Prompts: []string{"storing"}, Expires: t0.Add(2 * time.Hour), By: "admin"}, t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		slot string
		at   time.Time
		want []string
	}{
		{"active", "storing", t0.Add(time.Hour), []string{"storing"}},
		{"other slot", "mailing", t0.Add(time.Hour), nil},
		{"last instant", "storing", t0.Add(2*time.Hour - time.Nanosecond), []string{"storing"}},
		{"expired", "storing", t0.Add(2 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := b.Active(tt.slot, tt.at)
			if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
				t.Errorf("Active(%s) = %v, %v; want %v", tt.slot, got, ok, tt.want)
			}
		})
	}
	if l := b.List(t0.Add(time.Hour)); len(l) != 1 || l[0].Set != t0 || l[0].By != "admin" {
		t.Errorf("List = %+v", l)
	}
	if l := b.List(t0.Add(3 * time.Hour)); len(l) != 0 {
		t.Errorf("List after expiry = %+v, want none", l)
	}
}

func TestClear(t *testing.T) {
	b := NewBoard(nil, nil)
	if err := b.Set(Message{Slot: "s", Prompts: []string{"x"}, Expires: t0.Add(time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	if !b.Clear("s") || b.Clear("s") {
		t.Error("Clear should report true once, then false")
	}
	if _, ok := b.Active("s", t0); ok {
		t.Error("cleared message still active")
	}
}

func TestSetRefuses(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"bad slot", Message{Slot: "a b", Prompts: []string{"storing"}, Expires: t0.Add(time.Hour)}, `slot "a b"`},
		{"no prompts", Message{Slot: "s", Expires: t0.Add(time.Hour)}, "0 prompts"},
		{"unknown prompt", Message{Slot: "s", Prompts: []string{"storin"}, Expires: t0.Add(time.Hour)}, `prompt "storin" does not exist`},
		{"expired", Message{Slot: "s", Prompts: []string{"storing"}, Expires: t0}, "not after now"},
		{"slot no flow uses", Message{Slot: "nergens", Prompts: []string{"storing"}, Expires: t0.Add(time.Hour)}, "no flow has an incident node"},
		{"too long", Message{Slot: "s", Prompts: []string{"storing"}, Expires: t0.Add(8 * 24 * time.Hour)}, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBoard(known, func(slot string) bool { return slot != "nergens" })
			err := b.Set(tt.m, t0)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Set = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
			if l := b.List(t0); len(l) != 0 {
				t.Errorf("refused message stored: %+v", l)
			}
		})
	}
}
