package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// runCLI runs the CLI in-process with no AWS configuration from the machine.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var out, errb bytes.Buffer
	code = run(context.Background(), nil, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown command", []string{"bogus"}, "unknown command"},
		{"unknown flag", []string{"--bogus"}, "unknown flag"},
		{"unknown subcommand flag", []string{"uploads", "ls", "--nope", "s3://bucket"}, "unknown flag"},
		{"upload missing args", []string{"upload", "file"}, "expected 2 argument(s)"},
		{"upload bad URL", []string{"upload", "file", "bucket/key"}, "not an s3:// URL"},
		{"uploads ls bad URL", []string{"uploads", "ls", "http://x"}, "not an s3:// URL"},
		{"uploads abort without id", []string{"uploads", "abort", "s3://bucket/key"}, "--upload-id is required"},
		{"uploads abort bucket only", []string{"uploads", "abort", "s3://bucket", "--upload-id", "x"}, "names a bucket"},
		{"cleanup bad age", []string{"uploads", "cleanup", "s3://bucket", "--older-than", "7x"}, "--older-than"},
		{"bad endpoint scheme", []string{"--endpoint-url", "ftp://h", "uploads", "ls", "s3://bucket"}, "scheme must be http or https"},
		{"endpoint without host", []string{"--endpoint-url", "http://", "uploads", "ls", "s3://bucket"}, "no host"},
		{"missing CA bundle", []string{"--ca-bundle", "/nonexistent/ca.pem", "uploads", "ls", "s3://bucket"}, "--ca-bundle"},
		{"bad server profile", []string{"uploads", "ls", "s3://bucket", "--server-profile", "minio?", "--caller", "arn:aws:iam::111122223333:user/a"}, "--server-profile"},
		{"bad bucket owner", []string{"uploads", "ls", "s3://bucket", "--bucket-owner", "12", "--caller", "arn:aws:iam::111122223333:user/a"}, "--bucket-owner"},
		{"preflight unknown step", []string{"preflight", "s3://bucket/key", "--steps", "Initiate,Teleport"}, "--steps"},
		{"preflight copy step without source", []string{"preflight", "s3://bucket/key", "--steps", "UploadPartCopy"}, "copy source"},
		// An explicit zero is validated, not read as "the default".
		{"upload concurrency 0", []string{"upload", "file", "s3://bucket/key", "--concurrency", "0"}, "--concurrency 0: must be at least 1"},
		{"upload concurrency negative", []string{"upload", "file", "s3://bucket/key", "--concurrency", "-1"}, "--concurrency -1: must be at least 1"},
		{"upload part size 0", []string{"upload", "file", "s3://bucket/key", "--part-size", "0"}, "--part-size 0"},
		{"upload rate below a byte", []string{"upload", "file", "s3://bucket/key", "--rate-limit", "0.5"}, "--rate-limit"},
		{"cp concurrency 0", []string{"cp", "s3://src-bucket/k", "s3://dst-bucket/k", "--concurrency", "0"}, "--concurrency 0: must be at least 1"},
		{"cp copy threshold 0", []string{"cp", "s3://src-bucket/k", "s3://dst-bucket/k", "--copy-threshold", "0"}, "--copy-threshold 0: must be at least 1 byte"},
		{"cp part size 0", []string{"cp", "s3://src-bucket/k", "s3://dst-bucket/k", "--part-size", "0"}, "--part-size 0"},
		{"policy without subcommand", []string{"policy"}, "missing subcommand"},
		{"policy eval missing", []string{"policy", "eval", "--action", "s3:PutObject"}, "missing --caller, --resource"},
		{"policy eval bad grant", []string{"policy", "eval", "--caller", "arn:aws:iam::111122223333:user/a", "--action", "s3:PutObject", "--resource", "arn:aws:s3:::b/k", "--acl-grant", "WRITE=nobody"}, "--acl-grant"},
		{"policy eval bad context", []string{"policy", "eval", "--caller", "arn:aws:iam::111122223333:user/a", "--action", "s3:PutObject", "--resource", "arn:aws:s3:::b/k", "--context", "novalue"}, "KEY=VALUE"},
		{"policy eval bad caller", []string{"policy", "eval", "--caller", "alice", "--action", "s3:PutObject", "--resource", "arn:aws:s3:::b/k"}, "caller"},
		{"policy eval missing file", []string{"policy", "eval", "--caller", "arn:aws:iam::111122223333:user/a", "--action", "s3:PutObject", "--resource", "arn:aws:s3:::b/k", "--bucket-policy", "/nonexistent.json"}, "/nonexistent.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != cmdkit.ExitUsage {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, cmdkit.ExitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("stderr %q does not contain %q", errOut, tt.wantErr)
			}
			if out != "" {
				t.Fatalf("stdout not empty: %q", out)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "s3mpu ") {
		t.Fatalf("exit %d, out %q", code, out)
	}
}

func TestHelpListsCommandsAndExitCodes(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"upload", "preflight", "policy", "uploads", "--endpoint-url", "--ca-bundle", "--path-style", "--json", "--quiet", "130"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestJSONErrors(t *testing.T) {
	code, out, errOut := runCLI(t, "--json", "uploads", "ls", "nope")
	if code != cmdkit.ExitUsage || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	var e struct {
		Error    string `json:"error"`
		ExitCode int    `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(errOut), &e); err != nil {
		t.Fatalf("stderr is not JSON: %q", errOut)
	}
	if e.ExitCode != cmdkit.ExitUsage || !strings.Contains(e.Error, "not an s3:// URL") {
		t.Fatalf("got %+v", e)
	}
}

func TestCallerNotAskedOfAWSWithCustomEndpoint(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	a := newApp(context.Background(), nil, io.Discard, io.Discard)
	a.G.EndpointURL = "http://127.0.0.1:1"
	_, err := a.callerARN(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--sts-endpoint-url") {
		t.Fatalf("err = %v", err)
	}
}

func TestLineProgress(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := newProgress(progressLines, &buf, "upload s3://b/k", clock)
	p.start(64<<20, 4)
	p.sent(16 << 20)
	now = now.Add(time.Second)
	p.partDone() // within 2s of start: no line
	if buf.Len() != 0 {
		t.Fatalf("early line: %q", buf.String())
	}
	p.retry()
	p.sent(16 << 20)
	now = now.Add(time.Second)
	p.partDone()
	want := "upload s3://b/k: 32.0 MiB / 64.0 MiB (50%), parts 2/4, 16.0 MiB/s, ETA 2s, retries 1\n"
	if buf.String() != want {
		t.Fatalf("got  %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	p.sent(32 << 20)
	p.partDone()
	p.partDone() // within 2s of the last line: none
	if buf.Len() != 0 {
		t.Fatalf("early line: %q", buf.String())
	}
	p.finish(true)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "64.0 MiB / 64.0 MiB (100%), parts 4/4") || !strings.Contains(lines[0], "done in 2s") {
		t.Fatalf("got %q", buf.String())
	}

	// A resumed upload: stored bytes count as done but not in the rate.
	buf.Reset()
	r := newProgress(progressLines, &buf, "up", clock)
	r.start(40<<20, 4)
	r.skip(30<<20, 3)
	now = now.Add(5 * time.Second)
	r.sent(10 << 20)
	r.partDone()
	r.finish(true)
	if got := buf.String(); !strings.Contains(got, "40.0 MiB / 40.0 MiB (100%), parts 4/4, 2.0 MiB/s") {
		t.Fatalf("resumed line %q", got)
	}
}

func TestProgressModes(t *testing.T) {
	var buf bytes.Buffer
	if _, ok := newProgress(progressAuto, &buf, "x", time.Now).(*lineProgress); !ok {
		t.Error("auto on a non-terminal is not lines")
	}
	if _, ok := newProgress(progressNone, &buf, "x", time.Now).(nopProgress); !ok {
		t.Error("none is not nop")
	}
	if _, ok := newProgress(progressBar, &buf, "x", time.Now).(*barProgress); !ok {
		t.Error("bar is not a bar")
	}
	if _, err := parseProgressMode("fancy"); err == nil {
		t.Error("parseProgressMode(fancy): no error")
	}
}
