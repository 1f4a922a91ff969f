package uploader

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/s3mpu/s3mpu/uploader/event"
)

// Adaptive parts in flight: when Options.Concurrency is 0, an upload
// starts with defaultConcurrency parts in flight and doubles them while
// the throughput rises, up to Options.MaxConcurrency; a rise too small, in
// two windows in a row, sends it back to the level before, where it
// stays. On a link whose connections each carry a fraction of its
// capacity more parts fill it; where the server or the client's CPU is
// the limit the level stays where it started. A stream's parts are held
// in buffers, so its level rises no further than the parts whose buffers,
// with the one being filled, fit in MaxBufferMemory; the producer waits
// for a part's slot before it fills the next buffer, so at most level+1
// buffers are made. A Concurrency set by the caller is used as it is.

const (
	// defaultMaxConcurrency is Options.MaxConcurrency when 0.
	defaultMaxConcurrency = 16
	// adaptWindow is how long the throughput is measured at each level,
	// after a window of the same length for the new parts to get going
	// (bytes handed to the transport run ahead of the network while the
	// new connections' send buffers fill).
	adaptWindow = 250 * time.Millisecond
	// adaptGain is the rise in throughput a doubling must bring to be kept.
	adaptGain = 1.2
)

// adaptCtl decides the level from throughput samples: it has no clock of
// its own, so tests feed it times and byte counts.
type adaptCtl struct {
	level, max int
	window     time.Duration
	gain       float64

	t0        time.Time
	b0        int64
	warm      int  // windows still to let the new parts get going
	doubt     bool // one window at this level showed too small a rise; a second decides
	prevLevel int
	prevRate  float64
	settled   bool
}

func newAdaptCtl(start, max int) *adaptCtl {
	return &adaptCtl{level: start, max: max, window: adaptWindow, gain: adaptGain, settled: start >= max}
}

// observe takes the bytes sent so far at now and returns the change of
// level it decides, if any.
func (c *adaptCtl) observe(now time.Time, bytes int64) (event.ConcurrencyChanged, bool) {
	if c.settled {
		return event.ConcurrencyChanged{}, false
	}
	if c.t0.IsZero() {
		c.t0, c.b0, c.warm = now, bytes, 1
		return event.ConcurrencyChanged{}, false
	}
	d := now.Sub(c.t0)
	if d < c.window {
		return event.ConcurrencyChanged{}, false
	}
	rate := float64(bytes-c.b0) / d.Seconds()
	c.t0, c.b0 = now, bytes
	if c.warm > 0 {
		c.warm--
		return event.ConcurrencyChanged{}, false
	}
	ev := event.ConcurrencyChanged{Previous: c.level, BytesPerSecond: rate}
	if c.prevRate > 0 && rate < c.prevRate*c.gain {
		if !c.doubt {
			c.doubt = true // one window may be noise: measure another
			return event.ConcurrencyChanged{}, false
		}
		// Not worth its connections: back to the level before, for good.
		c.level, c.settled = c.prevLevel, true
		ev.Parts, ev.Settled = c.level, true
		return ev, true
	}
	c.doubt = false
	if c.level >= c.max {
		// Worth it, and as far as it goes.
		c.settled = true
		ev.Parts, ev.Settled = c.level, true
		return ev, true
	}
	c.prevLevel, c.prevRate = c.level, rate
	c.level = min(c.max, c.level*2)
	c.warm = 1
	ev.Parts = c.level
	return ev, true
}

// partSlots lets at most level parts run at once; the level may change.
type partSlots struct {
	mu    sync.Mutex
	level int
	busy  int
	wake  chan struct{}
}

func newPartSlots(level int) *partSlots {
	return &partSlots{level: level, wake: make(chan struct{})}
}

// acquire waits for a slot.
func (s *partSlots) acquire(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.busy < s.level {
			s.busy++
			s.mu.Unlock()
			return nil
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// take waits for a slot and returns the function that gives it back (once,
// however often it is called); nil, with a nil error, when s is nil (g's
// limit alone bounds the parts).
func (s *partSlots) take(ctx context.Context) (release func(), err error) {
	if s == nil {
		return nil, nil
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	return sync.OnceFunc(s.release), nil
}

func (s *partSlots) release() {
	s.mu.Lock()
	s.busy--
	s.signal()
	s.mu.Unlock()
}

func (s *partSlots) setLevel(n int) {
	s.mu.Lock()
	s.level = n
	s.signal()
	s.mu.Unlock()
}

// signal wakes the waiters; s.mu is held.
func (s *partSlots) signal() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// startParts sets g's limit for the parts of a multipart upload and, with
// the adaptive concurrency, starts the controller; the function it returns
// stops it (after the parts are done).
//
// With hedging, the parts take their slots from up.slots whatever the
// concurrency, and g's limit leaves room for Hedge.MaxInFlight more: a
// hedged part gives its slot back while its two requests race on (see
// hedger.send), and its goroutine stays in g until both have ended.
func (up *upload) startParts(ctx context.Context, g *errgroup.Group) (stop func()) {
	bound := up.o.MaxConcurrency
	if up.pool != nil {
		bound = up.maxLevel // as many as the stream's buffers hold
	}
	extra := 0
	if up.hedges() != nil {
		extra = up.o.Hedge.MaxInFlight
	}
	if !up.o.adaptive || up.o.Concurrency >= bound {
		// A fixed Concurrency, or a level that cannot rise.
		if extra == 0 {
			g.SetLimit(up.o.Concurrency)
			return func() {}
		}
		g.SetLimit(addCapped(up.o.Concurrency, extra))
		up.slots = newPartSlots(up.o.Concurrency)
		return func() {}
	}
	g.SetLimit(addCapped(bound, extra))
	up.slots = newPartSlots(up.o.Concurrency)
	up.adapting = true
	ctl := newAdaptCtl(up.o.Concurrency, bound)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(adaptWindow / 4)
		defer t.Stop()
		for {
			ev, changed := ctl.observe(time.Now(), up.partBytesSent())
			if changed {
				up.slots.setLevel(ev.Parts)
				_ = up.em.emit(ev)
			}
			if ctl.settled {
				return
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// partBytesSent returns the bytes of the parts handed to the transport so
// far.
func (up *upload) partBytesSent() int64 { return up.progress.Load() }

// addCapped returns a+b for non-negative a and b, at most math.MaxInt.
func addCapped(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
