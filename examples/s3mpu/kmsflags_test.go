package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

const (
	kmsTestAccount   = "111122223333"
	kmsTestCaller    = "arn:aws:iam::111122223333:user/ci"
	kmsTestKey       = "arn:aws:kms:us-east-1:111122223333:key/1111aaaa-0000-0000-0000-000000000001"
	kmsTestSourceKey = "arn:aws:kms:us-east-1:111122223333:key/2222bbbb-0000-0000-0000-000000000002"
)

// kmsS3Server answers HeadObject with an SSE-KMS source object encrypted with
// kmsTestSourceKey, and every KMS request with AccessDeniedException (so a key policy the
// test does not supply is a gap). It records the KMS operations asked.
type kmsS3Server struct {
	*httptest.Server
	mu       sync.Mutex
	ops      []string
	s3Writes int
	// kmsError is the KMS error type every KMS request gets; AccessDeniedException by default.
	kmsError string
}

func newKMSS3Server(t *testing.T) *kmsS3Server {
	t.Helper()
	s := &kmsS3Server{kmsError: "AccessDeniedException"}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if target := r.Header.Get("X-Amz-Target"); target != "" {
			s.mu.Lock()
			s.ops = append(s.ops, target)
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":%q,"message":"no"}`, s.kmsError)
			return
		}
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			s.mu.Lock()
			s.s3Writes++
			s.mu.Unlock()
		}
		if r.Method == http.MethodHead {
			w.Header().Set("x-amz-server-side-encryption", "aws:kms")
			w.Header().Set("x-amz-server-side-encryption-aws-kms-key-id", kmsTestSourceKey)
			w.Header().Set("Content-Length", "0")
			w.Header().Set("ETag", `"e"`)
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(s.Close)
	return s
}

func writeJSONFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// kmsPreflight runs `preflight --json` for an SSE-KMS plan with every policy supplied but the
// ones extra adds, against srv for S3 and KMS.
func kmsPreflight(t *testing.T, srv *kmsS3Server, extra ...string) (int, preflightJSON, string) {
	t.Helper()
	dir := t.TempDir()
	id := writeJSONFile(t, dir, "id.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:*"],"Resource":"*"}]}`)
	bp := writeJSONFile(t, dir, "bucket.json", `{"Version":"2012-10-17","Statement":[]}`)
	kp := writeJSONFile(t, dir, "key.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDKMSTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "kms-test-secret")
	t.Setenv("AWS_ENDPOINT_URL_KMS", srv.URL)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	args := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--json", "preflight", "s3://dst-bucket/k",
		"--mode", "local", "--caller", kmsTestCaller, "--bucket-owner", kmsTestAccount, "--server-profile", "aws",
		"--identity-policy", id, "--bucket-policy", bp, "--object-ownership", "BucketOwnerEnforced",
		"--sse", "aws:kms", "--sse-kms-key-id", kmsTestKey, "--key-policy", kp}
	args = append(args, extra...)
	for i, a := range args {
		if a == "KEYPOLICY" {
			args[i] = kp
		}
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), nil, args, strings.NewReader(""), &out, &errb)
	var rep preflightJSON
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("stdout is not the report: %v\n%s", err, out.String())
		}
	}
	return code, rep, errb.String()
}

// TestPreflightKMSSeedFlag: --kms-require-seed-actions makes the seed row count (not advisory).
func TestPreflightKMSSeedFlag(t *testing.T) {
	srv := newKMSS3Server(t)
	code, rep, stderr := kmsPreflight(t, srv)
	if rep.KMSSeed == nil || !rep.KMSSeed.Advisory || rep.KMSSeed.Label == "" {
		t.Fatalf("without the flag: exit %d, kms_seed %+v, stderr %q", code, rep.KMSSeed, stderr)
	}
	code, rep, stderr = kmsPreflight(t, srv, "--kms-require-seed-actions")
	if rep.KMSSeed == nil || rep.KMSSeed.Advisory {
		t.Fatalf("with --kms-require-seed-actions: exit %d, kms_seed %+v, stderr %q", code, rep.KMSSeed, stderr)
	}
}

// TestPreflightSourceKeyPolicyFlag: with --copy-source the source object's key is found with
// HeadObject, and --source-key-policy supplies that key's policy, closing the gap kmsperm
// reports without it.
func TestPreflightSourceKeyPolicyFlag(t *testing.T) {
	srv := newKMSS3Server(t)
	sourceGap := func(rep preflightJSON) bool {
		for _, g := range rep.Gaps {
			if strings.Contains(g.Hint, "--source-key-policy") {
				return true
			}
		}
		return false
	}
	code, rep, stderr := kmsPreflight(t, srv, "--copy-source", "s3://src-bucket/obj")
	if !sourceGap(rep) {
		t.Fatalf("without --source-key-policy: exit %d, no gap for the source key: gaps %+v, stderr %q", code, rep.Gaps, stderr)
	}
	if rep.APICalls["s3:HeadObject"] != 1 {
		t.Errorf("api_calls %v: want one s3:HeadObject", rep.APICalls)
	}
	code, rep, stderr = kmsPreflight(t, srv, "--copy-source", "s3://src-bucket/obj", "--source-key-policy", "KEYPOLICY")
	if sourceGap(rep) {
		t.Fatalf("with --source-key-policy: exit %d, still a gap for the source key: gaps %+v, stderr %q", code, rep.Gaps, stderr)
	}
	var copyRow *kmsJSON
	for i, k := range rep.KMS {
		if k.Step == "UploadPartCopy" {
			copyRow = &rep.KMS[i]
		}
	}
	if copyRow == nil || !strings.Contains(strings.Join(copyRow.Resources, ","), "2222bbbb") {
		t.Fatalf("UploadPartCopy KMS row %+v does not check the source key", copyRow)
	}
}

func TestKMSFlagUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"preflight", "s3://dst-bucket/k", "--kms-require-seed-actions"}, "--kms-require-seed-actions needs --sse aws:kms"},
		{[]string{"upload", "f", "s3://dst-bucket/k", "--kms-require-seed-actions", "--sse", "AES256"}, "--kms-require-seed-actions needs --sse aws:kms"},
		{[]string{"cp", "s3://src-bucket/k", "s3://dst-bucket/k", "--kms-require-seed-actions"}, "--kms-require-seed-actions needs --sse aws:kms"},
		{[]string{"preflight", "s3://dst-bucket/k", "--source-key-policy", "p.json"}, "--source-key-policy needs --copy-source"},
		{[]string{"upload", "f", "s3://dst-bucket/k", "--source-key-policy", "p.json"}, "unknown flag: --source-key-policy"},
		{[]string{"preflight", "s3://dst-bucket/k", "--copy-source", "s3://src-bucket/k", "--source-key-policy", "/nonexistent/p.json", "--caller", kmsTestCaller, "--endpoint-url", "http://127.0.0.1:9"}, "/nonexistent/p.json"},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != cmdkit.ExitUsage || !strings.Contains(errOut, tt.want) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and %q", tt.args, code, errOut, out, tt.want)
		}
	}
}

// TestPreflightKMSKeyNotFound: a --sse-kms-key-id that KMS does not know is invalid input
// (exit 2) naming the key, for preflight and for upload in any preflight mode but off; the
// upload sends nothing.
func TestPreflightKMSKeyNotFound(t *testing.T) {
	srv := newKMSS3Server(t)
	srv.kmsError = "NotFoundException"
	const missing = "alias/no-such-key"
	code, _, stderr := kmsPreflight(t, srv, "--sse-kms-key-id", missing)
	t.Logf("preflight: exit %d, stderr %q", code, stderr)
	for _, want := range []string{"--sse-kms-key-id " + missing, "does not exist in account " + kmsTestAccount + ", Region us-east-1"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("preflight stderr %q does not say %q", stderr, want)
		}
	}
	if code != cmdkit.ExitUsage {
		t.Errorf("preflight: exit %d, want %d; stderr %q", code, cmdkit.ExitUsage, stderr)
	}

	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"warn", "enforce"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), nil, []string{"--endpoint-url", srv.URL, "upload", file, "s3://dst-bucket/k", "--preflight", mode,
			"--mode", "local", "--caller", kmsTestCaller, "--identity-policy", writeJSONFile(t, t.TempDir(), "id.json", `{"Version":"2012-10-17","Statement":[]}`),
			"--sse", "aws:kms", "--sse-kms-key-id", missing, "--progress", "none"}, strings.NewReader(""), &out, &errb)
		if code != cmdkit.ExitUsage || !strings.Contains(errb.String(), missing) || !strings.Contains(errb.String(), "does not exist") {
			t.Errorf("upload --preflight %s: exit %d, stderr %q", mode, code, errb.String())
		}
	}
	if srv.s3Writes != 0 {
		t.Errorf("the upload sent %d write request(s)", srv.s3Writes)
	}
}
