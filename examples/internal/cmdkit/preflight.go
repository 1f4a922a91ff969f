package cmdkit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/spf13/pflag"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
)

// The values of --preflight, the permission check before an upload: off, warn (report the
// denials and go on; the default of both commands) or enforce (refuse to start).
const (
	GateOff     = "off"
	GateWarn    = "warn"
	GateEnforce = "enforce"
)

// RegisterGate adds --preflight (default warn) to fs.
func RegisterGate(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "preflight", GateWarn, "permission check before anything is sent: off, warn (report denials and go on) or enforce (refuse to start when a step is denied)")
}

// ValidateGate checks a --preflight value.
func ValidateGate(v string) error {
	switch v {
	case GateOff, GateWarn, GateEnforce:
		return nil
	}
	return UsageErrorf("--preflight %q: want off, warn or enforce", v)
}

// RegisterMode adds the evaluator flag, --mode (default auto), to fs.
func RegisterMode(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "mode", "auto", "evaluator: local (policy documents), simulate (IAM policy simulator), probe (live, side-effect free calls) or auto")
}

// ValidateMode checks a --mode value.
func ValidateMode(v string) error {
	switch v {
	case "auto", "local", "simulate", "probe":
		return nil
	}
	return UsageErrorf("--mode %q: want local, simulate, probe or auto", v)
}

// RegisterServerProfile adds --server-profile (default aws) to fs.
func RegisterServerProfile(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "server-profile", "aws", "permission rules of the server: aws, or nodefaults for servers without S3's owner-or-initiator defaults (such as versitygw)")
}

// ParseServerProfile parses a --server-profile value ("no-defaults" is accepted for nodefaults).
func ParseServerProfile(v string) (preflight.Profile, error) {
	prof, err := preflight.ParseProfile(v)
	if err != nil {
		return prof, UsageErrorf("--server-profile: %s", strings.TrimPrefix(err.Error(), "preflight: "))
	}
	return prof, nil
}

// HiddenAliases makes each old flag name of fs an alias of its new name: the old name is
// still accepted, and help shows only the new one.
func HiddenAliases(fs *pflag.FlagSet, oldToNew map[string]string) {
	prev := fs.GetNormalizeFunc()
	fs.SetNormalizeFunc(func(f *pflag.FlagSet, name string) pflag.NormalizedName {
		if n, ok := oldToNew[name]; ok {
			name = n
		}
		return prev(f, name)
	})
}

// Evaluator builds the evaluator --mode asks for. local reads the identity policies through
// IAM when none are given and IAM is reachable; simulate needs IAM; auto is preflight.NewAuto:
// the simulator on AWS when no identity policy is given, then the local engine, then the probe
// for whatever is still unknown. kind names it for summaries ("local+probe").
func (a *App) Evaluator(ctx context.Context, mode string, client *s3.Client, local preflight.LocalOptions, probe preflight.ProbeOptions) (eval preflight.Evaluator, kind string, err error) {
	local.S3 = client
	if len(local.Sources.Identity) == 0 && a.G.IAMReachable() {
		if local.IAM, err = a.IAMClient(ctx); err != nil {
			return nil, "", err
		}
	}
	loc := preflight.NewLocal(local)
	switch mode {
	case "local":
		return loc, "local", nil
	case "probe":
		return preflight.NewProbe(client, probe), "probe", nil
	case "simulate":
		if !a.G.IAMReachable() {
			return nil, "", UsageErrorf("--mode simulate needs IAM's policy simulator: AWS, or an --iam-endpoint-url that serves it")
		}
		ic, err := a.IAMClient(ctx)
		if err != nil {
			return nil, "", err
		}
		return preflight.NewSimulate(ic, loc), "simulate", nil
	}
	var sim preflight.SimulateAPI
	kind = "local+probe"
	if !a.G.CustomS3Endpoint() && len(local.Sources.Identity) == 0 {
		ic, err := a.IAMClient(ctx)
		if err != nil {
			return nil, "", err
		}
		sim, kind = ic, "simulate+local+probe"
	}
	return preflight.NewAuto(local, sim, preflight.NewProbe(client, probe)), kind, nil
}

// Checker is what runs a preflight: a *preflight.Checker, or a CallerlessProbe.
type Checker interface {
	Check(ctx context.Context, p *preflight.Plan, optFns ...func(*preflight.Options)) (*preflight.Report, error)
}

var (
	_ Checker = (*preflight.Checker)(nil)
	_ Checker = (*CallerlessProbe)(nil)
)

// CallerUnknownNote says why a preflight ran with the probe alone.
const CallerUnknownNote = "the caller is unknown (a custom --endpoint-url has no STS to ask): only the probe decided; verdicts that need the caller (policy documents, owner-or-initiator rules) need --caller ARN, or --sts-endpoint-url for a server with STS"

// Callerless returns the checker of a preflight whose caller is unknown and cannot be found
// (an S3-compatible server without STS and no --caller): the probe alone, as a
// CallerlessProbe. The local engine and the simulator evaluate policies for a principal, so
// --mode local or simulate without a caller is a usage error naming --caller.
func Callerless(mode string, client *s3.Client, prof preflight.Profile, opts preflight.ProbeOptions) (Checker, error) {
	if mode == "local" || mode == "simulate" {
		return nil, UsageErrorf("--mode %s needs the caller: give --caller ARN (or --sts-endpoint-url; a custom --endpoint-url has no STS), or use --mode probe", mode)
	}
	return &CallerlessProbe{Probe: preflight.NewProbe(client, opts), Profile: prof}, nil
}

// CallerlessProbe runs a preflight when the caller cannot be known (an S3-compatible server
// without STS and no --caller): the probe decides what a live, side-effect free request can
// decide, and every step it cannot decide is unknown with the reason that it needs --caller.
type CallerlessProbe struct {
	Probe   *preflight.Probe
	Profile preflight.Profile
}

// Check implements Checker. The report's Caller is empty.
func (c *CallerlessProbe) Check(ctx context.Context, p *preflight.Plan, _ ...func(*preflight.Options)) (*preflight.Report, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := time.Now()
	reqs := preflight.Requirements(p, now)
	out, err := c.Probe.Evaluate(ctx, &preflight.Input{Plan: p, Profile: c.Profile, Requirements: reqs, Now: now})
	if err != nil {
		return nil, err
	}
	if len(out.Checks) != len(reqs) {
		return nil, fmt.Errorf("preflight: the probe returned %d verdicts for %d requirements", len(out.Checks), len(reqs))
	}
	rep := &preflight.Report{Bucket: p.Bucket, Key: p.Key, Profile: c.Profile, Gaps: out.Gaps, Leftover: out.Leftover,
		LearnedProfile: out.Learned, APICalls: out.Calls, Notes: append([]string{CallerUnknownNote}, out.Notes...)}
	var need []string
	for i := 0; i < len(reqs); {
		sr := preflight.StepResult{Step: reqs[i].Step, Operation: reqs[i].Step.Operation(), Decision: mpu.Allowed, Evaluator: mpu.EvaluatorProbe, Reasons: []string{}}
		for ; i < len(reqs) && reqs[i].Step == sr.Step; i++ {
			chk := out.Checks[i]
			sr.Actions = append(sr.Actions, chk.Action)
			sr.Resources = append(sr.Resources, chk.Resource)
			sr.Decision = worse(sr.Decision, chk.Decision)
			sr.Reasons = append(sr.Reasons, chk.Reasons...)
			sr.Risks = append(sr.Risks, chk.Risks...)
			sr.Checks = append(sr.Checks, chk)
		}
		if sr.Decision == mpu.Unknown {
			sr.Reasons = append(sr.Reasons, "needs --caller ARN to be decided (the probe could not decide it)")
			need = append(need, sr.Step.String())
		}
		rep.Steps = append(rep.Steps, sr)
	}
	if len(need) > 0 {
		rep.Notes = append(rep.Notes, "would need --caller: "+strings.Join(need, ", "))
	}
	return rep, nil
}

// worse returns the more restrictive of two decisions: an explicit deny, an implicit deny,
// unknown, allowed.
func worse(a, b mpu.Decision) mpu.Decision {
	rank := func(d mpu.Decision) int {
		switch d {
		case mpu.ExplicitDeny:
			return 3
		case mpu.ImplicitDeny:
			return 2
		case mpu.Unknown:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// ReportError returns the error a preflight report stands for when its verdicts say nothing
// about permissions: the bucket does not exist (ErrNoSuchBucket), or the server refused the
// credentials themselves (an API error with the server's code, such as InvalidAccessKeyId).
// It returns nil for a report of permission verdicts.
func ReportError(rep *preflight.Report) error {
	if BucketMissing(rep) {
		return fmt.Errorf("preflight s3://%s: %w", rep.Bucket, ErrNoSuchBucket)
	}
	for _, s := range rep.Steps {
		for _, r := range s.Reasons {
			for code := range credentialCodes {
				if strings.Contains(r, " answered "+code+" ") {
					return fmt.Errorf("preflight s3://%s/%s: %w", rep.Bucket, rep.Key, &smithy.GenericAPIError{Code: code, Message: r})
				}
			}
		}
	}
	return nil
}

// BucketMissing reports whether a preflight found that the bucket does not exist: a probe or
// a policy read answered NoSuchBucket. Its verdicts then say nothing about permissions.
func BucketMissing(rep *preflight.Report) bool {
	for _, g := range rep.Gaps {
		if strings.Contains(g.Error, "NoSuchBucket") {
			return true
		}
	}
	for _, s := range rep.Steps {
		for _, r := range s.Reasons {
			if strings.Contains(r, "NoSuchBucket") {
				return true
			}
		}
	}
	return false
}
