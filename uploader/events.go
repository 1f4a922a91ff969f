package uploader

import (
	"fmt"
	"sync"
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
// returns an error wrapping ErrListenerPanic; no further events are sent.
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
	// Concurrency is the number of parts sent at once: Options.Concurrency,
	// or fewer for a streamed body when Options.MaxBufferMemory cannot
	// hold Concurrency+1 part buffers (ConcurrencyClamped is then set).
	// 1 for a single PutObject.
	Concurrency        int
	ConcurrencyClamped bool
	// BufferMemory is the ceiling on the memory of the part buffers
	// (Options.MaxBufferMemory) for a streamed body; 0 for a body read in
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

// Completed is sent when the object has been stored.
type Completed struct {
	Output *UploadOutput
}

// Failed is sent when the upload fails, after any abort. Input or options
// rejected before the upload starts (mpu.OpValidate) send no events.
type Failed struct {
	Err *UploadError
}

// Aborted is sent after the abort of a failed multipart upload, whether
// it succeeded (Err nil) or not.
//
// Parts still being sent while the abort runs may be stored after it and
// bring the upload back. So when the client implements ListParts (as
// *s3.Client does), a successful abort (or NoSuchUpload) is followed by
// ListParts of the upload: NoSuchUpload means it is gone (Verified);
// an answer means it is still there, and it is aborted again after a
// short wait (Options.InitialBackoff), up to 3 aborts in all, after which
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

func (Started) event()   {}
func (BytesSent) event() {}
func (PartDone) event()  {}
func (Retry) event()     {}
func (Preflight) event() {}
func (Completed) event() {}
func (Failed) event()    {}
func (Aborted) event()   {}

// emitter serializes calls to a Listener and turns its panics into an error.
type emitter struct {
	l        Listener
	onPanic  func(error) // called once, without mu held
	mu       sync.Mutex
	panicked error
}

// emit delivers e; it returns the panic error after a listener panicked.
func (em *emitter) emit(e Event) error {
	if em == nil || em.l == nil {
		return nil
	}
	em.mu.Lock()
	if em.panicked != nil {
		err := em.panicked
		em.mu.Unlock()
		return err
	}
	err := em.call(e)
	if err != nil {
		em.panicked = err
	}
	em.mu.Unlock()
	if err != nil && em.onPanic != nil {
		em.onPanic(err)
	}
	return err
}

func (em *emitter) call(e Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w on %T: %v", ErrListenerPanic, e, r)
		}
	}()
	em.l.OnEvent(e)
	return nil
}

// listening reports whether events go anywhere.
func (em *emitter) listening() bool { return em != nil && em.l != nil }

// panicErr returns the listener's panic, if any.
func (em *emitter) panicErr() error {
	if em == nil {
		return nil
	}
	em.mu.Lock()
	defer em.mu.Unlock()
	return em.panicked
}
