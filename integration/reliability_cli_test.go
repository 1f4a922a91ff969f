package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// relBuild builds the package, a path relative to dir (".." for the root module, "." for
// the integration module), into a temporary directory and returns the binary.
func relBuild(t testing.TB, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// cliRun is one run of the s3mpu CLI.
type relCLIRun struct {
	Args           []string
	Stdout, Stderr string
	Code           int
}

// cliEnv runs the s3mpu CLI against the test server as one user, isolated from the
// machine's AWS configuration: a fresh HOME, no shared config or credentials files, the
// server's CA bundle, credentials from the environment.
type relCLI struct {
	bin   string
	env   *s3test.Env
	tgt   s3test.Target
	user  s3test.User
	home  string
	extra []string // more environment variables
}

func newRelCLI(t testing.TB, env *s3test.Env, tgt s3test.Target, user s3test.User) *relCLI {
	t.Helper()
	return &relCLI{bin: relBuild(t, "..", "./examples/s3mpu", "s3mpu"), env: env, tgt: tgt, user: user, home: t.TempDir()}
}

// environ returns the child's environment.
func (c *relCLI) environ() []string {
	var keep []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		keep = append(keep, kv)
	}
	keep = append(keep,
		"HOME="+c.home,
		"AWS_CONFIG_FILE="+filepath.Join(c.home, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(c.home, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION="+c.env.Region(),
		"AWS_CA_BUNDLE="+c.env.CAFile(),
		"AWS_ACCESS_KEY_ID="+c.user.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+c.user.SecretKey,
	)
	return append(keep, c.extra...)
}

// globals are the flags that point the CLI at the test server.
func (c *relCLI) globals() []string {
	return []string{"--endpoint-url", c.tgt.Endpoint, "--iam-endpoint-url", c.env.IAMEndpoint, "--path-style"}
}

// run runs the CLI with the server flags first, then args, with stdin from in (may be nil).
func (c *relCLI) run(t testing.TB, in []byte, args ...string) relCLIRun {
	t.Helper()
	return c.runRaw(t, in, append(c.globals(), args...)...)
}

// runRaw runs the CLI with exactly args.
func (c *relCLI) runRaw(t testing.TB, in []byte, args ...string) relCLIRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.environ()
	cmd.Dir = c.home
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if in != nil {
		cmd.Stdin = bytes.NewReader(in)
	}
	err := cmd.Run()
	r := relCLIRun{Args: args, Stdout: so.String(), Stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("s3mpu %s: %v", strings.Join(args, " "), err)
	}
	return r
}
