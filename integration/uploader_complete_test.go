package integration

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/faultproxy"
	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// TestUploaderCompleteAnswerLost loses the answer of the first
// CompleteMultipartUpload (the fault proxy forwards it, the server
// completes the upload, the client times out): the uploader retries and
// succeeds, either because the server answers the repeated Complete, or,
// when it answers NoSuchUpload, by confirming with HeadObject (size and
// checksum) that the object is this upload's.
func TestUploaderCompleteAnswerLost(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			bucket := env.NewBucket(t)
			front := startFaultProxy(t, env, tgt, faultproxy.Config{
				Seed:     1,
				StallFor: 20 * time.Second,
				Rules: []faultproxy.Rule{{
					Ops: []faultproxy.Op{faultproxy.CompleteMultipartUpload}, Rate: 1,
					Kinds: []faultproxy.Kind{faultproxy.Stall}, MaxPerTarget: 1,
				}},
			})
			cfg := env.Config(front.Target, env.Users["root"])
			cfg.HTTPClient = front.httpClient(t, env, 2*time.Second)
			cli := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
			rec := &upRetries{}
			data := upRandom(t, 2*upPart+7)
			counted := &upHeadCounter{Client: cli}
			out, err := uploader.New(counted, func(o *uploader.Options) {
				o.PartSize = upPart
				o.Listener = rec
				o.InitialBackoff = 10 * time.Millisecond
			}).Upload(upCtx(t), &uploader.UploadInput{Bucket: bucket, Key: "lost", Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			if rec.complete == 0 {
				t.Fatal("no Complete retry: the fault did not happen")
			}
			// versitygw answers a repeated Complete of an upload it already
			// completed with success; S3 answers NoSuchUpload, which the
			// uploader confirms with one HeadObject (the unit tests cover it).
			if n := counted.heads.Load(); n > 1 {
				t.Fatalf("%d HeadObject calls", n)
			}
			t.Logf("confirmed by HeadObject: %v", counted.heads.Load() == 1)
			if front.Proxy.Tally().ByKind()[faultproxy.Stall] != 1 {
				t.Fatalf("faults: %v", front.Proxy.Tally())
			}
			upVerify(t, env.Root(tgt), bucket, "lost", data, out)
		})
	}
}

// upHeadCounter counts the uploader's HeadObject calls.
type upHeadCounter struct {
	*s3.Client
	heads atomic.Int64
}

func (c *upHeadCounter) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	c.heads.Add(1)
	return c.Client.HeadObject(ctx, in, optFns...)
}

// upRetries counts Retry events of CompleteMultipartUpload.
type upRetries struct{ complete int }

func (r *upRetries) OnEvent(e event.Event) {
	if rt, ok := e.(event.Retry); ok && rt.Op == mpu.OpCompleteMultipartUpload {
		r.complete++
	}
}
