package s3mem

import (
	"context"
	"net/http"
	"sync/atomic"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// APIError returns an error shaped as the SDK returns a failed response of
// operation op: an *smithy.OperationError around an *awshttp.ResponseError
// with the HTTP status, around a *smithy.GenericAPIError with code and message.
func APIError(op string, status int, code, message string) error {
	return Wrap(op, status, &smithy.GenericAPIError{Code: code, Message: message, Fault: fault(status)})
}

// Wrap returns apiErr shaped as the SDK returns it for operation op and
// HTTP status; use it for typed errors such as *types.NoSuchUpload.
func Wrap(op string, status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
				Err:      apiErr,
			},
			RequestID: "s3mem-request",
		},
	}
}

func fault(status int) smithy.ErrorFault {
	if status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// AccessDenied returns the error S3 answers a denied call of op with.
func AccessDenied(op string) error {
	return APIError(op, http.StatusForbidden, "AccessDenied", "Access Denied")
}

// SlowDown returns S3's throttling answer to op.
func SlowDown(op string) error {
	return APIError(op, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
}

// InternalError returns S3's 500 answer to op.
func InternalError(op string) error {
	return APIError(op, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
}

// NoSuchUpload returns S3's answer to op naming an unknown upload ID.
func NoSuchUpload(op string) error {
	msg := "The specified upload does not exist."
	return Wrap(op, http.StatusNotFound, &types.NoSuchUpload{Message: &msg})
}

func noSuchBucket(op string) error {
	msg := "The specified bucket does not exist"
	return Wrap(op, http.StatusNotFound, &types.NoSuchBucket{Message: &msg})
}

func noSuchKey(op string) error {
	msg := "The specified key does not exist."
	return Wrap(op, http.StatusNotFound, &types.NoSuchKey{Message: &msg})
}

func notFound(op string) error {
	return Wrap(op, http.StatusNotFound, &types.NotFound{})
}

func invalid(op, code, msg string) error {
	return APIError(op, http.StatusBadRequest, code, msg)
}

// Fail returns a hook that fails every call with err.
func Fail(err error) Hook {
	return func(context.Context, *Call, Next) (any, error) { return nil, err }
}

// FailTimes returns a hook that fails the first n calls it sees with err
// and lets the rest through.
func FailTimes(n int, err error) Hook {
	var seen atomic.Int64
	return func(ctx context.Context, _ *Call, next Next) (any, error) {
		if seen.Add(1) <= int64(n) {
			return nil, err
		}
		return next(ctx)
	}
}

// FailIf returns a hook that fails the calls for which pred is true with
// the error pred returns (pred's error nil lets the call through).
func FailIf(pred func(call *Call) error) Hook {
	return func(ctx context.Context, call *Call, next Next) (any, error) {
		if err := pred(call); err != nil {
			return nil, err
		}
		return next(ctx)
	}
}

// Sequence returns a hook that answers the i-th call it sees with errs[i]
// (nil lets that call through); calls past the list go through.
func Sequence(errs ...error) Hook {
	var seen atomic.Int64
	return func(ctx context.Context, _ *Call, next Next) (any, error) {
		i := int(seen.Add(1) - 1)
		if i < len(errs) && errs[i] != nil {
			return nil, errs[i]
		}
		return next(ctx)
	}
}

// Block returns a hook that blocks every call until ctx ends or release is
// closed (then the call goes through); started, when not nil, receives each
// call as it starts blocking.
func Block(release <-chan struct{}, started chan<- *Call) Hook {
	return func(ctx context.Context, call *Call, next Next) (any, error) {
		if started != nil {
			select {
			case started <- call:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return nil, &smithy.OperationError{ServiceID: "S3", OperationName: call.Op, Err: &smithy.CanceledError{Err: ctx.Err()}}
		case <-release:
			return next(ctx)
		}
	}
}
