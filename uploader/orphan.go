package uploader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

// pendingCreateSkew is how long before the start of a
// CreateMultipartUpload whose answer was lost an upload of the same key
// may have been initiated, by the server's clock, and still be taken for
// its result. It absorbs the difference between the server's clock and
// ours: a server clock behind ours by more than this hides an orphan from
// the check (it is then left to a lifecycle rule). Hosts kept in time by
// NTP differ by far less; S3 itself refuses requests signed more than 15
// minutes off. A wider margin would catch worse clocks but take more
// unrelated uploads of the same key for orphans.
const pendingCreateSkew = 2 * time.Minute

// ErrCannotListUploads is the OrphanCheck.Err (matched with errors.Is)
// of a check that could not run because the client does not implement
// ListMultipartUploads.
var ErrCannotListUploads = errors.New("the client cannot list multipart uploads")

// OrphanCheck is sent when CreateMultipartUpload succeeded only after one
// or more failed attempts (errors the classifier calls transient or
// throttling): such an attempt may have reached the server and created an
// upload whose answer was lost. Upload, Copy and Resume then list the
// uploads of the key (ListMultipartUploads with the key as prefix, keeping
// only the key itself, every page) and abort each upload other than their
// own that has the same initiator as their own and was initiated at or
// after the first attempt's start less 2 minutes (a margin for the
// difference between the server's clock and ours).
//
// The event is sent once the check is over, before Started. The check
// never fails the upload: a client that cannot list, a denied
// or failed listing, or a failed abort is reported in Err, and the
// upload goes on. It needs s3:ListBucketMultipartUploads on the bucket and
// s3:AbortMultipartUpload on the object.
//
// An upload of the same key by the same principal started by another
// process within that window is indistinguishable from an orphan and is
// aborted too (that process's next part or Complete then fails with
// NoSuchUpload; it never stores a mix). On a server that reports no
// initiator, every upload of the key in the window counts as having ours.
type OrphanCheck struct {
	Bucket, Key string
	// UploadID is the upload this call created and goes on with.
	UploadID string
	// Attempts is the number of CreateMultipartUpload attempts made.
	Attempts int
	// Since is the start of the window: the first attempt's start less
	// the clock-skew margin.
	Since time.Time
	// Found are the uploads taken for orphans of the failed attempts.
	Found []string
	// Aborted are those of Found that were aborted (or already gone).
	Aborted []string
	// Err is why the check could not run or finish (ErrCannotListUploads,
	// a listing or abort error); nil when every orphan found was aborted.
	Err error
}

func (OrphanCheck) event() {}

// uploadLister is the listing call of ResumeAPI, which the orphan check
// uses when the client has it.
type uploadLister interface {
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// create sends cin with retries and sets up.uploadID and
// up.createAttempts. When attempts failed
// before the one that succeeded, it then aborts the uploads those attempts
// may have made (see OrphanCheck); the error it returns is then only a
// listener's panic.
func (up *upload) create(ctx context.Context, cin *s3.CreateMultipartUploadInput) error {
	started := up.o.clock.Now().Round(0) // wall clock only: it is compared with the server's times
	var cout *s3.CreateMultipartUploadOutput
	n, err := up.retry(ctx, OpCreateMultipartUpload, 0, up.o.MaxAttempts, func(ctx context.Context, _ int) error {
		o, err := up.client.CreateMultipartUpload(ctx, cin, up.ctlOpts...)
		cout = o
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
		return up.checkOrphans(started, n)
	}
	return nil
}

// checkOrphans aborts the uploads the failed CreateMultipartUpload
// attempts started at started may have made, and reports it with an
// OrphanCheck event. It runs on a context the caller's cancellation does
// not end, bounded by Options.AbortTimeout; only the listener's panic is
// returned.
func (up *upload) checkOrphans(started time.Time, attempts int) error {
	ev := OrphanCheck{
		Bucket: up.in.Bucket, Key: up.in.Key, UploadID: up.uploadID, Attempts: attempts,
		Since: started.Add(-pendingCreateSkew),
	}
	if l, ok := up.client.(uploadLister); !ok {
		ev.Err = fmt.Errorf("%w (no ListMultipartUploads): uploads the failed CreateMultipartUpload attempts may have made were not looked for", ErrCannotListUploads)
	} else {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(up.parent), up.o.AbortTimeout)
		found, err := up.pendingUploads(ctx, l, started, up.uploadID)
		cancel()
		ev.Found = found
		var errs []error
		if err != nil {
			errs = append(errs, fmt.Errorf("look for uploads the failed CreateMultipartUpload attempts may have made: %w", s3err.Mark(err)))
		}
		for _, id := range found {
			if _, err := up.abortID(id); err != nil {
				errs = append(errs, fmt.Errorf("abort upload %s: %w", id, err))
				continue
			}
			ev.Aborted = append(ev.Aborted, id)
		}
		ev.Err = errors.Join(errs...)
	}
	return up.em.emit(ev)
}

// pendingUploads lists the uploads of exactly the key up.in.Key
// initiated at or after started less pendingCreateSkew: those a
// CreateMultipartUpload sent at started, whose answer was lost, may have
// made. With own "" (Resume after an interrupted run, which knows no
// upload of its own) every such upload is returned. Otherwise own is left
// out and must be listed: only the uploads with its initiator are
// returned, and none when it is not listed.
func (up *upload) pendingUploads(ctx context.Context, l uploadLister, started time.Time, own string) ([]string, error) {
	since := started.Add(-pendingCreateSkew)
	in := &s3.ListMultipartUploadsInput{
		Bucket: aws.String(up.in.Bucket), Prefix: aws.String(up.in.Key),
		ExpectedBucketOwner: optString(up.in.ExpectedBucketOwner),
	}
	var (
		cands    []types.MultipartUpload
		ownFound bool
		ownInit  string
	)
	for page := 0; ; page++ {
		var out *s3.ListMultipartUploadsOutput
		_, err := up.retry(ctx, OpListMultipartUploads, 0, up.o.MaxAttempts, func(ctx context.Context, _ int) error {
			o, err := l.ListMultipartUploads(ctx, in, up.ctlOpts...)
			out = o
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, mu := range out.Uploads {
			if aws.ToString(mu.Key) != up.in.Key {
				continue
			}
			if own != "" && aws.ToString(mu.UploadId) == own {
				ownFound, ownInit = true, initiatorOf(mu.Initiator)
				continue
			}
			if mu.Initiated != nil && !mu.Initiated.Before(since) {
				cands = append(cands, mu)
			}
		}
		km, um := aws.ToString(out.NextKeyMarker), aws.ToString(out.NextUploadIdMarker)
		if !aws.ToBool(out.IsTruncated) || km == "" && um == "" {
			break
		}
		if km == aws.ToString(in.KeyMarker) && um == aws.ToString(in.UploadIdMarker) {
			return nil, fmt.Errorf("ListMultipartUploads returned the same page markers twice (page %d)", page+1)
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	if own != "" && !ownFound {
		return nil, fmt.Errorf("the upload just created (%s) is not listed, so its initiator is unknown; nothing was aborted", own)
	}
	var found []string
	for _, mu := range cands {
		if own == "" || initiatorOf(mu.Initiator) == ownInit {
			found = append(found, aws.ToString(mu.UploadId))
		}
	}
	return found, nil
}

// initiatorOf identifies an upload's initiator: its ID (an ARN for IAM
// identities on S3), else its display name, else "" when the server does
// not say.
func initiatorOf(i *types.Initiator) string {
	if i == nil {
		return ""
	}
	if id := aws.ToString(i.ID); id != "" {
		return id
	}
	return aws.ToString(i.DisplayName)
}
