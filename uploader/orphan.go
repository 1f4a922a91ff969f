package uploader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/internal/initiator"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// pendingCreateSkew is the margin on each side of the time window in
// which a CreateMultipartUpload whose answer was lost may have initiated
// an upload, by the server's clock: from the first attempt's start less
// it to the last attempt's end plus it. It absorbs the difference between
// the server's clock and ours (and a request's time on the way): a server
// clock off by more than this hides an orphan from the check (it is then
// left to a lifecycle rule). Hosts kept in time by NTP differ by far less;
// S3 itself refuses requests signed more than 15 minutes off. A wider
// margin would catch worse clocks but take more unrelated uploads of the
// same key for orphans.
const pendingCreateSkew = 2 * time.Minute

// createWindow is when the CreateMultipartUpload attempts of one upload
// ran, by our clock: from the first attempt's start to the last attempt's
// end (or, for an attempt that never answered, its start).
type createWindow struct{ first, last time.Time }

// since and until bound the initiation times, by the server's clock, of
// the uploads the attempts may have made.
func (w createWindow) since() time.Time { return w.first.Add(-pendingCreateSkew) }
func (w createWindow) until() time.Time {
	last := w.last
	if last.Before(w.first) {
		last = w.first
	}
	return last.Add(pendingCreateSkew)
}

// ErrUnknownCaller is the OrphanCheck.Err (matched with errors.Is) of a
// check that found uploads in its window on a server that reports
// initiators, without knowing the caller's identity to compare them with
// (Options.CallerID is empty and no upload of the call exists to learn it
// from): none is aborted.
var ErrUnknownCaller = errors.New("the caller's identity is unknown: uploads of other principals cannot be told apart")

// ErrCannotListUploads is the OrphanCheck.Err (matched with errors.Is)
// of a check that could not run because the client does not implement
// ListMultipartUploads.
var ErrCannotListUploads = errors.New("the client cannot list multipart uploads")

// uploadLister is the listing call of resumeClient, which the orphan check
// uses when the client has it.
type uploadLister interface {
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// create sends cin with retries and sets up.uploadID and
// up.createAttempts. up.onCreate, when set, is told when each attempt
// starts and ends. When attempts failed before the one that succeeded, it
// then aborts the uploads those attempts may have made (see OrphanCheck);
// the error it returns is then only a listener's panic.
func (up *upload) create(ctx context.Context, cin *s3.CreateMultipartUploadInput) error {
	var w createWindow
	var cout *s3.CreateMultipartUploadOutput
	n, err := up.retry(ctx, mpu.OpCreateMultipartUpload, 0, up.o.MaxAttempts, func(ctx context.Context, attempt int) error {
		start := up.o.clock.Now().Round(0) // wall clock only: it is compared with the server's times
		if attempt == 1 {
			w.first = start
		}
		if up.onCreate != nil {
			if err := up.onCreate(start, false); err != nil {
				return err
			}
		}
		o, err := up.client.CreateMultipartUpload(ctx, cin, up.ctlOpts...)
		cout = o
		w.last = up.o.clock.Now().Round(0)
		if err != nil && up.onCreate != nil {
			_ = up.onCreate(w.last, true) // best effort: the attempt's start is recorded
		}
		return err
	})
	up.createAttempts = n
	if err == nil && aws.ToString(cout.UploadId) == "" {
		err = errors.New("CreateMultipartUpload returned no upload ID")
	}
	if err != nil {
		return err
	}
	up.uploadID = aws.ToString(cout.UploadId)
	if n > 1 {
		return up.checkOrphans(w, n)
	}
	return nil
}

// checkOrphans aborts the uploads the failed CreateMultipartUpload
// attempts of window w may have made, and reports it with an OrphanCheck
// event. It runs on a context the caller's cancellation does not end,
// bounded by Options.AbortTimeout; only the listener's panic is returned.
func (up *upload) checkOrphans(w createWindow, attempts int) error {
	ev := event.OrphanCheck{
		Bucket: up.in.Bucket, Key: up.in.Key, UploadID: up.uploadID, Attempts: attempts,
		Since: w.since(), Until: w.until(),
	}
	if l, ok := up.client.(uploadLister); !ok {
		ev.Err = fmt.Errorf("%w (no ListMultipartUploads): uploads the failed CreateMultipartUpload attempts may have made were not looked for", ErrCannotListUploads)
	} else {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(up.parent), up.o.AbortTimeout)
		scan, err := up.pendingUploads(ctx, l, w, up.uploadID)
		ev.Initiator, ev.NoInitiators, ev.Found, ev.Kept = scan.initiator, scan.noInitiators, scan.found, scan.kept
		var errs []error
		if err != nil {
			errs = append(errs, fmt.Errorf("look for uploads the failed CreateMultipartUpload attempts may have made: %w", s3err.Mark(err)))
		}
		if scan.err != nil {
			errs = append(errs, scan.err)
		}
		for _, id := range scan.found {
			if _, err := up.abortID(id); err != nil {
				errs = append(errs, fmt.Errorf("abort upload %s: %w", id, err))
				continue
			}
			ev.Aborted = append(ev.Aborted, id)
		}
		cancel()
		ev.Err = errors.Join(errs...)
	}
	return up.em.emit(ev)
}

// orphanScan is what pendingUploads found.
type orphanScan struct {
	found        []string // in the window, the caller's (or no initiators reported)
	kept         []string // in the window, left alone
	initiator    string   // the caller's identity compared, "" when unknown or unused
	noInitiators bool     // the server reported no initiators
	err          error    // why uploads in the window were kept without comparing (ErrUnknownCaller)
}

// pendingUploads lists the uploads of exactly the key up.in.Key
// initiated within the window of w: those CreateMultipartUpload attempts
// whose answers were lost may have made. own, the upload this call
// created ("" when none), is left out and gives the caller's identity: its
// initiator as listed (it must then be listed), else Options.CallerID.
// An upload is found when its initiator is the caller's, or when the
// server reports no initiators; the others in the window are kept.
func (up *upload) pendingUploads(ctx context.Context, l uploadLister, w createWindow, own string) (orphanScan, error) {
	since, until := w.since(), w.until()
	in := &s3.ListMultipartUploadsInput{
		Bucket: aws.String(up.in.Bucket), Prefix: aws.String(up.in.Key),
		ExpectedBucketOwner: optString(up.in.ExpectedBucketOwner),
	}
	var (
		scan     orphanScan
		cands    []types.MultipartUpload
		ownFound bool
		ownInit  string
		reported bool // some upload of the key has an initiator
	)
	seen := map[[2]string]bool{{"", ""}: true} // page markers, to stop a listing that comes round again
	for page := 0; ; page++ {
		out, err := retryCall(ctx, up, mpu.OpListMultipartUploads, func(ctx context.Context) (*s3.ListMultipartUploadsOutput, error) {
			return l.ListMultipartUploads(ctx, in, up.ctlOpts...)
		})
		if err != nil {
			return scan, err
		}
		for _, mu := range out.Uploads {
			if aws.ToString(mu.Key) != up.in.Key {
				continue
			}
			if initiator.Name(mu.Initiator) != "" {
				reported = true
			}
			if own != "" && aws.ToString(mu.UploadId) == own {
				ownFound, ownInit = true, initiator.Name(mu.Initiator)
				continue
			}
			if mu.Initiated != nil && !mu.Initiated.Before(since) && !mu.Initiated.After(until) {
				cands = append(cands, mu)
			}
		}
		km, um := aws.ToString(out.NextKeyMarker), aws.ToString(out.NextUploadIdMarker)
		if !aws.ToBool(out.IsTruncated) || km == "" && um == "" {
			break
		}
		if seen[[2]string{km, um}] {
			return scan, fmt.Errorf("ListMultipartUploads returned page markers it had returned before (page %d): its pagination is broken", page+1)
		}
		seen[[2]string{km, um}] = true
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	if own != "" && !ownFound {
		return scan, fmt.Errorf("the upload just created (%s) is not listed, so its initiator is unknown; nothing was aborted", own)
	}
	me := ownInit
	if me == "" {
		me = up.o.CallerID
	}
	scan.noInitiators = !reported
	if reported {
		scan.initiator = me
	}
	for _, mu := range cands {
		id := aws.ToString(mu.UploadId)
		switch {
		case !reported:
			scan.found = append(scan.found, id)
		case me != "" && initiator.Name(mu.Initiator) == me:
			scan.found = append(scan.found, id)
		default:
			scan.kept = append(scan.kept, id)
		}
	}
	if reported && me == "" && len(scan.kept) > 0 {
		scan.err = fmt.Errorf("%w: set Options.CallerID to the identity the server reports as initiator; left in place: %s",
			ErrUnknownCaller, strings.Join(scan.kept, ", "))
	}
	return scan, nil
}
