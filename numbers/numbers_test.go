package numbers

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in       string
		national string // "" when an error is wanted
		err      error
	}{
		{"0612345678", "0612345678", nil},
		{"+31612345678", "0612345678", nil},
		{"0031612345678", "0612345678", nil},
		{"31612345678", "0612345678", nil},
		{"+31 (0)6-1234 5678", "0612345678", nil},
		{"070 353 3000", "0703533000", nil},
		{"0101234567", "0101234567", nil},
		{"0881234567", "0881234567", nil},
		{"0851234567", "0851234567", nil},
		{"0911234567", "0911234567", nil},
		{"0681234567", "0681234567", nil},
		{"", "", ErrWithheld},
		{"anonymous", "", ErrWithheld},
		{" Anonymous ", "", ErrWithheld},
		{"restricted", "", ErrWithheld},
		{"0900123456", "", ErrNotDialable},
		{"09001234567", "", ErrNotDialable},
		{"0906123456", "", ErrNotDialable},
		{"0909123456", "", ErrNotDialable},
		{"+31900123456", "", ErrNotDialable},
		{"0800123456", "", ErrNotDialable},
		{"0841234567", "", ErrNotDialable},
		{"0871234567", "", ErrNotDialable},
		{"0661234567", "", ErrNotDialable},
		{"0671234567", "", ErrNotDialable},
		{"0971234567", "", ErrNotDialable},
		{"112", "", ErrNotDialable},
		{"14070", "", ErrNotDialable},
		{"+32470123456", "", ErrNotDialable},
		{"0032470123456", "", ErrNotDialable},
		{"+1 202 555 0100", "", ErrNotDialable},
		{"061234567", "", ErrNotDialable},
		{"06123456789", "", ErrNotDialable},
		{"0012345678", "", ErrNotDialable},
		{"612345678", "", ErrNotDialable},
		{"06123x5678", "", ErrNotDialable},
		{"06+12345678", "", ErrNotDialable},
		{"sip:0612345678@example.org", "", ErrNotDialable},
		{"0612345678;ext=1", "", ErrNotDialable},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got.National() != tc.national {
				t.Errorf("National() = %q, want %q", got.National(), tc.national)
			}
			if want := "+31" + tc.national[1:]; got.E164() != want {
				t.Errorf("E164() = %q, want %q", got.E164(), want)
			}
		})
	}
}

// FuzzParse checks that any caller-ID either parses into a number that
// parses again to itself in both formats, or is refused with one of the
// two errors.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0612345678", "+31612345678", "0031 70 353 3000", "anonymous", "0900", "+", "00", "31", "\x00", "+31(0)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrWithheld) && !errors.Is(err, ErrNotDialable) {
				t.Fatalf("Parse(%q): unexpected error kind %v", s, err)
			}
			return
		}
		for _, again := range []string{d.National(), d.E164()} {
			d2, err := Parse(again)
			if err != nil || d2 != d {
				t.Fatalf("Parse(%q) = %v but Parse(%q) = %v, %v", s, d, again, d2, err)
			}
		}
		if len(d.National()) != 10 {
			t.Fatalf("Parse(%q) = %q: not ten digits", s, d.National())
		}
	})
}

func TestTarget(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0612345678", "+31612345678"},
		{"070 353 3000", "+31703533000"},
		{"0800-0543", "08000543"},
		{"08001234567", "08001234567"},
		{"14070", "14070"},
		{"140 10", "14010"},
		{"0900-1234", ""},
		{"0900123456", ""},
		{"0841234567", ""},
		{"112", ""},
		{"1400", ""},
		{"14170", ""},
		{"0800123", ""},
		{"+32470123456", ""},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Target(tc.in)
			if tc.want == "" {
				if !errors.Is(err, ErrNotDialable) {
					t.Fatalf("Target(%q) = %q, %v; want ErrNotDialable", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Target(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
