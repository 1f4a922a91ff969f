// Package s3test hands integration tests ready clients for the local S3-compatible test
// server (versitygw in IAM mode) started by `make server-start` (integration/cmd/s3server).
//
// A test starts with Load, which reads the server's env file. When the file is absent the
// test is skipped with a message saying how to start the server, unless S3MPU_REQUIRE_SERVER=1
// (set by CI), in which case it fails: integration tests never skip in CI.
//
//	env := s3test.Load(t)
//	bucket := env.NewBucket(t) // fails the test at cleanup if a multipart upload is left in it
//	for _, tgt := range env.Targets() {
//		t.Run(tgt.Name, func(t *testing.T) {
//			cli := env.S3(t, tgt, "root")
//			...
//		})
//	}
//
// Every bucket made with NewBucket is checked at cleanup: a multipart upload left in it fails
// the test (and is then aborted so the server stays clean). Users made with NewUser and
// policies attached with PutUserPolicy / PutBucketPolicy are removed at cleanup too.
//
// The helpers are safe for use by parallel tests.
package s3test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// RequireEnvVar, when set to 1, turns a missing server into a test failure instead of a skip.
const RequireEnvVar = "S3MPU_REQUIRE_SERVER"

// EnvFileVar overrides the env file's location.
const EnvFileVar = "S3MPU_SERVER_ENV"

// User is one set of credentials on the server.
type User struct {
	Name      string `json:"name"`
	ARN       string `json:"arn"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// String returns the user's name and ARN, never the secret key.
func (u User) String() string { return u.Name + " (" + u.ARN + ")" }

// Target is one way of reaching the server: plain HTTP or HTTPS.
type Target struct {
	Name     string // "http" or "https"
	Endpoint string // e.g. "https://127.0.0.1:38379"
	TLS      bool
}

// Env describes the running server. Get one with Load or Open.
type Env struct {
	RegionName    string          `json:"region"`
	Account       string          `json:"account_id"`
	HTTPEndpoint  string          `json:"http_endpoint"`
	HTTPSEndpoint string          `json:"https_endpoint"`
	IAMEndpoint   string          `json:"iam_endpoint"`
	CA            string          `json:"ca_file"`
	Users         map[string]User `json:"users"`
	Dir           string          `json:"dir"`

	mu         sync.Mutex
	extraUsers map[string]User
	httpClient *http.Client
}

// EnvFile returns the env file's path: $S3MPU_SERVER_ENV, else integration/.server/env.json
// found from the current directory upwards.
func EnvFile() string {
	if p := os.Getenv(EnvFileVar); p != "" {
		return p
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		for _, cand := range []string{filepath.Join(d, ".server", "env.json"), filepath.Join(d, "integration", ".server", "env.json")} {
			if _, err := os.Stat(cand); err == nil {
				return cand
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if ok {
		return filepath.Join(filepath.Dir(filepath.Dir(file)), ".server", "env.json")
	}
	return filepath.Join("integration", ".server", "env.json")
}

// Open reads the env file at path. Programs (benchmarks, examples) use it; tests use Load.
func Open(path string) (*Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e := &Env{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("s3test: env file %s: %w", path, err)
	}
	if e.HTTPEndpoint == "" || e.Users["root"].AccessKey == "" {
		return nil, fmt.Errorf("s3test: env file %s is incomplete", path)
	}
	e.httpClient = newHTTPClient(e.CA)
	e.extraUsers = map[string]User{}
	return e, nil
}

var (
	loadOnce sync.Once
	loaded   *Env
	loadErr  error
)

// Load returns the running server's description, reading the env file once per process.
// Without a server it skips the test, or fails it when S3MPU_REQUIRE_SERVER=1.
func Load(t testing.TB) *Env {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = Open(EnvFile()) })
	if loadErr != nil {
		msg := fmt.Sprintf("no test server: %v; start one with `make server-start` in the repository root", loadErr)
		if os.Getenv(RequireEnvVar) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return loaded
}

// Region returns the server's region.
func (e *Env) Region() string { return e.RegionName }

// AccountID returns the account every user of the server belongs to.
func (e *Env) AccountID() string { return e.Account }

// CAFile returns the PEM file holding the HTTPS endpoint's self-signed certificate.
func (e *Env) CAFile() string { return e.CA }

// HTTPClient returns an HTTP client that trusts the server's certificate.
func (e *Env) HTTPClient() *http.Client { return e.httpClient }

// Targets returns the HTTP and the HTTPS target.
func (e *Env) Targets() []Target {
	return []Target{
		{Name: "http", Endpoint: e.HTTPEndpoint},
		{Name: "https", Endpoint: e.HTTPSEndpoint, TLS: true},
	}
}

// HTTPS returns the HTTPS target.
func (e *Env) HTTPS() Target { return e.Targets()[1] }

// HTTP returns the plain HTTP target.
func (e *Env) HTTP() Target { return e.Targets()[0] }

// Endpoint returns the target's endpoint URL.
func (e *Env) Endpoint(tgt Target) string { return tgt.Endpoint }

// User returns the named user: "root", "alice", "bob", or one made by NewUser.
func (e *Env) User(name string) (User, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u, ok := e.Users[name]; ok {
		return u, true
	}
	u, ok := e.extraUsers[name]
	return u, ok
}

func (e *Env) mustUser(t testing.TB, name string) User {
	t.Helper()
	u, ok := e.User(name)
	if !ok {
		t.Fatalf("s3test: no user %q", name)
	}
	return u
}

// Config returns an aws.Config for the user against the target: static credentials, the
// server's region and endpoint, and an HTTP client that trusts the server's certificate.
// It does not read the machine's AWS configuration.
func (e *Env) Config(tgt Target, u User) aws.Config {
	return aws.Config{
		Region:       e.RegionName,
		Credentials:  credentials.NewStaticCredentialsProvider(u.AccessKey, u.SecretKey, ""),
		HTTPClient:   e.httpClient,
		BaseEndpoint: aws.String(tgt.Endpoint),
	}
}

// S3 returns an S3 client (path-style) for the named user against the target.
func (e *Env) S3(t testing.TB, tgt Target, user string) *s3.Client {
	t.Helper()
	return e.S3For(tgt, e.mustUser(t, user))
}

// S3For returns an S3 client (path-style) for u against the target.
func (e *Env) S3For(tgt Target, u User, optFns ...func(*s3.Options)) *s3.Client {
	fns := append([]func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = true }}, optFns...)
	return s3.NewFromConfig(e.Config(tgt, u), fns...)
}

// IAM returns an IAM client for root.
func (e *Env) IAM(t testing.TB) *iam.Client {
	t.Helper()
	return e.IAMClient()
}

// IAMClient returns an IAM client for root, for programs.
func (e *Env) IAMClient() *iam.Client {
	u := e.Users["root"]
	return iam.New(iam.Options{
		Region:       e.RegionName,
		BaseEndpoint: aws.String(e.IAMEndpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(u.AccessKey, u.SecretKey, ""),
		HTTPClient:   e.httpClient,
	})
}

// Root returns the root client over the target.
func (e *Env) Root(tgt Target) *s3.Client { return e.S3For(tgt, e.Users["root"]) }

// UniqueName returns prefix followed by a random suffix, lower case, valid as a bucket or user name.
func UniqueName(prefix string) string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	p := strings.ToLower(prefix)
	p = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, p)
	if len(p) > 40 {
		p = p[:40]
	}
	return strings.Trim(p, "-") + "-" + hex.EncodeToString(b)
}

func ctxFor(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// BucketOption changes how NewBucket makes a bucket.
type BucketOption func(*bucketOptions)

type bucketOptions struct {
	prefix    string
	ownership types.ObjectOwnership
}

// WithPrefix sets the bucket name's prefix (default: the test's name).
func WithPrefix(p string) BucketOption { return func(o *bucketOptions) { o.prefix = p } }

// WithObjectOwnership makes the bucket with the given Object Ownership, e.g.
// types.ObjectOwnershipBucketOwnerPreferred so that ACLs take effect.
func WithObjectOwnership(v types.ObjectOwnership) BucketOption {
	return func(o *bucketOptions) { o.ownership = v }
}

// NewBucket creates a uniquely named bucket owned by root. At cleanup it fails the test if
// any multipart upload is left in the bucket (listing them, then aborting them so the server
// stays clean), then deletes every object and the bucket.
func (e *Env) NewBucket(t testing.TB, opts ...BucketOption) string {
	t.Helper()
	o := bucketOptions{prefix: "t-" + t.Name()}
	for _, f := range opts {
		f(&o)
	}
	name := UniqueName(o.prefix)
	if len(name) > 63 {
		name = name[len(name)-63:]
		name = strings.TrimLeft(name, "-")
	}
	ctx, cancel := ctxFor(t)
	defer cancel()
	root := e.Root(e.HTTP())
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if o.ownership != "" {
		in.ObjectOwnership = o.ownership
	}
	if _, err := root.CreateBucket(ctx, in); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := ctxFor(t)
		defer cancel()
		if left := e.LeftUploads(ctx, t, name); len(left) > 0 {
			t.Errorf("s3test: %d multipart upload(s) left behind in bucket %s: %s", len(left), name, strings.Join(left, ", "))
		}
		if err := e.DeleteBucket(ctx, name); err != nil {
			t.Errorf("s3test: cleanup of bucket %s: %v", name, err)
		}
	})
	return name
}

// LeftUploads lists the multipart uploads in bucket, as "key (upload ID)", and aborts them.
// Tests normally rely on NewBucket's cleanup; the function is exported for tests that check
// the orphan check itself.
func (e *Env) LeftUploads(ctx context.Context, t testing.TB, bucket string) []string {
	t.Helper()
	ups, err := e.ListUploads(ctx, bucket)
	if err != nil {
		t.Errorf("s3test: list multipart uploads in %s: %v", bucket, err)
		return nil
	}
	var left []string
	root := e.Root(e.HTTP())
	for _, u := range ups {
		left = append(left, fmt.Sprintf("%s (%s)", aws.ToString(u.Key), aws.ToString(u.UploadId)))
		if _, err := root.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId}); err != nil {
			t.Errorf("s3test: abort left-over upload %s: %v", aws.ToString(u.UploadId), err)
		}
	}
	return left
}

// ListUploads returns every multipart upload in progress in bucket, as root.
func (e *Env) ListUploads(ctx context.Context, bucket string) ([]types.MultipartUpload, error) {
	root := e.Root(e.HTTP())
	var all []types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}
	for {
		out, err := root.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Uploads...)
		if !aws.ToBool(out.IsTruncated) {
			return all, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// DeleteBucket removes every object and upload in bucket, then the bucket, as root.
func (e *Env) DeleteBucket(ctx context.Context, bucket string) error {
	root := e.Root(e.HTTP())
	ups, err := e.ListUploads(ctx, bucket)
	if err != nil {
		return err
	}
	for _, u := range ups {
		_, _ = root.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId})
	}
	_, _ = root.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
	p := s3.NewListObjectsV2Paginator(root, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := root.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return err
			}
		}
	}
	_, err = root.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}

// NewUser creates an IAM user named prefix plus a random suffix, with an access key, and
// removes it (policies, keys, user) at cleanup.
func (e *Env) NewUser(t testing.TB, prefix string) User {
	t.Helper()
	ctx, cancel := ctxFor(t)
	defer cancel()
	u, err := e.CreateUser(ctx, UniqueName(prefix))
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := ctxFor(t)
		defer cancel()
		if err := e.DeleteUser(ctx, u.Name); err != nil {
			t.Errorf("s3test: cleanup of user %s: %v", u.Name, err)
		}
	})
	return u
}

// CreateUser makes an IAM user with an access key and remembers it for S3 and User.
// Programs use it; tests use NewUser.
func (e *Env) CreateUser(ctx context.Context, name string) (User, error) {
	ic := e.IAMClient()
	out, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", name, err)
	}
	k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return User{}, fmt.Errorf("create access key for %s: %w", name, err)
	}
	arn := aws.ToString(out.User.Arn)
	if arn == "" {
		arn = "arn:aws:iam::" + e.Account + ":user/" + name
	}
	u := User{Name: name, ARN: arn, AccessKey: aws.ToString(k.AccessKey.AccessKeyId), SecretKey: aws.ToString(k.AccessKey.SecretAccessKey)}
	e.mu.Lock()
	e.extraUsers[name] = u
	e.mu.Unlock()
	return u, nil
}

// DeleteUser removes a user's inline policies, access keys and the user.
func (e *Env) DeleteUser(ctx context.Context, name string) error {
	ic := e.IAMClient()
	var errs []error
	if pols, err := ic.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String(name)}); err == nil {
		for _, p := range pols.PolicyNames {
			if _, err := ic.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(p)}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if keys, err := ic.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name)}); err == nil {
		for _, k := range keys.AccessKeyMetadata {
			if _, err := ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: k.AccessKeyId}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := ic.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)}); err != nil {
		errs = append(errs, err)
	}
	e.mu.Lock()
	delete(e.extraUsers, name)
	e.mu.Unlock()
	return errors.Join(errs...)
}

// PutUserPolicy attaches an inline policy to the user (replacing one set earlier by this
// helper) and removes it at cleanup.
func (e *Env) PutUserPolicy(t testing.TB, user, policyJSON string) {
	t.Helper()
	ctx, cancel := ctxFor(t)
	defer cancel()
	ic := e.IAM(t)
	const name = "s3test"
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(policyJSON)}); err != nil {
		t.Fatalf("s3test: put user policy on %s: %v", user, err)
	}
	t.Cleanup(func() {
		ctx, cancel := ctxFor(t)
		defer cancel()
		_, _ = ic.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name)})
	})
}

// PutBucketPolicy sets the bucket's policy as root and deletes it at cleanup.
func (e *Env) PutBucketPolicy(t testing.TB, bucket, policyJSON string) {
	t.Helper()
	ctx, cancel := ctxFor(t)
	defer cancel()
	root := e.Root(e.HTTP())
	if _, err := root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policyJSON)}); err != nil {
		t.Fatalf("s3test: put bucket policy on %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		ctx, cancel := ctxFor(t)
		defer cancel()
		_, _ = root.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
	})
}

func newHTTPClient(caFile string) *http.Client {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if b, err := os.ReadFile(caFile); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}
