package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// copyFixture stores a source object with metadata, tags and a CRC32C
// checksum in bucket "src", and makes bucket "dst".
func copyFixture(t *testing.T, size int) (*s3mem.Client, []byte) {
	t.Helper()
	c := s3mem.New("src", "dst")
	data := payload(size)
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("src"), Key: aws.String("a/b c"), Body: bytes.NewReader(data),
		ContentType: aws.String("application/x-src"), Metadata: map[string]string{"owner": "alice"},
		Tagging: aws.String("team=x&tier=1"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	}); err != nil {
		t.Fatal(err)
	}
	c.ResetCalls()
	return c, data
}

func copyOps(ops []string) []string {
	var out []string
	for i := 0; i < len(ops); {
		j := i
		for j < len(ops) && ops[j] == ops[i] {
			j++
		}
		if ops[i] == s3mem.OpUploadPartCopy {
			out = append(out, ops[i]+"×"+itoa(j-i))
		} else {
			out = append(out, ops[i:j]...)
		}
		i = j
	}
	return out
}

func TestCopySingle(t *testing.T) {
	c, data := copyFixture(t, 3*mib)
	rec := &recorder{}
	out, err := New(c, testOptions(newFakeClock(), rec)).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Ops(), []string{"HeadObject", "CopyObject"}; !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	src := c.Object("src", "a/b c")
	in := c.CallsOf(s3mem.OpCopyObject)[0].Input.(*s3.CopyObjectInput)
	if aws.ToString(in.CopySource) != "src/a/b%20c" || aws.ToString(in.CopySourceIfMatch) != src.ETag ||
		in.MetadataDirective != types.MetadataDirectiveCopy || in.TaggingDirective != types.TaggingDirectiveCopy ||
		in.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32c {
		t.Fatalf("CopyObject input %+v", in)
	}
	dst := c.Object("dst", "copy")
	if dst == nil || !bytes.Equal(dst.Data, data) || dst.ContentType != "application/x-src" ||
		!maps.Equal(dst.Metadata, src.Metadata) || dst.Tagging != src.Tagging {
		t.Fatalf("destination %+v", dst)
	}
	if out.UploadID != "" || out.Size != int64(len(data)) || out.Checksum != src.Checksum || out.SourceETag != src.ETag {
		t.Fatalf("output %+v", out)
	}
	if len(eventsOf[event.Completed](rec)) != 1 || len(eventsOf[event.Started](rec)) != 1 {
		t.Fatalf("events %v", rec.all())
	}
}

func TestCopyMultipart(t *testing.T) {
	c, data := copyFixture(t, 23*mib)
	rec := &recorder{}
	out, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.CopyThreshold = 5 * mib }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := copyOps(c.Ops()), []string{"HeadObject", "GetObjectTagging", "CreateMultipartUpload", "UploadPartCopy×5", "CompleteMultipartUpload", "HeadObject"}; !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	src := c.Object("src", "a/b c")
	var ranges []string
	for _, call := range c.CallsOf(s3mem.OpUploadPartCopy) {
		in := call.Input.(*s3.UploadPartCopyInput)
		if aws.ToString(in.CopySourceIfMatch) != src.ETag {
			t.Fatal("part copy not conditional on the source ETag")
		}
		ranges = append(ranges, aws.ToString(in.CopySourceRange))
	}
	sort.Strings(ranges)
	want := []string{"bytes=0-5242879", "bytes=10485760-15728639", "bytes=15728640-20971519", "bytes=20971520-24117247", "bytes=5242880-10485759"}
	if !slices.Equal(ranges, want) {
		t.Fatalf("ranges %v, want %v", ranges, want)
	}
	dst := c.Object("dst", "copy")
	if dst == nil || !bytes.Equal(dst.Data, data) || dst.ContentType != "application/x-src" ||
		!maps.Equal(dst.Metadata, src.Metadata) || dst.Tagging != "team=x&tier=1" {
		t.Fatalf("destination %+v", dst)
	}
	if out.UploadID == "" || out.Parts != 5 || out.Size != int64(len(data)) {
		t.Fatalf("output %+v", out)
	}
	if n := len(eventsOf[event.PartDone](rec)); n != 5 {
		t.Fatalf("%d PartDone events", n)
	}
	if len(c.Uploads()) != 0 {
		t.Fatal("uploads left")
	}
}

func TestCopyMultipartWithChecksum(t *testing.T) {
	c, data := copyFixture(t, 12*mib)
	out, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.CopyThreshold = 5 * mib }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy", ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Object("dst", "copy"); got == nil || !bytes.Equal(got.Data, data) {
		t.Fatal("destination differs")
	}
	// The combined part CRCs equal the source's full-object CRC.
	if src := c.Object("src", "a/b c"); out.Checksum != src.Checksum || out.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("checksum %s %s, source %s", out.Checksum, out.ChecksumType, src.Checksum)
	}
	if c.Count(s3mem.OpHeadObject) != 1 {
		t.Fatalf("ops %v", c.Ops())
	}
}

func TestCopyReplaceMetadataAndTags(t *testing.T) {
	for _, threshold := range []int64{64 * mib, 5 * mib} {
		c, _ := copyFixture(t, 11*mib)
		_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.CopyThreshold = threshold }).Copy(context.Background(), &CopyInput{
			SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
			ReplaceMetadata: true, ContentType: "text/plain", Metadata: map[string]string{"new": "1"},
			ReplaceTagging: true, Tagging: "k=v",
		})
		if err != nil {
			t.Fatal(err)
		}
		dst := c.Object("dst", "copy")
		if dst.ContentType != "text/plain" || !maps.Equal(dst.Metadata, map[string]string{"new": "1"}) || dst.Tagging != "k=v" {
			t.Fatalf("threshold %d: destination %+v", threshold, dst)
		}
		if c.Count(s3mem.OpGetObjectTagging) != 0 {
			t.Fatal("source tags read although replaced")
		}
	}
}

func TestCopyPartFailureAborts(t *testing.T) {
	c, _ := copyFixture(t, 16*mib)
	c.Hook(s3mem.OpUploadPartCopy, s3mem.FailIf(func(call *s3mem.Call) error {
		if aws.ToInt32(call.Input.(*s3.UploadPartCopyInput).PartNumber) == 2 {
			return s3mem.AccessDenied(s3mem.OpUploadPartCopy)
		}
		return nil
	}))
	rec := &recorder{}
	_, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.CopyThreshold = 5 * mib }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
	})
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrPermissionDenied) || ue.Op != mpu.OpUploadPartCopy || ue.PartNumber != 2 || !ue.Aborted {
		t.Fatalf("got %v", err)
	}
	if ops := c.Ops(); len(ops) < 2 || !slices.Equal(ops[len(ops)-2:], []string{s3mem.OpAbortMultipartUpload, s3mem.OpListParts}) || c.Count(s3mem.OpCompleteMultipartUpload) != 0 {
		t.Fatalf("ops %v", ops)
	}
	if len(c.Uploads()) != 0 || c.Object("dst", "copy") != nil {
		t.Fatal("something left behind")
	}
	if len(eventsOf[event.Aborted](rec)) != 1 || len(eventsOf[event.Failed](rec)) != 1 {
		t.Fatalf("events %v", rec.all())
	}
}

func TestCopyTransientPartRetried(t *testing.T) {
	c, data := copyFixture(t, 12*mib)
	c.Hook(s3mem.OpUploadPartCopy, s3mem.FailTimes(2, s3mem.InternalError(s3mem.OpUploadPartCopy)))
	rec := &recorder{}
	if _, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.CopyThreshold = 5 * mib }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
	}); err != nil {
		t.Fatal(err)
	}
	if got := c.Object("dst", "copy"); got == nil || !bytes.Equal(got.Data, data) {
		t.Fatal("destination differs")
	}
	if n := len(eventsOf[event.Retry](rec)); n != 2 {
		t.Fatalf("%d retries", n)
	}
}

func TestCopySourceReplacedDuringCopy(t *testing.T) {
	c, _ := copyFixture(t, 16*mib)
	var once sync.Once
	c.Hook(s3mem.OpUploadPartCopy, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if aws.ToInt32(call.Input.(*s3.UploadPartCopyInput).PartNumber) == 2 {
			once.Do(func() { c.PutObjectData("src", "a/b c", payload(16*mib+1)) })
		}
		return next(ctx)
	})
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.CopyThreshold = 5 * mib; o.Concurrency = 1 }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
	})
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrSourceChanged) || !ue.Aborted {
		t.Fatalf("got %v", err)
	}
	if len(c.Uploads()) != 0 || c.Object("dst", "copy") != nil {
		t.Fatal("something left behind")
	}
}

func TestCopySourceDenied(t *testing.T) {
	c, _ := copyFixture(t, 16*mib)
	c.Hook(s3mem.OpHeadObject, s3mem.Fail(s3mem.AccessDenied(s3mem.OpHeadObject)))
	_, err := New(c, testOptions(newFakeClock(), nil)).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
	})
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrPermissionDenied) || ue.Op != mpu.OpHeadObject || ue.UploadID != "" {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "copy source s3://src/a/b c") || !strings.Contains(err.Error(), "s3:GetObject on arn:aws:s3:::src/a/b c") {
		t.Fatalf("error does not name the source: %v", err)
	}
	if got := c.Ops(); !slices.Equal(got, []string{"HeadObject"}) {
		t.Fatalf("ops %v", got)
	}
}

func TestCopySSECustomerKeys(t *testing.T) {
	c, _ := copyFixture(t, 12*mib)
	const srcKey, dstKey = "c3JjLWtleS1zcmMta2V5LXNyYy1rZXktc3JjLWtleSE=", "ZHN0LWtleS1kc3Qta2V5LWRzdC1rZXktZHN0LWtleSE="
	rec := &recorder{}
	_, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.CopyThreshold = 5 * mib }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
		SourceSSECustomerAlgorithm: "AES256", SourceSSECustomerKey: srcKey,
		SSECustomerAlgorithm: "AES256", SSECustomerKey: dstKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range c.Calls() {
		switch in := call.Input.(type) {
		case *s3.UploadPartCopyInput:
			if aws.ToString(in.CopySourceSSECustomerKey) != srcKey || aws.ToString(in.SSECustomerKey) != dstKey {
				t.Fatalf("part copy keys %+v", in)
			}
		case *s3.CreateMultipartUploadInput:
			if aws.ToString(in.SSECustomerKey) != dstKey {
				t.Fatal("create without the destination key")
			}
		}
	}
	if h := c.CallsOf(s3mem.OpHeadObject)[0].Input.(*s3.HeadObjectInput); aws.ToString(h.SSECustomerKey) != srcKey {
		t.Fatal("source head without the source key")
	}
	for _, e := range rec.all() {
		if s := fmt.Sprintf("%+v", e); strings.Contains(s, srcKey) || strings.Contains(s, dstKey) {
			t.Fatalf("event shows a key: %s", s)
		}
	}
}

// copyChecker records what Copy asks a preflight checker.
type copyChecker struct {
	mu     sync.Mutex
	calls  []string
	denied bool
}

func (k *copyChecker) CheckUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, steps []mpu.Step) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, "upload "+aws.ToString(in.Bucket)+" "+stepsString(steps))
	return nil
}

func (k *copyChecker) CheckCopy(ctx context.Context, in *s3.CreateMultipartUploadInput, srcBucket, srcKey, srcVersionID, srcKMSKeyID string, steps []mpu.Step) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if aws.ToString(in.SSECustomerKey) != "" {
		return errors.New("checker given the SSE-C key")
	}
	k.calls = append(k.calls, "copy "+aws.ToString(in.Bucket)+" from "+srcBucket+"/"+srcKey+" kms="+srcKMSKeyID+" "+stepsString(steps))
	if k.denied {
		return mpu.ErrPermissionDenied
	}
	return nil
}

func stepsString(steps []mpu.Step) string {
	var s []string
	for _, st := range steps {
		s = append(s, st.String())
	}
	return strings.Join(s, ",")
}

// uploadOnlyChecker has CheckUpload alone.
type uploadOnlyChecker struct{ k *copyChecker }

func (u uploadOnlyChecker) CheckUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, steps []mpu.Step) error {
	return u.k.CheckUpload(ctx, in, steps)
}

func TestCopyPreflight(t *testing.T) {
	c, _ := copyFixture(t, 12*mib)
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("src"), Key: aws.String("kms"), Body: bytes.NewReader(payload(12 * mib)),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/k1"),
	}); err != nil {
		t.Fatal(err)
	}
	k := &copyChecker{}
	u := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.CopyThreshold = 5 * mib; o.Preflight = k })
	if _, err := u.Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "kms", Bucket: "dst", Key: "copy", SSECustomerAlgorithm: "AES256", SSECustomerKey: "c2VjcmV0LWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "small"}, func(o *Options) { o.CopyThreshold = 0 }); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"copy dst from src/kms kms=arn:aws:kms:us-east-1:000000000000:key/k1 Initiate,UploadPartCopy,Complete,Abort",
		"copy dst from src/a/b c kms= Initiate,UploadPartCopy",
	}
	if !slices.Equal(k.calls, want) {
		t.Fatalf("checks\n%q\nwant\n%q", k.calls, want)
	}

	// A checker that cannot check copies checks the destination's steps.
	k2 := &copyChecker{}
	if _, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.CopyThreshold = 5 * mib; o.Preflight = uploadOnlyChecker{k2} }).
		Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy2"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"upload dst Initiate,Complete,Abort"}; !slices.Equal(k2.calls, want) {
		t.Fatalf("checks %q, want %q", k2.calls, want)
	}

	// A denial stops the copy before anything is created.
	c.ResetCalls()
	k.denied = true
	_, err := u.Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy3"})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpPreflight || !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("got %v", err)
	}
	if got := c.Ops(); !slices.Equal(got, []string{"HeadObject", "GetObjectTagging"}) {
		t.Fatalf("ops %v", got)
	}
}

func TestCopyInvalidInput(t *testing.T) {
	c, _ := copyFixture(t, mib)
	u := New(c, testOptions(newFakeClock(), nil))
	for name, in := range map[string]*CopyInput{
		"nil":             nil,
		"no source":       {Bucket: "dst", Key: "k"},
		"no dest key":     {SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst"},
		"half SSE-C src":  {SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "k", SourceSSECustomerKey: "x"},
		"SSE-C and KMS":   {SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "k", SSECustomerAlgorithm: "AES256", SSECustomerKey: "x", ServerSideEncryption: "aws:kms"},
		"bad algorithm":   {SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "k", ChecksumAlgorithm: "MD5"},
		"long source key": {SourceBucket: "src", SourceKey: strings.Repeat("k", 1025), Bucket: "dst", Key: "k"},
	} {
		if _, err := u.Copy(context.Background(), in); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(onlyAPI{c}).Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "k"}); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("client without copy calls: %v", err)
	}
	if _, err := u.Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "k"}, func(o *Options) { o.CopyThreshold = -1 }); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("negative threshold: %v", err)
	}
	if ops := c.Ops(); len(ops) != 0 {
		t.Fatalf("requests made: %v", ops)
	}
}

func TestCopySourceVersion(t *testing.T) {
	c, _ := copyFixture(t, mib)
	v := c.Object("src", "a/b c").VersionID
	u := New(c, testOptions(newFakeClock(), nil))
	out, err := u.Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "a/b c", SourceVersionID: v, Bucket: "dst", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if out.SourceVersionID != v || aws.ToString(c.CallsOf(s3mem.OpCopyObject)[0].Input.(*s3.CopyObjectInput).CopySource) != "src/a/b%20c?versionId="+v {
		t.Fatalf("output %+v", out)
	}
	if _, err := u.Copy(context.Background(), &CopyInput{SourceBucket: "src", SourceKey: "a/b c", SourceVersionID: "nope", Bucket: "dst", Key: "k"}); !errors.Is(err, mpu.ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
}

// TestClientWithoutCalls: each operation given a client without the calls
// it uses fails before any request, naming the calls it needs.
func TestClientWithoutCalls(t *testing.T) {
	fx := newShardFixture(t)
	c := fx.c
	before := len(c.Ops())
	u := New(onlyAPI{c}, testOptions(newFakeClock(), nil))
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "state.json")
	for name, tc := range map[string]struct {
		call func() error
		want string
	}{
		"Copy": {func() error {
			_, err := u.Copy(ctx, &CopyInput{SourceBucket: "b", SourceKey: "k", Bucket: "b", Key: "k2"})
			return err
		}, "Copy needs a client with CopyObject, UploadPartCopy and GetObjectTagging (see FullAPI)"},
		"Resume": {func() error {
			_, err := u.Resume(ctx, &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(fx.data)}, StateFile: statePath})
			return err
		}, "Resume needs a client with ListParts and ListMultipartUploads (see FullAPI)"},
		"AbortResumable": {func() error {
			return u.AbortResumable(ctx, statePath)
		}, "AbortResumable needs a client with ListParts and ListMultipartUploads (see FullAPI)"},
		"AbortPlan": {func() error {
			return u.AbortPlan(ctx, fx.plan)
		}, "a sharded upload needs a client with ListParts (see FullAPI)"},
	} {
		err := tc.call()
		var ue *UploadError
		if !errors.As(err, &ue) || ue.Op != mpu.OpValidate || !errors.Is(err, mpu.ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an invalid-input error saying %q", name, err, tc.want)
		}
	}
	if ops := c.Ops()[before:]; len(ops) != 0 {
		t.Fatalf("requests made: %v", ops)
	}
}
