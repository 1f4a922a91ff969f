package uploader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
)

// TestEveryCallRefusesBadSetup: every call of the Uploader, given a nil
// context, a nil or typed-nil client, or a nil input (an empty state file
// path), returns an *UploadError wrapping mpu.ErrInvalidInput and never
// panics; with a good input, good client and good context it is not
// refused that way. Preflight sends no request of its own, so it does not
// need a client.
func TestEveryCallRefusesBadSetup(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data")
	if err := os.WriteFile(file, payload(6*mib), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func() *os.File {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	upIn := func() UploadInput { return UploadInput{Bucket: "b", Key: "k", Body: open()} }
	plan := func() *Plan {
		p, err := New(s3mem.New("b"), testOptions(newFakeClock(), nil)).CreatePlan(context.Background(), &PlanInput{UploadInput: upIn(), Shards: 1})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var nilMem *s3mem.Client
	var nilSDK *s3.Client
	clients := map[string]API{"nil": nil, "typed-nil s3mem": nilMem, "typed-nil s3": nilSDK, "s3mem": nil}
	//lint:ignore SA1012 a nil context is what is tested
	ctxs := map[string]context.Context{"nil": nil, "background": context.Background()}
	type call func(u *Uploader, ctx context.Context, good bool) error
	calls := map[string]call{
		"Upload": func(u *Uploader, ctx context.Context, good bool) error {
			var in *UploadInput
			if good {
				in = &UploadInput{Bucket: "b", Key: "k", Body: open()}
			}
			_, err := u.Upload(ctx, in)
			return err
		},
		"Copy": func(u *Uploader, ctx context.Context, good bool) error {
			var in *CopyInput
			if good {
				in = &CopyInput{SourceBucket: "b", SourceKey: "src", Bucket: "b", Key: "k"}
			}
			_, err := u.Copy(ctx, in)
			return err
		},
		"Resume": func(u *Uploader, ctx context.Context, good bool) error {
			var in *ResumeInput
			if good {
				in = &ResumeInput{UploadInput: upIn(), StateFile: filepath.Join(t.TempDir(), "state")}
			}
			_, err := u.Resume(ctx, in)
			return err
		},
		"AbortResumable": func(u *Uploader, ctx context.Context, good bool) error {
			path := ""
			if good {
				path = filepath.Join(t.TempDir(), "state")
				c := s3mem.New("b")
				c.Hook(s3mem.OpUploadPart, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart)))
				if _, err := New(c, testOptions(newFakeClock(), nil)).Resume(context.Background(), &ResumeInput{UploadInput: upIn(), StateFile: path}); err == nil {
					t.Fatal("the run meant to leave a state file succeeded")
				}
				if _, err := os.Stat(path); err != nil {
					t.Fatalf("no state file left: %v", err)
				}
			}
			return u.AbortResumable(ctx, path)
		},
		"CreatePlan": func(u *Uploader, ctx context.Context, good bool) error {
			var in *PlanInput
			if good {
				in = &PlanInput{UploadInput: upIn(), Shards: 1}
			}
			_, err := u.CreatePlan(ctx, in)
			return err
		},
		"UploadShard": func(u *Uploader, ctx context.Context, good bool) error {
			var p *Plan
			var in *ShardInput
			if good {
				p, in = plan(), &ShardInput{Shard: 0, Body: open()}
			}
			_, err := u.UploadShard(ctx, p, in)
			return err
		},
		"CompletePlan": func(u *Uploader, ctx context.Context, good bool) error {
			var p *Plan
			var in *CompletePlanInput
			if good {
				p, in = plan(), &CompletePlanInput{}
			}
			_, err := u.CompletePlan(ctx, p, in)
			return err
		},
		"AbortPlan": func(u *Uploader, ctx context.Context, good bool) error {
			var p *Plan
			if good {
				p = plan()
			}
			return u.AbortPlan(ctx, p)
		},
		"Preflight": func(u *Uploader, ctx context.Context, good bool) error {
			var in *UploadInput
			if good {
				in = &UploadInput{Bucket: "b", Key: "k", Body: open()}
			}
			return u.Preflight(ctx, in, nil)
		},
	}
	for cn, c := range clients {
		for xn, ctx := range ctxs {
			for name, f := range calls {
				for _, good := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/%s client/%s context/good input %v", name, cn, xn, good), func(t *testing.T) {
						if cn == "s3mem" {
							mem := s3mem.New("b")
							mem.PutObjectData("b", "src", []byte("source"))
							c = mem
						}
						var err error
						func() {
							defer func() {
								if r := recover(); r != nil {
									t.Fatalf("panic: %v", r)
								}
							}()
							err = f(New(c, testOptions(newFakeClock(), nil)), ctx, good)
						}()
						if (cn == "s3mem" || name == "Preflight") && xn == "background" && good {
							if errors.Is(err, mpu.ErrInvalidInput) {
								t.Fatalf("a good call refused: %v", err)
							}
							return
						}
						var ue *UploadError
						if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrInvalidInput) {
							t.Fatalf("got %T %v, want an *UploadError wrapping mpu.ErrInvalidInput", err, err)
						}
					})
				}
			}
		}
	}
}
