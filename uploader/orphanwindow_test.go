package uploader

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// interruptedState writes a state file as a run interrupted before
// CreateMultipartUpload answered leaves it: no upload ID, the first
// attempt's start and (when not zero) the last time one was in progress.
func interruptedState(t *testing.T, fx *resumeFixture, started, last time.Time) {
	t.Helper()
	f, err := openFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := identify(f, f, 0, int64(len(fx.data)))
	if err != nil {
		t.Fatal(err)
	}
	st := &State{
		Version: StateVersion, Bucket: "b", Key: "k", CreateStarted: started, CreateLast: last,
		PartSize: 5 * mib, Size: int64(len(fx.data)), Source: src, ChecksumAlgorithm: defaultChecksumAlgorithm,
		ChecksumType: "FULL_OBJECT", Parts: []StatePart{},
	}
	if err := writeState(fx.state, st); err != nil {
		t.Fatal(err)
	}
}

// TestResumeInterruptedCreateWindow checks Resume's rule for a run
// interrupted before CreateMultipartUpload answered, over the cases that
// decide it: the window recorded in the state file (closed on both sides,
// so an old state file reaches no newer upload), the initiator (the
// caller's, from Options.CallerID) and a server that reports none.
func TestResumeInterruptedCreateWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC() // the fake clock's start
	const me, other = "arn:aws:iam::000000000000:user/me", "arn:aws:iam::000000000000:user/other"
	type upl struct {
		who     string
		at      time.Time
		aborted bool
	}
	for _, tc := range []struct {
		name          string
		started, last time.Time // of the state file
		caller        string    // Options.CallerID
		noInitiators  bool      // the server reports none
		uploads       []upl
		wantErr       error // event.OrphanCheck.Err
	}{
		{
			name: "mine inside the window, others' and later ones kept", started: t0.Add(-time.Hour), last: t0.Add(-time.Hour + time.Minute), caller: me,
			uploads: []upl{
				{me, t0.Add(-time.Hour + 30*time.Second), true},
				{other, t0.Add(-time.Hour + 30*time.Second), false},
				{me, t0.Add(-time.Hour + time.Minute + pendingCreateSkew + time.Second), false},
				{me, t0, false},
			},
		},
		{
			name: "an edited state file with an old create_started and no end reaches nothing newer", started: t0.Add(-24 * time.Hour), caller: me,
			uploads: []upl{{me, t0.Add(-23 * time.Hour), false}, {me, t0, false}, {me, t0.Add(-24*time.Hour + pendingCreateSkew), true}},
		},
		{
			name: "no initiators reported: the window alone decides", started: t0.Add(-time.Hour), last: t0.Add(-time.Hour), noInitiators: true,
			uploads: []upl{{"", t0.Add(-time.Hour), true}, {"", t0, false}, {"", t0.Add(-time.Hour - pendingCreateSkew - time.Second), false}},
		},
		{
			name: "initiators reported, caller unknown: nothing aborted", started: t0.Add(-time.Hour), last: t0.Add(-time.Hour),
			uploads: []upl{{me, t0.Add(-time.Hour), false}, {other, t0.Add(-time.Hour), false}},
			wantErr: ErrUnknownCaller,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newResumeFixture(t, 11*mib)
			c := s3mem.New("b")
			c.Now = newFakeClock().Now
			var ids, want, kept []string
			for _, u := range tc.uploads {
				id := createAt(t, c, "b", "k", u.who, u.at)
				ids = append(ids, id)
				if u.aborted {
					want = append(want, id)
				} else if !u.at.Before(tc.started.Add(-pendingCreateSkew)) && !u.at.After(later(tc.last, tc.started).Add(pendingCreateSkew)) {
					kept = append(kept, id)
				}
			}
			if tc.noInitiators {
				c.Initiator = ""
			}
			interruptedState(t, fx, tc.started, tc.last)
			rec := &recorder{}
			if _, err := fx.resume(t, c, rec, nil, func(o *Options) { o.CallerID = tc.caller }); err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, id := range ids {
				if !slices.Contains(want, id) {
					left = append(left, id)
				}
			}
			if got := uploadIDs(c); !slices.Equal(got, left) {
				t.Fatalf("uploads left %v, want %v", got, left)
			}
			checks := eventsOf[event.OrphanCheck](rec)
			if len(checks) != 1 {
				t.Fatalf("%d OrphanCheck events", len(checks))
			}
			oc := checks[0]
			t.Logf("%+v", oc)
			if !slices.Equal(oc.Aborted, want) || !slices.Equal(oc.Found, want) || !slices.Equal(oc.Kept, kept) ||
				oc.NoInitiators != tc.noInitiators || oc.UploadID != "" || !errors.Is(oc.Err, tc.wantErr) || (tc.wantErr == nil) != (oc.Err == nil) {
				t.Fatalf("OrphanCheck %+v, want aborted %v, kept %v, err %v", oc, want, kept, tc.wantErr)
			}
			if !oc.Since.Equal(tc.started.Add(-pendingCreateSkew)) || !oc.Until.Equal(later(tc.last, tc.started).Add(pendingCreateSkew)) {
				t.Fatalf("window [%v, %v]", oc.Since, oc.Until)
			}
			var restarted []string
			for _, r := range eventsOf[event.Restarted](rec) {
				restarted = append(restarted, r.OldUploadID)
			}
			if !slices.Equal(restarted, want) {
				t.Fatalf("Restarted for %v, want %v", restarted, want)
			}
		})
	}
}

// TestResumeRecordsCreateAttempts checks that the state file records the
// last CreateMultipartUpload attempt's time, so that a later run's window
// ends there.
func TestResumeRecordsCreateAttempts(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	c := s3mem.New("b")
	c.Hook(s3mem.OpCreateMultipartUpload, s3mem.Fail(s3mem.InternalError(s3mem.OpCreateMultipartUpload)))
	clk := newFakeClock()
	_, err := New(c, testOptions(clk, nil), func(o *Options) { o.MaxAttempts = 3 }).Resume(context.Background(),
		&ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: mustOpen(t, fx.path)}, StateFile: fx.state})
	if !errors.Is(err, mpu.ErrTransient) {
		t.Fatalf("err %v", err)
	}
	st, err := ReadState(fx.state)
	if err != nil {
		t.Fatal(err)
	}
	// The fake clock moved by the two waits between the three attempts.
	if w := clk.Waits(); len(w) != 2 || !st.CreateLast.Equal(st.CreateStarted.Add(w[0]+w[1])) {
		t.Fatalf("create_started %v, create_last %v, waits %v", st.CreateStarted, st.CreateLast, w)
	}
}

func openFile(path string) (*os.File, error) { return os.Open(path) }

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
