package uploader_test

// Benchmarks of the upload hot path without a server: part scheduling, part bodies and
// checksums over an in-memory body, against a client that reads and discards every body the
// way net/http does (32 KiB at a time). CPU profiles taken here show the uploader's own work
// without the server's or the network's noise:
//
//	go test -run '^$' -bench Upload -benchmem -cpuprofile cpu.prof ./uploader
//	go tool pprof -top cpu.prof
//
// integration/bench measures the same uploads end to end against a real server, side by side
// with other clients.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/uploader"
)

// discardAPI is an uploader.API that reads every body to the end, counts the bytes and keeps
// nothing. It answers with the checksums it was sent, so the uploader's own comparisons run.
type discardAPI struct {
	bytes, parts, puts, completes atomic.Int64
	bad                           atomic.Int64 // calls the happy path never makes (abort, head)
	bufs                          sync.Pool
}

var _ uploader.API = (*discardAPI)(nil)

// drain reads body as net/http's transport does: io.Copy with a 32 KiB buffer, through a
// plain io.Reader and io.Writer (so neither WriterTo nor io.Discard's ReaderFrom, which reads
// 8 KiB at a time, changes the read size), and checks the length the request declared.
func (d *discardAPI) drain(body io.Reader, length *int64) error {
	if body == nil {
		return errors.New("nil body")
	}
	bp, _ := d.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 32<<10)
		bp = &b
	}
	defer d.bufs.Put(bp)
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{body}, *bp)
	if err != nil {
		return err
	}
	if length != nil && *length != n {
		return fmt.Errorf("body has %d bytes, Content-Length says %d", n, *length)
	}
	d.bytes.Add(n)
	return nil
}

func (d *discardAPI) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := d.drain(in.Body, in.ContentLength); err != nil {
		return nil, err
	}
	d.puts.Add(1)
	return &s3.PutObjectOutput{ETag: aws.String(`"put"`),
		ChecksumCRC32: in.ChecksumCRC32, ChecksumCRC32C: in.ChecksumCRC32C, ChecksumCRC64NVME: in.ChecksumCRC64NVME,
		ChecksumSHA1: in.ChecksumSHA1, ChecksumSHA256: in.ChecksumSHA256}, nil
}

func (d *discardAPI) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	return &s3.CreateMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, UploadId: aws.String("bench-upload"),
		ChecksumAlgorithm: in.ChecksumAlgorithm, ChecksumType: in.ChecksumType}, nil
}

func (d *discardAPI) UploadPart(ctx context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if err := d.drain(in.Body, in.ContentLength); err != nil {
		return nil, err
	}
	d.parts.Add(1)
	return &s3.UploadPartOutput{ETag: aws.String(fmt.Sprintf(`"part-%d"`, aws.ToInt32(in.PartNumber))),
		ChecksumCRC32: in.ChecksumCRC32, ChecksumCRC32C: in.ChecksumCRC32C, ChecksumCRC64NVME: in.ChecksumCRC64NVME,
		ChecksumSHA1: in.ChecksumSHA1, ChecksumSHA256: in.ChecksumSHA256}, nil
}

func (d *discardAPI) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	d.completes.Add(1)
	return &s3.CompleteMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, ETag: aws.String(`"complete"`), ChecksumType: in.ChecksumType,
		ChecksumCRC32: in.ChecksumCRC32, ChecksumCRC32C: in.ChecksumCRC32C, ChecksumCRC64NVME: in.ChecksumCRC64NVME,
		ChecksumSHA1: in.ChecksumSHA1, ChecksumSHA256: in.ChecksumSHA256}, nil
}

func (d *discardAPI) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	d.bad.Add(1)
	return &s3.AbortMultipartUploadOutput{}, nil
}

func (d *discardAPI) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	d.bad.Add(1)
	return nil, errors.New("HeadObject is not expected on the happy path")
}

// benchData returns n pseudo-random bytes (fixed seed).
func benchData(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

// benchBody returns data as a file-like body (io.ReaderAt of known size, read in place) or
// as a stream (a plain io.Reader of unknown size, read through part buffers).
func benchBody(data []byte, stream bool) (io.Reader, int64) {
	if stream {
		return struct{ io.Reader }{bytes.NewReader(data)}, uploader.SizeUnknown
	}
	return bytes.NewReader(data), 0
}

// TestDiscardAPIUpload checks that the benchmark's client sees every byte, once, as the
// parts and the Complete the uploader promises: a benchmark over a fake that lost data would
// measure nothing.
func TestDiscardAPIUpload(t *testing.T) {
	const partSize = 5 << 20
	data := benchData(3*partSize + 12345)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			api := &discardAPI{}
			up := uploader.New(api, func(o *uploader.Options) { o.PartSize = partSize; o.Concurrency = 3 })
			body, size := benchBody(data, stream)
			out, err := up.Upload(context.Background(), &uploader.UploadInput{Bucket: "bench", Key: "k", Body: body, Size: size})
			if err != nil {
				t.Fatal(err)
			}
			if got := api.bytes.Load(); got != int64(len(data)) {
				t.Errorf("client read %d bytes, want %d", got, len(data))
			}
			if p, c, bad := api.parts.Load(), api.completes.Load(), api.bad.Load(); p != 4 || c != 1 || bad != 0 {
				t.Errorf("parts %d, completes %d, abort/head %d; want 4, 1, 0", p, c, bad)
			}
			if out.Size != int64(len(data)) || out.Checksum == "" {
				t.Errorf("output size %d checksum %q", out.Size, out.Checksum)
			}
		})
	}
}

// BenchmarkUpload uploads 128 MiB in 16 MiB parts, in place from an io.ReaderAt ("file") and
// through part buffers from a plain io.Reader ("stream"), with the default checksum.
func BenchmarkUpload(b *testing.B) {
	data := benchData(128 << 20)
	for _, bc := range []struct {
		name   string
		conc   int
		stream bool
	}{
		{"file/c4", 4, false},
		{"file/c8", 8, false},
		{"stream/c4", 4, true},
		{"stream/c8", 8, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			api := &discardAPI{}
			up := uploader.New(api, func(o *uploader.Options) { o.PartSize = 16 << 20; o.Concurrency = bc.conc })
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				body, size := benchBody(data, bc.stream)
				if _, err := up.Upload(ctx, &uploader.UploadInput{Bucket: "bench", Key: "k", Body: body, Size: size}); err != nil {
					b.Fatal(err)
				}
			}
			if api.bad.Load() != 0 {
				b.Fatalf("%d abort/head calls on the happy path", api.bad.Load())
			}
		})
	}
}

// BenchmarkUploadSmall uploads 1 MiB bodies, each a single PutObject: the fixed cost of an
// upload (validation, options, checksum, events) per object.
func BenchmarkUploadSmall(b *testing.B) {
	data := benchData(1 << 20)
	api := &discardAPI{}
	up := uploader.New(api, func(o *uploader.Options) { o.PartSize = 16 << 20; o.Concurrency = 4 })
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := up.Upload(ctx, &uploader.UploadInput{Bucket: "bench", Key: "k", Body: bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
	}
	if api.puts.Load() == 0 || api.parts.Load() != 0 {
		b.Fatalf("puts %d parts %d: want single PutObjects", api.puts.Load(), api.parts.Load())
	}
}

// discardTransport is an HTTP client that answers the multipart requests of the uploader as S3
// would, reading every request body to the end the way net/http does and keeping nothing. No
// connection is made: "https" requests are not encrypted, so the benchmark shows the client's
// own work (signing, checksums, aws-chunked encoding) for either scheme.
type discardTransport struct{ bytes atomic.Int64 }

func (d *discardTransport) Do(req *http.Request) (*http.Response, error) {
	var n int64
	if req.Body != nil {
		var err error
		buf := make([]byte, 32<<10)
		if n, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{req.Body}, buf); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	d.bytes.Add(n)
	q := req.URL.Query()
	body := ""
	h := http.Header{}
	switch {
	case req.Method == http.MethodPost && q.Has("uploads"):
		body = `<InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><UploadId>bench-upload</UploadId></InitiateMultipartUploadResult>`
	case req.Method == http.MethodPost && q.Has("uploadId"):
		body = `<CompleteMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><ETag>"complete"</ETag></CompleteMultipartUploadResult>`
	case req.Method == http.MethodPut:
		h.Set("ETag", `"part"`)
	default:
		return nil, fmt.Errorf("unexpected %s %s", req.Method, req.URL)
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
}

// BenchmarkUploadSDK uploads 128 MiB in 16 MiB parts in place from an io.ReaderAt through a
// real *s3.Client over a transport that discards the bytes: the part checksums, the payload
// hash (plain HTTP) and the aws-chunked trailer (HTTPS) as the SDK and the uploader compute them.
func BenchmarkUploadSDK(b *testing.B) {
	data := benchData(128 << 20)
	for _, scheme := range []string{"http", "https"} {
		b.Run(scheme, func(b *testing.B) {
			tr := &discardTransport{}
			cli := s3.New(s3.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(scheme + "://bench.example"), UsePathStyle: true, HTTPClient: tr,
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
			})
			up := uploader.New(cli, func(o *uploader.Options) { o.PartSize = 16 << 20; o.Concurrency = 4 })
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := up.Upload(ctx, &uploader.UploadInput{Bucket: "bench", Key: "k", Body: bytes.NewReader(data)}); err != nil {
					b.Fatal(err)
				}
			}
			if got, min := tr.bytes.Load(), int64(b.N)*int64(len(data)); got < min {
				b.Fatalf("transport read %d bytes, want at least %d", got, min)
			}
		})
	}
}
