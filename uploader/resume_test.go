package uploader

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// resumeFixture is a file of 3 parts of 5 MiB (the last one 1 MiB) and a
// state file path beside it.
type resumeFixture struct {
	data  []byte
	path  string
	state string
}

func newResumeFixture(t *testing.T, size int) *resumeFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &resumeFixture{data: payload(size), path: filepath.Join(dir, "data.bin"), state: filepath.Join(dir, "upload.state")}
	if err := os.WriteFile(fx.path, fx.data, 0o600); err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *resumeFixture) resume(t *testing.T, c *s3mem.Client, l event.Listener, mod func(*ResumeInput), optFns ...func(*Options)) (*UploadOutput, error) {
	t.Helper()
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: fx.state}
	if mod != nil {
		mod(in)
	}
	opts := append([]func(*Options){testOptions(newFakeClock(), l)}, optFns...)
	return New(c, opts...).Resume(context.Background(), in)
}

// interrupt runs a Resume whose UploadPart of the given part numbers is
// denied, leaving the upload and the state file with the parts before the
// first denied one.
func (fx *resumeFixture) interrupt(t *testing.T, c *s3mem.Client, deny ...int32) string {
	t.Helper()
	c.Hook(s3mem.OpUploadPart, s3mem.FailIf(func(call *s3mem.Call) error {
		if slices.Contains(deny, aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber)) {
			return s3mem.AccessDenied(s3mem.OpUploadPart)
		}
		return nil
	}))
	// One part at a time, so every part before the first denied one is stored.
	_, err := fx.resume(t, c, nil, nil, func(o *Options) { o.Concurrency = 1 })
	c.ClearHooks(s3mem.OpUploadPart)
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrPermissionDenied) || ue.Aborted {
		t.Fatalf("interrupted run: %v", err)
	}
	if len(c.Uploads()) != 1 {
		t.Fatalf("uploads after the interrupted run: %d", len(c.Uploads()))
	}
	st, err := ReadState(fx.state)
	if err != nil {
		t.Fatal(err)
	}
	if st.UploadID != ue.UploadID || st.UploadID == "" {
		t.Fatalf("state names upload %q, error %q", st.UploadID, ue.UploadID)
	}
	c.ResetCalls()
	return st.UploadID
}

func partsSent(c *s3mem.Client) []int32 { return partNumbers(c) }

func TestResumeFreshRecordsStateAndRemovesIt(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	var atComplete *State
	c.Hook(s3mem.OpCompleteMultipartUpload, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		st, err := ReadState(fx.state)
		if err != nil {
			t.Errorf("state at Complete: %v", err)
		}
		atComplete = st
		return next(ctx)
	})
	rec := &recorder{}
	out, err := fx.resume(t, c, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Object("b", "k"); got == nil || !bytes.Equal(got.Data, fx.data) {
		t.Fatal("object differs from the file")
	}
	if _, err := os.Stat(fx.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("state file left after success: %v", err)
	}
	if got, want := opsCompact(c.Ops()), []string{"CreateMultipartUpload", "UploadPart×3", "CompleteMultipartUpload"}; !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if atComplete == nil || !atComplete.Completing || len(atComplete.Parts) != 3 || atComplete.UploadID != out.UploadID ||
		atComplete.PartSize != 5*mib || atComplete.Size != 11*mib || atComplete.Source.Size != 11*mib || atComplete.CreateStarted.IsZero() {
		t.Fatalf("state at Complete: %+v", atComplete)
	}
	if abs, _ := filepath.Abs(fx.path); atComplete.Source.Path != abs || atComplete.Source.ModTime.IsZero() {
		t.Fatalf("source identity: %+v", atComplete.Source)
	}
	for i, p := range atComplete.Parts {
		if p.Number != int32(i+1) || p.ETag != out.Parts[i].ETag || p.Checksum != out.Parts[i].Checksum {
			t.Fatalf("state part %d: %+v, output %+v", i, p, out.Parts[i])
		}
	}
	if len(eventsOf[event.Resumed](rec)) != 0 || len(eventsOf[event.PartDone](rec)) != 3 {
		t.Fatalf("events: %v", rec.all())
	}
}

func TestResumeTrustsOnlyMatchingParts(t *testing.T) {
	fx := newResumeFixture(t, 16*mib) // 4 parts
	c := s3mem.New("b")
	id := fx.interrupt(t, c, 3, 4)

	// Part 2 on the server now holds other bytes than the file's.
	other := payload(5*mib + 7)[7:]
	if _, err := c.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String(id), PartNumber: aws.Int32(2),
		Body: bytes.NewReader(other), ChecksumAlgorithm: "CRC32C",
	}); err != nil {
		t.Fatal(err)
	}
	c.ResetCalls()

	rec := &recorder{}
	out, err := fx.resume(t, c, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.UploadID != id {
		t.Fatalf("upload %s, want the resumed %s", out.UploadID, id)
	}
	if got := c.Object("b", "k"); got == nil || !bytes.Equal(got.Data, fx.data) {
		t.Fatal("object differs from the file")
	}
	if got := partsSent(c); !slices.Equal(got, []int32{2, 3, 4}) {
		t.Fatalf("parts sent %v, want [2 3 4]", got)
	}
	if c.Count(s3mem.OpCreateMultipartUpload) != 0 || c.Count(s3mem.OpListParts) != 1 {
		t.Fatalf("ops %v", c.Ops())
	}
	res := eventsOf[event.Resumed](rec)
	if len(res) != 1 || res[0] != (event.Resumed{UploadID: id, PartsStored: 1, PartsToSend: 3}) {
		t.Fatalf("Resumed events %+v", res)
	}
	if _, err := os.Stat(fx.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("state file left after success")
	}
}

func TestResumeListsPartsPageByPage(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	fx.interrupt(t, c, 4)
	c.Hook(s3mem.OpListParts, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		call.Input.(*s3.ListPartsInput).MaxParts = aws.Int32(1) // one part per page
		return next(ctx)
	})
	rec := &recorder{}
	if _, err := fx.resume(t, c, rec, nil); err != nil {
		t.Fatal(err)
	}
	if n := c.Count(s3mem.OpListParts); n != 3 {
		t.Fatalf("%d ListParts calls, want 3 pages", n)
	}
	if got := partsSent(c); !slices.Equal(got, []int32{4}) {
		t.Fatalf("parts sent %v, want [4]", got)
	}
}

func TestResumeServerWithoutPartChecksums(t *testing.T) {
	// A server that lists parts without checksums: a part is trusted when
	// its ETag and the checksum recorded with it in the state file match.
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	fx.interrupt(t, c, 4)
	st, err := ReadState(fx.state)
	if err != nil {
		t.Fatal(err)
	}
	st.Parts[1].ETag = `"0123456789abcdef0123456789abcdef"` // part 2's record no longer matches
	if err := writeState(fx.state, st); err != nil {
		t.Fatal(err)
	}
	c.Hook(s3mem.OpListParts, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if lp, ok := out.(*s3.ListPartsOutput); ok && lp != nil {
			for i := range lp.Parts {
				lp.Parts[i].ChecksumCRC32C = nil
			}
		}
		return out, err
	})
	if _, err := fx.resume(t, c, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := partsSent(c); !slices.Equal(got, []int32{2, 4}) {
		t.Fatalf("parts sent %v, want [2 4]", got)
	}
}

func TestResumeSourceChanged(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	id := fx.interrupt(t, c, 4)
	// Same size, other bytes, later modification time.
	changed := slices.Clone(fx.data)
	changed[len(changed)-1] ^= 0xff
	if err := os.WriteFile(fx.path, changed, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(fx.path, later, later); err != nil {
		t.Fatal(err)
	}

	_, err := fx.resume(t, c, nil, nil)
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrSourceChanged) || ue.Op != mpu.OpResume || ue.Aborted {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "start over") {
		t.Fatalf("error does not say how to go on: %v", err)
	}
	if ops := c.Ops(); len(ops) != 0 {
		t.Fatalf("requests made: %v", ops)
	}
	if _, err := ReadState(fx.state); err != nil {
		t.Fatalf("state file: %v", err)
	}

	// Starting over aborts the old upload and sends the new data.
	fx.data = changed
	rec := &recorder{}
	out, err := fx.resume(t, c, rec, func(in *ResumeInput) { in.StartOver = true })
	if err != nil {
		t.Fatal(err)
	}
	if out.UploadID == id {
		t.Fatal("old upload reused")
	}
	if got := c.Object("b", "k"); got == nil || !bytes.Equal(got.Data, changed) {
		t.Fatal("object is not the new data")
	}
	if got, want := opsCompact(c.Ops()), []string{"AbortMultipartUpload", "ListParts", "CreateMultipartUpload", "UploadPart×4", "CompleteMultipartUpload"}; !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	rs := eventsOf[event.Restarted](rec)
	if len(rs) != 1 || rs[0].OldUploadID != id || !rs[0].Aborted || !strings.Contains(rs[0].Reason, "source changed") {
		t.Fatalf("Restarted events %+v", rs)
	}
	if len(c.Uploads()) != 0 {
		t.Fatal("uploads left")
	}
}

func TestResumeUploadGoneStartsOver(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	id := fx.interrupt(t, c, 3, 4)
	if _, err := c.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	c.ResetCalls()
	rec := &recorder{}
	out, err := fx.resume(t, c, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Object("b", "k"); got == nil || !bytes.Equal(got.Data, fx.data) || out.UploadID == id {
		t.Fatal("object differs from the file, or the old upload was reused")
	}
	if got, want := opsCompact(c.Ops()), []string{"ListParts", "CreateMultipartUpload", "UploadPart×4", "CompleteMultipartUpload"}; !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	rs := eventsOf[event.Restarted](rec)
	if len(rs) != 1 || rs[0].OldUploadID != id || rs[0].Aborted || !strings.Contains(rs[0].Reason, "no longer exists") {
		t.Fatalf("Restarted events %+v", rs)
	}
}

func TestResumeAfterCompleteSucceeded(t *testing.T) {
	// The process died after the server completed the upload but before
	// the state file was removed: Resume finds the object and sends nothing.
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	c.Now = newFakeClock().Now // the server's clock agrees with the runs'
	ctx, cancel := context.WithCancel(context.Background())
	c.Hook(s3mem.OpCompleteMultipartUpload, func(cctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(cctx)
		if err != nil {
			return out, err
		}
		cancel()
		return (*s3.CompleteMultipartUploadOutput)(nil), context.Canceled
	})
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := New(c, testOptions(newFakeClock(), nil))
	_, err = u.Resume(ctx, &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: fx.state})
	if !errors.Is(err, mpu.ErrCanceled) {
		t.Fatalf("got %v", err)
	}
	st, err := ReadState(fx.state)
	if err != nil || !st.Completing {
		t.Fatalf("state %+v, %v", st, err)
	}
	c.ClearHooks("")
	c.ResetCalls()
	rec := &recorder{}
	out, err := fx.resume(t, c, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Ops(), []string{"ListParts", "HeadObject"}; !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if out.Size != int64(len(fx.data)) || out.Checksum == "" || len(eventsOf[event.Completed](rec)) != 1 {
		t.Fatalf("output %+v", out)
	}
	if _, err := os.Stat(fx.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("state file left")
	}
}

func TestResumeAfterCreateAnsweredButNotRecorded(t *testing.T) {
	// The process died between CreateMultipartUpload's answer and the
	// state file's update: the next Resume finds that upload and aborts it.
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	c.Now = newFakeClock().Now // the server's clock agrees with the runs'
	ctx, cancel := context.WithCancel(context.Background())
	c.Hook(s3mem.OpCreateMultipartUpload, func(cctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if _, err := next(cctx); err != nil {
			return nil, err
		}
		cancel()
		return (*s3.CreateMultipartUploadOutput)(nil), context.Canceled
	})
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = New(c, testOptions(newFakeClock(), nil)).Resume(ctx, &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: fx.state})
	if !errors.Is(err, mpu.ErrCanceled) {
		t.Fatalf("got %v", err)
	}
	orphan := c.Uploads()
	if len(orphan) != 1 {
		t.Fatalf("%d uploads", len(orphan))
	}
	if st, err := ReadState(fx.state); err != nil || st.UploadID != "" || st.CreateStarted.IsZero() {
		t.Fatalf("state %+v, %v", st, err)
	}
	c.ClearHooks("")
	c.ResetCalls()
	rec := &recorder{}
	if _, err := fx.resume(t, c, rec, nil, func(o *Options) { o.CallerID = c.Initiator }); err != nil {
		t.Fatal(err)
	}
	if got, want := opsCompact(c.Ops()), []string{"ListMultipartUploads", "AbortMultipartUpload", "ListParts", "CreateMultipartUpload", "UploadPart×3", "CompleteMultipartUpload"}; !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if rs := eventsOf[event.Restarted](rec); len(rs) != 1 || rs[0].OldUploadID != orphan[0].UploadID || !rs[0].Aborted {
		t.Fatalf("Restarted %+v", rs)
	}
	if len(c.Uploads()) != 0 {
		t.Fatal("uploads left")
	}
}

func TestResumeCreateDeniedRemovesState(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	c.Hook(s3mem.OpCreateMultipartUpload, s3mem.Fail(s3mem.AccessDenied(s3mem.OpCreateMultipartUpload)))
	_, err := fx.resume(t, c, nil, nil)
	if !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(fx.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("state file left after a refused Create")
	}
}

func TestResumeRefusals(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	u := New(c, testOptions(newFakeClock(), nil))
	ctx := context.Background()
	for name, in := range map[string]*ResumeInput{
		"stream":        {UploadInput: UploadInput{Bucket: "b", Key: "k", Body: streamOf(fx.data)}, StateFile: fx.state},
		"no state file": {UploadInput: UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(fx.data)}},
		"no key":        {UploadInput: UploadInput{Bucket: "b", Body: bytes.NewReader(fx.data)}, StateFile: fx.state},
	} {
		_, err := u.Resume(ctx, in)
		var ue *UploadError
		if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrInvalidInput) || ue.Op != mpu.OpValidate {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := u.Resume(ctx, nil); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("nil input: %v", err)
	}
	if _, err := New(onlyAPI{c}).Resume(ctx, &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(fx.data)}, StateFile: fx.state}); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("client without ListParts: %v", err)
	}
	if ops := c.Ops(); len(ops) != 0 {
		t.Fatalf("requests made: %v", ops)
	}
	if !strings.Contains(func() string {
		_, err := u.Resume(ctx, &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: streamOf(fx.data)}, StateFile: fx.state})
		return err.Error()
	}(), "stream") {
		t.Error("stream refusal does not say why")
	}
}

// onlyAPI hides every method of the fake but API's.
type onlyAPI struct{ API }

func TestResumeStateForOtherObjectOrKey(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	sse := func(k string) func(*ResumeInput) {
		return func(in *ResumeInput) { in.SSECustomerAlgorithm, in.SSECustomerKey = "AES256", k }
	}
	c.Hook(s3mem.OpUploadPart, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart)))
	if _, err := fx.resume(t, c, nil, sse(key)); !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatal(err)
	}
	c.ClearHooks("")
	raw, err := os.ReadFile(fx.state)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(bytes.Repeat([]byte{7}, 32))
	if bytes.Contains(raw, []byte(key)) || !bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(sum[:]))) {
		t.Fatalf("state file holds the SSE-C key or lacks its MD5:\n%s", raw)
	}
	if info, err := os.Stat(fx.state); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode: %v %v", info.Mode(), err)
	}
	c.ResetCalls()
	other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
	if _, err := fx.resume(t, c, nil, sse(other)); !errors.Is(err, mpu.ErrInvalidInput) || !strings.Contains(err.Error(), "SSE-C key") {
		t.Fatalf("other SSE-C key: %v", err)
	}
	if _, err := fx.resume(t, c, nil, func(in *ResumeInput) { sse(key)(in); in.Key = "other" }); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("other key: %v", err)
	}
	if ops := c.Ops(); len(ops) != 0 {
		t.Fatalf("requests made: %v", ops)
	}
	if _, err := fx.resume(t, c, nil, sse(key)); err != nil {
		t.Fatal(err)
	}
	for _, call := range c.CallsOf(s3mem.OpUploadPart) {
		if aws.ToString(call.Input.(*s3.UploadPartInput).SSECustomerKey) != key {
			t.Fatal("part sent without the SSE-C key")
		}
	}
}

func TestResumeCorruptStateFile(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	if err := os.WriteFile(fx.state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := fx.resume(t, c, nil, nil)
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrInvalidInput) || ue.Op != mpu.OpResume {
		t.Fatalf("got %v", err)
	}
	rec := &recorder{}
	if _, err := fx.resume(t, c, rec, func(in *ResumeInput) { in.StartOver = true }); err != nil {
		t.Fatal(err)
	}
	if rs := eventsOf[event.Restarted](rec); len(rs) != 1 || len(rs[0].Remaining) != 0 || !strings.Contains(rs[0].Reason, "no upload of s3://b/k remains") {
		t.Fatalf("Restarted %+v", rs)
	}

	// With uploads of the key on the server, one of which the state file
	// may have named: they are named, with how to remove them, and left.
	if err := os.WriteFile(fx.state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	left := createAt(t, c, "b", "k", c.Initiator, time.Now())
	rec = &recorder{}
	if _, err := fx.resume(t, c, rec, func(in *ResumeInput) { in.StartOver = true }); err != nil {
		t.Fatal(err)
	}
	rs := eventsOf[event.Restarted](rec)
	if len(rs) != 1 || !slices.Equal(rs[0].Remaining, []string{left}) ||
		!strings.Contains(rs[0].Reason, left) || !strings.Contains(rs[0].Reason, "s3mpu uploads abort s3://b/k --upload-id") {
		t.Fatalf("Restarted %+v", rs)
	}
	if got := uploadIDs(c); !slices.Equal(got, []string{left}) {
		t.Fatalf("uploads %v, want %s left in place", got, left)
	}
}

func TestResumeCancelKeepsUploadAndState(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	ctx, cancel := context.WithCancel(context.Background())
	c.Hook(s3mem.OpUploadPart, func(cctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber) == 3 {
			cancel()
			return (*s3.UploadPartOutput)(nil), context.Canceled
		}
		return next(cctx)
	})
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.Concurrency = 1 }).
		Resume(ctx, &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: fx.state})
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrCanceled) || ue.Aborted || c.Count(s3mem.OpAbortMultipartUpload) != 0 {
		t.Fatalf("got %v", err)
	}
	st, err := ReadState(fx.state)
	if err != nil || len(st.Parts) != 2 {
		t.Fatalf("state %+v %v", st, err)
	}
	c.ClearHooks("")
	c.ResetCalls()
	if _, err := fx.resume(t, c, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := partsSent(c); !slices.Equal(got, []int32{3, 4}) {
		t.Fatalf("parts sent %v", got)
	}
}

func TestResumeFileChangedDuringUpload(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber) == 2 {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(fx.path, later, later); err != nil {
				t.Error(err)
			}
		}
		return next(ctx)
	})
	_, err := fx.resume(t, c, nil, nil)
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrSourceChanged) || !ue.Aborted {
		t.Fatalf("got %v", err)
	}
	if c.Count(s3mem.OpCompleteMultipartUpload) != 0 || len(c.Uploads()) != 0 {
		t.Fatalf("ops %v", c.Ops())
	}
	if _, err := os.Stat(fx.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("state file left after the source changed")
	}
}

func TestUploadFileChangedDuringUpload(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber) == 2 {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(fx.path, later, later); err != nil {
				t.Error(err)
			}
		}
		return next(ctx)
	})
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = New(c, testOptions(newFakeClock(), nil)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: f})
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrSourceChanged) || !ue.Aborted || ue.Op != mpu.OpReadBody {
		t.Fatalf("got %v", err)
	}
	if got := opsCompact(c.Ops()); !slices.Equal(got, []string{"CreateMultipartUpload", "UploadPart×4", "AbortMultipartUpload", "ListParts"}) {
		t.Fatalf("ops %v", got)
	}
	if c.Object("b", "k") != nil {
		t.Fatal("object stored")
	}
}

func TestAbortResumable(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	c := s3mem.New("b")
	fx.interrupt(t, c, 4)
	u := New(c, testOptions(newFakeClock(), nil))
	if err := u.AbortResumable(context.Background(), fx.state); err != nil {
		t.Fatal(err)
	}
	if len(c.Uploads()) != 0 || c.Count(s3mem.OpAbortMultipartUpload) != 1 {
		t.Fatalf("ops %v", c.Ops())
	}
	if _, err := os.Stat(fx.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("state file left")
	}
	if err := u.AbortResumable(context.Background(), fx.state); err != nil {
		t.Fatalf("second call: %v", err)
	}
}

func TestResumeSmallFileIsOnePut(t *testing.T) {
	fx := newResumeFixture(t, 3*mib)
	c := s3mem.New("b")
	if _, err := fx.resume(t, c, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := c.Ops(); !slices.Equal(got, []string{"PutObject"}) {
		t.Fatalf("ops %v", got)
	}
	if _, err := os.Stat(fx.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("state file written for a single put")
	}
}

func TestResumePreflightSteps(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	k := &copyChecker{}
	if _, err := fx.resume(t, c, nil, nil, func(o *Options) { o.Preflight = k }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"upload b Initiate,UploadPart,ListParts,Complete,Abort"}; !slices.Equal(k.calls, want) {
		t.Fatalf("checks %q, want %q", k.calls, want)
	}
}

func TestResumeStateFileIsTheBody(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	_, err := fx.resume(t, c, nil, func(in *ResumeInput) { in.StateFile = fx.path })
	if !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("got %v", err)
	}
	if got, err := os.ReadFile(fx.path); err != nil || !bytes.Equal(got, fx.data) {
		t.Fatal("the file was changed")
	}
	if ops := c.Ops(); len(ops) != 0 {
		t.Fatalf("requests made: %v", ops)
	}
}

// The Completed event's tally counts every Retry event the listener saw
// during the call, also those of a StartOver that discards the old upload
// before a small file goes in one PutObject.
func TestResumeStartOverTallyCountsEveryRetry(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	fx.interrupt(t, c, 2)
	// The file shrinks to one part: the old upload is discarded, the rest is a PutObject.
	fx.data = payload(1 * mib)
	if err := os.WriteFile(fx.path, fx.data, 0o600); err != nil {
		t.Fatal(err)
	}
	c.Hook(s3mem.OpAbortMultipartUpload, s3mem.FailTimes(1, s3mem.InternalError(s3mem.OpAbortMultipartUpload)))
	c.Hook(s3mem.OpPutObject, s3mem.FailTimes(1, s3mem.InternalError(s3mem.OpPutObject)))
	rec := &recorder{}
	if _, err := fx.resume(t, c, rec, func(in *ResumeInput) { in.StartOver = true }); err != nil {
		t.Fatal(err)
	}
	retries := eventsOf[event.Retry](rec)
	done := eventsOf[event.Completed](rec)
	if len(retries) != 2 || len(done) != 1 {
		t.Fatalf("%d Retry and %d Completed events, want 2 and 1", len(retries), len(done))
	}
	checkTally(t, rec)
}
