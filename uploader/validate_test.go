package uploader

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// rejectedBefore fails unless err is an *UploadError of mpu.OpValidate
// wrapping mpu.ErrInvalidInput whose message has every word, and c saw no call.
func rejectedBefore(t *testing.T, c *s3mem.Client, err error, words ...string) {
	t.Helper()
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpValidate || !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("got %v, want a Validate error wrapping mpu.ErrInvalidInput", err)
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
			c := s3mem.New("b")
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
	c := s3mem.New("Legacy_Bucket")
	if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(),
		&UploadInput{Bucket: "Legacy_Bucket", Key: "k", Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
}

func TestBucketNamesResumeAndCopy(t *testing.T) {
	t.Run("resume", func(t *testing.T) {
		c := s3mem.New("b")
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
		c := s3mem.New("b")
		rec := &recorder{}
		_, err := New(c, testOptions(newFakeClock(), rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: open(t)})
		rejectedBefore(t, c, err, "directory", dir)
		if ev := rec.all(); len(ev) != 0 {
			t.Fatalf("events %v", ev)
		}
	})
	t.Run("resume", func(t *testing.T) {
		c := s3mem.New("b")
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
	c := s3mem.New("b")
	if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: r}); err != nil {
		t.Fatal(err)
	}
	if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
		t.Fatal("stored object differs")
	}
}

// sseCKey returns the base64 of an n-byte key and the base64 of its MD5.
func sseCKey(n int) (key, keyMD5 string) {
	k := bytes.Repeat([]byte{0x42}, n)
	sum := md5.Sum(k)
	return base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:])
}

// badSSEC are SSE-C settings that must be refused, with a word the
// message must hold; each sets algorithm, key and MD5.
func badSSEC() []struct {
	name, algo, key, md5, word string
} {
	k32, m32 := sseCKey(32)
	k16, m16 := sseCKey(16)
	k33, m33 := sseCKey(33)
	_, m31 := sseCKey(31)
	return []struct {
		name, algo, key, md5, word string
	}{
		{"16-byte key", "AES256", k16, m16, "16-byte"},
		{"33-byte key", "AES256", k33, m33, "33-byte"},
		{"key not base64", "AES256", "this is not base64 at all!!", "", "base64"},
		{"key with a line break", "AES256", k32 + "\n", m32, "base64"},
		{"raw key", "AES256", string(bytes.Repeat([]byte{0x42}, 32)), "", "base64"},
		{"MD5 of another key", "AES256", k32, m31, "MD5"},
		{"MD5 not base64", "AES256", k32, "not an md5!", "MD5"},
		{"algorithm unknown", "ROT13", k32, m32, "AES256"},
		{"algorithm lowercase", "aes256", k32, m32, "AES256"},
		{"key without algorithm", "", k32, m32, "Algorithm"},
		{"algorithm without key", "AES256", "", "", "Key"},
		{"MD5 alone", "", "", m32, "Key"},
	}
}

func TestSSECValidated(t *testing.T) {
	for _, tc := range badSSEC() {
		check := func(t *testing.T, c *s3mem.Client, err error) {
			t.Helper()
			rejectedBefore(t, c, err, "SSE-C", tc.word)
			if tc.key != "" && strings.Contains(err.Error(), tc.key) {
				t.Fatalf("message reveals the key: %v", err)
			}
		}
		t.Run("upload "+tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			_, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{
				Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib)),
				SSECustomerAlgorithm: tc.algo, SSECustomerKey: tc.key, SSECustomerKeyMD5: tc.md5,
			})
			check(t, c, err)
		})
		t.Run("resume "+tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			_, err := New(c, testOptions(newFakeClock(), nil)).Resume(context.Background(), &ResumeInput{
				UploadInput: UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib)),
					SSECustomerAlgorithm: tc.algo, SSECustomerKey: tc.key, SSECustomerKeyMD5: tc.md5},
				StateFile: filepath.Join(t.TempDir(), "state"),
			})
			check(t, c, err)
		})
		t.Run("copy destination "+tc.name, func(t *testing.T) {
			c, _ := copyFixture(t, mib)
			_, err := New(c, testOptions(newFakeClock(), nil)).Copy(context.Background(), &CopyInput{
				SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "k",
				SSECustomerAlgorithm: tc.algo, SSECustomerKey: tc.key, SSECustomerKeyMD5: tc.md5,
			})
			check(t, c, err)
		})
		t.Run("copy source "+tc.name, func(t *testing.T) {
			c, _ := copyFixture(t, mib)
			_, err := New(c, testOptions(newFakeClock(), nil)).Copy(context.Background(), &CopyInput{
				SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "k",
				SourceSSECustomerAlgorithm: tc.algo, SourceSSECustomerKey: tc.key, SourceSSECustomerKeyMD5: tc.md5,
			})
			check(t, c, err)
			if !strings.Contains(err.Error(), "copy source") {
				t.Fatalf("message does not say it is the source's: %v", err)
			}
		})
	}
}

// TestSSECKeyMD5Sent checks that a valid key is accepted, and that the MD5
// the SDK does not compute is sent with every request that carries the key.
func TestSSECKeyMD5Sent(t *testing.T) {
	key, keyMD5 := sseCKey(32)
	for _, given := range []string{"", keyMD5} {
		c := s3mem.New("b")
		in := &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib)),
			SSECustomerAlgorithm: "AES256", SSECustomerKey: key, SSECustomerKeyMD5: given}
		if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if in.SSECustomerKeyMD5 != given {
			t.Fatal("the caller's input was modified")
		}
		for _, call := range c.Calls() {
			var k, m *string
			switch in := call.Input.(type) {
			case *s3.CreateMultipartUploadInput:
				k, m = in.SSECustomerKey, in.SSECustomerKeyMD5
			case *s3.UploadPartInput:
				k, m = in.SSECustomerKey, in.SSECustomerKeyMD5
			case *s3.CompleteMultipartUploadInput:
				k, m = in.SSECustomerKey, in.SSECustomerKeyMD5
			default:
				continue
			}
			if aws.ToString(k) != key || aws.ToString(m) != keyMD5 {
				t.Fatalf("%s (MD5 given %q): key %v, MD5 %q, want %q", call.Op, given, k != nil, aws.ToString(m), keyMD5)
			}
		}
	}
	c, _ := copyFixture(t, 12*mib)
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.CopyThreshold = 5 * mib }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
		SourceSSECustomerAlgorithm: "AES256", SourceSSECustomerKey: key, SSECustomerAlgorithm: "AES256", SSECustomerKey: key,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range c.CallsOf(s3mem.OpUploadPartCopy) {
		in := call.Input.(*s3.UploadPartCopyInput)
		if aws.ToString(in.SSECustomerKeyMD5) != keyMD5 || aws.ToString(in.CopySourceSSECustomerKeyMD5) != keyMD5 {
			t.Fatalf("part copy MD5s %q %q", aws.ToString(in.SSECustomerKeyMD5), aws.ToString(in.CopySourceSSECustomerKeyMD5))
		}
	}
	if h := c.CallsOf(s3mem.OpHeadObject)[0].Input.(*s3.HeadObjectInput); aws.ToString(h.SSECustomerKeyMD5) != keyMD5 {
		t.Fatal("source HeadObject without the key MD5")
	}
}

// digestErr is the server's answer to data that does not match the
// checksum or the SHA-256 it came with.
func digestErr(op, code string) error {
	return s3mem.APIError(op, 400, code, "The checksum you specified did not match what we received.")
}

func TestDigestMismatchResent(t *testing.T) {
	for _, code := range []string{"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"} {
		for _, stream := range []bool{false, true} {
			name := code + " file"
			if stream {
				name = code + " stream"
			}
			t.Run(name, func(t *testing.T) {
				data := payload(11 * mib)
				c := s3mem.New("b")
				c.Hook(s3mem.OpUploadPart, partHook(2, s3mem.FailTimes(2, digestErr(s3mem.OpUploadPart, code))))
				rec := &recorder{}
				var body io.Reader = bytes.NewReader(data)
				if stream {
					body = streamOf(data)
				}
				out, err := New(c, testOptions(newFakeClock(), rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: body})
				if err != nil {
					t.Fatal(err)
				}
				if got := partNumbers(c); !slices.Equal(got, []int32{1, 2, 2, 2, 3}) {
					t.Fatalf("parts sent %v", got)
				}
				if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
					t.Fatal("stored object differs")
				}
				if out.Parts[1].PartNumber != 2 || out.Checksum != s3mem.Checksum("CRC32C", data) {
					t.Fatalf("output %+v", out)
				}
				if r := eventsOf[event.Retry](rec); len(r) != 2 || r[0].PartNumber != 2 || s3err.Code(r[0].Err) != code {
					t.Fatalf("retry events %+v", r)
				}
			})
		}
	}
	t.Run("PutObject", func(t *testing.T) {
		data := payload(mib)
		c := s3mem.New("b")
		c.Hook(s3mem.OpPutObject, s3mem.FailTimes(1, digestErr(s3mem.OpPutObject, "BadDigest")))
		if _, err := New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}); err != nil {
			t.Fatal(err)
		}
		if n := c.Count(s3mem.OpPutObject); n != 2 {
			t.Fatalf("%d PutObject calls", n)
		}
		if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
			t.Fatal("stored object differs")
		}
	})
}

func TestDigestMismatchEveryAttempt(t *testing.T) {
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, partHook(2, s3mem.Fail(digestErr(s3mem.OpUploadPart, "BadDigest"))))
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.MaxAttempts = 3; o.Concurrency = 1 }).
		Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpUploadPart || ue.PartNumber != 2 || !ue.Aborted {
		t.Fatalf("%v", err)
	}
	if !errors.Is(err, mpu.ErrChecksumMismatch) || s3err.Code(err) != "BadDigest" {
		t.Fatalf("category: %v", err)
	}
	if got := partNumbers(c); !slices.Equal(got, []int32{1, 2, 2, 2}) {
		t.Fatalf("parts sent %v, want part 2 three times", got)
	}
	if len(c.Uploads()) != 0 || c.Object("b", "k") != nil {
		t.Fatal("upload or object left")
	}
	// Requests without a body to resend keep a digest error final.
	c = s3mem.New("b")
	c.Hook(s3mem.OpCompleteMultipartUpload, s3mem.Fail(digestErr(s3mem.OpCompleteMultipartUpload, "InvalidDigest")))
	_, err = New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(6 * mib))})
	if !errors.Is(err, mpu.ErrChecksumMismatch) || c.Count(s3mem.OpCompleteMultipartUpload) != 1 {
		t.Fatalf("Complete: %d calls, %v", c.Count(s3mem.OpCompleteMultipartUpload), err)
	}
}
