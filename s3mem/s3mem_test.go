package s3mem

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

// api lists the calls the fake implements with the SDK's signatures; both
// the real client and the fake must satisfy it.
type api interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListParts(context.Context, *s3.ListPartsInput, ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var (
	_ api = (*s3.Client)(nil)
	_ api = (*Client)(nil)
)

const mib = 1 << 20

func data(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func TestChecksumKnownValues(t *testing.T) {
	check := []byte("123456789")
	raw := func(a types.ChecksumAlgorithm) []byte {
		b, err := base64.StdEncoding.DecodeString(Checksum(a, check))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got := binary.BigEndian.Uint32(raw(types.ChecksumAlgorithmCrc32c)); got != 0xe3069283 {
		t.Errorf("CRC32C check = %#x", got)
	}
	if got := binary.BigEndian.Uint32(raw(types.ChecksumAlgorithmCrc32)); got != 0xcbf43926 {
		t.Errorf("CRC32 check = %#x", got)
	}
	if got := binary.BigEndian.Uint64(raw(types.ChecksumAlgorithmCrc64nvme)); got != 0xae8b14860a799888 {
		t.Errorf("CRC64NVME check = %#x", got)
	}
	if len(raw(types.ChecksumAlgorithmSha1)) != 20 || len(raw(types.ChecksumAlgorithmSha256)) != 32 {
		t.Error("SHA lengths")
	}
}

func multipart(t *testing.T, c *Client, algo types.ChecksumAlgorithm, typ types.ChecksumType, parts ...[]byte) (*s3.CompleteMultipartUploadOutput, error) {
	t.Helper()
	ctx := context.Background()
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String("b"), Key: aws.String("k"), ChecksumAlgorithm: algo, ChecksumType: typ,
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"m": "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for i, p := range parts {
		in := &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), ContentLength: aws.Int64(int64(len(p)))}
		if algo == types.ChecksumAlgorithmCrc32c {
			in.ChecksumCRC32C = aws.String(Checksum(algo, p))
		} else {
			in.ChecksumAlgorithm = algo
		}
		out, err := c.UploadPart(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		cp := types.CompletedPart{ETag: out.ETag, PartNumber: in.PartNumber, ChecksumCRC32: out.ChecksumCRC32,
			ChecksumCRC32C: out.ChecksumCRC32C, ChecksumCRC64NVME: out.ChecksumCRC64NVME,
			ChecksumSHA1: out.ChecksumSHA1, ChecksumSHA256: out.ChecksumSHA256}
		done = append(done, cp)
	}
	return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("b"), Key: aws.String("k"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
}

func TestMultipartChecksums(t *testing.T) {
	p1, p2 := data(5*mib, 1), data(1000, 2)
	whole := append(slices.Clone(p1), p2...)
	for _, tc := range []struct {
		algo types.ChecksumAlgorithm
		typ  types.ChecksumType
		want func() string
	}{
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject, func() string { return Checksum("CRC32C", whole) }},
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, func() string { return Checksum("CRC32", whole) }},
		{types.ChecksumAlgorithmCrc64nvme, "", func() string { return Checksum("CRC64NVME", whole) }},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeComposite, func() string {
			s, _ := compositeChecksum("CRC32C", []string{Checksum("CRC32C", p1), Checksum("CRC32C", p2)})
			return s
		}},
		{types.ChecksumAlgorithmSha256, "", func() string {
			s, _ := compositeChecksum("SHA256", []string{Checksum("SHA256", p1), Checksum("SHA256", p2)})
			return s
		}},
	} {
		t.Run(string(tc.algo)+"/"+string(tc.typ), func(t *testing.T) {
			c := New("b")
			out, err := multipart(t, c, tc.algo, tc.typ, p1, p2)
			if err != nil {
				t.Fatal(err)
			}
			o := c.Object("b", "k")
			if !bytes.Equal(o.Data, whole) || o.PartsCount != 2 || o.ContentType != "text/plain" || o.Metadata["m"] != "v" {
				t.Fatalf("object %+v", o.Key)
			}
			if o.Checksum != tc.want() {
				t.Fatalf("checksum %q, want %q", o.Checksum, tc.want())
			}
			if !strings.HasSuffix(aws.ToString(out.ETag), `-2"`) {
				t.Fatalf("etag %s", aws.ToString(out.ETag))
			}
			h, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil || aws.ToInt64(h.ContentLength) != int64(len(whole)) {
				t.Fatal(err)
			}
			if len(c.Uploads()) != 0 {
				t.Fatal("upload left")
			}
		})
	}
}

func TestUploadPartBadDigest(t *testing.T) {
	c := New("b")
	ctx := context.Background()
	cr, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k"), ChecksumAlgorithm: "CRC32C"})
	_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("abc"), ChecksumCRC32C: aws.String(Checksum("CRC32C", []byte("abd")))})
	if s3err.Code(err) != "BadDigest" || !errors.Is(s3err.Mark(err), s3err.ErrChecksumMismatch) {
		t.Fatalf("err = %v", err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("abc"), ChecksumSHA1: aws.String(Checksum("SHA1", []byte("abc")))})
	if s3err.Code(err) != "InvalidRequest" {
		t.Fatalf("algorithm mismatch err = %v", err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("abc"), ContentLength: aws.Int64(4)})
	if s3err.Code(err) != "IncompleteBody" {
		t.Fatalf("length mismatch err = %v", err)
	}
	if n := len(c.Uploads()[0].Parts); n != 0 {
		t.Fatalf("%d parts stored after failures", n)
	}
}

func TestCompleteChecks(t *testing.T) {
	ctx := context.Background()
	c := New("b")
	cr, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k")})
	put := func(n int32, d []byte) *string {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(d)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ETag
	}
	e1, e2 := put(1, data(100, 1)), put(2, data(100, 2))
	complete := func(parts ...types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k"),
			UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	cp := func(n int32, e *string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: e}
	}
	if err := complete(cp(2, e2), cp(1, e1)); s3err.Code(err) != "InvalidPartOrder" {
		t.Fatalf("order: %v", err)
	}
	if err := complete(cp(1, e2), cp(2, e2)); s3err.Code(err) != "InvalidPart" {
		t.Fatalf("etag: %v", err)
	}
	if err := complete(cp(1, e1), cp(2, e2)); s3err.Code(err) != "EntityTooSmall" {
		t.Fatalf("size: %v", err)
	}
	c.MinPartSize = 1
	if err := complete(cp(1, e1), cp(2, e2)); err != nil {
		t.Fatal(err)
	}
	if err := complete(cp(1, e1), cp(2, e2)); !errors.Is(s3err.Mark(err), s3err.ErrNotFound) {
		t.Fatalf("second complete: %v", err)
	}
	var nsu *types.NoSuchUpload
	if err := complete(cp(1, e1)); !errors.As(err, &nsu) || s3err.StatusCode(err) != 404 {
		t.Fatalf("typed NoSuchUpload: %v", err)
	}
}

func TestHooksAndRecording(t *testing.T) {
	ctx := context.Background()
	c := New("b")
	var order []string
	c.Hook(OpPutObject, func(ctx context.Context, call *Call, next Next) (any, error) {
		order = append(order, "inner")
		return next(ctx)
	})
	c.Hook(OpPutObject, func(ctx context.Context, call *Call, next Next) (any, error) {
		order = append(order, "outer")
		return next(ctx)
	})
	c.Hook(OpPutObject, Sequence(AccessDenied(OpPutObject), nil, SlowDown(OpPutObject)))
	put := func() error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("hello")})
		return err
	}
	err := put()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || s3err.Classify(err) != s3err.PermissionDenied {
		t.Fatalf("first: %v", err)
	}
	if c.Object("b", "k") != nil {
		t.Fatal("denied put stored an object")
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	if err := put(); !s3err.Retryable(err) {
		t.Fatalf("third: %v", err)
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ","); got != "outer,inner,outer,inner" {
		t.Fatalf("hook order %s", got)
	}
	calls := c.Calls()
	if len(calls) != 4 || calls[0].Err == nil || calls[1].Err != nil || calls[1].BodySize != 5 || calls[3].N != 3 {
		t.Fatalf("calls %+v", calls)
	}
	if _, ok := calls[1].Input.(*s3.PutObjectInput); !ok {
		t.Fatal("input not recorded")
	}
	if out, ok := calls[1].Output.(*s3.PutObjectOutput); !ok || out == nil {
		t.Fatal("output not recorded")
	}
	c.ClearHooks("")
	c.Hook(OpHeadObject, Fail(errors.New("boom")))
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")}); err == nil || err.Error() != "boom" {
		t.Fatal(err)
	}
	if got := c.Ops(); len(got) != 5 || got[4] != OpHeadObject || c.Count(OpPutObject) != 4 {
		t.Fatalf("ops %v", got)
	}
	c.ResetCalls()
	if len(c.Calls()) != 0 {
		t.Fatal("reset")
	}
}

func TestBlockAndCancel(t *testing.T) {
	c := New("b")
	started := make(chan *Call, 1)
	c.Hook(OpUploadPart, Block(nil, started))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("x"), PartNumber: aws.Int32(1), Body: strings.NewReader("")})
		errc <- err
	}()
	<-started
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || s3err.Classify(err) != s3err.Canceled {
			t.Fatalf("err %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked call did not end on cancel")
	}
}

func TestListings(t *testing.T) {
	ctx := context.Background()
	c := New("b")
	var ids []string
	for _, k := range []string{"a/1", "a/2", "b/1", "a/1"} {
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *cr.UploadId)
	}
	for n := int32(1); n <= 5; n++ {
		if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("a/1"), UploadId: &ids[0], PartNumber: aws.Int32(n), Body: bytes.NewReader(data(int(n), 0))}); err != nil {
			t.Fatal(err)
		}
	}
	var got []int32
	var marker *string
	for pages := 0; ; pages++ {
		out, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("b"), Key: aws.String("a/1"), UploadId: &ids[0], MaxParts: aws.Int32(2), PartNumberMarker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Parts {
			got = append(got, *p.PartNumber)
			if *p.Size != int64(*p.PartNumber) {
				t.Fatal("size")
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker = out.NextPartNumberMarker
		if pages > 5 {
			t.Fatal("no end")
		}
	}
	if !slices.Equal(got, []int32{1, 2, 3, 4, 5}) {
		t.Fatalf("parts %v", got)
	}
	var keys []string
	var km, um *string
	for {
		out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("b"), Prefix: aws.String("a/"), MaxUploads: aws.Int32(1), KeyMarker: km, UploadIdMarker: um})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Uploads {
			keys = append(keys, *u.Key+"="+*u.UploadId)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		km, um = out.NextKeyMarker, out.NextUploadIdMarker
	}
	want := []string{"a/1=" + ids[0], "a/1=" + ids[3], "a/2=" + ids[1]}
	if !slices.Equal(keys, want) {
		t.Fatalf("uploads %v, want %v", keys, want)
	}
	if _, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("nope")}); s3err.Code(err) != "NoSuchBucket" {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("a/2"), UploadId: &ids[1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("a/2"), UploadId: &ids[1]}); s3err.Code(err) != "NoSuchUpload" {
		t.Fatal(err)
	}
	if n := len(c.Uploads()); n != 3 {
		t.Fatalf("%d uploads", n)
	}
}

func TestObjects(t *testing.T) {
	ctx := context.Background()
	c := New("b")
	c.PutObjectData("b", "k", []byte("0123456789"))
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Range: aws.String("bytes=2-4")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	if string(b) != "234" || aws.ToString(out.ContentRange) != "bytes 2-4/10" {
		t.Fatalf("range %q %s", b, aws.ToString(out.ContentRange))
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("x")}); s3err.Code(err) != "NoSuchKey" {
		t.Fatal(err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("x")}); s3err.Code(err) != "NotFound" || s3err.StatusCode(err) != 404 {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k2"), Body: strings.NewReader("x"), ChecksumCRC32: aws.String("AAAAAA==")}); s3err.Code(err) != "BadDigest" {
		t.Fatal(err)
	}
}
