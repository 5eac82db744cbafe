package ari

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// timeLayouts are tried in order. Asterisk writes "2026-11-27T08:28:44.740+0000":
// RFC 3339 but for the colon-less offset, so time.RFC3339 rejects it.
// Fractional seconds need no layout entry: Go accepts them after the
// seconds field when parsing.
var timeLayouts = [...]string{
	"2006-01-02T15:04:05Z0700",
	time.RFC3339,
}

// ParseTime parses a timestamp as Asterisk writes it in events and
// resources ("2026-11-27T08:28:44.740+0000"); RFC 3339 is accepted too.
// A zero offset yields a time in time.UTC.
func ParseTime(s string) (time.Time, error) {
	var first error
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			if _, off := t.Zone(); off == 0 {
				// time.Parse may pick Local for a zero offset; UTC keeps
				// results comparable.
				t = t.UTC()
			}
			return t, nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, fmt.Errorf("parse asterisk time %q: %w", truncate(s, 64), first)
}

// timestamp decodes Asterisk's time format from JSON. An empty string or
// null is the zero time, since Asterisk omits times it does not know.
type timestamp time.Time

func (t *timestamp) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("asterisk time: %w", err)
	}
	if s == "" {
		*t = timestamp{}
		return nil
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = timestamp(v)
	return nil
}

// truncate shortens untrusted text before it goes into an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
