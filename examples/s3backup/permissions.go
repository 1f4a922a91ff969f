package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/pflag"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/preflight"
)

// preflightOptions are the permission-check flags of the run command.
type preflightOptions struct {
	mode           string // enforce, warn, off
	evaluator      string // auto, local, probe
	profile        string // aws, no-defaults
	caller         string
	identityFiles  []string
	bucketPolicy   string
	parsedProfile  preflight.Profile
	identityPolicy []preflight.PolicyDocument
	bucketDoc      *preflight.PolicyDocument
}

func (p *preflightOptions) register(f *pflag.FlagSet) {
	cmdkit.RegisterGate(f, &p.mode)
	cmdkit.RegisterMode(f, &p.evaluator)
	cmdkit.RegisterServerProfile(f, &p.profile)
	cmdkit.HiddenAliases(f, map[string]string{"preflight-mode": "mode"}) // the old name of --mode
	f.StringVar(&p.caller, "caller", "", "ARN of the principal the credentials belong to (default: found with sts:GetCallerIdentity; with a custom --endpoint-url and no --sts-endpoint-url, unknown: the probe alone decides)")
	f.StringArrayVar(&p.identityFiles, "identity-policy", nil, "a file holding one of the caller's identity policies, used instead of reading IAM (repeatable)")
	f.StringVar(&p.bucketPolicy, "bucket-policy", "", "a file holding the bucket policy, used instead of reading it (an empty file: none)")
}

func (p *preflightOptions) validate() error {
	if err := cmdkit.ValidateGate(p.mode); err != nil {
		return err
	}
	if err := cmdkit.ValidateMode(p.evaluator); err != nil {
		return err
	}
	prof, err := cmdkit.ParseServerProfile(p.profile)
	if err != nil {
		return err
	}
	p.parsedProfile = prof
	for _, f := range p.identityFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return usageErrorf("--identity-policy: %v", err)
		}
		p.identityPolicy = append(p.identityPolicy, preflight.PolicyDocument{Name: f, JSON: b})
	}
	if p.bucketPolicy != "" {
		b, err := os.ReadFile(p.bucketPolicy)
		if err != nil {
			return usageErrorf("--bucket-policy: %v", err)
		}
		p.bucketDoc = &preflight.PolicyDocument{Name: p.bucketPolicy, JSON: b}
	}
	return nil
}

// maxExplanations bounds the extra preflights run to explain failed files.
const maxExplanations = 200

// permissions runs the preflight of a run and explains failures with it.
type permissions struct {
	o       *runOptions
	checker cmdkit.Checker
	caller  string
	report  *preflight.Report // of the prefix check; nil when off or not evaluated
	kind    string
	// endpointURL tells the transport (aws:SecureTransport); "" is AWS over HTTPS.
	endpointURL string

	// evalErr is set when the prefix check could not be evaluated in enforce mode.
	evalErr error

	mu        sync.Mutex
	explained int
}

func newPermissions(ctx context.Context, a *app, o *runOptions, client *s3.Client) (*permissions, error) {
	p := &permissions{o: o, caller: o.preflight.caller, endpointURL: a.endpoint()}
	po := &o.preflight
	if po.mode == "off" {
		return p, nil
	}
	if p.caller == "" && !a.G.STSReachable() {
		// A custom endpoint without STS: AWS's STS is never asked about its credentials.
		// A dry run changes nothing, not even a probe upload created and aborted.
		chk, err := cmdkit.Callerless(po.evaluator, client, po.parsedProfile, preflight.ProbeOptions{NoCreate: o.dryRun})
		if err != nil {
			return nil, err
		}
		p.checker, p.kind = chk, "probe, caller unknown"
		return p, nil
	}
	local := preflight.LocalOptions{Sources: preflight.Sources{Identity: po.identityPolicy, BucketPolicy: po.bucketDoc}}
	eval, kind, err := a.Evaluator(ctx, po.evaluator, client, local, preflight.ProbeOptions{NoCreate: o.dryRun})
	if err != nil {
		return nil, err
	}
	p.kind = kind
	var stsc preflight.STSAPI
	if a.G.STSReachable() {
		c, err := a.STSClient(ctx)
		if err != nil {
			return nil, err
		}
		stsc = c
	}
	var kmsChecker preflight.KMSChecker
	if o.sse == "aws:kms" && a.G.KMSReachable() {
		kc, err := a.KMSClient(ctx)
		if err != nil {
			return nil, err
		}
		kmsChecker = kmsperm.New(kc)
	}
	p.checker = preflight.New(eval, func(opt *preflight.Options) {
		opt.Profile = po.parsedProfile
		opt.STS = stsc
		opt.KMS = kmsChecker
		opt.KMSIdentity = po.identityPolicy
	})
	if p.caller == "" {
		c, err := preflight.FindCaller(ctx, stsc)
		if err != nil {
			return nil, fmt.Errorf("preflight needs the caller: %w; pass --caller ARN (or --preflight off)", err)
		}
		p.caller = c
	}
	return p, nil
}

// plan returns the preflight plan of an upload to key.
func (p *permissions) plan(key string, size int64) *preflight.Plan {
	pl := &preflight.Plan{
		Bucket: p.o.dest.Bucket, Key: key, Size: size, Caller: p.caller,
		SSE:          preflight.SSE{Algorithm: p.o.sse, KMSKeyID: p.o.kmsKeyID},
		StorageClass: p.o.storageClass,
	}
	pl.Transport = preflight.TransportHTTPS
	if u, err := url.Parse(p.endpointURL); err == nil && u.Scheme == "http" {
		pl.Transport = preflight.TransportHTTP
	}
	return pl
}

// checkPrefix runs the one preflight of the run, for key (the manifest's key, which every
// run writes) and a multipart-sized upload. It reports whether the run must stop: with
// --preflight enforce, when a step an upload needs (Initiate, UploadPart, Complete, or Abort
// so a failure can be cleaned up) is denied. When preflight could not evaluate, in enforce
// mode, p.evalErr says why and the run stops too (exit 1, not 3: nothing was found denied).
func (p *permissions) checkPrefix(ctx context.Context, key string, size int64) (*preflightSummary, bool, string) {
	ps := &preflightSummary{Mode: p.o.preflight.mode, Profile: p.o.preflight.parsedProfile.String()}
	if p.checker == nil {
		ps.OK = true
		return ps, false, ""
	}
	ps.Mode = p.o.preflight.mode + ", " + p.kind
	ps.Key = key
	rep, err := p.checker.Check(ctx, p.plan(key, size))
	if err != nil {
		ps.Problems = append(ps.Problems, "could not evaluate: "+err.Error())
		if p.o.preflight.mode == "enforce" && ctx.Err() == nil {
			p.evalErr = fmt.Errorf("preflight could not evaluate the permissions: %v (--preflight warn or off goes on without it)", err)
		}
		return ps, false, ""
	}
	p.report = rep
	ps.OK = rep.OK()
	for _, s := range rep.Steps {
		if s.Decision == preflight.Allowed {
			if s.DefaultRule != "" {
				ps.Notes = append(ps.Notes, fmt.Sprintf("%s is allowed only by the %s; grant it explicitly", s.Step, s.DefaultRule))
			}
			continue
		}
		ps.Problems = append(ps.Problems, stepProblem(s))
	}
	for _, k := range rep.KMS {
		if k.Decision != preflight.Allowed {
			ps.Problems = append(ps.Problems, fmt.Sprintf("%s (KMS): %s: %s", k.Step, k.Decision, strings.Join(k.Reasons, "; ")))
		}
	}
	for _, g := range rep.Gaps {
		ps.Notes = append(ps.Notes, fmt.Sprintf("%s could not be read: %s", g.Source, g.Error))
	}
	ps.Notes = append(ps.Notes, rep.Notes...)
	blocked := len(rep.Blocking()) > 0 && p.o.preflight.mode == "enforce"
	return ps, blocked, rep.String()
}

func stepProblem(s preflight.StepResult) string {
	msg := fmt.Sprintf("%s: %s", s.Step, s.Decision)
	if len(s.Reasons) > 0 {
		msg += " (" + strings.Join(s.Reasons, "; ") + ")"
	}
	if s.Remedy != nil && s.Remedy.Summary != "" {
		msg += "; fix: " + s.Remedy.Summary
	}
	return msg
}

// explainFailure returns the reason a file failed. When the error is not a cancellation,
// the preflight is run for the file's own key: if it finds the steps of the upload denied,
// its verdict (with the reasons and the fix) is the reason, since some servers answer a
// denied upload with a reset connection rather than a 403.
func (p *permissions) explainFailure(ctx context.Context, key string, multipart bool, err error) string {
	base := errText(err)
	base = describeUploadErr(err, base)
	if p.checker == nil || ctx.Err() != nil {
		return base
	}
	p.mu.Lock()
	if p.explained >= maxExplanations {
		p.mu.Unlock()
		return base
	}
	p.explained++
	p.mu.Unlock()
	size := int64(1)
	if multipart {
		size = p.o.threshold
	}
	rep, cerr := p.checker.Check(ctx, p.plan(key, size))
	if cerr != nil {
		return base
	}
	// The first denied step says why (with the fix); the others are named.
	first, others := "", []string(nil)
	for _, s := range rep.Steps {
		name := s.Step.String()
		relevant := name == "Initiate" || (multipart && (name == "UploadPart" || name == "Complete"))
		if !relevant || !s.Decision.Denied() {
			continue
		}
		if first == "" {
			first = stepProblem(s)
		} else {
			others = append(others, name)
		}
	}
	if first == "" {
		return base
	}
	if len(others) > 0 {
		first += " (also denied: " + strings.Join(others, ", ") + ")"
	}
	return "denied by preflight: " + first + " [server said: " + base + "]"
}

// abortDenied reports whether the prefix's preflight found Abort denied for the caller as
// initiator: the tool then does not try, and explains who may abort instead.
func (p *permissions) abortDenied(key, initiator string) (string, bool) {
	if p.report == nil {
		return "", false
	}
	for _, s := range p.report.Steps {
		if s.Step.String() == "Abort" && s.Decision.Denied() {
			why := ""
			if len(s.Reasons) > 0 {
				why = " (" + strings.Join(s.Reasons, "; ") + ")"
			}
			return fmt.Sprintf("preflight found Abort %s for the caller on this prefix%s; %s", s.Decision, why, p.whoMayAbort(key, initiator)), true
		}
	}
	return "", false
}

// whoMayAbort explains, by the owner-or-initiator rules, who can remove an upload.
func (p *permissions) whoMayAbort(key, initiator string) string {
	who := preflight.DefaultManagers("", initiator)
	var b strings.Builder
	b.WriteString("by S3's owner-or-initiator rules the bucket owner")
	if len(who) > 0 {
		b.WriteString(", " + strings.Join(who, ", "))
	} else {
		b.WriteString(" and the upload's initiator")
	}
	b.WriteString(" may abort it unless a policy denies it")
	if !p.o.preflight.parsedProfile.Defaults() {
		b.WriteString(" (this server applies no such defaults: s3:AbortMultipartUpload must be granted explicitly)")
	}
	fmt.Fprintf(&b, "; anyone else needs s3:AbortMultipartUpload on arn:aws:s3:::%s/%s; or set a lifecycle rule with AbortIncompleteMultipartUpload", p.o.dest.Bucket, key)
	return b.String()
}
