package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/spf13/cobra"
)

func (a *app) policyCmd() *cobra.Command {
	return a.groupCmd("policy", "Evaluate IAM and S3 policies offline", a.policyEvalCmd())
}

// policyEvalFlags are the flags of `s3mpu policy eval`.
type policyEvalFlags struct {
	caller, action, resource string
	vpcePolicy               string
	boundary                 string
	sessionPolicies          []string
	resourceAccount          string
	initiator                string
	bucketKey                bool
	policySourceFlags
}

const policyEvalLong = `Evaluate one request offline, with no network call at all: the IAM policy logic
(explicit Deny wins; same-account Allow from an identity or a resource policy; cross-account
both; a permissions boundary and the session policies, when given, must also allow), then
S3's own layer (bucket ACL grants and Object Ownership, the VPC endpoint policy,
the owner-or-initiator defaults for AbortMultipartUpload and ListMultipartUploadParts, and the
S3 Bucket Key's encryption context for kms: actions).

The first line of the output is exactly one of: allowed, explicitDeny, implicitDeny; the
reasons follow. With --json: one object with "decision" and "reasons" (and the deciding
statements, missing context keys and risks).

Exit status: 0 allowed, 3 denied, 2 bad input (an unreadable or malformed policy is named with
its file and statement), 1 allowed only while a condition key the policies refer to is absent
from the request context (listed as "missing context"; give it with --context KEY=VALUE).`

func (a *app) policyEvalCmd() *cobra.Command {
	var f policyEvalFlags
	cmd := &cobra.Command{
		Use:   "eval --caller ARN --action ACTION --resource ARN [flags]",
		Short: "Evaluate one request against policy files, offline",
		Long:  policyEvalLong,
		Example: `  s3mpu policy eval --caller arn:aws:iam::111122223333:user/alice --action s3:PutObject \
    --resource arn:aws:s3:::backups/db.tar --identity-policy alice.json --bucket-policy bucket.json
  s3mpu policy eval --caller arn:aws:iam::111122223333:user/bob --action s3:AbortMultipartUpload \
    --resource arn:aws:s3:::backups/db.tar --initiator arn:aws:iam::111122223333:user/bob --json`,
		Args: cmdkit.ExactArgs(0),
	}
	fs := cmd.Flags()
	fs.StringVar(&f.caller, "caller", "", "the caller's ARN (user, role, assumed-role session or account root) (required)")
	fs.StringVar(&f.action, "action", "", "the action, e.g. s3:PutObject (required)")
	fs.StringVar(&f.resource, "resource", "", "the resource ARN, e.g. arn:aws:s3:::bucket/key (required)")
	f.policySourceFlags.register(fs, true)
	fs.StringVar(&f.vpcePolicy, "vpce-policy", "", "VPC endpoint policy file")
	fs.StringVar(&f.boundary, "permissions-boundary", "", "the caller's permissions boundary policy file (IAM users and roles)")
	stringArrayFlag(fs, &f.sessionPolicies, "session-policy", "session policy file of a role session or federated user; repeatable: an Allow in any of them counts")
	fs.StringVar(&f.resourceAccount, "resource-account", "", "account ID owning the resource; default: from the resource ARN, else the caller's account")
	fs.StringVar(&f.initiator, "initiator", "", "ARN of the upload's initiator, for the Abort / ListParts default rules")
	fs.BoolVar(&f.bucketKey, "bucket-key", false, "an S3 Bucket Key is enabled (the KMS encryption context is the bucket ARN)")
	cmd.RunE = a.RunE(func(cmd *cobra.Command, _ []string) error {
		in, err := f.evalInput()
		if err != nil {
			return err
		}
		res, err := preflight.EvaluateRequest(in)
		if err != nil {
			return policyInputError(err)
		}
		if err := a.printEval(in, res); err != nil {
			return err
		}
		if res.Decision != mpu.Allowed {
			return cmdkit.SilentExit(cmdkit.ExitDenied)
		}
		if len(res.MissingKeys) > 0 {
			// Allowed only while the missing keys are absent: a statement that
			// needs them (a Deny's condition, say) could still refuse the real
			// request, so exit 0 would promise more than was shown.
			return cmdkit.SilentExit(cmdkit.ExitFailure)
		}
		return nil
	})
	return cmd
}

// evalInput checks the flags and reads the policy files.
func (f *policyEvalFlags) evalInput() (preflight.EvalInput, error) {
	var missing []string
	for _, r := range []struct{ name, val string }{{"--caller", f.caller}, {"--action", f.action}, {"--resource", f.resource}} {
		if strings.TrimSpace(r.val) == "" {
			missing = append(missing, r.name)
		}
	}
	if len(missing) > 0 {
		return preflight.EvalInput{}, cmdkit.UsageErrorf("policy eval: missing %s", strings.Join(missing, ", "))
	}
	in := preflight.EvalInput{Caller: f.caller, Action: f.action, Resource: f.resource, ResourceAccount: f.resourceAccount, Initiator: f.initiator, BucketKey: f.bucketKey}
	var err error
	if in.IdentityPolicies, err = readPolicyFiles("--identity-policy", f.identityPolicies); err != nil {
		return in, err
	}
	for _, p := range []struct {
		flag, path string
		doc        *mpu.PolicyDocument
	}{
		{"--bucket-policy", f.bucketPolicy, &in.BucketPolicy},
		{"--key-policy", f.keyPolicy, &in.KeyPolicy},
		{"--vpce-policy", f.vpcePolicy, &in.VPCEndpointPolicy},
		{"--permissions-boundary", f.boundary, &in.Boundary},
	} {
		if *p.doc, err = readOptionalPolicy(p.flag, p.path); err != nil {
			return in, err
		}
	}
	if in.Session, err = readPolicyFiles("--session-policy", f.sessionPolicies); err != nil {
		return in, err
	}
	if f.objectOwnership != "" {
		if in.ObjectOwnership, err = preflight.ParseObjectOwnership(f.objectOwnership); err != nil {
			return in, cmdkit.UsageErrorf("--object-ownership: %v", trimPkg(err))
		}
	}
	if in.ACLGrants, err = parseACLGrants(f.aclGrants); err != nil {
		return in, err
	}
	if in.Context, err = cmdkit.ParseMultiKeyValues("context", f.context); err != nil {
		return in, cmdkit.UsageErr(err)
	}
	if in.Profile, err = preflight.ParseProfile(f.serverProfile); err != nil {
		return in, cmdkit.UsageErrorf("--server-profile: %v", trimPkg(err))
	}
	return in, nil
}

// readPolicyFile reads one policy document; the file's path is its name in reasons and errors.
func readPolicyFile(flag, path string) (mpu.PolicyDocument, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return mpu.PolicyDocument{}, cmdkit.UsageErrorf("%s: cannot read policy file: %v", flag, err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return mpu.PolicyDocument{}, cmdkit.UsageErrorf("%s: policy file %s is empty", flag, path)
	}
	return mpu.PolicyDocument{Name: path, JSON: b}, nil
}

// readPolicyFiles reads the policy files of a repeatable flag, in order.
func readPolicyFiles(flag string, paths []string) ([]mpu.PolicyDocument, error) {
	var docs []mpu.PolicyDocument
	for _, p := range paths {
		d, err := readPolicyFile(flag, p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// parseACLGrants parses the --acl-grant flags, in order.
func parseACLGrants(flags []string) ([]preflight.ACLGrant, error) {
	var grants []preflight.ACLGrant
	for _, g := range flags {
		grant, err := preflight.ParseACLGrant(g)
		if err != nil {
			return nil, cmdkit.UsageErrorf("--acl-grant: %s", trimPkg(err))
		}
		grants = append(grants, grant)
	}
	return grants, nil
}

func readOptionalPolicy(flag, path string) (mpu.PolicyDocument, error) {
	if path == "" {
		return mpu.PolicyDocument{}, nil
	}
	return readPolicyFile(flag, path)
}

// policyInputError maps an evaluation error: bad input (a malformed policy, ARN or grant) is
// a usage error naming the file and the statement; anything else is a failure.
func policyInputError(err error) error {
	var pe *preflight.PolicyError
	if errors.As(err, &pe) {
		msg := "malformed policy in file " + pe.Policy
		if pe.Statement >= 0 {
			msg += fmt.Sprintf(": statement %d", pe.Statement)
			if pe.Sid != "" {
				msg += fmt.Sprintf(" (Sid %q)", pe.Sid)
			}
		}
		if pe.Field != "" {
			msg += ": " + pe.Field
		}
		return cmdkit.UsageErr(errors.New(msg + ": " + pe.Msg))
	}
	if errors.Is(err, mpu.ErrInvalidInput) {
		return cmdkit.UsageErr(errors.New(trimPkg(err)))
	}
	return err
}

// trimPkg drops the "preflight: " prefix from library errors shown to users.
// The library's ": invalid input" suffix is dropped too: the exit status says it.
func trimPkg(err error) string {
	return strings.TrimSuffix(strings.TrimPrefix(err.Error(), "preflight: "), ": invalid input")
}

// evalJSON is the --json output of `policy eval`.
type evalJSON struct {
	Decision    string             `json:"decision"`
	Reasons     []string           `json:"reasons"`
	Statements  []mpu.StatementRef `json:"statements"`
	MissingKeys []string           `json:"missing_keys"`
	DefaultRule string             `json:"default_rule,omitempty"`
	Risks       []string           `json:"risks"`
	Caller      string             `json:"caller"`
	Action      string             `json:"action"`
	Resource    string             `json:"resource"`
}

func (a *app) printEval(in preflight.EvalInput, res preflight.EvalResult) error {
	if a.g.json {
		return a.PrintJSON(evalJSON{
			Decision: res.Decision.String(), Reasons: nonNil(res.Reasons), Statements: nonNilRefs(res.Statements),
			MissingKeys: nonNil(res.MissingKeys), DefaultRule: res.DefaultRule, Risks: nonNil(res.Risks),
			Caller: in.Caller, Action: in.Action, Resource: in.Resource,
		})
	}
	if a.g.quiet {
		return nil
	}
	var b strings.Builder
	b.WriteString(res.Decision.String() + "\n")
	for _, r := range res.Reasons {
		b.WriteString("  " + cmdkit.TermText(r) + "\n")
	}
	for _, s := range res.Statements {
		fmt.Fprintf(&b, "  deciding: %s (%s)\n", s, s.Effect)
	}
	if res.DefaultRule != "" {
		fmt.Fprintf(&b, "  default rule: %s\n", res.DefaultRule)
	}
	for _, k := range res.MissingKeys {
		fmt.Fprintf(&b, "  missing context: %s\n", cmdkit.TermText(k))
	}
	if res.Decision == mpu.Allowed && len(res.MissingKeys) > 0 {
		b.WriteString("  not decided: allowed only while the missing context above is absent; give it with --context KEY=VALUE\n")
	}
	for _, r := range res.Risks {
		fmt.Fprintf(&b, "  risk: %s\n", cmdkit.TermText(r))
	}
	_, err := fmt.Fprint(a.stdout, b.String())
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilRefs(s []mpu.StatementRef) []mpu.StatementRef {
	if s == nil {
		return []mpu.StatementRef{}
	}
	return s
}
