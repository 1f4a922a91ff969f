package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// newS3MPU builds s3mpu's uploader on the same S3 client the AWS peers get, with its default
// options (CRC32C full-object checksums, retries) but the benchmark's part size and concurrency.
func newS3MPU(cs clientSetup) (uploadFunc, error) {
	return s3mpuWith(cs, func(*uploader.Options) {})
}

// newS3MPUComposite is s3mpu with a composite CRC32C object checksum instead of a full-object
// one: an experiment, not a default, to tell what the checksum type costs the server.
func newS3MPUComposite(cs clientSetup) (uploadFunc, error) {
	return s3mpuWith(cs, func(o *uploader.Options) {
		o.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
		o.ChecksumType = types.ChecksumTypeComposite
	})
}

// newS3MPUCRC32 is s3mpu with composite CRC32 checksums, what manager sends by default: an
// experiment, to compare the uploaders with the same work on both sides.
func newS3MPUCRC32(cs clientSetup) (uploadFunc, error) {
	return s3mpuWith(cs, func(o *uploader.Options) {
		o.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
		o.ChecksumType = types.ChecksumTypeComposite
	})
}

// newS3MPUNoHedge is s3mpu with hedging off: an experiment, to tell what the hedger costs
// where no hedge fires (lan).
func newS3MPUNoHedge(cs clientSetup) (uploadFunc, error) {
	return s3mpuWith(cs, func(o *uploader.Options) { o.Hedge.Off = true })
}

// newS3MPUNoListener is s3mpu without the benchmark's listener (no events are built), as the
// AWS peers run: an experiment, to tell what the events cost.
func newS3MPUNoListener(cs clientSetup) (uploadFunc, error) {
	cs.stats = nil
	return s3mpuWith(cs, func(*uploader.Options) {})
}

func s3mpuWith(cs clientSetup, extra func(*uploader.Options)) (uploadFunc, error) {
	return onS3Client(cs, func(cli *s3.Client) uploadFunc {
		up := uploader.New(cli, func(o *uploader.Options) {
			o.PartSize = cs.partSize // 0: its default
			o.Concurrency = cs.conc  // 0: its default
			o.Listener = cs.stats.listener()
			extra(o)
		})
		return func(ctx context.Context, key string, body io.Reader, size int64) error {
			in := &uploader.UploadInput{Bucket: cs.bucket, Key: key, Body: body}
			if size < 0 {
				in.Size = uploader.SizeUnknown
			}
			_, err := up.Upload(ctx, in)
			return err
		}
	})
}

// childStats gathers what s3mpu's events tell beyond the time: hedges and the concurrency
// level it reached.
type childStats struct {
	mu                 sync.Mutex
	hedges, won, level int
	hedgedBytes        int64
}

// timelineEnv, set in the environment of the bench (with -child-stderr), makes each s3mpu
// child print its events but BytesSent to stderr, with the seconds since the uploader was
// made: the timeline of an upload.
const timelineEnv = "S3MPU_BENCH_TIMELINE"

func (st *childStats) listener() event.Listener {
	if st == nil {
		return nil
	}
	timeline, t0 := os.Getenv(timelineEnv) != "", time.Now()
	return event.ListenerFunc(func(e event.Event) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if _, progress := e.(event.BytesSent); timeline && !progress {
			fmt.Fprintf(os.Stderr, "timeline %8.3f %T %+v\n", time.Since(t0).Seconds(), e, e)
		}
		switch e := e.(type) {
		case event.Completed:
			st.hedges, st.won, st.hedgedBytes, st.level = e.Hedges, e.HedgesWon, e.HedgedBytes, e.AdaptiveLevel
		}
	})
}

// fill copies the figures into the child's result.
func (st *childStats) fill(res *childResult) {
	st.mu.Lock()
	defer st.mu.Unlock()
	res.Hedges, res.HedgesWon, res.HedgedBytes, res.Level = st.hedges, st.won, st.hedgedBytes, st.level
}
