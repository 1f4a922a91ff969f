package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

func TestSuccessSequences(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		stream bool
		ops    []string
		parts  int
	}{
		{"empty file", 0, false, []string{"PutObject"}, 0},
		{"empty stream", 0, true, []string{"PutObject"}, 0},
		{"1 byte file", 1, false, []string{"PutObject"}, 0},
		{"1 byte stream", 1, true, []string{"PutObject"}, 0},
		{"part size file", 5 * mib, false, []string{"PutObject"}, 0},
		{"part size stream", 5 * mib, true, []string{"PutObject"}, 0},
		{"part size minus 1 stream", 5*mib - 1, true, []string{"PutObject"}, 0},
		{"part size plus 1 file", 5*mib + 1, false, []string{"CreateMultipartUpload", "UploadPart×2", "CompleteMultipartUpload"}, 2},
		{"part size plus 1 stream", 5*mib + 1, true, []string{"CreateMultipartUpload", "UploadPart×2", "CompleteMultipartUpload"}, 2},
		{"3 parts file", 11 * mib, false, []string{"CreateMultipartUpload", "UploadPart×3", "CompleteMultipartUpload"}, 3},
		{"3 parts stream", 11 * mib, true, []string{"CreateMultipartUpload", "UploadPart×3", "CompleteMultipartUpload"}, 3},
		{"exact parts stream", 10 * mib, true, []string{"CreateMultipartUpload", "UploadPart×2", "CompleteMultipartUpload"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			data := payload(tc.size)
			c := s3mem.New("b")
			rec := &recorder{}
			u := New(c, testOptions(newFakeClock(), rec))
			var body io.Reader = bytes.NewReader(data)
			if tc.stream {
				body = streamOf(data)
			}
			out, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: body, ContentType: "application/x-test", Metadata: map[string]string{"a": "b"}})
			if err != nil {
				t.Fatal(err)
			}
			checkGoroutines(t, base)
			if got := opsCompact(c.Ops()); !slices.Equal(got, tc.ops) {
				t.Fatalf("ops %v, want %v", got, tc.ops)
			}
			obj := c.Object("b", "k")
			if obj == nil || !bytes.Equal(obj.Data, data) {
				t.Fatal("stored object differs")
			}
			if obj.ContentType != "application/x-test" || obj.Metadata["a"] != "b" {
				t.Fatalf("headers not passed: %q %v", obj.ContentType, obj.Metadata)
			}
			if out.Size != int64(tc.size) || len(out.Parts) != tc.parts {
				t.Fatalf("output size %d parts %d", out.Size, len(out.Parts))
			}
			if obj.ChecksumAlgo != types.ChecksumAlgorithmCrc32c || out.Checksum != s3mem.Checksum("CRC32C", data) {
				t.Fatalf("checksum: object %s %s, output %s", obj.ChecksumAlgo, obj.Checksum, out.Checksum)
			}
			if tc.parts > 0 {
				if obj.ChecksumType != types.ChecksumTypeFullObject || obj.Checksum != out.Checksum {
					t.Fatalf("object checksum %s %s, output %s", obj.ChecksumType, obj.Checksum, out.Checksum)
				}
				if want := seq(tc.parts); !slices.Equal(partNumbers(c), want) {
					t.Fatalf("parts %v", partNumbers(c))
				}
				for _, call := range c.CallsOf(s3mem.OpUploadPart) {
					in := call.Input.(*s3.UploadPartInput)
					// The checksum is computed as the part is sent (the SDK
					// sends it as a header or trailer), so only the algorithm
					// is in the input; the fake computes and checks it.
					if in.ChecksumCRC32C != nil || in.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32c ||
						in.ContentLength == nil || *in.ContentLength != call.BodySize {
						t.Fatalf("part %d input: checksum %v length %v body %d", *in.PartNumber, in.ChecksumCRC32C, in.ContentLength, call.BodySize)
					}
					if len(call.OptFns) == 0 {
						t.Fatal("no per-call options")
					}
				}
				cin := c.CallsOf(s3mem.OpCompleteMultipartUpload)[0].Input.(*s3.CompleteMultipartUploadInput)
				if aws.ToInt64(cin.MpuObjectSize) != int64(tc.size) || aws.ToString(cin.ChecksumCRC32C) != out.Checksum {
					t.Fatalf("complete input: size %v checksum %v", cin.MpuObjectSize, cin.ChecksumCRC32C)
				}
			}
			// Events.
			started := eventsOf[event.Started](rec)
			if len(started) != 1 {
				t.Fatalf("%d Started events", len(started))
			}
			var sent int64
			for _, e := range eventsOf[event.BytesSent](rec) {
				sent += e.Bytes
			}
			if sent != int64(tc.size) {
				t.Fatalf("BytesSent total %d, want %d", sent, tc.size)
			}
			if n := len(eventsOf[event.PartDone](rec)); n != tc.parts {
				t.Fatalf("%d PartDone events", n)
			}
			if done := eventsOf[event.Completed](rec); len(done) != 1 || !sameCompletion(done[0], out) {
				t.Fatal("no Completed event")
			}
			if len(eventsOf[event.Failed](rec)) != 0 || len(eventsOf[event.Aborted](rec)) != 0 {
				t.Fatal("failure events on success")
			}
		})
	}
}

func seq(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i + 1)
	}
	return out
}

func TestReaderAtFromCurrentOffset(t *testing.T) {
	data := payload(7 * mib)
	r := bytes.NewReader(data)
	if _, err := r.Seek(mib, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	c := s3mem.New("b")
	if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: r}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Object("b", "k").Data, data[mib:]) {
		t.Fatal("did not upload from the current offset")
	}
}

func TestKnownSizeStream(t *testing.T) {
	data := payload(12 * mib)
	c := s3mem.New("b")
	out, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data), Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Object("b", "k").Data, data) || len(out.Parts) != 3 {
		t.Fatal("wrong object")
	}
}

func TestSizeMismatch(t *testing.T) {
	data := payload(12 * mib)
	for _, tc := range []struct {
		name      string
		body      io.Reader
		size      int64
		wantCalls bool // a multipart upload was started before the mismatch showed
	}{
		{"file declared larger", bytes.NewReader(data), int64(len(data)) + 1, false},
		{"file declared smaller", bytes.NewReader(data), int64(len(data)) - 1, false},
		{"small stream shorter", streamOf(data[:100]), 200, false},
		{"small stream longer", streamOf(data[:300]), 200, false},
		{"stream shorter", streamOf(data[:11*mib]), int64(len(data)), true},
		{"stream longer", streamOf(data), 11 * mib, true},
		{"stream longer at part boundary", streamOf(data), 10 * mib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: tc.body, Size: tc.size})
			var ue *UploadError
			if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrInvalidInput) {
				t.Fatalf("err = %v", err)
			}
			if c.Object("b", "k") != nil || len(c.Uploads()) != 0 {
				t.Fatal("object or upload left")
			}
			if !tc.wantCalls {
				if n := len(c.Calls()); n != 0 {
					t.Fatalf("%d requests before a mismatch known in advance: %v", n, c.Ops())
				}
				return
			}
			ops := c.Ops()
			if len(ops) < 2 || ops[0] != s3mem.OpCreateMultipartUpload || !slices.Equal(ops[len(ops)-2:], []string{s3mem.OpAbortMultipartUpload, s3mem.OpListParts}) || !ue.Aborted || ue.Op != mpu.OpReadBody {
				t.Fatalf("ops %v, error %+v", ops, ue)
			}
			if slices.Contains(ops, s3mem.OpCompleteMultipartUpload) {
				t.Fatal("completed despite the mismatch")
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	body := bytes.NewReader([]byte("x"))
	for _, tc := range []struct {
		name string
		in   *UploadInput
		opt  func(*Options)
	}{
		{"nil input", nil, nil},
		{"empty bucket", &UploadInput{Key: "k", Body: body}, nil},
		{"empty key", &UploadInput{Bucket: "b", Body: body}, nil},
		{"long key", &UploadInput{Bucket: "b", Key: strings.Repeat("k", 1025), Body: body}, nil},
		{"invalid utf-8 key", &UploadInput{Bucket: "b", Key: "\xff", Body: body}, nil},
		{"nil body", &UploadInput{Bucket: "b", Key: "k"}, nil},
		{"negative size", &UploadInput{Bucket: "b", Key: "k", Body: body, Size: -2}, nil},
		{"too large", &UploadInput{Bucket: "b", Key: "k", Body: body, Size: mpu.MaxObjectSize + 1}, nil},
		{"half SSE-C", &UploadInput{Bucket: "b", Key: "k", Body: body, SSECustomerKey: "k"}, nil},
		{"bad input checksum", &UploadInput{Bucket: "b", Key: "k", Body: body, ChecksumAlgorithm: "MD5"}, nil},
		{"part size small", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.PartSize = mpu.MinPartSize - 1 }},
		{"part size large", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.PartSize = mpu.MaxPartSize + 1 }},
		{"concurrency", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.Concurrency = -1 }},
		{"attempts", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.MaxAttempts = -1 }},
		{"abort attempts", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.AbortAttempts = -3 }},
		{"rate", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.RateLimit = -1 }},
		{"checksum type", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.ChecksumAlgorithm = "SHA256"; o.ChecksumType = "FULL_OBJECT" }},
		{"preflight mode without checker", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.PreflightMode = PreflightWarn }},
		{"unknown preflight mode", &UploadInput{Bucket: "b", Key: "k", Body: body}, func(o *Options) { o.PreflightMode = 42 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			var opts []func(*Options)
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			out, err := New(c).Upload(context.Background(), tc.in, opts...)
			var ue *UploadError
			if out != nil || !errors.As(err, &ue) || ue.Op != mpu.OpValidate || !errors.Is(err, mpu.ErrInvalidInput) {
				t.Fatalf("out %v err %v", out, err)
			}
			if len(c.Calls()) != 0 {
				t.Fatalf("requests made: %v", c.Ops())
			}
		})
	}
	//lint:ignore SA1012 checking that a nil context is rejected, not panicked on
	if _, err := New(s3mem.New("b")).Upload(nil, &UploadInput{Bucket: "b", Key: "k", Body: body}); !errors.Is(err, mpu.ErrInvalidInput) { //nolint:staticcheck
		t.Fatal(err)
	}
}

func partHook(n int32, h s3mem.Hook) s3mem.Hook {
	return func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber) == n {
			return h(ctx, call, next)
		}
		return next(ctx)
	}
}

func TestPartFailsAfterRetries(t *testing.T) {
	base := runtime.NumGoroutine()
	clk := newFakeClock()
	rec := &recorder{}
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, partHook(2, s3mem.Fail(s3mem.InternalError(s3mem.OpUploadPart))))
	data := payload(11 * mib)
	_, err := New(c, testOptions(clk, rec), func(o *Options) { o.Concurrency = 1; o.MaxAttempts = 4 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)})
	checkGoroutines(t, base)
	var ue *UploadError
	if !errors.As(err, &ue) {
		t.Fatal(err)
	}
	if ue.Op != mpu.OpUploadPart || ue.PartNumber != 2 || !ue.Aborted || ue.AbortErr != nil || ue.UploadID == "" {
		t.Fatalf("%+v", ue)
	}
	if !errors.Is(err, mpu.ErrTransient) || s3err.Code(err) != "InternalError" {
		t.Fatalf("category: %v", err)
	}
	want := []string{"CreateMultipartUpload", "UploadPart×5", "AbortMultipartUpload", "ListParts"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if got := partNumbers(c); !slices.Equal(got, []int32{1, 2, 2, 2, 2}) {
		t.Fatalf("parts %v", got)
	}
	retries := eventsOf[event.Retry](rec)
	if len(retries) != 3 {
		t.Fatalf("%d retry events", len(retries))
	}
	for i, r := range retries {
		if r.Op != mpu.OpUploadPart || r.PartNumber != 2 || r.Attempt != i+1 || r.Err == nil {
			t.Fatalf("retry %d: %+v", i, r)
		}
	}
	// Exponential waits with ±50% jitter, taken from the fake clock.
	waits := clk.Waits()
	if len(waits) != 3 {
		t.Fatalf("waits %v", waits)
	}
	for i, w := range waits {
		nominal := defaultInitialBackoff << i
		if w < nominal/2 || w > nominal*3/2 || w != retries[i].Wait {
			t.Fatalf("wait %d = %v, nominal %v", i, w, nominal)
		}
	}
	if len(c.Uploads()) != 0 || c.Object("b", "k") != nil {
		t.Fatal("upload or object left")
	}
	if ab := eventsOf[event.Aborted](rec); len(ab) != 1 || ab[0].Err != nil {
		t.Fatalf("aborted events %+v", ab)
	}
	if f := eventsOf[event.Failed](rec); len(f) != 1 || f[0].Err != ue {
		t.Fatal("failed event")
	}
}

func TestPermanentErrorNotRetried(t *testing.T) {
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, partHook(3, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart))))
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.Concurrency = 1 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.PartNumber != 3 || !ue.Aborted || !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("%v", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatal("SDK error not reachable")
	}
	want := []string{"CreateMultipartUpload", "UploadPart×3", "AbortMultipartUpload", "ListParts"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	c := s3mem.New("b")
	// Part 1's first two attempts read the whole body and then fail, as a
	// connection reset after sending would.
	// Attempts are counted per part: call.N counts every UploadPart, and
	// part 2 may reach the fake before part 1.
	var attempts atomic.Int32
	c.Hook(s3mem.OpUploadPart, partHook(1, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if attempts.Add(1) <= 2 {
			_, _ = io.Copy(io.Discard, call.Input.(*s3.UploadPartInput).Body)
			return nil, s3mem.SlowDown(call.Op)
		}
		return next(ctx)
	}))
	data := payload(11 * mib)
	out, err := New(c, testOptions(clk, rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Object("b", "k").Data, data) || out.Parts[0].PartNumber != 1 {
		t.Fatal("object")
	}
	if n := len(eventsOf[event.Retry](rec)); n != 2 {
		t.Fatalf("%d retries", n)
	}
	if done := checkTally(t, rec); done.Retries != 2 || done.Hedges != 0 {
		t.Fatalf("Completed counts %d retries and %d hedges, want 2 and 0", done.Retries, done.Hedges)
	}
	var sent int64
	for _, e := range eventsOf[event.BytesSent](rec) {
		sent += e.Bytes
	}
	if sent != int64(len(data)) {
		t.Fatalf("BytesSent counted %d bytes for %d (retries counted twice?)", sent, len(data))
	}
	for _, pd := range eventsOf[event.PartDone](rec) {
		if pd.PartNumber == 1 && pd.Attempts != 3 {
			t.Fatalf("part 1 attempts %d", pd.Attempts)
		}
	}
}

func TestMaxElapsedBoundsRetries(t *testing.T) {
	clk := newFakeClock()
	c := s3mem.New("b")
	c.Hook(s3mem.OpPutObject, s3mem.Fail(s3mem.SlowDown(s3mem.OpPutObject)))
	_, err := New(c, testOptions(clk, nil), func(o *Options) {
		o.MaxAttempts = 100
		o.InitialBackoff = 1e9 // 1s
		o.MaxElapsed = 10e9    // 10s
	}).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: strings.NewReader("hello")})
	if !errors.Is(err, mpu.ErrThrottled) {
		t.Fatal(err)
	}
	n := c.Count(s3mem.OpPutObject)
	if n < 2 || n > 6 {
		t.Fatalf("%d attempts within a 10 s budget starting at 1 s waits", n)
	}
	if !strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("message %q", err)
	}
}

func TestCompleteFailure(t *testing.T) {
	c := s3mem.New("b")
	c.Hook(s3mem.OpCompleteMultipartUpload, s3mem.Fail(s3mem.AccessDenied(s3mem.OpCompleteMultipartUpload)))
	_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpCompleteMultipartUpload || !ue.Aborted || !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("%v", err)
	}
	want := []string{"CreateMultipartUpload", "UploadPart×2", "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if len(c.Uploads()) != 0 {
		t.Fatal("upload left")
	}
}

func TestCompleteLostAnswer(t *testing.T) {
	c := s3mem.New("b")
	// The first Complete succeeds on the server but its answer is lost.
	c.Hook(s3mem.OpCompleteMultipartUpload, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if call.N == 0 && err == nil {
			return nil, s3mem.InternalError(call.Op)
		}
		return out, err
	})
	data := payload(6 * mib)
	out, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CreateMultipartUpload", "UploadPart×2", "CompleteMultipartUpload", "CompleteMultipartUpload", "HeadObject"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if out.Checksum != s3mem.Checksum("CRC32C", data) || out.ETag == "" {
		t.Fatalf("output %+v", out)
	}
	head := c.CallsOf(s3mem.OpHeadObject)[0].Input.(*s3.HeadObjectInput)
	if head.ChecksumMode != types.ChecksumModeEnabled {
		t.Fatal("HeadObject without checksum mode")
	}
}

func TestCompleteNoSuchUploadOtherObject(t *testing.T) {
	c := s3mem.New("b")
	// The first Complete fails, then someone aborts the upload and writes
	// another object: NoSuchUpload must not pass for success.
	c.Hook(s3mem.OpCompleteMultipartUpload, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if call.N == 0 {
			in := call.Input.(*s3.CompleteMultipartUploadInput)
			_, _ = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: in.Bucket, Key: in.Key, UploadId: in.UploadId})
			c.PutObjectData("b", "k", payload(6*mib-1))
			return nil, s3mem.InternalError(call.Op)
		}
		return next(ctx)
	})
	_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpCompleteMultipartUpload || !errors.Is(err, mpu.ErrNotFound) {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(err.Error(), "does not show an earlier attempt completed it") {
		t.Fatalf("message: %v", err)
	}
}

func TestCancelMidUpload(t *testing.T) {
	base := runtime.NumGoroutine()
	c := s3mem.New("b")
	started := make(chan *s3mem.Call, 10)
	c.Hook(s3mem.OpUploadPart, partHook(2, s3mem.Block(nil, started)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{}
	errc := make(chan error, 1)
	go func() {
		_, err := New(c, testOptions(newFakeClock(), rec)).Upload(ctx, &UploadInput{Bucket: "b", Key: "k", Body: streamOf(payload(16 * mib))})
		errc <- err
	}()
	<-started
	cancel()
	err := <-errc
	checkGoroutines(t, base)
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	if !ue.Aborted || ue.AbortErr != nil {
		t.Fatalf("not aborted: %+v", ue)
	}
	ops := c.Ops()
	if len(ops) < 2 || ops[0] != s3mem.OpCreateMultipartUpload || !slices.Equal(ops[len(ops)-2:], []string{s3mem.OpAbortMultipartUpload, s3mem.OpListParts}) || slices.Contains(ops, s3mem.OpCompleteMultipartUpload) {
		t.Fatalf("ops %v", ops)
	}
	if len(c.Uploads()) != 0 || c.Object("b", "k") != nil {
		t.Fatal("left behind")
	}
}

func TestAbortFails(t *testing.T) {
	clk := newFakeClock()
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart)))
	c.Hook(s3mem.OpAbortMultipartUpload, s3mem.Fail(s3mem.InternalError(s3mem.OpAbortMultipartUpload)))
	_, err := New(c, testOptions(clk, nil), func(o *Options) { o.AbortAttempts = 3; o.Concurrency = 1 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Aborted || ue.AbortErr == nil {
		t.Fatalf("%+v", ue)
	}
	if !errors.Is(err, mpu.ErrPermissionDenied) || !errors.Is(err, mpu.ErrTransient) || !errors.Is(ue.AbortErr, mpu.ErrTransient) || errors.Is(ue.Err, mpu.ErrTransient) {
		t.Fatalf("categories: %v", err)
	}
	if n := c.Count(s3mem.OpAbortMultipartUpload); n != 3 {
		t.Fatalf("%d abort attempts", n)
	}
	msg := err.Error()
	if !strings.Contains(msg, "abort of upload "+ue.UploadID+" failed") || !strings.Contains(msg, "lifecycle") {
		t.Fatalf("message %q", msg)
	}
	if len(c.Uploads()) != 1 {
		t.Fatal("the fake should still hold the upload")
	}
}

func TestAbortDenied(t *testing.T) {
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, partHook(2, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart))))
	c.Hook(s3mem.OpAbortMultipartUpload, s3mem.Fail(s3mem.AccessDenied(s3mem.OpAbortMultipartUpload)))
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.Concurrency = 1 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib)), SSECustomerAlgorithm: "AES256", SSECustomerKey: "c2VjcmV0LWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg5MDE="})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Aborted || !errors.Is(ue.AbortErr, mpu.ErrPermissionDenied) {
		t.Fatalf("%v", err)
	}
	if n := c.Count(s3mem.OpAbortMultipartUpload); n != 1 {
		t.Fatalf("denied abort retried: %d attempts", n)
	}
	want := []string{"CreateMultipartUpload", "UploadPart×2", "AbortMultipartUpload"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	msg := err.Error()
	for _, s := range []string{"bucket owner", "initiator", "account", "s3:AbortMultipartUpload", "s3mpu uploads abort s3://b/k --upload-id " + ue.UploadID, "AbortIncompleteMultipartUpload"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "c2VjcmV0") || strings.Contains(fmt.Sprintf("%+v %#v", ue, ue), "c2VjcmV0") {
		t.Error("SSE-C key in the error")
	}
}

func TestLeavePartsOnError(t *testing.T) {
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, partHook(2, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart))))
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.LeavePartsOnError = true; o.Concurrency = 1 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Aborted || ue.AbortErr != nil || ue.UploadID == "" {
		t.Fatalf("%+v", ue)
	}
	if c.Count(s3mem.OpAbortMultipartUpload) != 0 || len(c.Uploads()) != 1 {
		t.Fatal("aborted although asked to leave the parts")
	}
	if !strings.Contains(err.Error(), "left in place") {
		t.Fatal(err)
	}
}

func TestListenerPanic(t *testing.T) {
	for _, on := range []string{"Started", "PartDone", "BytesSent"} {
		t.Run(on, func(t *testing.T) {
			base := runtime.NumGoroutine()
			c := s3mem.New("b")
			var panicked atomic.Bool
			l := event.ListenerFunc(func(e event.Event) {
				if panicked.Load() {
					t.Errorf("listener called after its panic with %T", e)
				}
				if fmt.Sprintf("%T", e) == "event."+on {
					panicked.Store(true)
					panic("boom")
				}
			})
			_, err := New(c, testOptions(newFakeClock(), l)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(16 * mib))})
			checkGoroutines(t, base)
			var ue *UploadError
			if !errors.As(err, &ue) || ue.Op != mpu.OpListener || !errors.Is(err, ErrListenerPanic) || !ue.Aborted {
				t.Fatalf("%v", err)
			}
			if c.Count(s3mem.OpCompleteMultipartUpload) != 0 || c.Count(s3mem.OpAbortMultipartUpload) != 1 || len(c.Uploads()) != 0 {
				t.Fatalf("ops %v", c.Ops())
			}
		})
	}
}

func TestChecksumMismatchReported(t *testing.T) {
	t.Run("part", func(t *testing.T) {
		c := s3mem.New("b")
		c.Hook(s3mem.OpUploadPart, partHook(1, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
			out, err := next(ctx)
			if err == nil {
				o := *out.(*s3.UploadPartOutput)
				o.ChecksumCRC32C = aws.String("AAAAAA==")
				return &o, nil
			}
			return out, err
		}))
		_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib))})
		var ue *UploadError
		if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrChecksumMismatch) || !ue.Aborted || ue.PartNumber != 1 {
			t.Fatalf("%v", err)
		}
		if n := len(partNumbers(c)); n != 2 {
			t.Fatalf("mismatch retried: %v", partNumbers(c))
		}
	})
	t.Run("object", func(t *testing.T) {
		c := s3mem.New("b")
		c.Hook(s3mem.OpCompleteMultipartUpload, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
			out, err := next(ctx)
			if err == nil {
				o := *out.(*s3.CompleteMultipartUploadOutput)
				o.ChecksumCRC32C = aws.String("AAAAAA==")
				return &o, nil
			}
			return out, err
		})
		_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib))})
		var ue *UploadError
		if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrChecksumMismatch) || ue.Aborted || c.Count(s3mem.OpAbortMultipartUpload) != 0 {
			t.Fatalf("%v", err)
		}
		if !strings.Contains(err.Error(), "the object was stored") {
			t.Fatal(err)
		}
	})
	t.Run("put", func(t *testing.T) {
		c := s3mem.New("b")
		c.Hook(s3mem.OpPutObject, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
			out, err := next(ctx)
			o := *out.(*s3.PutObjectOutput)
			o.ChecksumCRC32C = aws.String("AAAAAA==")
			return &o, err
		})
		_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: strings.NewReader("abc")})
		if !errors.Is(err, mpu.ErrChecksumMismatch) {
			t.Fatal(err)
		}
	})
}

func TestChecksumAlgorithms(t *testing.T) {
	data := payload(11 * mib)
	for _, tc := range []struct {
		algo types.ChecksumAlgorithm
		typ  types.ChecksumType
	}{
		{"CRC32", ""}, {"CRC32", "COMPOSITE"}, {"CRC32C", "COMPOSITE"}, {"CRC64NVME", ""}, {"SHA1", ""}, {"SHA256", ""},
	} {
		t.Run(string(tc.algo)+"/"+string(tc.typ), func(t *testing.T) {
			c := s3mem.New("b")
			out, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(),
				&UploadInput{Bucket: "b", Key: "k", Body: streamOf(data), ChecksumAlgorithm: tc.algo, ChecksumType: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			obj := c.Object("b", "k")
			if obj.ChecksumAlgo != tc.algo || obj.Checksum != out.Checksum || !bytes.Equal(obj.Data, data) {
				t.Fatalf("object %s %s, output %s", obj.ChecksumAlgo, obj.Checksum, out.Checksum)
			}
			if tc.typ == "" && obj.ChecksumType != out.ChecksumType {
				t.Fatal("type")
			}
		})
	}
}

func TestSourceChanged(t *testing.T) {
	// A ReaderAt whose end (by Seek) is past its data, as a file truncated
	// after the upload started.
	data := payload(11 * mib)
	body := &shrinking{Reader: bytes.NewReader(data[:8*mib]), size: int64(len(data))}
	c := s3mem.New("b")
	_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: body})
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrSourceChanged) || ue.Op != mpu.OpReadBody || !ue.Aborted {
		t.Fatalf("%v", err)
	}
	if c.Object("b", "k") != nil {
		t.Fatal("object stored")
	}
}

type shrinking struct {
	*bytes.Reader
	size int64
}

func (s *shrinking) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return s.size + off, nil
	}
	return s.Reader.Seek(off, whence)
}

func TestConcurrencyAndBuffers(t *testing.T) {
	c := s3mem.New("b")
	var inFlight, peak atomic.Int64
	c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer inFlight.Add(-1)
		runtime.Gosched()
		return next(ctx)
	})
	var pool *bufferPool
	u := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.Concurrency = 3 })
	data := payload(41 * mib)
	// Reach into the upload to read the pool's allocation count.
	o, _ := u.options.resolve()
	o.Concurrency = 3
	cs, _ := checksumFor(o.ChecksumAlgorithm, "")
	up := &upload{client: c, o: o, in: &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}, cs: cs, size: SizeUnknown}
	if _, err := up.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	pool = up.pool
	if peak.Load() > 3 {
		t.Fatalf("%d parts in flight with Concurrency 3", peak.Load())
	}
	if n := pool.allocs.Load(); n > 4 {
		t.Fatalf("%d buffers allocated, at most Concurrency+1 = 4 allowed", n)
	}
	if a, f := pool.allocs.Load(), pool.frees.Load(); a != f {
		t.Fatalf("%d buffers allocated, %d freed when Upload returned", a, f)
	}
	if !bytes.Equal(c.Object("b", "k").Data, data) {
		t.Fatal("object")
	}
}

func TestPerCallOptionsOnCopy(t *testing.T) {
	c := s3mem.New("b")
	u := New(c, func(o *Options) { o.PartSize = 8 * mib })
	_, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib))},
		func(o *Options) { o.PartSize = 5 * mib; o.clock = newFakeClock() })
	if err != nil {
		t.Fatal(err)
	}
	if c.Count(s3mem.OpUploadPart) != 2 {
		t.Fatalf("per-call part size not applied: %v", c.Ops())
	}
	if u.Options().PartSize != 8*mib {
		t.Fatal("per-call option changed the Uploader")
	}
}

func TestClientMaxAttempts(t *testing.T) {
	for _, tc := range []struct {
		set, want int
	}{{0, 1}, {3, 3}, {-1, 7}} {
		c := s3mem.New("b")
		_, err := New(c, func(o *Options) { o.ClientMaxAttempts = tc.set }).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: strings.NewReader("x")})
		if err != nil {
			t.Fatal(err)
		}
		so := s3.Options{RetryMaxAttempts: 7}
		for _, fn := range c.CallsOf(s3mem.OpPutObject)[0].OptFns {
			fn(&so)
		}
		if so.RetryMaxAttempts != tc.want {
			t.Errorf("ClientMaxAttempts %d: SDK attempts %d, want %d", tc.set, so.RetryMaxAttempts, tc.want)
		}
	}
}

type checker struct {
	err   error
	steps []mpu.Step
	in    *s3.CreateMultipartUploadInput
}

func (c *checker) CheckUpload(_ context.Context, in *s3.CreateMultipartUploadInput, steps []mpu.Step) error {
	c.in, c.steps = in, steps
	return c.err
}

func TestPreflight(t *testing.T) {
	denied := fmt.Errorf("s3:PutObject denied by bucket policy statement 1: %w", mpu.ErrPermissionDenied)
	t.Run("enforce", func(t *testing.T) {
		c := s3mem.New("b")
		ck := &checker{err: denied}
		_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.Preflight = ck }).
			Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib)), SSECustomerAlgorithm: "AES256", SSECustomerKey: "c2VjcmV0LWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg5MDE="})
		var ue *UploadError
		if !errors.As(err, &ue) || ue.Op != mpu.OpPreflight || !errors.Is(err, mpu.ErrPermissionDenied) {
			t.Fatal(err)
		}
		if len(c.Calls()) != 0 {
			t.Fatalf("requests after a failed preflight: %v", c.Ops())
		}
		if !slices.Equal(ck.steps, []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete, mpu.Abort}) {
			t.Fatalf("steps %v", ck.steps)
		}
		if aws.ToString(ck.in.Bucket) != "b" || ck.in.SSECustomerKey != nil || aws.ToString(ck.in.SSECustomerAlgorithm) != "AES256" {
			t.Fatal("checker input")
		}
	})
	t.Run("warn", func(t *testing.T) {
		c := s3mem.New("b")
		rec := &recorder{}
		ck := &checker{err: denied}
		_, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.Preflight = ck; o.PreflightMode = PreflightWarn; o.LeavePartsOnError = true }).
			Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: strings.NewReader("small")})
		if err != nil {
			t.Fatal(err)
		}
		if p := eventsOf[event.Preflight](rec); len(p) != 1 || !errors.Is(p[0].Err, mpu.ErrPermissionDenied) {
			t.Fatal("no Preflight event")
		}
		if !slices.Equal(ck.steps, []mpu.Step{mpu.Initiate}) {
			t.Fatalf("steps %v", ck.steps)
		}
	})
	t.Run("off", func(t *testing.T) {
		ck := &checker{err: denied}
		_, err := New(s3mem.New("b"), func(o *Options) { o.Preflight = ck; o.PreflightMode = PreflightOff }).
			Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: strings.NewReader("small")})
		if err != nil || ck.steps != nil {
			t.Fatal(err)
		}
	})
}

func TestCreateFails(t *testing.T) {
	c := s3mem.New("b")
	_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "nope", Key: "k", Body: bytes.NewReader(payload(6 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpCreateMultipartUpload || ue.UploadID != "" || ue.Aborted || !errors.Is(err, mpu.ErrNotFound) {
		t.Fatalf("%v", err)
	}
	if got := c.Ops(); !slices.Equal(got, []string{"CreateMultipartUpload"}) {
		t.Fatalf("ops %v", got)
	}
}

func TestStreamReadError(t *testing.T) {
	c := s3mem.New("b")
	boom := errors.New("disk on fire")
	body := io.MultiReader(bytes.NewReader(payload(7*mib)), &errReader{boom})
	_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: onlyReader{body}})
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, boom) || ue.Op != mpu.OpReadBody {
		t.Fatalf("%v", err)
	}
	// The first part was read, the second failed: the upload (if started) is aborted.
	if len(c.Uploads()) != 0 || c.Object("b", "k") != nil {
		t.Fatal("left behind")
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func TestPartSizes(t *testing.T) {
	for _, tc := range []struct{ size, base, want int64 }{
		{100 * mib, 16 * mib, 16 * mib},
		{mpu.MaxObjectSize, 16 * mib, 525 * mib},
		{10000 * 16 * mib, 16 * mib, 16 * mib},
		{10000*16*mib + 1, 16 * mib, 17 * mib},
	} {
		got, err := partSizeFor(tc.size, tc.base)
		if err != nil || got != tc.want {
			t.Errorf("partSizeFor(%d, %d) = %d, %v; want %d", tc.size, tc.base, got, err, tc.want)
		}
		if n := (tc.size + got - 1) / got; n > mpu.MaxParts {
			t.Errorf("%d parts", n)
		}
	}
	if _, err := partSizeFor(mpu.MaxObjectSize+1, 16*mib); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Error("oversize accepted")
	}
	for _, base := range []int64{mpu.MinPartSize, defaultPartSize, 100 * mib, mpu.MaxPartSize} {
		var total int64
		prev := int64(0)
		for n := int32(1); n <= mpu.MaxParts; n++ {
			ps := streamPartSize(base, n)
			if ps < prev || ps < base || ps > mpu.MaxPartSize {
				t.Fatalf("base %d part %d size %d", base, n, ps)
			}
			prev = ps
			total += ps
		}
		if total < mpu.MaxObjectSize {
			t.Errorf("base %d: 10,000 stream parts hold %d bytes, less than 5 TiB", base, total)
		}
		if streamPartSize(base, 1000) != base {
			t.Errorf("base %d: size changed before part 1000", base)
		}
	}
}

func TestPlanParts(t *testing.T) {
	recs := planParts(10, 11, 5)
	if len(recs) != 3 || recs[2].Offset != 20 || recs[2].Size != 1 || recs[1].Number != 2 {
		t.Fatalf("%+v", recs)
	}
}

func TestUploadErrorFormatting(t *testing.T) {
	e := &UploadError{Op: mpu.OpUploadPart, Bucket: "b", Key: "k", PartNumber: 4, UploadID: "u1", Aborted: true, Err: errors.New("x")}
	if got := e.Error(); got != "upload s3://b/k: UploadPart part 4: x (upload u1 aborted)" {
		t.Fatal(got)
	}
	if !errors.Is(e, e.Err) {
		t.Fatal("unwrap")
	}
}

func TestRateLimit(t *testing.T) {
	l := newLimiter(1 << 30)
	if l == nil || l.Burst() != 256<<10 {
		t.Fatal("burst")
	}
	if newLimiter(0) != nil || newLimiter(10).Burst() != 1 {
		t.Fatal("small limits")
	}
	// 3 MiB at 1 MiB/s, starting with a full burst of 128 KiB (1/8 s):
	// 2.875 s of waits on the fake clock.
	clk := newFakeClock()
	c0 := s3mem.New("b")
	if _, err := New(c0, testOptions(clk, nil), func(o *Options) { o.RateLimit = mib }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(3 * mib))}); err != nil {
		t.Fatal(err)
	}
	var waited time.Duration
	for _, w := range clk.Waits() {
		waited += w
	}
	if waited < 2870*time.Millisecond || waited > 2880*time.Millisecond {
		t.Fatalf("waited %v for 3 MiB at 1 MiB/s", waited)
	}
	// A generous limit only splits reads; the data arrives intact.
	c := s3mem.New("b")
	data := payload(6 * mib)
	if _, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.RateLimit = 1 << 40 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Object("b", "k").Data, data) {
		t.Fatal("object")
	}
}

func TestDetachedBody(t *testing.T) {
	cs, _ := checksumFor("CRC32C", "")
	up := &upload{em: &emitter{}, cs: cs}
	rec := &partRecord{Size: 3}
	b := up.newBody(context.Background(), rec, bytesOpener([]byte("abc")))
	b.detach()
	if _, err := b.Read(make([]byte, 3)); !errors.Is(err, errDetached) {
		t.Fatal(err)
	}
}

func TestInputPrintsNoSecret(t *testing.T) {
	in := &UploadInput{Bucket: "b", Key: "k", SSECustomerAlgorithm: "AES256", SSECustomerKey: "c2VjcmV0"}
	for _, s := range []string{fmt.Sprint(in), fmt.Sprintf("%+v", *in), fmt.Sprintf("%#v", in), fmt.Sprintf("%v", []*UploadInput{in})} {
		if strings.Contains(s, "c2VjcmV0") || !strings.Contains(s, "s3://b/k") {
			t.Errorf("printed %q", s)
		}
	}
	var nilIn *UploadInput
	_ = fmt.Sprint(nilIn) // must not panic
}

func TestBodySumAfterSeeks(t *testing.T) {
	cs, _ := checksumFor("CRC32C", "")
	up := &upload{em: &emitter{}, cs: cs}
	data := []byte("0123456789")
	rec := &partRecord{Size: int64(len(data))}
	b := up.newBody(context.Background(), rec, bytesOpener(data))
	// Read out of order: the running hash is abandoned and the sum comes
	// from a fresh reader.
	if _, err := b.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	sum, err := b.sum(middleware.Metadata{})
	if err != nil || sum.String() != s3mem.Checksum("CRC32C", data) {
		t.Fatalf("sum %v, %v", sum, err)
	}
	// Rewound to the start and read in full: the running hash is used.
	b2 := up.newBody(context.Background(), rec, bytesOpener(data))
	_, _ = io.CopyN(io.Discard, b2, 3)
	if _, err := b2.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(b2)
	if sum, err := b2.sum(middleware.Metadata{}); err != nil || sum.String() != s3mem.Checksum("CRC32C", data) {
		t.Fatalf("sum after rewind %v, %v", sum, err)
	}
	// A body shorter than its part reports mpu.ErrSourceChanged.
	short := up.newBody(context.Background(), &partRecord{Size: 20}, bytesOpener(data))
	if _, err := io.ReadAll(short); !errors.Is(err, mpu.ErrSourceChanged) {
		t.Fatalf("short body: %v", err)
	}
}

func TestRealTimer(t *testing.T) {
	tm := realClock{}.NewTimer()
	tm.Start(0)
	<-tm.C()
	tm.Start(0)
	<-tm.C()
	tm.Stop()
}

// sameCompletion reports whether the Completed event describes out.
func sameCompletion(e event.Completed, out *UploadOutput) bool {
	return e.Bucket == out.Bucket && e.Key == out.Key && e.UploadID == out.UploadID &&
		e.ETag == out.ETag && e.VersionID == out.VersionID && e.Size == out.Size &&
		e.Parts == len(out.Parts) && e.Checksum == out.Checksum
}
