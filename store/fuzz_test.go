package store

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseQueueLogLine feeds the parser that `kcc import queue_log` will use
// on files from other systems. It must never panic; a line it accepts must
// format and parse back to the same entry, and a valid-UTF-8 line as
// Asterisk writes it (header ending in "|", epoch without leading zeros)
// must format back to itself.
func FuzzParseQueueLogLine(f *testing.F) {
	for _, e := range scriptedQueueLog() {
		f.Add(e.Line())
	}
	for _, s := range []string{
		"", "|", "||||", "1|||||", "1|c|q|a|E", "1|c|q|a|E|\r\n", "x|c|q|a|E|", "1|c|q|a||",
		"99999999999|c|q|a|E|a|b", "1|c|q|a|E|J\xfcri", "1|c|q|a|E|\x00", "1|c|q|a|E|" + strings.Repeat("|", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseQueueLogLine(line)
		if err != nil {
			return
		}
		again, err := ParseQueueLogLine(e.Line())
		if err != nil {
			t.Fatalf("reparse of %q: %v", e.Line(), err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("reparse = %+v, want %+v", again, e)
		}
		trimmed := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		canonicalEpoch := !strings.HasPrefix(trimmed, "0") || strings.HasPrefix(trimmed, "0|") // "007" reads as 7
		if utf8.ValidString(trimmed) && canonicalEpoch && strings.Count(trimmed, "|") >= 5 && e.Line() != trimmed {
			t.Fatalf("Line() = %q, want the input %q", e.Line(), trimmed)
		}
	})
}
