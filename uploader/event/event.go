// Package event defines what an upload reports while it runs: the events
// package uploader sends to an uploader.Options.Listener (Started,
// BytesSent, PartDone, Retry, ..., Completed, Failed, Aborted) and the
// Listener interface that receives them.
//
// Events are values, sent synchronously and never concurrently for one
// upload; a Listener turns them into a progress bar, a log line or a
// metric. Package event only declares them: it makes no requests and
// imports nothing of the uploader, so a program can handle events without
// depending on how they are produced.
package event

import (
	"time"

	"github.com/s3mpu/s3mpu/mpu"
)

// Listener receives the events of an upload. OnEvent is called
// synchronously from the goroutines doing the work (BytesSent even from the
// HTTP transport's goroutine as it reads a part), but never concurrently for
// one upload: calls are serialized, so a Listener used by one upload needs
// no locking of its own. It must be fast and must not block: the upload
// waits for it. A Listener shared by concurrent uploads must be safe for
// concurrent use.
//
// A panic in OnEvent is recovered: the upload stops, is aborted, and
// returns an error wrapping uploader.ErrListenerPanic; no further events are sent.
type Listener interface {
	OnEvent(e Event)
}

// ListenerFunc adapts a function to a Listener.
type ListenerFunc func(e Event)

// OnEvent calls f(e).
func (f ListenerFunc) OnEvent(e Event) { f(e) }

// Event is one of Started, BytesSent, PartDone, Retry, Preflight,
// OrphanCheck, Hedged, HedgeDone, ConcurrencyChanged, Completed, Failed and
// Aborted (and, for Resume, Resumed and Restarted). Use a type switch.
type Event interface{ event() }

// Started is sent once the upload has begun: after CreateMultipartUpload
// for a multipart upload, before PutObject for a single request.
type Started struct {
	Bucket, Key string
	// UploadID is the multipart upload's ID, "" for a single PutObject.
	UploadID string
	// Size is the body's size, or -1 when it is not known in advance.
	Size int64
	// PartSize is the size of the first parts.
	PartSize int64
	// Parts is the number of parts, or -1 when the size is unknown.
	Parts int
	// Concurrency is the number of parts sent at once: uploader.Options.Concurrency,
	// or fewer for a streamed body when uploader.Options.MaxBufferMemory cannot
	// hold Concurrency+1 part buffers (ConcurrencyClamped is then set).
	// 1 for a single PutObject.
	Concurrency        int
	ConcurrencyClamped bool
	// BufferMemory is the ceiling on the memory of the part buffers
	// (uploader.Options.MaxBufferMemory) for a streamed body; 0 for a body read in
	// place.
	BufferMemory int64
}

// BytesSent is sent as the HTTP transport reads a part's body: for every
// 256 KiB or so read (less with a small RateLimit) and for the rest when
// the request ends. Bytes read again by a retry are not counted twice.
type BytesSent struct {
	PartNumber int32 // 0 for a single PutObject
	Bytes      int64 // new bytes in this read
	Total      int64 // bytes of the upload sent so far
}

// PartDone is sent when a part has been stored.
type PartDone struct {
	PartNumber int32
	Size       int64
	ETag       string
	Checksum   string // base64, of the upload's algorithm
	Attempts   int
}

// Retry is sent before waiting to retry a failed request.
type Retry struct {
	Op         mpu.Op // the S3 operation, e.g. mpu.OpUploadPart
	PartNumber int32  // 0 when the request is not a part
	Attempt    int    // the attempt that failed, from 1
	Err        error
	Wait       time.Duration
}

// Preflight is sent when the preflight check reports a problem in
// PreflightWarn mode (the upload goes on).
type Preflight struct {
	Err error
}

// Completed is sent when the object has been stored. The call's return
// value (uploader.UploadOutput, CopyOutput) holds the rest: the parts,
// Location, the checksum's algorithm and type.
type Completed struct {
	Bucket, Key string
	// UploadID is the multipart upload's ID, "" for a single request.
	UploadID string
	// ETag and VersionID are as S3 reported them.
	ETag, VersionID string
	// Size is the number of bytes stored.
	Size int64
	// Parts is the number of parts (0 for a single request).
	Parts int
	// Checksum is the object's checksum, base64, as checked against the
	// one computed locally ("" when none was computed).
	Checksum string

	// The call's tally of the events before this one. Retries counts the
	// Retry events; Hedges the Hedged events and HedgedBytes their sizes;
	// HedgesWon the HedgeDone events whose hedge was stored first.
	Retries, Hedges, HedgesWon int
	HedgedBytes                int64
	// AdaptiveLevel is the parts in flight the adaptive concurrency last
	// set (the last ConcurrencyChanged), 0 when it set none: a fixed
	// Concurrency, a copy or a shard.
	AdaptiveLevel int
}

// Failed is sent when the upload fails, after any abort. Input or options
// rejected before the upload starts (mpu.OpValidate) send no events.
type Failed struct {
	// Err is the *uploader.UploadError the call returns.
	Err error
}

// Aborted is sent after the abort of a failed multipart upload, whether
// it succeeded (Err nil) or not.
//
// Parts still being sent while the abort runs may be stored after it and
// bring the upload back. So when the client implements ListParts (as
// *s3.Client does), a successful abort (or NoSuchUpload) is followed by
// ListParts of the upload: NoSuchUpload means it is gone (Verified);
// an answer means it is still there, and it is aborted again after a
// short wait (uploader.Options.InitialBackoff), up to 3 aborts in all, after which
// Err says it is still listed. A ListParts that is denied (it needs
// s3:ListMultipartUploadParts) or fails otherwise does not fail the
// abort: Err stays nil, Verified false and VerifyErr says why. A client
// without ListParts gets one abort, unverified, with VerifyErr nil.
type Aborted struct {
	UploadID string
	// Attempts is the number of AbortMultipartUpload requests made, over
	// every abort of the upload.
	Attempts int
	// Err is why the abort failed; nil when it succeeded.
	Err error
	// Verified is true when ListParts after the last abort found the
	// upload gone.
	Verified bool
	// VerifyErr is why ListParts could not check a successful abort
	// (denied, failed, out of time); nil when Verified, when the client
	// has no ListParts, or when the abort failed.
	VerifyErr error
}

// Hedged is sent when a part whose request fell behind its peers is sent
// again on a fresh request (see uploader.HedgeOptions).
type Hedged struct {
	PartNumber int32
	Size       int64
	// Elapsed is how long the part's first request had run.
	Elapsed time.Duration
	// Typical is how long its peers took for as many bytes (the median;
	// before two parts are stored, as long as the parts in flight take at
	// their rate).
	Typical time.Duration
}

// HedgeDone is sent when a hedged part is settled, before its PartDone
// (or its failure).
type HedgeDone struct {
	PartNumber int32
	// HedgeWon is true when the hedge was stored first, false when the
	// first request was (or the part failed).
	HedgeWon bool
	// LoserCanceled is true when the other request was canceled, false
	// when it had handed all its bytes over and was left to finish.
	LoserCanceled bool
	// Err is the hedge's own error when it failed; the first request then
	// decided the part.
	Err error
}

// ConcurrencyChanged is sent when the adaptive concurrency (uploader.Options.Concurrency
// 0) changes the number of parts in flight, and when it settles
// at its bound (Parts then equals Previous).
type ConcurrencyChanged struct {
	// Parts is the number of parts in flight from now on; Previous the
	// number before.
	Parts, Previous int
	// BytesPerSecond is the throughput measured at Previous parts.
	BytesPerSecond float64
	// Settled is true when the level stays at Parts for the rest of the
	// upload.
	Settled bool
}

// OrphanCheck is sent when an upload may have been left by a
// CreateMultipartUpload whose answer was lost, after looking for it:
//
//   - by Upload, Copy and Resume when CreateMultipartUpload succeeded only
//     after one or more failed attempts (errors the classifier calls
//     transient or throttling): such an attempt may have reached the server
//     and created an upload. UploadID is then the upload the call created
//     and goes on with;
//   - by Resume (and AbortResumable) when the state file shows a run
//     interrupted before CreateMultipartUpload answered. UploadID is then
//     "".
//
// The uploads of the key are listed (ListMultipartUploads with the key as
// prefix, keeping only the key itself, every page) and an upload other
// than the call's own is taken for an orphan, and aborted, only when both
// hold:
//
//   - it was initiated within the closed window [Since, Until]: from the
//     first attempt's start less 2 minutes to the last attempt's end plus 2
//     minutes (a margin for the difference between the server's clock and
//     ours). For Resume the attempts' times come from the state file, which
//     records the first attempt's start and, before and after each attempt,
//     the latest time one was in progress: an old state file cannot reach
//     uploads started after it (a recorded time later than now plus the
//     margin, which no run wrote by this clock, is ignored: the window
//     then rests on the first attempt's start);
//   - its initiator is the caller (Initiator): the initiator of the upload
//     the call created, as listed, else uploader.Options.CallerID. When the server
//     reports no initiators (NoInitiators, as versitygw), the window alone
//     decides. When it reports them and the caller's identity is unknown
//     (Resume without uploader.Options.CallerID), nothing is aborted and Err
//     matches uploader.ErrUnknownCaller.
//
// Uploads in the window with another initiator are listed in Kept and left
// alone. The event is sent once the check is over, before Started. After a
// retried CreateMultipartUpload the check never fails the upload: a client
// that cannot list, a denied or failed listing, or a failed abort is
// reported in Err, and the upload goes on. It needs
// s3:ListBucketMultipartUploads on the bucket and s3:AbortMultipartUpload
// on the object.
//
// An upload of the same key by the same principal started by another
// process within the window is indistinguishable from an orphan and is
// aborted too (that process's next part or Complete then fails with
// NoSuchUpload; it never stores a mix); so is, on a server that reports no
// initiators, an upload of the key by anyone within the window.
type OrphanCheck struct {
	Bucket, Key string
	// UploadID is the upload this call created and goes on with; "" for
	// Resume's check of an interrupted run.
	UploadID string
	// Attempts is the number of CreateMultipartUpload attempts made (0
	// for an interrupted run's, which are not recorded).
	Attempts int
	// Since and Until bound the window, by the server's clock.
	Since, Until time.Time
	// Initiator is the caller's identity the initiators were compared
	// with; "" when unknown or when the server reports none.
	Initiator string
	// NoInitiators is set when the server reported no initiator for the
	// uploads of the key: the window alone decided.
	NoInitiators bool
	// Found are the uploads taken for orphans of the failed attempts.
	Found []string
	// Aborted are those of Found that were aborted (or already gone).
	Aborted []string
	// Kept are the uploads of the key in the window that were left alone:
	// another initiator's, or any initiator's when the caller's is unknown.
	Kept []string
	// Err is why the check could not run or finish (uploader.ErrCannotListUploads,
	// uploader.ErrUnknownCaller, a listing or abort error); nil when every orphan
	// found was aborted.
	Err error
}

// Resumed is sent when Resume continues an upload named by its state file,
// after the stored parts have been checked against the local data.
type Resumed struct {
	UploadID string
	// PartsStored is the number of parts found on the server whose size
	// and checksum match the local data: they are not sent again.
	PartsStored int
	// PartsToSend is the number of parts still to upload.
	PartsToSend int
}

// Restarted is sent when Resume cannot continue the upload its state file
// names and starts a new one (or, with OldUploadID "", when it cleans up
// after an interrupted CreateMultipartUpload).
type Restarted struct {
	// OldUploadID is the upload that is not continued.
	OldUploadID string
	// Reason says why, e.g. "the upload no longer exists on the server".
	Reason string
	// Aborted reports whether this call aborted the old upload.
	Aborted bool
	// Remaining, with StartOver and a state file that cannot be read,
	// lists the uploads of the key on the server, one of which the state
	// file may have named: they are left in place (Reason says how to
	// remove them).
	Remaining []string
}

func (Started) event()            {}
func (BytesSent) event()          {}
func (PartDone) event()           {}
func (Retry) event()              {}
func (Preflight) event()          {}
func (Completed) event()          {}
func (Failed) event()             {}
func (Aborted) event()            {}
func (Hedged) event()             {}
func (HedgeDone) event()          {}
func (ConcurrencyChanged) event() {}
func (OrphanCheck) event()        {}
func (Resumed) event()            {}
func (Restarted) event()          {}
