package media

import (
	"context"
	"sync"
	"time"
)

// pacedSender is something a shard sends for on a fixed period. tick sends
// one frame and reports whether more frames follow; it is called from the
// shard goroutine only, never concurrently with itself.
type pacedSender interface {
	tick(now time.Time) (more bool)
}

// paceState is where a paceItem is in its shard.
type paceState uint8

const (
	paceIdle     paceState = iota // not scheduled
	paceQueued                    // in the heap
	paceInFlight                  // popped, tick running
)

// paceItem is one sender's slot in a shard. It is embedded in its owner
// (a Session) so scheduling does not allocate; all fields are guarded by the
// shard's mutex.
type paceItem struct {
	s      pacedSender
	due    time.Time // absolute deadline of the next frame
	idx    int       // heap index while queued
	state  paceState
	rearm  bool          // schedule was called while in flight
	period time.Duration // between ticks; zero means the shard's (ptime)
}

// shard is one pacer goroutine's share of the sessions. Deadlines are
// absolute (due += period): a session's frames stay on its own 20 ms grid
// however late the shard wakes. A session more than a period behind skips
// grid points instead of bursting, so under overload streams slow down
// evenly rather than flood the peer's jitter buffer.
type shard struct {
	period time.Duration

	mu   sync.Mutex
	heap []*paceItem
	wake chan struct{} // capacity 1: "the earliest deadline may have changed"
}

func newShard(period time.Duration) *shard {
	return &shard{period: period, wake: make(chan struct{}, 1)}
}

// schedule makes it due now, unless it is already scheduled, in which case it
// keeps its place on the grid (a replaced playback continues the cadence).
func (sh *shard) schedule(it *paceItem) {
	sh.mu.Lock()
	switch it.state {
	case paceIdle:
		it.due = time.Now()
		it.state = paceQueued
		sh.push(it)
	case paceInFlight:
		it.rearm = true
	}
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// scheduleAfter queues an idle item to tick first after d (RTCP reports,
// whose phase is random). An item already scheduled is left alone.
func (sh *shard) scheduleAfter(it *paceItem, d time.Duration) {
	sh.mu.Lock()
	if it.state == paceIdle {
		it.due = time.Now().Add(d)
		it.state = paceQueued
		sh.push(it)
	}
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// cancel takes a queued item out of the heap, so a closed session is not
// kept reachable until its next deadline. An item in flight is left to its
// tick, which reports that it is done.
func (sh *shard) cancel(it *paceItem) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if it.state != paceQueued {
		return
	}
	i, last := it.idx, len(sh.heap)-1
	if i != last {
		sh.swap(i, last)
	}
	sh.heap[last] = nil
	sh.heap = sh.heap[:last]
	if i != last {
		sh.down(i)
		sh.up(i)
	}
	it.idx, it.state = -1, paceIdle
}

// run sends due frames until ctx is done.
func (sh *shard) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*paceItem
	for {
		now := time.Now()
		due = due[:0]
		sh.mu.Lock()
		for len(sh.heap) > 0 && !sh.heap[0].due.After(now) {
			it := sh.pop()
			it.state = paceInFlight
			it.rearm = false
			due = append(due, it)
		}
		sh.mu.Unlock()

		for _, it := range due {
			more := it.s.tick(now)
			sh.mu.Lock()
			if more || it.rearm {
				sh.requeue(it, now)
			} else {
				it.state = paceIdle
			}
			sh.mu.Unlock()
		}
		clear(due) // do not keep finished sessions reachable

		sh.mu.Lock()
		var wait time.Duration = -1
		if len(sh.heap) > 0 {
			wait = max(sh.heap[0].due.Sub(time.Now()), 0)
		}
		sh.mu.Unlock()

		if wait == 0 {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-sh.wake:
		}
	}
}

// requeue puts it back on its grid: the next deadline after now, never a
// past one (that would send two frames back to back). Called with sh.mu held.
func (sh *shard) requeue(it *paceItem, now time.Time) {
	period := sh.period
	if it.period > 0 {
		period = it.period
	}
	next := it.due.Add(period)
	if !next.After(now) {
		behind := now.Sub(next)/period + 1
		next = next.Add(behind * period)
	}
	it.due = next
	it.state = paceQueued
	it.rearm = false
	sh.push(it)
}

// A binary min-heap on due, hand-written so it neither boxes nor allocates.

func (sh *shard) push(it *paceItem) {
	it.idx = len(sh.heap)
	sh.heap = append(sh.heap, it)
	sh.up(it.idx)
}

func (sh *shard) pop() *paceItem {
	h := sh.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[0].idx = 0
	h[last] = nil
	sh.heap = h[:last]
	if last > 0 {
		sh.down(0)
	}
	top.idx = -1
	return top
}

func (sh *shard) less(i, j int) bool { return sh.heap[i].due.Before(sh.heap[j].due) }

func (sh *shard) swap(i, j int) {
	h := sh.heap
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (sh *shard) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !sh.less(i, p) {
			return
		}
		sh.swap(i, p)
		i = p
	}
}

func (sh *shard) down(i int) {
	n := len(sh.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && sh.less(r, l) {
			m = r
		}
		if !sh.less(m, i) {
			return
		}
		sh.swap(i, m)
		i = m
	}
}
