package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildCLI builds the s3mpu binary into a temporary directory of t and returns its path.
// It builds in the repository root, whose module holds the CLI's dependencies.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "s3mpu")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/s3mpu")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/s3mpu: %v\n%s", err, out)
	}
	return bin
}

// cliEnv is an environment for the binary with no AWS configuration from the machine:
// extra holds KEY=VALUE pairs (credentials, region) for the test.
func cliEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, append([]string{
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION=us-east-1",
	}, extra...)...)
}

// cliResult is one run of the binary.
type cliResult struct {
	code           int
	stdout, stderr string
}

func cliRunBin(t *testing.T, bin string, env []string, stdin []byte, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// TestCLIPolicyEval runs `s3mpu policy eval` against the policy files in testdata/cli and
// checks the decision on the first line, the exit status, and that bad input names the file
// and the statement. It needs no server: policy eval makes no network call.
func TestCLIPolicyEval(t *testing.T) {
	bin := buildCLI(t)
	env := cliEnv(t)
	const (
		alice = "arn:aws:iam::111122223333:user/alice"
		bob   = "arn:aws:iam::111122223333:user/bob"
		root  = "arn:aws:iam::111122223333:root"
		carol = "arn:aws:iam::222233334444:user/carol"
		sess  = "arn:aws:sts::111122223333:assumed-role/uploader/s1"
		obj   = "arn:aws:s3:::example-bucket/db.tar"
		key   = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	)
	td := func(name string) string { return filepath.Join("testdata", "cli", name) }
	tests := []struct {
		name     string
		args     []string
		decision string // first line; "" for bad input
		code     int
		stderr   []string // substrings of stderr for bad input
		reason   string   // substring of the output after the first line
	}{
		{"identity allow", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("allow-put.json")}, "allowed", 0, nil, `Sid "PutObjects"`},
		{"no statement allows", []string{"--caller", alice, "--action", "s3:GetObject", "--resource", obj, "--identity-policy", td("allow-put.json")}, "implicitDeny", 3, nil, "no identity or resource policy statement allows"},
		{"explicit deny of abort", []string{"--caller", alice, "--action", "s3:AbortMultipartUpload", "--resource", obj, "--identity-policy", td("deny-abort.json"), "--initiator", alice}, "explicitDeny", 3, nil, `Sid "NeverAbort"`},
		{"initiator may abort by default", []string{"--caller", alice, "--action", "s3:AbortMultipartUpload", "--resource", obj, "--initiator", alice}, "allowed", 0, nil, "initiator"},
		{"initiator default absent on nodefaults server", []string{"--caller", alice, "--action", "s3:AbortMultipartUpload", "--resource", obj, "--initiator", alice, "--server-profile", "nodefaults"}, "implicitDeny", 3, nil, "no owner-or-initiator defaults"},
		{"someone else's upload", []string{"--caller", alice, "--action", "s3:AbortMultipartUpload", "--resource", obj, "--initiator", bob}, "implicitDeny", 3, nil, ""},
		{"initiator's account root lists parts", []string{"--caller", root, "--action", "s3:ListMultipartUploadParts", "--resource", obj, "--initiator", bob}, "allowed", 0, nil, ""},
		{"cross account with bucket grant", []string{"--caller", carol, "--action", "s3:PutObject", "--resource", obj, "--resource-account", "111122223333", "--identity-policy", td("allow-put.json"), "--bucket-policy", td("bucket-grant-other-account.json")}, "allowed", 0, nil, "cross-account"},
		{"cross account without bucket grant", []string{"--caller", carol, "--action", "s3:PutObject", "--resource", obj, "--resource-account", "111122223333", "--identity-policy", td("allow-put.json")}, "implicitDeny", 3, nil, "resource policy does not"},
		{"cross account by ACL grant", []string{"--caller", carol, "--action", "s3:PutObject", "--resource", obj, "--resource-account", "111122223333", "--identity-policy", td("allow-put.json"), "--acl-grant", "WRITE=account:222233334444", "--object-ownership", "BucketOwnerPreferred"}, "allowed", 0, nil, ""},
		{"ACL grant ignored when owner enforced", []string{"--caller", carol, "--action", "s3:PutObject", "--resource", obj, "--resource-account", "111122223333", "--identity-policy", td("allow-put.json"), "--acl-grant", "WRITE=account:222233334444", "--object-ownership", "BucketOwnerEnforced"}, "implicitDeny", 3, nil, ""},
		{"VPC endpoint policy", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("allow-put.json"), "--vpce-policy", td("vpce-read-only.json")}, "implicitDeny", 3, nil, "VPC endpoint policy"},
		{"insecure transport denied", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("allow-put.json"), "--bucket-policy", td("deny-insecure-transport.json"), "--context", "aws:SecureTransport=false"}, "explicitDeny", 3, nil, `Sid "TLSOnly"`},
		{"secure transport allowed", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("allow-put.json"), "--bucket-policy", td("deny-insecure-transport.json"), "--context", "aws:SecureTransport=true"}, "allowed", 0, nil, ""},
		{"key policy delegates to IAM", []string{"--caller", alice, "--action", "kms:GenerateDataKey", "--resource", key, "--identity-policy", td("allow-kms.json"), "--key-policy", td("key-policy-root.json")}, "allowed", 0, nil, "delegates"},
		{"key policy delegates, no IAM grant", []string{"--caller", alice, "--action", "kms:GenerateDataKey", "--resource", key, "--key-policy", td("key-policy-root.json")}, "implicitDeny", 3, nil, "no identity policy allows"},
		{"object ARN context", []string{"--caller", alice, "--action", "kms:Decrypt", "--resource", key, "--key-policy", td("key-policy-object-context.json"), "--context", "kms:EncryptionContext:aws:s3:arn=" + obj}, "allowed", 0, nil, ""},
		{"bucket key changes the context", []string{"--caller", alice, "--action", "kms:Decrypt", "--resource", key, "--key-policy", td("key-policy-object-context.json"), "--context", "kms:EncryptionContext:aws:s3:arn=" + obj, "--bucket-key"}, "implicitDeny", 3, nil, ""},
		{"permissions boundary limits the identity grant", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("allow-put.json"), "--permissions-boundary", td("boundary-read-only.json")}, "implicitDeny", 3, nil, "permissions boundary does not allow"},
		{"permissions boundary and identity both allow", []string{"--caller", alice, "--action", "s3:GetObject", "--resource", obj, "--identity-policy", td("deny-abort.json"), "--permissions-boundary", td("boundary-read-only.json")}, "allowed", 0, nil, `boundary policy "testdata/cli/boundary-read-only.json"`},
		{"session policy allows within the role's grant", []string{"--caller", sess, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("deny-abort.json"), "--session-policy", td("session-uploads-only.json")}, "allowed", 0, nil, `Sid "Uploads"`},
		{"session policy limits the role's grant", []string{"--caller", sess, "--action", "s3:GetObject", "--resource", obj, "--identity-policy", td("deny-abort.json"), "--session-policy", td("session-uploads-only.json")}, "implicitDeny", 3, nil, "session policy does not allow"},
		{"an Allow in any session policy counts", []string{"--caller", sess, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("deny-abort.json"), "--session-policy", td("boundary-read-only.json"), "--session-policy", td("session-uploads-only.json")}, "allowed", 0, nil, `Sid "Uploads"`},
		{"no session policy allows", []string{"--caller", sess, "--action", "s3:DeleteObject", "--resource", obj, "--identity-policy", td("deny-abort.json"), "--session-policy", td("boundary-read-only.json"), "--session-policy", td("session-uploads-only.json")}, "implicitDeny", 3, nil, "session policy does not allow"},
		{"a Deny in a session policy denies", []string{"--caller", sess, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::example-bucket/x/part.bin", "--identity-policy", td("deny-abort.json"), "--session-policy", td("allow-all-deny-homes-and-parts.json")}, "explicitDeny", 3, nil, `session policy "testdata/cli/allow-all-deny-homes-and-parts.json" statement 1 (Sid "NoHomesNoParts")`},
		{"variable with no value leaves the rest of the Deny", []string{"--caller", sess, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::example-bucket/x/part.bin", "--identity-policy", td("allow-all-deny-homes-and-parts.json")}, "explicitDeny", 3, nil, `Sid "NoHomesNoParts"`},
		{"variable with no value matches no resource", []string{"--caller", sess, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::example-bucket/home/s1/notes.txt", "--identity-policy", td("allow-all-deny-homes-and-parts.json")}, "allowed", 0, nil, `Sid "Everything"`},
		{"variable resolved for a user", []string{"--caller", alice, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::example-bucket/home/alice/notes.txt", "--identity-policy", td("allow-all-deny-homes-and-parts.json")}, "explicitDeny", 3, nil, `Sid "NoHomesNoParts"`},
		{"permissions boundary on the root user", []string{"--caller", root, "--action", "s3:GetObject", "--resource", obj, "--permissions-boundary", td("boundary-read-only.json")}, "", 2, []string{"permissions boundary", "root"}, ""},
		{"session policy for an IAM user", []string{"--caller", alice, "--action", "s3:GetObject", "--resource", obj, "--session-policy", td("session-uploads-only.json")}, "", 2, []string{"session policies apply only to role sessions"}, ""},
		{"malformed session policy", []string{"--caller", sess, "--action", "s3:PutObject", "--resource", obj, "--session-policy", td("session-uploads-only.json"), "--session-policy", td("malformed-effect.json")}, "", 2, []string{"malformed-effect.json", "statement 1", `"Broken"`}, ""},
		{"unreadable permissions boundary", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--permissions-boundary", td("absent.json")}, "", 2, []string{"--permissions-boundary", "absent.json"}, ""},
		{"malformed statement", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("malformed-effect.json")}, "", 2, []string{"malformed-effect.json", "statement 1", `"Broken"`, "Effect"}, ""},
		{"malformed JSON", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--bucket-policy", td("malformed-json.json")}, "", 2, []string{"malformed-json.json", "JSON"}, ""},
		{"unreadable file", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", td("absent.json")}, "", 2, []string{"absent.json"}, ""},
		{"resource not an ARN", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", "example-bucket/db.tar"}, "", 2, []string{"not an ARN"}, ""},
		{"missing caller", []string{"--action", "s3:PutObject", "--resource", obj}, "", 2, []string{"--caller"}, ""},
		{"bad grant", []string{"--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--acl-grant", "WRITE"}, "", 2, []string{"--acl-grant"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cliRunBin(t, bin, env, nil, append([]string{"policy", "eval"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.decision == "" {
				if r.stdout != "" {
					t.Errorf("stdout on bad input: %q", r.stdout)
				}
				for _, s := range tt.stderr {
					if !strings.Contains(r.stderr, s) {
						t.Errorf("stderr %q lacks %q", r.stderr, s)
					}
				}
				return
			}
			first, rest, _ := strings.Cut(r.stdout, "\n")
			if first != tt.decision {
				t.Fatalf("first line %q, want %q\n%s", first, tt.decision, r.stdout)
			}
			if strings.TrimSpace(rest) == "" {
				t.Errorf("no reasons after the decision")
			}
			if tt.reason != "" && !strings.Contains(rest, tt.reason) {
				t.Errorf("reasons lack %q:\n%s", tt.reason, rest)
			}
			// The same request with --json: same decision and exit status, reasons present.
			j := cliRunBin(t, bin, env, nil, append([]string{"--json", "policy", "eval"}, tt.args...)...)
			var got struct {
				Decision string   `json:"decision"`
				Reasons  []string `json:"reasons"`
			}
			if err := json.Unmarshal([]byte(j.stdout), &got); err != nil {
				t.Fatalf("--json output is not JSON: %v\n%s", err, j.stdout)
			}
			if j.code != tt.code || got.Decision != tt.decision || len(got.Reasons) == 0 {
				t.Fatalf("--json: exit %d decision %q reasons %q; want exit %d decision %q", j.code, got.Decision, got.Reasons, tt.code, tt.decision)
			}
		})
	}
}
