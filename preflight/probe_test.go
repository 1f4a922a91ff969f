package preflight

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
)

// probeFake is the scriptable fake with UploadPartCopy added and a set of
// denied operations; several probeFakes may share one store, as a caller's
// and a bucket owner's clients share one server.
type probeFake struct {
	*s3mem.Client
	putErr  error
	denyErr error // the answer to a denied operation (default AccessDenied)
	deny    map[string]bool
	mu      *sync.Mutex
	calls   *[]string
	owners  *[]string // each call's ExpectedBucketOwner ("" when not sent)
	ssec    *[]string // the SSE-C headers of each CreateMultipartUpload and PutObject: "op alg key md5"
}

func newProbeFake(store *s3mem.Client, deny ...string) *probeFake {
	f := &probeFake{Client: store, deny: map[string]bool{}, mu: &sync.Mutex{}, calls: &[]string{}, owners: &[]string{}, ssec: &[]string{}}
	for _, d := range deny {
		f.deny[d] = true
	}
	return f
}

func (f *probeFake) recSSEC(op string, alg, key, md5 *string) {
	f.mu.Lock()
	*f.ssec = append(*f.ssec, strings.Join([]string{op, aws.ToString(alg), aws.ToString(key), aws.ToString(md5)}, " "))
	f.mu.Unlock()
}

func (f *probeFake) rec(op string, owner *string) error {
	f.mu.Lock()
	*f.calls = append(*f.calls, op)
	*f.owners = append(*f.owners, aws.ToString(owner))
	f.mu.Unlock()
	if f.deny[op] {
		if f.denyErr != nil {
			return f.denyErr
		}
		return s3mem.AccessDenied(op)
	}
	return nil
}

func (f *probeFake) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, o ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	f.recSSEC("CreateMultipartUpload", in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5)
	if err := f.rec("CreateMultipartUpload", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return f.Client.CreateMultipartUpload(ctx, in, o...)
}
func (f *probeFake) UploadPart(ctx context.Context, in *s3.UploadPartInput, o ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if err := f.rec("UploadPart", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return f.Client.UploadPart(ctx, in, o...)
}
func (f *probeFake) UploadPartCopy(_ context.Context, in *s3.UploadPartCopyInput, _ ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	if err := f.rec("UploadPartCopy", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return nil, s3mem.NoSuchUpload("UploadPartCopy")
}
func (f *probeFake) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, o ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if err := f.rec("CompleteMultipartUpload", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return f.Client.CompleteMultipartUpload(ctx, in, o...)
}
func (f *probeFake) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, o ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	if err := f.rec("AbortMultipartUpload", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return f.Client.AbortMultipartUpload(ctx, in, o...)
}
func (f *probeFake) ListParts(ctx context.Context, in *s3.ListPartsInput, o ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	if err := f.rec("ListParts", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return f.Client.ListParts(ctx, in, o...)
}
func (f *probeFake) ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, o ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	if err := f.rec("ListMultipartUploads", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return f.Client.ListMultipartUploads(ctx, in, o...)
}
func (f *probeFake) HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if err := f.rec("HeadObject", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	return f.Client.HeadObject(ctx, in, o...)
}

// PutObject answers the conditional put as S3 does after authorizing it:
// 412 when the key exists, BadDigest when it does not (the empty body
// fails its Content-MD5); it never stores. putErr, when set, is the answer.
func (f *probeFake) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.recSSEC("PutObject", in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5)
	if err := f.rec("PutObject", in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	if f.putErr != nil {
		return nil, f.putErr
	}
	if in.IfNoneMatch == nil || in.ContentMD5 == nil {
		return f.Client.PutObject(ctx, in, o...)
	}
	if _, err := f.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key}); err == nil {
		return nil, s3mem.APIError("PutObject", 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	return nil, s3mem.APIError("PutObject", 400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
}

var (
	_ ProbeAPI          = (*probeFake)(nil)
	_ ConditionalPutAPI = (*probeFake)(nil)
)

func probePlan() *Plan {
	return &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, CopySource: &CopySource{Bucket: "photos", Key: "src"}}
}

func TestProbeAllAllowed(t *testing.T) {
	store := s3mem.New("photos")
	store.PutObjectData("photos", "src", []byte("data"))
	f := newProbeFake(store)
	rep := checkPlan(t, NewProbe(f, ProbeOptions{}), probePlan(), ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=allowed UploadPart=allowed UploadPartCopy=allowed Complete=allowed Abort=allowed ListParts=allowed ListUploads=allowed" {
		t.Fatalf("decisions %s\n%s", got, rep)
	}
	want := "ListMultipartUploads UploadPart UploadPartCopy HeadObject CompleteMultipartUpload ListParts AbortMultipartUpload CreateMultipartUpload ListParts AbortMultipartUpload ListMultipartUploads"
	if got := strings.Join(*f.calls, " "); got != want {
		t.Errorf("calls\n%s\nwant\n%s", got, want)
	}
	if n := len(store.Uploads()); n != 0 || len(rep.Leftover) != 0 {
		t.Errorf("%d uploads left, leftover %v", n, rep.Leftover)
	}
	if rep.totalCalls() != 11 {
		t.Errorf("counted %d calls: %v", rep.totalCalls(), rep.APICalls)
	}
	for _, s := range rep.Steps {
		if s.Evaluator != mpu.EvaluatorProbe {
			t.Errorf("%s decided by %s", s.Step, s.Evaluator)
		}
	}
}

func TestProbeDenials(t *testing.T) {
	store := s3mem.New("photos")
	store.PutObjectData("photos", "src", []byte("data"))
	f := newProbeFake(store, "ListParts", "HeadObject", "UploadPartCopy", "ListMultipartUploads")
	rep := checkPlan(t, NewProbe(f, ProbeOptions{}), probePlan(), ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=allowed UploadPart=allowed UploadPartCopy=implicitDeny Complete=allowed Abort=allowed ListParts=implicitDeny ListUploads=implicitDeny" {
		t.Fatalf("decisions %s", got)
	}
	cp, _ := rep.Step(mpu.UploadPartCopy)
	if cp.Checks[0].Decision != mpu.Allowed || cp.Checks[1].Decision != mpu.ImplicitDeny {
		t.Errorf("copy checks %+v", cp.Checks)
	}
	// The caller may not list uploads: the verification is reported, not faked.
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "could not verify") {
		t.Errorf("notes %q", rep.Notes)
	}
}

func TestProbeNoAbortNoCreate(t *testing.T) {
	store := s3mem.New("photos")
	f := newProbeFake(store, "AbortMultipartUpload")
	p := probePlan()
	p.CopySource = nil
	rep := checkPlan(t, NewProbe(f, ProbeOptions{}), p, ProfileNoDefaults)
	// The conditional put decides Initiate without creating anything.
	if s, _ := rep.Step(mpu.Initiate); s.Decision != mpu.Allowed || !strings.Contains(strings.Join(s.Reasons, " "), "BadDigest") || len(s.Risks) == 0 {
		t.Fatalf("Initiate %s %q %q", s.Decision, s.Reasons, s.Risks)
	}
	for _, c := range *f.calls {
		if c == "CreateMultipartUpload" {
			t.Fatal("created an upload it could not abort")
		}
	}
	if store.Object("photos", "a.jpg") != nil {
		t.Fatal("the probe stored an object")
	}
	// A server without conditional writes gives no usable answer: Unknown, as before.
	f = newProbeFake(store, "AbortMultipartUpload")
	f.putErr = s3mem.APIError("PutObject", 501, "NotImplemented", "A header you provided implies functionality that is not implemented")
	rep = checkPlan(t, NewProbe(f, ProbeOptions{}), p, ProfileNoDefaults)
	if s, _ := rep.Step(mpu.Initiate); s.Decision != mpu.Unknown || !strings.Contains(strings.Join(s.Reasons, " "), "may not abort") ||
		!strings.Contains(strings.Join(s.Reasons, " "), "NotImplemented") {
		t.Fatalf("Initiate without conditional writes: %s %q", s.Decision, s.Reasons)
	}
	// With the bucket owner's client to clean up, Initiate is probed and nothing is left.
	cleanup := newProbeFake(store)
	rep = checkPlan(t, NewProbe(newProbeFake(store, "AbortMultipartUpload"), ProbeOptions{Cleanup: cleanup}), p, ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=allowed UploadPart=allowed Complete=allowed Abort=implicitDeny ListParts=allowed ListUploads=allowed" {
		t.Fatalf("with cleanup: %s", got)
	}
	if len(store.Uploads()) != 0 || len(rep.Leftover) != 0 {
		t.Fatalf("left %d uploads, leftover %v", len(store.Uploads()), rep.Leftover)
	}
	if got := strings.Join(*cleanup.calls, " "); got != "AbortMultipartUpload ListMultipartUploads" {
		t.Errorf("cleanup calls %s", got)
	}
	// AWS profile: a server denying the initiator's own abort does not apply the defaults.
	rep = checkPlan(t, NewProbe(newProbeFake(store, "AbortMultipartUpload"), ProbeOptions{Cleanup: cleanup}), p, ProfileAWS)
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "ProfileNoDefaults") || rep.LearnedProfile == nil || *rep.LearnedProfile != ProfileNoDefaults {
		t.Errorf("notes %q learned %v", rep.Notes, rep.LearnedProfile)
	}
}

func TestProbeCreateDenied(t *testing.T) {
	store := s3mem.New("photos")
	f := newProbeFake(store, "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")
	p := probePlan()
	p.CopySource = nil
	rep := checkPlan(t, NewProbe(f, ProbeOptions{}), p, ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=implicitDeny UploadPart=implicitDeny Complete=implicitDeny Abort=allowed ListParts=allowed ListUploads=allowed" {
		t.Fatalf("decisions %s", got)
	}
	// NoCreate decides Initiate with the conditional put: allowed when the
	// key exists (412) or not (BadDigest), denied on 403; nothing is created.
	store.PutObjectData("photos", "a.jpg", []byte("old"))
	rep = checkPlan(t, NewProbe(newProbeFake(store), ProbeOptions{NoCreate: true}), p, ProfileNoDefaults)
	if s, _ := rep.Step(mpu.Initiate); s.Decision != mpu.Allowed || !strings.Contains(strings.Join(s.Reasons, " "), "PreconditionFailed") {
		t.Fatalf("NoCreate Initiate %s %q", s.Decision, s.Reasons)
	}
	rep = checkPlan(t, NewProbe(newProbeFake(store, "PutObject"), ProbeOptions{NoCreate: true}), p, ProfileNoDefaults)
	if s, _ := rep.Step(mpu.Initiate); s.Decision != mpu.ImplicitDeny {
		t.Fatalf("NoCreate Initiate, PutObject denied: %s %q", s.Decision, s.Reasons)
	}
	if o := store.Object("photos", "a.jpg"); o == nil || string(o.Data) != "old" || len(store.Uploads()) != 0 {
		t.Fatalf("the probe changed the store: object %+v, %d uploads", o, len(store.Uploads()))
	}
}

func TestChainProbesWhatLocalCannotDecide(t *testing.T) {
	store := s3mem.New("photos")
	f := newProbeFake(store, "ListMultipartUploads")
	// Identity policies are supplied, the bucket policy cannot be read.
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("id", `{"Version":"2012-10-17","Statement":[{"Sid":"NoAbort","Effect":"Deny","Action":"s3:AbortMultipartUpload","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}},
		S3: &fakeBucket{fail: map[string]error{"GetBucketPolicy": s3mem.AccessDenied("GetBucketPolicy")}}})
	p := probePlan()
	p.CopySource = nil
	p.Transport, p.SourceIP = TransportHTTPS, "192.0.2.1"
	cleanup := newProbeFake(store)
	rep := checkPlan(t, newChain(nil, local, NewProbe(f, ProbeOptions{Cleanup: cleanup})), p, ProfileNoDefaults)
	want := map[mpu.Step]string{mpu.Initiate: "allowed/probe", mpu.UploadPart: "allowed/probe", mpu.Complete: "allowed/probe", mpu.Abort: "explicitDeny/local", mpu.ListParts: "allowed/probe", mpu.ListUploads: "implicitDeny/probe"}
	for _, s := range rep.Steps {
		if got := s.Decision.String() + "/" + string(s.Evaluator); got != want[s.Step] {
			t.Errorf("%s: %s, want %s", s.Step, got, want[s.Step])
		}
	}
	if len(store.Uploads()) != 0 {
		t.Fatalf("%d uploads left", len(store.Uploads()))
	}
}

// TestProbeCredentialsAreAnError checks that credentials the server
// rejects end the probe with an error (errors.Is ErrCredentials, not
// ErrPermissionDenied) whichever call meets them first, never a denied row.
func TestProbeCredentialsAreAnError(t *testing.T) {
	ops := []string{"ListMultipartUploads", "UploadPart", "CompleteMultipartUpload", "ListParts", "AbortMultipartUpload", "CreateMultipartUpload", "PutObject"}
	for _, code := range []string{"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "RequestTimeTooSkewed"} {
		for _, op := range ops {
			f := newProbeFake(s3mem.New("photos"), op)
			f.denyErr = s3mem.APIError(op, 403, code, "rejected")
			p := probePlan()
			p.CopySource = nil
			_, err := New(NewProbe(f, ProbeOptions{NoCreate: op == "PutObject"}), func(o *Options) { o.Profile = ProfileNoDefaults }).Check(context.Background(), p)
			if !errors.Is(err, mpu.ErrCredentials) || errors.Is(err, mpu.ErrPermissionDenied) || !strings.Contains(err.Error(), code) {
				t.Errorf("%s on %s: %v", code, op, err)
			}
		}
	}
}

// TestProbeNoAnswerIsAnError: when a call gets no answer at all (the endpoint refuses
// connections, or the SDK has no credentials to sign with), the preflight ends with that
// error instead of reporting steps as unknown with the SDK's text as their reason.
func TestProbeNoAnswerIsAnError(t *testing.T) {
	noAnswer := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
		Err: errors.New("get identity: failed to refresh cached credentials, no EC2 IMDS role found")}
	for _, op := range []string{"ListMultipartUploads", "UploadPart", "CompleteMultipartUpload", "ListParts", "AbortMultipartUpload", "CreateMultipartUpload", "PutObject"} {
		f := newProbeFake(s3mem.New("photos"), op)
		f.denyErr = noAnswer
		p := probePlan()
		p.CopySource = nil
		rep, err := New(NewProbe(f, ProbeOptions{NoCreate: op == "PutObject"}), func(o *Options) { o.Profile = ProfileNoDefaults }).Check(context.Background(), p)
		if err == nil || errors.Is(err, mpu.ErrPermissionDenied) || !strings.Contains(err.Error(), "no answer from the server") {
			t.Errorf("no answer on %s: report %v, error %v; want an error saying the server gave no answer", op, rep != nil, err)
		}
	}
}

// TestProbeSendsExpectedBucketOwner: an upload that names the bucket's
// expected owner sends x-amz-expected-bucket-owner with every request, so
// a bucket of another account answers 403 and stores nothing. The probe
// must send it too, on every request to the bucket, whichever way it
// decides Initiate: otherwise it talks to a bucket the caller said it does
// not trust (and creates a test upload there), and its verdict is not the
// upload's.
func TestProbeSendsExpectedBucketOwner(t *testing.T) {
	const owner = "444455556666"
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String("photos"), Key: aws.String("a.jpg"), ExpectedBucketOwner: aws.String(owner)}
	if got := PlanFromCreateInput(in).ExpectedBucketOwner; got != owner {
		t.Fatalf("PlanFromCreateInput dropped the expected bucket owner (%q)", got)
	}
	for _, tc := range []struct {
		name string
		deny []string
		opts func(store *s3mem.Client) (ProbeOptions, *probeFake)
	}{
		{"test upload", nil, func(*s3mem.Client) (ProbeOptions, *probeFake) { return ProbeOptions{}, nil }},
		{"conditional put", []string{"AbortMultipartUpload"}, func(*s3mem.Client) (ProbeOptions, *probeFake) { return ProbeOptions{}, nil }},
		{"no create", nil, func(*s3mem.Client) (ProbeOptions, *probeFake) { return ProbeOptions{NoCreate: true}, nil }},
		{"cleanup client", []string{"AbortMultipartUpload"}, func(store *s3mem.Client) (ProbeOptions, *probeFake) {
			c := newProbeFake(store)
			return ProbeOptions{Cleanup: c}, c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := s3mem.New("photos")
			store.PutObjectData("photos", "src", []byte("data"))
			f := newProbeFake(store, tc.deny...)
			opts, cleanup := tc.opts(store)
			p := probePlan()
			p.ExpectedBucketOwner = owner
			checkPlan(t, NewProbe(f, opts), p, ProfileNoDefaults)
			check := func(who string, pf *probeFake) {
				for i, c := range *pf.calls {
					if c == "HeadObject" { // the copy source: another bucket's owner, not the plan's
						continue
					}
					if got := (*pf.owners)[i]; got != owner {
						t.Errorf("%s call %d (%s) sent expected bucket owner %q, want %q", who, i, c, got, owner)
					}
				}
			}
			check("caller", f)
			if cleanup != nil {
				check("cleanup", cleanup)
			}
		})
	}
}

// TestProbeSendsSSECHeaders: an SSE-C upload's CreateMultipartUpload
// carries x-amz-server-side-encryption-customer-algorithm, a header policy
// conditions see (a bucket policy may deny or require SSE-C). The probe's
// Initiate requests (the test upload and the conditional put) must carry
// it too, with a well-formed key: the probe never holds the customer's
// key, so it uses a throwaway one, and nothing it sends is stored.
func TestProbeSendsSSECHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		deny []string
		op   string
	}{
		{"test upload", nil, "CreateMultipartUpload"},
		{"conditional put", []string{"AbortMultipartUpload"}, "PutObject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := s3mem.New("photos")
			f := newProbeFake(store, tc.deny...)
			p := probePlan()
			p.CopySource = nil
			p.SSE.CustomerAlgorithm = "AES256"
			rep := checkPlan(t, NewProbe(f, ProbeOptions{}), p, ProfileNoDefaults)
			if s, _ := rep.Step(mpu.Initiate); s.Decision != mpu.Allowed {
				t.Fatalf("Initiate %s %q", s.Decision, s.Reasons)
			}
			var sent []string
			for _, h := range *f.ssec {
				if strings.HasPrefix(h, tc.op+" ") {
					sent = append(sent, h)
				}
			}
			if len(sent) != 1 {
				t.Fatalf("%s requests with SSE-C headers: %q", tc.op, *f.ssec)
			}
			fields := strings.Split(sent[0], " ")
			key, err := base64.StdEncoding.DecodeString(fields[2])
			sum := md5.Sum(key)
			if fields[1] != "AES256" || err != nil || len(key) != 32 || fields[3] != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Fatalf("%s sent SSE-C headers %q; want AES256 with a 32-byte key and its MD5", tc.op, sent[0])
			}
			if len(store.Uploads()) != 0 || store.Object("photos", "a.jpg") != nil {
				t.Fatal("the probe left an upload or an object")
			}
		})
	}
}
