package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// TestPolicyEvalBoundaryAndSession runs `policy eval` with --permissions-boundary and
// --session-policy: the first line is the decision, the exit status 0 or 3, and --json names
// the boundary and session statements that decided.
func TestPolicyEvalBoundaryAndSession(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const (
		alice = "arn:aws:iam::111122223333:user/alice"
		sess  = "arn:aws:sts::111122223333:assumed-role/uploader/s1"
		obj   = "arn:aws:s3:::bkt/k"
		part  = "arn:aws:s3:::bkt/x/part.bin"
	)
	all := file("all.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	get := file("get.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	put := file("put.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Put","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`)
	// A Deny whose first Resource entry has a variable with no value for a role session.
	deny := file("deny.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Sid":"NoParts","Effect":"Deny","Action":"s3:GetObject","Resource":["arn:aws:s3:::bkt/home/${aws:username}/*","arn:aws:s3:::bkt/*/part.bin"]}]}`)
	// A Deny that needs a condition key the request may not be given.
	denyTag := file("deny-tag.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Sid":"OnlyTeam","Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"blocked"}}}]}`)
	bad := file("bad.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"s3:*","Resource":"*"}]}`)

	base := func(caller, action, resource string) []string {
		return []string{"policy", "eval", "--caller", caller, "--action", action, "--resource", resource, "--identity-policy", all}
	}
	tests := []struct {
		name     string
		args     []string
		decision string
		code     int
		kind     string // kind of a deciding statement in --json
		want     string // substring of stdout (text) or stderr (bad input)
	}{
		{"boundary allows", append(base(alice, "s3:GetObject", obj), "--permissions-boundary", get), "allowed", 0, "boundary", `boundary policy "` + get + `" statement 0 (Sid "Get")`},
		{"boundary does not allow", append(base(alice, "s3:PutObject", obj), "--permissions-boundary", get), "implicitDeny", 3, "", "the permissions boundary does not allow the request"},
		{"session policy allows", append(base(sess, "s3:PutObject", obj), "--session-policy", get, "--session-policy", put), "allowed", 0, "session", `session policy "` + put + `" statement 0 (Sid "Put")`},
		{"no session policy allows", append(base(sess, "s3:DeleteObject", obj), "--session-policy", get, "--session-policy", put), "implicitDeny", 3, "", "the session policy does not allow the request"},
		{"session policy Deny with a variable that has no value", append(base(sess, "s3:GetObject", part), "--session-policy", deny), "explicitDeny", 3, "session", `Sid "NoParts"`},
		{"allowed only while a Deny's key is missing", []string{"policy", "eval", "--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", denyTag}, "allowed", cmdkit.ExitFailure, "", "not decided: allowed only while the missing context above is absent"},
		{"the key given: the Deny applies", []string{"policy", "eval", "--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", denyTag, "--context", "aws:RequestTag/team=blocked"}, "explicitDeny", 3, "identity", `Sid "OnlyTeam"`},
		{"the key given: nothing denies", []string{"policy", "eval", "--caller", alice, "--action", "s3:PutObject", "--resource", obj, "--identity-policy", denyTag, "--context", "aws:RequestTag/team=ok"}, "allowed", 0, "", "allowed"},
		{"boundary on the root user", append(base("arn:aws:iam::111122223333:root", "s3:GetObject", obj), "--permissions-boundary", get), "", cmdkit.ExitUsage, "", "a permissions boundary applies only to IAM users and roles"},
		{"session policy for an IAM user", append(base(alice, "s3:GetObject", obj), "--session-policy", get), "", cmdkit.ExitUsage, "", "session policies apply only to role sessions and federated users"},
		{"malformed session policy", append(base(sess, "s3:GetObject", obj), "--session-policy", get, "--session-policy", bad), "", cmdkit.ExitUsage, "", "malformed policy in file " + bad + ": statement 0"},
		{"missing boundary file", append(base(alice, "s3:GetObject", obj), "--permissions-boundary", filepath.Join(dir, "none.json")), "", cmdkit.ExitUsage, "", "--permissions-boundary: cannot read policy file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			if tt.decision == "" {
				if out != "" || !strings.Contains(errOut, tt.want) {
					t.Fatalf("stdout %q, stderr %q: want no stdout and %q", out, errOut, tt.want)
				}
				return
			}
			if first, _, _ := strings.Cut(out, "\n"); first != tt.decision {
				t.Fatalf("first line %q, want %q\n%s", first, tt.decision, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			code, out, _ = runCLI(t, append([]string{"--json"}, tt.args...)...)
			var got evalJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("--json output is not JSON: %v\n%s", err, out)
			}
			if code != tt.code || got.Decision != tt.decision || len(got.Reasons) == 0 {
				t.Fatalf("--json: exit %d decision %q reasons %q", code, got.Decision, got.Reasons)
			}
			if tt.kind != "" {
				found := false
				for _, s := range got.Statements {
					found = found || s.Kind == tt.kind
				}
				if !found {
					t.Errorf("--json statements %+v name no %s statement", got.Statements, tt.kind)
				}
			}
		})
	}
}
