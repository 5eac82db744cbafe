package sip

import "testing"

func TestParseReferTo(t *testing.T) {
	for _, tc := range []struct {
		in             string
		user, replaces string
		bad            bool
	}{
		{in: "<sip:afval@127.0.0.1:5060>", user: "afval"},
		{in: `"Afval" <sip:afval@kcc.example>;foo=bar`, user: "afval"},
		{in: "sip:afval@kcc.example;method=INVITE", user: "afval"},
		{in: "<sip:0612345678@kcc.example;user=phone>", user: "0612345678"},
		{in: "<tel:+31612345678>", user: "+31612345678"},
		{in: "<sip:2002@kcc.example?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>", user: "2002", replaces: "abc@host;to-tag=1;from-tag=2"},
		{in: "", bad: true},
		{in: "<sip:afval@kcc.example", bad: true},
		{in: "<http://example.org/>", bad: true},
		{in: "<sip:kcc.example>", bad: true},
		{in: "<sip:a@b?%zz>", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseReferTo(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseReferTo(%q) = %+v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseReferTo(%q): %v", tc.in, err)
			}
			if got.User != tc.user || got.Replaces != tc.replaces {
				t.Errorf("parseReferTo(%q) = %+v, want user %q replaces %q", tc.in, got, tc.user, tc.replaces)
			}
		})
	}
}

func FuzzParseReferTo(f *testing.F) {
	for _, s := range []string{"<sip:afval@h>", "sip:a@b;x", "<tel:+3170>", "<sip:a@b?Replaces=x%3By>", "<", "<>", "?", "sip:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReferTo(s)
		if err == nil && r.User == "" {
			t.Fatalf("parseReferTo(%q) = %+v without a user and without an error", s, r)
		}
	})
}

func TestReplacesDialogIDs(t *testing.T) {
	id, swapped, err := ReplacesDialogIDs("abc@host;to-tag=kcc1;from-tag=phone2;early-only")
	if err != nil {
		t.Fatal(err)
	}
	if id == swapped || id == "" {
		t.Errorf("ids %q and %q: want two different ids", id, swapped)
	}
	for _, bad := range []string{"", "abc", "abc;to-tag=1", ";to-tag=1;from-tag=2", "abc;to-tag=;from-tag=2"} {
		if _, _, err := ReplacesDialogIDs(bad); err == nil {
			t.Errorf("ReplacesDialogIDs(%q): want an error", bad)
		}
	}
}
