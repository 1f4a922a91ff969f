package integration

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// cliErrorLine returns the first line of a command's error: s3mpu's "s3mpu: error: ..." on
// stderr, or the "error" of s3backup's --json summary (its first line).
func cliErrorLine(t *testing.T, tool string, r cliResult) string {
	t.Helper()
	if tool == "s3backup" {
		var s struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("s3backup printed no JSON summary: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
		}
		first, _, _ := strings.Cut(s.Error, "\n")
		return first
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		if msg, ok := strings.CutPrefix(line, "s3mpu: error: "); ok {
			return msg
		}
	}
	return ""
}

// sdkNoise are pieces of the AWS SDK's error text that must not reach a user without --debug.
var sdkNoise = []string{"operation error", "RequestID", "HostID", "StatusCode", "api error", "exceeded maximum number of attempts", "failed to refresh cached credentials", "x509:", "dial tcp"}

// expiredTokenServer answers every request as S3 does for expired temporary credentials.
// The test server has no session tokens, so this one row is served by a stub.
func expiredTokenServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// skewedClockServer answers every request as S3 does when the request's time is too far from
// the server's. The test cannot move this machine's clock, so this row is served by a stub.
func skewedClockServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedPort returns the URL of a local port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// TestCLIErrorMessages runs both commands into the common mistakes and checks that the first
// line of the error names the cause in plain words and the next step (a flag, an environment
// variable, a command), without the SDK's text; that --debug adds that detail; and the exit
// status. Every row runs against the test server, except expired credentials (a stub: the
// server has no session tokens).
func TestCLIErrorMessages(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	work := t.TempDir()
	bins := map[string]string{"s3mpu": buildCLI(t), "s3backup": buildS3backup(t, work)}
	file := cliWriteFile(t, work, "f.bin", cliRandomBytes(t, 1000))
	dir := filepath.Join(work, "dir")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cliWriteFile(t, dir, "a.txt", []byte("hello"))
	root, _ := env.User("root")
	denied := env.NewUser(t, "cli-denied") // no policy: every request on the bucket is denied
	missing := s3test.UniqueName("no-such-bucket")
	http, https := env.HTTP().Endpoint, env.HTTPS().Endpoint
	keys := func(u s3test.User) []string {
		return []string{"AWS_ACCESS_KEY_ID=" + u.AccessKey, "AWS_SECRET_ACCESS_KEY=" + u.SecretKey}
	}
	// target gives each tool's command for an S3 URL: an upload of file, a backup of dir.
	target := func(tool, bkt string) []string {
		if tool == "s3mpu" {
			return []string{"upload", file, "s3://" + bkt + "/errors/f.bin", "--progress", "none"}
		}
		return []string{"run", dir, "s3://" + bkt + "/errors", "--cache-dir", filepath.Join(work, "cache"), "--json"}
	}
	expired := expiredTokenServer(t)
	skewed := skewedClockServer(t)
	closed := closedPort(t)
	rows := []struct {
		name  string
		tools []string
		env   []string
		args  func(tool string) []string
		code  int
		want  []string // in the first line: the cause and the next step
	}{
		{"bucket does not exist", []string{"s3mpu", "s3backup"}, keys(root),
			func(tool string) []string { return append([]string{"--endpoint-url", http}, target(tool, missing)...) },
			1, []string{`bucket "` + missing + `" does not exist`, "--endpoint-url", "create the bucket"}},
		{"no credentials", []string{"s3mpu", "s3backup"}, nil,
			func(tool string) []string { return append([]string{"--endpoint-url", http}, target(tool, bucket)...) },
			1, []string{"no AWS credentials found", "AWS_ACCESS_KEY_ID", "--profile"}},
		{"unknown access key", []string{"s3mpu", "s3backup"}, []string{"AWS_ACCESS_KEY_ID=AKIANOSUCHKEY0000000", "AWS_SECRET_ACCESS_KEY=x"},
			func(tool string) []string { return append([]string{"--endpoint-url", http}, target(tool, bucket)...) },
			1, []string{"does not know the access key", "InvalidAccessKeyId", "AWS_ACCESS_KEY_ID"}},
		{"endpoint port closed", []string{"s3mpu", "s3backup"}, keys(root),
			func(tool string) []string { return append([]string{"--endpoint-url", closed}, target(tool, bucket)...) },
			1, []string{"cannot connect to " + closed, "connection refused", "is the server running", "--endpoint-url"}},
		{"self-signed server without CA", []string{"s3mpu", "s3backup"}, keys(root),
			func(tool string) []string { return append([]string{"--endpoint-url", https}, target(tool, bucket)...) },
			1, []string{"TLS certificate of " + https + " is not trusted", "--ca-bundle", "AWS_CA_BUNDLE"}},
		{"preflight on a missing bucket", []string{"s3mpu"}, keys(root),
			func(string) []string {
				return []string{"--endpoint-url", http, "preflight", "s3://" + missing + "/k", "--caller", root.ARN, "--server-profile", "nodefaults"}
			},
			1, []string{`bucket "` + missing + `" does not exist`, "create the bucket"}},
		{"preflight on a missing bucket, caller unknown", []string{"s3mpu"}, keys(root),
			func(string) []string { return []string{"--endpoint-url", http, "preflight", "s3://" + missing + "/k"} },
			1, []string{`bucket "` + missing + `" does not exist`}},
		{"wrong region", []string{"s3mpu", "s3backup"}, keys(root),
			func(tool string) []string {
				return append([]string{"--endpoint-url", http, "--region", "eu-west-1"}, target(tool, bucket)...)
			},
			1, []string{"is in region " + env.Region() + ", not eu-west-1", "--region " + env.Region()}},
		{"expired credentials", []string{"s3mpu", "s3backup"}, append(keys(root), "AWS_SESSION_TOKEN=expired-session"),
			func(tool string) []string {
				return append([]string{"--endpoint-url", expired}, target(tool, bucket)...)
			},
			1, []string{"credentials have expired", "ExpiredToken", "AWS_SESSION_TOKEN"}},
		{"clock skewed", []string{"s3mpu", "s3backup"}, append(keys(root), "AWS_MAX_ATTEMPTS=1"),
			func(tool string) []string {
				return append([]string{"--endpoint-url", skewed}, target(tool, bucket)...)
			},
			1, []string{"clock differs too much", "RequestTimeTooSkewed", "NTP"}},
		{"denied bucket", []string{"s3mpu", "s3backup"}, keys(denied),
			func(tool string) []string { return append([]string{"--endpoint-url", http}, target(tool, bucket)...) },
			1, []string{`access denied (AccessDenied) to bucket "` + bucket + `"`, "--profile", "preflight"}},
	}
	for _, row := range rows {
		for _, tool := range row.tools {
			t.Run(row.name+"/"+tool, func(t *testing.T) {
				e := cliEnv(t, row.env...)
				r := cliRunBin(t, bins[tool], e, nil, row.args(tool)...)
				if r.code != row.code {
					t.Errorf("exit %d, want %d", r.code, row.code)
				}
				line := cliErrorLine(t, tool, r)
				for _, w := range row.want {
					if !strings.Contains(line, w) {
						t.Errorf("first line lacks %q: %q\nstdout: %s\nstderr: %s", w, line, r.stdout, r.stderr)
					}
				}
				for _, n := range sdkNoise {
					if strings.Contains(r.stdout+r.stderr, n) {
						t.Errorf("the output holds the SDK's %q without --debug:\n%s%s", n, r.stdout, r.stderr)
					}
				}
				if strings.Contains(r.stdout, "STEP ") || strings.Contains(r.stdout, "result: ") {
					t.Errorf("the output lists verdicts instead of the cause:\n%s", r.stdout)
				}
				d := cliRunBin(t, bins[tool], e, nil, append([]string{"--debug"}, row.args(tool)...)...)
				if d.code != row.code || cliErrorLine(t, tool, d) != line {
					t.Errorf("with --debug: exit %d, first line %q; want the same as without", d.code, cliErrorLine(t, tool, d))
				}
				if !strings.Contains(d.stderr, tool+": detail: ") {
					t.Errorf("--debug printed no detail:\n%s", d.stderr)
				}
				t.Logf("%s", line)
			})
		}
	}
	if ups, err := env.ListUploads(t.Context(), bucket); err != nil || len(ups) != 0 {
		t.Fatalf("uploads left: %d (%v)", len(ups), err)
	}
}

// TestCLICredentialProcessOutputNeverShown: a profile's credential_process that prints its
// credentials followed by a note (not one JSON object) makes the SDK quote the whole output,
// secret key and session token included, in its error. No command of either tool may show
// them, with or without --debug or --json, and the first line names the credential process.
func TestCLICredentialProcessOutputNeverShown(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	work := t.TempDir()
	bins := map[string]string{"s3mpu": buildCLI(t), "s3backup": buildS3backup(t, work)}
	const secret, token = "CREDPROCSECRET0123456789abcdef", "CREDPROCTOKEN0123456789abcdef"
	script := filepath.Join(work, "creds.sh")
	body := "#!/bin/sh\ncat <<EOF\n{\n  \"Version\": 1,\n  \"AccessKeyId\": \"AKIACREDPROC\",\n  \"SecretAccessKey\": \"" + secret +
		"\",\n  \"SessionToken\": \"" + token + "\"\n}\nnote: served from cache\nEOF\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(work, "config")
	if err := os.WriteFile(config, []byte("[default]\ncredential_process = "+script+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := cliWriteFile(t, work, "f.bin", cliRandomBytes(t, 100))
	dir := filepath.Join(work, "dir")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cliWriteFile(t, dir, "a.txt", []byte("hello"))
	ep := []string{"--endpoint-url", env.HTTP().Endpoint}
	runs := map[string][][]string{
		"s3mpu": {
			{"upload", file, "s3://" + bucket + "/k", "--progress", "none"},
			{"uploads", "ls", "s3://" + bucket},
			{"preflight", "s3://" + bucket + "/k", "--mode", "probe"},
			{"preflight", "s3://" + bucket + "/k", "--mode", "local", "--caller", "arn:aws:iam::000000000000:user/alice"},
			{"preflight", "s3://" + bucket + "/k"},
		},
		"s3backup": {
			{"run", dir, "s3://" + bucket + "/p", "--cache-dir", filepath.Join(work, "cache")},
			{"verify", "s3://" + bucket + "/p", dir},
			{"restore", "s3://" + bucket + "/p", filepath.Join(work, "out")},
		},
	}
	e := cliEnv(t)
	for i, kv := range e {
		if strings.HasPrefix(kv, "AWS_CONFIG_FILE=") {
			e[i] = "AWS_CONFIG_FILE=" + config
		}
	}
	for tool, cmds := range runs {
		for _, args := range cmds {
			for _, flags := range [][]string{nil, {"--debug"}, {"--json"}, {"--debug", "--json"}} {
				all := append(append(append([]string{}, flags...), ep...), args...)
				r := cliRunBin(t, bins[tool], e, nil, all...)
				out := r.stdout + r.stderr
				if strings.Contains(out, secret) || strings.Contains(out, token) {
					t.Errorf("%s %s shows the credential process's secret key or token:\n%s", tool, strings.Join(all, " "), out)
				}
				if r.code != 1 {
					t.Errorf("%s %s: exit %d, want 1:\n%s", tool, strings.Join(all, " "), r.code, out)
				}
				if !strings.Contains(out, "credential_process") {
					t.Errorf("%s %s does not name the credential process:\n%s", tool, strings.Join(all, " "), out)
				}
			}
		}
	}
}
