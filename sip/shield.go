package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// verdict is the shield's judgement of a request: respond with code and
// reason, or drop silently when code is 0 and drop is set.
type verdict struct {
	code        int
	reason      string
	drop        bool
	unsupported string // for 420: the Require options we lack
}

// check is the sanity shield every request passes before any handler runs
// (the equivalent of Kamailio's sanity_check; research/reliability.md S2). A
// handler may therefore rely on From, To, Call-ID, CSeq and Via being there.
func check(req *sipmsg.Request) (verdict, bool) {
	if req.Via() == nil {
		return verdict{drop: true}, false // nowhere to send an answer
	}
	if req.SipVersion != "SIP/2.0" {
		return verdict{code: 505, reason: "Version Not Supported"}, false
	}
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return verdict{code: 400, reason: "Missing Mandatory Header"}, false
	}
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return verdict{code: 400, reason: "CSeq Method Mismatch"}, false
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 && req.Method != sipmsg.OPTIONS {
		return verdict{code: 483, reason: "Too Many Hops"}, false
	}
	if !req.IsAck() && !req.IsCancel() {
		if u := unsupportedRequire(req); u != "" {
			return verdict{code: 420, reason: "Bad Extension", unsupported: u}, false
		}
	}
	return verdict{}, true
}

// shielded wraps a handler with the sanity shield and a panic guard: one bad
// request must never take the process down (reliability.md §0a).
func (s *Server) shielded(h func(*sipmsg.Request, sipmsg.ServerTransaction)) func(*sipmsg.Request, sipmsg.ServerTransaction) {
	return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error().Interface("panic", p).Str("method", string(req.Method)).Str("source", req.Source()).
					Msg("request handler panicked")
			}
		}()
		if v, ok := check(req); !ok {
			if v.drop || req.IsAck() {
				return
			}
			res := sipmsg.NewResponseFromRequest(req, v.code, v.reason, nil)
			res.SipVersion = "SIP/2.0" // also when answering SIP/7.0 with 505
			if v.unsupported != "" {
				res.AppendHeader(sipmsg.NewHeader("Unsupported", v.unsupported))
			}
			if err := tx.Respond(res); err != nil {
				s.log.Debug().Err(err).Int("code", v.code).Msg("shield response")
			}
			return
		}
		h(req, tx)
	}
}

func (s *Server) respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug().Err(err).Int("code", code).Str("method", string(req.Method)).Msg("respond")
	}
}
