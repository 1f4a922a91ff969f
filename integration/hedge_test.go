package integration

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// straggler is an HTTP client whose first request for one part number sends its body slowly
// (16 KiB every 25 ms), as a request on a bad path does.
type straggler struct {
	c    *http.Client
	part string
	once sync.Once
}

func (s *straggler) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.URL.Query().Get("partNumber") == s.part && req.Body != nil {
		s.once.Do(func() { req.Body = &slowBody{rc: req.Body, ctx: req.Context()} })
	}
	return s.c.Do(req)
}

type slowBody struct {
	rc  io.ReadCloser
	ctx context.Context
}

func (b *slowBody) Read(p []byte) (int, error) {
	select {
	case <-time.After(25 * time.Millisecond):
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
	return b.rc.Read(p[:min(len(p), 16<<10)])
}

func (b *slowBody) Close() error { return b.rc.Close() }

// TestUploaderHedgesStraggler: against the real server, a part whose first request crawls is
// hedged; the hedge is stored, the crawling request is canceled mid-body (so the server
// stores nothing of it, and no upload comes back after Complete), and the object is whole.
func TestUploaderHedgesStraggler(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	data := upRandom(t, 6*upPart+123)
	path := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			root := env.Root(tgt)
			cli := env.S3For(tgt, env.Users["root"], func(o *s3.Options) {
				o.HTTPClient = &straggler{c: env.HTTPClient(), part: "2"}
			})
			var mu sync.Mutex
			var hedged []event.Hedged
			var done []event.HedgeDone
			l := event.ListenerFunc(func(e event.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch e := e.(type) {
				case event.Hedged:
					hedged = append(hedged, e)
				case event.HedgeDone:
					done = append(done, e)
				}

			})
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			key := "hedge/" + tgt.Name
			out, err := uploader.New(cli, func(o *uploader.Options) {
				o.PartSize, o.Concurrency, o.Listener = upPart, 3, l
				// 10% of 30 MiB is less than a part: allow a few, as a part
				// of a loaded machine may be hedged beside the crawling one.
				o.Hedge.MinDelay, o.Hedge.MaxFraction = 500*time.Millisecond, 0.5
			}).Upload(upCtx(t), &uploader.UploadInput{Bucket: bucket, Key: key, Body: f})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			ok := false
			for _, d := range done {
				ok = ok || d.PartNumber == 2 && d.HedgeWon && d.LoserCanceled
			}
			if !ok || len(hedged) != len(done) {
				t.Fatalf("part 2 not overtaken with its first request canceled: Hedged %+v, HedgeDone %+v", hedged, done)
			}
			mu.Unlock()
			upVerify(t, root, bucket, key, data, out)
			// Whatever of the canceled request reached the server must not bring the upload
			// back after Complete: give it time to, then look.
			time.Sleep(time.Second)
			ups, err := root.ListMultipartUploads(upCtx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
			if err != nil {
				t.Fatal(err)
			}
			if len(ups.Uploads) != 0 {
				t.Fatalf("%d multipart uploads on the server after Complete", len(ups.Uploads))
			}
		})
	}
}
