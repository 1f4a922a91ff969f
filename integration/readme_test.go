package integration

import (
	"bytes"
	"context"
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

// readmeBlock returns the fenced code block that follows the line "<!-- marker -->" in the
// repository's README.md, without its fences.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "<!-- "+marker+" -->\n")
	if !ok {
		t.Fatalf("README.md has no <!-- %s --> marker", marker)
	}
	fence, rest, ok := strings.Cut(after, "\n")
	if !ok || !strings.HasPrefix(fence, "```") {
		t.Fatalf("README.md: <!-- %s --> is not followed by a fenced block", marker)
	}
	body, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatalf("README.md: the block after <!-- %s --> is not closed", marker)
	}
	return body
}

// buildS3Server builds the server tool into a temporary directory of t.
func buildS3Server(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "s3server")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/s3server").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/s3server: %v\n%s", err, out)
	}
	return bin
}

// TestCLIThreeCommands runs the README's three commands from a clone to an upload with the
// CLI, as written, in a shell whose AWS settings point elsewhere (a profile, a session token,
// a general endpoint): `make server-start` and `.bin/s3server` become the test's own build of
// the server tool, aimed at the running server's directory; the rest runs verbatim in the
// repository root. The uploaded object must hold the file's bytes, and no multipart upload
// may be left.
func TestCLIThreeCommands(t *testing.T) {
	env := s3test.Load(t)
	block := readmeBlock(t, "cli-quickstart")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) != 3 || lines[0] != "make server-start" || !strings.HasPrefix(lines[1], `eval "$(.bin/s3server env -shell)"`) {
		t.Fatalf("the README's CLI quick start is no longer `make server-start`, eval, upload:\n%s", block)
	}
	up := strings.Fields(lines[2])
	if len(up) != 6 || strings.Join(up[:4], " ") != "go run ./examples/s3mpu upload" || !strings.HasPrefix(up[5], "s3://s3mpu-local/") {
		t.Fatalf("the README's third command is not `go run ./examples/s3mpu upload FILE s3://s3mpu-local/KEY`: %s", lines[2])
	}
	file, key := up[4], strings.TrimPrefix(up[5], "s3://s3mpu-local/")
	want, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}

	server := buildS3Server(t)
	tool := shQuote(server) + " -dir " + shQuote(filepath.Dir(s3test.EnvFile()))
	script := "set -e\n" +
		strings.Replace(lines[0], "make server-start", tool+" start", 1) + "\n" +
		strings.Replace(lines[1], ".bin/s3server", tool, 1) + "\n" +
		lines[2] + "\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := env.Root(env.HTTPS())
	t.Cleanup(func() {
		_, _ = root.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("s3mpu-local"), Key: aws.String(key)})
	})
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = ".."
	cmd.Env = cliEnv(t, "AWS_PROFILE=no-such-profile", "AWS_SESSION_TOKEN=not-for-this-server", "AWS_ENDPOINT_URL=https://127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's three commands failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "bucket s3://s3mpu-local is ready") || !strings.Contains(string(out), "uploaded "+file+" to s3://s3mpu-local/"+key) {
		t.Fatalf("output lacks the ready bucket or the upload's summary:\n%s", out)
	}
	for _, u := range env.Users {
		if strings.Contains(string(out), u.SecretKey) {
			t.Fatal("a secret key appeared in the commands' output")
		}
	}
	got, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("s3mpu-local"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	data, err := io.ReadAll(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("s3://s3mpu-local/%s holds %d bytes, not the %d bytes of %s", key, len(data), len(want), file)
	}
	if left := env.LeftUploads(ctx, t, "s3mpu-local"); len(left) != 0 {
		t.Fatalf("multipart uploads left in s3mpu-local: %v", left)
	}
}

// shQuote quotes s for a POSIX shell.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
