package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// resumeClient is the part of FullAPI Resume and AbortResumable use.
type resumeClient interface {
	API
	ListParts(ctx context.Context, in *s3.ListPartsInput, optFns ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// ResumeInput describes a resumable upload: an upload whose progress is
// kept in a state file, so that a later call with the same state file
// continues it after a failure, a cancellation or a crash.
type ResumeInput struct {
	// UploadInput describes the object and the body, as for Upload. The
	// body must be readable at any offset and of known size: a regular
	// *os.File, or any io.ReaderAt that is also an io.Seeker. A stream
	// cannot be resumed and fails with mpu.ErrInvalidInput.
	UploadInput
	// StateFile is the path of the state file (required). Its directory
	// must exist. Resume creates the file when it does not exist and
	// removes it once the object is stored. One state file serves one
	// upload at a time: while a Resume runs, it holds a lock on the hidden
	// file .NAME.lock beside it (removed with the state file), and another
	// Resume or AbortResumable of the same state file fails at once with
	// ErrStateInUse (on Linux, macOS and the BSDs; elsewhere two
	// concurrent calls must not share it).
	StateFile string
	// StartOver makes Resume abort the upload the state file names and
	// start a new one when the source no longer matches the state file,
	// or when the state file cannot be read, instead of failing.
	StartOver bool
}

// Resume uploads in.Body to in.Bucket/in.Key as a multipart upload whose
// progress is kept in the state file in.StateFile, and continues the
// upload that file names when it exists.
//
// Without a state file, Resume records the upload (bucket, key, part
// size, checksum settings, encryption settings without secrets, the
// source's identity) before CreateMultipartUpload, its upload ID right
// after, and every stored part as it completes; each write is atomic and
// synced. A body no larger than one part is sent with Upload instead, with
// no state file.
//
// With a state file, Resume checks that it is for the same object and
// encryption settings (or fails with mpu.ErrInvalidInput) and that the source
// still has the recorded size, modification time and fingerprint (or fails
// with mpu.ErrSourceChanged, leaving the upload and the state file in place,
// unless in.StartOver). It then lists the parts on the server
// (ListParts, paginated) and trusts a part only when its size and checksum
// match the local data; the others are uploaded again, and the upload is
// completed. The part size and the checksum settings come from the state
// file. When the server no longer has the upload (aborted, or expired by a
// lifecycle rule), Resume sends a Restarted event and starts a new upload,
// unless the state file shows that an interrupted Complete stored the
// object: that is checked with HeadObject, by size and checksum. An
// upload created by an interrupted CreateMultipartUpload whose ID was never
// recorded is found with ListMultipartUploads and aborted, by the rule of
// OrphanCheck: an upload of the key initiated within the window the state
// file records (the first attempt's start less 2 minutes to the last
// attempt's end plus 2 minutes, so an old state file reaches no newer
// upload) whose initiator is Options.CallerID; on a server that reports no
// initiators, the window alone decides, and without CallerID on one that
// does, nothing is aborted (OrphanCheck.Err says so). With in.StartOver and
// a state file that cannot be read, the uploads of the key are named in
// the Restarted event (Remaining) and left in place.
// A CreateMultipartUpload that succeeds after failed attempts is followed
// by the check Upload makes (see OrphanCheck); one refused after failed
// attempts keeps the state file, so that the next Resume looks.
//
// On success the state file is removed. On failure the upload and the
// state file are left in place, whatever Options.LeavePartsOnError says,
// so that a later Resume continues; AbortResumable discards them. The one
// exception is a source that changed during the upload: its parts are
// aborted and the state file removed, so old and new bytes never mix.
//
// The client must implement FullAPI's listing calls (*s3.Client does). Resume returns an
// *UploadError as Upload does, with Op mpu.OpResume for state-file and source
// problems.
func (u *Uploader) Resume(ctx context.Context, in *ResumeInput, optFns ...func(*Options)) (*UploadOutput, error) {
	if in == nil {
		return nil, validateError("", "", invalidf("nil input"))
	}
	invalid := func(err error) (*UploadOutput, error) { return nil, validateError(in.Bucket, in.Key, err) }
	client, o, err := beginAs[resumeClient](ctx, u, "Resume", "ListParts and ListMultipartUploads", optFns)
	if err == nil && in.StateFile == "" {
		err = invalidf("empty StateFile")
	}
	if err != nil {
		return invalid(err)
	}
	uin, cs, err := beginInput(o, &in.UploadInput)
	if err != nil {
		return invalid(err)
	}
	if uin != &in.UploadInput {
		c := *in
		c.UploadInput = *uin
		in, uin = &c, &c.UploadInput
	}
	ra, off, size, ok := readerAtBody(uin.Body)
	if !ok {
		return invalid(invalidf("Resume needs a body that can be read again at any offset, such as a regular file; a stream (%T) cannot be resumed", uin.Body))
	}
	if uin.Size > 0 && uin.Size != size {
		return invalid(invalidf("Size is %d but the body holds %d bytes", uin.Size, size))
	}
	leave := o.LeavePartsOnError
	o.LeavePartsOnError = true // Resume keeps the upload on failure: the state file names it
	up := newUpload(client, o, uin, cs)
	r := &resumer{up: up, client: client, in: in, ra: ra, off: off, size: size, leave: leave, optFns: optFns, u: u}
	return r.run(ctx)
}

// resumer is the state of one call to Resume.
type resumer struct {
	u      *Uploader
	up     *upload
	client resumeClient
	in     *ResumeInput
	ra     io.ReaderAt
	off    int64
	size   int64
	leave  bool // the caller's LeavePartsOnError
	optFns []func(*Options)

	src   Source
	stamp *fileStamp

	stored []bool // by part index: found on the server and trusted

	mu sync.Mutex // guards st and its file
	st *State
}

func (r *resumer) run(ctx context.Context) (*UploadOutput, error) {
	up := r.up
	ctx, cancel := up.attach(ctx)
	defer cancel(nil)
	up.size = r.size
	path := r.in.StateFile

	r.stamp = stampOf(r.in.Body)
	src, err := await(ctx, func() (Source, error) { return identify(r.in.Body, r.ra, r.off, r.size) })
	if err != nil {
		return nil, up.fail(mpu.OpReadBody, 0, err)
	}
	r.src = src
	if abs, err := filepath.Abs(path); err == nil && abs == src.Path {
		return nil, up.fail(mpu.OpValidate, 0, invalidf("the state file %s is the file being uploaded", path))
	}

	if err := checkStatePath(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, up.fail(mpu.OpValidate, 0, err) // not even StartOver replaces it
	}
	lock, err := lockState(path)
	if err != nil {
		return nil, up.fail(mpu.OpResume, 0, err)
	}
	defer lock.unlock()
	st, err := ReadState(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st = nil
	case err != nil && r.in.StartOver && isInvalid(err):
		ev := r.unreadableState(ctx, err)
		if e := up.em.emit(ev); e != nil {
			return nil, up.fail(mpu.OpListener, 0, e)
		}
		st = nil
	case err != nil:
		return nil, up.fail(mpu.OpResume, 0, err)
	}
	if st != nil {
		if st.Bucket != r.in.Bucket || st.Key != r.in.Key {
			return nil, up.fail(mpu.OpResume, 0, invalidf("state file %s is for s3://%s/%s", path, st.Bucket, st.Key))
		}
		if sse := sseOf(&r.in.UploadInput); sse != st.SSE {
			what := "encryption settings"
			if sse.CustomerKeyMD5 != st.SSE.CustomerKeyMD5 {
				what = "SSE-C key"
			}
			return nil, up.fail(mpu.OpResume, 0, invalidf("state file %s was written for an upload with another %s", path, what))
		}
		if d := r.src.differs(st.Source); d != "" {
			if !r.in.StartOver {
				up.uploadID = st.UploadID
				return nil, up.fail(mpu.OpResume, 0, fmt.Errorf("%w since state file %s was written: %s; "+
					"resume with the original data, or start over to abort the old upload and send the new data", mpu.ErrSourceChanged, path, d))
			}
			if err := r.discard(ctx, st, "the source changed: "+d); err != nil {
				return nil, err
			}
			st = nil
		} else if st.UploadID == "" {
			if err := r.discard(ctx, st, "an earlier run was interrupted before CreateMultipartUpload answered"); err != nil {
				return nil, err
			}
			st = nil
		}
	}
	if st == nil && r.size <= up.o.PartSize {
		// One part: a single PutObject, which needs no state; its Completed
		// event counts the retries of the discarded upload's abort too.
		return r.u.upload(up.parent, &r.in.UploadInput, up.em.tallySoFar(), r.optFns)
	}
	if st != nil {
		out, done, err := r.resumeExisting(ctx, st)
		if done || err != nil {
			return out, err
		}
	}
	if r.st == nil {
		if err := r.start(ctx); err != nil {
			return nil, err
		}
	}
	return r.send(ctx)
}

// unreadableState is the Restarted event of StartOver with a state file
// that cannot be used (err): the upload it may have named cannot be known,
// so the uploads of the key are listed and named, with how to remove them,
// and left in place (they may be another principal's).
func (r *resumer) unreadableState(ctx context.Context, err error) event.Restarted {
	ev := event.Restarted{Reason: fmt.Sprintf("the state file cannot be used: %v", err)}
	u := fmt.Sprintf("s3://%s/%s", r.in.Bucket, r.in.Key)
	scan, lerr := r.up.pendingUploads(ctx, r.client, createWindow{last: time.Unix(1<<40, 0)}, "")
	ids := append(scan.found, scan.kept...)
	switch {
	case lerr != nil:
		ev.Reason += fmt.Sprintf("; an upload it named may remain, and the uploads of %s could not be listed (%v): "+
			"`s3mpu uploads ls %s` shows them", u, s3err.Mark(lerr), u)
	case len(ids) > 0:
		ev.Remaining = ids
		ev.Reason += fmt.Sprintf("; it may have named one of the uploads of %s still on the server, left in place: %s; "+
			"remove one that is yours with `s3mpu uploads abort %s --upload-id ID`", u, strings.Join(ids, ", "), u)
	default:
		ev.Reason += fmt.Sprintf("; no upload of %s remains on the server", u)
	}
	return ev
}

// discard gets rid of the upload st names (if any) so that a new one can
// start: it aborts it, or, when its ID was never recorded, looks for it.
func (r *resumer) discard(ctx context.Context, st *State, reason string) error {
	up := r.up
	if st.UploadID == "" {
		if !st.CreateStarted.IsZero() {
			if err := r.abortPending(ctx, st, reason); err != nil {
				return err
			}
		}
		return r.removeState()
	}
	up.uploadID = st.UploadID
	aborted, err := up.abort()
	up.uploadID = ""
	if err != nil {
		up.uploadID = st.UploadID
		e := up.fail(mpu.OpAbortMultipartUpload, 0, fmt.Errorf("abort the upload of the state file (%s): %w", reason, err))
		up.uploadID = ""
		return e
	}
	if e := up.em.emit(event.Restarted{OldUploadID: st.UploadID, Reason: reason, Aborted: aborted}); e != nil {
		return up.fail(mpu.OpListener, 0, e)
	}
	return r.removeState()
}

func (r *resumer) removeState() error {
	if err := removeState(r.in.StateFile); err != nil {
		return r.up.fail(mpu.OpResume, 0, err)
	}
	return nil
}

// abortPending aborts the uploads an interrupted CreateMultipartUpload
// recorded in st may have made: the rule of the OrphanCheck after a
// retried CreateMultipartUpload, with the window of the state file and,
// since no upload of this call exists to learn the caller's identity
// from, Options.CallerID. It reports the check with an OrphanCheck event
// and each upload aborted with a Restarted event.
func (r *resumer) abortPending(ctx context.Context, st *State, reason string) error {
	up := r.up
	w := createWindow{first: st.CreateStarted, last: st.CreateLast}
	if w.last.After(up.o.clock.Now().Add(pendingCreateSkew)) {
		// No run recorded an attempt after now: the file was edited, or
		// written by a clock since set back. Its end would reach the
		// uploads of the key started since; rest on the start alone, as
		// for a state file without create_last.
		w.last = time.Time{}
	}
	scan, err := up.pendingUploads(ctx, r.client, w, "")
	ev := event.OrphanCheck{
		Bucket: r.in.Bucket, Key: r.in.Key, Since: w.since(), Until: w.until(),
		Initiator: scan.initiator, NoInitiators: scan.noInitiators, Found: scan.found, Kept: scan.kept, Err: scan.err,
	}
	if err != nil {
		ev.Err = s3err.Mark(err)
		_ = up.em.emit(ev)
		return up.fail(mpu.OpListMultipartUploads, 0, fmt.Errorf("look for the upload an interrupted CreateMultipartUpload may have made: %w", err))
	}
	var failed error
	for _, id := range scan.found {
		up.uploadID = id
		_, err := up.abortID(id)
		up.uploadID = ""
		if err != nil {
			failed = fmt.Errorf("abort upload %s: %w", id, err)
			break
		}
		ev.Aborted = append(ev.Aborted, id)
	}
	if failed != nil {
		ev.Err = errors.Join(ev.Err, failed)
	}
	if e := up.em.emit(ev); e != nil {
		return up.fail(mpu.OpListener, 0, e)
	}
	if failed != nil {
		return up.fail(mpu.OpAbortMultipartUpload, 0, failed)
	}
	for _, id := range ev.Aborted {
		if e := up.em.emit(event.Restarted{OldUploadID: id, Reason: reason, Aborted: true}); e != nil {
			return up.fail(mpu.OpListener, 0, e)
		}
	}
	return nil
}

// resumeExisting takes up the upload st names. done reports that the
// object turned out to be stored already. When the upload is gone it
// returns with r.st nil, for a new upload to start.
func (r *resumer) resumeExisting(ctx context.Context, st *State) (out *UploadOutput, done bool, err error) {
	up := r.up
	cs, err := checksumFor(st.ChecksumAlgorithm, st.ChecksumType)
	if err != nil {
		return nil, false, up.fail(mpu.OpResume, 0, err)
	}
	up.cs = cs
	up.partSize = st.PartSize
	up.parts = planParts(r.off, r.size, st.PartSize)
	up.uploadID = st.UploadID

	listed, err := r.listParts(ctx)
	if s3err.Code(err) == "NoSuchUpload" {
		if st.Completing {
			out, ok, err := r.storedEarlier(ctx)
			if err != nil {
				return nil, false, err
			}
			if ok {
				_ = removeState(r.in.StateFile) // see the note in send
				out, err := up.finish(out)
				return out, true, err
			}
		}
		up.uploadID = ""
		if e := up.em.emit(event.Restarted{OldUploadID: st.UploadID, Reason: "the upload no longer exists on the server (aborted, expired, or completed with other data)"}); e != nil {
			return nil, false, up.fail(mpu.OpListener, 0, e)
		}
		if err := r.removeState(); err != nil {
			return nil, false, err
		}
		// Start afresh with the settings of this call.
		cs, err := checksumFor(r.up.o.ChecksumAlgorithm, r.up.o.ChecksumType)
		if r.in.ChecksumAlgorithm != "" {
			cs, err = checksumFor(r.in.ChecksumAlgorithm, r.in.ChecksumType)
		}
		if err != nil {
			return nil, false, up.fail(mpu.OpValidate, 0, err)
		}
		up.cs, up.parts, up.partSize = cs, nil, 0
		return nil, false, nil
	}
	if err != nil {
		return nil, false, up.fail(mpu.OpListParts, 0, err)
	}

	trusted, err := r.trustStored(ctx, st, listed, cs)
	if err != nil {
		return nil, false, up.failErr(err)
	}
	st.Parts = st.Parts[:0]
	stored := 0
	for i, rec := range up.parts {
		if trusted[i] {
			stored++
			st.Parts = append(st.Parts, StatePart{Number: rec.Number, Size: rec.Size, ETag: rec.ETag, Checksum: rec.Checksum})
		} else {
			rec.ETag = ""
		}
	}
	st.Completing = false
	r.st = st
	if err := r.save(); err != nil {
		return nil, false, up.fail(mpu.OpResume, 0, err)
	}
	r.stored = trusted
	if e := up.em.emit(event.Resumed{UploadID: st.UploadID, PartsStored: stored, PartsToSend: len(up.parts) - stored}); e != nil {
		return nil, false, up.fail(mpu.OpListener, 0, e)
	}
	return nil, false, nil
}

// trustStored returns which of up.parts the listing shows stored with the
// local data: a listed part is trusted only when its size and checksum match
// the local data's, the checksum being the one the server reports or, when
// it reports none, the one recorded with the same ETag in the state file.
// It sets the trusted parts' ETag, checksum and sum.
func (r *resumer) trustStored(ctx context.Context, st *State, listed []types.Part, cs *checksum) ([]bool, error) {
	up := r.up
	recorded := map[int32]StatePart{}
	for _, p := range st.Parts {
		recorded[p.Number] = p
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(up.o.Concurrency)
	trusted := make([]bool, len(up.parts))
	listedOnce := make([]bool, len(up.parts))
	for _, lp := range listed {
		n := aws.ToInt32(lp.PartNumber)
		if n < 1 || int(n) > len(up.parts) || listedOnce[n-1] {
			continue // a part listed again (pages that overlap) is checked once
		}
		listedOnce[n-1] = true
		rec := up.parts[n-1]
		if aws.ToInt64(lp.Size) != rec.Size {
			continue
		}
		server := checksumFields{&lp.ChecksumCRC32, &lp.ChecksumCRC32C, &lp.ChecksumCRC64NVME, &lp.ChecksumSHA1, &lp.ChecksumSHA256}.get(cs.algo)
		etag := aws.ToString(lp.ETag)
		g.Go(up.hashTask(gctx, r.ra, rec, func(sum partSum) {
			local := sum.String()
			switch {
			case server != "" && server != local:
				return
			case server == "":
				p, ok := recorded[n]
				if !ok || p.Checksum != local || trimETag(p.ETag) != trimETag(etag) {
					return
				}
			}
			rec.sum, rec.Checksum, rec.ETag = sum, local, etag
			trusted[n-1] = true
		}))
	}
	return trusted, g.Wait()
}

func trimETag(s string) string { return strings.Trim(s, `"`) }

// listParts lists every part of the upload, page by page.
func (r *resumer) listParts(ctx context.Context) ([]types.Part, error) {
	return r.up.listParts(ctx, r.client, 0, mpu.MaxParts)
}

// storedEarlier checks whether the object is this upload, completed by an
// interrupted run: same size and checksum as the local data.
func (r *resumer) storedEarlier(ctx context.Context) (*UploadOutput, bool, error) {
	up := r.up
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(up.o.Concurrency)
	for _, rec := range up.parts {
		g.Go(up.hashTask(gctx, r.ra, rec, func(sum partSum) {
			rec.sum, rec.Checksum = sum, sum.String()
		}))
	}
	if err := g.Wait(); err != nil {
		return nil, false, up.failErr(err)
	}
	sums := make([]partSum, len(up.parts))
	sizes := make([]int64, len(up.parts))
	for i, p := range up.parts {
		sums[i], sizes[i] = p.sum, p.Size
	}
	expected := up.cs.object(sums, sizes)
	head, err := up.verifyStored(ctx, r.size, expected)
	if err != nil {
		return nil, false, nil
	}
	up.completed = true
	parts := make([]Part, len(up.parts))
	for i, p := range up.parts {
		parts[i] = Part{PartNumber: p.Number, Size: p.Size, Checksum: p.Checksum}
	}
	return &UploadOutput{
		Bucket: r.in.Bucket, Key: r.in.Key, ETag: aws.ToString(head.ETag), VersionID: aws.ToString(head.VersionId),
		UploadID: up.uploadID, ChecksumAlgorithm: up.cs.algo, ChecksumType: up.cs.typ, Checksum: expected,
		Size: r.size, PartSize: up.partSize, Parts: parts,
	}, true, nil
}

// start records a new upload in the state file and creates it.
func (r *resumer) start(ctx context.Context) error {
	up := r.up
	ps, err := partSizeFor(r.size, up.o.PartSize)
	if err != nil {
		return up.fail(mpu.OpValidate, 0, err)
	}
	up.partSize = ps
	up.parts = planParts(r.off, r.size, ps)
	if err := r.preflight(ctx); err != nil {
		return err
	}
	now := up.o.clock.Now().UTC()
	r.st = &State{
		Version: StateVersion, Bucket: r.in.Bucket, Key: r.in.Key,
		CreateStarted: now, CreateLast: now, PartSize: ps, Size: r.size, Source: r.src,
		ChecksumAlgorithm: up.cs.algo, ChecksumType: up.cs.typ, SSE: sseOf(&r.in.UploadInput), Parts: []StatePart{},
	}
	if err := r.save(); err != nil {
		return up.fail(mpu.OpResume, 0, err)
	}
	// Record when each attempt runs, so that a later run looking for the
	// upload an interrupted attempt may have made has a closed window.
	up.onCreate = func(t time.Time, ended bool) error {
		r.mu.Lock()
		if t.After(r.st.CreateLast) {
			r.st.CreateLast = t.UTC()
		}
		r.mu.Unlock()
		if err := r.save(); err != nil {
			return &stateWriteError{err}
		}
		return nil
	}
	err = up.create(ctx, r.in.createInput(up.cs))
	up.onCreate = nil
	var swe *stateWriteError
	if errors.As(err, &swe) {
		return up.fail(mpu.OpResume, 0, swe.err)
	}
	if err != nil {
		if k := s3err.Classify(err); up.uploadID == "" && up.createAttempts == 1 && k != s3err.Canceled && !k.Retryable() {
			// A definite refusal of the only attempt: no upload exists,
			// nothing to resume. After failed attempts, the state file
			// is kept for a later Resume to find what they may have made.
			if rerr := removeState(r.in.StateFile); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return up.fail(mpu.OpCreateMultipartUpload, 0, err)
	}
	r.st.UploadID = up.uploadID
	if err := r.save(); err != nil {
		// Without the ID on disk the upload could not be resumed: abort it.
		up.o.LeavePartsOnError = r.leave
		return up.fail(mpu.OpResume, 0, err)
	}
	r.stored = make([]bool, len(up.parts))
	return nil
}

// stateWriteError is a failure to write the state file before a
// CreateMultipartUpload attempt: the attempt is not sent.
type stateWriteError struct{ err error }

func (e *stateWriteError) Error() string { return e.err.Error() }
func (e *stateWriteError) Unwrap() error { return e.err }

// preflight checks the steps of a resumable upload: those of Upload, plus
// ListParts, which a later Resume needs, and Abort unless the caller keeps
// parts (StartOver, AbortResumable and a source changed mid-upload abort).
func (r *resumer) preflight(ctx context.Context) error {
	up := r.up
	if up.o.PreflightMode == PreflightOff {
		return nil
	}
	steps := []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.ListParts, mpu.Complete}
	if !r.leave {
		steps = append(steps, mpu.Abort)
	}
	return up.checkSteps(ctx, steps)
}

// save writes the state file. r.mu must not be held.
func (r *resumer) save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return writeState(r.in.StateFile, r.st)
}

// recordPart adds a stored part to the state file.
func (r *resumer) recordPart(rec *partRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := StatePart{Number: rec.Number, Size: rec.Size, ETag: rec.ETag, Checksum: rec.Checksum}
	i, found := slices.BinarySearchFunc(r.st.Parts, p.Number, func(a StatePart, n int32) int { return int(a.Number - n) })
	if found {
		r.st.Parts[i] = p
	} else {
		r.st.Parts = slices.Insert(r.st.Parts, i, p)
	}
	return writeState(r.in.StateFile, r.st)
}

// send uploads the parts not stored yet, checks the source, and completes.
func (r *resumer) send(ctx context.Context) (*UploadOutput, error) {
	up := r.up
	if e := up.em.emit(event.Started{Bucket: r.in.Bucket, Key: r.in.Key, UploadID: up.uploadID, Size: r.size, PartSize: up.partSize, Parts: len(up.parts), Concurrency: up.o.Concurrency}); e != nil {
		return nil, up.fail(mpu.OpListener, 0, e)
	}
	pctx, pcancel := context.WithCancelCause(ctx)
	defer pcancel(nil)
	g, gctx := errgroup.WithContext(pctx)
	g.SetLimit(up.o.Concurrency)
	for i, rec := range up.parts {
		if r.stored[i] {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil
			}
			// The checksum is computed as the part is sent: the file is read once.
			if err := up.sendPart(gctx, rec, sectionOpener(r.ra, rec.Offset, rec.Size)); err != nil {
				return err
			}
			if err := r.recordPart(rec); err != nil {
				return &partError{op: mpu.OpResume, n: rec.Number, err: err}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, r.failErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, r.failErr(context.Cause(ctx))
	}
	if err := r.checkSource(); err != nil {
		return nil, r.failErr(&partError{op: mpu.OpReadBody, err: err})
	}
	r.mu.Lock()
	r.st.Completing = true
	r.mu.Unlock()
	if err := r.save(); err != nil {
		return nil, up.fail(mpu.OpResume, 0, err)
	}
	out, err := up.complete(ctx)
	if err != nil {
		return nil, up.fail(mpu.OpCompleteMultipartUpload, 0, err)
	}
	// The object is stored. Should removing the state file fail, a later
	// Resume finds the upload gone, the state marked as completing and the
	// object matching the local data, and succeeds without sending anything.
	_ = removeState(r.in.StateFile)
	return up.finish(out)
}

// checkSource fails with mpu.ErrSourceChanged when the file changed since
// Resume started.
func (r *resumer) checkSource() error { return r.stamp.check() }

// failErr fails the upload; a source that changed during the upload also
// aborts it and removes the state file, since its stored parts may hold
// the old data or the new.
func (r *resumer) failErr(err error) *UploadError {
	up := r.up
	if errors.Is(err, mpu.ErrSourceChanged) && !r.leave {
		up.o.LeavePartsOnError = false
		e := up.failErr(err)
		if e.Aborted {
			if rerr := removeState(r.in.StateFile); rerr != nil {
				e.Err = errors.Join(e.Err, rerr)
			}
		}
		return e
	}
	return up.failErr(err)
}

// AbortResumable discards the resumable upload named by the state file at
// statePath: it aborts the multipart upload (or, when an interrupted run
// never recorded its ID, the uploads of the key that run may have
// created) and removes the state file. A missing state file is not an
// error; an empty statePath is invalid input. The client must implement FullAPI's listing calls.
func (u *Uploader) AbortResumable(ctx context.Context, statePath string, optFns ...func(*Options)) error {
	client, o, err := beginAs[resumeClient](ctx, u, "AbortResumable", "ListParts and ListMultipartUploads", optFns)
	if err == nil && statePath == "" {
		err = invalidf("empty state file path")
	}
	if err != nil {
		return validateError("", "", err)
	}
	if err := checkStatePath(statePath); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	lock, err := lockState(statePath)
	if err != nil {
		return &UploadError{Op: mpu.OpResume, Err: err}
	}
	defer lock.unlock()
	st, err := ReadState(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &UploadError{Op: mpu.OpResume, Err: err}
	}
	cs, _ := checksumFor(st.ChecksumAlgorithm, st.ChecksumType)
	in := &ResumeInput{UploadInput: UploadInput{Bucket: st.Bucket, Key: st.Key}, StateFile: statePath}
	up := newUpload(client, o, &in.UploadInput, cs)
	up.parent = ctx
	up.em = &emitter{l: o.Listener}
	r := &resumer{up: up, client: client, in: in}
	if err := r.discard(ctx, st, "discarded"); err != nil {
		return err
	}
	return nil
}
