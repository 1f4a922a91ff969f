package uploader

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// apiOnly hides every method of the fake but those of API (ListParts
// among them), as a client that cannot list parts.
type apiOnly struct{ API }

// fakeAbortOnce makes the first n AbortMultipartUpload calls answer
// success without removing the upload, as when a part still being stored
// on the server during the abort brings the upload back.
func fakeAbortOnce(n int32) s3mem.Hook {
	var seen atomic.Int32
	return func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if seen.Add(1) <= n {
			return &s3.AbortMultipartUploadOutput{}, nil
		}
		return next(ctx)
	}
}

// failingUpload runs an 11 MiB upload whose third part is denied, so that
// it ends in an abort.
func failingUpload(t *testing.T, client API, clk *fakeClock, rec *recorder) *UploadError {
	t.Helper()
	_, err := New(client, testOptions(clk, rec), func(o *Options) { o.Concurrency = 1 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.PartNumber != 3 || !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("err = %v", err)
	}
	return ue
}

func denyPart3(c *s3mem.Client) {
	c.Hook(s3mem.OpUploadPart, partHook(3, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart))))
}

func TestAbortAgainWhenUploadStillListed(t *testing.T) {
	c := s3mem.New("b")
	denyPart3(c)
	c.Hook(s3mem.OpAbortMultipartUpload, fakeAbortOnce(1))
	clk, rec := newFakeClock(), &recorder{}
	ue := failingUpload(t, c, clk, rec)
	if !ue.Aborted || ue.AbortErr != nil {
		t.Fatalf("not aborted: %+v", ue)
	}
	want := []string{"CreateMultipartUpload", "UploadPart×3", "AbortMultipartUpload", "ListParts", "AbortMultipartUpload", "ListParts"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if u := c.Uploads(); len(u) != 0 {
		t.Fatalf("uploads left: %+v", u)
	}
	ab := eventsOf[event.Aborted](rec)
	if len(ab) != 1 || ab[0].Err != nil || ab[0].Attempts != 2 || !ab[0].Verified || ab[0].VerifyErr != nil {
		t.Fatalf("aborted events %+v", ab)
	}
	// The wait before the second abort comes from the injected clock.
	if w := clk.Waits(); !slices.Equal(w, []time.Duration{defaultInitialBackoff}) {
		t.Fatalf("waits %v", w)
	}
}

func TestAbortGivesUpWhenUploadStaysListed(t *testing.T) {
	c := s3mem.New("b")
	denyPart3(c)
	c.Hook(s3mem.OpAbortMultipartUpload, fakeAbortOnce(1000))
	rec := &recorder{}
	ue := failingUpload(t, c, newFakeClock(), rec)
	if ue.Aborted || ue.AbortErr == nil || !errors.Is(ue, mpu.ErrPermissionDenied) {
		t.Fatalf("want a failed abort: %+v", ue)
	}
	if n := c.Count(s3mem.OpAbortMultipartUpload); n != abortVerifyRounds {
		t.Fatalf("%d aborts, want %d", n, abortVerifyRounds)
	}
	if n := c.Count(s3mem.OpListParts); n != abortVerifyRounds {
		t.Fatalf("%d ListParts, want %d", n, abortVerifyRounds)
	}
	ab := eventsOf[event.Aborted](rec)
	if len(ab) != 1 || ab[0].Err == nil || ab[0].Verified || ab[0].Attempts != abortVerifyRounds {
		t.Fatalf("aborted events %+v", ab)
	}
}

func TestAbortVerifyDenied(t *testing.T) {
	c := s3mem.New("b")
	denyPart3(c)
	c.Hook(s3mem.OpListParts, s3mem.Fail(s3mem.AccessDenied(s3mem.OpListParts)))
	rec := &recorder{}
	ue := failingUpload(t, c, newFakeClock(), rec)
	if !ue.Aborted || ue.AbortErr != nil {
		t.Fatalf("a denied ListParts failed the abort: %+v", ue)
	}
	want := []string{"CreateMultipartUpload", "UploadPart×3", "AbortMultipartUpload", "ListParts"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	ab := eventsOf[event.Aborted](rec)
	if len(ab) != 1 || ab[0].Err != nil || ab[0].Verified || !errors.Is(ab[0].VerifyErr, mpu.ErrPermissionDenied) {
		t.Fatalf("aborted events %+v", ab)
	}
	if len(c.Uploads()) != 0 {
		t.Fatal("upload left")
	}
}

func TestAbortWithoutListParts(t *testing.T) {
	c := s3mem.New("b")
	denyPart3(c)
	// Even an upload that survives is aborted once: nothing can tell.
	c.Hook(s3mem.OpAbortMultipartUpload, fakeAbortOnce(1))
	rec := &recorder{}
	ue := failingUpload(t, apiOnly{c}, newFakeClock(), rec)
	if !ue.Aborted || ue.AbortErr != nil {
		t.Fatalf("not aborted: %+v", ue)
	}
	want := []string{"CreateMultipartUpload", "UploadPart×3", "AbortMultipartUpload"}
	if got := opsCompact(c.Ops()); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	ab := eventsOf[event.Aborted](rec)
	if len(ab) != 1 || ab[0].Err != nil || ab[0].Attempts != 1 || ab[0].Verified || ab[0].VerifyErr != nil {
		t.Fatalf("aborted events %+v", ab)
	}
}
