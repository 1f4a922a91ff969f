package uploader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// retry calls fn until it succeeds, fails with an error the classifier
// does not call retryable, the attempts or the elapsed-time budget run
// out, or ctx ends. Waits are exponential with jitter, from the injected
// clock. It returns the number of attempts made.
func (up *upload) retry(ctx context.Context, op mpu.Op, part int32, attempts int, fn func(ctx context.Context, attempt int) error) (int, error) {
	return up.retryWith(ctx, op, part, attempts, s3err.Retryable, fn)
}

// retryCall is retry for one request whose answer the caller wants: it
// returns the answer of the last attempt made.
func retryCall[O any](ctx context.Context, up *upload, op mpu.Op, call func(ctx context.Context) (*O, error)) (*O, error) {
	var out *O
	_, err := up.retry(ctx, op, 0, up.o.MaxAttempts, func(ctx context.Context, _ int) error {
		o, err := call(ctx)
		out = o
		return err
	})
	return out, err
}

// retryData is retry for a request that carries data (PutObject,
// UploadPart) whose body fn reads afresh from its source on every attempt
// (a new section reader of the file, or the part buffer still held) and
// whose checksum is computed from the bytes as they are sent: a checksum
// mismatch the server answers with (BadDigest, XAmzContentSHA256Mismatch,
// InvalidDigest) then means damage in transit, and is retried too, within
// the same attempts; s3err.RetryableResend decides. A mismatch found by
// comparing a successful answer with the local checksum stays final.
func (up *upload) retryData(ctx context.Context, op mpu.Op, part int32, attempts int, fn func(ctx context.Context, attempt int) error) (int, error) {
	return up.retryWith(ctx, op, part, attempts, s3err.RetryableResend, fn)
}

// retryWith is retry with the classifier's verdict retryable.
func (up *upload) retryWith(ctx context.Context, op mpu.Op, part int32, attempts int, retryable func(error) bool, fn func(ctx context.Context, attempt int) error) (int, error) {
	o := &up.o
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(o.InitialBackoff),
		backoff.WithMaxInterval(o.MaxBackoff),
		backoff.WithMaxElapsedTime(o.MaxElapsed),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMultiplier(2),
		backoff.WithClockProvider(o.clock),
	)
	b := backoff.WithContext(backoff.WithMaxRetries(exp, uint64(attempts-1)), ctx)
	n := 0
	operation := func() error {
		n++
		err := fn(ctx, n)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) {
			return backoff.Permanent(err)
		}
		return err
	}
	notify := func(err error, wait time.Duration) {
		_ = up.em.emit(event.Retry{Op: op, PartNumber: part, Attempt: n, Err: err, Wait: wait})
	}
	err := backoff.RetryNotifyWithTimer(operation, b, notify, o.clock.NewTimer())
	switch {
	case err == nil:
		return n, nil
	case ctx.Err() != nil:
		if !errors.Is(err, ctx.Err()) {
			err = errors.Join(ctx.Err(), err)
		}
		return n, err
	case n > 1 && retryable(err):
		return n, fmt.Errorf("gave up after %d attempts: %w", n, err)
	}
	return n, err
}
