package uploader

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/internal/s3fake"
)

// rejectedBefore fails unless err is an *UploadError of OpValidate
// wrapping ErrInvalidInput whose message has every word, and c saw no call.
func rejectedBefore(t *testing.T, c *s3fake.Client, err error, words ...string) {
	t.Helper()
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != OpValidate || !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("got %v, want a Validate error wrapping ErrInvalidInput", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q does not mention %q", err.Error(), w)
		}
	}
	if ops := c.Ops(); len(ops) != 0 {
		t.Fatalf("requests made: %v", ops)
	}
}

func TestBucketNames(t *testing.T) {
	bad := map[string]string{
		"empty":             "",
		"slash":             "bucket/with/slash",
		"leading slash":     "/bucket",
		"space":             "my bucket",
		"tab":               "bucket\t",
		"newline":           "bucket\n",
		"control":           "buck\x00et",
		"no-break space":    "bucket\u00a0x",
		"invalid UTF-8":     "bucket-\xff",
		"longer than 255":   strings.Repeat("b", 256),
		"arn without parts": "arn:aws:s3",
		"arn no resource":   "arn:aws:s3:us-east-1:123456789012:",
		"arn with space":    "arn:aws:s3:us-east-1:123456789012:accesspoint/my ap",
	}
	for name, bucket := range bad {
		t.Run("upload "+name, func(t *testing.T) {
			c := s3fake.New("b")
			_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(),
				&UploadInput{Bucket: bucket, Key: "k", Body: bytes.NewReader([]byte("x"))})
			rejectedBefore(t, c, err, "bucket")
		})
	}
	good := []string{
		"b", "ab", "my-bucket", "my.bucket.example", "Legacy_Bucket", strings.Repeat("b", 255), "192.168.5.4",
		"bucket-base-name--usw2-az1--x-s3",
		"arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point",
		"arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01ac5d28a6a232904/accesspoint/example",
		"arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
	}
	for _, bucket := range good {
		if err := checkBucket("", bucket); err != nil {
			t.Errorf("%q rejected: %v", bucket, err)
		}
	}
	// A legacy name reaches the server, which answers for it.
	c := s3fake.New("Legacy_Bucket")
	if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(),
		&UploadInput{Bucket: "Legacy_Bucket", Key: "k", Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
}

func TestBucketNamesResumeAndCopy(t *testing.T) {
	t.Run("resume", func(t *testing.T) {
		c := s3fake.New("b")
		_, err := New(c, testOptions(newFakeClock(), nil)).Resume(context.Background(), &ResumeInput{
			UploadInput: UploadInput{Bucket: "b/x", Key: "k", Body: bytes.NewReader(payload(11 * mib))},
			StateFile:   filepath.Join(t.TempDir(), "state"),
		})
		rejectedBefore(t, c, err, "bucket", "/")
	})
	for _, tc := range []struct {
		name, src, dst, word string
	}{
		{"source", "src/x", "dst", "source bucket"},
		{"destination", "src", "dst x", "destination bucket"},
	} {
		t.Run("copy "+tc.name, func(t *testing.T) {
			c, _ := copyFixture(t, mib)
			_, err := New(c, testOptions(newFakeClock(), nil)).Copy(context.Background(),
				&CopyInput{SourceBucket: tc.src, SourceKey: "a/b c", Bucket: tc.dst, Key: "k"})
			rejectedBefore(t, c, err, tc.word)
		})
	}
}

func TestDirectoryBody(t *testing.T) {
	dir := t.TempDir()
	open := func(t *testing.T) *os.File {
		d, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	t.Run("upload", func(t *testing.T) {
		c := s3fake.New("b")
		rec := &recorder{}
		_, err := New(c, testOptions(newFakeClock(), rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: open(t)})
		rejectedBefore(t, c, err, "directory", dir)
		if ev := rec.all(); len(ev) != 0 {
			t.Fatalf("events %v", ev)
		}
	})
	t.Run("resume", func(t *testing.T) {
		c := s3fake.New("b")
		_, err := New(c, testOptions(newFakeClock(), nil)).Resume(context.Background(), &ResumeInput{
			UploadInput: UploadInput{Bucket: "b", Key: "k", Body: open(t)}, StateFile: filepath.Join(t.TempDir(), "state"),
		})
		rejectedBefore(t, c, err, "directory")
	})
}

func TestPipeBodyIsStreamed(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data := payload(6 * mib)
	go func() {
		_, _ = w.Write(data)
		w.Close()
	}()
	c := s3fake.New("b")
	if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: r}); err != nil {
		t.Fatal(err)
	}
	if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
		t.Fatal("stored object differs")
	}
}
