package sip

import (
	"context"
	"log/slog"

	"github.com/rs/zerolog"
)

// zerologHandler sends sipgo's log/slog output into kcc's zerolog logger, so
// one JSON stream carries everything. sipgo logs whole packets when parsing
// fails; long values are cut so that a flood of garbage cannot flood the log.
type zerologHandler struct {
	log   zerolog.Logger
	attrs []slog.Attr
	group string
}

const maxLoggedValue = 256

func newSlog(log zerolog.Logger) *slog.Logger {
	return slog.New(&zerologHandler{log: log})
}

func (h *zerologHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.GetLevel() <= zlevel(l)
}

func (h *zerologHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(zlevel(r.Level))
	add := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		v := a.Value.Resolve().String()
		if len(v) > maxLoggedValue {
			v = v[:maxLoggedValue] + "…"
		}
		ev = ev.Str(key, v)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	ev.Msg(r.Message)
	return nil
}

func (h *zerologHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &n
}

func (h *zerologHandler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}

func zlevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.InfoLevel
	default:
		return zerolog.DebugLevel
	}
}
