package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/internal/s3fake"
)

// TestHugeConcurrencyAndMemory checks that extreme Concurrency and
// MaxBufferMemory values, up to the largest an int holds, neither panic
// nor overflow the number of part buffers: the upload is stored whole and
// the Started event reports a sane concurrency, whatever the body.
func TestHugeConcurrencyAndMemory(t *testing.T) {
	data := payload(12*mib + 1)
	for _, conc := range []int{math.MaxInt, math.MaxInt - 1, math.MaxInt32, 1 << 40} {
		for _, mem := range []int64{0, 5 * mib, math.MaxInt64, math.MaxInt64 - 1} {
			for _, body := range []string{"stream", "known size", "in place"} {
				t.Run(fmt.Sprintf("%d/%d/%s", conc, mem, body), func(t *testing.T) {
					c := s3fake.New("b")
					rec := &recorder{}
					in := &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}
					switch body {
					case "known size":
						in.Size = int64(len(data))
					case "in place":
						in.Body = bytes.NewReader(data)
					}
					_, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.Concurrency, o.MaxBufferMemory = conc, mem }).
						Upload(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					st := eventsOf[Started](rec)
					if len(st) != 1 || st[0].Concurrency < 1 || st[0].Concurrency > conc {
						t.Fatalf("Started %+v", st)
					}
					if body != "in place" && mem != 0 && st[0].Concurrency > int(min(mem/(5*mib), math.MaxInt)) {
						t.Fatalf("concurrency %d not clamped to MaxBufferMemory %d", st[0].Concurrency, mem)
					}
					if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
						t.Fatal("object not stored whole")
					}
				})
			}
		}
	}
}

// drainBody blocks in its first Read until release is closed; every Read
// from then on returns one byte at once, as a stalled pipe whose writer
// comes back does.
type drainBody struct {
	release chan struct{}
	blocked chan struct{}
	once    sync.Once
	calls   atomic.Int64
}

func (b *drainBody) Read(p []byte) (int, error) {
	b.calls.Add(1)
	b.once.Do(func() { close(b.blocked) })
	<-b.release
	p[0] = 1
	return 1, nil
}

// TestAbandonedReadNotContinued checks that once Upload has returned on
// its context while the body's Read blocked, the reader goroutine makes no
// further Read of the body after that one returns: the body is the
// caller's again, who may read or close it.
func TestAbandonedReadNotContinued(t *testing.T) {
	for _, size := range []int64{0, 40 * mib, 4 * mib} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			base := runtime.NumGoroutine()
			c := s3fake.New("b")
			body := &drainBody{release: make(chan struct{}), blocked: make(chan struct{})}
			o, err := New(c, testOptions(newFakeClock(), nil)).options.resolve()
			if err != nil {
				t.Fatal(err)
			}
			up := newUpload(c, o, &UploadInput{Bucket: "b", Key: "k", Body: body, Size: size}, mustChecksum(t))
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-body.blocked; cancel() }()
			if _, err := up.run(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			close(body.release)
			if up.pool != nil {
				for deadline := time.Now().Add(10 * time.Second); up.pool.allocs.Load() != up.pool.frees.Load() && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}
			checkGoroutines(t, base)
			if n := body.calls.Load(); n != 1 {
				t.Fatalf("the body was read %d times, %d after Upload returned", n, n-1)
			}
			if n := len(c.Uploads()); n != 0 {
				t.Fatalf("%d uploads left", n)
			}
		})
	}
}
