package main

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// rateLimiter shares one bytes-per-second budget across every file and part being sent.
type rateLimiter struct {
	lim   *rate.Limiter
	burst int
}

func newRateLimiter(bytesPerSecond int64) *rateLimiter {
	burst := int(min(bytesPerSecond, 256<<10))
	return &rateLimiter{lim: rate.NewLimiter(rate.Limit(bytesPerSecond), burst), burst: burst}
}

// wait blocks until n bytes may be sent.
func (r *rateLimiter) wait(ctx context.Context, n int) error {
	for n > 0 {
		c := min(n, r.burst)
		if err := r.lim.WaitN(ctx, c); err != nil {
			return err
		}
		n -= c
	}
	return nil
}

// readSeeker wraps f so that every read waits for the budget.
func (r *rateLimiter) readSeeker(ctx context.Context, f io.ReadSeeker) io.ReadSeeker {
	return &limitedReadSeeker{ctx: ctx, r: f, lim: r}
}

// readerAt wraps f so that every read waits for the budget; parts read with io.SectionReader
// over it are limited too.
func (r *rateLimiter) readerAt(ctx context.Context, f io.ReaderAt) io.ReaderAt {
	return &limitedReaderAt{ctx: ctx, r: f, lim: r}
}

type limitedReadSeeker struct {
	ctx context.Context
	r   io.ReadSeeker
	lim *rateLimiter
}

func (l *limitedReadSeeker) Read(p []byte) (int, error) {
	if len(p) > l.lim.burst {
		p = p[:l.lim.burst]
	}
	n, err := l.r.Read(p)
	if werr := l.lim.wait(l.ctx, n); werr != nil && err == nil {
		err = werr
	}
	return n, err
}

func (l *limitedReadSeeker) Seek(off int64, whence int) (int64, error) {
	return l.r.Seek(off, whence)
}

type limitedReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
	lim *rateLimiter
}

// ReadAt fills p in burst-sized pieces, waiting for the budget after each, so it keeps the
// io.ReaderAt contract (a short read comes with an error).
func (l *limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	total := 0
	for total < len(p) {
		c := min(len(p)-total, l.lim.burst)
		n, err := l.r.ReadAt(p[total:total+c], off+int64(total))
		total += n
		if werr := l.lim.wait(l.ctx, n); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
