package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// maxEmptyReads is how many consecutive reads returning no bytes and no
// error a body may make before the upload fails with io.ErrNoProgress,
// as bufio.Reader does.
const maxEmptyReads = 100

// errBadReadCount is the error of a Read that reports more bytes than its
// buffer holds, or fewer than none.
var errBadReadCount = errors.New("the body's Read returned an invalid byte count")

// progressReader fails a body that keeps returning (0, nil) with
// io.ErrNoProgress instead of spinning, and one that returns an
// impossible count with errBadReadCount instead of panicking.
type progressReader struct{ r io.Reader }

func (p progressReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for range maxEmptyReads {
		n, err := p.r.Read(b)
		switch {
		case n < 0 || n > len(b):
			return 0, fmt.Errorf("%w: %d for a %d-byte buffer", errBadReadCount, n, len(b))
		case n > 0 || err != nil:
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// bodyReader reads a streamed body in a goroutine of its own, so that the
// upload can stop waiting for it when its context ends, whatever the
// body's Read does: a Read that blocks (a pipe whose writer stalls, a hung
// network reader) keeps that goroutine, and the buffer it reads into,
// until it returns; the upload does not wait for it.
//
// A buffer handed to the goroutine belongs to it until its fill is
// received. When the upload stops waiting, the goroutine gives the buffer
// back itself once its Read returns: a part buffer goes back to the pool
// (which unmaps it then, if the pool was released meanwhile: a buffer is
// never unmapped while a Read may still write into it); a heap buffer is
// left to the garbage collector.
type bodyReader struct {
	st       *stream
	pool     *bufferPool // where abandoned part buffers go back
	reqs     chan fillReq
	res      chan fillRes
	done     chan struct{} // closed by stop: nobody waits for results any more
	stopOnce sync.Once
	started  bool
}

type fillReq struct {
	buf    []byte
	pooled bool // buf came from pool
}

type fillRes struct {
	n    int
	more bool
	err  error
}

func newBodyReader(body io.Reader, pool *bufferPool) *bodyReader {
	done := make(chan struct{})
	return &bodyReader{
		st: &stream{r: progressReader{stopReader{body, done}}}, pool: pool,
		reqs: make(chan fillReq), res: make(chan fillRes), done: done,
	}
}

// errReaderStopped ends the fill of an abandoned reader goroutine.
var errReaderStopped = errors.New("the upload stopped reading the body")

// stopReader reads r until done is closed: the Read in progress then is
// the last one, so that once the upload has returned, the body is the
// caller's again (a fill reads many times to fill a part buffer).
type stopReader struct {
	r    io.Reader
	done <-chan struct{}
}

func (s stopReader) Read(p []byte) (int, error) {
	select {
	case <-s.done:
		return 0, errReaderStopped
	default:
	}
	return s.r.Read(p)
}

// fill reads up to len(buf) bytes of the body into buf, as stream.fill
// does, in the reader goroutine. When ctx ends first it returns ctx's
// cause with abandoned set: buf then belongs to the reader goroutine, and
// the caller must neither use nor give it back.
func (r *bodyReader) fill(ctx context.Context, buf []byte, pooled bool) (n int, more bool, abandoned bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, false, context.Cause(ctx)
	}
	if !r.started {
		r.started = true
		go r.loop()
	}
	select {
	case r.reqs <- fillReq{buf: buf, pooled: pooled}: // the goroutine is idle between fills
	case <-r.done: // an earlier fill was abandoned: the body is not read again
		return 0, false, false, errReaderStopped
	}
	select {
	case res := <-r.res:
		return res.n, res.more, false, res.err
	case <-ctx.Done():
		select {
		case res := <-r.res: // the read ended too: keep its buffer
			return res.n, res.more, false, res.err
		default:
		}
		r.stop() // the Read in progress is the last one
		return 0, false, true, context.Cause(ctx)
	}
}

// read returns the bytes consumed from the body so far. Only valid
// between fills that were not abandoned.
func (r *bodyReader) read() int64 { return r.st.read }

// stop ends the reader goroutine: at once when it is idle, else when the
// body's Read it is in returns.
func (r *bodyReader) stop() { r.stopOnce.Do(func() { close(r.done) }) }

func (r *bodyReader) loop() {
	for {
		var req fillReq
		select {
		case req = <-r.reqs:
		case <-r.done:
			return
		}
		res := r.safeFill(req.buf)
		select {
		case r.res <- res:
		case <-r.done:
			// Abandoned: the Read has returned, nothing writes into the
			// buffer any more.
			if req.pooled {
				r.pool.put(req.buf)
			}
			return
		}
	}
}

// safeFill is st.fill with a panic of the body's Read turned into an
// error: it happens on a goroutine the caller cannot recover on.
func (r *bodyReader) safeFill(buf []byte) (res fillRes) {
	defer func() {
		if p := recover(); p != nil {
			res = fillRes{err: fmt.Errorf("the body's Read panicked: %v", p)}
		}
	}()
	n, more, err := r.st.fill(buf)
	return fillRes{n: n, more: more, err: err}
}
