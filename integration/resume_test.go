package integration

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

const (
	resumeMiB      = 1 << 20
	resumePartSize = 5 * resumeMiB
)

// resumeChildRun starts the resumechild program for one upload and kills it with SIGKILL
// when it prints "paused ..." or, when delay is positive, after delay, unless it ends
// first. It returns the lines the child printed and whether it was killed.
func resumeChildRun(t *testing.T, bin string, env *s3test.Env, tgt s3test.Target, delay time.Duration, args ...string) ([]string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	root := env.Users["root"]
	cmd.Env = append(os.Environ(), "RESUMECHILD_ENDPOINT="+tgt.Endpoint, "RESUMECHILD_CA_FILE="+env.CAFile(),
		"AWS_ACCESS_KEY_ID="+root.AccessKey, "AWS_SECRET_ACCESS_KEY="+root.SecretKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var timer <-chan time.Time
	if delay > 0 {
		tm := time.NewTimer(delay)
		defer tm.Stop()
		timer = tm.C
	}
	var got []string
	killed := false
	kill := func() {
		if !killed {
			_ = cmd.Process.Kill() // SIGKILL: the error only says it already ended
			killed = true
		}
	}
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				if killed {
					return got, true
				}
				if err != nil {
					t.Logf("child ended: %v", err)
				}
				return got, false
			}
			got = append(got, l)
			if strings.HasPrefix(l, "paused ") {
				kill()
			}
		case <-timer:
			kill()
		}
	}
}

// resumeCounter counts the events of an in-process Resume.
type resumeCounter struct {
	mu        sync.Mutex
	sent      int
	resumed   []event.Resumed
	restarted []event.Restarted
	started   int
}

func (c *resumeCounter) OnEvent(e event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := e.(type) {
	case event.PartDone:
		c.sent++
	case event.Resumed:
		c.resumed = append(c.resumed, e)
	case event.Restarted:
		c.restarted = append(c.restarted, e)
	case event.Started:
		c.started++
	}
}

func resumeInProcess(ctx context.Context, cli *s3.Client, bucket, key, path, state string, l event.Listener, mod func(*uploader.ResumeInput)) (*uploader.UploadOutput, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := &uploader.ResumeInput{UploadInput: uploader.UploadInput{Bucket: bucket, Key: key, Body: f}, StateFile: state}
	if mod != nil {
		mod(in)
	}
	return uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = resumePartSize
		o.Concurrency = 4
		o.Listener = l
	}).Resume(ctx, in)
}

// serverParts lists the parts the server holds for the upload the state file names (0
// when there is no state file, no upload ID, or no such upload).
func serverParts(ctx context.Context, t *testing.T, cli *s3.Client, state string) int {
	t.Helper()
	st, err := uploader.ReadState(state)
	if err != nil || st.UploadID == "" {
		return 0
	}
	n := 0
	in := &s3.ListPartsInput{Bucket: aws.String(st.Bucket), Key: aws.String(st.Key), UploadId: aws.String(st.UploadID)}
	for {
		out, err := cli.ListParts(ctx, in)
		if err != nil {
			return n
		}
		n += len(out.Parts)
		if !aws.ToBool(out.IsTruncated) {
			return n
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
}

// TestResumeAfterKill uploads a 200 MiB file (40 parts of 5 MiB) in a child process that
// is killed with SIGKILL at chosen points (right before and after CreateMultipartUpload,
// after the upload ID is recorded, after parts 1, 7, 20 and 39, in the middle of part 12,
// right before and right after CompleteMultipartUpload) and at random moments, then
// resumes the upload in-process each time: the object equals the file, only the parts
// the server lacked are sent (counted from the events, checked against ListParts before
// resuming), the state file is gone and no multipart upload is left.
func TestResumeAfterKill(t *testing.T) {
	env := s3test.Load(t)
	tgt := env.HTTPS()
	bucket := env.NewBucket(t, s3test.WithPrefix("resume"))
	bin := relBuild(t, ".", "./cmd/resumechild", "resumechild")
	cli := env.Root(tgt)
	dir := t.TempDir()
	src := relSource{seed: 8, size: 200 * resumeMiB}
	path, err := src.writeFile(dir, "src.bin")
	if err != nil {
		t.Fatal(err)
	}
	want := src.sum()
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.Copy(crc, src.reader()); err != nil {
		t.Fatal(err)
	}
	wantCRC := base64.StdEncoding.EncodeToString(crc.Sum(nil))
	const parts = 40

	seed := relSeed(t)
	rng := rand.New(rand.NewPCG(seed, 8))
	type point struct {
		pause string
		delay time.Duration
	}
	points := []point{
		{pause: "before-create"}, {pause: "after-create"}, {pause: "started"},
		{pause: "part-1"}, {pause: "part-7"}, {pause: "mid-part-12"}, {pause: "part-20"}, {pause: "part-39"},
		{pause: "before-complete"}, {pause: "after-complete"},
	}
	for range 3 {
		points = append(points, point{delay: time.Duration(100+rng.IntN(600)) * time.Millisecond})
	}
	t.Logf("random kill delays from seed %d", seed)
	start := time.Now()
	var totalSent, totalStored int
	for i, pt := range points {
		name := pt.pause
		if name == "" {
			name = fmt.Sprintf("after %v", pt.delay)
		}
		key := fmt.Sprintf("big/%02d", i)
		state := filepath.Join(dir, fmt.Sprintf("state-%02d.json", i))
		args := []string{"-bucket", bucket, "-key", key, "-file", path, "-state", state,
			"-part-size", fmt.Sprint(resumePartSize), "-concurrency", "4"}
		if pt.pause != "" {
			args = append(args, "-pause", pt.pause)
		}
		lines, killed := resumeChildRun(t, bin, env, tgt, pt.delay, args...)
		if pt.pause != "" && !killed {
			t.Fatalf("%s: the child did not reach its pause point: %q", name, lines)
		}
		ctx := testCtx(t)
		// Requests the child had sent in full may still be stored after it died: wait
		// until the server's part list stops changing.
		onServer := serverParts(ctx, t, cli, state)
		for range 20 {
			time.Sleep(150 * time.Millisecond)
			n := serverParts(ctx, t, cli, state)
			if n == onServer {
				break
			}
			onServer = n
		}
		// A child killed during Complete may have stored the object already.
		completed, completing := false, false
		if st, err := uploader.ReadState(state); err == nil && st.Completing {
			completing = true
			_, err := cli.HeadObject(ctx, relHead(bucket, key))
			completed = err == nil
		}
		c := &resumeCounter{}
		out, err := resumeInProcess(ctx, cli, bucket, key, path, state, c, nil)
		if err != nil {
			t.Fatalf("%s: resume: %v", name, err)
		}
		if completing && !completed && c.sent == 0 && len(c.resumed) == 0 {
			// The killed run's Complete was still running on the server when the object
			// was looked for, and stored it before the resume looked: the resume found
			// the object and sent nothing, as it should (its content is checked below).
			completed = true
			t.Logf("%s: the server finished the killed run's Complete after the check", name)
		}
		// The object's size and the CRC32C the server computed over it equal the
		// file's; a few objects are also downloaded and compared byte for byte.
		head, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToInt64(head.ContentLength) != src.size || aws.ToString(head.ChecksumCRC32C) != wantCRC {
			t.Errorf("%s: object differs from the file: %v", name, err)
		}
		if pt.pause == "after-create" || pt.pause == "mid-part-12" || pt.pause == "after-complete" {
			n, got, err := relObjectSum(ctx, cli, bucket, key)
			if err != nil || n != src.size || got != want {
				t.Errorf("%s: object differs from the file (%d bytes, %v)", name, n, err)
			}
		}
		if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: state file left: %v", name, err)
		}
		left, err := env.ListUploads(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Errorf("%s: %d multipart uploads left", name, len(left))
		}
		stored := 0
		if len(c.resumed) == 1 {
			stored = c.resumed[0].PartsStored
			if stored != onServer {
				t.Errorf("%s: %d parts on the server, %d trusted", name, onServer, stored)
			}
		}
		if pt.pause == "after-complete" && !completed {
			t.Errorf("%s: the state file does not show the completed upload", name)
		}
		switch {
		case completed:
			// The killed run stored the object: nothing is sent again.
			if c.sent != 0 || len(c.resumed) != 0 || out.Size != src.size {
				t.Errorf("%s: sent %d parts after the object was stored", name, c.sent)
			}
		case pt.pause == "after-create":
			// The unrecorded upload is found and aborted.
			if len(c.restarted) != 1 || !c.restarted[0].Aborted {
				t.Errorf("%s: restarted events %+v", name, c.restarted)
			}
			fallthrough
		default:
			if c.sent != parts-stored {
				t.Errorf("%s: sent %d parts, want %d (40 minus %d stored)", name, c.sent, parts-stored, stored)
			}
		}
		if pt.pause == "before-complete" && stored != parts {
			t.Errorf("%s: %d parts trusted, want all %d", name, stored, parts)
		}
		totalSent += c.sent
		totalStored += stored
		t.Logf("%-16s child %q; server had %d parts, object stored %v; resume trusted %d, sent %d", name, tail(lines, 2), onServer, completed, stored, c.sent)
	}
	t.Logf("%d kill points in %v: %d parts found stored and trusted, %d sent by the resumes", len(points), time.Since(start).Round(time.Millisecond), totalStored, totalSent)
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// interruptInProcess starts a resumable upload and cancels it after parts parts are
// stored, leaving the upload and its state file.
func interruptInProcess(t *testing.T, cli *s3.Client, bucket, key, path, state string, parts int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var mu sync.Mutex
	done := 0
	l := event.ListenerFunc(func(e event.Event) {
		if _, ok := e.(event.PartDone); ok {
			mu.Lock()
			done++
			if done == parts {
				cancel()
			}
			mu.Unlock()
		}
	})
	_, err := resumeInProcess(ctx, cli, bucket, key, path, state, l, nil)
	var ue *uploader.UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrCanceled) || ue.Aborted {
		t.Fatalf("interrupted upload: %v", err)
	}
	st, err := uploader.ReadState(state)
	if err != nil || st.UploadID == "" || len(st.Parts) < parts {
		t.Fatalf("state after the interruption: %+v, %v", st, err)
	}
	return st.UploadID
}

// settleParts waits until the upload's part list has stopped changing: the same parts
// listed three times in a row, 100 ms apart (at most 5 s).
func settleParts(ctx context.Context, t *testing.T, cli *s3.Client, bucket, key, id string) {
	t.Helper()
	last, same := -1, 0
	for i := 0; i < 50 && same < 3; i++ {
		out, err := cli.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(id)})
		if err != nil {
			t.Fatalf("list parts of %s: %v", id, err)
		}
		if n := len(out.Parts); n == last {
			same++
		} else {
			last, same = n, 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestResumeModifiedFile: a file changed since its state file was written is refused with
// ErrSourceChanged, the old upload is left for the caller to decide; AbortResumable then
// removes it and the state file.
func TestResumeModifiedFile(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			bucket := env.NewBucket(t, s3test.WithPrefix("resumemod"))
			cli := env.Root(tgt)
			dir := t.TempDir()
			src := relSource{seed: 81, size: 32 * resumeMiB}
			path, err := src.writeFile(dir, "src.bin")
			if err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "state.json")
			id := interruptInProcess(t, cli, bucket, "k", path, state, 2)

			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("changed"), 20*resumeMiB); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			later := time.Now().Add(time.Minute)
			if err := os.Chtimes(path, later, later); err != nil {
				t.Fatal(err)
			}
			ctx := testCtx(t)
			_, err = resumeInProcess(ctx, cli, bucket, "k", path, state, nil, nil)
			var ue *uploader.UploadError
			if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrSourceChanged) || ue.Op != mpu.OpResume {
				t.Fatalf("got %v", err)
			}
			t.Logf("refused: %v", err)
			left, err := env.ListUploads(ctx, bucket)
			if err != nil || len(left) != 1 || aws.ToString(left[0].UploadId) != id {
				t.Fatalf("the old upload should be left as it was: %v %v", left, err)
			}
			if _, err := cli.HeadObject(ctx, relHead(bucket, "k")); err == nil {
				t.Fatal("an object was stored")
			}
			if err := uploader.New(cli).AbortResumable(ctx, state); err != nil {
				t.Fatal(err)
			}
			if left, err := env.ListUploads(ctx, bucket); err != nil || len(left) != 0 {
				t.Fatalf("uploads left after AbortResumable: %v %v", left, err)
			}
			if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("state file left")
			}
		})
	}
}

// TestResumeAbortedUpload: when the upload named by the state file was aborted on the
// server, Resume says so in a Restarted event and uploads everything anew.
func TestResumeAbortedUpload(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			bucket := env.NewBucket(t, s3test.WithPrefix("resumegone"))
			cli := env.Root(tgt)
			dir := t.TempDir()
			src := relSource{seed: 82, size: 27 * resumeMiB}
			path, err := src.writeFile(dir, "src.bin")
			if err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "state.json")
			id := interruptInProcess(t, cli, bucket, "k", path, state, 3)
			ctx := testCtx(t)
			// A part request cancelled on the client may still be finishing on the server,
			// and a part stored after the abort brings the upload back (S3 documents the
			// same: abort again when ListParts still shows parts). Let the server settle
			// before aborting, so the test aborts the upload once and for all.
			settleParts(ctx, t, cli, bucket, "k", id)
			if _, err := cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("k"), UploadId: aws.String(id)}); err != nil {
				t.Fatal(err)
			}
			c := &resumeCounter{}
			out, err := resumeInProcess(ctx, cli, bucket, "k", path, state, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.restarted) != 1 || c.restarted[0].OldUploadID != id || out.UploadID == id || c.sent != 6 {
				t.Fatalf("restarted %+v, sent %d, upload %s (old %s)", c.restarted, c.sent, out.UploadID, id)
			}
			n, got, err := relObjectSum(ctx, cli, bucket, "k")
			if err != nil || n != src.size || got != src.sum() {
				t.Fatalf("object differs (%d bytes, %v)", n, err)
			}
		})
	}
}
