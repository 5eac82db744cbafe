package media

import (
	"bytes"
	"errors"
	"fmt"
)

// Update applies a new offer from the remote inside the dialog (re-INVITE
// or UPDATE, RFC 3264 §8) and returns kcc's answer.
//
//   - A session refresh (an offer that changes nothing for kcc) returns the
//     previous answer byte for byte, with the same o= version. When kcc's
//     SDP changes, its o= version goes up by one.
//   - A changed c= address or m= port re-latches: kcc sends to the new
//     address and takes the first packet from a new source as the latched
//     one (packets still in flight from the old source are ignored for a
//     moment).
//   - a=sendonly, a=inactive or c=0.0.0.0 (RFC 2543) from the remote put
//     kcc on hold: it answers recvonly or inactive, sends nothing, and
//     RemoteHold reports true until an offer with sendrecv or recvonly.
//   - The codec in use is kept if still offered, else the other law is
//     taken. Without PCMA or PCMU the offer fails with ErrNoCodec and the
//     session is unchanged; unparseable SDP gives ErrBadSDP.
func (s *Session) Update(offer []byte) ([]byte, error) {
	sd, err := parseSDP(offer)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	rs, err := chooseStream(sd)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	s.mu.Lock()
	switch {
	case s.isClosed:
		s.mu.Unlock()
		return nil, fmt.Errorf("update: %w", ErrClosed)
	case s.offered && !s.accepted:
		s.mu.Unlock()
		return nil, errors.New("update: kcc's own offer is still unanswered")
	}
	cur := s.rx.Load()
	rs.use(cur.codec) // else chooseStream's choice: PCMA, then PCMU
	dir := rs.answerDirection()
	ls := localStream{port: s.port, codec: rs.codec, pt: rs.pt, tePT: rs.tePT, dir: dir}
	answer, err := buildAnswer(sd, rs.index, ls, s.e.advertise, s.sdpID, s.sdpVersion)
	if err == nil && !bytes.Equal(answer, s.localSDP) {
		answer, err = buildAnswer(sd, rs.index, ls, s.e.advertise, s.sdpID, s.sdpVersion+1)
		if err == nil {
			s.sdpVersion++
			s.localSDP = answer
		}
	}
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("update: %w", err)
	}
	if next := (rxConfig{codec: rs.codec, pt: rs.pt, tePT: rs.tePT}); next != *cur {
		s.rx.Store(&next)
	}
	s.remoteHold = rs.holds()
	s.tx.mu.Lock()
	moved := !rs.remote.Addr().IsUnspecified() && rs.remote != s.tx.sdpAddr
	s.tx.mu.Unlock()
	s.setRemote(rs, dir, moved)
	s.mu.Unlock()
	if moved {
		s.log.Debug().Stringer("remote", rs.remote).Msg("remote moved: re-latching")
	}
	s.wake()
	return answer, nil
}

// RemoteHold reports whether the remote has put kcc on hold: its last offer
// or answer was sendonly, inactive or had c=0.0.0.0. kcc does not send then.
func (s *Session) RemoteHold() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remoteHold
}

// LocalSDP returns kcc's current SDP for the session: the last answer or
// offer it produced.
func (s *Session) LocalSDP() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.localSDP)
}
