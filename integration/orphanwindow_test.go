package integration

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// owInterruptedState makes the state file of a run interrupted before
// CreateMultipartUpload answered, as a user could edit it: a real Resume
// stopped at its Started event writes the file, its upload is aborted, and
// the upload ID goes; create_started and create_last are set to the given
// times (create_last removed when zero).
func owInterruptedState(t *testing.T, cl *s3.Client, bucket, key, file, state string, started, last time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := event.ListenerFunc(func(e event.Event) {
		if _, ok := e.(event.Started); ok {
			cancel()
		}
	})
	_, err = uploader.New(cl, func(o *uploader.Options) { o.PartSize, o.Listener = upPart, stop }).
		Resume(ctx, &uploader.ResumeInput{UploadInput: uploader.UploadInput{Bucket: bucket, Key: key, Body: f}, StateFile: state})
	if !errors.Is(err, mpu.ErrCanceled) {
		t.Fatalf("interrupted Resume: %v", err)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	id, _ := st["upload_id"].(string)
	if id == "" {
		t.Fatalf("no upload ID in %s", b)
	}
	if _, err := cl.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	delete(st, "upload_id")
	st["create_started"] = started.UTC().Format(time.RFC3339Nano)
	delete(st, "create_last")
	if !last.IsZero() {
		st["create_last"] = last.UTC().Format(time.RFC3339Nano)
	}
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func owCreate(t *testing.T, cl *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := cl.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UploadId)
}

func owUploadIDs(t *testing.T, env *s3test.Env, bucket string) []string {
	t.Helper()
	ups, err := env.ListUploads(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range ups {
		ids = append(ids, aws.ToString(u.UploadId))
	}
	slices.Sort(ids)
	return ids
}

func owAbortAll(t *testing.T, cl *s3.Client, bucket, key string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := cl.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(id)}); err != nil {
			t.Errorf("abort %s: %v", id, err)
		}
	}
}

// TestResumeInterruptedCreateWindowServer checks Resume's rule for a run
// interrupted before CreateMultipartUpload answered on the server, as
// alice, with uploads of the same key by bob and by alice herself. The
// server reports no initiators, so the window alone decides, as the
// OrphanCheck event says: an edited state file with an old create_started
// reaches no newer upload, and uploads before or after a recent window
// survive; an upload inside the window, whoever made it, is taken for the
// interrupted run's (matching initiators is tested with the fake).
func TestResumeInterruptedCreateWindowServer(t *testing.T) {
	env := s3test.Load(t)
	const key = "ow.bin"
	for _, tc := range []struct {
		name         string
		old          bool // the state file's window is an hour old (else it ends now)
		insideWindow bool // bob's upload is made inside the window
		future       bool // with old: create_last edited to a day from now
	}{
		{"OldStateFileReachesNothingNewer", true, false, false},
		{"InsideWindowByTimeAlone", false, true, false},
		{"CreateLastInTheFutureReachesNothingNewer", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := env.NewBucket(t)
			alice, bob := env.NewUser(t, "alice"), env.NewUser(t, "bob")
			env.PutUserPolicy(t, alice.Name, cliPolicyAll(bucket))
			env.PutUserPolicy(t, bob.Name, cliPolicyAll(bucket))
			ac, bc := env.S3For(env.HTTP(), alice), env.S3For(env.HTTP(), bob)
			dir := t.TempDir()
			file := filepath.Join(dir, "data.bin")
			if err := os.WriteFile(file, upRandom(t, 2*upPart+1), 0o600); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "ow.state")

			now := time.Now()
			var started, last time.Time
			if tc.old {
				started = now.Add(-time.Hour) // and no create_last: the window ends at started + 2 min
				if tc.future {
					last = now.Add(24 * time.Hour) // no run wrote it: ignored, the window ends at started + 2 min
				}
			} else {
				started, last = now.Add(-10*time.Second), now.Add(10*time.Second)
			}
			owInterruptedState(t, ac, bucket, key, file, state, started, last)
			bobs := owCreate(t, bc, bucket, key)
			var alices string
			if tc.old {
				alices = owCreate(t, ac, bucket, key) // alice's own, newer than the state file
			}

			rec := &owRecorder{}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := uploader.New(ac, func(o *uploader.Options) { o.PartSize, o.Listener = upPart, rec }).
				Resume(context.Background(), &uploader.ResumeInput{UploadInput: uploader.UploadInput{Bucket: bucket, Key: key, Body: f}, StateFile: state}); err != nil {
				t.Fatal(err)
			}
			if len(rec.checks) != 1 {
				t.Fatalf("%d OrphanCheck events", len(rec.checks))
			}
			oc := rec.checks[0]
			t.Logf("OrphanCheck: window %s to %s, no initiators %v, found %v, aborted %v, kept %v, err %v",
				oc.Since.Format(time.RFC3339), oc.Until.Format(time.RFC3339), oc.NoInitiators, oc.Found, oc.Aborted, oc.Kept, oc.Err)
			if !oc.NoInitiators || oc.Err != nil || oc.UploadID != "" {
				t.Fatalf("OrphanCheck %+v: want the server's missing initiators said, no error", oc)
			}
			left := owUploadIDs(t, env, bucket)
			if tc.insideWindow {
				// By time alone: bob's upload, inside the window, is taken for the run's.
				if !slices.Equal(oc.Aborted, []string{bobs}) || slices.Contains(left, bobs) {
					t.Fatalf("aborted %v, left %v; want bob's %s aborted by the window rule", oc.Aborted, left, bobs)
				}
			} else {
				want := []string{bobs, alices}
				slices.Sort(want)
				if len(oc.Found) != 0 || !slices.Equal(left, want) {
					t.Fatalf("found %v, uploads left %v; want none found and %v left", oc.Found, left, want)
				}
				owAbortAll(t, ac, bucket, key, want...)
			}
		})
	}
}

type owRecorder struct{ checks []event.OrphanCheck }

func (r *owRecorder) OnEvent(e event.Event) {
	if oc, ok := e.(event.OrphanCheck); ok {
		r.checks = append(r.checks, oc)
	}
}

// TestCLIStartOverUnreadableState runs `s3mpu upload --state FILE
// --start-over` with a state file that cannot be read while an upload of
// the key is on the server: the output names it and how to remove it, and
// leaves it in place.
func TestCLIStartOverUnreadableState(t *testing.T) {
	env := s3test.Load(t)
	bin := buildCLI(t)
	bucket := env.NewBucket(t)
	u := env.NewUser(t, "cli-so")
	env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
	c := newCLIUser(t, env, env.HTTP(), u)
	cl := env.S3For(env.HTTP(), u)
	dir := t.TempDir()
	file := cliWriteFile(t, dir, "data.bin", cliRandomBytes(t, 2*upPart+1))
	state := cliWriteFile(t, dir, "data.state", []byte("{not json"))
	id := owCreate(t, cl, bucket, "data.bin")
	r := c.run(t, bin, nil, "upload", file, "s3://"+bucket+"/data.bin", "--part-size", "5MiB", "--preflight", "off",
		"--progress", "none", "--state", state, "--start-over")
	t.Logf("exit %d, stderr %s", r.code, r.stderr)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, id) || !strings.Contains(r.stderr, "s3mpu uploads abort s3://"+bucket+"/data.bin --upload-id") {
		t.Fatalf("stderr does not name upload %s and how to remove it: %q", id, r.stderr)
	}
	if left := owUploadIDs(t, env, bucket); !slices.Equal(left, []string{id}) {
		t.Fatalf("uploads %v, want %s left in place", left, id)
	}
	owAbortAll(t, cl, bucket, "data.bin", id)
}
