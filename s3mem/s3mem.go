// Package s3mem is an in-memory S3 for tests of code that uploads with
// package uploader, or that calls S3 through an interface with the
// aws-sdk-go-v2 signatures: pass a *Client where an *s3.Client would go. It
// is a test double, not a server: it listens on nothing, keeps nothing on
// disk and evaluates no policy (a denial comes only from a fault hook).
//
// A *Client implements uploader.FullAPI: PutObject, CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload, AbortMultipartUpload, ListParts,
// ListMultipartUploads, HeadObject and GetObject, and the server-side copy
// calls CopyObject, UploadPartCopy and GetObjectTagging. It keeps buckets,
// objects and multipart uploads (with their parts and checksums) in memory
// and behaves as S3 does for them: parts are checked against the checksums
// sent with them, PutObject and Complete honour If-None-Match "*", Complete
// checks part order, ETags, part sizes (MinPartSize)
// and the full-object or composite checksum, and errors have the shape the
// SDK returns (an *smithy.OperationError around an awshttp.ResponseError
// carrying the HTTP status, around the API error), so errors.As with
// smithy.APIError and the uploader's error sentinels work as against S3.
//
// # Faults
//
// A Hook installed for an operation (Client.Hook with one of the Op*
// names) runs around the in-memory behaviour and may replace its result,
// fail before it, or block until the context ends. Fail, FailTimes, FailIf,
// Sequence and Block build common hooks; AccessDenied, SlowDown,
// InternalError, NoSuchUpload and APIError build the errors S3 answers
// with. Every call is recorded, with its input, output and error, in the
// order the calls arrived (Client.Calls, CallsOf, Ops, Count), and the
// stored state can be read back (Client.Object, Client.Uploads), e.g. to
// check that no multipart upload was left behind.
//
// s3mem is not a server and not a policy engine: it serves no HTTP, checks
// no signatures and evaluates no IAM or bucket policies (every call is
// allowed unless a hook fails it), and it keeps everything in memory, so it
// suits tests, not data. Per-call option functions are recorded but not
// applied.
//
// # Concurrency
//
// A Client is safe for concurrent use. Hooks run without the Client's lock
// held, so a hook may block, call the Client, or call next more than once.
package s3mem

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Operation names, as recorded in Call.Op and used to install hooks.
const (
	OpPutObject               = "PutObject"
	OpCreateMultipartUpload   = "CreateMultipartUpload"
	OpUploadPart              = "UploadPart"
	OpCompleteMultipartUpload = "CompleteMultipartUpload"
	OpAbortMultipartUpload    = "AbortMultipartUpload"
	OpListParts               = "ListParts"
	OpListMultipartUploads    = "ListMultipartUploads"
	OpHeadObject              = "HeadObject"
	OpGetObject               = "GetObject"
)

// Call is one recorded call.
type Call struct {
	// Op is the operation name, e.g. "UploadPart".
	Op string
	// Seq is the call's position among all calls to the Client, from 0.
	Seq int
	// N is the call's position among the calls of the same operation, from 0.
	N int
	// Input is the input pointer as passed by the caller, e.g.
	// *s3.UploadPartInput. Bodies have been read by the time the call returns.
	Input any
	// Output is the output returned (a typed nil pointer on error).
	Output any
	// Err is the error returned.
	Err error
	// BodySize is the number of body bytes read (PutObject, UploadPart).
	BodySize int64
	// OptFns are the per-call option functions passed by the caller; the
	// Client does not apply them.
	OptFns []func(*s3.Options)
}

// Next performs the Client's in-memory behaviour for a call and returns its
// output and error.
type Next func(ctx context.Context) (any, error)

// Hook runs around the in-memory behaviour of one operation. It may return
// an error without calling next (the call then changes no state), call next
// and return or replace its result, or block on ctx. call describes the call
// in progress (Output and Err are not set yet); hooks must not modify it.
type Hook func(ctx context.Context, call *Call, next Next) (any, error)

// Object is a stored object, as returned by Client.Object.
type Object struct {
	Bucket, Key     string
	Data            []byte
	ETag            string // quoted, as S3 returns it
	VersionID       string
	ContentType     string
	Metadata        map[string]string
	ChecksumAlgo    types.ChecksumAlgorithm
	ChecksumType    types.ChecksumType
	Checksum        string // base64; composite values end in "-N"
	PartsCount      int    // 0 for a single PutObject
	ServerSideEnc   types.ServerSideEncryption
	SSEKMSKeyID     string
	SSECustomerAlgo string
	StorageClass    types.StorageClass
	ACL             types.ObjectCannedACL
	Tagging         string
	LastModified    time.Time
	Input           any // the PutObject or CreateMultipartUpload input that made it
}

// Part is a stored part of a multipart upload.
type Part struct {
	Number   int32
	Data     []byte
	ETag     string
	Checksum string // base64, of the upload's algorithm ("" when it has none)
	Modified time.Time
}

// Upload is an in-progress multipart upload, as returned by Client.Uploads.
type Upload struct {
	Bucket, Key  string
	UploadID     string
	Initiated    time.Time
	Initiator    string
	ChecksumAlgo types.ChecksumAlgorithm
	ChecksumType types.ChecksumType
	Parts        map[int32]*Part
	Input        any // the *s3.CreateMultipartUploadInput
}

// Client is an in-memory S3. The zero value is not usable; call New.
type Client struct {
	// MinPartSize is the smallest size of a part but the last that Complete
	// accepts (S3: 5 MiB). Set it before the first call.
	MinPartSize int64
	// Initiator is the identity recorded as the initiator of uploads.
	Initiator string
	// Now returns the time stamps of objects and uploads; time.Now if nil.
	Now func() time.Time

	mu      sync.Mutex
	calls   []Call
	perOp   map[string]int
	hooks   map[string][]Hook
	buckets map[string]bool
	objects map[string]*Object
	uploads map[string]*Upload
	nextID  atomic.Int64
}

// New returns a Client holding the given empty buckets. A call naming any
// other bucket fails with NoSuchBucket.
func New(buckets ...string) *Client {
	c := &Client{
		MinPartSize: 5 << 20,
		Initiator:   "arn:aws:iam::000000000000:user/s3mem",
		perOp:       map[string]int{},
		hooks:       map[string][]Hook{},
		buckets:     map[string]bool{},
		objects:     map[string]*Object{},
		uploads:     map[string]*Upload{},
	}
	for _, b := range buckets {
		c.buckets[b] = true
	}
	return c
}

// AddBucket creates an empty bucket.
func (c *Client) AddBucket(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buckets[name] = true
}

// Hook installs h for operation op (one of the Op* constants). Hooks of the
// same operation nest: the one installed last runs outermost.
func (c *Client) Hook(op string, h Hook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hooks[op] = append(c.hooks[op], h)
}

// ClearHooks removes every hook of op, or of all operations when op is "".
func (c *Client) ClearHooks(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op == "" {
		c.hooks = map[string][]Hook{}
		return
	}
	delete(c.hooks, op)
}

// Calls returns a copy of the recorded calls, in the order they started.
func (c *Client) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// CallsOf returns the recorded calls of operation op.
func (c *Client) CallsOf(op string) []Call {
	var out []Call
	for _, call := range c.Calls() {
		if call.Op == op {
			out = append(out, call)
		}
	}
	return out
}

// Ops returns the operation names of the recorded calls, in order.
func (c *Client) Ops() []string {
	calls := c.Calls()
	out := make([]string, len(calls))
	for i, call := range calls {
		out[i] = call.Op
	}
	return out
}

// Count returns how many calls of op were recorded.
func (c *Client) Count(op string) int { return len(c.CallsOf(op)) }

// ResetCalls forgets the recorded calls (state and hooks are kept).
func (c *Client) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
	c.perOp = map[string]int{}
}

// Object returns a copy of the stored object, or nil.
func (c *Client) Object(bucket, key string) *Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.objects[bucket+"/"+key]
	if o == nil {
		return nil
	}
	cp := *o
	return &cp
}

// PutObjectData stores an object directly, without recording a call.
func (c *Client) PutObjectData(bucket, key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buckets[bucket] = true
	c.objects[bucket+"/"+key] = &Object{
		Bucket: bucket, Key: key, Data: slices.Clone(data), ETag: etagOf(data),
		LastModified: c.now(), VersionID: c.newID("v"),
	}
}

// Uploads returns copies of the in-progress multipart uploads, sorted by
// bucket, key and initiation.
func (c *Client) Uploads() []Upload {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Upload, 0, len(c.uploads))
	for _, u := range c.uploads {
		cp := *u
		cp.Parts = map[int32]*Part{}
		for n, p := range u.Parts {
			pc := *p
			cp.Parts[n] = &pc
		}
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Bucket != b.Bucket {
			return a.Bucket < b.Bucket
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.UploadID < b.UploadID
	})
	return out
}

// do records the call, runs the hooks around fn and records the result.
func (c *Client) do(ctx context.Context, op string, in any, optFns []func(*s3.Options), fn func(context.Context, *Call) (any, error)) (any, error) {
	c.mu.Lock()
	seq := len(c.calls)
	call := Call{Op: op, Seq: seq, N: c.perOp[op], Input: in, OptFns: optFns}
	c.perOp[op]++
	c.calls = append(c.calls, call)
	hooks := slices.Clone(c.hooks[op])
	c.mu.Unlock()

	work := &call
	next := func(ctx context.Context) (any, error) { return fn(ctx, work) }
	for _, h := range hooks {
		inner, h := next, h
		next = func(ctx context.Context) (any, error) { return h(ctx, &call, inner) }
	}
	out, err := next(ctx)

	c.mu.Lock()
	c.calls[seq].Output = out
	c.calls[seq].Err = err
	c.calls[seq].BodySize = work.BodySize
	c.mu.Unlock()
	return out, err
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) newID(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, c.nextID.Add(1))
}

func etagOf(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// serve runs fn as the operation op through c.do and returns its output with
// the SDK's type. fn's output is recorded in the Call as it is, a typed nil
// with an error.
func serve[O any](c *Client, ctx context.Context, op string, in any, optFns []func(*s3.Options), fn func(context.Context, *Call) (*O, error)) (*O, error) {
	out, err := c.do(ctx, op, in, optFns, func(ctx context.Context, call *Call) (any, error) {
		return fn(ctx, call)
	})
	res, _ := out.(*O)
	return res, err
}

// serveLocked is serve for an operation that reads no request body: it fails
// with a canceled error when ctx has ended, and runs fn with c.mu held.
func serveLocked[O any](c *Client, ctx context.Context, op string, in any, optFns []func(*s3.Options), fn func(*Call) (*O, error)) (*O, error) {
	return serve(c, ctx, op, in, optFns, func(ctx context.Context, call *Call) (*O, error) {
		if err := ctx.Err(); err != nil {
			return nil, canceled(op, err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return fn(call)
	})
}

// serveUpload is serveLocked for an operation on the upload named by bucket,
// key and id: it fails with NoSuchBucket or NoSuchUpload when there is none.
func serveUpload[O any](c *Client, ctx context.Context, op string, in any, optFns []func(*s3.Options), bucket, key, id *string, fn func(*Upload, *Call) (*O, error)) (*O, error) {
	return serveLocked(c, ctx, op, in, optFns, func(call *Call) (*O, error) {
		u, err := c.upload(op, bucket, key, id)
		if err != nil {
			return nil, err
		}
		return fn(u, call)
	})
}

// serveObject is serveLocked for an operation on the object named by bucket
// and key: it fails with NoSuchBucket, or NoSuchKey (NotFound for
// HeadObject), when there is none.
func serveObject[O any](c *Client, ctx context.Context, op string, in any, optFns []func(*s3.Options), bucket, key *string, fn func(*Object) (*O, error)) (*O, error) {
	return serveLocked(c, ctx, op, in, optFns, func(*Call) (*O, error) {
		o, err := c.object(op, bucket, key)
		if err != nil {
			return nil, err
		}
		return fn(o)
	})
}
