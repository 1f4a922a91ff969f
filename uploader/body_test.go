package uploader

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// testBody returns a part body over data, for an upload with listener l
// (nil for none), its checksum computed as it is read.
func testBody(t *testing.T, data []byte, l event.Listener) (*upload, *partBody) {
	t.Helper()
	cs, err := checksumFor(types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject)
	if err != nil {
		t.Fatal(err)
	}
	up := &upload{cs: cs, em: &emitter{l: l}}
	rec := &partRecord{Number: 1, Size: int64(len(data))}
	return up, up.newBody(context.Background(), rec, bytesOpener(data))
}

// TestBodyReadNoListenerAllocs checks that reading a part body builds no
// event when nobody listens: a read allocates nothing.
func TestBodyReadNoListenerAllocs(t *testing.T) {
	data := payload(4 * mib)
	_, b := testBody(t, data, nil)
	buf := make([]byte, 32<<10)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := b.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per read without a listener", allocs)
	}
	if got := b.rec.sent.Load(); got != 101*int64(len(buf)) {
		t.Fatalf("part counts %d bytes read, want %d", got, 101*len(buf))
	}
}

// TestBodyEventsCoalesced checks that BytesSent events gather reads, that
// the rest is reported when the body ends, and that every byte read is
// counted once, including those read again after a rewind.
func TestBodyEventsCoalesced(t *testing.T) {
	data := payload(mib + 1000)
	rec := &recorder{}
	up, b := testBody(t, data, rec)
	buf := make([]byte, 32<<10)
	// Read half, rewind (as the SDK does between attempts), read it all.
	for range 16 {
		if _, err := b.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(eventsOf[event.BytesSent](rec)); n != 2 {
		t.Fatalf("%d events for 512 KiB read, want 2", n)
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{b}, buf); err != nil {
		t.Fatal(err)
	}
	b.detach()
	events := eventsOf[event.BytesSent](rec)
	if len(events) != 5 {
		t.Fatalf("%d events for %d bytes, want 5", len(events), len(data))
	}
	var total int64
	for _, e := range events {
		total += e.Bytes
		if e.PartNumber != 1 || e.Total != total {
			t.Fatalf("event %+v after %d bytes", e, total)
		}
	}
	if total != int64(len(data)) || up.sent.Load() != total {
		t.Fatalf("reported %d bytes (upload %d), want %d", total, up.sent.Load(), len(data))
	}
	h := up.cs.new()
	h.Write(data)
	s, err := b.sum(middleware.Metadata{})
	if err != nil || s.String() != up.cs.sum(h).String() {
		t.Fatalf("sum %v %v", s, err)
	}
}

// TestPayloadMiddlewareLeavesTLSChecksumToSDK checks that over TLS a part
// whose checksum is not known in advance is not hashed by its body (the
// SDK computes the trailing checksum and reports it), that over plain HTTP
// it is hashed once, in one pass with the payload hash, and that a body whose
// SDK reported nothing still yields the right checksum.
func TestPayloadMiddlewareLeavesTLSChecksumToSDK(t *testing.T) {
	data := payload(100 << 10)
	for _, scheme := range []string{"https", "http"} {
		t.Run(scheme, func(t *testing.T) {
			up, b := testBody(t, data, nil)
			req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
			req.URL.Scheme, req.URL.Host = scheme, "example.com"
			req, err := req.SetStream(b)
			if err != nil {
				t.Fatal(err)
			}
			next := middleware.FinalizeHandlerFunc(func(ctx context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
				_, err := io.Copy(io.Discard, in.Request.(*smithyhttp.Request).GetStream())
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			})
			if _, _, err := payloadHashMiddleware.HandleFinalize(context.Background(), middleware.FinalizeInput{Request: req}, next); err != nil {
				t.Fatal(err)
			}
			b.detach()
			h := up.cs.new()
			h.Write(data)
			want := up.cs.sum(h).String()
			if scheme == "https" {
				if !b.sdkSum || b.h != nil {
					t.Fatal("the body hashes a part the SDK checksums")
				}
			} else if b.sdkSum || b.h != nil || req.Header.Get("X-Amz-Checksum-Crc32c") != want {
				t.Fatalf("checksum header %q, want %q", req.Header.Get("X-Amz-Checksum-Crc32c"), want)
			}
			s, err := b.sum(middleware.Metadata{})
			if err != nil || s.String() != want {
				t.Fatalf("sum %v %v, want %s", s, err, want)
			}
		})
	}
}

// TestStreamBuffersFreed checks that every part buffer of a streamed
// upload is freed by the time Upload returns, whether the upload succeeds
// in parts, fits in one PutObject or fails.
func TestStreamBuffersFreed(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		fail bool
	}{
		{"multipart", 17 * mib, false},
		{"single", 3 * mib, false},
		{"failed", 17 * mib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			if tc.fail {
				c.Hook(s3mem.OpUploadPart, partHook(2, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart))))
			}
			u := New(c, testOptions(newFakeClock(), nil))
			o, _ := u.options.resolve()
			cs, _ := checksumFor(o.ChecksumAlgorithm, "")
			up := &upload{client: c, o: o, in: &UploadInput{Bucket: "b", Key: "k", Body: streamOf(payload(tc.size))}, cs: cs, size: SizeUnknown}
			_, err := up.run(context.Background())
			if (err != nil) != tc.fail {
				t.Fatalf("err %v", err)
			}
			// A failure may stop the upload while the reader goroutine
			// fills a buffer: that one is freed as soon as the fill ends.
			deadline := time.Now().Add(5 * time.Second)
			for up.pool.allocs.Load() != up.pool.frees.Load() && tc.fail && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if a, f := up.pool.allocs.Load(), up.pool.frees.Load(); a == 0 || a != f {
				t.Fatalf("%d buffers allocated, %d freed when Upload returned", a, f)
			}
		})
	}
}
