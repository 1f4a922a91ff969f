package cmdkit

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

// TestExplainNeverShowsEndpointPassword: an endpoint URL may carry a user and password
// (http://user:pass@host); the messages that name the server must not show the password.
func TestExplainNeverShowsEndpointPassword(t *testing.T) {
	const pass = "URLPASSWORD0123456789"
	for _, ep := range []string{"http://AKIAUSER:" + pass + "@127.0.0.1:9000", "https://u:" + url.QueryEscape(pass) + "@s3.example.test"} {
		a := NewApp("tool", io.Discard, io.Discard, nil, nil)
		a.Args = []string{"upload", "f", "s3://bkt/k"}
		a.G.EndpointURL = ep
		for _, err := range []error{sdkErr(404, "NoSuchBucket", nil), sdkErr(403, "AccessDenied", nil), sdkErr(403, "InvalidAccessKeyId", nil), sdkErr(301, "PermanentRedirect", nil)} {
			m := a.Explain(err)
			if strings.Contains(m.Text()+m.Detail, pass) {
				t.Errorf("endpoint %s, %v: the message shows the password: %q", ep, err, m.Text())
			}
		}
	}
}

// TestAWSConfigErrorsNameTheFlag: a profile that does not exist and a CA bundle that holds no
// certificate are named with their flag, the value and the next step.
func TestAWSConfigErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = us-east-1\n[profile other]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("this is not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CA_BUNDLE", "")
	tests := []struct {
		name  string
		set   func(g *Globals)
		wants []string
	}{
		{"profile missing", func(g *Globals) { g.Profile = "nope" }, []string{`--profile "nope"`, cfg, "AWS_PROFILE"}},
		{"CA bundle not PEM", func(g *Globals) { g.CABundle = notPEM }, []string{"--ca-bundle", notPEM, "PEM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewApp("tool", io.Discard, io.Discard, nil, nil)
			a.G.EndpointURL = "http://127.0.0.1:9000"
			tt.set(&a.G)
			_, err := a.AWSConfig(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			line := a.Explain(err).Line
			for _, w := range tt.wants {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
			if Code(err) != ExitUsage {
				t.Errorf("exit %d, want %d", Code(err), ExitUsage)
			}
		})
	}
}

// TestPrintErrorIsTerminalSafe: an error's text may quote a server's message or a name from
// the bucket; printed as text, no control character reaches the terminal raw (a carriage
// return could overwrite the line, an escape sequence change the terminal), while the lines
// the CLI itself puts after the first stay lines.
func TestPrintErrorIsTerminalSafe(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "InternalError", Message: "all fine\rnothing to see \x1b]0;owned\x07"}
	err := fmt.Errorf("upload s3://bkt/k\x1b[2J: %w\nupload U kept; resume with the same command", &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: api})
	for _, debug := range []bool{false, true} {
		var stderr strings.Builder
		a := NewApp("tool", io.Discard, &stderr, nil, nil)
		a.G.Debug = debug
		a.PrintError(err, ExitFailure)
		out := stderr.String()
		if strings.ContainsAny(out, "\r\x1b\x07") {
			t.Errorf("debug %v: raw control characters in %q", debug, out)
		}
		if !strings.Contains(out, "\nupload U kept; resume with the same command") {
			t.Errorf("debug %v: the CLI's own line is not a line of its own: %q", debug, out)
		}
	}
}
