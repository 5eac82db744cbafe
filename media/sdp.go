package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Bounds on untrusted SDP. A real offer is well under 4 KiB with a handful of
// m= lines; anything beyond these is refused before or right after parsing.
const (
	maxSDPSize      = 32 << 10
	maxMediaStreams = 32
)

// telephoneEventFmtp is the event range kcc advertises: the 16 DTMF keys and
// flash (RFC 4733 §3.2). Other events are ignored if received.
const telephoneEventFmtp = "0-16"

// telephoneEventPT is the payload type kcc offers for telephone-event.
const telephoneEventPT = 101

// noPT marks an absent payload type.
const noPT = -1

// direction is an SDP media direction attribute (RFC 3264 §5.1).
type direction uint8

const (
	sendrecv direction = iota
	sendonly
	recvonly
	inactive
)

func (d direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

// reverse maps the remote's direction to ours (RFC 3264 §6.1).
func (d direction) reverse() direction {
	switch d {
	case sendonly:
		return recvonly
	case recvonly:
		return sendonly
	}
	return d
}

func (d direction) sends() bool { return d == sendrecv || d == sendonly }

// remoteStream is what kcc takes from the one audio stream it uses of a
// remote SDP, offer or answer.
type remoteStream struct {
	index  int            // position of the m= line
	codec  Codec          // canonical PCMA or PCMU
	pt     uint8          // payload type the remote uses for codec
	tePT   int            // telephone-event/8000 payload type, or noPT
	remote netip.AddrPort // from c= and m=; unspecified address for "hold" (0.0.0.0)
	dir    direction      // the remote's direction

	// Every G.711 payload type of the stream, so a later offer can keep the
	// codec in use (noPT when absent), and the one listed first, which an
	// answer to OfferAll chose.
	pcmaPT, pcmuPT int
	first          Codec
}

// holds reports whether the remote puts kcc on hold with this stream:
// sendonly or inactive (RFC 3264 §8.4), or the RFC 2543 c=0.0.0.0.
func (rs remoteStream) holds() bool {
	return rs.dir == sendonly || rs.dir == inactive || rs.remote.Addr().IsUnspecified()
}

// use switches rs to codec c if the stream offers it.
func (rs *remoteStream) use(c Codec) bool {
	pt := rs.pcmaPT
	if c == PCMU {
		pt = rs.pcmuPT
	}
	if pt == noPT {
		return false
	}
	rs.codec, rs.pt = c, uint8(pt)
	return true
}

// answerDirection is kcc's direction in an answer to rs: the reverse of the
// remote's, without sending when the remote gave no address to send to.
func (rs remoteStream) answerDirection() direction {
	d := rs.dir.reverse()
	if rs.remote.Addr().IsUnspecified() {
		switch d {
		case sendrecv:
			d = recvonly
		case sendonly:
			d = inactive
		}
	}
	return d
}

// parseSDP parses untrusted SDP with pion/sdp within kcc's size bounds.
// pion is fuzzed upstream, but a panic here would take down the SIP edge,
// so it is turned into ErrBadSDP.
func parseSDP(b []byte) (sd *sdp.SessionDescription, err error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadSDP)
	}
	if len(b) > maxSDPSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrBadSDP, len(b), maxSDPSize)
	}
	defer func() {
		if r := recover(); r != nil {
			sd, err = nil, fmt.Errorf("%w: parser panic: %v", ErrBadSDP, r)
		}
	}()
	sd = new(sdp.SessionDescription)
	if err := sd.UnmarshalString(string(b)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	if n := len(sd.MediaDescriptions); n > maxMediaStreams {
		return nil, fmt.Errorf("%w: %d media streams exceeds %d", ErrBadSDP, n, maxMediaStreams)
	}
	return sd, nil
}

// chooseStream returns the first usable audio stream of sd (kcc takes one
// stream; RFC 3264 lets it refuse the rest), with PCMA preferred over PCMU
// within it. It returns ErrNoCodec, saying why each stream was refused, when
// none is usable, and ErrBadSDP when the stream it would use is malformed.
func chooseStream(sd *sdp.SessionDescription) (remoteStream, error) {
	var reasons []string
	for i, md := range sd.MediaDescriptions {
		rs, why, err := usableStream(sd, md)
		if err != nil {
			return remoteStream{}, fmt.Errorf("m= line %d: %w", i, err)
		}
		if why != "" {
			reasons = append(reasons, fmt.Sprintf("m= line %d: %s", i, why))
			continue
		}
		rs.index = i
		return rs, nil
	}
	if len(reasons) == 0 {
		return remoteStream{}, fmt.Errorf("%w: no m= line", ErrNoCodec)
	}
	return remoteStream{}, fmt.Errorf("%w (%s)", ErrNoCodec, strings.Join(reasons, "; "))
}

// usableStream checks one m= line. why is non-empty when the stream is
// valid but not for kcc; err is set when it is invalid SDP.
func usableStream(sd *sdp.SessionDescription, md *sdp.MediaDescription) (rs remoteStream, why string, err error) {
	mn := md.MediaName
	switch {
	case mn.Media != "audio":
		return rs, mn.Media + " stream", nil
	case mn.Port.Value == 0:
		return rs, "disabled (port 0)", nil
	case strings.Join(mn.Protos, "/") != "RTP/AVP":
		return rs, "transport " + strings.Join(mn.Protos, "/") + " is not RTP/AVP", nil
	case mn.Port.Range != nil && *mn.Port.Range != 1:
		return rs, "port ranges are not supported", nil
	}
	codecs := streamCodecs(md)
	rs.tePT, rs.pcmaPT, rs.pcmuPT = noPT, noPT, noPT
	for _, f := range mn.Formats {
		pt, ok := parsePT(f)
		if !ok {
			continue
		}
		enc := codecs[pt]
		switch {
		case enc.is("PCMA", 8000) && rs.pcmaPT == noPT:
			rs.pcmaPT = int(pt)
			if rs.first == (Codec{}) {
				rs.first = PCMA
			}
		case enc.is("PCMU", 8000) && rs.pcmuPT == noPT:
			rs.pcmuPT = int(pt)
			if rs.first == (Codec{}) {
				rs.first = PCMU
			}
		case enc.is("telephone-event", 8000) && rs.tePT == noPT:
			rs.tePT = int(pt)
		}
	}
	if !rs.use(PCMA) && !rs.use(PCMU) {
		return rs, "offers neither PCMA nor PCMU", nil
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return rs, "", fmt.Errorf("%w: audio stream without c= line", ErrBadSDP)
	}
	if ci.AddressType != "IP4" {
		return rs, "address type " + ci.AddressType + " is not supported (IPv4 only)", nil
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL/count
	addr, perr := netip.ParseAddr(host)
	switch {
	case perr != nil:
		return rs, fmt.Sprintf("connection address %q is not an IPv4 address", ci.Address.Address), nil
	case !addr.Is4():
		return rs, fmt.Sprintf("connection address %s is not IPv4", addr), nil
	case addr.IsMulticast():
		return rs, "multicast is not supported", nil
	}
	rs.remote = netip.AddrPortFrom(addr, uint16(mn.Port.Value))
	rs.dir = streamDirection(sd, md)
	return rs, "", nil
}

// encoding is an rtpmap encoding name and clock rate.
type encoding struct {
	name string
	rate uint64
}

func (e encoding) is(name string, rate uint64) bool {
	return strings.EqualFold(e.name, name) && e.rate == rate
}

// streamCodecs maps the payload types of one m= line to encodings: the
// static ones of RFC 3551 that kcc knows, overridden by a=rtpmap lines.
func streamCodecs(md *sdp.MediaDescription) map[uint8]encoding {
	m := map[uint8]encoding{
		PCMU.PayloadType: {"PCMU", 8000},
		PCMA.PayloadType: {"PCMA", 8000},
	}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		// a=rtpmap:<pt> <name>/<rate>[/<channels>]
		ptStr, rest, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		pt, ok := parsePT(ptStr)
		if !ok {
			continue
		}
		parts := strings.Split(strings.TrimSpace(rest), "/")
		if len(parts) < 2 || len(parts) > 3 {
			continue
		}
		rate, err := strconv.ParseUint(parts[1], 10, 32)
		if err != nil {
			continue
		}
		if len(parts) == 3 && parts[2] != "1" {
			m[pt] = encoding{} // multi-channel: not usable
			continue
		}
		m[pt] = encoding{name: parts[0], rate: rate}
	}
	return m
}

func parsePT(s string) (uint8, bool) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n > 127 {
		return 0, false
	}
	return uint8(n), true
}

// streamDirection reads the direction of md, falling back to the session
// level and then to sendrecv (RFC 4566 §6).
func streamDirection(sd *sdp.SessionDescription, md *sdp.MediaDescription) direction {
	if d, ok := directionOf(md.Attributes); ok {
		return d
	}
	if d, ok := directionOf(sd.Attributes); ok {
		return d
	}
	return sendrecv
}

func directionOf(attrs []sdp.Attribute) (direction, bool) {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv":
			return sendrecv, true
		case "sendonly":
			return sendonly, true
		case "recvonly":
			return recvonly, true
		case "inactive":
			return inactive, true
		}
	}
	return sendrecv, false
}

// localStream describes the one audio stream kcc puts in its own SDP.
type localStream struct {
	port  int
	codec Codec // canonical codec, for the rtpmap name
	pt    uint8 // payload type written for it
	tePT  int   // telephone-event payload type, or noPT
	dir   direction
	// also is a second codec listed after codec (under its static payload
	// type) in offers that let the answerer pick the law; zero: none.
	also Codec
}

// sessionSDP returns the session-level part of kcc's SDP (RFC 4566 §5).
func sessionSDP(addr netip.Addr, id, version uint64) *sdp.SessionDescription {
	return &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "kcc",
			SessionID:      id,
			SessionVersion: version,
			NetworkType:    "IN",
			AddressType:    "IP4",
			UnicastAddress: addr.String(),
		},
		SessionName: "kcc",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: "IP4",
			Address:     &sdp.Address{Address: addr.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
}

func audioMedia(ls localStream) *sdp.MediaDescription {
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: ls.port},
			Protos: []string{"RTP", "AVP"},
		},
	}
	md.WithCodec(ls.pt, ls.codec.Name, ls.codec.ClockRate, 0, "")
	if ls.also.Name != "" {
		md.WithCodec(ls.also.PayloadType, ls.also.Name, ls.also.ClockRate, 0, "")
	}
	if ls.tePT != noPT {
		md.WithCodec(uint8(ls.tePT), "telephone-event", 8000, 0, telephoneEventFmtp)
	}
	md.WithValueAttribute("ptime", strconv.Itoa(int(DefaultPTime.Milliseconds())))
	md.WithPropertyAttribute(ls.dir.String())
	return md
}

// buildAnswer answers every offered m= line in order (RFC 3264 §6): the
// chosen one with ls, every other one refused with port 0 and its offered
// formats.
func buildAnswer(offer *sdp.SessionDescription, chosen int, ls localStream, addr netip.Addr, id, version uint64) ([]byte, error) {
	sd := sessionSDP(addr, id, version)
	for i, om := range offer.MediaDescriptions {
		if i == chosen {
			sd.MediaDescriptions = append(sd.MediaDescriptions, audioMedia(ls))
			continue
		}
		sd.MediaDescriptions = append(sd.MediaDescriptions, &sdp.MediaDescription{
			MediaName: sdp.MediaName{
				Media:   om.MediaName.Media,
				Port:    sdp.RangedPort{Value: 0},
				Protos:  om.MediaName.Protos,
				Formats: om.MediaName.Formats,
			},
		})
	}
	b, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal sdp answer: %w", err)
	}
	return b, nil
}

func buildOffer(ls localStream, addr netip.Addr, id uint64) ([]byte, error) {
	sd := sessionSDP(addr, id, id)
	sd.MediaDescriptions = []*sdp.MediaDescription{audioMedia(ls)}
	b, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal sdp offer: %w", err)
	}
	return b, nil
}

// parseAnswer reads the remote answer to an offer kcc made with exactly one
// audio stream of codec c. With anyG711 (the late offer listed both laws),
// the answer's first PCMA or PCMU is taken.
func parseAnswer(b []byte, c Codec, anyG711 bool) (remoteStream, error) {
	sd, err := parseSDP(b)
	if err != nil {
		return remoteStream{}, err
	}
	if n := len(sd.MediaDescriptions); n != 1 {
		return remoteStream{}, fmt.Errorf("%w: answer has %d m= lines, offer had 1", ErrBadSDP, n)
	}
	rs, err := chooseStream(sd)
	if err != nil {
		return remoteStream{}, err
	}
	if anyG711 {
		rs.use(rs.first)
		return rs, nil
	}
	if rs.codec != c && !rs.use(c) {
		return remoteStream{}, fmt.Errorf("%w: answer chose %s, offer had only %s", ErrNoCodec, rs.codec.Name, c.Name)
	}
	return rs, nil
}
