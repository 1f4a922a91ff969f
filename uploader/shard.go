package uploader

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// shardClient is the part of FullAPI the sharded-upload calls use.
type shardClient interface {
	API
	ListParts(ctx context.Context, in *s3.ListPartsInput, optFns ...func(*s3.Options)) (*s3.ListPartsOutput, error)
}

// PlanInput describes a sharded upload for CreatePlan.
type PlanInput struct {
	// UploadInput describes the object and the source, as for Upload. The
	// body must be readable at any offset and of known size, from its
	// first byte: a regular *os.File at offset 0, a *bytes.Reader, ...
	// CreatePlan reads only its size, modification time and first and
	// last MiB. SSE-C is not supported (every worker would need the key).
	UploadInput
	// Shards is the number of shards, from 1 to the number of parts.
	Shards int
}

// CreatePlan starts a sharded upload: it runs the preflight check (when
// Options.Preflight is set) for every step the plan's calls take
// (Initiate, UploadPart, ListParts, Complete and Abort), creates the
// multipart upload with CreateMultipartUpload, and returns the plan:
// the part size (Options.PartSize, grown to fit 10,000 parts), the parts of
// each shard, the checksum settings and the source's identity. The caller
// stores the plan where the workers find it; should that fail, AbortPlan
// discards the upload.
//
// Failures return an *UploadError as Upload does; no upload is left
// behind (a CreateMultipartUpload retried after a lost answer is followed
// by the OrphanCheck of Upload).
func (u *Uploader) CreatePlan(ctx context.Context, in *PlanInput, optFns ...func(*Options)) (*Plan, error) {
	if in == nil {
		return nil, validateError("", "", invalidf("nil input"))
	}
	uin := &in.UploadInput
	invalid := func(err error) (*Plan, error) { return nil, validateError(uin.Bucket, uin.Key, err) }
	o, cs, err := u.shardOptions(ctx, uin.ChecksumAlgorithm, uin.ChecksumType, optFns)
	if err != nil {
		return invalid(err)
	}
	if err := uin.validate(); err != nil {
		return invalid(err)
	}
	if uin.SSECustomerKey != "" || uin.SSECustomerAlgorithm != "" {
		return invalid(invalidf("a sharded upload cannot use SSE-C: every worker would need the key"))
	}
	ra, off, size, ok := readerAtBody(uin.Body)
	if !ok {
		return invalid(invalidf("a sharded upload needs a body readable at any offset, such as a regular file; not a stream (%T)", uin.Body))
	}
	if off != 0 {
		return invalid(invalidf("the body is read from offset %d; a plan covers a source from its first byte", off))
	}
	if uin.Size > 0 && uin.Size != size {
		return invalid(invalidf("Size is %d but the body holds %d bytes", uin.Size, size))
	}
	if size == 0 {
		return invalid(invalidf("the source is empty: there is nothing to shard"))
	}
	ps, err := partSizeFor(size, o.PartSize)
	if err != nil {
		return invalid(err)
	}
	parts := int32((size + ps - 1) / ps)
	if in.Shards < 1 || int64(in.Shards) > int64(parts) {
		return invalid(invalidf("%d shards: want 1 to %d, the number of parts of %d bytes the source makes", in.Shards, parts, ps))
	}

	up := newUpload(u.client, o, uin, cs)
	ctx, cancel := up.attach(ctx)
	defer cancel(nil)
	up.size, up.partSize = size, ps
	src, err := identify(uin.Body, ra, 0, size)
	if err != nil {
		return nil, up.fail(mpu.OpReadBody, 0, err)
	}
	if o.PreflightMode != PreflightOff {
		if err := up.checkSteps(ctx, []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.ListParts, mpu.Complete, mpu.Abort}); err != nil {
			return nil, err
		}
	}
	created := o.clock.Now().UTC()
	if err := up.create(ctx, uin.createInput(cs)); err != nil {
		return nil, up.fail(mpu.OpCreateMultipartUpload, 0, err)
	}
	p := &Plan{
		Version: PlanVersion, Bucket: uin.Bucket, Key: uin.Key, UploadID: up.uploadID, Created: created,
		ExpectedBucketOwner: uin.ExpectedBucketOwner, IfNoneMatch: uin.IfNoneMatch,
		Size: size, PartSize: ps, Parts: parts, ChecksumAlgorithm: cs.algo, ChecksumType: cs.typ,
		SSE: sseOf(uin), Source: src, Shards: splitShards(size, ps, parts, in.Shards),
	}
	if err := p.Validate(); err != nil {
		return nil, up.fail(mpu.OpValidate, 0, err) // aborts the upload just created
	}
	return p, nil
}

// shardOptions resolves the options of a sharded-upload call and the
// checksum of algo and typ (the options' when algo is "").
func (u *Uploader) shardOptions(ctx context.Context, algo types.ChecksumAlgorithm, typ types.ChecksumType, optFns []func(*Options)) (Options, *checksum, error) {
	o, err := u.begin(ctx, nil, optFns)
	if err != nil {
		return o, nil, err
	}
	if algo == "" {
		algo, typ = o.ChecksumAlgorithm, o.ChecksumType
	}
	cs, err := checksumFor(algo, typ)
	return o, cs, err
}

// planUpload prepares the upload state of a call on an existing plan.
func (u *Uploader) planUpload(ctx context.Context, p *Plan, optFns []func(*Options)) (*upload, shardClient, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	o, cs, err := u.shardOptions(ctx, p.ChecksumAlgorithm, p.ChecksumType, optFns)
	if err != nil {
		return nil, nil, err
	}
	client, err := clientAs[shardClient](u.client, "a sharded upload", "ListParts")
	if err != nil {
		return nil, nil, err
	}
	up := newUpload(client, o, p.uploadInput(), cs)
	up.uploadID, up.size, up.partSize = p.UploadID, p.Size, p.PartSize
	return up, client, nil
}

// planInputError is the error of a plan operation whose plan, input or
// options are rejected before any request: Op mpu.OpValidate, naming the
// plan's object and upload when there is a plan.
func planInputError(p *Plan, err error) *UploadError {
	e := validateError("", "", err)
	if p != nil {
		e.Bucket, e.Key, e.UploadID = p.Bucket, p.Key, p.UploadID
	}
	return e
}

// checkPlanSource checks that ra, of size bytes, is still the source the
// plan was made from (was), and watches it for changes from now on; note
// ends the message of the error when it is not.
func (up *upload) checkPlanSource(ra io.ReaderAt, size int64, was Source, note string) error {
	up.stamp = stampOf(ra)
	src, err := identify(ra, ra, 0, size)
	if err != nil {
		return up.fail(mpu.OpReadBody, 0, err)
	}
	if d := src.differs(was); d != "" {
		return up.fail(mpu.OpReadBody, 0, fmt.Errorf("%w since the plan was made: %s%s", mpu.ErrSourceChanged, d, note))
	}
	return nil
}

// listPlanParts lists the plan upload's parts after the part number after,
// up to upTo, failing with an error that says so when the upload is gone.
func (up *upload) listPlanParts(ctx context.Context, client shardClient, after, upTo int32) ([]types.Part, error) {
	listed, err := up.listParts(ctx, client, after, upTo)
	if err != nil {
		if s3err.Code(err) == "NoSuchUpload" {
			err = fmt.Errorf("the plan's upload %s no longer exists (completed or aborted): %w", up.uploadID, err)
		}
		return nil, up.fail(mpu.OpListParts, 0, err)
	}
	return listed, nil
}

// ShardInput says which shard of a plan UploadShard sends, from what.
type ShardInput struct {
	// Shard is the shard's index in Plan.Shards, from 0.
	Shard int
	// Body is the source: the data the plan was made from, readable at any
	// offset (an *os.File, a *bytes.Reader, ...). Its size is found with
	// Stat, a Size method or Seek. Only the shard's bytes and the first and
	// last MiB (to check the source) are read.
	Body io.ReaderAt
}

// ShardOutput describes a shard whose parts are all stored.
type ShardOutput struct {
	// Shard is the shard's index; Bucket, Key and UploadID the plan's.
	Shard                 int
	Bucket, Key, UploadID string
	// FirstPart and LastPart are the shard's part numbers; Size its bytes.
	FirstPart, LastPart int32
	Size                int64
	// PartsSent are the parts this call uploaded; PartsSkipped the parts
	// the server already held with the right size and checksum.
	PartsSent, PartsSkipped []int32
	// BytesSent is the number of bytes of the parts this call uploaded.
	BytesSent int64
	// Parts are all the shard's parts, in order.
	Parts []Part
}

// UploadShard uploads the parts of one shard of a plan from in.Body, so
// that a rerun, after a crash or a kill at any point, is cheap and safe.
//
// It first checks that the source is the plan's (size, modification time,
// first and last MiB; a difference fails with mpu.ErrSourceChanged and sends
// nothing), then lists the shard's parts on the server (ListParts) and
// skips each part stored with the planned size and a checksum equal to
// the local data's (reported in a Resumed event). The other parts are
// sent as Upload sends them: Options.Concurrency at a time, each
// checksummed as it is read, retried on throttling, transient errors and
// damage in transit, with PartDone events. Before returning it checks that
// the source's size and modification time did not change meanwhile
// (mpu.ErrSourceChanged), and lists the shard's parts again: a nil error means
// the server holds every part of the shard as this call sent or found it.
// An upload aborted meanwhile fails with mpu.ErrNotFound (a part in flight
// during an abort may still succeed); a part replaced meanwhile (by another
// worker with other data) fails with ErrPlanIncomplete, naming it.
//
// A failure never aborts the upload, since other shards belong to it: the
// *UploadError it returns leaves the upload and its parts in place for a
// rerun, and AbortPlan discards them. A plan whose upload is gone fails
// with mpu.ErrNotFound. The client must implement ListParts (see FullAPI).
func (u *Uploader) UploadShard(ctx context.Context, p *Plan, in *ShardInput, optFns ...func(*Options)) (*ShardOutput, error) {
	invalid := func(err error) (*ShardOutput, error) { return nil, planInputError(p, err) }
	if in == nil {
		return invalid(invalidf("nil input"))
	}
	up, client, err := u.planUpload(ctx, p, optFns)
	if err != nil {
		return invalid(err)
	}
	if in.Shard < 0 || in.Shard >= len(p.Shards) {
		return invalid(invalidf("shard %d: the plan has shards 0 to %d", in.Shard, len(p.Shards)-1))
	}
	if in.Body == nil {
		return invalid(invalidf("nil body"))
	}
	size, err := readerAtSize(in.Body)
	if err != nil {
		return invalid(err)
	}
	up.o.LeavePartsOnError = true // the upload belongs to every shard
	ctx, cancel := up.attach(ctx)
	defer cancel(nil)
	if err := up.checkPlanSource(in.Body, size, p.Source, "; nothing was sent"); err != nil {
		return nil, err
	}

	sh := p.Shards[in.Shard]
	up.parts = planParts(0, p.Size, p.PartSize)[sh.FirstPart-1 : sh.LastPart]
	listed, err := up.listPlanParts(ctx, client, sh.FirstPart-1, sh.LastPart)
	if err != nil {
		return nil, err
	}
	stored, err := up.trustListed(ctx, in.Body, listed, sh.FirstPart, nil)
	if err != nil {
		return nil, up.failErr(err)
	}
	out := &ShardOutput{
		Shard: in.Shard, Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID,
		FirstPart: sh.FirstPart, LastPart: sh.LastPart, Size: sh.Size,
		PartsSent: []int32{}, PartsSkipped: []int32{},
	}
	for i, rec := range up.parts {
		if stored[i] {
			out.PartsSkipped = append(out.PartsSkipped, rec.Number)
		}
	}
	if e := up.em.emit(event.Resumed{UploadID: p.UploadID, PartsStored: len(out.PartsSkipped), PartsToSend: len(up.parts) - len(out.PartsSkipped)}); e != nil {
		return nil, up.fail(mpu.OpListener, 0, e)
	}
	if e := up.em.emit(event.Started{Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID, Size: sh.Size, PartSize: p.PartSize, Parts: len(up.parts)}); e != nil {
		return nil, up.fail(mpu.OpListener, 0, e)
	}

	if err := up.sendMissing(ctx, in.Body, stored); err != nil {
		return nil, up.failErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, up.fail(mpu.OpUploadPart, 0, context.Cause(ctx))
	}
	if err := up.stamp.check(); err != nil {
		return nil, up.fail(mpu.OpReadBody, 0, err)
	}
	if err := up.confirmShard(ctx, client, p, sh); err != nil {
		return nil, err
	}
	for i, rec := range up.parts {
		if !stored[i] {
			out.PartsSent = append(out.PartsSent, rec.Number)
			out.BytesSent += rec.Size
		}
		out.Parts = append(out.Parts, Part{PartNumber: rec.Number, Size: rec.Size, ETag: rec.ETag, Checksum: rec.Checksum})
	}
	return out, nil
}

// sendMissing sends the parts of up.parts that are not stored, reading
// each from body, at most Concurrency at once; the first failure cancels
// the others.
func (up *upload) sendMissing(ctx context.Context, body io.ReaderAt, stored []bool) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(up.o.Concurrency)
	for i, rec := range up.parts {
		if stored[i] {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // a sibling failed while this part waited for a slot
			}
			return up.sendPart(gctx, rec, sectionOpener(body, rec.Offset, rec.Size))
		})
	}
	return g.Wait()
}

// confirmShard lists the shard's parts once its parts are sent and checks
// that the server holds each with the size and checksum this call knows:
// a part in flight while the upload is aborted may still succeed (S3's
// AbortMultipartUpload documentation says so), and another worker may
// have replaced a part meanwhile. It returns the error UploadShard fails
// with: mpu.ErrNotFound when the upload is gone, else an *IncompleteError
// (ErrPlanIncomplete) for the shard.
func (up *upload) confirmShard(ctx context.Context, client shardClient, p *Plan, sh PlanShard) error {
	listed, err := up.listPlanParts(ctx, client, sh.FirstPart-1, sh.LastPart)
	if err != nil {
		return err
	}
	byNum := make(map[int32]types.Part, len(listed))
	for _, lp := range listed {
		byNum[aws.ToInt32(lp.PartNumber)] = lp
	}
	prob := ShardProblem{Shard: sh.Index}
	for _, rec := range up.parts {
		lp, ok := byNum[rec.Number]
		server := checksumFields{&lp.ChecksumCRC32, &lp.ChecksumCRC32C, &lp.ChecksumCRC64NVME, &lp.ChecksumSHA1, &lp.ChecksumSHA256}.get(up.cs.algo)
		switch {
		case !ok:
			prob.Missing = append(prob.Missing, rec.Number)
		case aws.ToInt64(lp.Size) != rec.Size:
			prob.WrongSize = append(prob.WrongSize, rec.Number)
		case rec.Checksum != "" && server != rec.Checksum:
			prob.BadChecksum = append(prob.BadChecksum, rec.Number)
		}
	}
	if len(prob.Missing)+len(prob.WrongSize)+len(prob.BadChecksum) == 0 {
		return nil
	}
	return up.fail(mpu.OpCheckParts, 0, &IncompleteError{UploadID: p.UploadID, Shards: []ShardProblem{prob}})
}

// trustListed marks the parts of up.parts (numbered from first) that the
// listing shows stored with their size and a checksum of the upload's
// algorithm; when ra is set, only those whose checksum is also the local
// data's. It sets the trusted parts' ETag, checksum and sum. bad, when
// set, receives the listed parts of the right size whose checksum is
// missing, malformed or (with ra) different.
func (up *upload) trustListed(ctx context.Context, ra io.ReaderAt, listed []types.Part, first int32, bad func(n int32)) ([]bool, error) {
	trusted := make([]bool, len(up.parts))
	var mu sync.Mutex
	report := func(n int32) {
		if bad != nil {
			mu.Lock()
			bad(n)
			mu.Unlock()
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(up.o.Concurrency)
	size := up.cs.new().Size()
	listedOnce := make([]bool, len(up.parts))
	for _, lp := range listed {
		n := aws.ToInt32(lp.PartNumber)
		i := int(n - first)
		if i < 0 || i >= len(up.parts) || listedOnce[i] {
			continue // a part listed again (pages that overlap) is checked once
		}
		listedOnce[i] = true
		rec := up.parts[i]
		if aws.ToInt64(lp.Size) != rec.Size {
			continue
		}
		server := checksumFields{&lp.ChecksumCRC32, &lp.ChecksumCRC32C, &lp.ChecksumCRC64NVME, &lp.ChecksumSHA1, &lp.ChecksumSHA256}.get(up.cs.algo)
		raw, err := base64.StdEncoding.DecodeString(server)
		if server == "" || err != nil || len(raw) != size {
			report(n)
			continue
		}
		etag := aws.ToString(lp.ETag)
		if ra == nil {
			rec.sum, rec.Checksum, rec.ETag = partSum{raw: raw}, server, etag
			trusted[i] = true
			continue
		}
		g.Go(up.hashTask(gctx, ra, rec, func(sum partSum) {
			if sum.String() != server {
				report(n)
				return
			}
			rec.sum, rec.Checksum, rec.ETag = sum, server, etag
			trusted[i] = true
		}))
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return trusted, nil
}

// hashTask is the errgroup task that checksums part rec of ra and hands
// the sum to use; it does nothing once ctx is done, and a read error is
// the part's. use runs on the task's goroutine.
func (up *upload) hashTask(ctx context.Context, ra io.ReaderAt, rec *partRecord, use func(partSum)) func() error {
	return func() error {
		if ctx.Err() != nil {
			return nil
		}
		sum, err := up.hashSection(ctx, ra, rec.Offset, rec.Size)
		if err != nil {
			return &partError{op: mpu.OpReadBody, n: rec.Number, err: err}
		}
		use(sum)
		return nil
	}
}

// readerAtSize returns the size of a source given as an io.ReaderAt.
func readerAtSize(ra io.ReaderAt) (int64, error) {
	switch r := ra.(type) {
	case statter:
		fi, err := r.Stat()
		if err != nil {
			return 0, fmt.Errorf("stat body: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return 0, invalidf("the body is not a regular file (%s)", fi.Mode().Type())
		}
		return fi.Size(), nil
	case interface{ Size() int64 }:
		return r.Size(), nil
	case io.Seeker:
		return r.Seek(0, io.SeekEnd)
	}
	return 0, invalidf("the size of the body (%T) cannot be found: give an *os.File, or an io.ReaderAt with a Size method", ra)
}

// CompletePlanInput holds the optional settings of CompletePlan.
type CompletePlanInput struct {
	// Source, when set, is the plan's source (as for UploadShard): it is
	// checked against the plan and every part's checksum is compared with
	// the local data's, reading the whole source. Without it, a part
	// counts as stored when its size is the planned one and the server
	// reports a well-formed checksum of the plan's algorithm for it (which
	// S3 checked against the bytes it received).
	Source io.ReaderAt
}

// CompletePlan completes a sharded upload once every shard is stored.
//
// It lists the upload's parts (ListParts) and checks that every part of
// the plan is there, with its planned size and a checksum of the plan's
// algorithm (equal to the local data's when in.Source is set). When one
// is not, it completes nothing and returns an *UploadError (Op
// mpu.OpCheckParts) whose Err is an *IncompleteError naming the shards to run
// again; errors.Is(err, ErrPlanIncomplete) holds. Otherwise it combines the
// object's checksum from the parts' checksums (FULL_OBJECT: the CRC of the
// whole object; COMPOSITE: the checksum of the checksums), sends it with
// CompleteMultipartUpload, compares it with the server's answer, and
// verifies the stored object with HeadObject (size and checksum); a
// difference fails with mpu.ErrChecksumMismatch.
//
// A failure never aborts the upload: the shards can be run again, or the
// plan discarded with AbortPlan. The client must implement ListParts (see FullAPI).
func (u *Uploader) CompletePlan(ctx context.Context, p *Plan, in *CompletePlanInput, optFns ...func(*Options)) (*UploadOutput, error) {
	invalid := func(err error) (*UploadOutput, error) { return nil, planInputError(p, err) }
	up, client, err := u.planUpload(ctx, p, optFns)
	if err != nil {
		return invalid(err)
	}
	if in == nil {
		in = &CompletePlanInput{}
	}
	var srcSize int64
	if in.Source != nil {
		if srcSize, err = readerAtSize(in.Source); err != nil {
			return invalid(err)
		}
	}
	up.o.LeavePartsOnError = true // the shards can be run again
	ctx, cancel := up.attach(ctx)
	defer cancel(nil)
	if in.Source != nil {
		if err := up.checkPlanSource(in.Source, srcSize, p.Source, ""); err != nil {
			return nil, err
		}
	}

	up.parts = planParts(0, p.Size, p.PartSize)
	listed, err := up.listPlanParts(ctx, client, 0, p.Parts)
	if err != nil {
		return nil, err
	}
	var badSum []int32
	stored, err := up.trustListed(ctx, in.Source, listed, 1, func(n int32) { badSum = append(badSum, n) })
	if err != nil {
		return nil, up.failErr(err)
	}
	if ie := p.incomplete(listed, stored, badSum); ie != nil {
		return nil, up.fail(mpu.OpCheckParts, 0, ie)
	}
	if err := up.stamp.check(); err != nil {
		return nil, up.fail(mpu.OpReadBody, 0, err)
	}
	out, err := up.complete(ctx)
	if err != nil {
		return nil, up.fail(mpu.OpCompleteMultipartUpload, 0, err)
	}
	if _, err := up.verifyStored(ctx, out.Size, out.Checksum); err != nil {
		if s3err.Classify(err) == s3err.Unknown {
			err = fmt.Errorf("%w: %w", mpu.ErrChecksumMismatch, err)
		}
		return nil, up.fail(mpu.OpHeadObject, 0, fmt.Errorf("the upload was completed but the object does not verify: %w", err))
	}
	return up.finish(out)
}

// incomplete returns the problems of the plan's parts, by shard, or nil
// when every part is stored and trusted.
func (p *Plan) incomplete(listed []types.Part, stored []bool, badSum []int32) *IncompleteError {
	byNum := map[int32]types.Part{}
	for _, lp := range listed {
		byNum[aws.ToInt32(lp.PartNumber)] = lp
	}
	bad := map[int32]bool{}
	for _, n := range badSum {
		bad[n] = true
	}
	probs := map[int]*ShardProblem{}
	get := func(n int32) *ShardProblem {
		s := p.shardOf(n)
		if probs[s] == nil {
			probs[s] = &ShardProblem{Shard: s}
		}
		return probs[s]
	}
	for i, ok := range stored {
		if ok {
			continue
		}
		n := int32(i + 1)
		switch _, found := byNum[n]; {
		case !found:
			get(n).Missing = append(get(n).Missing, n)
		case bad[n]:
			get(n).BadChecksum = append(get(n).BadChecksum, n)
		default:
			get(n).WrongSize = append(get(n).WrongSize, n)
		}
	}
	if len(probs) == 0 {
		return nil
	}
	e := &IncompleteError{UploadID: p.UploadID}
	for _, s := range probs {
		slices.Sort(s.BadChecksum)
		e.Shards = append(e.Shards, *s)
	}
	slices.SortFunc(e.Shards, func(a, b ShardProblem) int { return a.Shard - b.Shard })
	return e
}

// errPlanNotAborted is the cause of AbortPlan's error; the abort's own
// error is in UploadError.AbortErr.
var errPlanNotAborted = errors.New("the plan's upload was not aborted")

// AbortPlan discards a sharded upload: it aborts the plan's multipart
// upload (AbortMultipartUpload, with retries, on a context the caller's
// cancellation does not end) and, with a client that implements
// ListParts, checks that it is gone, as a failed Upload's abort does (see
// Aborted). An upload already gone counts as aborted. S3's rules for
// aborting apply: the bucket owner and the upload's initiator may abort it
// by default, anyone else needs s3:AbortMultipartUpload, and a bucket
// policy may deny it to anyone; when Options.Preflight is set, that step
// (mpu.Abort) is checked first. A denied abort returns an *UploadError
// explaining who may abort the upload.
func (u *Uploader) AbortPlan(ctx context.Context, p *Plan, optFns ...func(*Options)) error {
	up, _, err := u.planUpload(ctx, p, optFns)
	if err != nil {
		return planInputError(p, err)
	}
	up.parent = ctx
	up.em = &emitter{l: up.o.Listener}
	id := p.UploadID
	if up.o.PreflightMode != PreflightOff {
		up.uploadID = "" // a denied check must not abort
		if err := up.checkSteps(ctx, []mpu.Step{mpu.Abort}); err != nil {
			return err
		}
		up.uploadID = id
	}
	res, err := up.abortID(id)
	_ = up.em.emit(event.Aborted{UploadID: id, Attempts: res.attempts, Err: err, Verified: res.verified, VerifyErr: res.verifyErr})
	if err == nil {
		return nil
	}
	// Error adds who may abort the upload (and how else to clean it up).
	return &UploadError{Op: mpu.OpAbortMultipartUpload, Bucket: p.Bucket, Key: p.Key, UploadID: id,
		Err: errPlanNotAborted, AbortErr: err}
}
