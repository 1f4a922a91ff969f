package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/time/rate"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// errDetached is returned by a part body read after its request ended.
var errDetached = errors.New("part body read after its request ended")

// partBody is the body of one attempt of a part (or of a single PutObject).
// It counts bytes as the HTTP transport reads them (reporting each byte of
// the part once across attempts), applies the rate limit, and is detached
// when its request returns, so a transport still holding it cannot read a
// buffer that has been handed back to the pool. When the part's checksum
// is not known in advance (a file read in place), it computes it from the
// bytes as they are sent, so the file is read once.
type partBody struct {
	up   *upload
	ctx  context.Context
	rec  *partRecord
	size int64
	// open returns a fresh reader over the same bytes, for hashing the
	// payload without counting it as sent.
	open func() io.ReadSeeker

	mu       sync.Mutex
	idle     *sync.Cond // signaled with mu when a read ends
	r        io.ReadSeeker
	inMemory bool // r reads a part buffer, which must not be read once handed back
	reading  bool // a Read of r is in progress (outside mu)
	pos      int64
	detached bool
	h        hash.Hash // nil when the checksum is known in advance or the SDK computes it
	hashOK   bool      // h holds the bytes from 0 to pos
	sdkSum   bool      // the SDK computes the checksum as it sends the body
	signed   partSum   // the checksum computed with the signed payload hash
	short    bool      // the source ended before size bytes
	// pending counts the new bytes read but not yet reported in a
	// BytesSent event (only with a listener).
	pending int64
	// gate, for a part's request that another may overtake (hedging),
	// stops the body once that request is canceled, and keeps it from
	// being canceled once its last bytes are handed over.
	gate *sendGate
}

// sentEventBytes is how many new bytes a part body gathers before it
// reports them in one BytesSent event (less with a rate limit whose burst
// is smaller). The rest is reported when the body ends or is detached.
const sentEventBytes = 256 << 10

func (up *upload) newBody(ctx context.Context, rec *partRecord, open func() io.ReadSeeker) *partBody {
	b := &partBody{up: up, ctx: ctx, rec: rec, size: rec.Size, open: open, r: open(), gate: gateFrom(ctx)}
	b.idle = sync.NewCond(&b.mu)
	_, b.inMemory = b.r.(*bytes.Reader)
	if rec.sum.raw == nil {
		b.h, b.hashOK = up.cs.new(), true
	}
	return b
}

// Read reads from the part, then waits for the rate limiter.
func (b *partBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	lim := b.up.limiter
	if lim != nil && len(p) > lim.Burst() {
		p = p[:lim.Burst()]
	}
	b.mu.Lock()
	if b.detached || b.reading {
		b.mu.Unlock()
		return 0, errDetached
	}
	if b.gate != nil && b.gate.stopped() {
		b.mu.Unlock()
		return 0, errHedgeLost
	}
	// Read outside mu, so that detach need not wait for a ReadAt of a body
	// read in place that blocks (see detach).
	b.reading = true
	r := b.r
	b.mu.Unlock()
	n, err := r.Read(p)
	b.mu.Lock()
	b.reading = false
	b.idle.Broadcast()
	if b.detached {
		b.mu.Unlock()
		return 0, errDetached
	}
	if b.gate != nil && n > 0 && b.pos+int64(n) >= b.size && !b.gate.handOff() {
		b.mu.Unlock()
		return 0, errHedgeLost
	}
	if b.h != nil && b.hashOK {
		b.h.Write(p[:n])
	}
	b.pos += int64(n)
	if b.gate != nil && n > 0 {
		b.gate.advance(b.pos)
	}
	if err == io.EOF && b.pos < b.size {
		b.short = true
		err = fmt.Errorf("%w: the body ended %d bytes into a %d-byte part", mpu.ErrSourceChanged, b.pos, b.size)
	}
	var emit int64
	if n := b.up.raiseSent(b.rec, b.pos); n > 0 && b.up.em.listening() {
		b.pending += n
		if b.pending >= b.up.sentEvery() || err != nil {
			emit, b.pending = b.pending, 0
		}
	}
	b.mu.Unlock()
	if lim != nil && n > 0 {
		// Pay for the bytes read before handing them over: the transport
		// sends them no faster than the limit, and a read that finds the
		// end costs nothing.
		if werr := b.up.waitRate(b.ctx, n); werr != nil {
			return 0, werr
		}
	}
	if emit > 0 {
		b.up.reportSent(b.rec.Number, emit)
	}
	return n, err
}

// sentEvery is how many new bytes a part body gathers per BytesSent event.
func (up *upload) sentEvery() int64 {
	if up.limiter != nil {
		return min(sentEventBytes, int64(up.limiter.Burst()))
	}
	return sentEventBytes
}

// reportSent sends a BytesSent event for n new bytes of part number.
func (up *upload) reportSent(number int32, n int64) {
	total := up.sent.Add(n)
	_ = up.em.emit(event.BytesSent{PartNumber: number, Bytes: n, Total: total})
}

// Seek lets the SDK rewind the body between its own attempts.
func (b *partBody) Seek(offset int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached || b.reading {
		return 0, errDetached
	}
	pos, err := b.r.Seek(offset, whence)
	if err != nil {
		return pos, err
	}
	if b.h != nil {
		switch {
		case pos == 0:
			b.h.Reset()
			b.hashOK = true
		case pos != b.pos:
			b.hashOK = false
		}
	}
	b.pos = pos
	return pos, nil
}

// detach ends the body: later reads fail. It waits for a read of a part
// buffer in progress (the buffer is handed back after), but not for one of
// a body read in place, whose ReadAt may block past the request's end: a
// read ending after detach counts for nothing. It then reports the bytes
// read that no event has reported yet.
func (b *partBody) detach() {
	b.mu.Lock()
	b.detached = true
	for b.reading && b.inMemory {
		b.idle.Wait()
	}
	emit := b.pending
	b.pending = 0
	b.mu.Unlock()
	if emit > 0 {
		b.up.reportSent(b.rec.Number, emit)
	}
}

// sum returns the checksum of the part after a successful request whose
// result metadata is md: the one known in advance, the one computed with
// the signed payload hash, the one the SDK
// computed from the bytes it sent, the one computed as the bytes were sent,
// or, when the body was read out of order (or the SDK did not report its
// value), one computed from a fresh reader.
func (b *partBody) sum(md middleware.Metadata) (partSum, error) {
	b.mu.Lock()
	known, sdk, signed := b.h == nil && !b.sdkSum && b.signed.raw == nil, b.sdkSum, b.signed
	ok := b.h != nil && b.hashOK && b.pos == b.size
	var s partSum
	if ok {
		s = b.up.cs.sum(b.h)
	}
	b.mu.Unlock()
	switch {
	case known:
		return b.rec.sum, nil
	case signed.raw != nil:
		return signed, nil
	case ok:
		return s, nil
	case sdk:
		if s, found := b.up.cs.sdkSum(md); found {
			return s, nil
		}
	}
	h := b.up.cs.new()
	n, err := io.Copy(h, progressReader{b.open()})
	if err != nil {
		return partSum{}, err
	}
	if n != b.size {
		return partSum{}, fmt.Errorf("%w: the body holds %d bytes of a %d-byte part", mpu.ErrSourceChanged, n, b.size)
	}
	return b.up.cs.sum(h), nil
}

// payloadHashes reads the part through a reader of its own and returns
// its SHA-256 (hex, for signing) and, when withChecksum, its checksum.
func (b *partBody) payloadHashes(withChecksum bool) (sha string, sum partSum, err error) {
	sh := sha256.New()
	var w io.Writer = sh
	var ch hash.Hash
	if withChecksum {
		ch = b.up.cs.new()
		w = io.MultiWriter(sh, ch)
	}
	n, err := io.Copy(w, progressReader{b.open()})
	if err != nil {
		return "", partSum{}, err
	}
	if n != b.size {
		return "", partSum{}, fmt.Errorf("%w: the body holds %d bytes of a %d-byte part", mpu.ErrSourceChanged, n, b.size)
	}
	if ch != nil {
		sum = b.up.cs.sum(ch)
	}
	return hex.EncodeToString(sh.Sum(nil)), sum, nil
}

// payloadHashMiddleware settles the checksum and payload hash of requests
// carrying a partBody before the SDK would read the body to compute them,
// so the body is read once by the transport and BytesSent counts only that:
//
//   - over TLS with the checksum known in advance (sent in its header), the
//     payload is sent unsigned: the checksum header, which is signed,
//     protects it, as the SDK's own trailing checksums do;
//   - over TLS without it, the SDK sends the checksum it computes while
//     sending as a trailer and records it in the result metadata, where
//     partBody.sum takes it: the checksum is computed once, on the client,
//     from the bytes sent;
//   - over plain HTTP the payload is signed with a SHA-256, computed in one
//     pass with the checksum (when not known) from a separate reader; the
//     body then does not compute the checksum again.
var payloadHashMiddleware = middleware.FinalizeMiddlewareFunc("s3mpuPartPayloadHash",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		req, ok := in.Request.(*smithyhttp.Request)
		if !ok || v4.GetPayloadHash(ctx) != "" {
			return next.HandleFinalize(ctx, in)
		}
		body, ok := req.GetStream().(*partBody)
		if !ok {
			return next.HandleFinalize(ctx, in)
		}
		known := body.h == nil
		if req.IsHTTPS() {
			if known {
				ctx = v4.SetPayloadHash(ctx, "UNSIGNED-PAYLOAD")
			} else {
				body.mu.Lock()
				body.h, body.sdkSum = nil, true
				body.mu.Unlock()
			}
			return next.HandleFinalize(ctx, in)
		}
		var sha string
		var sum partSum
		var err error
		if body.inMemory {
			// A part buffer is read in memory, which never blocks; it
			// must not be read by a goroutine left behind, since the
			// buffer is reused or unmapped once the upload returns.
			sha, sum, err = body.payloadHashes(!known)
		} else {
			sha, sum, err = awaitHashes(ctx, func() (string, partSum, error) { return body.payloadHashes(!known) })
		}
		if err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("hash part payload: %w", err)
		}
		if !known {
			// The checksum and the signed payload hash come from the same
			// read: a body that changed since fails the signature.
			req.Header.Set("X-Amz-Checksum-"+string(body.up.cs.algo), sum.String())
			body.mu.Lock()
			body.h, body.signed = nil, sum
			body.mu.Unlock()
		}
		return next.HandleFinalize(v4.SetPayloadHash(ctx, sha), in)
	})

// addPayloadHashMiddleware puts payloadHashMiddleware after endpoint
// resolution and before the SDK's checksum and payload hash middlewares.
func addPayloadHashMiddleware(stack *middleware.Stack) error {
	for _, id := range []string{"AWSChecksum:ComputeInputPayloadChecksum", "ComputePayloadHash"} {
		if _, ok := stack.Finalize.Get(id); ok {
			return stack.Finalize.Insert(payloadHashMiddleware, id, middleware.Before)
		}
	}
	return nil // a stack without payload hashing: nothing to decide
}

// waitRate waits until the rate limiter allows n more bytes, on the
// upload's clock (so tests need not sleep).
func (up *upload) waitRate(ctx context.Context, n int) error {
	clk := up.o.clock
	now := clk.Now()
	r := up.limiter.ReserveN(now, n)
	if !r.OK() {
		return fmt.Errorf("rate limit: %d bytes exceed the burst", n)
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := up.sleep(ctx, d); err != nil {
		r.CancelAt(clk.Now())
		return context.Cause(ctx)
	}
	return nil
}

// newLimiter returns the rate limiter for bps bytes per second, or nil.
func newLimiter(bps int64) *rate.Limiter {
	if bps <= 0 {
		return nil
	}
	burst := min(max(bps/8, 1), 256<<10)
	return rate.NewLimiter(rate.Limit(bps), int(burst))
}

// readerAtBody reports whether body can be read in place, and if so the
// reader, the offset to start at and the bytes from there to the end.
func readerAtBody(body io.Reader) (ra io.ReaderAt, off, size int64, ok bool) {
	ra, isRA := body.(io.ReaderAt)
	seeker, isSeeker := body.(io.Seeker)
	if !isRA || !isSeeker {
		return nil, 0, 0, false
	}
	if f, isFile := body.(*os.File); isFile {
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return nil, 0, 0, false // pipes, terminals, devices: stream them
		}
	}
	cur, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, 0, false
	}
	end, err := seeker.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, 0, false
	}
	if _, err := seeker.Seek(cur, io.SeekStart); err != nil {
		return nil, 0, 0, false
	}
	return ra, cur, end - cur, true
}

// hashSection checksums n bytes of ra at off and fails with
// mpu.ErrSourceChanged when fewer are there. It returns when ctx ends, even
// while a ReadAt blocks (see await).
func (up *upload) hashSection(ctx context.Context, ra io.ReaderAt, off, n int64) (partSum, error) {
	return await(ctx, func() (partSum, error) { return up.hashSectionNow(ra, off, n) })
}

func (up *upload) hashSectionNow(ra io.ReaderAt, off, n int64) (partSum, error) {
	h := up.cs.new()
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	got, err := io.CopyBuffer(h, progressReader{io.NewSectionReader(ra, off, n)}, *bufp)
	if err != nil {
		return partSum{}, fmt.Errorf("read body at offset %d: %w", off, err)
	}
	if got != n {
		return partSum{}, fmt.Errorf("%w: body has %d bytes at offset %d, %d expected", mpu.ErrSourceChanged, got, off, n)
	}
	return up.cs.sum(h), nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// bufferPool hands out at most count part buffers at a time, of at most
// max bytes in all (the buffers given back and kept for reuse included),
// reusing them. The buffers live outside the Go heap where the platform
// allows (see allocPartBuffer) and are unmapped by release, which the
// upload calls when it returns; a buffer still out then (held by the
// goroutine of a body Read that has not returned, see bodyReader) is
// unmapped when it is given back, so nothing can read or write a buffer
// after it is gone.
type bufferPool struct {
	tokens   chan struct{}
	max      int64
	wake     chan struct{} // signaled by put, for a get waiting for room
	mu       sync.Mutex
	free     [][]byte
	mapped   int64 // bytes of the buffers allocated and not freed
	released bool
	allocs   atomic.Int64 // buffers allocated, for tests
	frees    atomic.Int64 // buffers freed, for tests
	peak     atomic.Int64 // most bytes mapped at once, for tests
}

func newBufferPool(count int, max int64) *bufferPool {
	return &bufferPool{tokens: make(chan struct{}, count), max: max, wake: make(chan struct{}, 1)}
}

// get returns a buffer of length size, waiting while count buffers are
// out or while max bytes cannot hold another one of size.
func (p *bufferPool) get(ctx context.Context, size int64) ([]byte, error) {
	if size > p.max {
		return nil, invalidf("a part of %d bytes does not fit in MaxBufferMemory (%d bytes): give the body's size, or raise MaxBufferMemory or PartSize", size, p.max)
	}
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	for {
		if b := p.take(size); b != nil {
			return b, nil
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			<-p.tokens
			return nil, context.Cause(ctx)
		}
	}
}

// take returns a free buffer of at least size bytes, or a new one when
// there is room for it (freeing smaller free buffers to make room), or
// nil.
func (p *bufferPool) take(size int64) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range p.free {
		if int64(cap(b)) >= size {
			p.free = append(p.free[:i], p.free[i+1:]...)
			return b[:size]
		}
	}
	for len(p.free) > 0 && p.mapped+size > p.max {
		// Too small after the part size grew: let it go.
		b := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		p.unmap(b)
	}
	if p.mapped+size > p.max {
		return nil
	}
	p.allocs.Add(1)
	p.mapped += size
	if p.mapped > p.peak.Load() {
		p.peak.Store(p.mapped)
	}
	return allocPartBuffer(int(size))
}

// unmap frees b. p.mu must be held.
func (p *bufferPool) unmap(b []byte) {
	p.frees.Add(1)
	p.mapped -= int64(cap(b))
	freePartBuffer(b)
}

// put returns a buffer obtained from get.
func (p *bufferPool) put(b []byte) {
	p.mu.Lock()
	if p.released {
		// A buffer given back after the upload returned (by the goroutine
		// of a body Read that outlived it): free it now.
		p.unmap(b)
	} else {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.tokens
}

// release frees the buffers given back. Buffers still out are freed when
// put back.
func (p *bufferPool) release() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.free {
		p.unmap(b)
	}
	p.free, p.released = nil, true
}

// stream reads a body of unknown or unverified length part by part,
// looking one byte ahead to know whether a full part was the last.
type stream struct {
	r       io.Reader
	peek    [1]byte
	hasPeek bool
	read    int64 // bytes consumed from r
}

// fill reads up to len(buf) bytes into buf. more reports whether the body
// has bytes after them.
func (s *stream) fill(buf []byte) (n int, more bool, err error) {
	if len(buf) == 0 {
		return 0, false, nil
	}
	if s.hasPeek {
		buf[0] = s.peek[0]
		s.hasPeek = false
		n = 1
	}
	m, err := readFull(s.r, buf[n:])
	n += m
	s.read += int64(m)
	switch {
	case err == io.EOF:
		return n, false, nil
	case err != nil:
		return n, false, err
	}
	k, err := readFull(s.r, s.peek[:])
	s.read += int64(k)
	switch {
	case k == 1 && (err == nil || err == io.EOF): // the next Read finds the end again
		s.hasPeek = true
		return n, true, nil
	case err == io.EOF:
		return n, false, nil
	case err != nil:
		return n, false, err
	}
	return n, false, nil
}

// readFull reads into buf until it is full or a Read fails, as
// io.ReadFull does, but keeps the error of a Read that also filled buf:
// io.ReadFull drops it, and a body that reports a fault with its last
// bytes (one the next Read does not repeat) would be stored as if whole.
func readFull(r io.Reader, buf []byte) (n int, err error) {
	for n < len(buf) && err == nil {
		var m int
		m, err = r.Read(buf[n:])
		n += m
	}
	return n, err
}

func bytesOpener(b []byte) func() io.ReadSeeker {
	return func() io.ReadSeeker { return bytes.NewReader(b) }
}

func sectionOpener(ra io.ReaderAt, off, n int64) func() io.ReadSeeker {
	return func() io.ReadSeeker { return guardedSection{io.NewSectionReader(ra, off, n)} }
}

// guardedSection is a section of a body read in place whose reads fail
// with io.ErrNoProgress when ReadAt keeps returning no bytes and no error
// (see progressReader), instead of making the reader spin.
type guardedSection struct{ *io.SectionReader }

func (g guardedSection) Read(p []byte) (int, error) { return progressReader{g.SectionReader}.Read(p) }

// await runs fn in a goroutine and returns its result, or ctx's cause as
// soon as ctx ends: a body read in place whose ReadAt blocks (a hung
// network file system) cannot hold the upload past its context. The
// goroutine then stays until fn returns; its result is dropped. fn must
// use only state of its own (a fresh reader, its own hashes).
func await[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}

// awaitHashes is await for payloadHashes' three results.
func awaitHashes(ctx context.Context, fn func() (string, partSum, error)) (string, partSum, error) {
	type hashes struct {
		sha string
		sum partSum
	}
	h, err := await(ctx, func() (hashes, error) {
		sha, sum, err := fn()
		return hashes{sha, sum}, err
	})
	return h.sha, h.sum, err
}
