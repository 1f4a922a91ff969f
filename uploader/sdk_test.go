package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// seenRequest is what the test server saw of one request.
type seenRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

// TestSDKRequestShape runs the uploader with a real *s3.Client against an
// httptest server (plain and TLS) that answers PutObject, to check what
// the payload middleware makes of a part: over plain HTTP a signed SHA-256
// and the checksum header, computed without the body being read twice;
// over TLS the SDK's trailing checksum. The server is a stand-in speaking
// just enough of S3's wire protocol for PutObject.
func TestSDKRequestShape(t *testing.T) {
	data := payload(300 << 10)
	for _, tls := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[tls]
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []seenRequest
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				seen = append(seen, seenRequest{r.Method, r.URL.Path, r.Header.Clone(), b})
				mu.Unlock()
				w.Header().Set("ETag", `"etag"`)
				w.WriteHeader(http.StatusOK)
			})
			var srv *httptest.Server
			if tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			cli := sdkClientOf(t, srv)
			rec := &recorder{}
			out, err := New(cli, testOptions(newFakeClock(), rec)).Upload(context.Background(),
				&UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != 1 || seen[0].method != http.MethodPut || seen[0].path != "/b/k" {
				t.Fatalf("requests %+v", seen)
			}
			req := seen[0]
			want := s3mem.Checksum("CRC32C", data)
			if out.Checksum != want {
				t.Fatalf("output checksum %s, want %s", out.Checksum, want)
			}
			var sent int64
			for _, e := range eventsOf[event.BytesSent](rec) {
				sent += e.Bytes
			}
			if sent != int64(len(data)) {
				t.Fatalf("BytesSent %d for %d bytes", sent, len(data))
			}
			if !tls {
				sum := sha256.Sum256(data)
				if got := req.header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum[:]) {
					t.Fatalf("payload hash %q", got)
				}
				if got := req.header.Get("X-Amz-Checksum-Crc32c"); got != want {
					t.Fatalf("checksum header %q, want %q", got, want)
				}
				if !bytes.Equal(req.body, data) {
					t.Fatal("body differs")
				}
				if !strings.Contains(req.header.Get("Authorization"), "x-amz-checksum-crc32c") {
					t.Fatalf("checksum header not signed: %s", req.header.Get("Authorization"))
				}
				return
			}
			if got := req.header.Get("X-Amz-Content-Sha256"); got != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
				t.Fatalf("payload hash %q", got)
			}
			if got := strings.ToLower(req.header.Get("X-Amz-Trailer")); got != "x-amz-checksum-crc32c" {
				t.Fatalf("trailer %q", got)
			}
			if !bytes.Contains(req.body, []byte("x-amz-checksum-crc32c:"+want)) {
				t.Fatal("trailing checksum differs from the uploader's")
			}
			if req.header.Get("Content-Md5") != "" {
				t.Fatal("Content-MD5 sent with a trailing checksum")
			}
		})
	}
}

// TestSDKNoContinueHeader checks, with a real *s3.Client against an
// httptest server speaking just enough of S3's wire protocol for a
// multipart upload and a PutObject, that no request body of the uploader
// waits for a 100 Continue: the SDK adds "Expect: 100-continue" above 2 MB
// unless told otherwise, and the uploader tells it per call, leaving the
// client's own options as they were.
func TestSDKNoContinueHeader(t *testing.T) {
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.RawQuery, r.Header.Clone(), b})
		mu.Unlock()
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Has("uploads"):
			io.WriteString(w, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up1</UploadId></InitiateMultipartUploadResult>`)
		case r.Method == http.MethodPost && q.Has("uploadId"):
			io.WriteString(w, `<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"e-2"</ETag></CompleteMultipartUploadResult>`)
		default:
			w.Header().Set("ETag", `"etag"`)
		}
	}))
	cli := sdkClientOf(t, srv)
	u := New(cli, testOptions(newFakeClock(), nil))
	for _, size := range []int{3 << 20, 13 << 20} { // one PutObject, then parts of 5, 5 and 3 MiB
		if _, err := u.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(size))}); err != nil {
			t.Fatal(err)
		}
	}
	var bodies int
	for _, r := range seen {
		if r.method != http.MethodPut {
			continue
		}
		bodies++
		if len(r.body) < 2<<20 {
			t.Fatalf("a body of %d bytes: the test needs bodies above the SDK's 2 MB threshold", len(r.body))
		}
		if got := r.header.Get("Expect"); got != "" {
			t.Fatalf("PUT ?%s sent Expect: %q", r.path, got)
		}
	}
	if bodies != 4 {
		t.Fatalf("%d PUT requests of %d, want 4", bodies, len(seen))
	}
	if cli.Options().ContinueHeaderThresholdBytes != 0 {
		t.Fatal("the client's own options were changed")
	}
}

// sdkClientOf returns a real *s3.Client for srv, with static test keys; srv
// and the client's connections are closed when the test ends.
func sdkClientOf(t *testing.T, srv *httptest.Server) *s3.Client {
	t.Helper()
	hc := srv.Client()
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		srv.Close()
	})
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
}
