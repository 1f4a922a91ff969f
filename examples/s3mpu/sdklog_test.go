package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// cutShortServer answers every PUT with 403 Forbidden whose body is cut short: it announces
// more bytes than it sends and closes the connection, as a server does that refuses a large
// upload without reading it. The SDK then fails to read the error body and fails to discard
// the rest of it.
func cutShortServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Den`
		_, _ = buf.WriteString("HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n" + body)
		_ = buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		// Drain what the client still sends so that it reads the response, not a reset.
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDeniedCutShortPUT: a denied PUT whose error body is cut short prints nothing from the
// SDK's own logger, and the message names the HTTP status instead of only "deserialization
// failed".
func TestDeniedCutShortPUT(t *testing.T) {
	srv := cutShortServer(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCUTSHORT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "cut-short-secret")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, bytes.Repeat([]byte{1}, 256<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// The SDK's default logger writes to the process's stderr, not to the CLI's stream:
	// capture both.
	procErr := captureProcessStderr(t)
	var out, errb bytes.Buffer
	code := run(context.Background(), nil, []string{"--endpoint-url", srv.URL, "upload", file, "s3://bucket-x/k", "--preflight", "off", "--progress", "none", "--debug"},
		strings.NewReader(""), &out, &errb)
	stderr := errb.String() + procErr()
	t.Logf("exit %d, stderr:\n%s", code, stderr)
	if code != cmdkit.ExitFailure {
		t.Errorf("exit %d, want %d", code, cmdkit.ExitFailure)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(line, "s3mpu: ") {
			t.Errorf("stderr line not from the CLI: %q", line)
		}
	}
	if strings.Contains(stderr, "SDK") || strings.Contains(stderr, "WARN") {
		t.Errorf("the SDK's logger printed: %q", stderr)
	}
	first, _, _ := strings.Cut(stderr, "\n")
	if !strings.Contains(first, "access denied (HTTP 403 Forbidden)") {
		t.Errorf("the first line does not name the denial: %q", first)
	}
	// --debug adds the detail, where the status replaces the SDK's deserialization failure.
	if !strings.Contains(stderr, "HTTP 403 Forbidden (access denied)") || strings.Contains(stderr, "deserialization failed") {
		t.Errorf("the message does not name HTTP status 403 in place of the SDK's deserialization failure: %q", stderr)
	}
	if strings.Contains(stderr, "cut-short-secret") {
		t.Errorf("stderr reveals the secret key")
	}
}

// captureProcessStderr points os.Stderr at a pipe until the returned function is called,
// which restores it and returns what was written.
func captureProcessStderr(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stderr
	os.Stderr = w
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- string(b)
	}()
	done := false
	restore := func() string {
		if done {
			return ""
		}
		done = true
		os.Stderr = orig
		_ = w.Close()
		s := <-got
		_ = r.Close()
		return s
	}
	t.Cleanup(func() { restore() })
	return restore
}

func TestErrorMessageJoined(t *testing.T) {
	plain := errors.New("plain failure")
	if got := cmdkit.Message(plain); got != "plain failure" {
		t.Errorf("cmdkit.Message(plain) = %q", got)
	}
	// A response error behind errors.Join (an abort failure joined to the cause) is named too.
	cut := &awshttp.ResponseError{RequestID: "req-1", ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusNotFound}},
		Err:      &smithy.DeserializationError{Err: errors.New("unexpected EOF")}}}
	op := &smithy.OperationError{ServiceID: "S3", OperationName: "AbortMultipartUpload", Err: cut}
	err := errors.Join(errors.New("part 2 failed"), fmt.Errorf("abort: %w", op))
	got := cmdkit.Message(err)
	if !strings.Contains(got, "part 2 failed") || !strings.Contains(got, "AbortMultipartUpload, HTTP 404 Not Found (not found); the server's error response could not be read (unexpected EOF)") ||
		strings.Contains(got, "deserialization failed") {
		t.Errorf("errorMessage = %q", got)
	}
	// A response error the SDK could read keeps its text: it names the code already.
	api := &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
	readable := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusForbidden}}, Err: api}}}
	if got := cmdkit.Message(readable); got != readable.Error() {
		t.Errorf("cmdkit.Message(readable) = %q, want %q", got, readable.Error())
	}
}
