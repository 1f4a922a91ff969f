package uploader

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// requestLog counts the UploadPart requests in flight, in all and per
// part, and the most of them seen at once.
type requestLog struct {
	mu      sync.Mutex
	all     int
	peak    int
	perPart map[int32]int
	// peakBeside is the most parts other than part 1 in flight while
	// both requests of part 1 were.
	peakBeside int
}

func (l *requestLog) begin(part int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all++
	l.peak = max(l.peak, l.all)
	l.perPart[part]++
	l.note()
}

func (l *requestLog) end(part int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all--
	l.perPart[part]--
}

// note records the parts beside part 1 in flight; l.mu is held.
func (l *requestLog) note() {
	if l.perPart[1] < 2 {
		return
	}
	beside := 0
	for p, n := range l.perPart {
		if p != 1 && n > 0 {
			beside++
		}
	}
	l.peakBeside = max(l.peakBeside, beside)
}

// TestHedgeGivesSlotBack: with Concurrency 2, a part whose first request
// hangs is hedged and, when MaxInFlight leaves room for its first request
// beside the hedge, gives its slot to the next part: while its two
// requests race, two other parts run beside them, and never more than
// Concurrency + MaxInFlight requests are in flight. With MaxInFlight 1
// the hedge fills the bound, the part keeps its slot and one other part
// runs beside it.
func TestHedgeGivesSlotBack(t *testing.T) {
	for _, tc := range []struct {
		name       string
		inFlight   int
		wantBeside int
	}{
		{"room for both", 2, 2},
		{"room for the hedge only", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			c := s3mem.New("b")
			log := &requestLog{perPart: map[int32]int{}}
			hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
				log.begin(part)
				defer log.end(part)
				switch {
				case part == 1 && idx == 0:
					<-ctx.Done() // a straggler: ends only when canceled
					return nil, ctx.Err()
				case part == 1:
					// The hedge takes long enough for all the other parts
					// to pass beside it.
					if err := sleepCtx(ctx, 700*time.Millisecond); err != nil {
						return nil, err
					}
					return next(ctx)
				}
				if err := sleepCtx(ctx, 40*time.Millisecond); err != nil {
					return nil, err
				}
				return next(ctx)
			})
			rec := &recorder{}
			data := payload(8 * 5 * mib)
			const conc = 2
			u := New(c, testOptions(newFakeClock(), rec), hedgeOptions, func(o *Options) {
				o.Concurrency = conc
				o.Hedge.MaxInFlight = tc.inFlight
			})
			if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)}); err != nil {
				t.Fatal(err)
			}
			checkComplete(t, c, rec, data, 8)
			if hd := eventsOf[event.HedgeDone](rec); !slices.Contains(hd, event.HedgeDone{PartNumber: 1, HedgeWon: true, LoserCanceled: true}) {
				t.Fatalf("HedgeDone %+v, want part 1 overtaken", hd)
			}
			if log.peak > conc+tc.inFlight {
				t.Fatalf("%d requests in flight at once, more than Concurrency %d + MaxInFlight %d", log.peak, conc, tc.inFlight)
			}
			if log.peakBeside != tc.wantBeside {
				t.Fatalf("%d other parts in flight beside the hedged part's two requests, want %d", log.peakBeside, tc.wantBeside)
			}
			checkGoroutines(t, base)
		})
	}
}

// TestHedgedPartFailsUpload: a hedged part that gave its slot back and
// whose requests all fail fails the upload, which is aborted and not
// completed.
func TestHedgedPartFailsUpload(t *testing.T) {
	base := runtime.NumGoroutine()
	c := s3mem.New("b")
	hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
		if part != 1 {
			return next(ctx)
		}
		switch idx {
		case 0:
			if err := sleepCtx(ctx, 400*time.Millisecond); err != nil {
				return nil, err
			}
		case 1:
			if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
				return nil, err
			}
		}
		return nil, s3mem.InternalError(s3mem.OpUploadPart)
	})
	rec := &recorder{}
	data := payload(6 * 5 * mib)
	u := New(c, testOptions(newFakeClock(), rec), hedgeOptions)
	_, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.PartNumber != 1 {
		t.Fatalf("Upload returned %v, want part 1's failure", err)
	}
	if len(eventsOf[event.Hedged](rec)) == 0 {
		t.Fatal("part 1 was not hedged")
	}
	if n := len(c.CallsOf(s3mem.OpCompleteMultipartUpload)); n != 0 {
		t.Fatalf("%d Complete calls", n)
	}
	if n := len(c.CallsOf(s3mem.OpAbortMultipartUpload)); n == 0 {
		t.Fatal("not aborted")
	}
	if n := len(c.Uploads()); n != 0 {
		t.Fatalf("%d multipart uploads left", n)
	}
	checkGoroutines(t, base)
}

// TestHedgeCanceledMidRace: the caller's cancel while a hedged part's two
// requests race outside its slot ends the upload with the cancel, and no
// goroutine outlives Upload.
func TestHedgeCanceledMidRace(t *testing.T) {
	base := runtime.NumGoroutine()
	c := s3mem.New("b")
	hedging := make(chan struct{})
	hookParts(c, func(ctx context.Context, part int32, idx int, next s3mem.Next) (any, error) {
		if part == 1 {
			if idx == 1 {
				close(hedging)
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return next(ctx)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-hedging
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	u := New(c, testOptions(newFakeClock(), &recorder{}), hedgeOptions)
	_, err := u.Upload(ctx, &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * 5 * mib))})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Upload returned %v, want the cancel", err)
	}
	if n := len(c.CallsOf(s3mem.OpCompleteMultipartUpload)); n != 0 {
		t.Fatalf("%d Complete calls", n)
	}
	checkGoroutines(t, base)
}

// TestHedgeStreamBufferHeldUntilBothEnd: a stream's hedged part gives its
// slot back, but its buffer goes back to the pool only once both its
// requests have ended: its first request, canceled, still holds the body
// a while (as a transport may) while the other parts pass, and the bytes
// under it are still the part's (under -race, a reuse of the buffer would
// also show as a race).
func TestHedgeStreamBufferHeldUntilBothEnd(t *testing.T) {
	base := runtime.NumGoroutine()
	c := s3mem.New("b")
	data := payload(10*5*mib + 77)
	checked := make(chan error, 1)
	var mu sync.Mutex
	counts := map[int32]int{}
	c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		in := call.Input.(*s3.UploadPartInput)
		pn := aws.ToInt32(in.PartNumber)
		mu.Lock()
		idx := counts[pn]
		counts[pn]++
		mu.Unlock()
		if pn != 1 || idx != 0 {
			return next(ctx)
		}
		body, ok := in.Body.(*partBody)
		if !ok {
			checked <- errors.New("the request's body is not the part's")
			return nil, errors.New("test: unexpected body")
		}
		<-ctx.Done()
		// Canceled: the hedge won. Hold on while the other parts pass
		// through the pool's buffers, then look at the bytes under the
		// body.
		time.Sleep(400 * time.Millisecond)
		got, err := io.ReadAll(body.open())
		switch {
		case err != nil:
			checked <- err
		case !bytes.Equal(got, data[:5*mib]):
			checked <- errors.New("the buffer under the canceled request no longer holds part 1")
		default:
			checked <- nil
		}
		return nil, ctx.Err()
	})
	rec := &recorder{}
	u := New(c, testOptions(newFakeClock(), rec), hedgeOptions)
	if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-checked:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("part 1's first request was not overtaken")
	}
	// On a loaded machine another part may be hedged too.
	if hd := eventsOf[event.HedgeDone](rec); !slices.Contains(hd, event.HedgeDone{PartNumber: 1, HedgeWon: true, LoserCanceled: true}) {
		t.Fatalf("HedgeDone %+v, want part 1 overtaken", hd)
	}
	if !bytes.Equal(c.Object("b", "k").Data, data) {
		t.Fatal("the object does not hold the data")
	}
	checkGoroutines(t, base)
}

// sleepCtx sleeps for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
