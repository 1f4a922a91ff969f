package uploader

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// partCalls hooks UploadPart and hands each call, with its index among the
// calls of its part number (0 for the first request, 1 for a hedge), to fn.
type partCalls struct {
	mu       sync.Mutex
	n        map[int32]int
	inFlight map[int32]int
	peak     int // most parts with two requests in flight at once
	hedging  int
}

func hookParts(c *s3mem.Client, fn func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error)) *partCalls {
	pc := &partCalls{n: map[int32]int{}, inFlight: map[int32]int{}}
	c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		pn := aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber)
		pc.mu.Lock()
		idx := pc.n[pn]
		pc.n[pn]++
		pc.inFlight[pn]++
		if pc.inFlight[pn] == 2 {
			pc.hedging++
			pc.peak = max(pc.peak, pc.hedging)
		}
		pc.mu.Unlock()
		defer func() {
			pc.mu.Lock()
			if pc.inFlight[pn] == 2 {
				pc.hedging--
			}
			pc.inFlight[pn]--
			pc.mu.Unlock()
		}()
		return fn(ctx, pn, idx, next)
	})
	return pc
}

func (pc *partCalls) count(part int32) int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.n[part]
}

// hedgeOptions hedge as soon as a part has run twice its peers' time.
func hedgeOptions(o *Options) {
	o.Hedge.MinDelay = time.Millisecond
	o.Hedge.MaxFraction = 0.5
}

// checkComplete checks that Complete listed every part once, in order,
// with the ETag of its bytes and the checksum its PartDone reported, and
// that the object holds data and no upload is left.
func checkComplete(t *testing.T, c *s3mem.Client, rec *recorder, data []byte, parts int) {
	t.Helper()
	checkTally(t, rec)
	calls := c.CallsOf(s3mem.OpCompleteMultipartUpload)
	if len(calls) != 1 {
		t.Fatalf("%d Complete calls", len(calls))
	}
	in := calls[0].Input.(*s3.CompleteMultipartUploadInput)
	if got := len(in.MultipartUpload.Parts); got != parts {
		t.Fatalf("Complete lists %d parts, want %d", got, parts)
	}
	obj := c.Object("b", "k")
	if obj == nil || !bytes.Equal(obj.Data, data) {
		t.Fatal("the object does not hold the data")
	}
	done := map[int32]event.PartDone{}
	for _, e := range eventsOf[event.PartDone](rec) {
		done[e.PartNumber] = e
	}
	for i, p := range in.MultipartUpload.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) {
			t.Fatalf("Complete lists part %d at %d", aws.ToInt32(p.PartNumber), i)
		}
		lo := i * 5 * mib
		sum := md5.Sum(data[lo:min(lo+5*mib, len(data))])
		want := `"` + hex.EncodeToString(sum[:]) + `"`
		pd := done[int32(i+1)]
		if aws.ToString(p.ETag) != want || pd.ETag != want || aws.ToString(p.ChecksumCRC32C) != pd.Checksum || pd.Checksum == "" {
			t.Fatalf("part %d: ETag %s checksum %q, want ETag %s checksum %q (PartDone %+v)", i+1, aws.ToString(p.ETag), aws.ToString(p.ChecksumCRC32C), want, pd.Checksum, pd)
		}
	}
	if n := len(c.Uploads()); n != 0 {
		t.Fatalf("%d multipart uploads left", n)
	}
}

// TestHedgeOvertakesStraggler: a part whose first request hangs is sent
// again; the hedge is stored, the first request is canceled before it has
// sent its bytes (so nothing of it is stored), Complete lists each part
// once, and the events tell it: Hedged and HedgeDone for that part alone,
// one PartDone per part, and BytesSent counting each byte once.
func TestHedgeOvertakesStraggler(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := "file"
		if stream {
			name = "stream"
		}
		t.Run(name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			c := s3mem.New("b")
			var canceled sync.WaitGroup
			canceled.Add(1)
			var loserErr error
			pc := hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
				if part == 3 && idx == 0 {
					<-ctx.Done() // a straggler: ends only when canceled
					loserErr = ctx.Err()
					canceled.Done()
					return nil, ctx.Err()
				}
				return next(ctx)
			})
			rec := &recorder{}
			data := payload(6*5*mib - 123)
			var body io.Reader = bytes.NewReader(data)
			if stream {
				body = streamOf(data)
			}
			u := New(c, testOptions(newFakeClock(), rec), hedgeOptions, func(o *Options) { o.Concurrency = 3 })
			out, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: body})
			if err != nil {
				t.Fatal(err)
			}
			canceled.Wait()
			if !errors.Is(loserErr, context.Canceled) {
				t.Fatalf("the straggler ended with %v, want it canceled", loserErr)
			}
			if n := pc.count(3); n != 2 {
				t.Fatalf("part 3 sent %d times, want 2", n)
			}
			// On a loaded machine another part may run twice its peers'
			// time and be hedged too: every extra request is a hedge.
			extra := 0
			for p := int32(1); p <= 6; p++ {
				if n := pc.count(p); n < 1 || n > 2 {
					t.Fatalf("part %d sent %d times", p, n)
				}
				extra += pc.count(p) - 1
			}
			checkComplete(t, c, rec, data, 6)
			if len(out.Parts) != 6 {
				t.Fatalf("output lists %d parts", len(out.Parts))
			}
			hedged := eventsOf[event.Hedged](rec)
			hd := eventsOf[event.HedgeDone](rec)
			if len(hedged) != extra || len(hd) != extra {
				t.Fatalf("%d extra requests, Hedged %+v, HedgeDone %+v", extra, hedged, hd)
			}
			found := false
			for _, h := range hedged {
				if h.PartNumber == 3 {
					found = h.Size == 5*mib && h.Elapsed >= h.Typical
				}
			}
			if !found || !slices.Contains(hd, event.HedgeDone{PartNumber: 3, HedgeWon: true, LoserCanceled: true}) {
				t.Fatalf("part 3 not overtaken: Hedged %+v, HedgeDone %+v", hedged, hd)
			}
			seen := map[int32]int{}
			for _, e := range eventsOf[event.PartDone](rec) {
				seen[e.PartNumber]++
				if e.Attempts != pc.count(e.PartNumber) {
					t.Fatalf("part %d done after %d requests, %d made", e.PartNumber, e.Attempts, pc.count(e.PartNumber))
				}
			}
			if len(seen) != 6 {
				t.Fatalf("PartDone for %d parts", len(seen))
			}
			for p, n := range seen {
				if n != 1 {
					t.Fatalf("PartDone %d times for part %d", n, p)
				}
			}
			var sent int64
			for _, e := range eventsOf[event.BytesSent](rec) {
				sent += e.Bytes
			}
			if sent != int64(len(data)) {
				t.Fatalf("BytesSent adds up to %d, want %d", sent, len(data))
			}
			checkGoroutines(t, base)
		})
	}
}

// TestHedgeLoserThatSentAllIsNotCanceled: when the first request has
// handed all its bytes over by the time the hedge wins, it is left to
// finish (a server could store it after Complete otherwise).
func TestHedgeLoserThatSentAllIsNotCanceled(t *testing.T) {
	c := s3mem.New("b")
	hedgeStarted := make(chan struct{})
	firstSent := make(chan struct{})
	hedgeStored := make(chan struct{})
	var firstCtxErr error
	hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
		if part != 2 {
			return next(ctx)
		}
		if idx == 0 {
			select {
			case <-hedgeStarted:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			out, err := next(ctx) // reads (hands over) every byte and stores the part
			close(firstSent)
			// Answer only after the hedge has won, giving the uploader
			// time to cancel this request if it would.
			<-hedgeStored
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
			firstCtxErr = ctx.Err()
			return out, err
		}
		close(hedgeStarted)
		<-firstSent
		defer close(hedgeStored)
		return next(ctx)
	})
	rec := &recorder{}
	data := payload(6 * 5 * mib)
	u := New(c, testOptions(newFakeClock(), rec), hedgeOptions, func(o *Options) { o.Concurrency = 2 })
	if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if firstCtxErr != nil {
		t.Fatalf("the first request, which had sent all its bytes, was canceled: %v", firstCtxErr)
	}
	if hd := eventsOf[event.HedgeDone](rec); !slices.Contains(hd, event.HedgeDone{PartNumber: 2, HedgeWon: true, LoserCanceled: false}) {
		t.Fatalf("HedgeDone events %+v", hd)
	}
	checkComplete(t, c, rec, data, 6)
}

// TestHedgeFailsFirstRequestDecides: a hedge that fails leaves the part to
// its first request, which is then not canceled.
func TestHedgeFailsFirstRequestDecides(t *testing.T) {
	c := s3mem.New("b")
	hedgeFailed := make(chan struct{})
	hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
		switch {
		case part == 4 && idx == 0:
			select {
			case <-hedgeFailed:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case part == 4:
			defer close(hedgeFailed)
			return nil, s3mem.InternalError(s3mem.OpUploadPart)
		}
		return next(ctx)
	})
	rec := &recorder{}
	data := payload(6 * 5 * mib)
	u := New(c, testOptions(newFakeClock(), rec), hedgeOptions)
	if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, d := range eventsOf[event.HedgeDone](rec) {
		ok = ok || d.PartNumber == 4 && !d.HedgeWon && d.Err != nil
	}
	if !ok {
		t.Fatalf("HedgeDone events %+v", eventsOf[event.HedgeDone](rec))
	}
	if n := len(eventsOf[event.Retry](rec)); n != 0 {
		t.Fatalf("%d Retry events: a hedge is one attempt", n)
	}
	checkComplete(t, c, rec, data, 6)
}

// TestHedgeBounds: whatever the number of stragglers, the bytes sent
// twice (read from the bodies of UploadPart beyond the object's) never
// pass MaxFraction of the object, the hedges in flight never hold more
// than it between them nor number more than MaxInFlight; with hedging off
// no part is sent twice.
func TestHedgeBounds(t *testing.T) {
	const parts = 6
	for _, tc := range []struct {
		name        string
		off         bool
		fraction    float64
		inFlight    int
		slow        []int32
		wantHedges  int
		wantPeakMax int
	}{
		{"off", true, 0.5, 2, []int32{2, 4}, 0, 0},
		{"fraction below one part", false, 0.15, 2, []int32{2, 4}, 0, 0},
		{"fraction of two parts", false, 0.34, 4, []int32{2, 3, 4}, 2, 2},
		{"one in flight", false, 0.5, 1, []int32{2, 3}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			slow := map[int32]bool{}
			for _, p := range tc.slow {
				slow[p] = true
			}
			// Slow, but not stuck: a slow part's first request ends after a
			// while if not overtaken, a while far beyond twice the fake's time.
			pc, read := hookStragglers(c, func(part int32) bool { return slow[part] })
			rec := &recorder{}
			data := payload(parts * 5 * mib)
			u := New(c, testOptions(newFakeClock(), rec), func(o *Options) {
				o.Concurrency = 4
				o.Hedge = HedgeOptions{Off: tc.off, MinDelay: time.Millisecond, MaxFraction: tc.fraction, MaxInFlight: tc.inFlight}
			})
			if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)}); err != nil {
				t.Fatal(err)
			}
			hedged := eventsOf[event.Hedged](rec)
			if twice := read.Load() - int64(len(data)); float64(twice) > tc.fraction*float64(len(data)) {
				t.Fatalf("%d bytes sent twice, more than %v of %d", twice, tc.fraction, len(data))
			}
			if peak := int64(pc.peak) * 5 * mib; tc.fraction > 0 && float64(peak) > tc.fraction*float64(len(data)) {
				t.Fatalf("%d hedges of 5 MiB in flight at once, more than %v of %d", pc.peak, tc.fraction, len(data))
			}
			if tc.off && len(hedged) > 0 {
				t.Fatalf("%d hedges with hedging off", len(hedged))
			}
			extra := 0
			for p := int32(1); p <= parts; p++ {
				extra += pc.count(p) - 1
			}
			if extra != len(hedged) || len(eventsOf[event.HedgeDone](rec)) != len(hedged) {
				t.Fatalf("%d requests beyond one per part, %d Hedged, %d HedgeDone", extra, len(hedged), len(eventsOf[event.HedgeDone](rec)))
			}
			// Stragglers within the bounds are hedged (on a loaded machine
			// a part of normal speed may take a hedge's place).
			if (tc.wantHedges == 0) != (len(hedged) == 0) {
				t.Fatalf("%d hedges, want %d", len(hedged), tc.wantHedges)
			}
			if pc.peak > tc.wantPeakMax || pc.peak > max(tc.inFlight, 0) {
				t.Fatalf("%d hedges in flight at once, want at most %d", pc.peak, tc.wantPeakMax)
			}
			checkComplete(t, c, rec, data, parts)
		})
	}
}

func TestHedgeOptionsValidated(t *testing.T) {
	for _, h := range []HedgeOptions{{After: 0.5}, {MinDelay: -1}, {MaxInFlight: -1}, {MaxFraction: 1.5}, {MaxFraction: -0.1}} {
		u := New(s3mem.New("b"), func(o *Options) { o.Hedge = h })
		_, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(nil)})
		if !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("Hedge %+v: %v, want mpu.ErrInvalidInput", h, err)
		}
	}
}

// TestHedgeDue: a part is due once it has run After times its peers'
// typical time, and, with parts in flight beside it, only when its bytes
// come at less than 1/After of their pace; or, earlier, once its rate over
// the last two windows is below 1/(2×After) of its peers' (the parts in flight, or
// the stored ones) and at that rate it would end beyond After times its
// typical time.
func TestHedgeDue(t *testing.T) {
	o, err := HedgeOptions{MinDelay: time.Millisecond}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	perByte := float64(100*time.Millisecond) / size // a part took 100 ms
	now := time.Now()
	for _, tc := range []struct {
		name     string
		samples  int
		elapsed  time.Duration
		sent     int64
		peerSent []int64       // bytes of the peers in flight
		peerAgo  time.Duration // when they started (150 ms ago when 0)
		// rates set the rates of the last two windows: rate the part's
		// (prevRate, when not 0, its window before), peerRate its
		// peers'; else the windows are measured from the starts.
		rates                    bool
		rate, prevRate, peerRate float64
		want                     bool
		wantTypical              time.Duration // 100 ms when 0 and enough parts are stored
	}{
		{name: "too few stored parts", samples: 1, elapsed: time.Second},
		{name: "not yet twice the typical time", samples: 3, elapsed: 150 * time.Millisecond},
		{name: "twice the typical time, alone", samples: 3, elapsed: 250 * time.Millisecond, want: true},
		{name: "behind its peers", samples: 3, elapsed: 250 * time.Millisecond, sent: 100, peerSent: []int64{size, size / 2}, want: true},
		{name: "as fast as its peers", samples: 3, elapsed: 250 * time.Millisecond, sent: size / 2, peerSent: []int64{size * 3 / 10, size * 3 / 10}},
		{name: "just over 1/After of their pace", samples: 3, elapsed: 250 * time.Millisecond, sent: size/4 + 10, peerSent: []int64{size * 3 / 10}},
		{name: "beside a part as late as itself", samples: 3, elapsed: 250 * time.Millisecond, sent: 100, peerSent: []int64{200}, peerAgo: 250 * time.Millisecond, want: true},
		// The rate: the stored parts went at 10.5 MB/s.
		{name: "slow against the stored parts", samples: 3, elapsed: 150 * time.Millisecond, sent: 100 << 10, rates: true, rate: 1e6, want: true},
		{name: "stalled", samples: 3, elapsed: 150 * time.Millisecond, sent: 100 << 10, rates: true, rate: 0, want: true},
		{name: "slow in one window only", samples: 3, elapsed: 150 * time.Millisecond, sent: 100 << 10, rates: true, rate: 1e6, prevRate: 10e6},
		{name: "slow but nearly done", samples: 3, elapsed: 150 * time.Millisecond, sent: size - 1000, rates: true, rate: 1e6},
		{name: "slow against its peers, none stored", elapsed: time.Second, sent: 500e3, peerSent: []int64{size, size}, peerAgo: time.Second,
			rates: true, rate: 0.5e6, peerRate: 6e6, want: true, wantTypical: 175 * time.Millisecond},
		{name: "not 1/After of its peers' rate", elapsed: time.Second, sent: 500e3, peerSent: []int64{size, size}, peerAgo: time.Second,
			rates: true, rate: 4e6, peerRate: 6e6, wantTypical: 175 * time.Millisecond},
		{name: "at a third of its peers' rate", elapsed: time.Second, sent: 500e3, peerSent: []int64{size, size}, peerAgo: time.Second,
			rates: true, rate: 2e6, peerRate: 6e6, wantTypical: 175 * time.Millisecond},
		{name: "one peer's rate is not enough", elapsed: time.Second, sent: 500e3, peerSent: []int64{size}, peerAgo: time.Second,
			rates: true, rate: 0.5e6, peerRate: 6e6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hedger{up: &upload{size: 10 * size}, o: o, flights: map[*partRecord]*flight{}}
			for range tc.samples {
				h.perByte = append(h.perByte, perByte)
			}
			fl := func(start time.Time, rate, prev float64) *flight {
				if tc.rates {
					return &flight{start: start, winT: now, rate: rate, prev: prev, windows: 2}
				}
				return &flight{start: start, winT: start, rate: -1, prev: -1}
			}
			rec := &partRecord{Number: 1, Size: size}
			rec.sent.Store(tc.sent)
			prev := tc.rate
			if tc.prevRate != 0 {
				prev = tc.prevRate
			}
			h.flights[rec] = fl(now.Add(-tc.elapsed), tc.rate, prev)
			for i, s := range tc.peerSent {
				p := &partRecord{Number: int32(i + 2), Size: size}
				p.sent.Store(s)
				ago := tc.peerAgo
				if ago == 0 {
					ago = 150 * time.Millisecond
				}
				h.flights[p] = fl(now.Add(-ago), tc.peerRate, tc.peerRate)
			}
			due, typical, wait := h.due(rec, tc.elapsed)
			if due != tc.want {
				t.Fatalf("due = %v, want %v (typical %v)", due, tc.want, typical)
			}
			want := tc.wantTypical
			if want == 0 && tc.samples >= hedgeMinSamples {
				want = 100 * time.Millisecond
			}
			if want != 0 && (typical < want*99/100 || typical > want*101/100) {
				t.Fatalf("typical %v, want %v", typical, want)
			}
			if wait <= 0 || wait > hedgeCheckEvery {
				t.Fatalf("wait %v", wait)
			}
		})
	}
}

// countingReader counts the bytes read from r into n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestHedgeBudgetCountsBytesSent: a loser canceled before it sent
// anything costs nothing, so with room for one part's worth of hedged
// bytes (MaxFraction 0.2 of six parts) two stragglers in turn are both
// overtaken: the first hedge's reservation is given back once its loser
// is canceled, and the second fits. Counting each hedged part whole, the
// second would wait its 3 s out. Nothing is sent twice, Complete lists
// each part once.
func TestHedgeBudgetCountsBytesSent(t *testing.T) {
	c := s3mem.New("b")
	// Stragglers that send nothing.
	pc, read := hookStragglers(c, func(part int32) bool { return part == 2 || part == 4 })
	rec := &recorder{}
	data := payload(6 * 5 * mib)
	u := New(c, testOptions(newFakeClock(), rec), func(o *Options) {
		o.Concurrency = 2
		// MinDelay keeps parts of normal speed on a loaded machine from
		// taking the budget.
		o.Hedge = HedgeOptions{MinDelay: 300 * time.Millisecond, MaxFraction: 0.2}
	})
	if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	var hedged []int32
	for _, h := range eventsOf[event.Hedged](rec) {
		hedged = append(hedged, h.PartNumber)
	}
	slices.Sort(hedged)
	if !slices.Equal(hedged, []int32{2, 4}) {
		t.Fatalf("parts hedged %v, want [2 4]", hedged)
	}
	for _, d := range eventsOf[event.HedgeDone](rec) {
		if !d.HedgeWon || !d.LoserCanceled || d.Err != nil {
			t.Fatalf("HedgeDone %+v", d)
		}
	}
	if twice := read.Load() - int64(len(data)); twice != 0 {
		t.Fatalf("%d bytes sent twice", twice)
	}
	if pc.peak != 1 {
		t.Fatalf("%d hedges in flight at once, room for 1", pc.peak)
	}
	checkComplete(t, c, rec, data, 6)
}

// TestHedgeSlowRate: a part whose request hands its bytes over at an
// eightieth of its peers' rate (far below the 1/(2×After) needed) is
// hedged once its rate is measured, long before it has run After times
// its peers' typical time (After is 10 here); the hedge wins, the loser is canceled having sent a fraction of
// the part, and that fraction is all that is sent twice. The fake's parts
// are paced in real time (about a second in all).
func TestHedgeSlowRate(t *testing.T) {
	c := s3mem.New("b")
	var read atomic.Int64
	var mu sync.Mutex
	requests := map[int32]int{}
	c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		in := call.Input.(*s3.UploadPartInput)
		mu.Lock()
		first := requests[aws.ToInt32(in.PartNumber)] == 0
		requests[aws.ToInt32(in.PartNumber)]++
		mu.Unlock()
		bps := 20e6
		if aws.ToInt32(in.PartNumber) == 2 && first {
			bps = 0.25e6
		}
		in.Body = &pacedReader{r: countingReader{in.Body, &read}, bps: bps}
		return next(ctx)
	})
	rec := &recorder{}
	data := payload(6 * 5 * mib)
	const after = 10
	u := New(c, testOptions(newFakeClock(), rec), func(o *Options) {
		o.Concurrency = 3
		o.Hedge = HedgeOptions{After: after, MinDelay: 100 * time.Millisecond, MaxFraction: 0.2}
	})
	if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	hedged := eventsOf[event.Hedged](rec)
	if len(hedged) != 1 || hedged[0].PartNumber != 2 {
		t.Fatalf("Hedged %+v, want part 2 alone", hedged)
	}
	if h := hedged[0]; h.Typical <= 0 || h.Elapsed >= after*h.Typical/2 {
		t.Fatalf("hedged after %v, its peers' typical time %v: not before it was late", h.Elapsed, h.Typical)
	}
	done := eventsOf[event.HedgeDone](rec)
	if len(done) != 1 || !done[0].HedgeWon || !done[0].LoserCanceled {
		t.Fatalf("HedgeDone %+v", done)
	}
	if twice := read.Load() - int64(len(data)); twice <= 0 || twice > 5*mib/2 {
		t.Fatalf("%d bytes sent twice: want the loser's fraction of the part", twice)
	}
	checkComplete(t, c, rec, data, 6)
}

// TestHedgeNoChecksBeforeMinDelay: no part is due before MinDelay, so
// until then a part is looked at only when its rate window closes, and
// parts that end sooner (as on a fast network) cost the hedger no
// wake-ups; a part that runs past MinDelay is looked at.
func TestHedgeNoChecksBeforeMinDelay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		minDelay time.Duration
		wantNone bool
	}{
		{"parts end before MinDelay and their first rate window", time.Hour, true},
		{"parts run past MinDelay", 20 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
				// Each part runs for three of the hedger's check periods,
				// less than a rate window.
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(3 * hedgeCheckEvery):
				}
				return next(ctx)
			})
			var o Options
			testOptions(newFakeClock(), nil)(&o)
			o.Hedge.MinDelay = tc.minDelay
			o, err := o.resolve()
			if err != nil {
				t.Fatal(err)
			}
			data := payload(4 * 5 * mib)
			in, cs, err := beginInput(o, &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			up := newUpload(c, o, in, cs)
			if _, err := up.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			h := up.hedges()
			if h == nil {
				t.Fatal("hedging is off")
			}
			n := h.wakes.Load()
			if tc.wantNone && n != 0 {
				t.Fatalf("%d looks at parts that ended before MinDelay", n)
			}
			if !tc.wantNone && n == 0 {
				t.Fatal("no look at parts that ran past MinDelay")
			}
		})
	}
}

// TestHedgeBeforeDueClosesWindows: a look before MinDelay closes the rate
// windows that have run their length, so the early rule has its two
// windows at MinDelay, and waits until the part's next window closes or
// MinDelay passes.
func TestHedgeBeforeDueClosesWindows(t *testing.T) {
	o, err := HedgeOptions{MinDelay: time.Second}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	h := &hedger{up: &upload{size: 10 << 20}, o: o, flights: map[*partRecord]*flight{}}
	start := time.Now().Add(-hedgeRateWindow - 10*time.Millisecond)
	rec := &partRecord{Number: 1, Size: 1 << 20}
	rec.sent.Store(1000)
	h.flights[rec] = &flight{start: start, winT: start, rate: -1, prev: -1}
	wait := h.beforeDue(rec, time.Since(start))
	f := h.flights[rec]
	if f.windows != 1 || f.rate <= 0 || f.prev >= 0 || f.winSent != 1000 {
		t.Fatalf("after one window: %+v", *f)
	}
	if wait <= hedgeRateWindow-50*time.Millisecond || wait > hedgeRateWindow {
		t.Fatalf("wait %v, want about one window (%v)", wait, hedgeRateWindow)
	}
	// Near MinDelay, the wait ends at MinDelay.
	late := &partRecord{Number: 2, Size: 1 << 20}
	h.flights[late] = &flight{start: time.Now().Add(-900 * time.Millisecond), winT: time.Now(), rate: -1, prev: -1}
	if wait := h.beforeDue(late, 900*time.Millisecond); wait > 100*time.Millisecond {
		t.Fatalf("wait %v past MinDelay", wait)
	}
}

// TestRaiseSentCountsEachByteOnce: a body's reads and a hedge's sentAll
// raising one part's mark at once count every byte once, and the mark
// never goes back.
func TestRaiseSentCountsEachByteOnce(t *testing.T) {
	up := &upload{}
	rec := &partRecord{Size: 1 << 20}
	var counted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for pos := int64(g); pos <= rec.Size; pos += 4096 + int64(g) {
				counted.Add(up.raiseSent(rec, pos))
			}
			counted.Add(up.raiseSent(rec, rec.Size))
		})
	}
	wg.Wait()
	if rec.sent.Load() != rec.Size || counted.Load() != rec.Size || up.progress.Load() != rec.Size {
		t.Fatalf("mark %d, counted %d, progress %d; want %d each", rec.sent.Load(), counted.Load(), up.progress.Load(), rec.Size)
	}
}

// hookStragglers makes the first request of each part slow(part) wait 3 s
// before the fake reads its body (or until canceled), and counts every
// byte the fake reads of any part's body, hedges included.
func hookStragglers(c *s3mem.Client, slow func(part int32) bool) (*partCalls, *atomic.Int64) {
	read := new(atomic.Int64)
	pc := hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
		if slow(part) && idx == 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(3 * time.Second):
			}
		}
		return next(ctx)
	})
	c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		in := call.Input.(*s3.UploadPartInput)
		in.Body = countingReader{in.Body, read}
		return next(ctx)
	})
	return pc, read
}
