package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/uploader"
)

// discardS3 answers the multipart requests of an upload as S3 would and reads every request
// body to the end, keeping nothing: a server that costs the same for every client, so that
// what differs between two clients' runs is the clients' own work.
type discardS3 struct{ bytes, conns atomic.Int64 }

func (d *discardS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d.bytes.Add(n)
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		fmt.Fprint(w, `<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"c"</ETag></CompleteMultipartUploadResult>`)
	case r.Method == http.MethodPut:
		w.Header().Set("ETag", fmt.Sprintf(`"p%s"`, q.Get("partNumber")))
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusBadRequest)
	}
}

// BenchmarkClients uploads a 256 MiB file with s3mpu's uploader and with aws-sdk-go-v2's
// feature/s3/manager, at equal settings ("c8": 16 MiB parts, 8 in flight) and at each
// client's defaults ("default"), each on the same kind of *s3.Client
// (the SDK's HTTP client, request checksums "when supported"), to an in-process server that
// discards the bytes, over HTTPS (aws-chunked bodies with a checksum trailer, TLS) and plain
// HTTP (SigV4 payload SHA-256). Each client keeps its own default checksum (s3mpu CRC32C,
// manager CRC32). Besides MB/s it reports the process's CPU (user and system, server
// included, which does the same work for both clients) per GiB uploaded: the difference
// between the two clients is the clients' own. No test server is needed:
//
//	cd integration && go test -run '^$' -bench BenchmarkClients -benchtime 4x -count 5 .
func BenchmarkClients(b *testing.B) {
	const size = 256 << 20
	path := filepath.Join(b.TempDir(), "data")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	data = nil
	for _, scheme := range []string{"https", "http"} {
		srv := &discardS3{}
		ts := httptest.NewUnstartedServer(srv)
		ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				srv.conns.Add(1)
			}
		}
		if scheme == "https" {
			ts.StartTLS()
		} else {
			ts.Start()
		}
		b.Cleanup(ts.Close)
		tlsCfg := ts.Client().Transport.(*http.Transport).TLSClientConfig
		cli := s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
			HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
				if tlsCfg != nil {
					tr.TLSClientConfig = &tls.Config{RootCAs: tlsCfg.RootCAs, MinVersion: tls.VersionTLS12}
				}
			}),
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		})
		for _, set := range []struct {
			name           string
			partSize, conc int
		}{{"c8", 16 << 20, 8}, {"default", 0, 0}} {
			up := uploader.New(cli, func(o *uploader.Options) { o.PartSize = int64(set.partSize); o.Concurrency = set.conc })
			mgr := manager.NewUploader(cli, func(u *manager.Uploader) {
				if set.partSize > 0 {
					u.PartSize, u.Concurrency = int64(set.partSize), set.conc
				}
			})
			benchClients(b, scheme+"/"+set.name, path, size, srv, []benchClient{
				{"s3mpu", func(ctx context.Context, f *os.File) error {
					_, err := up.Upload(ctx, &uploader.UploadInput{Bucket: "b", Key: "k", Body: f})
					return err
				}},
				{"manager", func(ctx context.Context, f *os.File) error {
					_, err := mgr.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: f})
					return err
				}},
			})
		}
	}
}

// benchClient is one client's upload of a file.
type benchClient struct {
	name   string
	upload func(ctx context.Context, f *os.File) error
}

// benchClients runs a sub-benchmark name/client for each client, uploading the file at path
// (size bytes) to srv, and reports the process's CPU per GiB.
func benchClients(b *testing.B, name, path string, size int64, srv *discardS3, clients []benchClient) {
	for _, c := range clients {
		b.Run(name+"/"+c.name, func(b *testing.B) {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			ctx := context.Background()
			start, conns := srv.bytes.Load(), srv.conns.Load()
			before := rusage(b)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				if err := c.upload(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
			after := rusage(b)
			gib := float64(b.N) * float64(size) / (1 << 30)
			user := tv(after.Utime) - tv(before.Utime)
			sys := tv(after.Stime) - tv(before.Stime)
			b.ReportMetric(user/gib, "user-s/GiB")
			b.ReportMetric(sys/gib, "sys-s/GiB")
			b.ReportMetric((user+sys)/gib, "cpu-s/GiB")
			b.ReportMetric(float64(srv.conns.Load()-conns)/float64(b.N), "conns/op")
			if got := srv.bytes.Load() - start; got < int64(b.N)*size {
				b.Fatalf("server read %d bytes, want at least %d", got, int64(b.N)*size)
			}
		})
	}
}

func rusage(b *testing.B) syscall.Rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
