package kmsperm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/s3mpu/s3mpu/internal/apicalls"
	"github.com/s3mpu/s3mpu/internal/iamsim"
	"github.com/s3mpu/s3mpu/internal/optfn"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/internal/uniq"
	"github.com/s3mpu/s3mpu/mpu"
)

// Checker decides the KMS permissions of SSE-KMS multipart uploads. Create
// one with New. A Checker holds no per-check state and is safe for
// concurrent use by multiple goroutines, provided its clients are.
type Checker struct {
	kms  KMSAPI
	opts Options
}

// New returns a Checker that reads keys and key policies with client.
// client may be nil: the Checker then works offline, from key ARNs and the
// key policies supplied in each Input (an alias then cannot be resolved).
func New(client KMSAPI, optFns ...func(*Options)) *Checker {
	return &Checker{kms: client, opts: optfn.With(Options{}, optFns)}
}

// keyState is one key being checked, with everything its evaluation needs.
type keyState struct {
	role   KeyRole
	key    Key
	doc    *policy.Document // nil when unavailable
	hint   string           // how to make the key policy available, when doc is nil
	ctx    map[string][]string
	region string
}

// allowAllName names the stand-in identity policy used to ask "would the
// key policy allow this if IAM did"; it never appears in results.
const allowAllName = "(stand-in identity policy allowing everything)"

var allowAll = mustParse(allowAllName, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)

func mustParse(name, text string) *policy.Document {
	d, err := policy.ParseNamed(name, []byte(text))
	if err != nil {
		panic("kmsperm: built-in policy does not parse: " + err.Error())
	}
	return d
}

// Check decides, for every step of in, whether the KMS calls S3 makes on the
// caller's behalf will be allowed, and what to change when they will not.
//
// A denial is a result, not an error: Check returns an error only when it
// cannot evaluate at all — invalid input (mpu.ErrInvalidInput), a target key
// that does not exist (mpu.ErrNotFound: kms:DescribeKey answered
// NotFoundException for Input.KMSKeyID), a canceled context (mpu.ErrCanceled).
// KMS and IAM calls that fail otherwise (kms:DescribeKey, kms:GetKeyPolicy,
// iam:SimulatePrincipalPolicy denied) become Gaps, and the decisions that
// depend on what could not be read are Unknown, never Allowed.
func (c *Checker) Check(ctx context.Context, in Input, optFns ...func(*Options)) (*Report, error) {
	opts := optfn.With(c.opts, optFns)
	in = withDefaults(in, opts)
	caller, steps, err := checkInput(ctx, in)
	if err != nil {
		return nil, err
	}
	partition := partitionOf(in.Caller)
	id := identitySide{mode: mpu.EvaluatorLocal}
	if id.docs, err = parseNamed("identity", in.Identity); err != nil {
		return nil, err
	}
	if id.boundary, err = parseNamed("boundary", in.Boundary); err != nil {
		return nil, err
	}
	if id.session, err = parseNamed("session", in.Session); err != nil {
		return nil, err
	}
	rep := &Report{Caller: in.Caller, SeedRequired: opts.RequireSeedActions && !in.TargetNotKMS}
	n := &apicalls.Counter{}
	defer func() { rep.APICalls = n.Snapshot() }()
	cc := *c
	if c.kms != nil {
		cc.kms = counted{api: c.kms, calls: n}
	}
	keys, sourceKMS, err := cc.loadKeys(ctx, rep, in, caller, steps, partition)
	if err != nil {
		return nil, err
	}
	ropts := RequirementOptions{Checksums: in.Checksums, SourceKMS: sourceKMS, TargetNotKMS: in.TargetNotKMS}
	if err := id.choose(ctx, opts, n, in, caller, keys, neededActions(steps, ropts, in.TargetNotKMS), rep); err != nil {
		return nil, err
	}
	ev := &evaluator{caller: caller, partition: partition, id: &id, keys: keys, cache: map[simKey]actionEval{}}
	ev.rows(rep, steps, ropts, opts.RequireSeedActions && !in.TargetNotKMS)
	seed := Row{Label: "upload (S3 permission table)"}
	if in.TargetNotKMS {
		// The table's KMS list is about the target key, and there is none.
		seed.Decision, seed.Actions = mpu.Allowed, []ActionResult{}
		seed.Reasons = []string{"the target object is not SSE-KMS encrypted: the S3 permission table's KMS list does not apply"}
		rep.Seed = seed
		nameGaps(rep.Gaps)
		return rep, nil
	}
	rep.Seed = ev.finishRow(seed, ev.seedEvals(false), false)
	nameGaps(rep.Gaps)
	return rep, nil
}

// nameGaps names what each gap is about, so that "SOURCE could not be
// read: ERROR" reads as a sentence.
func nameGaps(gaps []mpu.Gap) {
	for i, g := range gaps {
		if g.Source != "" {
			continue
		}
		switch g.Permission {
		case ActionGetKeyPolicy:
			gaps[i].Source = "KMS key policy (kms:GetKeyPolicy)"
		case ActionDescribeKey:
			gaps[i].Source = "KMS key (kms:DescribeKey)"
		case "iam:SimulatePrincipalPolicy":
			gaps[i].Source = "identity policies for KMS (iam:SimulatePrincipalPolicy)"
		case "":
			gaps[i].Source = "KMS check input"
		default:
			gaps[i].Source = "KMS (" + g.Permission + ")"
		}
	}
}

// withDefaults fills the policies in does not give from opts.
func withDefaults(in Input, opts Options) Input {
	if in.Identity == nil {
		in.Identity = opts.Identity
	}
	if in.KeyPolicy == nil && !in.TargetNotKMS {
		in.KeyPolicy = opts.KeyPolicy
	}
	if in.CopySource != nil && in.CopySource.KeyPolicy == nil && opts.SourceKeyPolicy != nil {
		cs := *in.CopySource
		cs.KeyPolicy = opts.SourceKeyPolicy
		in.CopySource = &cs
	}
	return in
}

// checkInput validates what Check is given and returns the caller and the
// steps to check.
func checkInput(ctx context.Context, in Input) (policy.Principal, []mpu.Step, error) {
	if err := ctx.Err(); err != nil {
		return policy.Principal{}, nil, &Error{Op: "check", Err: s3err.MarkAs(err, s3err.Canceled)}
	}
	caller, err := policy.PrincipalFromARN(in.Caller)
	if err != nil {
		return caller, nil, &Error{Op: "check", Err: s3err.MarkAs(fmt.Errorf("caller %q: %w", in.Caller, err), s3err.InvalidInput)}
	}
	if caller.Account == "" || caller.Type == policy.TypeService || caller.Type == policy.TypeAnonymous {
		return caller, nil, invalid("check", "", "caller %q is not an IAM principal of an account", in.Caller)
	}
	if in.Object.Bucket == "" || in.Object.Key == "" {
		return caller, nil, invalid("check", "", "the target object needs a bucket and a key")
	}
	steps := in.Steps
	if steps == nil {
		steps = mpu.AllSteps
	}
	for _, s := range steps {
		if _, err := mpu.ParseStep(s.String()); err != nil {
			return caller, nil, invalid("check", "", "unknown step %d", int(s))
		}
	}
	return caller, steps, nil
}

// loadKeys loads the target key, unless the target is not SSE-KMS
// encrypted, and the copy source's key when the copy source is SSE-KMS
// encrypted (sourceKMS).
func (c *Checker) loadKeys(ctx context.Context, rep *Report, in Input, caller policy.Principal, steps []mpu.Step, partition string) (keys map[KeyRole]*keyState, sourceKMS bool, err error) {
	keys = map[KeyRole]*keyState{}
	if in.TargetNotKMS {
		if in.KMSKeyID != "" || in.KeyPolicy != nil {
			return nil, false, invalid("check", in.KMSKeyID, "a target key or key policy was given for a target that is not SSE-KMS encrypted (TargetNotKMS)")
		}
		if !regionRE.MatchString(in.Region) {
			return nil, false, invalid("check", "", "invalid Region %q", in.Region)
		}
		if in.BucketAccount != "" && !accountRE.MatchString(in.BucketAccount) {
			return nil, false, invalid("check", "", "invalid bucket owner account %q", in.BucketAccount)
		}
	} else {
		tk, err := ParseKey(in.KMSKeyID, in.Region, caller.Account, in.BucketAccount, partition)
		if err != nil {
			return nil, false, err
		}
		target, err := c.loadKey(ctx, rep, TargetKey, tk, caller.Account, in.KeyPolicy, in.Object, in.Region)
		if err != nil {
			return nil, false, err
		}
		keys[TargetKey] = target
	}
	cs := in.CopySource
	if cs == nil || cs.KMSKeyID == "" || !slices.Contains(steps, mpu.UploadPartCopy) {
		return keys, false, nil
	}
	if cs.Bucket == "" || cs.Key == "" {
		return nil, false, invalid("check", cs.KMSKeyID, "the copy source needs a bucket and a key")
	}
	region := cs.Region
	if region == "" {
		region = in.Region
	}
	owner := cs.Account
	if owner == "" {
		owner = caller.Account
	}
	sk, err := ParseKey(cs.KMSKeyID, region, owner, owner, partition)
	if err != nil {
		return nil, false, err
	}
	source, err := c.loadKey(ctx, rep, SourceKey, sk, caller.Account, cs.KeyPolicy, cs.Object, region)
	if err != nil {
		return nil, false, err
	}
	keys[SourceKey] = source
	return keys, true, nil
}

// neededActions lists the actions each key needs, to ask the simulator
// once per key.
func neededActions(steps []mpu.Step, ropts RequirementOptions, targetNotKMS bool) map[KeyRole]map[string]bool {
	needed := map[KeyRole]map[string]bool{}
	add := func(role KeyRole, action string) {
		if needed[role] == nil {
			needed[role] = map[string]bool{}
		}
		needed[role][action] = true
	}
	for _, s := range steps {
		for _, r := range Requirements(s, ropts) {
			add(r.Key, r.Action)
		}
	}
	if !targetNotKMS {
		for _, sa := range SeedActions {
			for _, a := range seedExpansion[sa] {
				add(TargetKey, a)
			}
		}
	}
	return needed
}

// choose decides how the identity side is evaluated: locally over the
// supplied policies, by the IAM policy simulator (asked here, once per
// key), or not at all, recording a gap.
func (id *identitySide) choose(ctx context.Context, opts Options, n *apicalls.Counter, in Input, caller policy.Principal, keys map[KeyRole]*keyState, needed map[KeyRole]map[string]bool, rep *Report) error {
	switch {
	case in.Identity != nil || caller.Type == policy.TypeRoot:
		id.mode = mpu.EvaluatorLocal
	case opts.IAM != nil && iamsim.Source(caller) != "":
		id.mode = mpu.EvaluatorSimulate
		id.sim = map[simKey]policy.Result{}
		for role, acts := range needed {
			ks := keys[role]
			res, err := simulate(ctx, opts.IAM, n, iamsim.Source(caller), slices.Sorted(maps.Keys(acts)), resourceOf(ks.key), ks.ctx)
			if err != nil {
				if errors.Is(err, mpu.ErrCanceled) {
					return err
				}
				id.mode, id.sim = mpu.EvaluatorNone, nil
				rep.Gaps = append(rep.Gaps, mpu.Gap{
					Error:      fmt.Sprintf("the caller's identity policies could not be simulated: %v", err),
					Permission: "iam:SimulatePrincipalPolicy",
					Hint:       "grant the caller iam:SimulatePrincipalPolicy on itself, or supply its identity policies",
				})
				break
			}
			for a, r := range res {
				id.sim[simKey{role, a}] = r
			}
		}
	default:
		id.mode = mpu.EvaluatorNone
		rep.Gaps = append(rep.Gaps, mpu.Gap{
			Error: "the caller's identity policies were not supplied",
			Hint:  "supply the caller's identity policies, or let kmsperm use the IAM policy simulator (Options.IAM)",
		})
	}
	return nil
}

// rows decides every step's row into rep; seedForInitiate adds the seed
// actions to Initiate's.
func (ev *evaluator) rows(rep *Report, steps []mpu.Step, ropts RequirementOptions, seedForInitiate bool) {
	for _, s := range steps {
		row := Row{Step: s, Label: s.String()}
		var evs []actionEval
		for _, r := range Requirements(s, ropts) {
			e := ev.eval(r.Key, r.Action)
			e.ar.Why, e.ar.Doc = r.Why, r.Doc
			evs = append(evs, e)
		}
		if s == mpu.Initiate && seedForInitiate {
			evs = append(evs, ev.seedEvals(true)...)
		}
		rep.Rows = append(rep.Rows, ev.finishRow(row, evs, true))
	}
}

// loadKey resolves k and finds its policy, recording gaps in rep.
func (c *Checker) loadKey(ctx context.Context, rep *Report, role KeyRole, k Key, callerAccount string, supplied []byte, obj Object, region string) (*keyState, error) {
	// S3's AWS managed key of another account is decided by rule (it
	// cannot be used across accounts); describing it would only be denied.
	crossManaged := k.Alias == AWSManagedS3Alias && k.Account != callerAccount
	if c.kms != nil && !crossManaged {
		dk, err := describe(ctx, c.kms, k)
		switch {
		case err == nil:
			k = dk
		case errors.Is(err, mpu.ErrCanceled):
			return nil, err
		case errors.Is(err, mpu.ErrNotFound) && role == TargetKey:
			// The key the upload names does not exist: S3 will fail the upload, so
			// this is not a verdict to leave unknown. (A denied DescribeKey, below,
			// only means the key could not be read.)
			return nil, &Error{Op: "check", Key: k.Input, Err: s3err.MarkAs(&detailError{
				msg: fmt.Sprintf("the target KMS key does not exist in account %s, Region %s (kms:DescribeKey answered NotFoundException); S3 would fail the upload with KMS.NotFoundException: check the key ID or alias, the account and the Region",
					k.Account, k.Region),
				cause: err,
			}, s3err.NotFound)}
		case errors.Is(err, mpu.ErrNotFound):
			rep.Gaps = append(rep.Gaps, mpu.Gap{
				Error: fmt.Sprintf("the %s key %s does not exist (or is not visible to the caller): %v", role, displayKey(k), err),
				Hint:  "check the key ID, alias and Region; S3 fails the upload with KMS.NotFoundException",
			})
		default:
			gap := mpu.Gap{
				Error:      fmt.Sprintf("the %s key %s could not be described: %v", role, displayKey(k), err),
				Permission: ActionDescribeKey,
				Hint:       fmt.Sprintf("grant the caller kms:DescribeKey on %s, or name the key by its key ARN", displayKey(k)),
			}
			if k.ARN != "" {
				gap.Hint = fmt.Sprintf("grant the caller kms:DescribeKey on %s to learn whether the key is enabled and AWS managed", k.ARN)
			}
			rep.Gaps = append(rep.Gaps, gap)
		}
	} else if c.kms == nil && k.ARN == "" && k.Alias != AWSManagedS3Alias {
		rep.Gaps = append(rep.Gaps, mpu.Gap{
			Error:      fmt.Sprintf("the %s key alias %s cannot be resolved without a KMS client", role, displayKey(k)),
			Permission: ActionDescribeKey,
			Hint:       "name the key by its key ARN, or pass a KMS client",
		})
	}
	if k.Region != "" && k.Region != region {
		return nil, invalid("check", k.Input, "the %s key is in Region %s but the bucket is in %s", role, k.Region, region)
	}
	doc, src, gap, err := loadKeyPolicy(ctx, c.kms, k, callerAccount, supplied, role)
	if err != nil {
		return nil, err
	}
	hint := ""
	if gap != nil {
		rep.Gaps = append(rep.Gaps, *gap)
		hint = gap.Hint
	}
	kr := KeyReport{Role: role, Key: k, PolicySource: src}
	if doc != nil {
		kr.KeyPolicy = doc.JSON()
	}
	rep.Keys = append(rep.Keys, kr)
	return &keyState{role: role, key: k, doc: doc, hint: hint, region: region, ctx: requestContext(obj, k, region, callerAccount)}, nil
}

// actionEval is an ActionResult with what the remedies need.
type actionEval struct {
	ar          ActionResult
	sameAccount bool
	needKey     bool     // the key policy must allow the caller
	needID      bool     // an identity policy must allow the action
	texts       []remedy // remedies that are not statements
}

type evaluator struct {
	caller    policy.Principal
	partition string
	id        *identitySide
	keys      map[KeyRole]*keyState
	cache     map[simKey]actionEval
}

func resourceOf(k Key) string {
	if k.ARN != "" {
		return k.ARN
	}
	return k.aliasARN()
}

// eval decides one concrete action on one key.
func (ev *evaluator) eval(role KeyRole, action string) actionEval {
	if e, ok := ev.cache[simKey{role, action}]; ok {
		e.ar.Reasons = append([]string(nil), e.ar.Reasons...)
		return e
	}
	e := ev.evalUncached(role, action)
	ev.cache[simKey{role, action}] = e
	return e
}

func (ev *evaluator) evalUncached(role KeyRole, action string) actionEval {
	ks := ev.keys[role]
	k := ks.key
	p := ev.caller
	e := actionEval{sameAccount: k.Account == p.Account}
	e.ar = ActionResult{Action: action, Key: role, KeyARN: displayKey(k), Evaluator: ev.id.mode}
	if ev.unusableKey(&e, k) {
		return e
	}
	req := policy.Request{Principal: p, Action: action, Resource: resourceOf(k), ResourceAccount: k.Account, Context: ks.ctx}
	idRes := ev.identityResult(role, action, req, k)
	if ks.doc == nil {
		ev.withoutKeyPolicy(&e, ks, idRes)
		return e
	}
	v := ev.combine(req, ks, idRes, e.sameAccount)
	e.ar.Deciding = refs(withoutStandIn(v.deciding))
	e.ar.Reasons = append(e.ar.Reasons, v.reasons...)
	if v.dec == mpu.ExplicitDeny {
		e.ar.Decision = v.dec
		e.texts = append(e.texts, denyRemedies(withoutStandIn(v.deciding), p.Account, e.ar.KeyARN)...)
		return e
	}
	ev.settle(&e, v, k, idRes)
	return e
}

// unusableKey decides an action on an AWS managed key of another account
// or on a key that is not enabled, and reports whether it did.
func (ev *evaluator) unusableKey(e *actionEval, k Key) bool {
	ar, p := &e.ar, ev.caller
	switch {
	case k.AWSManaged && !e.sameAccount:
		ar.Decision = mpu.ImplicitDeny
		ar.Reasons = append(ar.Reasons, fmt.Sprintf("%s is an AWS managed key of account %s; an AWS managed key cannot be used from another account (caller account %s)", displayKey(k), k.Account, p.Account))
		e.texts = append(e.texts, remedy{where: "key", keyARN: ar.KeyARN, account: k.Account,
			text: fmt.Sprintf("encrypt with a customer managed key whose key policy allows %s (and name it by its key ARN), instead of the AWS managed key", p.PolicyARN())})
		return true
	case k.Described && !k.Enabled:
		ar.Decision = mpu.ImplicitDeny
		ar.Reasons = append(ar.Reasons, fmt.Sprintf("key %s is not enabled (state %s): KMS refuses every cryptographic operation with it", displayKey(k), k.State))
		e.texts = append(e.texts, remedy{where: "key", keyARN: ar.KeyARN, account: k.Account, text: "enable the key (or cancel its deletion), or encrypt with another key"})
		return true
	}
	return false
}

// identityResult is the identity side's verdict alone, or nil when it is
// not known: evaluated as if within the caller's account (so that no
// resource policy is required), with aws:ResourceAccount still naming the
// key's account.
func (ev *evaluator) identityResult(role KeyRole, action string, req policy.Request, k Key) *policy.Result {
	idReq := req
	idReq.ResourceAccount = ""
	idReq.Context = make(map[string][]string, len(req.Context)+1)
	for ck, cv := range req.Context {
		idReq.Context[ck] = cv
	}
	idReq.Context["aws:ResourceAccount"] = []string{k.Account}
	switch ev.id.mode {
	case mpu.EvaluatorLocal:
		r := policy.Evaluate(idReq, policy.PolicySet{Identity: ev.id.docs, Boundary: ev.id.boundary, Session: ev.id.session})
		return &r
	case mpu.EvaluatorSimulate:
		if r, ok := ev.id.sim[simKey{role, action}]; ok {
			return &r
		}
	}
	return nil
}

// withoutKeyPolicy decides an action whose key policy is not available:
// only an identity policy's explicit Deny is certain.
func (ev *evaluator) withoutKeyPolicy(e *actionEval, ks *keyState, idRes *policy.Result) {
	ar, k := &e.ar, ks.key
	if idRes != nil && idRes.Decision == policy.ExplicitDeny {
		ar.Decision = mpu.ExplicitDeny
		ar.Deciding = refs(idRes.Deciding)
		ar.Reasons = append(ar.Reasons, idRes.Reasons...)
		e.texts = append(e.texts, denyRemedies(idRes.Deciding, ev.caller.Account, ar.KeyARN)...)
		return
	}
	ar.Decision = mpu.Unknown
	ar.Reasons = append(ar.Reasons, fmt.Sprintf("the key policy of %s is not available (see gaps): a key policy that cannot be read is never taken to allow", displayKey(k)))
	text := "make the key policy available, then check again"
	if ks.hint != "" {
		text = ks.hint + ", then check again"
	}
	e.texts = append(e.texts, remedy{where: "key policy", keyARN: ar.KeyARN, account: k.Account, text: text})
}

// verdict is the key policy and the identity side decided together.
type verdict struct {
	dec      mpu.Decision
	deciding []policy.StatementRef
	reasons  []string
	missing  []string
	// coversOK: the key policy accepts the caller given an identity
	// policy that allows; direct: it allows the caller on its own.
	coversOK, direct bool
}

// combine decides an action from the key policy and the identity side.
func (ev *evaluator) combine(req policy.Request, ks *keyState, idRes *policy.Result, same bool) verdict {
	p, k := ev.caller, ks.key
	keyOnly := policy.Evaluate(req, policy.PolicySet{Resource: []*policy.Document{ks.doc}, KeyPolicyMode: true})
	covers := policy.Evaluate(req, policy.PolicySet{Identity: []*policy.Document{allowAll}, Resource: []*policy.Document{ks.doc}, KeyPolicyMode: true})
	v := verdict{coversOK: covers.Decision == policy.Allowed, direct: same && keyOnly.Decision == policy.Allowed}
	idAllowed := idRes != nil && idRes.Decision == policy.Allowed
	switch {
	case keyOnly.Decision == policy.ExplicitDeny:
		v.dec, v.deciding, v.reasons, v.missing = mpu.ExplicitDeny, keyOnly.Deciding, keyOnly.Reasons, keyOnly.MissingKeys
	case ev.id.mode == mpu.EvaluatorLocal:
		full := policy.Evaluate(req, policy.PolicySet{Identity: ev.id.docs, Resource: []*policy.Document{ks.doc}, Boundary: ev.id.boundary, Session: ev.id.session, KeyPolicyMode: true})
		v.dec, v.deciding, v.reasons, v.missing = full.Decision.Verdict(), full.Deciding, full.Reasons, full.MissingKeys
	case idRes != nil && idRes.Decision == policy.ExplicitDeny:
		v.dec, v.deciding, v.reasons, v.missing = mpu.ExplicitDeny, idRes.Deciding, idRes.Reasons, idRes.MissingKeys
	case idRes != nil && idAllowed && v.coversOK && !v.direct: // the simulator allows what the key policy delegates
		v.missing = union(covers.MissingKeys, idRes.MissingKeys)
		v.dec, v.deciding = mpu.Allowed, append(withoutStandIn(covers.Deciding), idRes.Deciding...)
		if same {
			v.reasons = append(v.reasons, "the key policy delegates to the account's identity policies, and the IAM policy simulator allows")
		} else {
			v.reasons = append(v.reasons, fmt.Sprintf("cross-account key (caller %s, key %s): the key policy allows the caller's account or the caller, and the IAM policy simulator allows", p.Account, k.Account))
		}
	case idRes != nil: // the simulator allows nothing the key policy needs an identity policy for
		v.missing = union(covers.MissingKeys, idRes.MissingKeys)
		v.byKeyPolicy(keyOnly, "the key policy allows the caller directly",
			mpu.ImplicitDeny, "the key policy would accept the caller, but the IAM policy simulator finds no identity policy that allows",
			keyNotCoveringReason(same, p, k))
	default: // identity policies unknown
		v.missing = covers.MissingKeys
		v.byKeyPolicy(keyOnly, "the key policy allows the caller directly; the caller's identity policies were not supplied, so a Deny in them was not checked",
			mpu.Unknown, "the key policy accepts the caller only together with an identity policy, and the caller's identity policies were not supplied",
			keyNotCoveringReason(same, p, k))
	}
	return v
}

// byKeyPolicy decides v by the key policy alone, with the reason given for
// each outcome: Allowed when it allows the caller directly (v.direct),
// coversDec when it accepts the caller only with an identity policy
// (v.coversOK), else ImplicitDeny.
func (v *verdict) byKeyPolicy(keyOnly policy.Result, direct string, coversDec mpu.Decision, covers, notCovering string) {
	switch {
	case v.direct:
		v.dec, v.deciding = mpu.Allowed, keyOnly.Deciding
		v.reasons = append(v.reasons, direct)
	case v.coversOK:
		v.dec = coversDec
		v.reasons = append(v.reasons, covers)
	default:
		v.dec = mpu.ImplicitDeny
		v.reasons = append(v.reasons, notCovering)
	}
}

// settle turns a verdict that is not an explicit Deny into e's decision:
// Unknown when it depends on what cannot be known, and what must change
// when it is not Allowed.
func (ev *evaluator) settle(e *actionEval, v verdict, k Key, idRes *policy.Result) {
	ar, p, dec := &e.ar, ev.caller, v.dec
	missing := unknowable(v.missing)
	if len(missing) > 0 {
		ar.DependsOn = missing
		if dec == mpu.Allowed || dec == mpu.ImplicitDeny {
			ar.Reasons = append(ar.Reasons, fmt.Sprintf("the decision depends on %s, whose value kmsperm cannot know before the request; it would otherwise be %s", strings.Join(missing, ", "), dec))
		}
		dec = mpu.Unknown
	}
	if k.ARN == "" && dec == mpu.ImplicitDeny {
		dec = mpu.Unknown
		ar.Reasons = append(ar.Reasons, "the alias did not resolve to a key ARN, so identity policies naming the key ARN could not be matched")
	}
	ar.Decision = dec
	if dec == mpu.Allowed {
		return
	}
	if dec == mpu.ImplicitDeny {
		ar.GrantsNotEvaluated = true
		ar.Reasons = append(ar.Reasons, "grants not evaluated: a KMS grant for the caller could still allow this (kmsperm does not list grants)")
	}
	idAllowed := idRes != nil && idRes.Decision == policy.Allowed
	idKnownAllowed := idAllowed || (ev.id.mode == mpu.EvaluatorLocal && p.Type == policy.TypeRoot)
	switch {
	case !v.coversOK:
		e.needKey = true
		if !e.sameAccount && !idKnownAllowed {
			e.needID = true
		}
	case !idKnownAllowed && !v.direct:
		e.needID = true
	}
}

// knownKeys are condition keys whose presence kmsperm knows exactly for a
// KMS request S3 makes: it sets them itself, or KMS sets them only for
// operations S3 does not call. A policy's reference to one that the request
// lacks is therefore a definite non-match, not a missing value.
var knownKeys = map[string]bool{
	"kms:viaservice":            true,
	"kms:calleraccount":         true,
	"kms:encryptioncontextkeys": true,
	"kms:encryptionalgorithm":   true,
	"kms:grantisforawsresource": true,
	"kms:grantoperations":       true,
	"kms:granteeprincipal":      true,
	"kms:retiringprincipal":     true,
	"kms:grantconstrainttype":   true,
	"aws:viaawsservice":         true,
	"aws:requestedregion":       true,
}

// unknowable drops from missing the keys whose absence is certain.
func unknowable(missing []string) []string {
	var out []string
	for _, k := range missing {
		lk := strings.ToLower(k)
		if knownKeys[lk] || strings.HasPrefix(lk, strings.ToLower(keyEncryptionContextPrefix)) {
			continue
		}
		out = append(out, k)
	}
	return out
}

func keyNotCoveringReason(same bool, p policy.Principal, k Key) string {
	if same {
		return fmt.Sprintf("the key policy of %s neither allows the caller nor delegates to the account root (arn:%s:iam::%s:root)", displayKey(k), partitionOf(p.ARN), k.Account)
	}
	return fmt.Sprintf("cross-account key (caller %s, key %s): the key policy allows neither the caller nor its account", p.Account, k.Account)
}

// seedEvals decides the seed list on the target key; a wildcard action is
// allowed only when every action it stands for is.
func (ev *evaluator) seedEvals(forStep bool) []actionEval {
	var out []actionEval
	for _, sa := range SeedActions {
		var agg actionEval
		agg.ar = ActionResult{Action: sa, Key: TargetKey, Seed: true, Decision: mpu.Allowed,
			Why: "listed by the S3 multipart permission table for SSE-KMS uploads", Doc: docMultipartPermissions}
		for i, a := range seedExpansion[sa] {
			e := ev.eval(TargetKey, a)
			if i == 0 {
				agg.ar.KeyARN, agg.ar.Evaluator, agg.sameAccount = e.ar.KeyARN, e.ar.Evaluator, e.sameAccount
			}
			agg.ar.Decision = mpu.Worse(agg.ar.Decision, e.ar.Decision)
			agg.ar.Deciding = uniq.Append(agg.ar.Deciding, e.ar.Deciding...)
			agg.ar.DependsOn = uniq.Append(agg.ar.DependsOn, e.ar.DependsOn...)
			for _, r := range e.ar.Reasons {
				prefix := ""
				if len(seedExpansion[sa]) > 1 {
					prefix = a + ": "
				}
				agg.ar.Reasons = append(agg.ar.Reasons, prefix+r)
			}
			agg.ar.GrantsNotEvaluated = agg.ar.GrantsNotEvaluated || e.ar.GrantsNotEvaluated
			agg.needKey = agg.needKey || e.needKey
			agg.needID = agg.needID || e.needID
			agg.texts = append(agg.texts, e.texts...)
		}
		if forStep {
			agg.ar.Why = "the S3 multipart permission table requires it for the whole upload (RequireSeedActions)"
		}
		out = append(out, agg)
	}
	return out
}

// finishRow combines the actions of a row and builds its remedies.
// viaS3 adds the kms:ViaService condition to the statements it proposes.
func (ev *evaluator) finishRow(row Row, evs []actionEval, viaS3 bool) Row {
	row.Decision = mpu.Allowed
	row.Actions = []ActionResult{}
	for _, e := range evs {
		row.Actions = append(row.Actions, e.ar)
		row.Decision = mpu.Worse(row.Decision, e.ar.Decision)
	}
	if len(evs) == 0 {
		row.Reasons = append(row.Reasons, "S3 makes no KMS call for this step")
		return row
	}
	counts := map[mpu.Decision][]string{}
	for _, e := range evs {
		name := e.ar.Action
		if e.ar.Key == SourceKey {
			name += " (source key)"
		}
		counts[e.ar.Decision] = uniq.Append(counts[e.ar.Decision], name)
	}
	for _, d := range []mpu.Decision{mpu.ExplicitDeny, mpu.ImplicitDeny, mpu.Unknown, mpu.Allowed} {
		if len(counts[d]) > 0 {
			row.Reasons = append(row.Reasons, fmt.Sprintf("%s: %s", d, strings.Join(counts[d], ", ")))
		}
	}
	// Statements: one key policy statement and one identity statement per key.
	type group struct{ key, id []string }
	groups := map[KeyRole]*group{}
	seenText := map[string]bool{}
	var rems []remedy
	for _, e := range evs {
		if e.ar.Decision == mpu.Allowed {
			continue
		}
		g := groups[e.ar.Key]
		if g == nil {
			g = &group{}
			groups[e.ar.Key] = g
		}
		if e.needKey {
			g.key = uniq.Append(g.key, e.ar.Action)
		}
		if e.needID {
			g.id = uniq.Append(g.id, e.ar.Action)
		}
		for _, t := range e.texts {
			if !seenText[t.where+t.keyARN+t.text] {
				seenText[t.where+t.keyARN+t.text] = true
				rems = append(rems, t)
			}
		}
	}
	for _, role := range []KeyRole{TargetKey, SourceKey} {
		g := groups[role]
		if g == nil {
			continue
		}
		ks := ev.keys[role]
		via := ""
		if viaS3 {
			via = viaService(ks.region, ks.key.Partition)
		}
		if len(g.key) > 0 {
			rems = append(rems, remedy{
				where: "key policy", account: ks.key.Account, keyARN: displayKey(ks.key),
				statement: keyPolicyStatement(ev.caller.PolicyARN(), g.key, via),
				text:      fmt.Sprintf("add this statement to the key policy of %s (account %s)", displayKey(ks.key), ks.key.Account),
			})
		}
		if len(g.id) > 0 {
			rems = append(rems, remedy{
				where: "identity policy", account: ev.caller.Account, keyARN: displayKey(ks.key),
				statement: identityStatement(resourceOf(ks.key), g.id, via),
				text:      fmt.Sprintf("add this statement to an identity policy of %s", ev.caller.PolicyARN()),
			})
		}
	}
	row.Remedy = asRemedy(rems)
	return row
}

// asRemedy puts a row's remedies in the shared words: one sentence each
// in the summary, and the statements to add, each named by its policy
// ("key policy of KEY-ARN", "identity policy") and account.
func asRemedy(rems []remedy) *mpu.Remedy {
	if len(rems) == 0 {
		return nil
	}
	rm := &mpu.Remedy{}
	texts := make([]string, 0, len(rems))
	for _, m := range rems {
		texts = append(texts, m.text)
		if len(m.statement) == 0 {
			continue
		}
		policy := m.where
		if m.where == "key policy" && m.keyARN != "" {
			policy = "key policy of " + m.keyARN
		}
		rm.Add = append(rm.Add, mpu.RemedyStatement{Policy: policy, Account: m.account, Statement: m.statement})
	}
	rm.Summary = strings.Join(texts, "; ")
	return rm
}

func denyRemedies(deciding []policy.StatementRef, callerAccount, keyARN string) []remedy {
	var out []remedy
	for _, d := range deciding {
		where, acct := "identity policy", callerAccount
		if d.Kind == policy.KindResource {
			where, acct = "key policy", ""
		}
		out = append(out, remedy{where: where, account: acct, keyARN: keyARN,
			text: fmt.Sprintf("remove or narrow %s: an explicit Deny cannot be overridden by any Allow", d)})
	}
	return out
}

func refs(rs []policy.StatementRef) []string {
	var out []string
	for _, r := range rs {
		out = uniq.Append(out, r.String())
	}
	return out
}

func withoutStandIn(rs []policy.StatementRef) []policy.StatementRef {
	var out []policy.StatementRef
	for _, r := range rs {
		if r.Policy != allowAllName {
			out = append(out, r)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := uniq.Append(nil, a...)
	out = uniq.Append(out, b...)
	sort.Strings(out)
	return out
}

func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}
