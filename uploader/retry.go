package uploader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

// retry calls fn until it succeeds, fails with an error the classifier
// does not call retryable, the attempts or the elapsed-time budget run
// out, or ctx ends. Waits are exponential with jitter, from the injected
// clock. It returns the number of attempts made.
func (up *upload) retry(ctx context.Context, op string, part int32, attempts int, fn func(ctx context.Context, attempt int) error) (int, error) {
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
		if ctx.Err() != nil || !s3err.Retryable(err) {
			return backoff.Permanent(err)
		}
		return err
	}
	notify := func(err error, wait time.Duration) {
		_ = up.em.emit(Retry{Op: op, PartNumber: part, Attempt: n, Err: err, Wait: wait})
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
	case n > 1 && s3err.Retryable(err):
		return n, fmt.Errorf("gave up after %d attempts: %w", n, err)
	}
	return n, err
}
