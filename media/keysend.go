package media

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"kcc/call"
)

// keyQueue bounds the keys waiting to be sent on one session; a bridge
// regenerates at human typing speed, so more means something is wrong.
const keyQueue = 16

// keyEndPackets is how often the end of an event is sent (RFC 4733
// §2.5.1.4: the final packet is retransmitted, three times in total).
const keyEndPackets = 3

// keyGapFrames is the pause after a key before the next one starts, so the
// far end (in-band detectors above all) sees two presses of "11".
const keyGapFrames = 3

// keyVolume is the power level written in sent events, in -dBm0 (RFC 4733
// §2.3.4), and the level of each generated in-band tone.
const keyVolume = 10

// keyReq is one key to send. done, if set, gets the result (capacity 1).
type keyReq struct {
	event uint8 // RFC 4733 event code
	done  chan error
}

// keySender sends keys as RFC 4733 events on the session's grid, or as
// dual tones when the remote did not negotiate telephone-event. It is
// guarded by the owning session's mu; the pacer drives it.
type keySender struct {
	queue [keyQueue]keyReq
	head  int
	n     int

	cur    keyReq
	on     bool   // cur is being sent
	inBand bool   // cur goes out as a tone
	frame  int    // frames of cur sent so far
	ts     uint32 // the event's RTP timestamp
	gap    int    // frames of normal audio left before the next key

	payload [telephoneEventSize]byte
	pcm     [FrameSamples]int16
	tone    [FrameSamples]byte
}

func (k *keySender) pending() bool { return k.on || k.n > 0 }

func (k *keySender) push(r keyReq) bool {
	if k.n == keyQueue {
		return false
	}
	k.queue[(k.head+k.n)%keyQueue] = r
	k.n++
	return true
}

// cancel removes a queued key that has not started.
func (k *keySender) cancel(done chan error) {
	for i := range k.n {
		j := (k.head + i) % keyQueue
		if k.queue[j].done != done {
			continue
		}
		for ; i < k.n-1; i++ {
			k.queue[(k.head+i)%keyQueue] = k.queue[(k.head+i+1)%keyQueue]
		}
		k.n--
		k.queue[(k.head+k.n)%keyQueue] = keyReq{}
		return
	}
}

// abort fails every key still to be sent.
func (k *keySender) abort(err error) {
	if k.on && k.cur.done != nil {
		k.cur.done <- err
	}
	k.on = false
	for ; k.n > 0; k.n-- {
		if d := k.queue[k.head].done; d != nil {
			d <- err
		}
		k.queue[k.head] = keyReq{}
		k.head = (k.head + 1) % keyQueue
	}
}

// eventCode maps a key to its RFC 4733 §3.2 event code.
func eventCode(d call.Digit) (uint8, bool) {
	for i := range len(dtmfKeys) {
		if dtmfKeys[i] == byte(d) {
			return uint8(i), true
		}
	}
	return 0, false
}

// SendDigit sends key d to the remote and returns when it was sent (about
// Config.DigitDuration plus 60 ms) or when ctx is done; a key that has
// started is still finished then, one still queued is dropped. It goes as
// an RFC 4733 event with the remote's telephone-event payload type, or as
// an in-band dual tone when the remote did not negotiate telephone-event.
// Playback pauses while the key is sent. Like Play it needs the engine
// running; errors: an invalid key, a full queue, ErrClosed.
func (s *Session) SendDigit(ctx context.Context, d call.Digit) error {
	ev, ok := eventCode(d)
	if !ok {
		return fmt.Errorf("send digit: %q is not a DTMF key", d)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	if err := s.queueKey(ev, done); err != nil {
		return fmt.Errorf("send digit: %w", err)
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("send digit: %w", err)
		}
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		s.keys.cancel(done)
		s.mu.Unlock()
		return ctx.Err()
	case <-s.e.stopped:
		return fmt.Errorf("send digit: media engine stopped: %w", ErrClosed)
	}
}

// queueKey queues a key and puts the session on its grid.
func (s *Session) queueKey(ev uint8, done chan error) error {
	s.mu.Lock()
	var err error
	switch {
	case s.isClosed:
		err = ErrClosed
	case !s.keys.push(keyReq{event: ev, done: done}):
		err = errors.New("key queue full")
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.sh.schedule(&s.pace)
	return nil
}

// sendKeyFrame sends the current key's next packet and reports whether it
// used this grid slot. Events: progress packets with a growing duration
// (the first with the marker bit), then the end packet three times, all
// with the event's one timestamp (RFC 4733 §2.5.1). Tones: plain audio
// frames. s.mu must be held.
func (s *Session) sendKeyFrame(now time.Time) bool {
	k := &s.keys
	if !k.on {
		if k.gap > 0 {
			k.gap--
			return false
		}
		if k.n == 0 {
			return false
		}
		k.cur = k.queue[k.head]
		k.queue[k.head] = keyReq{}
		k.head = (k.head + 1) % keyQueue
		k.n--
		k.on, k.frame = true, 0
		s.keyBusy.Store(true)
	}
	frames := s.e.keyFrames
	tx := &s.tx
	tx.mu.Lock()
	if k.frame == 0 {
		k.inBand = tx.tePT == noPT
		k.ts = tx.ts + s.samples
		if tx.lastSent.IsZero() || now.Sub(tx.lastSent) > s.e.ptime*3/2 {
			k.ts = tx.talkspurtTS(now, s.e.clockRate(), s.samples)
		}
	}
	// Keys stay on the relayed timeline (the relay's offset is kept): the
	// remote's audio, suppressed meanwhile, advanced just as far.
	media := k.ts + uint32(k.frame)*s.samples
	total := frames + keyEndPackets
	if k.inBand {
		total = frames
	}
	if k.frame == total-1 {
		// Relayed audio may flow again once the last packet is out.
		s.keyBusy.Store(false)
	}
	if k.inBand {
		dtmfTone(k.pcm[:], k.cur.event, k.frame*FrameSamples, keyVolume)
		tx.codec.Encode(k.tone[:], k.pcm[:])
		s.write(now, tx.pt, k.frame == 0, media, media, k.tone[:], nil)
	} else {
		dur := min(k.frame+1, frames) * int(s.samples)
		p := &k.payload
		p[0] = k.cur.event
		p[1] = keyVolume
		if k.frame >= frames {
			p[1] |= 0x80 // E bit
		}
		p[2], p[3] = byte(dur>>8), byte(dur)
		s.write(now, uint8(tx.tePT), k.frame == 0, k.ts, media, p[:], nil)
	}
	tx.mu.Unlock()
	k.frame++
	if k.frame == total {
		k.on = false
		k.gap = keyGapFrames
		s.stats.digitsSent.Add(1)
		if k.cur.done != nil {
			k.cur.done <- nil
		}
		k.cur = keyReq{}
	}
	return true
}

// DTMF frequencies (ITU-T Q.23) and the keypad they encode.
var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
)

const dtmfKeypad = "123A456B789C*0#D"

// toneOf returns the row and column of an event code's key.
func toneOf(event uint8) (row, col int) {
	i := indexByte(dtmfKeypad, dtmfKeys[event&0x0F])
	return i / 4, i % 4
}

func indexByte(s string, b byte) int {
	for i := range len(s) {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// dtmfTone writes the dual tone of event into dst, starting at sample
// offset start of the tone so frames join without a phase jump; each of the
// two tones has a power of -level dBm0.
func dtmfTone(dst []int16, event uint8, start int, level int) {
	row, col := toneOf(event)
	// 0 dBm0 is a sine of peak 22772 in G.711 linear terms (G.711 §2).
	amp := 22772 * math.Pow(10, -float64(level)/20)
	wr := 2 * math.Pi * dtmfRows[row] / 8000
	wc := 2 * math.Pi * dtmfCols[col] / 8000
	for i := range dst {
		n := float64(start + i)
		dst[i] = int16(amp*math.Sin(wr*n) + amp*math.Sin(wc*n))
	}
}
