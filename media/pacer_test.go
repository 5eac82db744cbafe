package media

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeSender records when the shard ticked it.
type fakeSender struct {
	mu     sync.Mutex
	ticks  []time.Time
	frames int           // frames to send; tick reports more while > 0
	stall  time.Duration // simulated work on the tick with index stallAt
	stallN int
}

func (f *fakeSender) tick(now time.Time) bool {
	f.mu.Lock()
	f.ticks = append(f.ticks, now)
	f.frames--
	more := f.frames > 0
	stall := len(f.ticks) == f.stallN
	f.mu.Unlock()
	if stall {
		time.Sleep(f.stall) // fake time inside the bubble: makes the shard late
	}
	return more
}

func (f *fakeSender) offsets(start time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Duration, len(f.ticks))
	for i, t := range f.ticks {
		out[i] = t.Sub(start)
	}
	return out
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestShardPacing(t *testing.T) {
	tests := []struct {
		name   string
		sender *fakeSender
		want   []time.Duration
	}{
		{
			name:   "absolute deadlines",
			sender: &fakeSender{frames: 6},
			want:   ms(0, 20, 40, 60, 80, 100),
		},
		{
			// Tick 2 takes 5 ms: the next frame still goes out at 40 ms.
			name:   "small delay does not drift",
			sender: &fakeSender{frames: 5, stallN: 2, stall: 5 * time.Millisecond},
			want:   ms(0, 20, 40, 60, 80),
		},
		{
			// Tick 2 takes 47 ms (the shard is 27 ms late for 40 ms and
			// 7 ms late for 60 ms): one frame immediately at 67 ms, then
			// back on the 20 ms grid, never two frames back to back.
			name:   "late shard skips grid points instead of bursting",
			sender: &fakeSender{frames: 5, stallN: 2, stall: 47 * time.Millisecond},
			want:   ms(0, 20, 67, 80, 100),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sh := newShard(20 * time.Millisecond)
				ctx, cancel := context.WithCancel(t.Context())
				var wg sync.WaitGroup
				wg.Go(func() { sh.run(ctx) })
				it := &paceItem{s: tt.sender, idx: -1}
				start := time.Now()
				sh.schedule(it)
				time.Sleep(time.Second)
				synctest.Wait()
				cancel()
				wg.Wait()
				if got := tt.sender.offsets(start); !equalDurations(got, tt.want) {
					t.Errorf("tick offsets = %v, want %v", got, tt.want)
				}
				if it.state != paceIdle {
					t.Errorf("finished item state = %d, want idle", it.state)
				}
			})
		})
	}
}

func TestShardManySessionsKeepTheirPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := newShard(20 * time.Millisecond)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { sh.run(ctx) })
		start := time.Now()
		senders := make([]*fakeSender, 50)
		for i := range senders {
			senders[i] = &fakeSender{frames: 10}
			sh.schedule(&paceItem{s: senders[i], idx: -1})
			time.Sleep(3 * time.Millisecond) // each session starts at its own phase
		}
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		wg.Wait()
		for i, s := range senders {
			got := s.offsets(start)
			if len(got) != 10 {
				t.Fatalf("sender %d ticked %d times, want 10", i, len(got))
			}
			for n, off := range got {
				if want := time.Duration(3*i)*time.Millisecond + time.Duration(n)*20*time.Millisecond; off != want {
					t.Fatalf("sender %d frame %d at %v, want %v", i, n, off, want)
				}
			}
		}
	})
}

func TestShardRescheduleWhileQueuedKeepsGrid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := newShard(20 * time.Millisecond)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { sh.run(ctx) })
		start := time.Now()
		f := &fakeSender{frames: 4}
		it := &paceItem{s: f, idx: -1}
		sh.schedule(it)
		time.Sleep(30 * time.Millisecond)
		sh.schedule(it) // a replacing Play: must not add a frame off the grid
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		wg.Wait()
		if got, want := f.offsets(start), ms(0, 20, 40, 60); !equalDurations(got, want) {
			t.Errorf("tick offsets = %v, want %v", got, want)
		}
	})
}

// hookSender calls onTick from inside its first tick, then reports done.
type hookSender struct {
	fakeSender
	onTick func()
}

func (h *hookSender) tick(now time.Time) bool {
	h.fakeSender.tick(now)
	if h.onTick != nil {
		f := h.onTick
		h.onTick = nil
		f()
	}
	return false
}

func TestShardRescheduleWhileInFlight(t *testing.T) {
	// A Play that starts while the shard is ticking the session's last
	// frame must not be lost: the session stays on the grid.
	synctest.Test(t, func(t *testing.T) {
		sh := newShard(20 * time.Millisecond)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { sh.run(ctx) })
		start := time.Now()
		h := &hookSender{}
		it := &paceItem{s: h, idx: -1}
		h.onTick = func() { sh.schedule(it) }
		sh.schedule(it)
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		wg.Wait()
		if got, want := h.offsets(start), ms(0, 20); !equalDurations(got, want) {
			t.Errorf("tick offsets = %v, want %v", got, want)
		}
	})
}

func TestShardCancel(t *testing.T) {
	sh := newShard(20 * time.Millisecond)
	items := make([]*paceItem, 10)
	for i := range items {
		items[i] = &paceItem{s: &fakeSender{}, idx: -1}
		sh.scheduleAfter(items[i], time.Duration(10-i)*time.Millisecond)
	}
	for _, i := range []int{0, 9, 4, 4} { // last, first, middle, twice
		sh.cancel(items[i])
	}
	if len(sh.heap) != 7 {
		t.Fatalf("heap has %d items, want 7", len(sh.heap))
	}
	for i, it := range sh.heap {
		if it.idx != i {
			t.Errorf("heap[%d].idx = %d", i, it.idx)
		}
		if l := 2*i + 1; l < len(sh.heap) && sh.heap[l].due.Before(it.due) {
			t.Errorf("heap order broken at %d", i)
		}
	}
	if items[4].state != paceIdle || items[4].idx != -1 {
		t.Errorf("cancelled item state %d idx %d, want idle -1", items[4].state, items[4].idx)
	}
}
