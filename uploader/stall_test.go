package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// stallBody yields data, then blocks in Read until release is closed, as
// a pipe whose writer stalls does. Once released, that Read writes into
// the whole buffer it was given (as a late write to the pipe would) and
// the body ends: a buffer unmapped while the Read was pending would crash
// the process here.
type stallBody struct {
	data    []byte
	release chan struct{}
	blocked chan struct{} // closed when Read blocks
	once    sync.Once
	done    chan struct{} // closed when the blocked Read has returned
}

func newStallBody(data []byte) *stallBody {
	return &stallBody{data: data, release: make(chan struct{}), blocked: make(chan struct{}), done: make(chan struct{})}
}

func (b *stallBody) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	b.once.Do(func() { close(b.blocked) })
	<-b.release
	defer close(b.done)
	for i := range p {
		p[i] = 0xAB
	}
	return len(p), io.EOF
}

// emptyBody yields data, then returns (0, nil) forever.
type emptyBody struct {
	data    []byte
	empties atomic.Int64
}

func (b *emptyBody) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	b.empties.Add(1)
	return 0, nil
}

// TestStalledBody checks that Upload returns once its context ends,
// whatever the body's Read does, aborts the upload it created, and that
// the reader goroutine left in the blocked Read gives its part buffer
// back (unmapped only then) and ends once the Read returns.
func TestStalledBody(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name   string
		before int   // bytes the body yields before it stalls
		size   int64 // UploadInput.Size
		create bool  // a multipart upload exists when the body stalls
	}{
		{"before the first part, unknown size", 0, 0, false},
		{"before the first part, known size", 0, 40 * mib, true},
		{"after 20 MiB, unknown size", 20 * mib, 0, true},
		{"after 20 MiB, known size", 20 * mib, 40 * mib, true},
		{"in the single part, known size", 1 * mib, 4 * mib, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			c := s3mem.New("b")
			body := newStallBody(payload(tc.before))
			defer func() {
				select {
				case <-body.release:
				default:
					close(body.release)
				}
			}()
			o, err := New(c, testOptions(newFakeClock(), nil)).options.resolve()
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			o.Listener = rec
			up := newUpload(c, o, &UploadInput{Bucket: "b", Key: "k", Body: body, Size: tc.size}, mustChecksum(t))
			// The deadline falls timeout after the body blocks, however long
			// the parts before took.
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var deadline atomic.Pointer[time.Time]
			go func() {
				select {
				case <-body.blocked:
				case <-ctx.Done():
					return
				}
				time.Sleep(timeout)
				now := time.Now()
				deadline.Store(&now)
				cancel(context.DeadlineExceeded)
			}()
			_, err = up.run(ctx)
			returned := time.Now()
			var took time.Duration
			if d := deadline.Load(); d != nil {
				took = returned.Sub(*d)
			}
			t.Logf("returned %v after the deadline (%v after the body blocked): %v", took.Round(time.Millisecond), timeout, err)
			var ue *UploadError
			if !errors.As(err, &ue) || ue.Op != mpu.OpReadBody || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, mpu.ErrCanceled) {
				t.Fatalf("err %v, want a ReadBody error matching context.DeadlineExceeded and mpu.ErrCanceled", err)
			}
			select {
			case <-body.blocked:
			default:
				t.Fatal("the body never blocked")
			}
			if deadline.Load() == nil || took > 5*time.Second {
				t.Fatalf("Upload returned %v after its deadline", took)
			}
			if created := c.Count(s3mem.OpCreateMultipartUpload) > 0; created != tc.create {
				t.Fatalf("CreateMultipartUpload sent: %v, want %v", created, tc.create)
			}
			if tc.create && (!ue.Aborted || ue.UploadID == "") {
				t.Fatalf("upload %q not aborted: %v", ue.UploadID, err)
			}
			if n := len(c.Uploads()); n != 0 {
				t.Fatalf("%d uploads left", n)
			}
			if c.Count(s3mem.OpPutObject) != 0 {
				t.Fatal("an object was stored")
			}
			// Release the Read: it writes into its buffer, hands it back
			// (freed now, the upload being over) and the goroutine ends.
			close(body.release)
			<-body.done
			if up.pool != nil {
				deadline := time.Now().Add(5 * time.Second)
				for up.pool.allocs.Load() != up.pool.frees.Load() && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				if a, f := up.pool.allocs.Load(), up.pool.frees.Load(); a != f {
					t.Fatalf("%d part buffers allocated, %d freed after the Read returned", a, f)
				}
			}
			checkGoroutines(t, base)
		})
	}
}

// TestEmptyReads checks that a body returning (0, nil) forever fails the
// upload with io.ErrNoProgress after maxEmptyReads such reads in a row,
// before the first part or later, and that the upload is aborted.
func TestEmptyReads(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before int
		size   int64
		create bool
	}{
		{"before the first part, unknown size", 0, 0, false},
		{"before the first part, known size", 0, 40 * mib, true},
		{"after 20 MiB, unknown size", 20 * mib, 0, true},
		{"after 20 MiB, known size", 20 * mib, 40 * mib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			body := &emptyBody{data: payload(tc.before)}
			start := time.Now()
			_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: body, Size: tc.size})
			t.Logf("returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
			var ue *UploadError
			if !errors.As(err, &ue) || ue.Op != mpu.OpReadBody || !errors.Is(err, io.ErrNoProgress) {
				t.Fatalf("err %v, want a ReadBody error matching io.ErrNoProgress", err)
			}
			if n := body.empties.Load(); n != maxEmptyReads {
				t.Fatalf("%d empty reads, want %d", n, maxEmptyReads)
			}
			if created := c.Count(s3mem.OpCreateMultipartUpload) > 0; created != tc.create || tc.create && !ue.Aborted {
				t.Fatalf("created %v (want %v), aborted %v", created, tc.create, ue.Aborted)
			}
			if n := len(c.Uploads()); n != 0 {
				t.Fatalf("%d uploads left", n)
			}
		})
	}
}

// badCountBody returns a byte count its buffer cannot hold.
type badCountBody struct{ n int }

func (b badCountBody) Read(p []byte) (int, error) { return len(p) + b.n, nil }

// TestBodyReadMisbehaves checks that a Read reporting an impossible count
// or panicking fails the upload instead of crashing the process.
func TestBodyReadMisbehaves(t *testing.T) {
	for _, tc := range []struct {
		name string
		body io.Reader
		want string
	}{
		{"too many", badCountBody{1}, "invalid byte count"},
		{"negative", badCountBody{-1 << 30}, "invalid byte count"},
		{"panic", onlyReader{panicReader{}}, "panicked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: tc.body})
			var ue *UploadError
			if !errors.As(err, &ue) || ue.Op != mpu.OpReadBody || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("err %v, want a ReadBody error with %q", err, tc.want)
			}
		})
	}
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("boom") }

func mustChecksum(t *testing.T) *checksum {
	t.Helper()
	cs, err := checksumFor(defaultChecksumAlgorithm, "")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestMaxBufferMemory checks the ceiling on stream part buffers over a
// range of concurrencies and ceilings: the parts in flight are clamped to
// what fits, the Started event says so, the buffers never take more than
// the ceiling, and the object is stored whole.
func TestMaxBufferMemory(t *testing.T) {
	const part = 5 * mib
	data := payload(16*mib + 1)
	for _, tc := range []struct {
		conc int
		mem  int64
	}{{1, part}, {2, 3*part + mib}, {4, 64 * part}, {10000, part}, {10000, 2 * part}, {10000, 3*part + mib}} {
		conc, mem := tc.conc, tc.mem
		{
			t.Run(fmt.Sprintf("concurrency %d, %d MiB", conc, mem/mib), func(t *testing.T) {
				c := s3mem.New("b")
				rec := &recorder{}
				o, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.Concurrency, o.MaxBufferMemory = conc, mem }).options.resolve()
				if err != nil {
					t.Fatal(err)
				}
				up := newUpload(c, o, &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}, mustChecksum(t))
				if _, err := up.run(context.Background()); err != nil {
					t.Fatal(err)
				}
				bufs := min(int64(conc)+1, mem/part)
				want, clamped := conc, bufs < int64(conc)+1
				if clamped {
					want = int(max(bufs-1, 1))
				}
				st := eventsOf[event.Started](rec)
				if len(st) != 1 || st[0].Concurrency != want || st[0].ConcurrencyClamped != clamped || st[0].BufferMemory != mem {
					t.Fatalf("Started %+v, want concurrency %d clamped %v memory %d", st, want, clamped, mem)
				}
				if peak := up.pool.peak.Load(); peak > mem || peak > bufs*part {
					t.Fatalf("buffers took %d bytes at most, ceiling %d, %d buffers", peak, mem, bufs)
				}
				if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
					t.Fatal("object not stored whole")
				}
			})
		}
	}
}

// TestMaxBufferMemoryLimits checks what the ceiling rejects and what it
// leaves alone.
func TestMaxBufferMemoryLimits(t *testing.T) {
	c := s3mem.New("b")
	opts := testOptions(newFakeClock(), nil)
	// Too small for one part: rejected before any request.
	_, err := New(c, opts, func(o *Options) { o.MaxBufferMemory = 5*mib - 1 }).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: streamOf(payload(mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpValidate || !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("err %v, want a Validate error", err)
	}
	// A known size whose parts must grow past the ceiling: rejected before any request.
	big := int64(10_001) * 5 * mib
	_, err = New(c, opts, func(o *Options) { o.MaxBufferMemory = 5 * mib }).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: streamOf(nil), Size: big})
	if !errors.As(err, &ue) || ue.Op != mpu.OpValidate || !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("err %v, want a Validate error", err)
	}
	if n := len(c.Calls()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	// A body read in place is not clamped.
	rec := &recorder{}
	if _, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.Concurrency, o.MaxBufferMemory = 10000, 5*mib }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(12 * mib))}); err != nil {
		t.Fatal(err)
	}
	if st := eventsOf[event.Started](rec); len(st) != 1 || st[0].Concurrency != 10000 || st[0].ConcurrencyClamped || st[0].BufferMemory != 0 {
		t.Fatalf("Started %+v for a body read in place", st)
	}
	// The default ceiling.
	o, _ := Options{}.resolve()
	if o.MaxBufferMemory != defaultMaxBufferMemory {
		t.Fatalf("default MaxBufferMemory %d", o.MaxBufferMemory)
	}
	o, _ = Options{PartSize: 1 << 30}.resolve()
	if o.MaxBufferMemory != (defaultConcurrency+1)<<30 {
		t.Fatalf("default MaxBufferMemory %d with 1 GiB parts", o.MaxBufferMemory)
	}
}

// emptyReaderAt is a body read in place whose ReadAt returns (0, nil).
type emptyReaderAt struct{ size int64 }

func (e emptyReaderAt) ReadAt([]byte, int64) (int, error) { return 0, nil }

func (e emptyReaderAt) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return e.size + off, nil
	}
	return off, nil
}

func (e emptyReaderAt) Read([]byte) (int, error) { return 0, nil }

// TestEmptyReadAt checks that a body read in place whose ReadAt keeps
// returning (0, nil) fails with io.ErrNoProgress, in one part or many,
// and that the upload is aborted.
func TestEmptyReadAt(t *testing.T) {
	for _, size := range []int64{mib, 12 * mib} {
		c := s3mem.New("b")
		_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.MaxAttempts = 1 }).
			Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: emptyReaderAt{size}})
		if !errors.Is(err, io.ErrNoProgress) {
			t.Fatalf("size %d: err %v, want io.ErrNoProgress", size, err)
		}
		if n := len(c.Uploads()); n != 0 || c.Object("b", "k") != nil {
			t.Fatalf("size %d: %d uploads left, or an object stored", size, n)
		}
	}
}

// stallReaderAt is a body read in place whose ReadAt blocks, until
// release is closed, for any read touching [from, to); elsewhere it reads
// data. Once released, a blocked ReadAt fills its buffer and returns.
type stallReaderAt struct {
	data     []byte
	from, to int64
	release  chan struct{}
	blocked  chan struct{}
	once     sync.Once
}

func (s *stallReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < s.to && off+int64(len(p)) > s.from {
		s.once.Do(func() { close(s.blocked) })
		<-s.release
	}
	if off >= int64(len(s.data)) {
		return 0, io.EOF
	}
	n := copy(p, s.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s *stallReaderAt) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return int64(len(s.data)) + off, nil
	}
	return off, nil
}

func (s *stallReaderAt) Read([]byte) (int, error) { return 0, errors.New("not used") }

// TestStalledReaderAt checks that Upload and Resume of a body read in
// place return once their context ends while a ReadAt blocks (a hung
// network file system): while sending a part, and, for Resume, while
// fingerprinting the source before anything is sent. The upload is
// aborted (Upload) or kept for a later Resume, as on any failure.
func TestStalledReaderAt(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name     string
		resume   bool
		from, to int64
		create   bool
	}{
		{"Upload, in a part", false, 6 * mib, 7 * mib, true},
		{"Resume, in a part", true, 6 * mib, 7 * mib, true},
		{"Resume, fingerprinting the source", true, 0, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			c := s3mem.New("b")
			body := &stallReaderAt{data: payload(16 * mib), from: tc.from, to: tc.to, release: make(chan struct{}), blocked: make(chan struct{})}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var canceledAt atomic.Pointer[time.Time]
			go func() {
				select {
				case <-body.blocked:
				case <-ctx.Done():
					return
				}
				time.Sleep(timeout)
				now := time.Now()
				canceledAt.Store(&now)
				cancel(context.DeadlineExceeded)
			}()
			u := New(c, testOptions(newFakeClock(), nil))
			in := UploadInput{Bucket: "b", Key: "k", Body: body}
			var err error
			if tc.resume {
				_, err = u.Resume(ctx, &ResumeInput{UploadInput: in, StateFile: t.TempDir() + "/state"})
			} else {
				_, err = u.Upload(ctx, &in)
			}
			returned := time.Now()
			at := canceledAt.Load()
			if at == nil {
				t.Fatalf("returned before the context ended: %v", err)
			}
			took := returned.Sub(*at)
			t.Logf("returned %v after the context ended: %v", took.Round(time.Millisecond), err)
			var ue *UploadError
			if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrCanceled) {
				t.Fatalf("err %v, want a cancellation", err)
			}
			if took > 5*time.Second {
				t.Fatalf("returned %v after the context ended", took)
			}
			if created := c.Count(s3mem.OpCreateMultipartUpload) > 0; created != tc.create {
				t.Fatalf("created %v, want %v", created, tc.create)
			}
			if !tc.resume && (!ue.Aborted || len(c.Uploads()) != 0) {
				t.Fatalf("Upload left its upload: %v", err)
			}
			if tc.resume && tc.create && len(c.Uploads()) != 1 {
				t.Fatalf("%d uploads, want the one kept for a later Resume", len(c.Uploads()))
			}
			close(body.release)
			checkGoroutines(t, base)
		})
	}
}
