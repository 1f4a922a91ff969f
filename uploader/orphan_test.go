package uploader

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// loseFirstCreateAnswer makes the first CreateMultipartUpload create its
// upload on the fake and then fail as a lost answer does (a 500 here; a
// timeout or a connection reset classify the same way). It returns a
// function giving the orphan's upload ID.
func loseFirstCreateAnswer(c *s3mem.Client) func() string {
	var orphan string
	c.Hook(s3mem.OpCreateMultipartUpload, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if call.N == 0 && err == nil {
			orphan = aws.ToString(out.(*s3.CreateMultipartUploadOutput).UploadId)
			return (*s3.CreateMultipartUploadOutput)(nil), s3mem.InternalError(s3mem.OpCreateMultipartUpload)
		}
		return out, err
	})
	return func() string { return orphan }
}

// createAt creates an upload of bucket/key on the fake, initiated at the
// given time by initiator, outside any Upload.
func createAt(t *testing.T, c *s3mem.Client, bucket, key, initiator string, at time.Time) string {
	t.Helper()
	now, who := c.Now, c.Initiator
	c.Now = func() time.Time { return at }
	c.Initiator = initiator
	defer func() { c.Now, c.Initiator = now, who }()
	out, err := c.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UploadId)
}

func uploadIDs(c *s3mem.Client) []string {
	var ids []string
	for _, u := range c.Uploads() {
		ids = append(ids, u.UploadID)
	}
	slices.Sort(ids)
	return ids
}

func TestUploadAbortsOrphanOfLostCreateAnswer(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "readerat", true: "stream"}[stream], func(t *testing.T) {
			clk := newFakeClock()
			c := s3mem.New("b")
			c.Now = clk.Now // the server's clock agrees with ours
			orphan := loseFirstCreateAnswer(c)
			rec := &recorder{}
			data := payload(11 * mib)
			var body io.Reader = bytes.NewReader(data)
			if stream {
				body = streamOf(data)
			}
			out, err := New(c, testOptions(clk, rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: body})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := opsCompact(c.Ops()), []string{"CreateMultipartUpload", "CreateMultipartUpload", "ListMultipartUploads", "AbortMultipartUpload", "ListParts", "UploadPart×3", "CompleteMultipartUpload"}; !slices.Equal(got, want) {
				t.Fatalf("ops %v, want %v", got, want)
			}
			if ids := uploadIDs(c); len(ids) != 0 {
				t.Fatalf("uploads left: %v", ids)
			}
			if o := c.Object("b", "k"); o == nil || !bytes.Equal(o.Data, data) {
				t.Fatal("object not stored")
			}
			in := c.CallsOf(s3mem.OpListMultipartUploads)[0].Input.(*s3.ListMultipartUploadsInput)
			if aws.ToString(in.Prefix) != "k" {
				t.Fatalf("listed with prefix %q", aws.ToString(in.Prefix))
			}
			if ab := c.CallsOf(s3mem.OpAbortMultipartUpload)[0].Input.(*s3.AbortMultipartUploadInput); aws.ToString(ab.UploadId) != orphan() {
				t.Fatalf("aborted %s, the orphan is %s", aws.ToString(ab.UploadId), orphan())
			}
			checks := eventsOf[event.OrphanCheck](rec)
			if len(checks) != 1 {
				t.Fatalf("%d OrphanCheck events", len(checks))
			}
			oc := checks[0]
			if oc.Err != nil || oc.Key != "k" || oc.Bucket != "b" || oc.UploadID != out.UploadID || oc.Attempts != 2 ||
				!slices.Equal(oc.Found, []string{orphan()}) || !slices.Equal(oc.Aborted, []string{orphan()}) {
				t.Fatalf("OrphanCheck %+v (orphan %s, upload %s)", oc, orphan(), out.UploadID)
			}
			if len(eventsOf[event.Aborted](rec)) != 0 {
				t.Fatal("an Aborted event for an orphan: listeners would take the upload for failed")
			}
		})
	}
}

func TestUploadOrphanCheckSparesOtherUploads(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	c := s3mem.New("b")
	c.Now = clk.Now
	me, other := c.Initiator, "arn:aws:iam::000000000000:user/other"
	keep := []string{
		createAt(t, c, "b", "k", me, t0.Add(-pendingCreateSkew-time.Second)), // before the window
		createAt(t, c, "b", "k2", me, t0),                                    // another key
		createAt(t, c, "b", "k/x", me, t0),                                   // another key under the prefix
		createAt(t, c, "b", "k", other, t0),                                  // another initiator
		createAt(t, c, "b", "k", me, t0.Add(pendingCreateSkew+time.Hour)),    // after the window
	}
	otherInWindow := keep[3]
	// Same key, same initiator, inside the window: indistinguishable from
	// an orphan, and aborted (the documented residual risk).
	inWindow := createAt(t, c, "b", "k", me, t0.Add(-pendingCreateSkew))
	c.ResetCalls()
	orphan := loseFirstCreateAnswer(c)
	rec := &recorder{}
	if _, err := New(c, testOptions(clk, rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keep)
	if got := uploadIDs(c); !slices.Equal(got, keep) {
		t.Fatalf("uploads left %v, want %v", got, keep)
	}
	checks := eventsOf[event.OrphanCheck](rec)
	want := []string{orphan(), inWindow}
	slices.Sort(want)
	if len(checks) != 1 || checks[0].Err != nil {
		t.Fatalf("OrphanCheck %+v", checks)
	}
	found, aborted := slices.Sorted(slices.Values(checks[0].Found)), slices.Sorted(slices.Values(checks[0].Aborted))
	if !slices.Equal(found, want) || !slices.Equal(aborted, want) {
		t.Fatalf("found %v, aborted %v, want %v", found, aborted, want)
	}
	if !checks[0].Since.Equal(t0.Add(-pendingCreateSkew)) {
		t.Fatalf("Since %v, want %v", checks[0].Since, t0.Add(-pendingCreateSkew))
	}
	if u := checks[0].Until; u.Before(t0.Add(pendingCreateSkew)) || u.After(clk.Now().Add(pendingCreateSkew)) {
		t.Fatalf("Until %v, want the last attempt's end plus %v", u, pendingCreateSkew)
	}
	if oc := checks[0]; oc.Initiator != me || oc.NoInitiators || !slices.Equal(oc.Kept, []string{otherInWindow}) {
		t.Fatalf("OrphanCheck initiator %q, no initiators %v, kept %v; want %q and [%s]", oc.Initiator, oc.NoInitiators, oc.Kept, me, otherInWindow)
	}
}

func TestUploadOrphanCheckPaginates(t *testing.T) {
	clk := newFakeClock()
	c := s3mem.New("b")
	c.Now = clk.Now
	for range 3 {
		createAt(t, c, "b", "k/a", c.Initiator, clk.Now())
	}
	c.ResetCalls()
	// One upload per page: the orphan and ours come after the others.
	c.Hook(s3mem.OpListMultipartUploads, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		call.Input.(*s3.ListMultipartUploadsInput).MaxUploads = aws.Int32(1)
		return next(ctx)
	})
	orphan := loseFirstCreateAnswer(c)
	rec := &recorder{}
	if _, err := New(c, testOptions(clk, rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))}); err != nil {
		t.Fatal(err)
	}
	if n := c.Count(s3mem.OpListMultipartUploads); n < 5 {
		t.Fatalf("%d ListMultipartUploads calls, want one per upload", n)
	}
	if oc := eventsOf[event.OrphanCheck](rec); len(oc) != 1 || oc[0].Err != nil || !slices.Equal(oc[0].Aborted, []string{orphan()}) {
		t.Fatalf("OrphanCheck %+v", oc)
	}
	if got := len(c.Uploads()); got != 3 {
		t.Fatalf("%d uploads left, want the 3 of k/a", got)
	}
}

func TestUploadOrphanCheckWithoutListing(t *testing.T) {
	clk := newFakeClock()
	c := s3mem.New("b")
	c.Now = clk.Now
	orphan := loseFirstCreateAnswer(c)
	rec := &recorder{}
	if _, err := New(onlyAPI{c}, testOptions(clk, rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))}); err != nil {
		t.Fatal(err)
	}
	checks := eventsOf[event.OrphanCheck](rec)
	if len(checks) != 1 || !errors.Is(checks[0].Err, ErrCannotListUploads) || len(checks[0].Found) != 0 || len(checks[0].Aborted) != 0 {
		t.Fatalf("OrphanCheck %+v", checks)
	}
	if got := uploadIDs(c); !slices.Equal(got, []string{orphan()}) {
		t.Fatalf("uploads %v, want the orphan left", got)
	}
}

func TestUploadOrphanCheckFailureDoesNotFailUpload(t *testing.T) {
	for name, hook := range map[string]func(c *s3mem.Client){
		"list denied": func(c *s3mem.Client) {
			c.Hook(s3mem.OpListMultipartUploads, s3mem.Fail(s3mem.AccessDenied(s3mem.OpListMultipartUploads)))
		},
		"abort denied": func(c *s3mem.Client) {
			c.Hook(s3mem.OpAbortMultipartUpload, s3mem.Fail(s3mem.AccessDenied(s3mem.OpAbortMultipartUpload)))
		},
		"own upload not listed": func(c *s3mem.Client) {
			c.Hook(s3mem.OpListMultipartUploads, func(ctx context.Context, _ *s3mem.Call, next s3mem.Next) (any, error) {
				out, err := next(ctx)
				if err != nil {
					return out, err
				}
				o := out.(*s3.ListMultipartUploadsOutput)
				o.Uploads = o.Uploads[:1] // the orphan: its ID sorts first
				return o, nil
			})
		},
	} {
		t.Run(name, func(t *testing.T) {
			clk := newFakeClock()
			c := s3mem.New("b")
			c.Now = clk.Now
			orphan := loseFirstCreateAnswer(c)
			hook(c)
			rec := &recorder{}
			if _, err := New(c, testOptions(clk, rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))}); err != nil {
				t.Fatal(err)
			}
			checks := eventsOf[event.OrphanCheck](rec)
			if len(checks) != 1 || checks[0].Err == nil || len(checks[0].Aborted) != 0 {
				t.Fatalf("OrphanCheck %+v", checks)
			}
			if name != "own upload not listed" && !errors.Is(checks[0].Err, mpu.ErrPermissionDenied) {
				t.Fatalf("Err %v", checks[0].Err)
			}
			if got := uploadIDs(c); !slices.Equal(got, []string{orphan()}) {
				t.Fatalf("uploads %v, want the orphan left", got)
			}
		})
	}
}

func TestUploadNoOrphanCheckWithoutRetry(t *testing.T) {
	c := s3mem.New("b")
	rec := &recorder{}
	if _, err := New(c, testOptions(newFakeClock(), rec)).Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(payload(11 * mib))}); err != nil {
		t.Fatal(err)
	}
	if c.Count(s3mem.OpListMultipartUploads) != 0 || len(eventsOf[event.OrphanCheck](rec)) != 0 {
		t.Fatal("orphan check after a first-attempt Create")
	}
}

func TestCopyAbortsOrphanOfLostCreateAnswer(t *testing.T) {
	c, data := copyFixture(t, 12*mib)
	clk := newFakeClock()
	c.Now = clk.Now
	orphan := loseFirstCreateAnswer(c)
	rec := &recorder{}
	out, err := New(c, testOptions(clk, rec), func(o *Options) { o.CopyThreshold = 5 * mib }).Copy(context.Background(), &CopyInput{
		SourceBucket: "src", SourceKey: "a/b c", Bucket: "dst", Key: "copy",
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids := uploadIDs(c); len(ids) != 0 {
		t.Fatalf("uploads left: %v", ids)
	}
	if o := c.Object("dst", "copy"); o == nil || !bytes.Equal(o.Data, data) {
		t.Fatal("copy not stored")
	}
	if oc := eventsOf[event.OrphanCheck](rec); len(oc) != 1 || oc[0].Err != nil || oc[0].UploadID != out.UploadID || !slices.Equal(oc[0].Aborted, []string{orphan()}) {
		t.Fatalf("OrphanCheck %+v", oc)
	}
}

func TestResumeAbortsOrphanOfLostCreateAnswer(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	clk := newFakeClock()
	c := s3mem.New("b")
	c.Now = clk.Now
	orphan := loseFirstCreateAnswer(c)
	rec := &recorder{}
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := New(c, testOptions(clk, rec)).Resume(context.Background(), &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: fx.state})
	if err != nil {
		t.Fatal(err)
	}
	if ids := uploadIDs(c); len(ids) != 0 {
		t.Fatalf("uploads left: %v", ids)
	}
	if oc := eventsOf[event.OrphanCheck](rec); len(oc) != 1 || oc[0].Err != nil || oc[0].UploadID != out.UploadID || !slices.Equal(oc[0].Aborted, []string{orphan()}) {
		t.Fatalf("OrphanCheck %+v", oc)
	}
	if _, err := os.Stat(fx.state); err == nil {
		t.Fatal("state file left")
	}
}

func TestResumeKeepsStateWhenCreateRefusedAfterLostAnswer(t *testing.T) {
	// A first attempt whose answer is lost, then a definite refusal: the
	// state file stays, and the next Resume finds and aborts the orphan.
	fx := newResumeFixture(t, 11*mib)
	clk := newFakeClock()
	c := s3mem.New("b")
	c.Now = clk.Now
	orphan := loseFirstCreateAnswer(c)
	c.Hook(s3mem.OpCreateMultipartUpload, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		if call.N == 1 {
			return (*s3.CreateMultipartUploadOutput)(nil), s3mem.AccessDenied(s3mem.OpCreateMultipartUpload)
		}
		return next(ctx)
	})
	resume := func(rec *recorder) error {
		f, err := os.Open(fx.path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = New(c, testOptions(clk, rec), func(o *Options) { o.CallerID = c.Initiator }).Resume(context.Background(), &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: fx.state})
		return err
	}
	if err := resume(&recorder{}); !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("got %v", err)
	}
	if st, err := ReadState(fx.state); err != nil || st.UploadID != "" || st.CreateStarted.IsZero() {
		t.Fatalf("state %+v, %v", st, err)
	}
	if got := uploadIDs(c); !slices.Equal(got, []string{orphan()}) {
		t.Fatalf("uploads %v, want the orphan", got)
	}
	c.ClearHooks("")
	c.ResetCalls()
	rec := &recorder{}
	if err := resume(rec); err != nil {
		t.Fatal(err)
	}
	if ids := uploadIDs(c); len(ids) != 0 {
		t.Fatalf("uploads left: %v", ids)
	}
	if rs := eventsOf[event.Restarted](rec); len(rs) != 1 || rs[0].OldUploadID != orphan() || !rs[0].Aborted {
		t.Fatalf("Restarted %+v", rs)
	}
}
