package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
)

// stallReturnBound is how long after its context ends an upload stuck on
// its body may take to return (it aborts the upload first): a generous
// bound on what takes milliseconds.
const stallReturnBound = 5 * time.Second

// stallEmpty yields data, then returns (0, nil) forever.
type stallEmpty struct {
	data    []byte
	empties atomic.Int64
}

func (b *stallEmpty) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	b.empties.Add(1)
	return 0, nil
}

// TestStalledBodyServer uploads streams whose Read blocks (a pipe whose
// writer stalls) or keeps returning (0, nil), before the first part and
// after 20 MiB, and checks the error, the time Upload takes to return once
// its context ends, and that no upload is left on the server.
func TestStalledBodyServer(t *testing.T) {
	env := s3test.Load(t)
	root := env.Root(env.HTTP())
	for _, tc := range []struct {
		name   string
		before int   // bytes the body yields before it stalls
		size   int64 // UploadInput.Size (0: unknown)
		create bool  // a multipart upload exists when the body stalls
	}{
		{"BeforeFirstPart", 0, 0, false},
		{"BeforeFirstPartKnownSize", 0, 40 << 20, true},
		{"After20MiB", 20 << 20, 0, true},
	} {
		for _, kind := range []string{"Blocking", "EmptyReads"} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				bucket := env.NewBucket(t)
				data := upRandom(t, tc.before)
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				var body io.Reader
				var canceledAt atomic.Pointer[time.Time]
				if kind == "Blocking" {
					pr, pw := io.Pipe()
					defer pw.Close() // ends the Read left blocked, and with it the reader goroutine
					body = pr
					go func() {
						if _, err := pw.Write(data); err != nil {
							return
						}
						// Every byte was read: the next Read blocks. Let
						// the parts go, then end the context.
						select {
						case <-time.After(time.Second):
						case <-ctx.Done():
							return
						}
						now := time.Now()
						canceledAt.Store(&now)
						cancel(context.DeadlineExceeded)
					}()
				} else {
					body = &stallEmpty{data: data}
				}
				start := time.Now()
				_, err := uploader.New(root, func(o *uploader.Options) { o.PartSize = upPart }).
					Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: "stall.bin", Body: body, Size: tc.size})
				returned := time.Now()
				var ue *uploader.UploadError
				if !errors.As(err, &ue) || ue.Op != mpu.OpReadBody {
					t.Fatalf("err %v, want a ReadBody error", err)
				}
				if kind == "Blocking" {
					at := canceledAt.Load()
					if at == nil || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, mpu.ErrCanceled) {
						t.Fatalf("err %v, want the context's end", err)
					}
					took := returned.Sub(*at)
					t.Logf("returned %v after the context ended: %v", took.Round(time.Millisecond), err)
					if took > stallReturnBound {
						t.Fatalf("Upload returned %v after its context ended", took)
					}
				} else {
					if !errors.Is(err, io.ErrNoProgress) {
						t.Fatalf("err %v, want io.ErrNoProgress", err)
					}
					t.Logf("returned %v after the start: %v", returned.Sub(start).Round(time.Millisecond), err)
				}
				if tc.create && (ue.UploadID == "" || !ue.Aborted) {
					t.Fatalf("upload %q not aborted: %v", ue.UploadID, err)
				}
				if left := cliListUploads(t, env, bucket); len(left) != 0 {
					t.Fatalf("uploads left: %v", left)
				}
				if _, err := root.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("stall.bin")}); err == nil {
					t.Fatal("an object was stored")
				}
			})
		}
	}
}

// TestCLIStalledStdin runs `s3mpu upload -` with a standard input the
// test holds open without writing (as `(head -c 20M f; sleep 30) | s3mpu
// upload - ...` does), before the first part and after 20 MiB, and checks
// that the first SIGINT or SIGTERM ends it with exit 130, the upload
// aborted and none left, promptly.
func TestCLIStalledStdin(t *testing.T) {
	env := s3test.Load(t)
	bin := buildCLI(t)
	for _, tc := range []struct {
		name   string
		before int
		sig    syscall.Signal
	}{
		{"BeforeFirstPart/SIGTERM", 0, syscall.SIGTERM},
		{"After20MiB/SIGINT", 20 << 20, syscall.SIGINT},
		{"After20MiB/SIGTERM", 20 << 20, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := env.NewBucket(t)
			u := env.NewUser(t, "cli-stall")
			env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
			c := newCLIUser(t, env, env.HTTP(), u)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close()
			cmd := exec.Command(bin, append(append([]string{}, c.global...), "upload", "-", "s3://"+bucket+"/stall.bin",
				"--part-size", "5MiB", "--preflight", "off", "--progress", "none")...)
			cmd.Env, cmd.Stdin = c.env, pr
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			if _, err := pw.Write(cliRandomBytes(t, tc.before)); err != nil {
				t.Fatal(err)
			}
			if tc.before > 0 {
				deadline := time.Now().Add(20 * time.Second)
				for len(cliListUploads(t, env, bucket)) == 0 {
					if time.Now().After(deadline) {
						_ = cmd.Process.Kill()
						_ = cmd.Wait()
						t.Fatalf("no upload started; stderr %s", errb.String())
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			time.Sleep(time.Second) // the parts read go; the next read waits for stdin
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running 30 s after %v; stderr %s", tc.sig, errb.String())
			}
			took := time.Since(sent)
			t.Logf("exited %v after %v: %s", took.Round(time.Millisecond), tc.sig, strings.TrimSpace(errb.String()))
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
				t.Fatalf("exit %v, want 130\nstderr: %s", err, errb.String())
			}
			if took > stallReturnBound {
				t.Fatalf("exited %v after %v", took, tc.sig)
			}
			if !strings.Contains(errb.String(), "interrupted") {
				t.Errorf("stderr %q", errb.String())
			}
			if tc.before > 0 && !strings.Contains(errb.String(), "aborted, no parts left behind") {
				t.Errorf("stderr does not say the upload was aborted: %q", errb.String())
			}
			if left := cliListUploads(t, env, bucket); len(left) != 0 {
				t.Fatalf("uploads left: %v", left)
			}
		})
	}
}

// stallFile is a body read in place whose ReadAt blocks, until release is
// closed, for any read touching [from, to) (a file on a hung network file
// system); elsewhere it reads data.
type stallFile struct {
	data     []byte
	from, to int64
	release  chan struct{}
	blocked  chan struct{}
	once     sync.Once
}

func (s *stallFile) ReadAt(p []byte, off int64) (int, error) {
	if off < s.to && off+int64(len(p)) > s.from {
		s.once.Do(func() { close(s.blocked) })
		<-s.release
	}
	if off >= int64(len(s.data)) {
		return 0, io.EOF
	}
	n := copy(p, s.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s *stallFile) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return int64(len(s.data)) + off, nil
	}
	return off, nil
}

func (s *stallFile) Read([]byte) (int, error) { return 0, errors.New("not used") }

// TestStalledReaderAtServer uploads, over plain HTTP, a body read in
// place whose ReadAt blocks in the second part, and checks that Upload
// returns once its context ends, with the upload aborted and none left.
// Over HTTPS the part's payload is streamed by net/http, whose round trip
// waits for its body writer after a cancellation: a ReadAt blocked there
// holds that request until it returns (see the uploader's package doc).
func TestStalledReaderAtServer(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range []s3test.Target{env.HTTP()} {
		t.Run(tgt.Name, func(t *testing.T) {
			bucket := env.NewBucket(t)
			body := &stallFile{data: upRandom(t, 3*upPart), from: upPart + upPart/2, to: upPart + upPart/2 + 1, release: make(chan struct{}), blocked: make(chan struct{})}
			defer close(body.release)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var canceledAt atomic.Pointer[time.Time]
			go func() {
				select {
				case <-body.blocked:
				case <-ctx.Done():
					return
				}
				time.Sleep(time.Second)
				now := time.Now()
				canceledAt.Store(&now)
				cancel(context.DeadlineExceeded)
			}()
			_, err := uploader.New(env.Root(tgt), func(o *uploader.Options) { o.PartSize = upPart }).
				Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: "stall.bin", Body: body})
			returned := time.Now()
			at := canceledAt.Load()
			if at == nil {
				t.Fatalf("returned before the context ended: %v", err)
			}
			took := returned.Sub(*at)
			t.Logf("returned %v after the context ended: %v", took.Round(time.Millisecond), err)
			var ue *uploader.UploadError
			if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrCanceled) || !ue.Aborted {
				t.Fatalf("err %v, want a cancellation with the upload aborted", err)
			}
			if took > stallReturnBound {
				t.Fatalf("returned %v after the context ended", took)
			}
			if left := cliListUploads(t, env, bucket); len(left) != 0 {
				t.Fatalf("uploads left: %v", left)
			}
		})
	}
}
