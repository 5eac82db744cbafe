package prompts

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"kcc/call"
)

// fallbackCatalog has welkom in nl, en and fy, menu in nl and fy, and
// alleen-nl in nl only; fy is in no default chain.
func fallbackCatalog(t testing.TB) *Catalog {
	t.Helper()
	f := func(pcm ...int16) *fstest.MapFile { return &fstest.MapFile{Data: wav(pcm...)} }
	c, err := Load(fstest.MapFS{
		"nl/welkom.wav":    f(1),
		"nl/menu.wav":      f(2),
		"nl/alleen-nl.wav": f(3),
		"en/welkom.wav":    f(4),
		"fy/welkom.wav":    f(5),
		"fy/menu.wav":      f(6),
		"hold/music.wav":   f(7),
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLookupFollowsFallback(t *testing.T) {
	c := fallbackCatalog(t)
	tests := []struct {
		lang     call.Language
		name     string
		wantLang call.Language // "" when nothing is found
	}{
		{"en", "welkom", "en"},
		{"en", "menu", "nl"},
		{"en", "alleen-nl", "nl"},
		{"en", "nergens", ""},
		{"nl", "welkom", "nl"},
		{"nl", "nergens", ""},
		{"fy", "menu", "fy"},
		{"fy", "alleen-nl", ""}, // fy has no fallback by default
		{"de", "welkom", ""},    // not in the catalogue, no fallback
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+"/"+tt.name, func(t *testing.T) {
			p, lang, ok := c.Lookup(tt.lang, tt.name)
			if got, want := ok, tt.wantLang != ""; got != want {
				t.Fatalf("Lookup(%q, %q) ok = %v, want %v", tt.lang, tt.name, got, want)
			}
			if !ok {
				if p != nil || lang != "" {
					t.Errorf("a miss returned %v, %q", p, lang)
				}
				return
			}
			if lang != tt.wantLang || p.Language() != tt.wantLang || p.Name() != tt.name {
				t.Errorf("Lookup(%q, %q) = %s/%s in %q, want %s/%s", tt.lang, tt.name, p.Language(), p.Name(), lang, tt.wantLang, tt.name)
			}
			// Prompt and Has keep looking in the language asked only.
			_, exact := c.Prompt(tt.lang, tt.name)
			if got, want := exact, lang == tt.lang; got != want || c.Has(tt.lang, tt.name) != want {
				t.Errorf("Prompt/Has(%q, %q) = %v, want %v", tt.lang, tt.name, got, want)
			}
		})
	}
}

func TestWithFallback(t *testing.T) {
	c := fallbackCatalog(t)
	f := Fallback{"fy": "en", "en": "nl"}
	fc, err := c.WithFallback(f)
	if err != nil {
		t.Fatalf("WithFallback: %v", err)
	}
	f["fy"] = "nl" // the catalogue holds its own copy
	if got, want := fc.Chain("fy"), []call.Language{"fy", "en", "nl"}; !slices.Equal(got, want) {
		t.Errorf("Chain(fy) = %v, want %v", got, want)
	}
	if _, lang, ok := fc.Lookup("fy", "alleen-nl"); !ok || lang != "nl" {
		t.Errorf("Lookup(fy, alleen-nl) found in %q, %v; want nl", lang, ok)
	}
	if _, lang, _ := fc.Lookup("fy", "welkom"); lang != "fy" {
		t.Errorf("Lookup(fy, welkom) found in %q, want fy", lang)
	}
	// The original is unchanged.
	if got, want := c.Chain("fy"), []call.Language{"fy"}; !slices.Equal(got, want) {
		t.Errorf("original Chain(fy) = %v, want %v", got, want)
	}
	if got, want := c.Fallback(), DefaultFallback(); !maps.Equal(got, want) {
		t.Errorf("original Fallback() = %v, want %v", got, want)
	}
	got := fc.Fallback()
	got["nl"] = "en"
	if _, ok := fc.Fallback()["nl"]; ok {
		t.Error("Fallback() returned the catalogue's own map")
	}

	off, err := c.WithFallback(nil)
	if err != nil {
		t.Fatalf("WithFallback(nil): %v", err)
	}
	if _, _, ok := off.Lookup("en", "menu"); ok {
		t.Error("Lookup(en, menu) found a prompt with fallback off")
	}
	if got, want := off.Chain("en"), []call.Language{"en"}; !slices.Equal(got, want) {
		t.Errorf("Chain(en) with fallback off = %v, want %v", got, want)
	}
}

func TestWithFallbackRefusesBadChains(t *testing.T) {
	c := fallbackCatalog(t)
	tests := []struct {
		name string
		f    Fallback
		want string
	}{
		{"self", Fallback{"en": "en"}, "fallback cycle: en → en"},
		{"cycle", Fallback{"en": "nl", "nl": "fy", "fy": "en"}, "fallback cycle: "},
		{"bad source", Fallback{"English": "nl"}, `"English" is not a language code`},
		{"bad target", Fallback{"en": "NL"}, `"NL" is not a language code`},
		{"empty target", Fallback{"en": ""}, `"" is not a language code`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.WithFallback(tt.f)
			if err == nil {
				t.Fatalf("WithFallback(%v) = %v, want an error", tt.f, got.Fallback())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSentence(t *testing.T) {
	c := fallbackCatalog(t)
	ps, err := c.Sentence("en", []string{"welkom", "menu"})
	if err != nil {
		t.Fatalf("Sentence: %v", err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, string(p.Language())+"/"+p.Name())
	}
	if want := []string{"en/welkom", "nl/menu"}; !slices.Equal(got, want) {
		t.Errorf("Sentence(en) = %v, want %v", got, want)
	}

	ps, err = c.Sentence("en", []string{"welkom", "x", "menu", "y"})
	if want := "prompts x, y not found in en or nl"; err == nil || err.Error() != want {
		t.Errorf("Sentence with missing prompts = %v, %v; want error %q", ps, err, want)
	}
	if ps != nil {
		t.Errorf("Sentence returned %d prompts with its error", len(ps))
	}
}

func TestSayerLanguage(t *testing.T) {
	c, err := fallbackCatalog(t).WithFallback(Fallback{"en": "nl", "fy": "nl", "pap": "fy"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, want call.Language
	}{
		{"nl", "nl"}, {"en", "en"}, {"fy", "nl"}, {"pap", "nl"}, {"de", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			got, ok := c.SayerLanguage(tt.lang)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("SayerLanguage(%q) = %q, %v; want %q", tt.lang, got, ok, tt.want)
			}
		})
	}
}

func BenchmarkLookupFallback(b *testing.B) {
	c := fallbackCatalog(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := c.Lookup("en", "alleen-nl"); !ok {
			b.Fatal("not found")
		}
	}
}
