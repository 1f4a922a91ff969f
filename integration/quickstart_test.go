package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

const quickstartDir = "testdata/quickstart"

// The README's library quick start is the quick-start module's main.go, byte for byte.
func TestLibraryQuickStartMatchesREADME(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(quickstartDir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readmeBlock(t, "library-quickstart"); got != string(src) {
		t.Fatalf("README.md's library quick start differs from %s/main.go; copy the file into the README block", quickstartDir)
	}
}

// TestLibraryQuickStart builds the quick-start module (its own go.mod, as a user's module
// would have) and runs it against the server over HTTPS, configured only through the
// environment the README names: an allowed upload succeeds and prints the preflight report
// and progress; a user whose policy denies AbortMultipartUpload is refused before a byte is
// sent (exit 3); an unreachable IAM endpoint leaves the verdicts undecided (exit 4).
func TestLibraryQuickStart(t *testing.T) {
	env := s3test.Load(t)
	bin := filepath.Join(t.TempDir(), "quickstart")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = quickstartDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", quickstartDir, err, out)
	}
	bucket := env.NewBucket(t)
	data := make([]byte, 20<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	writer, noabort := env.NewUser(t, "qs-writer"), env.NewUser(t, "qs-noabort")
	// The users may also read IAM, where the preflight reads their policies (Resource "*":
	// on the user's own ARN versitygw v1.8.0 denies the two listings it does not implement).
	readIAM := func(policy string) string {
		return strings.Replace(policy, `"Statement":[`, `"Statement":[{"Sid":"ReadIAM","Effect":"Allow","Action":["iam:GetUser","iam:List*","iam:GetUserPolicy","iam:GetPolicy*"],"Resource":"*"},`, 1)
	}
	env.PutUserPolicy(t, writer.Name, readIAM(cliPolicyAll(bucket)))
	env.PutUserPolicy(t, noabort.Name, readIAM(cliPolicyDenyAbort(bucket)))

	run := func(u s3test.User, iamEndpoint, key string) cliResult {
		t.Helper()
		vars := cliEnv(t,
			"AWS_ACCESS_KEY_ID="+u.AccessKey, "AWS_SECRET_ACCESS_KEY="+u.SecretKey,
			"AWS_ENDPOINT_URL_S3="+env.HTTPSEndpoint, "AWS_ENDPOINT_URL_IAM="+iamEndpoint,
			"AWS_CA_BUNDLE="+env.CAFile(), "AWS_REGION="+env.Region())
		r := cliRunBin(t, bin, vars, nil, "-caller", u.ARN, "-server-profile", "nodefaults", file, bucket, key)
		if strings.Contains(r.stdout+r.stderr, u.SecretKey) {
			t.Fatal("the secret key appears in the quick start's output")
		}
		return r
	}
	ctx := context.Background()
	root := env.Root(env.HTTPS())
	stored := func(key string) []byte {
		t.Helper()
		out, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("allowed", func(t *testing.T) {
		r := run(writer, env.IAMEndpoint, "ok.bin")
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{
			"preflight s3://" + bucket + "/ok.bin as " + writer.ARN,
			"Abort ", "started: 20971520 bytes in ", "part 1 stored",
			fmt.Sprintf("uploaded s3://%s/ok.bin: 20971520 bytes, CRC32C ", bucket),
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if !bytes.Equal(stored("ok.bin"), data) {
			t.Error("the stored object differs from the file")
		}
	})
	t.Run("denied", func(t *testing.T) {
		r := run(noabort, env.IAMEndpoint, "denied.bin")
		if r.code != 3 || !strings.HasPrefix(r.stderr, "not started: ") || !strings.Contains(r.stderr, "Abort is denied") {
			t.Fatalf("exit %d, want 3 and the denied case\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout, "started: ") || stored("denied.bin") != nil {
			t.Fatal("a denied preflight let the upload start")
		}
	})
	t.Run("undecided", func(t *testing.T) {
		r := run(writer, "http://127.0.0.1:1", "undecided.bin")
		if r.code != 4 || !strings.HasPrefix(r.stderr, "not started, permissions undecided: ") {
			t.Fatalf("exit %d, want 4 and the undecided case\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout, "started: ") || stored("undecided.bin") != nil {
			t.Fatal("an undecided preflight let the upload start")
		}
	})
}
