package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028). A carrier's SBC refreshes long calls with
// re-INVITE or UPDATE and drops calls whose refreshes stop; kcc does the same
// for calls it refreshes, and ends a call whose refresher has gone quiet.

// sessionExpires is a parsed Session-Expires header.
type sessionExpires struct {
	interval  time.Duration
	refresher string // "uac", "uas" or "" (not said)
}

// parseSessionExpires parses "1800;refresher=uac" (RFC 4028 §4).
func parseSessionExpires(v string) (sessionExpires, error) {
	var se sessionExpires
	parts := strings.Split(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || n <= 0 || n > 86400 {
		return se, fmt.Errorf("bad Session-Expires %q", v)
	}
	se.interval = time.Duration(n) * time.Second
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			val = strings.ToLower(strings.TrimSpace(val))
			if val != "uac" && val != "uas" {
				return se, fmt.Errorf("bad refresher in Session-Expires %q", v)
			}
			se.refresher = val
		}
	}
	return se, nil
}

func (se sessionExpires) String() string {
	return fmt.Sprintf("%d;refresher=%s", int(se.interval/time.Second), se.refresher)
}

// parseMinSE parses a Min-SE header ("90", params ignored).
func parseMinSE(v string) (time.Duration, error) {
	n, err := strconv.Atoi(strings.TrimSpace(strings.Split(v, ";")[0]))
	if err != nil || n <= 0 || n > 86400 {
		return 0, fmt.Errorf("bad Min-SE %q", v)
	}
	return time.Duration(n) * time.Second, nil
}

// hasOption reports whether a comma-separated option header (Supported,
// Require, Allow) of req lists tag.
func hasOption(req *sipmsg.Request, header, tag string) bool {
	for _, h := range req.GetHeaders(header) {
		for _, v := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(v), tag) {
				return true
			}
		}
	}
	return false
}

// negotiateTimer decides the session timer of a dialog from an INVITE,
// re-INVITE or UPDATE received as UAS (RFC 4028 §9). ok is false with the
// minimum we accept when the requested interval is too small (answer 422).
// A zero interval means no session timer.
func negotiateTimer(req *sipmsg.Request, want, minSE time.Duration) (se sessionExpires, ok bool, err error) {
	supported := hasOption(req, "Supported", "timer") || hasOption(req, "Require", "timer")
	if h := req.GetHeader("Session-Expires"); h != nil {
		if se, err = parseSessionExpires(h.Value()); err != nil {
			return se, false, err
		}
		if se.interval < minSE {
			return se, false, nil
		}
		if se.refresher == "" {
			se.refresher = "uas"
			if supported {
				se.refresher = "uac"
			}
		}
		return se, true, nil
	}
	if want <= 0 {
		return sessionExpires{}, true, nil
	}
	// The caller asked for nothing: we still want the call refreshed so a
	// dead caller cannot hold a line forever. Without timer support on its
	// side only we can refresh (RFC 4028 §9).
	iv := want
	if h := req.GetHeader("Min-SE"); h != nil {
		if m, err := parseMinSE(h.Value()); err == nil && m > iv {
			iv = m
		}
	}
	se = sessionExpires{interval: iv, refresher: "uas"}
	if supported {
		se.refresher = "uac"
	}
	return se, true, nil
}

// timerHeaders are the session-timer headers of our 2xx to req.
func timerHeaders(req *sipmsg.Request, se sessionExpires) []sipmsg.Header {
	hdrs := []sipmsg.Header{sipmsg.NewHeader("Supported", "timer")}
	if se.interval <= 0 {
		return hdrs
	}
	hdrs = append(hdrs, sipmsg.NewHeader("Session-Expires", se.String()))
	if hasOption(req, "Supported", "timer") || hasOption(req, "Require", "timer") {
		// Require only what the caller said it supports (RFC 4028 §9).
		hdrs = append(hdrs, sipmsg.NewHeader("Require", "timer"))
	}
	return hdrs
}

// expiryWait is how long the refresher of a session may stay quiet before we
// end it: the interval minus min(32 s, interval/3) (RFC 4028 §10).
func expiryWait(iv time.Duration) time.Duration {
	return iv - min(32*time.Second, iv/3)
}

// sessionTimer negotiates the session timer of req for the server, or
// answers req itself (400 for a bad header, 422 below our Min-SE) and
// reports false.
func (s *Server) sessionTimer(req *sipmsg.Request, tx sipmsg.ServerTransaction) (sessionExpires, bool) {
	se, fine, err := negotiateTimer(req, s.cfg.SessionExpires, s.cfg.MinSE)
	switch {
	case err != nil:
		s.respond(req, tx, 400, "Bad Session-Expires")
		return se, false
	case !fine:
		s.respond(req, tx, 422, "Session Interval Too Small",
			sipmsg.NewHeader("Min-SE", strconv.Itoa(int(s.cfg.MinSE.Seconds()))))
		return se, false
	}
	return se, true
}
