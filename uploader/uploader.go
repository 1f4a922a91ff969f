// Package uploader uploads objects to S3 (and S3-compatible servers) as
// concurrent multipart uploads that never leave orphaned parts behind.
//
// An Uploader is made with New from any client that implements API, such
// as *s3.Client. Upload sends a body as a single PutObject when it fits in
// one part, and otherwise as a multipart upload with parts sent
// concurrently:
//
//   - A body that is an io.ReaderAt of known size (a regular *os.File, a
//     *bytes.Reader, ...) is read in place, part by part, through a fresh
//     io.SectionReader for each attempt: nothing is copied into buffers.
//   - Any other io.Reader is streamed through at most Concurrency+1 part
//     buffers, reused from part to part, within Options.MaxBufferMemory
//     (fewer parts are sent at once when that many do not fit). On Linux,
//     macOS and the BSDs they are mapped outside the Go heap (so they do
//     not raise the garbage collector's heap goal) and unmapped before
//     Upload returns. The stream is read in a goroutine of its own, so
//     Upload returns once its context ends whatever the body's Read does;
//     see Stalled bodies below.
//   - Each request is retried, with exponential backoff and jitter, when the
//     one classifier of the module calls its error throttling or transient;
//     permission, not-found and invalid-request errors are not retried. A
//     part or PutObject the server rejects because its bytes do not match
//     their checksum (BadDigest, XAmzContentSHA256Mismatch, InvalidDigest)
//     is sent again too, read afresh from the file or the part buffer:
//     the checksum is computed as the bytes are sent, so the bytes were
//     damaged on the way.
//   - Each part carries its checksum (CRC32C by default), computed locally;
//     after Complete the object's checksum reported by S3 is compared with
//     the one computed locally, and a difference fails with
//     mpu.ErrChecksumMismatch.
//   - Once a multipart upload exists, every failure ends in
//     AbortMultipartUpload, on a context the caller's cancellation does not
//     end, with its own timeout and retries, unless
//     Options.LeavePartsOnError is set. When the client also implements
//     ListParts (as *s3.Client does), ListParts then checks that the upload
//     is gone: a part request still running on the server during the abort
//     may store its part afterwards and bring the upload back, so an upload
//     still listed is aborted again, up to 3 times in all (see Aborted).
//   - A body that is a file is checked before Complete: if its size or
//     modification time changed during the upload, the upload fails with
//     mpu.ErrSourceChanged and is aborted, instead of storing a mix.
//   - A part whose request runs far longer than its peers took is sent
//     again on a fresh request; the first stored wins, the other is
//     canceled (hedging, bounded to a few requests and 10% of the object;
//     see HedgeOptions).
//   - Left at 0, Concurrency adapts: an upload starts with 4 parts in
//     flight and doubles them while the throughput rises, up to
//     MaxConcurrency (16 by default), a stream no further than its part
//     buffers fit in MaxBufferMemory (see ConcurrencyChanged).
//
// Resume does the same with a state file (see ResumeInput and State): a
// later call with the same file, after a failure, a cancellation or a
// crash at any point, sends only the parts the server does not hold. The
// client must also list parts and uploads (FullAPI), as *s3.Client does.
//
// Copy copies an object on the server side, with one CopyObject or, above
// Options.CopyThreshold (and always above 5 GiB), with UploadPartCopy byte
// ranges in parallel, with the same retries, abort and events. The client
// must also copy and read tags (FullAPI), as *s3.Client does.
//
// A sharded upload spreads one object's parts over many processes or
// hosts, run by any job scheduler: CreatePlan creates the upload and
// returns a Plan (serializable, secret-free) splitting the parts into
// shards; UploadShard, once per shard, sends the shard's parts the server
// does not hold yet; CompletePlan completes the upload once every part is
// stored, or names the shards to run again (IncompleteError) and
// completes nothing; AbortPlan discards it. S3 holds the state. The client
// must also list parts (FullAPI), as *s3.Client does.
//
// # Checksums
//
// Every part is read once: its checksum is computed from the bytes as the
// HTTP transport reads them. Over TLS the SDK sends the same checksum as a
// trailer (aws-chunked); over plain HTTP the checksum header and the
// payload's SHA-256 signature are computed in one pass from a second reader
// of the part (a file section or the part's buffer), since the SDK cannot
// sign an unseekable body there. Content-MD5 is never sent. After Complete,
// the object's checksum (FULL_OBJECT: the CRC of the whole object, combined
// locally from the parts' CRCs; COMPOSITE: the checksum of the part
// checksums, "-N") is compared with the server's answer.
//
// # Limits
//
// A CreateMultipartUpload whose answer is lost (a timeout, a connection
// reset after the request was sent) may still have created an upload. When
// a retry then succeeds, Upload, Copy and Resume list the uploads of the
// key and abort those initiated within the closed window from the first
// attempt's start less 2 minutes to the last attempt's end plus 2 minutes
// whose initiator is their own upload's (or any, on a server that reports
// no initiators), and report it with an OrphanCheck event naming every
// upload aborted and every one left (see there for the rule and what it
// needs). What this leaves behind, as empty uploads (no parts), is:
//
//   - an orphan when the client does not implement ListMultipartUploads,
//     when listing is denied or fails, or when the server's clock is more
//     than 2 minutes off ours (OrphanCheck.Err says so in the first
//     cases);
//   - an orphan of an attempt the server processes after the listing
//     (a request held up on the way longer than the retries took);
//   - the orphans of a CreateMultipartUpload that fails on every attempt
//     or is canceled: no upload of this call exists, and nothing is listed.
//     Resume finds them on its next run, by the window its state file
//     records, and aborts them when the server reports no initiators or
//     Options.CallerID names the caller.
//
// A lifecycle rule with AbortIncompleteMultipartUpload removes such
// uploads. Conversely, an upload of the same key by the same principal
// (by anyone, on a server that reports no initiators) started by another
// process within the window is taken for an orphan and aborted; that
// process then fails with NoSuchUpload rather than storing anything
// wrong. Uploads outside the window are never touched.
//
// # Errors
//
// Upload returns an *UploadError (use errors.As) saying which operation
// failed, for which part, and whether the upload was aborted; the abort's
// own error is joined to the cause. An abort counts as done when
// AbortMultipartUpload succeeds or answers NoSuchUpload; a ListParts
// check afterwards that is denied (it needs s3:ListMultipartUploadParts)
// or fails does not change that, and is reported in Aborted.VerifyErr,
// while an upload still listed after the last abort fails it.
//
// errors.Is with mpu.ErrPermissionDenied, mpu.ErrCredentials, mpu.ErrUndecided,
// mpu.ErrNotFound, mpu.ErrInvalidInput, mpu.ErrThrottled, mpu.ErrCanceled, mpu.ErrTransient,
// mpu.ErrChecksumMismatch or mpu.ErrSourceChanged tests the category, and
// errors.As still reaches the SDK's errors (smithy.APIError and others).
// A preflight refusal has Op mpu.OpPreflight and no upload ID: nothing was
// sent.
//
// Invalid input or options fail with mpu.ErrInvalidInput (Op mpu.OpValidate)
// before any request and without events, among them:
//
//   - a bucket that can never name one: empty, over 255 bytes, not UTF-8,
//     or holding '/', white space or a control character, or a malformed
//     ARN (see UploadInput.Bucket; legacy names with uppercase letters or
//     '_' and access point ARNs pass, and the server answers for them);
//     for Copy, the source's bucket and the destination's;
//   - an empty key, or one over 1024 bytes or not UTF-8;
//   - a nil body, or an *os.File (any body with Stat) that is a directory
//     or another file that is neither regular, a pipe, a socket nor a
//     device;
//   - SSE-C settings that S3 would refuse or that would silently not apply:
//     an algorithm other than "AES256", a key that is not the standard
//     base64 of 32 bytes, a key MD5 that is not the key's, one of them
//     without the key, SSE-C with ServerSideEncryption (for Copy, the
//     source's SSE-C too). Messages never hold the key; an empty key MD5
//     is computed;
//   - a negative or impossible size, options out of range, an unknown
//     checksum algorithm or type.
//
// A part or a PutObject the server rejects because its bytes do not match
// their checksum (BadDigest, XAmzContentSHA256Mismatch, InvalidDigest) is
// sent again within Options.MaxAttempts; when every attempt is rejected the
// error matches mpu.ErrChecksumMismatch, as does a checksum the server reports
// that differs from the local one.
//
// # Stalled bodies
//
// A streamed body is read by a goroutine that the upload waits for only
// while its context lasts. When the context ends while that goroutine is
// in the body's Read (a pipe whose writer stalls, a hung network reader),
// Upload returns at once with an error wrapping the context's cause and
// mpu.ErrCanceled (Op mpu.OpReadBody), after aborting the multipart upload as on
// any failure. The goroutine stays blocked in that Read until it returns:
// close or unblock the body to end it. The part buffer it reads into
// stays its own until then (a buffer mapped outside the heap is unmapped
// only after the Read returns, never while it may still write into it),
// and nothing read after Upload returned is used. That Read is the last
// one: the body is not read again once the upload stopped waiting for it,
// so it is the caller's again when that Read returns. A body whose Read keeps
// returning no bytes and no error fails with io.ErrNoProgress after 100
// such reads in a row, as bufio's readers do, instead of spinning; one
// that reports an impossible byte count or panics fails with mpu.OpReadBody.
//
// A body read in place (a regular file, an io.ReaderAt) is read as each
// part is sent. Its reads before a request (payload hashes over plain
// HTTP, Resume's fingerprint and part checks) stop being waited for when
// the context ends, and so does its part body once the request returns.
// A request whose payload the HTTP transport is streaming (over TLS) ends
// only when the transport's own writer does: net/http waits for it after a
// cancellation, so a ReadAt that blocks there (a hung network file system)
// holds the request, and Upload, until it returns. A ReadAt that keeps
// returning no bytes and no error fails with io.ErrNoProgress.
//
// # Concurrency
//
// An Uploader is safe for concurrent use by several goroutines; each
// Upload has its own options (per-call option functions apply to a copy).
// Upload returns only after every goroutine it started has ended, but
// for the reader of a stalled streamed body (see Stalled bodies). The
// Listener of an upload is called synchronously and never concurrently
// for that upload.
//
// # Events and errors
//
// An upload reports its progress through Options.Listener with the event
// values of package uploader/event (Started, PartDone, Retry, Hedged,
// Completed, Failed, Aborted, ...); the uploader itself prints and logs
// nothing. An error is an *UploadError (or *IncompleteError from
// CompletePlan) whose category is one of mpu's: errors.Is(err,
// mpu.ErrPermissionDenied), mpu.ErrNotFound, mpu.ErrThrottled, ...; the
// operation it is about is an mpu.Op.
//
// # What it does not do
//
// It never decides permissions itself (that is package preflight's job,
// reached through the Checker interface), never reads IAM, and never
// deletes objects: its only destructive call is AbortMultipartUpload, on
// an upload of its own or one its state file or plan names.
package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/s3mpu/s3mpu/internal/optfn"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// API is the part of the S3 client the uploader uses, with the
// aws-sdk-go-v2 signatures: *s3.Client implements it.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

var _ API = (*s3.Client)(nil)

// FullAPI is every call the uploader makes: API, plus what Resume and
// AbortResumable (ListParts, ListMultipartUploads), Copy (CopyObject,
// UploadPartCopy, GetObjectTagging) and the sharded-upload calls
// (ListParts) need. New takes an API; each of those methods checks at its
// start that the client has the calls it uses and otherwise returns an
// error wrapping mpu.ErrInvalidInput, before any request. *s3.Client and
// s3mem's Client implement FullAPI.
type FullAPI interface {
	API
	ListParts(ctx context.Context, in *s3.ListPartsInput, optFns ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, optFns ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	GetObjectTagging(ctx context.Context, in *s3.GetObjectTaggingInput, optFns ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
}

var (
	_ FullAPI      = (*s3.Client)(nil)
	_ copyClient   = FullAPI(nil)
	_ resumeClient = FullAPI(nil)
	_ shardClient  = FullAPI(nil)
)

// Uploader uploads objects. Make one with New; it is safe for concurrent use.
type Uploader struct {
	client  API
	options Options
}

// New returns an Uploader using client, with options set by optFns.
// Invalid options are reported by Upload, as errors wrapping mpu.ErrInvalidInput.
func New(client API, optFns ...func(*Options)) *Uploader {
	return &Uploader{client: client, options: optfn.With(Options{}, optFns)}
}

// Options returns a copy of the Uploader's options (defaults unresolved).
func (u *Uploader) Options() Options { return u.options }

// Upload uploads in.Body to in.Bucket/in.Key. optFns change a copy of the
// Uploader's options for this call only. On failure it returns an
// *UploadError; a multipart upload that was created has then been aborted
// unless Options.LeavePartsOnError is set or the abort failed (see
// UploadError.Aborted).
func (u *Uploader) Upload(ctx context.Context, in *UploadInput, optFns ...func(*Options)) (*UploadOutput, error) {
	return u.upload(ctx, in, event.Completed{}, optFns)
}

// upload is Upload, whose Completed event adds to its own tally the tally
// of the events the caller sent before it (a Resume that discarded an
// upload before sending a small file in one request).
func (u *Uploader) upload(ctx context.Context, in *UploadInput, before event.Completed, optFns []func(*Options)) (*UploadOutput, error) {
	if in == nil {
		return nil, validateError("", "", invalidf("nil input"))
	}
	invalid := func(err error) (*UploadOutput, error) { return nil, validateError(in.Bucket, in.Key, err) }
	o, err := u.begin(ctx, nil, optFns)
	if err != nil {
		return invalid(err)
	}
	vin, cs, err := beginInput(o, in)
	if err != nil {
		return invalid(err)
	}
	up := newUpload(u.client, o, vin, cs)
	up.tallied = before
	return up.run(ctx)
}

// begin is the setup every call shares: it applies optFns to a copy of
// the Uploader's options, checks the context and the client (clientErr is
// the caller's verdict on it) and resolves the options. Every error wraps
// mpu.ErrInvalidInput.
func (u *Uploader) begin(ctx context.Context, clientErr error, optFns []func(*Options)) (Options, error) {
	o := optfn.With(u.options, optFns)
	switch {
	case ctx == nil:
		return o, invalidf("nil context")
	case clientErr != nil:
		return o, clientErr
	case isNil(u.client):
		return o, invalidf("nil client")
	}
	return o.resolve()
}

// isNil reports whether client is nil or holds a nil pointer (a nil
// *s3.Client, say), whose first request would panic.
func isNil(client API) bool {
	if client == nil {
		return true
	}
	v := reflect.ValueOf(client)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// beginAs is begin for a call (named op) that needs the calls of C, named
// by calls: the client is checked with clientAs.
func beginAs[C API](ctx context.Context, u *Uploader, op, calls string, optFns []func(*Options)) (C, Options, error) {
	c, clientErr := clientAs[C](u.client, op, calls)
	o, err := u.begin(ctx, clientErr, optFns)
	return c, o, err
}

// beginInput validates the input of Upload and Resume, fills in the SSE-C
// key MD5 and sets up the checksum: the input's algorithm and type when it
// names an algorithm, else the options' (with the input's type if given).
func beginInput(o Options, in *UploadInput) (*UploadInput, *checksum, error) {
	if err := in.validate(); err != nil {
		return nil, nil, err
	}
	in = in.withKeyMD5()
	algo, typ := o.ChecksumAlgorithm, o.ChecksumType
	if in.ChecksumAlgorithm != "" {
		algo, typ = in.ChecksumAlgorithm, in.ChecksumType
	} else if in.ChecksumType != "" {
		typ = in.ChecksumType
	}
	cs, err := checksumFor(algo, typ)
	if err != nil {
		return nil, nil, err
	}
	return in, cs, nil
}

// newUpload returns the state of one Upload, Resume or Copy call.
func newUpload(client API, o Options, in *UploadInput, cs *checksum) *upload {
	up := &upload{client: client, o: o, in: in, cs: cs, limiter: newLimiter(o.RateLimit), size: SizeUnknown}
	sdkAttempts := func(*s3.Options) {}
	if o.ClientMaxAttempts >= 0 {
		n := max(o.ClientMaxAttempts, 1)
		sdkAttempts = func(so *s3.Options) { so.RetryMaxAttempts = n }
	}
	up.ctlOpts = []func(*s3.Options){sdkAttempts}
	up.dataOpts = []func(*s3.Options){sdkAttempts, noContinueHeader, s3.WithAPIOptions(addPayloadHashMiddleware)}
	return up
}

// noContinueHeader keeps the SDK from sending "Expect: 100-continue" with
// the bodies of UploadPart and PutObject (it does above 2 MB by default):
// the request then waits a round trip for the server's go-ahead before its
// body leaves, which on a link with latency costs every part a round trip
// (and, with the transport's ExpectContinueTimeout, up to a second on a
// server that does not answer it). What it would save, a body sent to a
// server that refuses the request, preflight checks before any part, and
// a part sent anyway costs its bytes once. It applies to the options of
// each call only, never to the caller's client.
func noContinueHeader(o *s3.Options) { o.ContinueHeaderThresholdBytes = -1 }

// upload is the state of one call to Upload.
type upload struct {
	client  API
	o       Options
	in      *UploadInput
	cs      *checksum
	em      *emitter
	tallied event.Completed // the tally em starts from (see Uploader.upload)
	limiter *rate.Limiter
	sent    atomic.Int64
	// progress counts the bytes of the parts handed to the transport, each
	// byte once (sent counts them only with a listener).
	progress atomic.Int64

	ctlOpts, dataOpts []func(*s3.Options)

	parent    context.Context // the caller's context, for the abort
	uploadID  string
	partSize  int64
	size      int64 // SizeUnknown until known
	parts     []*partRecord
	completed bool // CompleteMultipartUpload succeeded: nothing to abort
	pool      *bufferPool
	stamp     *fileStamp // a file body's size and mtime at the start, checked before Complete
	clamped   bool       // MaxBufferMemory lowered o.Concurrency for a stream
	bufMem    int64      // MaxBufferMemory, for a stream; 0 for a body read in place

	createAttempts int // CreateMultipartUpload attempts made
	// onCreate, when set, is told when each CreateMultipartUpload attempt
	// starts (ended false; an error stops the attempt) and when one that
	// failed ends (ended true).
	onCreate func(t time.Time, ended bool) error

	hedgeOnce sync.Once
	hedge     *hedger // nil when hedging is off; see hedges
	// slots holds the parts in flight, at the adaptive concurrency's
	// level or at a fixed Concurrency; nil when g's limit does (a fixed
	// Concurrency without hedging, and Resume and shards).
	slots    *partSlots
	adapting bool // the adaptive concurrency's controller runs
	// maxLevel bounds the adaptive concurrency of a stream: the parts in
	// flight whose buffers, with the one being filled, fit in
	// MaxBufferMemory (and at most MaxConcurrency); 0 for a body
	// read in place.
	maxLevel int
}

// partError carries the operation and part of a worker's failure.
type partError struct {
	op  mpu.Op
	n   int32
	err error
}

func (e *partError) Error() string { return e.err.Error() }
func (e *partError) Unwrap() error { return e.err }

// attach ties the upload to the caller's ctx: its abort runs on a context
// derived from ctx, and its events go to Options.Listener, a listener's
// panic cancelling the returned context. The caller defers cancel(nil).
func (up *upload) attach(ctx context.Context) (context.Context, context.CancelCauseFunc) {
	up.parent = ctx
	ctx, cancel := context.WithCancelCause(ctx)
	up.em = &emitter{l: up.o.Listener, onPanic: cancel, tally: up.tallied}
	return ctx, cancel
}

func (up *upload) run(ctx context.Context) (*UploadOutput, error) {
	ctx, cancel := up.attach(ctx)
	defer cancel(nil)

	in := up.in
	up.stamp = stampOf(in.Body)
	if ra, off, avail, ok := readerAtBody(in.Body); ok {
		if in.Size > 0 && in.Size != avail {
			return nil, up.fail(mpu.OpValidate, 0, invalidf("Size is %d but the body holds %d bytes", in.Size, avail))
		}
		return up.runReaderAt(ctx, ra, off, avail)
	}
	return up.runStream(ctx)
}

func (up *upload) runReaderAt(ctx context.Context, ra io.ReaderAt, off, size int64) (*UploadOutput, error) {
	up.size = size
	if size <= up.o.PartSize {
		if err := up.preflight(ctx, false); err != nil {
			return nil, err
		}
		return up.putSingle(ctx, size, sectionOpener(ra, off, size), nil)
	}
	ps, err := partSizeFor(size, up.o.PartSize)
	if err != nil {
		return nil, up.fail(mpu.OpValidate, 0, err)
	}
	if err := up.preflight(ctx, true); err != nil {
		return nil, err
	}
	up.partSize = ps
	up.parts = planParts(off, size, ps)
	return up.multipart(ctx, func(gctx context.Context, g *errgroup.Group) error {
		for _, rec := range up.parts {
			if gctx.Err() != nil {
				return nil
			}
			// Slots are taken here, in the parts' order; g's limit leaves
			// room for the hedged parts that gave theirs back.
			free, err := up.slots.take(gctx)
			if err != nil {
				return nil // a sibling failed, or the caller canceled: multipart tells
			}
			g.Go(func() error {
				if free != nil {
					defer free()
				}
				if gctx.Err() != nil {
					return nil // a sibling failed while this part waited for a slot
				}
				// The checksum is computed as the part is sent: the file is
				// read once.
				return up.sendHeld(gctx, rec, sectionOpener(ra, rec.Offset, rec.Size), free)
			})
		}
		return nil
	})
}

func (up *upload) runStream(ctx context.Context) (*UploadOutput, error) {
	in, o := up.in, &up.o
	known := in.Size > 0
	partSize, err := up.streamSizing(known)
	if err != nil {
		return nil, err
	}
	// Deferred first, run last: after the part goroutines (multipart waits
	// for them), the deferred put of a single part's buffer, and the stop
	// of the reader goroutine (which gives back a buffer it still holds
	// when its Read returns, possibly after Upload returned).
	defer up.pool.release()
	br := newBodyReader(in.Body, up.pool)
	defer br.stop()

	if known && in.Size <= o.PartSize {
		buf := make([]byte, in.Size)
		n, more, _, err := br.fill(ctx, buf, false)
		if err != nil {
			return nil, up.failErr(streamReadErr(0, err))
		}
		if int64(n) != in.Size || more {
			return nil, up.fail(mpu.OpReadBody, 0, sizeMismatch(in.Size, br.read(), more))
		}
		up.size = in.Size
		if err := up.preflight(ctx, false); err != nil {
			return nil, err
		}
		return up.putSingle(ctx, in.Size, bytesOpener(buf), nil)
	}

	// For an unknown size, read the first part before starting anything:
	// a body that fits in one part is sent with PutObject.
	var first []byte
	var firstN int
	var firstMore bool
	if !known {
		buf, err := up.pool.get(ctx, partSize)
		if err != nil {
			return nil, up.failErr(err)
		}
		n, more, abandoned, err := br.fill(ctx, buf, true)
		if err != nil {
			if !abandoned {
				up.pool.put(buf)
			}
			return nil, up.failErr(streamReadErr(1, err))
		}
		if !more {
			defer up.pool.put(buf)
			data := buf[:n]
			up.size = int64(n)
			if err := up.preflight(ctx, false); err != nil {
				return nil, err
			}
			return up.putSingle(ctx, int64(n), bytesOpener(data), nil)
		}
		first, firstN, firstMore = buf, n, more
	}
	if err := up.preflight(ctx, true); err != nil {
		if first != nil {
			up.pool.put(first)
		}
		return nil, err
	}

	return up.multipart(ctx, func(gctx context.Context, g *errgroup.Group) error {
		return up.produceStream(gctx, ctx, g, br, partSize, streamFirst{buf: first, n: firstN, more: firstMore})
	})
}

// streamSizing sets the part size of a stream (grown to fit a known Size
// in mpu.MaxParts parts) and its buffer pool: Concurrency+1 part buffers,
// or as many as MaxBufferMemory holds, one of which is being filled while
// the others are sent; Concurrency is clamped to the buffers. It returns
// the part size, or the error to fail with.
func (up *upload) streamSizing(known bool) (int64, error) {
	in, o := up.in, &up.o
	partSize := o.PartSize
	if known && in.Size > o.PartSize {
		ps, err := partSizeFor(in.Size, o.PartSize)
		if err != nil {
			return 0, up.fail(mpu.OpValidate, 0, err)
		}
		if ps > o.MaxBufferMemory {
			return 0, up.fail(mpu.OpValidate, 0, invalidf("a body of %d bytes needs parts of %d bytes, more than MaxBufferMemory (%d bytes) holds", in.Size, ps, o.MaxBufferMemory))
		}
		partSize, up.size = ps, in.Size
	}
	up.partSize = partSize
	// (Concurrency+1 is not computed when MaxBufferMemory holds fewer:
	// it overflows for a Concurrency of math.MaxInt.)
	fit := o.MaxBufferMemory / partSize
	bufs := fit
	if int64(o.Concurrency) < fit {
		bufs = int64(o.Concurrency) + 1
	} else {
		o.Concurrency, up.clamped = int(max(fit-1, 1)), true
	}
	if o.adaptive {
		// The adaptive concurrency may raise the parts in flight as far as
		// their buffers fit; at most level+1 are made (the producer waits
		// for a part's slot before it fills the next buffer).
		up.maxLevel = int(max(min(int64(o.MaxConcurrency), fit-1), int64(o.Concurrency)))
		bufs = min(int64(up.maxLevel)+1, fit)
	}
	up.bufMem = o.MaxBufferMemory
	up.pool = newBufferPool(int(bufs), o.MaxBufferMemory)
	return partSize, nil
}

// streamFirst is a stream's first part when it was read before the
// upload started (a body of unknown size), else empty.
type streamFirst struct {
	buf  []byte
	n    int
	more bool
}

// streamReadErr is the part error of a failed read of the body.
func streamReadErr(n int32, err error) error {
	return &partError{op: mpu.OpReadBody, n: n, err: fmt.Errorf("read body: %w", err)}
}

// produceStream reads a stream's parts one after the other into pooled
// buffers and hands each to g to send; each buffer goes back to the pool
// when its part is sent. parent is the upload's context: when it ends
// while a read is pending, the upload fails as waiting for the body, not
// as a sibling's failure.
func (up *upload) produceStream(gctx, parent context.Context, g *errgroup.Group, br *bodyReader, partSize int64, first streamFirst) error {
	in := up.in
	known := in.Size > 0
	var offset int64
	for number := int32(1); ; number++ {
		size := streamPartSize(partSize, number)
		if known {
			size = min(partSize, in.Size-offset)
		}
		var (
			buf  []byte
			n    int
			more bool
		)
		if first.buf != nil {
			buf, n, more = first.buf, first.n, first.more
			first = streamFirst{}
		} else {
			if number > mpu.MaxParts {
				return &partError{op: mpu.OpReadBody, n: number, err: invalidf(
					"the body is larger than %d parts can hold (%d bytes read so far); give its size or a larger PartSize", mpu.MaxParts, offset)}
			}
			var err error
			if buf, err = up.pool.get(gctx, size); err != nil {
				if gctx.Err() != nil {
					return nil
				}
				return &partError{op: mpu.OpReadBody, n: number, err: err}
			}
			var abandoned bool
			if n, more, abandoned, err = br.fill(gctx, buf, true); err != nil {
				if !abandoned {
					up.pool.put(buf)
				}
				if gctx.Err() != nil && parent.Err() == nil {
					return nil // a sibling failed: its error is the one to report
				}
				return streamReadErr(number, err)
			}
		}
		offset += int64(n)
		last := !more
		if known {
			if int64(n) < size || offset == in.Size && more {
				up.pool.put(buf)
				return &partError{op: mpu.OpReadBody, n: number, err: sizeMismatch(in.Size, br.read(), more)}
			}
			last = offset == in.Size
		}
		if n == 0 {
			// An empty part can only follow a body that ended exactly
			// at a part boundary; fill reports that as the end already.
			up.pool.put(buf)
			return nil
		}
		rec := &partRecord{Number: number, Offset: offset - int64(n), Size: int64(n)}
		up.parts = append(up.parts, rec)
		if gctx.Err() != nil {
			up.pool.put(buf)
			return nil
		}
		data := buf[:n]
		// The slots bound the parts in flight here, before the next buffer
		// is filled: at most level+1 buffers are out, and the pool's count
		// bounds those of hedged parts that gave their slot back.
		free, err := up.slots.take(gctx)
		if err != nil {
			up.pool.put(buf)
			return nil // a sibling failed, or the caller canceled: multipart tells
		}
		g.Go(func() error {
			// The buffer goes back once both requests of a hedged part
			// have ended: send returns only then.
			defer up.pool.put(buf)
			if free != nil {
				defer free()
			}
			if gctx.Err() != nil {
				return nil // a sibling failed while this part waited for a slot
			}
			return up.sendHeld(gctx, rec, bytesOpener(data), free)
		})
		if last {
			return nil
		}
	}
}

func sizeMismatch(want, read int64, more bool) error {
	if more {
		return invalidf("the body holds more than the %d bytes Size declares", want)
	}
	return invalidf("the body ended after %d bytes, Size declares %d", read, want)
}

// preflight runs the permission check of Upload, if any.
func (up *upload) preflight(ctx context.Context, multipart bool) error {
	if up.o.PreflightMode == PreflightOff {
		return nil
	}
	steps := []mpu.Step{mpu.Initiate}
	if multipart {
		steps = append(steps, mpu.UploadPart, mpu.Complete)
		if !up.o.LeavePartsOnError {
			steps = append(steps, mpu.Abort)
		}
	}
	return up.checkSteps(ctx, steps)
}

// checkSteps asks Options.Preflight about steps, for the object up.in
// describes. In PreflightWarn mode a failed check is reported in a
// Preflight event and nil is returned; in PreflightEnforce mode it fails
// the upload with Op mpu.OpPreflight.
func (up *upload) checkSteps(ctx context.Context, steps []mpu.Step) error {
	cin := up.in.createInput(up.cs)
	cin.SSECustomerKey = nil // the checker needs the headers, not the secret
	if err := gate(ctx, up.o.PreflightMode, up.em, func() error { return up.o.Preflight.CheckUpload(ctx, cin, steps) }); err != nil {
		return up.fail(mpu.OpPreflight, 0, err)
	}
	return nil
}

// putSingle sends the whole body with one PutObject. sum is the body's
// checksum when known in advance; nil computes it as the body is sent.
func (up *upload) putSingle(ctx context.Context, size int64, open func() io.ReadSeeker, sum *partSum) (*UploadOutput, error) {
	rec := &partRecord{Size: size}
	if sum != nil {
		rec.sum = *sum
	}
	if err := up.em.emit(event.Started{Bucket: up.in.Bucket, Key: up.in.Key, Size: size, Parts: 1, Concurrency: 1, BufferMemory: up.bufMem}); err != nil {
		return nil, up.fail(mpu.OpListener, 0, err)
	}
	pin := up.in.putInput(up.cs, size, rec.sum)
	var out *s3.PutObjectOutput
	_, err := up.retryData(ctx, mpu.OpPutObject, 0, up.o.MaxAttempts, func(ctx context.Context, _ int) error {
		o, s, err := sendBody(ctx, up, rec, open, pin, func(in *s3.PutObjectInput, b io.Reader) { in.Body = b },
			up.client.PutObject, func(o *s3.PutObjectOutput) middleware.Metadata { return o.ResultMetadata })
		if err != nil {
			return err
		}
		out, rec.sum, rec.Checksum = o, s, s.String()
		return nil
	})
	if err != nil {
		return nil, up.fail(dataOp(mpu.OpPutObject, err), 0, err)
	}
	up.completed = true
	got := checksumFields{&out.ChecksumCRC32, &out.ChecksumCRC32C, &out.ChecksumCRC64NVME, &out.ChecksumSHA1, &out.ChecksumSHA256}.get(up.cs.algo)
	if got != "" && got != rec.Checksum {
		return nil, up.fail(mpu.OpPutObject, 0, fmt.Errorf("%w: the server reports %s %s for the object, computed locally %s; the object was stored",
			mpu.ErrChecksumMismatch, up.cs.algo, got, rec.Checksum))
	}
	res := &UploadOutput{
		Bucket: up.in.Bucket, Key: up.in.Key, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId),
		ChecksumAlgorithm: up.cs.algo, ChecksumType: types.ChecksumTypeFullObject, Checksum: rec.Checksum, Size: size,
	}
	return up.finish(res)
}

// multipart creates the upload, runs produce (which starts the part
// uploads in g), completes the upload, and aborts it on any failure.
func (up *upload) multipart(ctx context.Context, produce func(gctx context.Context, g *errgroup.Group) error) (*UploadOutput, error) {
	if err := up.create(ctx, up.in.createInput(up.cs)); err != nil {
		return nil, up.fail(mpu.OpCreateMultipartUpload, 0, err)
	}
	parts := -1
	if up.size >= 0 {
		parts = len(up.parts)
		if parts == 0 {
			parts = int((up.size + up.partSize - 1) / up.partSize)
		}
	}
	if err := up.em.emit(event.Started{
		Bucket: up.in.Bucket, Key: up.in.Key, UploadID: up.uploadID, Size: up.size, PartSize: up.partSize, Parts: parts,
		Concurrency: up.o.Concurrency, ConcurrencyClamped: up.clamped, BufferMemory: up.bufMem,
	}); err != nil {
		return nil, up.fail(mpu.OpListener, 0, err)
	}

	pctx, pcancel := context.WithCancelCause(ctx)
	defer pcancel(nil)
	g, gctx := errgroup.WithContext(pctx)
	stopParts := up.startParts(gctx, g)
	perr := produce(gctx, g)
	if perr != nil {
		pcancel(perr)
	}
	werr := g.Wait()
	stopParts()
	if perr != nil {
		return nil, up.failErr(perr)
	}
	if werr != nil {
		return nil, up.failErr(werr)
	}
	if err := ctx.Err(); err != nil {
		return nil, up.fail(mpu.OpUploadPart, 0, context.Cause(ctx))
	}
	if err := up.stamp.check(); err != nil {
		return nil, up.fail(mpu.OpReadBody, 0, err)
	}
	out, err := up.complete(ctx)
	if err != nil {
		return nil, up.fail(mpu.OpCompleteMultipartUpload, 0, err)
	}
	return up.finish(out)
}

func (up *upload) finish(out *UploadOutput) (*UploadOutput, error) {
	done := event.Completed{
		Bucket: out.Bucket, Key: out.Key, UploadID: out.UploadID,
		ETag: out.ETag, VersionID: out.VersionID,
		Size: out.Size, Parts: len(out.Parts), Checksum: out.Checksum,
	}
	if err := up.em.emit(done); err != nil {
		return nil, up.fail(mpu.OpListener, 0, fmt.Errorf("%w (the object was stored)", err))
	}
	return out, nil
}

// sendBody makes one attempt of the request in, whose body is read from
// open: a copy of in gets the body through setBody and goes out with send.
// It returns the answer and the part's checksum (see partBody.sum), which
// needs the answer's metadata (meta).
func sendBody[I, O any](ctx context.Context, up *upload, rec *partRecord, open func() io.ReadSeeker, in *I, setBody func(*I, io.Reader),
	send func(context.Context, *I, ...func(*s3.Options)) (*O, error), meta func(*O) middleware.Metadata) (*O, partSum, error) {
	body := up.newBody(ctx, rec, open)
	c := *in
	setBody(&c, body)
	out, err := send(ctx, &c, up.dataOpts...)
	body.detach()
	if err != nil {
		return nil, partSum{}, bodyErr(body, err)
	}
	sum, err := body.sum(meta(out))
	return out, sum, err
}

// dataOp is the Op of a failed request that sent a body: op, or
// mpu.OpReadBody when the source changed under it.
func dataOp(op mpu.Op, err error) mpu.Op {
	if errors.Is(err, mpu.ErrSourceChanged) {
		return mpu.OpReadBody
	}
	return op
}

// bodyErr is the error of a failed request: mpu.ErrSourceChanged when the
// body ended early (whatever the transport made of it), else err.
func bodyErr(body *partBody, err error) error {
	body.mu.Lock()
	short := body.short
	body.mu.Unlock()
	if short && !errors.Is(err, mpu.ErrSourceChanged) {
		return fmt.Errorf("%w: the body ended early (%w)", mpu.ErrSourceChanged, err)
	}
	return err
}

// sendPart uploads one part, with retries, hedged when it falls behind
// (see HedgeOptions). When rec.sum is not known in advance it is computed
// as the part is sent.
func (up *upload) sendPart(ctx context.Context, rec *partRecord, open func() io.ReadSeeker) error {
	free, err := up.slots.take(ctx)
	if err != nil {
		return nil // a sibling failed, or the caller canceled: multipart tells
	}
	if free != nil {
		defer free()
	}
	return up.sendHeld(ctx, rec, open, free)
}

// sendHeld is sendPart for a part that holds its slot already, if any:
// free gives it back (nil when the part holds none of up.slots), which a
// hedged part may do before it returns (see hedger.send).
func (up *upload) sendHeld(ctx context.Context, rec *partRecord, open func() io.ReadSeeker, free func()) error {
	if h := up.hedges(); h != nil {
		return h.send(ctx, rec, open, free)
	}
	res, err := up.storePart(ctx, rec, open, up.o.MaxAttempts)
	if err != nil {
		rec.Attempts = res.attempts
		return err
	}
	return up.partStored(rec, res)
}

// storePart uploads one part in up to attempts attempts, reading it
// through bodies that report their progress on rec, and returns what the
// server stored. rec itself is not changed.
func (up *upload) storePart(ctx context.Context, rec *partRecord, open func() io.ReadSeeker, attempts int) (storedPart, error) {
	growStack()
	var res storedPart
	pin := up.in.partInput(up.cs, up.uploadID, rec.Number, rec.Size, rec.sum)
	n, err := up.retryData(ctx, mpu.OpUploadPart, rec.Number, attempts, func(ctx context.Context, _ int) error {
		out, sum, err := sendBody(ctx, up, rec, open, pin, func(in *s3.UploadPartInput, b io.Reader) { in.Body = b },
			up.client.UploadPart, func(o *s3.UploadPartOutput) middleware.Metadata { return o.ResultMetadata })
		if err != nil {
			return err
		}
		got := checksumFields{&out.ChecksumCRC32, &out.ChecksumCRC32C, &out.ChecksumCRC64NVME, &out.ChecksumSHA1, &out.ChecksumSHA256}.get(up.cs.algo)
		if got != "" && got != sum.String() {
			return fmt.Errorf("%w: the server reports %s %s for part %d, computed locally %s",
				mpu.ErrChecksumMismatch, up.cs.algo, got, rec.Number, sum.String())
		}
		res.sum, res.etag = sum, aws.ToString(out.ETag)
		return nil
	})
	res.attempts = n
	if err != nil {
		return res, &partError{op: dataOp(mpu.OpUploadPart, err), n: rec.Number, err: err}
	}
	return res, nil
}

// requestStack is the stack size given to a part's goroutine before its
// request: with it, a request through the SDK's middleware to the
// transport seldom grows the stack again (measured with perf: stack
// copies fell to about what manager's long-lived workers make).
const requestStack = 64 << 10

// growStack grows the calling goroutine's stack to requestStack in one
// step, while the stack is still shallow. Each part runs in a goroutine of
// its own, which starts with a small stack: left to itself the stack
// would double three or four times during the request, each time copying
// the frames of the SDK's middleware and adjusting their pointers, which
// costs about 0.1 ms per part (on a fast network, about 0.5% of the
// client's CPU). A goroutine whose stack is already large only clears the
// frame.
//
//go:noinline
func growStack() {
	var frame [requestStack - 16<<10]byte
	touchStack(&frame)
}

//go:noinline
func touchStack(frame *[requestStack - 16<<10]byte) { frame[0] = 1 }

// partStored records a stored part and reports it.
func (up *upload) partStored(rec *partRecord, res storedPart) error {
	rec.sum, rec.Checksum, rec.ETag, rec.Attempts = res.sum, res.sum.String(), res.etag, res.attempts
	if err := up.em.emit(event.PartDone{PartNumber: rec.Number, Size: rec.Size, ETag: rec.ETag, Checksum: rec.Checksum, Attempts: res.attempts}); err != nil {
		return &partError{op: mpu.OpListener, err: err}
	}
	return nil
}

// complete completes the upload and checks the object's checksum.
func (up *upload) complete(ctx context.Context) (*UploadOutput, error) {
	sums := make([]partSum, len(up.parts))
	sizes := make([]int64, len(up.parts))
	cparts := make([]types.CompletedPart, len(up.parts))
	var total int64
	for i, p := range up.parts {
		sums[i], sizes[i] = p.sum, p.Size
		total += p.Size
		cparts[i] = types.CompletedPart{ETag: aws.String(p.ETag), PartNumber: aws.Int32(p.Number)}
		checksumFields{&cparts[i].ChecksumCRC32, &cparts[i].ChecksumCRC32C, &cparts[i].ChecksumCRC64NVME,
			&cparts[i].ChecksumSHA1, &cparts[i].ChecksumSHA256}.set(up.cs.algo, p.Checksum)
	}
	if up.size >= 0 && total != up.size {
		return nil, invalidf("the parts hold %d bytes, the body was to have %d", total, up.size)
	}
	expected := up.cs.object(sums, sizes)
	in := up.in
	cin := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), UploadId: aws.String(up.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cparts},
		ChecksumType:    up.cs.typ, MpuObjectSize: aws.Int64(total),
		ExpectedBucketOwner: optString(in.ExpectedBucketOwner), IfNoneMatch: optString(in.IfNoneMatch),
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5: optString(in.SSECustomerKeyMD5),
	}
	if up.cs.typ == types.ChecksumTypeFullObject {
		checksumFields{&cin.ChecksumCRC32, &cin.ChecksumCRC32C, &cin.ChecksumCRC64NVME, &cin.ChecksumSHA1, &cin.ChecksumSHA256}.set(up.cs.algo, expected)
	}
	var out *s3.CompleteMultipartUploadOutput
	_, err := up.retry(ctx, mpu.OpCompleteMultipartUpload, 0, up.o.MaxAttempts, func(ctx context.Context, attempt int) error {
		o, err := up.client.CompleteMultipartUpload(ctx, cin, up.ctlOpts...)
		if err == nil {
			out = o
			return nil
		}
		if attempt > 1 && s3err.Code(err) == "NoSuchUpload" {
			// An earlier attempt may have completed the upload and lost
			// its answer: the object tells.
			head, herr := up.verifyStored(ctx, total, expected)
			if herr != nil {
				return fmt.Errorf("%w; and the object does not show an earlier attempt completed it: %w", err, herr)
			}
			out = head
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	up.completed = true
	got := checksumFields{&out.ChecksumCRC32, &out.ChecksumCRC32C, &out.ChecksumCRC64NVME, &out.ChecksumSHA1, &out.ChecksumSHA256}.get(up.cs.algo)
	if got != "" && !sameChecksum(got, expected, len(up.parts)) {
		return nil, fmt.Errorf("%w: the server reports %s %s (%s) for the object, computed locally %s; the object was stored",
			mpu.ErrChecksumMismatch, up.cs.algo, got, up.cs.typ, expected)
	}
	parts := make([]Part, len(up.parts))
	for i, p := range up.parts {
		parts[i] = Part{PartNumber: p.Number, Size: p.Size, ETag: p.ETag, Checksum: p.Checksum}
	}
	return &UploadOutput{
		Bucket: in.Bucket, Key: in.Key, Location: aws.ToString(out.Location), ETag: aws.ToString(out.ETag),
		VersionID: aws.ToString(out.VersionId), UploadID: up.uploadID, ChecksumAlgorithm: up.cs.algo,
		ChecksumType: up.cs.typ, Checksum: expected, Size: total, PartSize: up.partSize, Parts: parts,
	}, nil
}

// sameChecksum compares checksums, allowing a composite one reported
// without its "-N" suffix.
func sameChecksum(got, want string, parts int) bool {
	if got == want {
		return true
	}
	if i := strings.LastIndexByte(want, '-'); i >= 0 && !strings.Contains(got, "-") {
		return got == want[:i] && want[i+1:] == fmt.Sprint(parts)
	}
	return false
}

// verifyStored checks with HeadObject that the object has the size and
// checksum of this upload, and returns it as a Complete answer.
func (up *upload) verifyStored(ctx context.Context, size int64, checksum string) (*s3.CompleteMultipartUploadOutput, error) {
	head, err := up.client.HeadObject(ctx, up.in.headInput(), up.ctlOpts...)
	if err != nil {
		return nil, fmt.Errorf("HeadObject: %w", err)
	}
	if got := aws.ToInt64(head.ContentLength); got != size {
		return nil, fmt.Errorf("the object has %d bytes, this upload %d", got, size)
	}
	got := checksumFields{&head.ChecksumCRC32, &head.ChecksumCRC32C, &head.ChecksumCRC64NVME, &head.ChecksumSHA1, &head.ChecksumSHA256}.get(up.cs.algo)
	if got == "" {
		return nil, fmt.Errorf("the object has no %s checksum to compare", up.cs.algo)
	}
	if !sameChecksum(got, checksum, len(up.parts)) {
		return nil, fmt.Errorf("the object's %s is %s, this upload's %s", up.cs.algo, got, checksum)
	}
	out := &s3.CompleteMultipartUploadOutput{
		Bucket: aws.String(up.in.Bucket), Key: aws.String(up.in.Key), ETag: head.ETag, VersionId: head.VersionId,
		ChecksumType: head.ChecksumType,
	}
	checksumFields{&out.ChecksumCRC32, &out.ChecksumCRC32C, &out.ChecksumCRC64NVME, &out.ChecksumSHA1, &out.ChecksumSHA256}.set(up.cs.algo, got)
	return out, nil
}

// failErr is fail for an error that may carry its operation and part.
func (up *upload) failErr(err error) *UploadError {
	var pe *partError
	if errors.As(err, &pe) {
		return up.fail(pe.op, pe.n, pe.err)
	}
	return up.fail(mpu.OpUploadPart, 0, err)
}

// fail builds the UploadError for cause, aborting the multipart upload
// first when one exists, and reports it to the listener.
func (up *upload) fail(op mpu.Op, part int32, cause error) *UploadError {
	if perr := up.em.panicErr(); perr != nil {
		op, part, cause = mpu.OpListener, 0, perr
	}
	e := &UploadError{
		Op: op, Bucket: up.in.Bucket, Key: up.in.Key, UploadID: up.uploadID, PartNumber: part,
		Err: s3err.Mark(cause),
	}
	if up.uploadID != "" && !up.completed && !up.o.LeavePartsOnError {
		e.Aborted, e.AbortErr = up.abort()
	}
	if op != mpu.OpValidate {
		_ = up.em.emit(event.Failed{Err: e})
	}
	return e
}

// abort aborts the multipart upload on a context that the caller's
// cancellation does not end, with its own timeout and retries, and checks
// that it is gone (see abortID). An upload already gone (NoSuchUpload)
// counts as aborted: no parts remain.
func (up *upload) abort() (bool, error) {
	res, err := up.abortID(up.uploadID)
	_ = up.em.emit(event.Aborted{UploadID: up.uploadID, Attempts: res.attempts, Err: err, Verified: res.verified, VerifyErr: res.verifyErr})
	return err == nil, err
}

// abortVerifyRounds bounds the AbortMultipartUpload requests (each with
// its own retries) abortID makes for one upload that ListParts still shows
// after an abort.
const abortVerifyRounds = 3

// partLister is FullAPI's ListParts call, which abortID uses when
// the client has it to check that an aborted upload is gone.
type partLister interface {
	ListParts(ctx context.Context, in *s3.ListPartsInput, optFns ...func(*s3.Options)) (*s3.ListPartsOutput, error)
}

// abortResult is what abortID did besides its error.
type abortResult struct {
	attempts  int   // AbortMultipartUpload requests, over every round
	verified  bool  // ListParts answered NoSuchUpload after the last abort
	verifyErr error // why it is not verified; nil when verified or not checked
}

// abortID aborts the multipart upload id of the key as abort does; it
// sends no Aborted event.
//
// Parts whose upload is still in progress while the abort runs may or may
// not be stored, so an upload may have to be aborted more than once, and
// ListParts after the abort should find nothing
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html):
// a part request canceled on our side may still be running on the
// server, store its part after the abort and bring the upload back. So
// when the client implements ListParts, each successful abort is followed
// by ListParts of the upload: NoSuchUpload (or another not-found answer)
// means it is gone; an answer means it is still there, and it is aborted
// again after a short wait from the injected clock, for at most
// abortVerifyRounds aborts, after which the abort fails. A ListParts that
// is denied or fails otherwise leaves the abort successful, unverified,
// with the reason in verifyErr. Everything runs on one context that the
// caller's cancellation does not end, bounded by Options.AbortTimeout.
func (up *upload) abortID(id string) (abortResult, error) {
	var res abortResult
	ctx, cancel := context.WithTimeout(context.WithoutCancel(up.parent), up.o.AbortTimeout)
	defer cancel()
	in := &s3.AbortMultipartUploadInput{
		Bucket: aws.String(up.in.Bucket), Key: aws.String(up.in.Key), UploadId: aws.String(id),
		ExpectedBucketOwner: optString(up.in.ExpectedBucketOwner),
	}
	lister, canList := up.client.(partLister)
	for round := 1; ; round++ {
		n, err := up.retry(ctx, mpu.OpAbortMultipartUpload, 0, up.o.AbortAttempts, func(ctx context.Context, _ int) error {
			_, err := up.client.AbortMultipartUpload(ctx, in, up.ctlOpts...)
			if s3err.Code(err) == "NoSuchUpload" {
				return nil
			}
			return err
		})
		res.attempts += n
		if err != nil {
			return res, s3err.Mark(err)
		}
		if !canList {
			return res, nil
		}
		gone, err := up.uploadGone(ctx, lister, id)
		switch {
		case err != nil:
			res.verifyErr = fmt.Errorf("check that upload %s is gone: ListParts: %w", id, s3err.Mark(err))
			return res, nil
		case gone:
			res.verified = true
			return res, nil
		case round >= abortVerifyRounds:
			return res, fmt.Errorf("upload %s is still listed after %d aborts: parts were stored after each abort", id, round)
		}
		if err := up.sleep(ctx, up.o.InitialBackoff); err != nil {
			res.verifyErr = fmt.Errorf("check that upload %s is gone: %w", id, err)
			return res, nil
		}
	}
}

// uploadGone asks ListParts (with retries) whether the upload id still
// exists: NoSuchUpload or another not-found answer means it does not.
func (up *upload) uploadGone(ctx context.Context, l partLister, id string) (bool, error) {
	in := up.in.listPartsInput(id)
	in.MaxParts = aws.Int32(1)
	_, err := retryCall(ctx, up, mpu.OpListParts, func(ctx context.Context) (*s3.ListPartsOutput, error) {
		return l.ListParts(ctx, in, up.ctlOpts...)
	})
	switch {
	case err == nil:
		return false, nil
	case s3err.Code(err) == "NoSuchUpload" || s3err.Classify(err) == s3err.NotFound:
		return true, nil
	}
	return false, err
}

// listParts lists the parts of the upload numbered after..upTo (all of
// them with 0 and mpu.MaxParts), page by page, each page with retries.
func (up *upload) listParts(ctx context.Context, l partLister, after, upTo int32) ([]types.Part, error) {
	in := up.in.listPartsInput(up.uploadID)
	if after > 0 {
		in.PartNumberMarker = aws.String(strconv.Itoa(int(after)))
	}
	var parts []types.Part
	for range mpu.MaxParts + 1 { // at most 10,000 parts, at least one per page
		out, err := retryCall(ctx, up, mpu.OpListParts, func(ctx context.Context) (*s3.ListPartsOutput, error) {
			return l.ListParts(ctx, in, up.ctlOpts...)
		})
		if err != nil {
			return nil, err
		}
		parts = append(parts, out.Parts...)
		next := aws.ToString(out.NextPartNumberMarker)
		if !aws.ToBool(out.IsTruncated) || next == "" || next == aws.ToString(in.PartNumberMarker) {
			return parts, nil
		}
		if n, err := strconv.Atoi(next); err == nil && n >= int(upTo) {
			return parts, nil
		}
		in.PartNumberMarker = aws.String(next)
	}
	return nil, errors.New("ListParts kept returning pages")
}

// sleep waits d on the injected clock, or until ctx ends.
func (up *upload) sleep(ctx context.Context, d time.Duration) error {
	t := up.o.clock.NewTimer()
	defer t.Stop()
	t.Start(d)
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
