package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/pflag"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
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
	identityPolicy []mpu.PolicyDocument
	bucketDoc      *mpu.PolicyDocument
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
			return cmdkit.UsageErrorf("--identity-policy: %v", err)
		}
		p.identityPolicy = append(p.identityPolicy, mpu.PolicyDocument{Name: f, JSON: b})
	}
	if p.bucketPolicy != "" {
		b, err := os.ReadFile(p.bucketPolicy)
		if err != nil {
			return cmdkit.UsageErrorf("--bucket-policy: %v", err)
		}
		p.bucketDoc = &mpu.PolicyDocument{Name: p.bucketPolicy, JSON: b}
	}
	return nil
}

// maxExplanations bounds the extra preflights run to explain failed files.
const maxExplanations = 200

// permissions runs the preflight of a run and explains failures with it.
type permissions struct {
	o       *runOptions
	client  *s3.Client
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
	p := &permissions{o: o, client: client, caller: o.preflight.caller, endpointURL: a.endpoint()}
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
		kmsChecker = kmsperm.New(kc, func(o *kmsperm.Options) { o.Identity = po.identityPolicy })
	}
	p.checker = preflight.New(eval, func(opt *preflight.Options) {
		opt.Profile = po.parsedProfile
		opt.STS = stsc
		opt.KMS = kmsChecker
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
// run writes) and a multipart-sized upload, through the uploader's preflight gate
// (uploader.Uploader.Preflight with --preflight as its PreflightMode), which judges the steps
// an upload needs (Initiate, UploadPart, Complete, and Abort so a failure can be cleaned up)
// and decides warn or enforce; ListParts and ListUploads are reported, not judged. It reports
// whether the run must stop: with --preflight enforce, when a step is denied or could not be
// decided (exit 3). When preflight could not evaluate, p.evalErr says why and the run stops
// too (exit 1, not 3: nothing was found denied); in warn mode only rejected credentials, a
// canceled run or invalid settings stop it, as they would stop every upload.
func (p *permissions) checkPrefix(ctx context.Context, key string, size int64) (*preflightSummary, bool, string) {
	ps := &preflightSummary{Mode: p.o.preflight.mode, Profile: p.o.preflight.parsedProfile.String()}
	if p.checker == nil {
		ps.OK = true
		return ps, false, ""
	}
	ps.Mode = p.o.preflight.mode + ", " + p.kind
	ps.Key = key
	var rep *preflight.Report
	uc := &preflight.UploadChecker{Checker: p.checker, Template: *p.plan(key, size),
		AlsoReport: []mpu.Step{mpu.ListParts, mpu.ListUploads},
		OnReport:   func(r *preflight.Report) { rep = r }}
	var warned error
	mode := uploader.PreflightWarn
	if p.o.preflight.mode == "enforce" {
		mode = uploader.PreflightEnforce
	}
	up := uploader.New(p.client, func(o *uploader.Options) {
		o.Preflight, o.PreflightMode = uc, mode
		o.Listener = event.ListenerFunc(func(e event.Event) {
			if ev, ok := e.(event.Preflight); ok {
				warned = ev.Err
			}
		})
	})
	// The upload's own settings, as the uploads of the run send them.
	in := &uploader.UploadInput{Bucket: p.o.dest.Bucket, Key: key, SSEKMSKeyID: p.o.kmsKeyID,
		ServerSideEncryption: s3types.ServerSideEncryption(p.o.sse), StorageClass: s3types.StorageClass(p.o.storageClass)}
	err := up.Preflight(ctx, in, nil)
	refused := err != nil && (errors.Is(err, mpu.ErrPermissionDenied) || errors.Is(err, mpu.ErrUndecided))
	if err != nil && !refused {
		cause := err
		var ue *uploader.UploadError
		if errors.As(err, &ue) && ue.Err != nil {
			cause = ue.Err
		}
		ps.Problems = append(ps.Problems, "could not evaluate: "+cause.Error())
		if ctx.Err() == nil {
			p.evalErr = fmt.Errorf("preflight could not evaluate the permissions: %w (--preflight warn or off goes on without it)", cause)
			if errors.Is(err, mpu.ErrCredentials) {
				p.evalErr = fmt.Errorf("preflight: %w", cause) // not a permission verdict; the message names the credentials
			}
		}
		return ps, false, ""
	}
	if warned != nil && rep == nil {
		ps.Problems = append(ps.Problems, "could not evaluate: "+warned.Error())
	}
	if rep == nil {
		return ps, false, ""
	}
	p.report = rep
	ps.OK = rep.OK()
	for _, s := range rep.Steps {
		if s.Decision == mpu.Allowed {
			if s.DefaultRule != "" {
				ps.Notes = append(ps.Notes, fmt.Sprintf("%s is allowed only by the %s; grant it explicitly", s.Step, s.DefaultRule))
			}
			continue
		}
		ps.Problems = append(ps.Problems, stepProblem(s))
	}
	for _, k := range rep.KMS {
		if k.Decision != mpu.Allowed {
			ps.Problems = append(ps.Problems, fmt.Sprintf("%s (KMS): %s: %s", k.Step, k.Decision, strings.Join(k.Reasons, "; ")))
		}
	}
	for _, g := range rep.Gaps {
		ps.Notes = append(ps.Notes, fmt.Sprintf("%s could not be read: %s", g.Source, g.Error))
	}
	ps.Notes = append(ps.Notes, rep.Notes...)
	var ud *preflight.UndecidedError
	if errors.As(err, &ud) {
		ps.Problems = append(ps.Problems, fmt.Sprintf("%s: the run was not started (--preflight enforce); decide them with --identity-policy FILE, --preflight-mode probe, or go on without a verdict with --preflight warn", ud.Error()))
	}
	return ps, refused, rep.String()
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
	base := cmdkit.ErrText(err)
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
