package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
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

// TestHugeConcurrencyAndMemory checks that extreme Concurrency and
// MaxBufferMemory values, up to the largest an int holds, neither panic
// nor overflow the number of part buffers: the upload is stored whole and
// the Started event reports a sane concurrency, whatever the body.
func TestHugeConcurrencyAndMemory(t *testing.T) {
	data := payload(10*mib + 1)
	for _, conc := range []int{math.MaxInt, math.MaxInt32, 1 << 40} {
		for _, mem := range []int64{0, 5 * mib, math.MaxInt64} {
			for _, body := range []string{"stream", "known size", "in place"} {
				t.Run(fmt.Sprintf("%d/%d/%s", conc, mem, body), func(t *testing.T) {
					c := s3mem.New("b")
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
					st := eventsOf[event.Started](rec)
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
			c := s3mem.New("b")
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

// TestResumeStateFromTheFuture checks Resume's rule for an interrupted
// CreateMultipartUpload against state files no run could have written by
// our clock: a create_last later than now (edited by hand, or written by a
// clock since set back) must not stretch the window over the uploads of
// the key started after the state file; the window then rests on
// create_started alone, as for a state file without create_last.
func TestResumeStateFromTheFuture(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC() // the fake clock's start
	const me = "arn:aws:iam::000000000000:user/me"
	started := t0.Add(-time.Hour)
	for _, last := range []time.Time{t0.Add(pendingCreateSkew + time.Second), t0.Add(24 * time.Hour), t0.AddDate(100, 0, 0), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
		for _, noInitiators := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/%v", last, noInitiators), func(t *testing.T) {
				fx := newResumeFixture(t, 11*mib)
				c := s3mem.New("b")
				c.Now = newFakeClock().Now
				orphan := createAt(t, c, "b", "k", me, started.Add(30*time.Second))
				live := createAt(t, c, "b", "k", me, t0.Add(-10*time.Minute)) // another run's, started since
				if noInitiators {
					c.Initiator = ""
				}
				interruptedState(t, fx, started, last)
				rec := &recorder{}
				if _, err := fx.resume(t, c, rec, nil, func(o *Options) { o.CallerID = me }); err != nil {
					t.Fatal(err)
				}
				if got := uploadIDs(c); !slices.Equal(got, []string{live}) {
					t.Fatalf("uploads left %v, want only %s (orphan %s)", got, live, orphan)
				}
				oc := eventsOf[event.OrphanCheck](rec)
				if len(oc) != 1 || !slices.Equal(oc[0].Aborted, []string{orphan}) || oc[0].Until.After(t0) {
					t.Fatalf("OrphanCheck %+v", oc)
				}
			})
		}
	}
}

// TestResumeListedPartTwice checks that a server listing a part more than
// once (pages that overlap, a marker ignored) neither races on the part's
// record (under -race) nor trusts a part twice: the upload completes with
// the local data.
func TestResumeListedPartTwice(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	fx.interrupt(t, c, 4)
	c.Hook(s3mem.OpListParts, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if lp, ok := out.(*s3.ListPartsOutput); ok && err == nil {
			parts := slices.Clone(lp.Parts)
			lp.Parts = append(append(parts, lp.Parts...), lp.Parts...)
		}
		return out, err
	})
	rec := &recorder{}
	if _, err := fx.resume(t, c, rec, nil, func(o *Options) { o.Concurrency = 16 }); err != nil {
		t.Fatal(err)
	}
	if r := eventsOf[event.Resumed](rec); len(r) != 1 || r[0].PartsStored != 3 || r[0].PartsToSend != 1 {
		t.Fatalf("Resumed %+v", r)
	}
	if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, fx.data) {
		t.Fatal("object not stored whole")
	}
}

// quirkyReader reads data as badly as the io.Reader contract allows: short
// reads of random length, runs of (0, nil) shorter than maxEmptyReads, and
// the last bytes returned together with io.EOF.
type quirkyReader struct {
	data []byte
	rnd  *rand.Rand
}

func (q *quirkyReader) Read(p []byte) (int, error) {
	if q.rnd.IntN(4) == 0 {
		return 0, nil // at most a few in a row: never maxEmptyReads
	}
	n := copy(p[:q.rnd.IntN(len(p))+1], q.data)
	q.data = q.data[n:]
	if len(q.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// quirkyReaderAt is a body read in place whose ReadAt returns short reads
// without error (which io.ReaderAt forbids) and data with io.EOF at the end.
type quirkyReaderAt struct {
	data []byte
	mu   sync.Mutex
	rnd  *rand.Rand
}

func (q *quirkyReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(q.data)) {
		return 0, io.EOF
	}
	q.mu.Lock()
	k := q.rnd.IntN(len(p)) + 1
	q.mu.Unlock()
	n := copy(p[:k], q.data[off:])
	if off+int64(n) == int64(len(q.data)) {
		return n, io.EOF
	}
	return n, nil
}

func (q *quirkyReaderAt) Read([]byte) (int, error) {
	return 0, errors.New("a body read in place is read with ReadAt")
}

func (q *quirkyReaderAt) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return int64(len(q.data)) + off, nil
	}
	return off, nil
}

// TestQuirkyBodies checks, over random sizes and read patterns, that bodies
// reading as badly as allowed (and a ReaderAt worse than allowed) are
// stored exactly, streamed with and without a size and read in place.
func TestQuirkyBodies(t *testing.T) {
	for seed := range uint64(6) {
		rnd := rand.New(rand.NewPCG(seed, 7))
		size := []int{0, 1, 5 * mib, 5*mib + 1, 10 * mib, rnd.IntN(17 * mib)}[seed%6]
		data := payload(size)
		for _, kind := range []string{"stream", "known size", "in place"} {
			t.Run(fmt.Sprintf("%d/%d/%s", seed, size, kind), func(t *testing.T) {
				c := s3mem.New("b")
				in := &UploadInput{Bucket: "b", Key: "k", Body: &quirkyReader{data: data, rnd: rand.New(rand.NewPCG(seed, 1))}}
				switch kind {
				case "known size":
					in.Size = int64(size)
				case "in place":
					in.Body = &quirkyReaderAt{data: data, rnd: rand.New(rand.NewPCG(seed, 2))}
				}
				if size == 0 && kind == "known size" {
					return // Size 0 means unknown
				}
				if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), in); err != nil {
					t.Fatal(err)
				}
				if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
					t.Fatal("object not stored exactly")
				}
			})
		}
	}
}

// TestAbandonedBufferNotReused checks that the buffer an abandoned Read
// still writes into is never the buffer of another upload of the same
// Uploader: the second upload, running while the first one's stalled Read
// returns and fills its buffer with garbage, stores its own bytes.
func TestAbandonedBufferNotReused(t *testing.T) {
	for _, size := range []int64{0, 4 * mib, 12 * mib} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := s3mem.New("b")
			u := New(c, testOptions(newFakeClock(), nil))
			stalled := newStallBody(payload(int(min(size, 6*mib))))
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-stalled.blocked; cancel() }()
			if _, err := u.Upload(ctx, &UploadInput{Bucket: "b", Key: "stalled", Body: stalled, Size: size}); !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v", err)
			}
			// The second upload's parts are being sent when the first
			// one's Read returns and writes into its buffer.
			data := payload(17 * mib)
			for i := range data {
				data[i] ^= 0x5A
			}
			first := make(chan struct{})
			var once sync.Once
			c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
				once.Do(func() { close(first); close(stalled.release); <-stalled.done })
				return next(ctx)
			})
			if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}); err != nil {
				t.Fatal(err)
			}
			<-first
			if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
				t.Fatal("the second upload stored other bytes")
			}
			if n := len(c.Uploads()); n != 0 {
				t.Fatalf("%d uploads left", n)
			}
		})
	}
}

// TestUploadGoneMidRunNotLeftInPlace checks what a Resume whose upload is
// aborted by someone else mid-run (another process sharing the state file,
// an operator, a lifecycle rule) says: the error must not claim the upload
// was left in place with its parts, since it no longer exists.
func TestUploadGoneMidRunNotLeftInPlace(t *testing.T) {
	for _, op := range []string{s3mem.OpUploadPart, s3mem.OpCompleteMultipartUpload} {
		t.Run(op, func(t *testing.T) {
			fx := newResumeFixture(t, 16*mib)
			c := s3mem.New("b")
			var once sync.Once
			c.Hook(op, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
				once.Do(func() {
					for _, u := range c.Uploads() {
						if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &u.Bucket, Key: &u.Key, UploadId: &u.UploadID}); err != nil {
							t.Error(err)
						}
					}
				})
				return next(ctx)
			})
			_, err := fx.resume(t, c, nil, nil, func(o *Options) { o.Concurrency = 1 })
			var ue *UploadError
			if !errors.As(err, &ue) || ue.UploadID == "" {
				t.Fatalf("err %v", err)
			}
			if msg := err.Error(); strings.Contains(msg, "left in place") || strings.Contains(msg, "kept") {
				t.Fatalf("err %q claims the upload was left", msg)
			}
			if n := len(c.Uploads()); n != 0 {
				t.Fatalf("%d uploads left", n)
			}
		})
	}
}

var errFault = errors.New("the source reports a fault")

// faultAtReader returns data; the Read that reaches offset at exactly also
// returns errFault, once.
type faultAtReader struct {
	data []byte
	off  int
	at   int
	sent bool
}

func (r *faultAtReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	end := min(len(r.data), r.off+len(p))
	if !r.sent && r.off < r.at && end >= r.at {
		end = r.at
		n := copy(p, r.data[r.off:end])
		r.off += n
		r.sent = true
		return n, errFault
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}

// TestReadErrorWithLastBytes checks that an error a body's Read returns
// together with bytes is never dropped, also when those bytes fill a part
// buffer exactly (io.ReadFull drops that error) and the next Read carries
// on without it: the upload fails with it, nothing is stored and no upload
// is left, wherever the error falls.
func TestReadErrorWithLastBytes(t *testing.T) {
	const total = 12 * mib
	for _, at := range []int{1, 5*mib - 1, 5 * mib, 5*mib + 1, 10 * mib, total - 1, total} {
		for _, size := range []int64{0, total} {
			t.Run(fmt.Sprintf("%d/%d", at, size), func(t *testing.T) {
				c := s3mem.New("b")
				_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(),
					&UploadInput{Bucket: "b", Key: "k", Body: &faultAtReader{data: payload(total), at: at}, Size: size})
				var ue *UploadError
				if !errors.As(err, &ue) || ue.Op != mpu.OpReadBody || !errors.Is(err, errFault) {
					t.Fatalf("err %v, want a ReadBody error matching the body's", err)
				}
				if c.Object("b", "k") != nil || len(c.Uploads()) != 0 {
					t.Fatalf("object stored or %d uploads left", len(c.Uploads()))
				}
			})
		}
	}
}

// TestListUploadsMarkersCycle checks that a server whose
// ListMultipartUploads pages come back round to markers already seen (a
// broken pagination) makes the orphan rules fail after a few pages, not
// list forever.
func TestListUploadsMarkersCycle(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	c.Now = newFakeClock().Now
	createAt(t, c, "b", "k", c.Initiator, t0.Add(-time.Hour))
	var calls atomic.Int64
	c.Hook(s3mem.OpListMultipartUploads, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if lu, ok := out.(*s3.ListMultipartUploadsOutput); ok && err == nil {
			n := calls.Add(1)
			lu.IsTruncated = aws.Bool(true)
			lu.NextKeyMarker, lu.NextUploadIdMarker = aws.String("k"), aws.String(fmt.Sprintf("marker-%d", n%3))
		}
		return out, err
	})
	interruptedState(t, fx, t0.Add(-time.Hour), t0.Add(-time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := mustOpen(t, fx.path)
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.CallerID = c.Initiator }).
		Resume(ctx, &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: fx.state})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpListMultipartUploads || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want a ListMultipartUploads error", err)
	}
	if n := calls.Load(); n > 10 {
		t.Fatalf("%d pages listed", n)
	}
}

// TestInitiatorFormatsNeverMatchLoosely checks that Resume's rule for an
// interrupted CreateMultipartUpload compares initiators exactly: a caller
// named in another form than the server's (a role ARN for an assumed-role
// session, another session of the same role, a user ARN without its path,
// other case, stray spaces, the account root for a canonical ID) never
// aborts the upload; it is kept and named. Only the exact identity aborts.
func TestInitiatorFormatsNeverMatchLoosely(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	for _, tc := range []struct{ initiator, caller string }{
		{"arn:aws:sts::111122223333:assumed-role/Builder/run-1", "arn:aws:iam::111122223333:role/Builder"},
		{"arn:aws:sts::111122223333:assumed-role/Builder/run-1", "arn:aws:sts::111122223333:assumed-role/Builder/run-2"},
		{"arn:aws:iam::111122223333:user/team/alice", "arn:aws:iam::111122223333:user/alice"},
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/Alice"},
		{"arn:aws:iam::111122223333:user/alice", " arn:aws:iam::111122223333:user/alice"},
		{"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "arn:aws:iam::111122223333:root"},
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice"}, // the same: aborted
	} {
		t.Run(tc.caller, func(t *testing.T) {
			fx := newResumeFixture(t, 11*mib)
			c := s3mem.New("b")
			c.Now = newFakeClock().Now
			id := createAt(t, c, "b", "k", tc.initiator, t0.Add(-time.Hour))
			interruptedState(t, fx, t0.Add(-time.Hour), t0.Add(-time.Hour))
			rec := &recorder{}
			if _, err := fx.resume(t, c, rec, nil, func(o *Options) { o.CallerID = tc.caller }); err != nil {
				t.Fatal(err)
			}
			oc := eventsOf[event.OrphanCheck](rec)
			same := tc.initiator == tc.caller
			left := slices.Contains(uploadIDs(c), id)
			if len(oc) != 1 || left == same || same != slices.Equal(oc[0].Aborted, []string{id}) || !same && !slices.Equal(oc[0].Kept, []string{id}) {
				t.Fatalf("OrphanCheck %+v, upload left %v", oc, left)
			}
			if left {
				if _, err := c.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: &id}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
