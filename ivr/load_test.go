package ivr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kcc/call"
)

func TestBuiltinCompiles(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	if got, want := p.Name(), "14070"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got, want := p.Numbers(), []string{"14070"}; !slices.Equal(got, want) {
		t.Errorf("Numbers() = %q, want %q", got, want)
	}
	if got, want := p.Languages(), []call.Language{"nl", "en"}; !slices.Equal(got, want) {
		t.Errorf("Languages() = %q, want %q", got, want)
	}
	if got := p.Version(); len(got) != 12 {
		t.Errorf("Version() = %q, want 12 hex digits", got)
	}
	if got := p.Warnings(); len(got) != 0 {
		t.Errorf("Warnings() = %v, want none", got)
	}
}

func TestBuiltinIsACopy(t *testing.T) {
	b := Builtin()
	b[0] = 'X'
	if got := Builtin()[0]; got == 'X' {
		t.Errorf("Builtin() shares its bytes: a caller's change leaked into the next call")
	}
}

func TestVersion(t *testing.T) {
	src := Builtin()
	a := mustLoad(t, "a.yaml", src)
	b := mustLoad(t, "b.yaml", slices.Clone(src))
	if a.Version() != b.Version() {
		t.Errorf("same source, versions %q and %q differ", a.Version(), b.Version())
	}
	changed := mustLoad(t, "c.yaml", append(slices.Clone(src), "\n# edited\n"...))
	if a.Version() == changed.Version() {
		t.Errorf("edited source kept version %q", a.Version())
	}
}

func TestProgramAccessorsReturnCopies(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	p.Numbers()[0] = "112"
	p.Languages()[0] = "de"
	if got := p.Numbers()[0]; got != "14070" {
		t.Errorf("Numbers()[0] = %q after a caller changed its copy, want 14070", got)
	}
	if got := p.Languages()[0]; got != "nl" {
		t.Errorf("Languages()[0] = %q after a caller changed its copy, want nl", got)
	}
}

// flowWith returns a valid flow header (lines 1-5) followed by nodes, which
// start on line 6.
func flowWith(nodes string) string {
	return "flow: t\nnumbers: [\"1\"]\nlanguages: [nl, en]\nstart: a\nnodes:\n" + nodes
}

func TestLoadErrors(t *testing.T) {
	deep := "  a:\n    menu:\n      prompt: p\n      options:\n        \"1\": " + strings.Repeat(`{menu: {prompt: p, options: {"1": `, 17) + "a" + strings.Repeat("}}}", 17) + "\n"
	tests := []struct {
		name string
		src  string
		want []string // every problem, in order
	}{
		{"empty file", "", []string{"t.yaml: file is empty; want a flow"}},
		{"only a comment", "# nothing\n", []string{"t.yaml: file is empty; want a flow"}},
		{"bad YAML", "flow: t\nnodes: [a\n", []string{"t.yaml:2: bad YAML: did not find expected ',' or ']'"}},
		{"tab indentation", "flow: t\nnodes:\n\ta: {}\n", []string{"t.yaml:3: bad YAML: found character that cannot start any token"}},
		{"two documents", "flow: t\n---\nflow: u\n", []string{"t.yaml:2: a second YAML document (---); a flow file holds one flow"}},
		{"not a map", "- a\n- b\n", []string{"t.yaml:1:1: flow: want a map, got a list"}},
		{"unknown key with suggestion", flowWith("  a: {hangup: normal}\n") + "strat: a\n",
			[]string{`t.yaml:7:1: flow: unknown key "strat"; want one of flow, numbers, languages, start, timezone, vars, schedules, nodes (did you mean "start"?)`}},
		{"hours at the top", "hours: {timezone: Europe/Amsterdam}\n" + flowWith("  a: {hangup: normal}\n"),
			[]string{`t.yaml:1:1: flow: unknown key "hours"; opening hours are declared under schedules: and checked by an hours node ({hours: <schedule>, open: ..., closed: ...})`}},
		{"holidays and incident at the top", flowWith("  a: {hangup: normal}\n") + "holidays: nl\nincident: {}\n",
			[]string{
				`t.yaml:7:1: flow: unknown key "holidays"; holidays belong to a schedule under schedules: (holidays: [nl])`,
				`t.yaml:8:1: flow: unknown key "incident"; incident messages are played by an incident node ({incident: <slot>, next: ...})`,
			}},
		{"unknown node key", flowWith("  a: {play: [welkom], nxt: a}\n"),
			[]string{`t.yaml:6:23: node "a": unknown key "nxt"; want one of play, barge_in, menu, input, set, branch, goto, hours, open, closed, holiday, early_close, queue, topic, priority, skills, care, unavailable, callback, transfer, hangup, incident, next (did you mean "next"?)`}},
		{"unknown menu key", flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": a}, timout: 4s}}\n"),
			[]string{`t.yaml:6:52: node "a": menu: unknown key "timout"; want one of prompt, options, timeout, retries, invalid, no_input, exhausted (did you mean "timeout"?)`}},
		{"node is not a map", flowWith("  a: welkom\n"), []string{`t.yaml:6:6: node "a": want a map, got "welkom"`}},
		{"play is a map", flowWith("  a: {play: {x: y}}\n"), []string{`t.yaml:6:14: node "a": play: unknown key "x"; want one of say, var, value, approx`}},
		{"play of a list", flowWith("  a: {play: [[welkom]]}\n"), []string{`t.yaml:6:14: node "a": play[0]: want a prompt name or a say item, got a list`}},
		{"key given twice", flowWith("  a: {play: [welkom], play: [tot-ziens]}\n"),
			[]string{`t.yaml:6:23: node "a": key "play" given twice (first at line 6)`}},
		{"node defined twice", flowWith("  a: {hangup: normal}\n  a: {hangup: busy}\n"),
			[]string{`t.yaml:7:3: nodes: key "a" given twice (first at line 6)`}},
		{"empty value", flowWith("  a: {play: [welkom], next: }\n"), []string{`t.yaml:6:29: node "a": next: want a value, got nothing`}},
		{"alias", "flow: &n t\nnumbers: [*n]\n", []string{`t.yaml:2:11: numbers[0]: YAML aliases (*n) are not supported; write the value out`}},
		{"inline nodes nested too deep", flowWith(deep),
			[]string{`t.yaml:10:558: inline node "a/1/1/1/1/1/1/1/1/1/1/1/1/1/1/1/1": menu: option "1": inline nodes nested more than 16 deep; give some of them names`}},

		{"missing header", "nodes:\n  a: {hangup: normal}\n", []string{
			"t.yaml:1:1: flow: missing the flow's name (flow: ...)",
			"t.yaml:1:1: numbers: missing; want the service numbers this flow answers",
			"t.yaml:1:1: languages: missing; want at least one language code, e.g. [nl, en]",
			"t.yaml:1:1: start: missing; want the name of the first node",
		}},
		{"bad numbers and languages", "flow: t\nnumbers: [\"+3170\", abc, \"+3170\"]\nlanguages: [nl, EN, nl]\nstart: a\nnodes:\n  a: {hangup: normal}\n", []string{
			`t.yaml:2:20: number "abc": want digits with an optional leading +`,
			`t.yaml:2:25: number "+3170" listed twice`,
			`t.yaml:3:17: language "EN": want a lower-case language code such as nl or en`,
			`t.yaml:3:21: language "nl" listed twice`,
		}},
		{"start names no node", "flow: t\nnumbers: [\"1\"]\nlanguages: [nl]\nstart: welcome\nnodes:\n  welkom: {hangup: normal}\n",
			[]string{`t.yaml:4:8: start: no node named "welcome" (did you mean "welkom"?)`}},
		{"next names no node", flowWith("  a: {play: [welkom], next: nowhere}\n"),
			[]string{`t.yaml:6:29: node "a": next: no node named "nowhere"`}},
		{"action names no node", flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": b}, invalid: c}}\n"), []string{
			`t.yaml:6:48: node "a": option "1": no node named "b"`,
			`t.yaml:6:61: node "a": invalid: no node named "c"`,
		}},
		{"two node types", flowWith("  a: {play: [welkom], hangup: normal}\n"),
			[]string{`t.yaml:6:3: node "a" is play and hangup at once; a node does one thing (chain nodes with next)`}},
		{"no node type", flowWith("  a: {next: a}\n"),
			[]string{`t.yaml:6:3: node "a" does nothing; want one of play, menu, input, set, branch, goto, hours, queue, callback, transfer, hangup, incident`}},
		{"bad node name", flowWith("  a: {play: [welkom], next: b.c}\n  b.c: {hangup: normal}\n"),
			[]string{`t.yaml:7:3: node name "b.c": want 1 to 64 letters, digits, '-' or '_'`}},
		{"bad option keys", flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"11\": a, x: a, \"*\": a, \"#\": a, D: a}}}\n"), []string{
			`t.yaml:6:43: node "a": option "11": want a single DTMF key (0-9, *, #, A-D)`,
			`t.yaml:6:52: node "a": option "x": want a single DTMF key (0-9, *, #, A-D)`,
		}},
		{"bad durations", flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": b}, timeout: 4 seconds}}\n  b: {menu: {prompt: hoofdmenu, options: {\"1\": a}, timeout: 2m}}\n"), []string{
			`t.yaml:6:61: node "a": timeout "4 seconds": want a duration such as 4s`,
			`t.yaml:7:61: node "b": timeout 2m: want more than 0 and at most 1m0s`,
		}},
		{"bad retries", flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": b}, retries: three}}\n  b: {menu: {prompt: hoofdmenu, options: {\"1\": a}, retries: -1}}\n"), []string{
			`t.yaml:6:61: node "a": retries "three": want a whole number`,
			`t.yaml:7:61: node "b": retries -1: want 0 to 20`,
		}},
		{"menu without prompt or options", flowWith("  a: {menu: {timeout: 4s}}\n"), []string{
			`t.yaml:6:7: node "a": menu: missing prompt`,
			`t.yaml:6:7: node "a": menu: no options; a menu needs at least one`,
		}},
		{"menu with next", flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": a}}, next: a}\n"),
			[]string{`t.yaml:6:59: node "a": a menu has no next; its options say where to go`}},
		{"hangup with next", flowWith("  a: {hangup: normal, next: a}\n"),
			[]string{`t.yaml:6:29: node "a": a hangup ends the flow; it has no next`}},
		{"bad hangup cause", flowWith("  a: {hangup: bye}\n"),
			[]string{`t.yaml:6:15: node "a": hangup cause "bye": want one of normal, busy, congestion, rejected`}},
		{"set language not in flow", flowWith("  a: {set: {language: de}, next: b}\n  b: {hangup: normal}\n"),
			[]string{`t.yaml:6:23: node "a": set: language "de" is not one of the flow's languages (nl, en)`}},
		{"set without language", flowWith("  a: {set: {}, next: b}\n  b: {hangup: normal}\n"),
			[]string{`t.yaml:6:7: node "a": set: want at least one variable, e.g. {language: en}`}},
		{"missing prompt", "flow: t\nnumbers: [\"1\"]\nlanguages: [nl, en, pap]\nstart: a\nnodes:\n  a: {play: [welkom, onbekend]}\n", []string{
			`t.yaml:6:14: node "a": play: prompt "welkom" does not exist in pap; record it or fix the name`,
			`t.yaml:6:22: node "a": play: prompt "onbekend" does not exist in nl, en, pap; record it or fix the name`,
		}},
		{"empty play", flowWith("  a: {play: []}\n"), []string{`t.yaml:6:7: node "a": play: want at least one prompt`}},
		{"bad prompt name", flowWith("  a: {play: [../../etc/passwd]}\n"),
			[]string{`t.yaml:6:14: node "a": play: prompt name "../../etc/passwd": want 1 to 64 letters, digits, '-' or '_'`}},
		{"missing queue", flowWith("  a: {queue: burgerzaken}\n"), []string{`t.yaml:6:14: node "a": queue "burgerzaken" does not exist; add it to the routing queues or fix the name`}},
		{"topic without queue", flowWith("  a: {play: [welkom], topic: Paspoort}\n"),
			[]string{`t.yaml:6:30: node "a": topic belongs to a queue node`}},
		{"topic with a line break", flowWith("  a: {queue: paspoort, topic: \"Pas\\r\\nX-Evil: 1\"}\n"),
			[]string{`t.yaml:6:31: node "a": topic "Pas\r\nX-Evil: 1": contains a control character, quote or backslash`}},
		{"topic too long", flowWith("  a: {queue: paspoort, topic: " + strings.Repeat("x", 65) + "}\n"),
			[]string{`t.yaml:6:31: node "a": topic "` + strings.Repeat("x", 65) + `": longer than 64 bytes`}},
		{"error in inline node", flowWith("  a: {menu: {prompt: hoofdmenu, options: {\"1\": {queue: paspoort, next: b}}}}\n"),
			[]string{`t.yaml:6:72: inline node "a/1": next: no node named "b"`}},
		{"loop without input", flowWith("  a: {goto: b}\n  b: {set: {language: en}, next: a}\n"),
			[]string{`t.yaml:6:3: nodes a -> b -> a loop without waiting for the caller; put a play, menu or input in the loop`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("t.yaml", []byte(tt.src), builtinChecker())
			if err == nil {
				t.Fatalf("Load succeeded (program %q), want errors %q", p.Name(), tt.want)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n got  %q\n want %q", got, tt.want)
			}
			var prob Problem
			if !errors.As(err, &prob) {
				t.Errorf("errors.As(err, *Problem) = false for %v", err)
			}
		})
	}
}

func TestLoadTooBig(t *testing.T) {
	src := make([]byte, maxSource+1)
	_, err := Load("big.yaml", src, nil)
	if got, want := err.Error(), "big.yaml: file is 1048577 bytes; a flow file may have at most 1048576"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}

// TestLoadLimits checks that hostile files cost bounded work and give a
// bounded, clear answer.
func TestLoadLimits(t *testing.T) {
	manyNodes := func(n int, next string) string {
		var b strings.Builder
		b.WriteString(flowWith(""))
		for i := range n {
			fmt.Fprintf(&b, "  n%d: {play: [welkom], next: %s%d}\n", i, next, i)
		}
		return b.String()
	}
	tests := []struct {
		name      string
		src       string
		wantLines int
		wantLast  string
	}{
		{"too many nodes", manyNodes(maxNodes+5, "n"), 1, `t.yaml:1006:10: node "n1000": more than 1000 nodes in one flow; split the flow`},
		{"too many problems", manyNodes(150, "missing"), maxProblems + 1, "t.yaml: 51 more problems not shown"},
		{"deep YAML", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), 1, "t.yaml:1: bad YAML: exceeded max depth of 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tt.src), builtinChecker())
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != tt.wantLines {
				t.Errorf("got %d problems, want %d", len(lines), tt.wantLines)
			}
			if got := lines[len(lines)-1]; got != tt.wantLast {
				t.Errorf("last problem = %q, want %q", got, tt.wantLast)
			}
		})
	}
}

// TestBadFlowGolden checks the complete error list of a flow with many
// mistakes, as "kcc flow validate" would print it.
func TestBadFlowGolden(t *testing.T) {
	for _, name := range []string{"bad-parse.yaml", "bad-compile.yaml"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "flows", name))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(name, src, builtinChecker())
			if err == nil {
				t.Fatal("Load succeeded, want errors")
			}
			golden(t, filepath.Join("flows", strings.TrimSuffix(name, ".yaml")+".golden"), []byte(err.Error()+"\n"))
		})
	}
}

func TestWarnings(t *testing.T) {
	sixOptions := `  a:
    menu:
      prompt: hoofdmenu
      options: {"1": b, "2": b, "3": b, "4": b, "5": b, "6": b}
  b: {hangup: normal}
`
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unreachable", flowWith("  a: {hangup: normal}\n  weg: {play: [welkom], next: a}\n"),
			[]string{`t.yaml:7:3: node "weg" is never reached from start; remove it or lead to it`}},
		{"never left", flowWith("  a: {play: [welkom], next: b}\n  b:\n    menu: {prompt: hoofdmenu, options: {\"1\": b}, exhausted: b}\n"), []string{
			`t.yaml:6:3: node "a" can never be left: no path from it reaches a queue, a hangup or the end of the flow`,
			`t.yaml:7:3: node "b" can never be left: no path from it reaches a queue, a hangup or the end of the flow`,
		}},
		{"menu over five options", flowWith(sixOptions),
			[]string{`t.yaml:7:5: node "a": menu has 6 options; callers remember at most 5, so split it into submenus`}},
		{"long prompt", flowWith("  a: {play: [lang, lang]}\n"), []string{
			`t.yaml:6:14: node "a": play: prompt "lang" is not recorded in en (callers hear nl)`,
			`t.yaml:6:14: node "a": play: prompt "lang" is long (45s in nl); keep prompts under 30s, callers hang up on long announcements`,
		}},
		{"prompt only in the fallback language", flowWith("  a: {play: [alleen-nl]}\n"),
			[]string{`t.yaml:6:14: node "a": play: prompt "alleen-nl" is not recorded in en (callers hear nl)`}},
		{"variable read before set on one path", flowWith(`  a:
    menu:
      prompt: hoofdmenu
      options: {"1": vraag, "2": zeg}
  vraag:
    input: {prompt: geef-zaaknummer, var: zaak}
    next: zeg
  zeg: {play: [uw-zaaknummer, {say: digits, var: zaak}]}
`), []string{`t.yaml:13:50: variable "zaak" may be read before it is set (it then reads as empty); set it on every path, or give it a value under vars`}},
		{"variable set on every path", flowWith(`  a: {set: {zaak: "1"}, next: b}
  b:
    branch:
      cases: [{var: zaak, equals: "1", next: c}]
      default: c
  c: {hangup: normal}
`), nil},
		{"variable declared", "flow: t\nnumbers: [\"1\"]\nlanguages: [nl]\nstart: a\nvars: {zaak: \"\"}\nnodes:\n  a: {play: [{say: digits, var: zaak}]}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("t.yaml", []byte(tt.src), builtinChecker())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range p.Warnings() {
				got = append(got, w.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Warnings():\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestCompileWithoutChecker(t *testing.T) {
	src := flowWith("  a: {play: [onbekend], next: b}\n  b: {queue: onbekend}\n")
	if _, err := Load("t.yaml", []byte(src), nil); err != nil {
		t.Errorf("Load with nil Checker: %v, want no error (prompts and queues unchecked)", err)
	}
}

func TestCompileNil(t *testing.T) {
	if _, err := Compile(nil, nil); err == nil {
		t.Error("Compile(nil) succeeded, want an error")
	}
}

func TestPosString(t *testing.T) {
	tests := []struct {
		name string
		pos  Pos
		want string
	}{
		{"full", Pos{File: "f.yaml", Line: 3, Col: 7}, "f.yaml:3:7"},
		{"line only", Pos{File: "f.yaml", Line: 3}, "f.yaml:3"},
		{"file only", Pos{File: "f.yaml"}, "f.yaml"},
		{"nothing", Pos{}, "<flow>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pos.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScheduleAlias(t *testing.T) {
	src := "flow: t\nnumbers: [\"1\"]\nlanguages: [nl]\nstart: a\nschedules:\n  k: {timezone: Europe/Amsterdam, weekly: {mon: &r \"08:00-09:00\", tue: *r}}\nnodes:\n  a: {hours: k, open: b, closed: b}\n  b: {hangup: normal}\n"
	_, err := Load("t.yaml", []byte(src), nil)
	want := `t.yaml:6:72: schedule "k": YAML aliases (*r) are not supported; write the value out`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}
