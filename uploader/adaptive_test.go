package uploader

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// runCtl feeds the controller samples every window/4 from a throughput
// model (bytes per second at a level) and returns the events and the level
// after the given time.
func runCtl(c *adaptCtl, model func(level int) float64, d time.Duration) ([]event.ConcurrencyChanged, int) {
	t := time.Unix(1_700_000_000, 0)
	var bytes float64
	var evs []event.ConcurrencyChanged
	step := c.window / 4
	for el := time.Duration(0); el <= d; el += step {
		if ev, ok := c.observe(t.Add(el), int64(bytes)); ok {
			evs = append(evs, ev)
		}
		bytes += model(c.level) * step.Seconds()
	}
	return evs, c.level
}

// TestAdaptCtl: the level doubles while the throughput rises by at least
// the gain, goes back to the level before when it does not, and stays.
func TestAdaptCtl(t *testing.T) {
	for _, tc := range []struct {
		name   string
		model  func(level int) float64
		want   int
		events []int
	}{
		// 6 MB/s per connection, a 48 MB/s link: 8 connections fill it.
		{"link of 8 connections", func(l int) float64 { return min(6e6*float64(l), 48e6) }, 8, []int{8, 16, 8}},
		// The server is the limit already: 4 stays.
		{"flat", func(l int) float64 { return 400e6 }, 4, []int{8, 4}},
		// Each connection adds: up to the bound.
		{"per connection", func(l int) float64 { return 6e6 * float64(l) }, 16, []int{8, 16, 16}},
		// A small rise is not worth the connections.
		{"small rise", func(l int) float64 { return 100e6 + float64(l)*1e6 }, 4, []int{8, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newAdaptCtl(4, 16)
			evs, level := runCtl(c, tc.model, 10*time.Second)
			if level != tc.want || !c.settled {
				t.Fatalf("level %d (settled %v), want %d", level, c.settled, tc.want)
			}
			var got []int
			for i, ev := range evs {
				got = append(got, ev.Parts)
				if i > 0 && ev.Previous != evs[i-1].Parts {
					t.Fatalf("event %d: Previous %d, the level was %d", i, ev.Previous, evs[i-1].Parts)
				}
				if ev.BytesPerSecond <= 0 {
					t.Fatalf("event %+v without a throughput", ev)
				}
			}
			if len(got) != len(tc.events) {
				t.Fatalf("levels %v, want %v", got, tc.events)
			}
			for i := range got {
				if got[i] != tc.events[i] {
					t.Fatalf("levels %v, want %v", got, tc.events)
				}
			}
			if !evs[len(evs)-1].Settled {
				t.Fatalf("last event %+v not settled", evs[len(evs)-1])
			}
		})
	}
}

// TestAdaptCtlWaitsForWindows: no decision before a warm-up window and a
// measuring window have passed at a level.
func TestAdaptCtlWaitsForWindows(t *testing.T) {
	c := newAdaptCtl(4, 16)
	t0 := time.Unix(0, 0)
	if _, ok := c.observe(t0, 0); ok {
		t.Fatal("decided at the first sample")
	}
	if _, ok := c.observe(t0.Add(adaptWindow), 1e6); ok {
		t.Fatal("decided after the warm-up window")
	}
	if _, ok := c.observe(t0.Add(2*adaptWindow-time.Millisecond), 2e6); ok {
		t.Fatal("decided before the measuring window ended")
	}
	ev, ok := c.observe(t0.Add(2*adaptWindow), 3e6)
	if !ok || ev.Parts != 8 || ev.Previous != 4 {
		t.Fatalf("after two windows: %+v %v", ev, ok)
	}
	// At 8: a warm-up window, then a window without the rise, then a
	// second one with it: the doubt is lifted, and it goes on to 16.
	b := int64(3e6)
	at := 2 * adaptWindow
	step := func(bps float64) (event.ConcurrencyChanged, bool) {
		at += adaptWindow
		b += int64(bps * adaptWindow.Seconds())
		return c.observe(t0.Add(at), b)
	}
	prev := ev.BytesPerSecond
	if _, ok := step(prev); ok {
		t.Fatal("decided in the warm-up window at 8")
	}
	if _, ok := step(prev); ok {
		t.Fatal("went back after a single window without a rise")
	}
	if ev, ok := step(2 * prev); !ok || ev.Parts != 16 || ev.Previous != 8 {
		t.Fatalf("after a window with the rise: %+v %v", ev, ok)
	}
	if c := newAdaptCtl(16, 16); !c.settled {
		t.Fatal("a controller at its bound is not settled")
	}
}

// TestPartSlots: never more than the level at once, and a raised level
// lets waiting parts in.
func TestPartSlots(t *testing.T) {
	s := newPartSlots(2)
	var in, peak atomic.Int64
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 6 {
		wg.Go(func() {
			if err := s.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := in.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-release
			in.Add(-1)
			s.release()
		})
	}
	// peak is raised just after in: wait for it, then give a third part
	// time to get in wrongly.
	for peak.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if peak.Load() != 2 {
		t.Fatalf("%d in at level 2", peak.Load())
	}
	s.setLevel(5)
	for in.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if peak.Load() != 5 {
		t.Fatalf("peak %d at level 5", peak.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.setLevel(0)
	cancel()
	if err := s.acquire(ctx); err == nil {
		t.Fatal("acquired a slot at level 0 with a canceled context")
	}
}

// TestAdaptiveOnlyWhenConcurrencyUnset: with Concurrency 0 the parts of a
// file or a stream go through the adaptive slots; with a fixed Concurrency
// they do not, and every upload is whole.
func TestAdaptiveOnlyWhenConcurrencyUnset(t *testing.T) {
	for _, tc := range []struct {
		name     string
		conc     int
		stream   bool
		adaptive bool
	}{
		{"file, unset", 0, false, true},
		{"file, fixed", 3, false, false},
		{"stream, unset", 0, true, true},
		{"stream, fixed", 3, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			data := payload(3*5*mib + 7)
			var body = bytes.NewReader(data)
			o, err := (Options{PartSize: 5 * mib, Concurrency: tc.conc}).resolve()
			if err != nil {
				t.Fatal(err)
			}
			cs, _ := checksumFor(o.ChecksumAlgorithm, "")
			in := &UploadInput{Bucket: "b", Key: "k", Body: body}
			if tc.stream {
				in.Body = streamOf(data)
			}
			up := &upload{client: c, o: o, in: in, cs: cs, size: SizeUnknown}
			if _, err := up.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if up.adapting != tc.adaptive {
				t.Fatalf("adaptive %v, want %v", up.adapting, tc.adaptive)
			}
			if up.slots != nil && up.slots.busy != 0 {
				t.Fatalf("%d slots still taken", up.slots.busy)
			}
			if !bytes.Equal(c.Object("b", "k").Data, data) {
				t.Fatal("object")
			}
		})
	}
}

// pacedReader reads r at no more than bps bytes per second, like a
// connection with a ceiling of its own.
type pacedReader struct {
	r     io.Reader
	bps   float64
	start time.Time
	n     int64
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if d := time.Duration(float64(p.n)/p.bps*float64(time.Second)) - time.Since(p.start); d > 0 {
		time.Sleep(d)
	}
	return n, err
}

// TestStreamAdapts: with Concurrency 0, a stream whose parts each go at a
// ceiling of their own (so that more parts in flight bring more
// throughput) raises its parts in flight, reported by ConcurrencyChanged,
// up to (and at most to) what MaxBufferMemory holds (7 buffers of 5 MiB: 6 parts in
// flight and the one being filled) and never beyond, nor beyond that
// memory; with a fixed Concurrency it keeps it. The fake's parts run at
// 10 MB/s each, in real time (about 2 s in all).
func TestStreamAdapts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		conc      int
		parts     int
		wantLevel int
	}{
		{"unset", 0, 14, 6},
		{"fixed", 3, 6, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			var mu sync.Mutex
			var inFlight, peak int
			c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
				in := call.Input.(*s3.UploadPartInput)
				in.Body = &pacedReader{r: in.Body, bps: 10e6}
				mu.Lock()
				inFlight++
				peak = max(peak, inFlight)
				mu.Unlock()
				defer func() {
					mu.Lock()
					inFlight--
					mu.Unlock()
				}()
				return next(ctx)
			})
			data := payload(tc.parts*5*mib - 99)
			rec := &recorder{}
			o, err := (Options{PartSize: 5 * mib, Concurrency: tc.conc, MaxBufferMemory: 7 * 5 * mib,
				Listener: rec, Hedge: HedgeOptions{Off: true}}).resolve()
			if err != nil {
				t.Fatal(err)
			}
			cs, _ := checksumFor(o.ChecksumAlgorithm, "")
			up := &upload{client: c, o: o, in: &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}, cs: cs, size: SizeUnknown}
			if _, err := up.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.Object("b", "k").Data, data) {
				t.Fatal("object")
			}
			level := defaultConcurrency
			if tc.conc != 0 {
				level = tc.conc
			}
			// The highest level reached is what the bound decides; whether
			// the controller keeps it depends on the throughput it measures
			// there, which a loaded machine can hold back, so the level it
			// settles on is not checked.
			top := level
			for _, ev := range eventsOf[event.ConcurrencyChanged](rec) {
				if tc.conc != 0 {
					t.Fatalf("ConcurrencyChanged %+v with a fixed Concurrency", ev)
				}
				if ev.Previous != level || ev.Parts > tc.wantLevel {
					t.Fatalf("ConcurrencyChanged %+v at level %d, bound %d", ev, level, tc.wantLevel)
				}
				level = ev.Parts
				top = max(top, level)
			}
			if top != tc.wantLevel {
				t.Fatalf("level %d reached at most, want %d (events %+v)", top, tc.wantLevel, eventsOf[event.ConcurrencyChanged](rec))
			}
			if done := checkTally(t, rec); (done.AdaptiveLevel == 0) != (tc.conc != 0) {
				t.Fatalf("Completed.AdaptiveLevel %d with Concurrency %d", done.AdaptiveLevel, tc.conc)
			}
			if peak > tc.wantLevel {
				t.Fatalf("%d parts in flight at once, bound %d", peak, tc.wantLevel)
			}
			if tc.conc == 0 && peak <= defaultConcurrency {
				t.Fatalf("%d parts in flight at most: the level did not rise", peak)
			}
			if got := up.pool.peak.Load(); got > o.MaxBufferMemory {
				t.Fatalf("%d bytes of buffers at once, MaxBufferMemory %d", got, o.MaxBufferMemory)
			}
		})
	}
}
