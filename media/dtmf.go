package media

import (
	"encoding/binary"
	"fmt"

	"kcc/call"
)

// TelephoneEvent is one RFC 4733 §2.3 telephone-event payload.
type TelephoneEvent struct {
	Event    uint8  // event code; 0-15 are the DTMF keys (RFC 4733 §3.2)
	End      bool   // E bit: this packet reports the end of the event
	Volume   uint8  // power level in -dBm0, 0-63
	Duration uint16 // in RTP timestamp units since the event's timestamp
}

// telephoneEventSize is the size of one event in a payload (RFC 4733 §2.3).
const telephoneEventSize = 4

// DecodeTelephoneEvent decodes the first event of an RFC 4733 payload.
// Bytes beyond the first event are ignored.
func DecodeTelephoneEvent(payload []byte) (TelephoneEvent, error) {
	if len(payload) < telephoneEventSize {
		return TelephoneEvent{}, fmt.Errorf("telephone-event payload has %d bytes, want %d", len(payload), telephoneEventSize)
	}
	return TelephoneEvent{
		Event:    payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(payload[2:4]),
	}, nil
}

// dtmfKeys maps RFC 4733 §3.2 event codes 0-15 to keys.
const dtmfKeys = "0123456789*#ABCD"

// Digit returns the DTMF key of e, or false for events that are not keys
// (flash, tones, ...), which kcc ignores.
func (e TelephoneEvent) Digit() (call.Digit, bool) {
	if int(e.Event) >= len(dtmfKeys) {
		return 0, false
	}
	return call.Digit(dtmfKeys[e.Event]), true
}

// recentEvents is how many past event timestamps are remembered, so a late
// retransmission of an older event's end packet is not taken for a new key.
const recentEvents = 8

// maxSegmentDuration: an event that lasts longer than a 16-bit duration is
// sent as segments with fresh timestamps (RFC 4733 §2.5.1.3). A new
// timestamp right after a segment that reached this length continues it.
const maxSegmentDuration = 0xFFFF - 8*FrameSamples

// digitDetector turns a stream of telephone-event packets into key presses.
// An event is identified by its RTP timestamp (RFC 4733 §2.5.1.2): the key is
// reported on the first packet seen of it, so progress packets, the three
// end packets and their loss all yield exactly one digit. It is owned by one
// session's reader goroutine.
type digitDetector struct {
	ssrc   uint32
	active bool // ssrc and last are meaningful

	recent [recentEvents]uint32
	nrec   int
	pos    int

	last struct {
		ts       uint32
		event    uint8
		duration uint16
		ended    bool
	}
}

// observe feeds one packet and returns the key it starts, if any.
func (d *digitDetector) observe(ssrc, ts uint32, ev TelephoneEvent) (call.Digit, bool) {
	if !d.active || ssrc != d.ssrc {
		// A new source starts a new timestamp space.
		*d = digitDetector{ssrc: ssrc}
	} else if ts == d.last.ts {
		d.last.duration = max(d.last.duration, ev.Duration)
		d.last.ended = d.last.ended || ev.End
		return 0, false
	} else if d.seen(ts) {
		return 0, false // straggler of an older event
	}
	continues := d.active && !d.last.ended && ev.Event == d.last.event &&
		d.last.duration >= maxSegmentDuration && ts-d.last.ts-uint32(d.last.duration) <= 8*FrameSamples
	d.active = true
	d.remember(ts)
	d.last.ts, d.last.event, d.last.duration, d.last.ended = ts, ev.Event, ev.Duration, ev.End
	if continues {
		return 0, false
	}
	return ev.Digit()
}

func (d *digitDetector) seen(ts uint32) bool {
	for i := range d.nrec {
		if d.recent[i] == ts {
			return true
		}
	}
	return false
}

func (d *digitDetector) remember(ts uint32) {
	d.recent[d.pos] = ts
	d.pos = (d.pos + 1) % recentEvents
	d.nrec = min(d.nrec+1, recentEvents)
}
