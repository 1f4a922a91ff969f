package uploader

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// TestGate checks the one place warn and enforce are decided, for every
// kind of checker error and every mode, through Upload and Preflight: under
// enforce any error refuses before the first request; under warn a denial,
// an undecided step or a failure to evaluate is a Preflight event and the
// upload goes on, while rejected credentials, invalid input and a canceled
// context refuse in every mode.
func TestGate(t *testing.T) {
	kinds := []struct {
		name      string
		err       error
		refuseAll bool // refuses under warn too
	}{
		{"denied", fmt.Errorf("Abort is denied: %w", mpu.ErrPermissionDenied), false},
		{"undecided", fmt.Errorf("could not decide Initiate: %w", mpu.ErrUndecided), false},
		{"evaluation failed", errors.New("reading the bucket policy: connection reset"), false},
		{"credentials", fmt.Errorf("preflight: s3:UploadPart: %w", mpu.ErrCredentials), true},
		{"invalid", fmt.Errorf("the KMS key does not exist: %w", mpu.ErrInvalidInput), true},
		{"canceled", fmt.Errorf("stopped: %w", mpu.ErrCanceled), true},
	}
	for _, k := range kinds {
		for _, mode := range []PreflightMode{PreflightWarn, PreflightEnforce} {
			t.Run(k.name+"/"+mode.String(), func(t *testing.T) {
				refuse := mode == PreflightEnforce || k.refuseAll
				c := s3mem.New("b")
				rec := &recorder{}
				ck := &checker{err: k.err}
				up := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.Preflight, o.PreflightMode = ck, mode })
				_, err := up.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: strings.NewReader("data")})
				perr := up.Preflight(context.Background(), &UploadInput{Bucket: "b", Key: "k"}, nil)
				for _, e := range []error{err, perr} {
					var ue *UploadError
					switch {
					case refuse && (!errors.As(e, &ue) || ue.Op != mpu.OpPreflight || !errors.Is(e, k.err)):
						t.Fatalf("want a refusal wrapping %v, got %v", k.err, e)
					case !refuse && e != nil:
						t.Fatalf("want the upload to go on, got %v", e)
					}
				}
				events := eventsOf[event.Preflight](rec)
				if refuse != (len(events) == 0) {
					t.Fatalf("refuse %v but %d Preflight event(s)", refuse, len(events))
				}
				if wrote := slices.Contains(c.Ops(), "PutObject"); wrote == refuse {
					t.Fatalf("refuse %v, requests %v", refuse, c.Ops())
				}
			})
		}
	}
	// Preflight's default steps are a multipart upload's, without Abort when parts are kept.
	ck := &checker{}
	for _, leave := range []bool{false, true} {
		up := New(s3mem.New("b"), func(o *Options) { o.Preflight, o.LeavePartsOnError = ck, leave })
		if err := up.Preflight(context.Background(), &UploadInput{Bucket: "b", Key: "k"}, nil); err != nil {
			t.Fatal(err)
		}
		want := []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete}
		if !leave {
			want = append(want, mpu.Abort)
		}
		if !slices.Equal(ck.steps, want) {
			t.Fatalf("leave %v: steps %v", leave, ck.steps)
		}
	}
	if err := New(s3mem.New("b")).Preflight(context.Background(), &UploadInput{Bucket: "b"}, nil); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("no key: %v", err)
	}
}
