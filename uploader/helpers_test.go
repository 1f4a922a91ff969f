package uploader

import (
	"bytes"
	"io"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cenkalti/backoff/v4"

	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

const mib = 1 << 20

// fakeClock is a clock whose timers fire at once, advancing the time by
// their duration, so retries never sleep.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer() backoff.Timer { return &fakeTimer{c: c, ch: make(chan time.Time, 1)} }

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

type fakeTimer struct {
	c  *fakeClock
	ch chan time.Time
}

func (t *fakeTimer) Start(d time.Duration) {
	t.c.mu.Lock()
	t.c.now = t.c.now.Add(d)
	t.c.waits = append(t.c.waits, d)
	now := t.c.now
	t.c.mu.Unlock()
	t.ch <- now
}

func (t *fakeTimer) Stop() {}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

// recorder is a Listener keeping every event.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) OnEvent(e event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func eventsOf[T event.Event](r *recorder) []T {
	var out []T
	for _, e := range r.all() {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// testOptions are fast defaults for unit tests: the smallest part size and
// a clock that does not sleep.
func testOptions(clk *fakeClock, l event.Listener) func(*Options) {
	return func(o *Options) {
		o.PartSize = 5 * mib
		o.Concurrency = 2
		o.Listener = l
		o.clock = clk
	}
}

func payload(n int) []byte {
	b := make([]byte, n)
	var x uint32 = 2463534242
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// onlyReader hides every method of r but Read, to force streaming.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func streamOf(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} }

// opsSorted returns the operation sequence with each run of UploadPart
// calls collapsed into its count, so concurrent part order does not matter.
func opsCompact(ops []string) []string {
	var out []string
	for i := 0; i < len(ops); {
		j := i
		for j < len(ops) && ops[j] == ops[i] {
			j++
		}
		if ops[i] == s3mem.OpUploadPart {
			out = append(out, ops[i]+"×"+itoa(j-i))
		} else {
			for k := i; k < j; k++ {
				out = append(out, ops[k])
			}
		}
		i = j
	}
	return out
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

func partNumbers(c *s3mem.Client) []int32 {
	var out []int32
	for _, call := range c.CallsOf(s3mem.OpUploadPart) {
		out = append(out, *call.Input.(*s3.UploadPartInput).PartNumber)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// checkGoroutines fails if the goroutine count does not settle back to
// base: Upload must not leave goroutines behind.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	// Goroutines that have signalled their end may still be exiting:
	// yield until they are gone, for at most a few seconds.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if runtime.NumGoroutine() <= base {
			return
		}
		runtime.Gosched()
	}
	buf := make([]byte, 1<<16)
	buf = buf[:runtime.Stack(buf, true)]
	t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf)
}

// checkTally checks that the one Completed event holds the tally of the
// events before it, and returns that event.
func checkTally(t *testing.T, rec *recorder) event.Completed {
	t.Helper()
	var want, got event.Completed
	n := 0
	for _, e := range rec.all() {
		switch ev := e.(type) {
		case event.Retry:
			want.Retries++
		case event.Hedged:
			want.Hedges++
			want.HedgedBytes += ev.Size
		case event.HedgeDone:
			if ev.HedgeWon {
				want.HedgesWon++
			}
		case event.ConcurrencyChanged:
			want.AdaptiveLevel = ev.Parts
		case event.Completed:
			got = ev
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d Completed events", n)
	}
	if got.Retries != want.Retries || got.Hedges != want.Hedges || got.HedgesWon != want.HedgesWon ||
		got.HedgedBytes != want.HedgedBytes || got.AdaptiveLevel != want.AdaptiveLevel {
		t.Fatalf("Completed tally: retries %d, hedges %d (won %d, %d bytes), level %d; the events before it give %d, %d (%d, %d), %d",
			got.Retries, got.Hedges, got.HedgesWon, got.HedgedBytes, got.AdaptiveLevel,
			want.Retries, want.Hedges, want.HedgesWon, want.HedgedBytes, want.AdaptiveLevel)
	}
	return got
}
