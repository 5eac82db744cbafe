package media

import (
	"math"

	"kcc/call"
)

// In-band DTMF detection (ITU-T Q.23/Q.24) by the Goertzel algorithm, for
// legs that did not negotiate telephone-event. The audio is analysed in
// 20 ms windows (160 samples: 50 Hz resolution separates the DTMF rows)
// that advance by 10 ms, so a key is judged on overlapping windows.
const (
	inbandWindow = 160
	inbandHop    = 80

	// inbandConfirm windows in a row must hold the same key: the key then
	// lasted at least about 30 ms (Q.24: keys of 40 ms must be detected,
	// those under 23 ms need not be).
	inbandConfirm = 3
	// inbandRearm windows without that key re-arm it, so "11" with a
	// normal pause gives two keys and a key held long gives one.
	inbandRearm = 2

	// inbandPurity is the share of the window's energy the two tones must
	// carry: speech, music and noise spread theirs.
	inbandPurity = 0.75
	// Twist limits in power ratios: the column (high) tone may be up to
	// 8 dB stronger than the row tone (normal twist), the row tone up to
	// 4 dB stronger than the column (reverse twist).
	inbandNormalTwist  = 6.31 // 10^(8/10)
	inbandReverseTwist = 2.51 // 10^(4/10)
	// inbandPeak: the strongest tone of a group must beat the others of
	// its group by 8 dB.
	inbandPeak = 6.31
	// inbandMinAmp is the smallest tone amplitude detected, about
	// -30 dBm0 (0 dBm0 is a peak of 22772).
	inbandMinAmp = 720
)

// goertzelCoeff holds 2·cos(2πf/8000) for the rows then the columns,
// computed once.
var goertzelCoeff = func() (c [8]float64) {
	for i, f := range dtmfRows {
		c[i] = 2 * math.Cos(2*math.Pi*f/8000)
	}
	for i, f := range dtmfCols {
		c[4+i] = 2 * math.Cos(2*math.Pi*f/8000)
	}
	return c
}()

// inbandDetector is the state of one leg's in-band detection, owned by the
// session's reader goroutine. It does not allocate.
type inbandDetector struct {
	buf [inbandWindow]float64
	n   int

	cand    call.Digit // key of the last windows, 0 for none
	count   int        // windows in a row with cand
	last    call.Digit // last key reported
	armed   bool       // last may be reported again
	quiet   int        // windows in a row without last
	started bool
}

// feed analyses one payload of codec c and returns the keys that it
// completed (at most one per 30 ms of audio, so a few per packet at most).
func (d *inbandDetector) feed(c Codec, payload []byte) (keys [4]call.Digit, n int) {
	if !d.started {
		d.started, d.armed = true, true
	}
	table := &alawToLinear
	if c.PayloadType == PCMU.PayloadType {
		table = &ulawToLinear
	}
	for _, b := range payload {
		d.buf[d.n] = float64(table[b])
		d.n++
		if d.n < inbandWindow {
			continue
		}
		if k, ok := d.window(classify(&d.buf)); ok && n < len(keys) {
			keys[n] = k
			n++
		}
		copy(d.buf[:], d.buf[inbandHop:])
		d.n = inbandWindow - inbandHop
	}
	return keys, n
}

// window advances the state machine by one window's verdict.
func (d *inbandDetector) window(k call.Digit) (call.Digit, bool) {
	if k != 0 && k == d.cand {
		d.count++
	} else {
		d.cand, d.count = k, 0
		if k != 0 {
			d.count = 1
		}
	}
	if k != d.last {
		d.quiet++
		if d.quiet >= inbandRearm {
			d.armed = true
		}
	} else {
		d.quiet = 0
	}
	if d.count >= inbandConfirm && (d.armed || d.cand != d.last) {
		d.last, d.armed, d.quiet = d.cand, false, 0
		return d.cand, true
	}
	return 0, false
}

// classify returns the key whose dual tone dominates the window, or 0.
func classify(x *[inbandWindow]float64) call.Digit {
	var p [8]float64
	var energy float64
	var s1, s2 [8]float64
	for _, v := range x {
		energy += v * v
		for i := range 8 {
			s := v + goertzelCoeff[i]*s1[i] - s2[i]
			s2[i], s1[i] = s1[i], s
		}
	}
	if energy == 0 {
		return 0
	}
	for i := range 8 {
		p[i] = s1[i]*s1[i] + s2[i]*s2[i] - goertzelCoeff[i]*s1[i]*s2[i]
	}
	row, col := strongest(p[:4]), strongest(p[4:])
	pr, pc := p[row], p[4+col]
	// A tone of amplitude A over N samples gives power (A·N/2)².
	const minPower = (inbandMinAmp * inbandWindow / 2) * (inbandMinAmp * inbandWindow / 2)
	switch {
	case pr < minPower || pc < minPower:
		return 0
	case pc > pr*inbandNormalTwist || pr > pc*inbandReverseTwist:
		return 0
	case (pr+pc)/(energy*inbandWindow/2) < inbandPurity:
		return 0
	}
	for i := range 4 {
		if (i != row && p[i]*inbandPeak > pr) || (i != col && p[4+i]*inbandPeak > pc) {
			return 0
		}
	}
	return call.Digit(dtmfKeypad[row*4+col])
}

func strongest(p []float64) int {
	best := 0
	for i := 1; i < len(p); i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}
