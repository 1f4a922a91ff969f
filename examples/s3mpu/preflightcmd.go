package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// checkFlags choose how a preflight decides: the evaluator, the policy sources, the caller
// and the server's rules. Shared by `preflight` and `upload --preflight`.
type checkFlags struct {
	mode            string
	caller          string
	bucketOwner     string
	sourceKeyPolicy string // only with a copy source (registerCopy)
	kmsRequireSeed  bool
	sourceIP        string
	policySourceFlags
}

// policySourceFlags are the policy files, bucket settings, server rules and request context
// that `policy eval` decides with, and that a preflight uses instead of reading them.
type policySourceFlags struct {
	identityPolicies        []string
	bucketPolicy, keyPolicy string
	objectOwnership         string
	aclGrants               []string
	serverProfile           string
	context                 []string
}

// register adds the flags; offline (policy eval) reads nothing, a preflight reads what is
// not given.
func (f *policySourceFlags) register(fs *pflag.FlagSet, offline bool) {
	instead := func(read string) string {
		if offline {
			return ""
		}
		return ", instead of " + read
	}
	stringArrayFlag(fs, &f.identityPolicies, "identity-policy", "identity policy file of the caller, one document per file"+instead("reading the caller's policies through IAM")+"; repeatable")
	fs.StringVar(&f.bucketPolicy, "bucket-policy", "", "bucket policy file"+instead("s3:GetBucketPolicy"))
	fs.StringVar(&f.keyPolicy, "key-policy", "", "KMS key policy file"+instead("kms:GetKeyPolicy"))
	fs.StringVar(&f.objectOwnership, "object-ownership", "", "the bucket's Object Ownership"+instead("reading it")+": BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter")
	stringArrayFlag(fs, &f.aclGrants, "acl-grant", "bucket ACL grant PERMISSION=GRANTEE, GRANTEE as account:ID, canonical:ID or group:URI-or-name"+instead("s3:GetBucketAcl")+"; repeatable")
	cmdkit.RegisterServerProfile(fs, &f.serverProfile)
	stringArrayFlag(fs, &f.context, "context", "request context KEY=VALUE for conditions; repeat a key for a multi-valued key")
}

func (f *checkFlags) register(fs *pflag.FlagSet) {
	cmdkit.RegisterMode(fs, &f.mode)
	fs.StringVar(&f.caller, "caller", "", "the principal ARN to check (default: found with sts:GetCallerIdentity)")
	fs.StringVar(&f.bucketOwner, "bucket-owner", "", "account ID of the bucket owner, when known")
	f.policySourceFlags.register(fs, false)
	fs.StringVar(&f.sourceIP, "source-ip", "", "the client's IP address as the server sees it (aws:SourceIp)")
	fs.BoolVar(&f.kmsRequireSeed, "kms-require-seed-actions", false, "with --sse aws:kms: require the S3 permission table's full KMS list (kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey) at Initiate, instead of showing it as advisory")
}

// registerCopy adds the check flags that only a copy has.
func (f *checkFlags) registerCopy(fs *pflag.FlagSet) {
	fs.StringVar(&f.sourceKeyPolicy, "source-key-policy", "", "KMS key policy file of the copy source's key, instead of kms:GetKeyPolicy (which cannot read another account's key)")
}

// objectFlags describe what the upload sends. Shared by `preflight` and `upload`.
type objectFlags struct {
	size         string
	sse          string
	kmsKeyID     string
	kmsContext   []string
	bucketKey    bool
	sseC         string
	sseCKeyFile  string
	acl          string
	storageClass string
	checksumAlgo string
	copySource   string
	contentType  string
	metadata     []string
	tagging      string
}

func (f *objectFlags) register(fs *pflag.FlagSet, forUpload bool) {
	if forUpload {
		fs.StringVar(&f.size, "size", "", "the size of stdin's data, when known (helps choose the part size)")
		fs.StringVar(&f.sseCKeyFile, "sse-c-key-file", "", "file holding the SSE-C key: 32 raw bytes or their base64 (never printed)")
		fs.StringVar(&f.contentType, "content-type", "", "Content-Type (default: guessed from the file name)")
		stringArrayFlag(fs, &f.metadata, "metadata", "user metadata KEY=VALUE; repeatable")
		fs.StringVar(&f.tagging, "tagging", "", "object tags as a URL query, e.g. 'project=x&tier=cold'")
	} else {
		fs.StringVar(&f.size, "size", "", "the upload's size, e.g. 40GiB (default: unknown)")
		fs.StringVar(&f.copySource, "copy-source", "", "s3://bucket/key of a source the upload copies parts from (checks UploadPartCopy)")
	}
	fs.StringVar(&f.sse, "sse", "", "server-side encryption: AES256, aws:kms or aws:kms:dsse")
	fs.StringVar(&f.kmsKeyID, "sse-kms-key-id", "", "KMS key (ID, ARN, alias name or alias ARN) for --sse aws:kms; default: the AWS managed key aws/s3")
	stringArrayFlag(fs, &f.kmsContext, "sse-kms-context", "extra KMS encryption context KEY=VALUE; repeatable")
	fs.BoolVar(&f.bucketKey, "bucket-key", false, "use an S3 Bucket Key for SSE-KMS")
	fs.StringVar(&f.sseC, "sse-c", "", "SSE-C algorithm (AES256); the key comes from --sse-c-key-file")
	fs.StringVar(&f.acl, "acl", "", "canned ACL, e.g. bucket-owner-full-control")
	fs.StringVar(&f.storageClass, "storage-class", "", "storage class, e.g. STANDARD_IA, GLACIER_IR, DEEP_ARCHIVE")
	fs.StringVar(&f.checksumAlgo, "checksum-algorithm", "", "checksum of every part and of the object: CRC32, CRC32C (default), CRC64NVME, SHA1, SHA256")
}

// validate checks the object flags that need no I/O.
func (f *objectFlags) validate() error {
	switch strings.ToLower(f.sse) {
	case "", "aes256", "aws:kms", "aws:kms:dsse":
	default:
		return cmdkit.UsageErrorf("--sse %q: want AES256, aws:kms or aws:kms:dsse", f.sse)
	}
	if f.kmsKeyID != "" && !strings.HasPrefix(strings.ToLower(f.sse), "aws:kms") {
		return cmdkit.UsageErrorf("--sse-kms-key-id needs --sse aws:kms")
	}
	if len(f.kmsContext) > 0 && !strings.HasPrefix(strings.ToLower(f.sse), "aws:kms") {
		return cmdkit.UsageErrorf("--sse-kms-context needs --sse aws:kms")
	}
	if f.bucketKey && !strings.HasPrefix(strings.ToLower(f.sse), "aws:kms") {
		return cmdkit.UsageErrorf("--bucket-key needs --sse aws:kms")
	}
	if f.sseC != "" {
		if !strings.EqualFold(f.sseC, "AES256") {
			return cmdkit.UsageErrorf("--sse-c %q: the only SSE-C algorithm is AES256", f.sseC)
		}
		if f.sse != "" {
			return cmdkit.UsageErrorf("--sse-c cannot be combined with --sse")
		}
	}
	switch strings.ToUpper(f.checksumAlgo) {
	case "", "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256":
	default:
		return cmdkit.UsageErrorf("--checksum-algorithm %q: want CRC32, CRC32C, CRC64NVME, SHA1 or SHA256", f.checksumAlgo)
	}
	if _, err := cmdkit.ParseKeyValues("sse-kms-context", f.kmsContext); err != nil {
		return cmdkit.UsageErr(err)
	}
	return nil
}

// sseAlgorithm returns --sse in the form S3 uses ("AES256", "aws:kms", "aws:kms:dsse").
func (f *objectFlags) sseAlgorithm() string {
	if strings.EqualFold(f.sse, "aes256") {
		return "AES256"
	}
	return strings.ToLower(f.sse)
}

// kmsContextHeader returns the encryption context as S3's header wants it: base64 JSON.
func (f *objectFlags) kmsContextHeader() string {
	m, _ := cmdkit.ParseKeyValues("sse-kms-context", f.kmsContext) // validated
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

// plan builds the preflight plan for bucket/key.
func (f *objectFlags) plan(u cmdkit.URL, size int64, cf *checkFlags) (*preflight.Plan, error) {
	p := &preflight.Plan{Bucket: u.Bucket, Key: u.Key, Size: size, ACL: f.acl, StorageClass: f.storageClass,
		ChecksumAlgorithm: strings.ToUpper(f.checksumAlgo)} // "": the uploader's default, which sends a checksum
	p.SSE = preflight.SSE{Algorithm: f.sseAlgorithm(), KMSKeyID: f.kmsKeyID, BucketKey: f.bucketKey}
	if m, _ := cmdkit.ParseKeyValues("sse-kms-context", f.kmsContext); len(m) > 0 {
		p.SSE.KMSContext = m
	}
	if f.sseC != "" {
		p.SSE.CustomerAlgorithm = "AES256"
	}
	if f.copySource != "" {
		src, err := cmdkit.ParseObjectURL(f.copySource)
		if err != nil {
			return nil, cmdkit.UsageErrorf("--copy-source: %v", err)
		}
		p.CopySource = &preflight.CopySource{Bucket: src.Bucket, Key: src.Key}
	}
	if cf != nil {
		p.Caller, p.BucketOwner, p.SourceIP = cf.caller, cf.bucketOwner, cf.sourceIP
		ctx, err := cmdkit.ParseMultiKeyValues("context", cf.context)
		if err != nil {
			return nil, cmdkit.UsageErr(err)
		}
		p.Context = ctx
	}
	return p, nil
}

// validate checks the check flags that need no I/O.
func (f *checkFlags) validate() (preflight.Profile, error) {
	if err := cmdkit.ValidateMode(f.mode); err != nil {
		return 0, err
	}
	prof, err := cmdkit.ParseServerProfile(f.serverProfile)
	if err != nil {
		return prof, err
	}
	if f.caller != "" && !strings.HasPrefix(f.caller, "arn:") {
		return prof, cmdkit.UsageErrorf("--caller %q: want a principal ARN", f.caller)
	}
	if f.bucketOwner != "" && !policy.IsAccountID(f.bucketOwner) {
		return prof, cmdkit.UsageErrorf("--bucket-owner %q: want a 12-digit account ID", f.bucketOwner)
	}
	if f.sourceIP != "" {
		if _, err := netip.ParseAddr(f.sourceIP); err != nil {
			return prof, cmdkit.UsageErrorf("--source-ip %q: not an IP address", f.sourceIP)
		}
	}
	if _, err := cmdkit.ParseMultiKeyValues("context", f.context); err != nil {
		return prof, cmdkit.UsageErr(err)
	}
	return prof, nil
}

// validateKMS checks the KMS check flags against the object flags; copy says whether the
// command copies (cp, or preflight with --copy-source).
func (f *checkFlags) validateKMS(of *objectFlags, copy bool) error {
	if f.kmsRequireSeed && !strings.HasPrefix(strings.ToLower(of.sse), "aws:kms") {
		return cmdkit.UsageErrorf("--kms-require-seed-actions needs --sse aws:kms")
	}
	if f.sourceKeyPolicy != "" && !copy {
		return cmdkit.UsageErrorf("--source-key-policy needs --copy-source")
	}
	return nil
}

// keyPolicies reads the --key-policy and --source-key-policy files; nil for a flag not given.
func (f *checkFlags) keyPolicies() (key, source []byte, err error) {
	k, err := readOptionalPolicy("--key-policy", f.keyPolicy)
	if err != nil {
		return nil, nil, err
	}
	s, err := readOptionalPolicy("--source-key-policy", f.sourceKeyPolicy)
	if err != nil {
		return nil, nil, err
	}
	return k.JSON, s.JSON, nil
}

// sources reads the supplied policy files and bucket settings.
func (f *checkFlags) sources() (preflight.Sources, error) {
	var s preflight.Sources
	var err error
	if s.Identity, err = readPolicyFiles("--identity-policy", f.identityPolicies); err != nil {
		return s, err
	}
	if f.bucketPolicy != "" {
		d, err := readPolicyFile("--bucket-policy", f.bucketPolicy)
		if err != nil {
			return s, err
		}
		s.BucketPolicy = &d
	}
	if f.objectOwnership != "" {
		o, err := preflight.ParseObjectOwnership(f.objectOwnership)
		if err != nil {
			return s, cmdkit.UsageErrorf("--object-ownership: %s", trimPkg(err))
		}
		s.Ownership = o
	}
	if len(f.aclGrants) > 0 {
		grants, err := parseACLGrants(f.aclGrants)
		if err != nil {
			return s, err
		}
		s.ACL = &preflight.BucketACL{Grants: grants}
	}
	return s, nil
}

// runPreflight builds the checker the flags ask for and checks the plan. When the caller is
// unknown and cannot be found (a custom endpoint without STS), the probe alone decides and
// the report says which steps would need --caller. A bucket that does not exist is an error
// (cmdkit.ErrNoSuchBucket), and so are credentials the server refuses: not a report of
// unknown or denied verdicts.
func (a *app) runPreflight(ctx context.Context, cli *s3.Client, cf *checkFlags, plan *preflight.Plan, prof preflight.Profile) (*preflight.Report, error) {
	chk, err := a.gateChecker(ctx, cli, cf, plan, prof)
	if err != nil {
		return nil, err
	}
	heads := 0
	if plan.SSE.KMS() && plan.CopySource != nil && plan.CopySource.KMSKeyID == "" {
		// The copy needs kms:Decrypt on the source's key: find which key that is.
		heads++
		if err := sourceKeyFacts(ctx, cli, plan.CopySource); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			a.Info("note: the copy source's encryption could not be read (%s); its KMS key is not checked", cmdkit.Message(err))
		}
	}
	rep, err := chk.Check(ctx, plan)
	if err != nil {
		return nil, preflightError(ctx, err)
	}
	if err := cmdkit.ReportError(rep); err != nil {
		return nil, err // no permission verdicts: the bucket is missing or the credentials refused
	}
	if heads > 0 {
		if rep.APICalls == nil {
			rep.APICalls = map[string]int{}
		}
		rep.APICalls["s3:HeadObject"] += heads
	}
	return rep, nil
}

// checker returns the preflight checker for the flags: the evaluator of --mode with the
// policy files, STS and KMS where they can be asked; or, when the caller is unknown and
// STS cannot be asked, the probe alone.
func (a *app) checker(ctx context.Context, cli *s3.Client, cf *checkFlags, plan *preflight.Plan, prof preflight.Profile) (cmdkit.Checker, error) {
	src, err := cf.sources()
	if err != nil {
		return nil, err
	}
	keyPolicy, sourceKeyPolicy, err := cf.keyPolicies()
	if err != nil {
		return nil, err
	}
	if plan.Caller == "" && !a.G.STSReachable() {
		return cmdkit.Callerless(cf.mode, cli, prof, preflight.ProbeOptions{})
	}
	eval, _, err := a.Evaluator(ctx, cf.mode, cli, preflight.LocalOptions{Sources: src}, preflight.ProbeOptions{})
	if err != nil {
		return nil, err
	}
	var st preflight.STSAPI
	if a.G.STSReachable() {
		if c, err := a.STSClient(ctx); err == nil {
			st = c
		}
	}
	var kc preflight.KMSChecker
	if plan.SSE.KMS() && a.G.KMSReachable() {
		if c, err := a.KMSClient(ctx); err == nil {
			kc = kmsperm.New(c, func(o *kmsperm.Options) {
				o.KeyPolicy = keyPolicy
				o.SourceKeyPolicy = sourceKeyPolicy
				o.RequireSeedActions = cf.kmsRequireSeed
				o.Identity = src.Identity
			})
		}
	}
	return preflight.New(eval, func(o *preflight.Options) {
		o.Profile = prof
		o.STS = st
		o.KMS = kc
	}), nil
}

// preflightError maps a preflight that could not evaluate to the command's error: invalid
// input and a KMS key that does not exist are usage errors (exit 2); credentials the server
// refused (mpu.ErrCredentials) keep their API error, which Explain names with the
// credential source (exit 1).
func preflightError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var ke *kmsperm.Error
	if missingKMSKey(err) && errors.As(err, &ke) {
		// The key the flags name does not exist: invalid input (exit 2), and an
		// upload with it would fail at its first request.
		msg := fmt.Sprintf("--sse-kms-key-id %s: %v", ke.Key, ke.Err)
		return cmdkit.UsageErr(&cmdkit.Relabeled{Msg: msg, Err: err})
	}
	if errors.Is(err, mpu.ErrInvalidInput) {
		return cmdkit.UsageErr(fmt.Errorf("preflight: %s", trimPkg(err)))
	}
	return &cmdkit.Relabeled{Msg: "preflight could not evaluate: " + trimPkg(err), Err: err}
}

// missingKMSKey reports whether a preflight error says the target KMS key does not exist
// (kmsperm's ErrNotFound for the key of --sse-kms-key-id).
func missingKMSKey(err error) bool {
	var ke *kmsperm.Error
	return errors.As(err, &ke) && errors.Is(err, mpu.ErrNotFound)
}

// headObjectAPI is the S3 call sourceKeyFacts makes.
type headObjectAPI interface {
	HeadObject(ctx context.Context, params *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// sourceKeyFacts reads the copy source's SSE-KMS key and Bucket Key setting with HeadObject
// (which changes nothing); a source not encrypted with KMS leaves cs as it is.
func sourceKeyFacts(ctx context.Context, api headObjectAPI, cs *preflight.CopySource) error {
	in := &s3.HeadObjectInput{Bucket: aws.String(cs.Bucket), Key: aws.String(cs.Key)}
	if cs.VersionID != "" {
		in.VersionId = aws.String(cs.VersionID)
	}
	out, err := api.HeadObject(ctx, in)
	if err != nil {
		return err
	}
	if strings.HasPrefix(string(out.ServerSideEncryption), "aws:kms") {
		cs.KMSKeyID = aws.ToString(out.SSEKMSKeyId)
		cs.BucketKey = aws.ToBool(out.BucketKeyEnabled)
	}
	return nil
}

const preflightLong = `Check, before sending a byte, that every step of a multipart upload is permitted:
Initiate, UploadPart, UploadPartCopy (with --copy-source), Complete, Abort, ListParts and
ListUploads, plus the SSE-KMS key permissions of each step with --sse aws:kms. For every step
the report says which evaluator decided it, why (which policy statement or default rule), and
the smallest statement that fixes a denial.

Evaluators (--mode): local evaluates policy documents offline (given with --identity-policy,
--bucket-policy, --key-policy, or read through IAM and S3); simulate asks IAM's policy
simulator (iam:SimulatePrincipalPolicy) and lets the local engine decide what it cannot see;
probe makes the multipart calls against a made-up upload ID, which changes nothing (Initiate
creates a real upload and aborts it, only when the caller may abort). auto (the default) runs
the simulator on AWS when no identity policy file is given, else the local engine, then the
probe for every verdict still unknown.

Exit status: 0 when every checked step is allowed, 3 when any is denied, 1 when it could not
evaluate (a step's verdict is unknown), 2 on bad input.`

func (a *app) preflightCmd() *cobra.Command {
	var of objectFlags
	var cf checkFlags
	var steps []string
	cmd := &cobra.Command{
		Use:   "preflight s3://bucket/key",
		Short: "Check every multipart step's permissions before uploading",
		Long:  preflightLong,
		Example: `  s3mpu preflight s3://backups/db.tar --size 40GiB --sse aws:kms --sse-kms-key-id alias/backups
  s3mpu preflight s3://backups/db.tar --mode local --caller arn:aws:iam::111122223333:user/ci \
    --identity-policy ci.json --bucket-policy bucket.json --json`,
		Args: cmdkit.ExactArgs(1),
	}
	of.register(cmd.Flags(), false)
	cf.register(cmd.Flags())
	cf.registerCopy(cmd.Flags())
	cmd.Flags().StringSliceVar(&steps, "steps", nil, "steps to check, comma-separated: Initiate, UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListUploads (default: all; UploadPartCopy with --copy-source)")
	cmd.RunE = a.RunE(func(cmd *cobra.Command, args []string) error {
		u, err := cmdkit.ParseObjectURL(args[0])
		if err != nil {
			return cmdkit.UsageErr(err)
		}
		prof, err := validateFlags(&of, &cf, of.copySource != "")
		if err != nil {
			return err
		}
		size := preflight.SizeUnknown
		if of.size != "" {
			if size, err = cmdkit.ParseSize(of.size); err != nil {
				return cmdkit.UsageErrorf("--size: %v", err)
			}
		}
		plan, err := of.plan(u, size, &cf)
		if err != nil {
			return err
		}
		for _, name := range steps {
			st, err := mpu.ParseStep(strings.TrimSpace(name))
			if err != nil {
				return cmdkit.UsageErrorf("--steps: %s", trimPkg(err))
			}
			plan.Steps = append(plan.Steps, st)
		}
		if err := plan.Validate(); err != nil {
			return cmdkit.UsageErrorf("%s", trimPkg(err))
		}
		ctx := cmd.Context()
		cli, err := a.S3Client(ctx)
		if err != nil {
			return err
		}
		rep, err := a.runPreflight(ctx, cli, &cf, plan, prof)
		if err != nil {
			return err
		}
		if err := a.printReport(a.stdout, rep); err != nil {
			return err
		}
		return reportExit(rep)
	})
	return cmd
}

// reportExit maps a report to the exit status: 0 all allowed, 3 any denied, 1 otherwise.
func reportExit(rep *preflight.Report) error {
	if rep.OK() {
		return nil
	}
	for _, s := range rep.Steps {
		if s.Decision.Denied() {
			return cmdkit.SilentExit(cmdkit.ExitDenied)
		}
	}
	if steps, kms := deniedCount(rep); steps+kms > 0 {
		return cmdkit.SilentExit(cmdkit.ExitDenied)
	}
	return cmdkit.SilentExit(cmdkit.ExitFailure)
}

// deniedCount counts the denied steps and the denied KMS rows, the seed row among them when
// it is not advisory. An advisory seed row (the permission table's full KMS list, more than S3
// uses) never changes the exit status.
func deniedCount(rep *preflight.Report) (steps, kms int) {
	for _, s := range rep.Steps {
		if s.Decision.Denied() {
			steps++
		}
	}
	for _, k := range rep.KMS {
		if k.Decision.Denied() {
			kms++
		}
	}
	if k := rep.KMSSeed; k != nil && !k.Advisory && k.Decision.Denied() {
		kms++
	}
	return steps, kms
}

// printReport renders the report as text, or with --json as the documented JSON shape.
func (a *app) printReport(w io.Writer, rep *preflight.Report) error {
	if a.g.json {
		return a.PrintJSON(reportJSON(rep))
	}
	if a.g.quiet {
		return nil
	}
	if err := rep.WriteText(w); err != nil {
		return err
	}
	verdict := "every checked step is allowed"
	if !rep.OK() {
		var parts []string
		steps, kms := deniedCount(rep)
		if steps > 0 {
			parts = append(parts, fmt.Sprintf("%d step(s) denied", steps))
		}
		if kms > 0 {
			parts = append(parts, fmt.Sprintf("%d KMS row(s) denied", kms))
		}
		verdict = strings.Join(parts, ", ")
		if verdict == "" {
			verdict = "some verdicts are unknown"
		}
	}
	_, err := fmt.Fprintf(w, "\nresult: %s\n", verdict)
	return err
}

// stepJSON is one step of `preflight --json`.
type stepJSON struct {
	Step      string `json:"step"`
	Operation string `json:"operation"`
	verdictJSON
	MissingContext []string           `json:"missing_context"`
	DefaultRule    string             `json:"default_rule,omitempty"`
	Risks          []string           `json:"risks"`
	Statements     []mpu.StatementRef `json:"statements"`
}

// kmsJSON is one KMS row of `preflight --json`: a step's row in "kms", or the seed row
// (the S3 permission table's full KMS list for the upload as a whole) in "kms_seed".
type kmsJSON struct {
	Step     string `json:"step,omitempty"` // "" for the seed row
	Label    string `json:"label"`
	Advisory bool   `json:"advisory"` // true: does not count for "ok" or the exit status
	verdictJSON
}

// verdictJSON is what a step row and a KMS row of `preflight --json` both say: the actions
// and resources checked and the decision on them, with its reasons and remedy.
type verdictJSON struct {
	Actions   []string    `json:"actions"`
	Resources []string    `json:"resources"`
	Decision  string      `json:"decision"`
	Evaluator string      `json:"evaluator"`
	Reasons   []string    `json:"reasons"`
	Remedy    *mpu.Remedy `json:"remedy"`
}

// newVerdictJSON returns the JSON form of a row's verdict, with empty lists rather than null.
func newVerdictJSON(actions, resources []string, d mpu.Decision, e mpu.EvaluatorKind, reasons []string, remedy *mpu.Remedy) verdictJSON {
	return verdictJSON{Actions: nonNil(actions), Resources: nonNil(resources), Decision: d.String(), Evaluator: string(e),
		Reasons: nonNil(reasons), Remedy: remedy}
}

// preflightJSON is the documented shape of `preflight --json`.
type preflightJSON struct {
	Caller   string         `json:"caller"`
	Bucket   string         `json:"bucket"`
	Key      string         `json:"key"`
	Profile  string         `json:"profile"`
	OK       bool           `json:"ok"`
	Steps    []stepJSON     `json:"steps"`
	KMS      []kmsJSON      `json:"kms"`
	KMSSeed  *kmsJSON       `json:"kms_seed"`
	Gaps     []mpu.Gap      `json:"gaps"`
	Notes    []string       `json:"notes"`
	APICalls map[string]int `json:"api_calls"`
}

func reportJSON(rep *preflight.Report) preflightJSON {
	out := preflightJSON{Caller: rep.Caller, Bucket: rep.Bucket, Key: rep.Key, Profile: rep.Profile.String(), OK: rep.OK(),
		Steps: []stepJSON{}, KMS: []kmsJSON{}, Gaps: rep.Gaps, Notes: nonNil(rep.Notes), APICalls: rep.APICalls}
	if out.Gaps == nil {
		out.Gaps = []mpu.Gap{}
	}
	if out.APICalls == nil {
		out.APICalls = map[string]int{}
	}
	for _, s := range rep.Steps {
		sj := stepJSON{Step: s.Step.String(), Operation: s.Operation,
			verdictJSON:    newVerdictJSON(s.Actions, s.Resources, s.Decision, s.Evaluator, s.Reasons, s.Remedy),
			MissingContext: nonNil(s.MissingContext), DefaultRule: s.DefaultRule, Risks: nonNil(s.Risks), Statements: []mpu.StatementRef{}}
		for _, c := range s.Checks {
			sj.Statements = append(sj.Statements, c.Statements...)
		}
		out.Steps = append(out.Steps, sj)
	}
	for _, k := range rep.KMS {
		out.KMS = append(out.KMS, kmsRowJSON(k))
	}
	if rep.KMSSeed != nil {
		seed := kmsRowJSON(*rep.KMSSeed)
		out.KMSSeed = &seed
	}
	return out
}

func kmsRowJSON(k preflight.KMSRow) kmsJSON {
	kj := kmsJSON{Label: k.Label, Advisory: k.Advisory,
		verdictJSON: newVerdictJSON(k.Actions, k.Resources, k.Decision, k.Evaluator, k.Reasons, k.Remedy)}
	if !k.Seed {
		kj.Step = k.Step.String()
	}
	if kj.Label == "" {
		kj.Label = kj.Step
	}
	return kj
}

// preflightGate is the preflight of an upload or a copy as the uploader runs it: the checker
// the flags ask for, handed to uploader.Options.Preflight with --preflight as its
// PreflightMode. The uploader's gate decides warn or enforce; the CLI only prints what it
// reports (warn for a warning, refused for a refusal).
type preflightGate struct {
	a       *app
	noun    string // "upload" or "copy"
	verb    string // "uploading" or "copying"
	mode    uploader.PreflightMode
	checker gateChecker       // a *preflight.UploadChecker, or unavailable
	report  *preflight.Report // the last report, for the refusal's text
}

// gateChecker checks uploads and copies for the uploader.
type gateChecker interface {
	uploader.Checker
	uploader.CopyChecker
}

// newPreflightGate builds the gate for --preflight mode ("off", "warn" or "enforce"); nil for
// off. The plan gets its region and transport here; the uploader fills in the rest from the
// request it is about to make.
func (a *app) newPreflightGate(ctx context.Context, cli *s3.Client, cf *checkFlags, plan *preflight.Plan, prof preflight.Profile, mode, noun, verb string) (*preflightGate, error) {
	if mode == cmdkit.GateOff {
		return nil, nil
	}
	g := &preflightGate{a: a, noun: noun, verb: verb, mode: uploader.PreflightWarn}
	if mode == cmdkit.GateEnforce {
		g.mode = uploader.PreflightEnforce
	}
	chk, err := a.gateChecker(ctx, cli, cf, plan, prof)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, err
	case err != nil:
		// No checker (e.g. --mode local without a findable caller): the gate still decides
		// what that means, a warning or a refusal.
		g.checker = unavailable{err}
	default:
		g.checker = &preflight.UploadChecker{Checker: chk, Template: *plan, OnReport: func(r *preflight.Report) { g.report = r }}
	}
	return g, nil
}

// gateChecker returns the checker of an upload's gate or of the preflight command, with the
// plan's region and transport filled in.
func (a *app) gateChecker(ctx context.Context, cli *s3.Client, cf *checkFlags, plan *preflight.Plan, prof preflight.Profile) (cmdkit.Checker, error) {
	cfg, err := a.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	if plan.Region == "" {
		plan.Region = cfg.Region
	}
	if plan.Transport == preflight.TransportUnknown {
		plan.Transport = preflight.TransportHTTPS
		if a.G.Insecure() {
			plan.Transport = preflight.TransportHTTP
		}
	}
	return a.checker(ctx, cli, cf, plan, prof)
}

// unavailable is the checker of a gate whose checker could not be built: every check fails
// with the reason.
type unavailable struct{ err error }

func (u unavailable) CheckUpload(context.Context, *s3.CreateMultipartUploadInput, []mpu.Step) error {
	return u.err
}

func (u unavailable) CheckCopy(context.Context, *s3.CreateMultipartUploadInput, string, string, string, string, []mpu.Step) error {
	return u.err
}

// options sets the uploader's preflight options.
func (g *preflightGate) options(o *uploader.Options) {
	if g == nil {
		o.PreflightMode = uploader.PreflightOff
		return
	}
	o.Preflight, o.PreflightMode = g.checker, g.mode
}

// warn prints the problem the uploader reported under --preflight warn (a Preflight event).
func (g *preflightGate) warn(err error) {
	a := g.a
	var de *preflight.DeniedError
	var ue *preflight.UndecidedError
	switch {
	case g.report != nil && cmdkit.ReportError(g.report) != nil:
		a.Info("warning: %s; %s anyway (--preflight warn)", a.Explain(cmdkit.ReportError(g.report)).Line, g.verb)
	case errors.As(err, &de):
		a.Info("warning: preflight says %s would be denied; %s anyway (--preflight warn):", stepNames(de.Denied), g.verb)
		if !a.g.quiet && !a.g.json && g.report != nil {
			_ = g.report.WriteText(a.stderr)
		}
	case errors.As(err, &ue):
		a.Info("warning: preflight could not decide %s; %s anyway (--preflight warn):\n%s", stepNames(ue.Unknown), g.verb, indent(ue.Details()))
	default:
		a.Info("warning: %s; %s anyway (--preflight warn)", a.Explain(preflightError(context.Background(), err)).Line, g.verb)
	}
}

// refused maps the uploader's refusal (an *uploader.UploadError with Op OpPreflight) to the
// CLI's error: exit 3 for a denied or an undecided step (the report, or the undecided steps
// with why and how to decide them, on stderr); a report that says nothing about permissions
// (the bucket is missing) and the evaluation's own errors as runPreflight maps them.
func (g *preflightGate) refused(ctx context.Context, err error) error {
	a := g.a
	if g.report != nil {
		if rerr := cmdkit.ReportError(g.report); rerr != nil {
			return rerr
		}
	}
	var de *preflight.DeniedError
	var ue *preflight.UndecidedError
	switch {
	case errors.As(err, &de):
		if !a.g.quiet && g.report != nil {
			_ = g.report.WriteText(a.stderr)
		}
		return cmdkit.DeniedErr(fmt.Errorf("preflight denied %s: the %s was not started (--preflight enforce)", stepNames(de.Denied), g.noun))
	case errors.As(err, &ue): // the details say what the report would: no report
		return cmdkit.DeniedErr(&cmdkit.Relabeled{Err: err, Msg: fmt.Sprintf("preflight could not decide %s: the %s was not started (--preflight enforce)\n%s"+
			"decide them by supplying the caller's policy (--identity-policy FILE, and --bucket-policy FILE), by probing the server (--mode probe), "+
			"or go on without a verdict (--preflight warn)", stepNames(ue.Unknown), g.noun, indent(ue.Details()))})
	}
	var ee *cmdkit.ExitError
	if errors.As(err, &ee) {
		return ee // the checker could not be built: its own error (e.g. a usage error)
	}
	var up *uploader.UploadError
	if errors.As(err, &up) && up.Err != nil {
		err = up.Err
	}
	return preflightError(ctx, err)
}

// stepNames joins the steps' names.
func stepNames(steps []preflight.StepResult) string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.Step.String()
	}
	return strings.Join(names, ", ")
}

// indent prefixes every line of s with two spaces.
func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}
