package cmdkit

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/smithy-go"
)

// processCredsErr returns the error the SDK gives an S3 request when the profile's
// credential_process prints output that is not one JSON object (here: valid credentials
// followed by a note, as wrappers that cache credentials sometimes print).
func processCredsErr(t *testing.T, output string) error {
	t.Helper()
	p := processcreds.NewProvider("printf '" + output + "'")
	_, err := aws.NewCredentialsCache(p).Retrieve(context.Background())
	if err == nil {
		t.Fatal("the credential process output was accepted")
	}
	return fmt.Errorf("listing multipart uploads in s3://bkt: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "ListMultipartUploads",
		Err: fmt.Errorf("get identity: get credentials: %w", err)})
}

// flattened is err as S3's credential resolver passes it on: its text only (%v).
func flattened(err error) error {
	return fmt.Errorf("listing multipart uploads in s3://bkt: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "ListMultipartUploads",
		Err: fmt.Errorf("get identity: get credentials: %v", err)})
}

// TestExplainNeverShowsProcessCredentials: the SDK quotes a credential process's whole output
// when it cannot parse it, and that output holds the secret key and the session token. They
// must appear neither in the message nor in the --debug detail, in text or JSON.
func TestExplainNeverShowsProcessCredentials(t *testing.T) {
	const secret, token = "PROCSECRETKEY0123456789", "PROCSESSIONTOKEN0123456789"
	outputs := []string{
		`{\n  "Version": 1,\n  "AccessKeyId": "AKIAPROC",\n  "SecretAccessKey": "` + secret + `",\n  "SessionToken": "` + token + `"\n}\nnote: cached\n`,
		`{"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "` + secret + `", "SessionToken": "` + token + `"} trailing`,
		`{"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "` + secret + `", "SessionToken": "` + token + `", error: x`,
	}
	for i, out := range outputs {
		typed := processCredsErr(t, out)
		if !strings.Contains(typed.Error(), secret) {
			t.Fatalf("case %d: the SDK no longer quotes the output (%v); this test needs a new shape", i, typed)
		}
		for _, err := range []error{typed, flattened(typed), fmt.Errorf("%w\nthe CLI's own line", flattened(typed))} {
			for _, debug := range []bool{false, true} {
				for _, js := range []bool{false, true} {
					var stderr strings.Builder
					a := NewApp("tool", io.Discard, &stderr, &js, nil)
					a.G.Debug = debug
					a.PrintError(err, ExitFailure)
					got := stderr.String()
					if strings.Contains(got, secret) || strings.Contains(got, token) {
						t.Errorf("case %d, debug %v, json %v: output shows the credentials:\n%s", i, debug, js, got)
					}
					if !strings.Contains(got, "credential_process") {
						t.Errorf("case %d: output does not name the credential process:\n%s", i, got)
					}
				}
			}
		}
	}
}

// TestExplainMoreIsTheCLIsOwnLines: after a mapped first line, only the lines the CLI itself
// added follow; lines inside the SDK's error text are detail (shown with --debug only).
func TestExplainMoreIsTheCLIsOwnLines(t *testing.T) {
	a := NewApp("tool", io.Discard, io.Discard, nil, nil)
	sdk := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
		Err: fmt.Errorf("get identity: get credentials: failed to refresh cached credentials, provider said:\nline two of the provider\nline three")}
	err := fmt.Errorf("upload s3://bkt/k: %w\nupload U kept; resume with the same command", sdk)
	m := a.Explain(err)
	if len(m.More) != 1 || m.More[0] != "upload U kept; resume with the same command" {
		t.Errorf("More = %q, want only the CLI's own line", m.More)
	}
	if !strings.Contains(m.Detail, "line two of the provider") {
		t.Errorf("detail %q lost the SDK's text", m.Detail)
	}
}

// TestInfoNeverShowsProcessCredentials: a warning can quote an error as text only (a
// preflight step's reason, say), with the credential process's output inside and more text
// after it. The output is withheld, the rest of the warning kept.
func TestInfoNeverShowsProcessCredentials(t *testing.T) {
	const secret, token = "PROCSECRETKEY0123456789", "PROCSESSIONTOKEN0123456789"
	out := `{\n  "Version": 1,\n  "AccessKeyId": "AKIAPROC",\n  "SecretAccessKey": "` + secret + `",\n  "SessionToken": "` + token + `"\n}\nnote: cached\n`
	err := processCredsErr(t, out)
	var stderr strings.Builder
	a := NewApp("tool", io.Discard, &stderr, nil, nil)
	a.Info("warning: could not decide Initiate:\n  Initiate: PutObject answered %s, which says nothing about permissions\n  Complete: answered %s, which says nothing", err.Error(), err.Error())
	got := stderr.String()
	if strings.Contains(got, secret) || strings.Contains(got, token) {
		t.Errorf("the warning shows the credentials:\n%s", got)
	}
	for _, want := range []string{"which says nothing about permissions", "  Complete: answered", "not shown"} {
		if !strings.Contains(got, want) {
			t.Errorf("the warning lost %q:\n%s", want, got)
		}
	}
}
