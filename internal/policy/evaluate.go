package policy

import (
	"fmt"
	"sort"
	"strings"
)

// compiled is the matching form of a statement, built once by Parse.
type compiled struct {
	actions   []glob // lower-cased Action or NotAction patterns
	notAction bool
	resources []vpattern
	arns      []arnGlob // compiled resources without variables (parallel to resources)
	notRes    bool
	hasRes    bool
	principal []principalEntry
	notPrinc  bool
	hasPrinc  bool
	conds     []ccond
}

func compileStatement(st *Statement, vars bool) (*compiled, error) {
	c := &compiled{}
	acts := st.Action
	if len(st.NotAction) > 0 {
		acts, c.notAction = st.NotAction, true
	}
	for _, a := range acts {
		c.actions = append(c.actions, compileGlob(strings.ToLower(a)))
	}
	res := st.Resource
	if len(st.NotResource) > 0 {
		res, c.notRes = st.NotResource, true
	}
	c.hasRes = len(res) > 0
	for _, r := range res {
		p := compileVarPattern(r, vars, true)
		c.resources = append(c.resources, p)
		var a arnGlob
		if !p.hasVars {
			a = compileARNGlob(p.plain)
		}
		c.arns = append(c.arns, a)
	}
	switch {
	case st.Principal != nil:
		c.hasPrinc, c.principal = true, compilePrincipals(st.Principal)
	case st.NotPrincipal != nil:
		c.hasPrinc, c.notPrinc, c.principal = true, true, compilePrincipals(st.NotPrincipal)
	}
	for _, cond := range st.Condition {
		cc, err := compileCondition(cond, vars)
		if err != nil {
			return nil, &ParseError{Field: "Condition." + cond.Operator + "." + cond.Key, Msg: err.Error()}
		}
		c.conds = append(c.conds, cc)
	}
	return c, nil
}

// evalCtx carries one evaluation's request and bookkeeping.
type evalCtx struct {
	req     *Request
	action  string // lower-cased
	missing []string
	reasons []string
}

func (e *evalCtx) noteMissing(key string) {
	if e.definitelyAbsent(key) {
		return
	}
	for _, k := range e.missing {
		if strings.EqualFold(k, key) {
			return
		}
	}
	e.missing = append(e.missing, key)
}

// lookup returns the request's values for a condition key, looked up
// case-insensitively, falling back to the keys derived from the principal.
func (e *evalCtx) lookup(key string) []string {
	if v, ok := e.req.Context[key]; ok {
		return v
	}
	found, best := false, ""
	for k := range e.req.Context {
		// Of several spellings of one key, the smallest wins, so the
		// result does not depend on map order.
		if strings.EqualFold(k, key) && (!found || k < best) {
			found, best = true, k
		}
	}
	if found {
		return e.req.Context[best]
	}
	p := &e.req.Principal
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	switch {
	case strings.EqualFold(key, "aws:username"):
		if p.Type == TypeUser {
			return one(p.Username)
		}
	case strings.EqualFold(key, "aws:userid"):
		if p.UserID == "" && p.Type == TypeRoot {
			return one(p.Account)
		}
		return one(p.UserID)
	case strings.EqualFold(key, "aws:PrincipalArn"):
		if p.Type == TypeAssumedRole && p.Account != "" && p.RoleName != "" {
			return one(roleARN(p))
		}
		return one(p.ARN)
	case strings.EqualFold(key, "aws:PrincipalAccount"):
		if p.Type != TypeAnonymous && p.Type != TypeService {
			return one(p.Account)
		}
	case strings.EqualFold(key, "aws:PrincipalType"):
		switch p.Type {
		case TypeUser:
			return one("User")
		case TypeRoot:
			return one("Account")
		case TypeAssumedRole, TypeRole:
			return one("AssumedRole")
		case TypeFederatedUser:
			return one("FederatedUser")
		case TypeAnonymous:
			return one("Anonymous")
		}
	case strings.EqualFold(key, "aws:PrincipalServiceName"):
		if p.Type == TypeService {
			return one(p.Service)
		}
	case strings.EqualFold(key, "aws:ResourceAccount"):
		if e.req.ResourceAccount != "" {
			return one(e.req.ResourceAccount)
		}
		if p.Type != TypeAnonymous && p.Type != TypeService {
			return one(p.Account)
		}
	}
	return nil
}

// definitelyAbsent reports keys that cannot exist for this principal, so
// their absence is not worth reporting as missing: supplying them would not
// describe the same caller.
func (e *evalCtx) definitelyAbsent(key string) bool {
	t := e.req.Principal.Type
	if t == "" {
		return false
	}
	outside := t == TypeAnonymous || t == TypeService
	switch {
	case strings.EqualFold(key, "aws:username"):
		return t != TypeUser
	case strings.EqualFold(key, "aws:PrincipalServiceName"):
		return t != TypeService
	case strings.EqualFold(key, "aws:PrincipalAccount"), strings.EqualFold(key, "aws:PrincipalArn"):
		return outside
	case strings.EqualFold(key, "aws:userid"):
		return t == TypeAnonymous
	}
	return false
}

func roleARN(p *Principal) string {
	part := "aws"
	if f, ok := splitARN(p.ARN); ok && f[1] != "" {
		part = f[1]
	}
	return "arn:" + part + ":iam::" + p.Account + ":role/" + p.RoleName
}

// stmtMatch is the outcome of matching one statement.
type stmtMatch struct {
	applies bool
	pm      identityMatch
}

// matchStatement decides whether st applies to the request. Condition keys
// and policy variables absent from the request that could change the
// outcome are recorded as missing.
func (e *evalCtx) matchStatement(st *Statement, c *compiled, kind string, boundary bool) stmtMatch {
	var m stmtMatch
	var ok bool
	if m.pm, ok = e.matchPrincipal(st, c, kind, boundary); !ok {
		return m
	}
	if !e.matchAction(c) {
		return m
	}
	principalKind := kind == KindResource || kind == KindEndpoint
	if !c.hasRes && !principalKind {
		return m // identity-type statements need Resource or NotResource
	}

	// Policy variables with no value (IAM User Guide, "Policy variables
	// with no value"): a Resource or NotResource entry that holds one
	// matches no resource, and a condition value that holds one matches no
	// request value, so positive operators fail on it and negated ones
	// succeed; the statement's other entries and values still count.
	// Variables the request lacks are also matched as matching nothing
	// and as "*", only to learn whether supplying them could change
	// whether the statement applies.
	resOK := true
	var could []string // absent variables whose value could matter
	if c.hasRes {
		var hit bool
		hit, could = e.matchResources(c)
		resOK = hit != c.notRes
		if !resOK && len(could) == 0 {
			return m
		}
	}
	condOK := e.matchConditions(c, could) // always run: it records missing keys
	m.applies = resOK && condOK
	return m
}

// matchPrincipal matches the request's principal against the statement's
// Principal or NotPrincipal, as far as a policy of kind can name one; ok
// reports whether the statement can apply to it.
func (e *evalCtx) matchPrincipal(st *Statement, c *compiled, kind string, boundary bool) (pm identityMatch, ok bool) {
	principalKind := kind == KindResource || kind == KindEndpoint
	p := &e.req.Principal
	switch {
	case !principalKind && c.hasPrinc:
		return pm, false // identity-type policies cannot name principals (AWS rejects them)
	case !principalKind:
		return pm, true
	case !c.hasPrinc:
		if kind == KindResource {
			return pm, false // a resource policy statement without Principal names nobody
		}
		return identityMatch{any: true, direct: true, self: true}, true
	case c.notPrinc:
		// AWS: a NotPrincipal Deny always denies an IAM principal that has
		// a permissions boundary, whatever NotPrincipal lists.
		if st.Effect != EffectDeny {
			return pm, false // NotPrincipal with Allow is not supported by AWS; Parse rejects it
		}
		iamPrincipal := p.Type == TypeUser || p.Type == TypeRole || p.Type == TypeAssumedRole
		if !(boundary && iamPrincipal) && notPrincipalExcludes(c.principal, p) {
			return pm, false
		}
		return identityMatch{any: true, direct: true}, true
	}
	pm = matchPrincipals(c.principal, p)
	return pm, pm.any
}

// matchAction reports whether the request's action is covered by the
// statement's Action, or not excluded by its NotAction.
func (e *evalCtx) matchAction(c *compiled) bool {
	hit := false
	for _, g := range c.actions {
		if g.match(e.action) {
			hit = true
			break
		}
	}
	return hit != c.notAction
}

// matchConditions reports whether all of c's conditions hold. Unless one
// fails on values the request has, which settles that the statement does
// not apply, the absent keys the conditions refer to, the absent variables
// in could and those in condition values whose value could change a result
// are recorded as missing.
func (e *evalCtx) matchConditions(c *compiled, could []string) bool {
	ok := true
	decisive := false // a condition failed on values the request has
	var absentKeys []string
	for i := range c.conds {
		cc := &c.conds[i]
		r, absent := e.evalCondition(cc, resolveStrict)
		var condVars []string
		if absent {
			absentKeys = append(absentKeys, cc.key)
		} else if cc.hasVars {
			condVars = e.condOpenVars(cc, r)
			could = append(could, condVars...)
		}
		if !r {
			ok = false
			if !absent && len(condVars) == 0 {
				decisive = true
			}
		}
	}
	if !decisive {
		for _, k := range could {
			e.noteMissing(k)
		}
		for _, k := range absentKeys {
			e.noteMissing(k)
		}
	}
	return ok
}

// condOpenVars returns the variables the request lacks in cc's policy
// values whose value could change the condition's result r.
func (e *evalCtx) condOpenVars(cc *ccond, r bool) []string {
	var open []string
	for j := range cc.vals {
		open = e.appendOpenVars(open, &cc.vals[j].pat)
	}
	// The result is monotone in which policy values match: if
	// the open variables matching nothing and matching all they
	// could give the same result, no value of them changes it.
	if len(open) > 0 {
		rmin, _ := e.evalCondition(cc, resolveMin)
		rmax, _ := e.evalCondition(cc, resolveMax)
		if rmin == r && rmax == r {
			return nil
		}
	}
	return open
}

// matchResources matches the request's resource against the Resource or
// NotResource entries of c: hit reports whether one matches (an entry
// with a variable that has no value matches nothing). could lists the
// variables the request lacks whose value could change that: none when an
// entry without them matches, else those of the entries that would match
// for some value of them.
func (e *evalCtx) matchResources(c *compiled) (hit bool, could []string) {
	for i := range c.resources {
		r := &c.resources[i]
		if !r.hasVars {
			if c.arns[i].match(e.req.Resource) {
				return true, nil
			}
			continue
		}
		open := e.appendOpenVars(nil, r)
		if g, ok, _ := e.resolve(r, resolveStrict); ok {
			if a := compileARNGlob(g); a.match(e.req.Resource) {
				if len(open) == 0 {
					return true, nil
				}
				hit = true
			}
		}
		if len(open) > 0 {
			if g, ok, _ := e.resolve(r, resolveMax); ok {
				if a := compileARNGlob(g); a.match(e.req.Resource) {
					could = append(could, open...)
				}
			}
		}
	}
	return hit, could
}

// misplaced says why a statement cannot be part of a policy of kind (AWS refuses such a
// policy, so the statement never applies), or "". Evaluate says so in the result, so that a
// Deny written that way, in a draft, is not dropped without a word.
func misplaced(c *compiled, kind string) string {
	switch kind {
	case KindResource:
		if !c.hasPrinc {
			return "a resource policy statement needs a Principal (AWS refuses the policy without one)"
		}
	case KindIdentity, KindBoundary, KindSession:
		what := map[string]string{KindIdentity: "an identity policy", KindBoundary: "a permissions boundary", KindSession: "a session policy"}[kind]
		if c.hasPrinc {
			return what + " cannot name a Principal (AWS refuses such a policy)"
		}
		if !c.hasRes {
			return "the statement has no Resource or NotResource (AWS refuses such " + what + ")"
		}
	}
	return ""
}

type matchRef struct {
	ref StatementRef
	pm  identityMatch
}

// Evaluate decides whether req is allowed by the policies in set. It never
// panics and never returns Allowed unless some statement allows the request
// and no applicable statement denies it.
func Evaluate(req Request, set PolicySet) Result {
	e := &evalCtx{req: &req, action: strings.ToLower(req.Action)}
	var res Result
	lists := [...]struct {
		kind string
		docs []*Document
	}{
		{KindIdentity, set.Identity},
		{KindResource, set.Resource},
		{KindBoundary, set.Boundary},
		{KindSession, set.Session},
		{KindEndpoint, set.Endpoint},
	}
	var allows [5][]matchRef
	var denies []StatementRef
	for li, l := range lists {
		for _, d := range l.docs {
			if d == nil {
				continue
			}
			vars := d.Version == Version2012
			for si := range d.Statements {
				st := &d.Statements[si]
				c := st.c
				if c == nil {
					var err error
					if c, err = compileStatement(st, vars); err != nil {
						e.reasons = append(e.reasons, fmt.Sprintf("%s policy %q statement %d is invalid and was ignored: %v", l.kind, d.Name, st.Index, err))
						continue
					}
				}
				if why := misplaced(c, l.kind); why != "" {
					ref := StatementRef{Policy: d.Name, Kind: l.kind, Sid: st.Sid, Index: st.Index, Effect: st.Effect}
					e.reasons = append(e.reasons, fmt.Sprintf("%s was ignored: %s", ref, why))
					continue
				}
				m := e.matchStatement(st, c, l.kind, len(set.Boundary) > 0)
				if !m.applies {
					continue
				}
				ref := StatementRef{Policy: d.Name, Kind: l.kind, Sid: st.Sid, Index: st.Index, Effect: st.Effect}
				res.Matched = append(res.Matched, ref)
				if st.Effect == EffectDeny {
					denies = append(denies, ref)
				} else {
					allows[li] = append(allows[li], matchRef{ref, m.pm})
				}
			}
		}
	}
	res.Reasons = e.reasons
	if len(e.missing) > 0 {
		res.MissingKeys = append([]string(nil), e.missing...)
		sort.Strings(res.MissingKeys)
		res.Reasons = append(res.Reasons, "the request lacks condition keys that statements refer to, so the decision depends on them: "+strings.Join(res.MissingKeys, ", "))
	}
	if len(denies) > 0 {
		res.Decision = ExplicitDeny
		res.Deciding = denies
		for _, d := range denies {
			res.Reasons = append(res.Reasons, "explicitly denied by "+d.String())
		}
		return res
	}
	decide(&req, &set, allows, &res)
	return res
}

// decide applies AWS's allow rules once no Deny applies: the identity and
// resource policies must allow as the caller's account requires, and then
// every guardrail policy type that is given must allow too.
func decide(req *Request, set *PolicySet, allows [5][]matchRef, res *Result) {
	f := newAllowFacts(req, allows[0], allows[1], res)
	if !f.identityOK && f.p.Type == TypeRoot && !f.anonymous {
		f.identityOK = true
		f.note("the account root user needs no identity policy")
	}
	deciding, ok := f.baseAllow(set.KeyPolicyMode)
	if !ok {
		res.Decision = ImplicitDeny
		return
	}
	guards, ok := f.guardrails(set, allows)
	if !ok {
		res.Decision = ImplicitDeny
		return
	}
	deciding = append(deciding, guards...)
	res.Decision = Allowed
	res.Deciding = deciding
	for _, d := range deciding {
		res.Reasons = append(res.Reasons, "allowed by "+d.String())
	}
}

// allowFacts is what decide's rules look at: where the caller stands
// relative to the resource's account, and which Allow statements of the
// identity and resource policies apply. Reasons go to res.
type allowFacts struct {
	p           *Principal
	res         *Result
	resAcct     string // the resource's account (the caller's when not given)
	anonymous   bool   // the caller is in no account
	sameAccount bool   // the caller is in the resource's account

	identityOK    bool           // an identity policy allows (or the account root needs none)
	idRefs        []StatementRef // identity policy Allows
	resAllows     []matchRef     // resource policy Allows
	resDirect     []StatementRef // resource policy Allows that name the caller itself
	resViaAccount []StatementRef // resource policy Allows that name only the caller's account
}

// newAllowFacts sorts the request and the matched identity and resource
// policy Allows into the facts decide's rules look at.
func newAllowFacts(req *Request, idAllows, resAllows []matchRef, res *Result) *allowFacts {
	p := &req.Principal
	f := &allowFacts{p: p, res: res, resAcct: req.ResourceAccount, resAllows: resAllows}
	f.anonymous = p.Type == TypeAnonymous || (p.Account == "" && p.Type != TypeService)
	if f.resAcct == "" {
		f.resAcct = p.Account
	}
	f.sameAccount = !f.anonymous && f.resAcct == p.Account
	for _, a := range resAllows {
		if a.pm.direct {
			f.resDirect = append(f.resDirect, a.ref)
		} else {
			f.resViaAccount = append(f.resViaAccount, a.ref)
		}
	}
	for _, a := range idAllows {
		f.idRefs = append(f.idRefs, a.ref)
	}
	f.identityOK = len(f.idRefs) > 0
	return f
}

func (f *allowFacts) note(reason string) { f.res.Reasons = append(f.res.Reasons, reason) }

// baseAllow applies the rule for the caller's standing; ok reports whether
// the identity and resource policies allow, and deciding lists the
// statements that do.
func (f *allowFacts) baseAllow(keyPolicyMode bool) (deciding []StatementRef, ok bool) {
	switch {
	case f.p.Type == TypeService:
		return f.directOnly("no resource policy statement allows the service principal")
	case f.anonymous:
		return f.directOnly("a caller outside any account (anonymous) needs a resource policy statement that names it or everyone (\"*\"), and none does")
	case keyPolicyMode && f.sameAccount:
		return f.keyPolicy()
	case f.sameAccount:
		return f.sameAccountAllow()
	}
	return f.crossAccount()
}

// directOnly is the rule for callers that identity policies cannot speak
// for (service principals, anonymous callers): a resource policy statement
// must name them; otherwise the reason is noted.
func (f *allowFacts) directOnly(otherwise string) ([]StatementRef, bool) {
	if len(f.resDirect) == 0 {
		f.note(otherwise)
		return nil, false
	}
	return append([]StatementRef(nil), f.resDirect...), true
}

// keyPolicy is the rule for a KMS key policy in the caller's account: the
// key policy must allow the caller, or allow the account and so delegate
// to its identity policies, one of which must allow.
func (f *allowFacts) keyPolicy() ([]StatementRef, bool) {
	switch {
	case len(f.resDirect) > 0:
		f.note("the key policy allows the caller directly")
		return append([]StatementRef(nil), f.resDirect...), true
	case len(f.resViaAccount) > 0 && f.identityOK:
		f.note("the key policy delegates to the account's identity policies, and an identity policy allows")
		return concatRefs(f.resViaAccount, f.idRefs), true
	case len(f.resViaAccount) > 0:
		f.note("the key policy delegates to the account's identity policies, but no identity policy allows")
	case f.identityOK:
		f.note("an identity policy allows, but the key policy neither allows the caller nor delegates to the account root")
	default:
		f.note("the key policy does not allow the caller")
	}
	return nil, false
}

// sameAccountAllow is the rule within one account: an identity policy or a
// resource policy statement naming the caller suffices.
func (f *allowFacts) sameAccountAllow() ([]StatementRef, bool) {
	if !f.identityOK && len(f.resDirect) == 0 {
		if len(f.resViaAccount) > 0 {
			f.note("the resource policy allows the account, which delegates to identity policies, and no identity policy allows")
		} else {
			f.note("no identity or resource policy statement allows the request")
		}
		return nil, false
	}
	if !f.identityOK {
		return append([]StatementRef(nil), f.resDirect...), true
	}
	return concatRefs(f.idRefs, f.resDirect, f.resViaAccount), true
}

// crossAccount is the rule across accounts: both an identity policy of the
// caller and the resource policy must allow.
func (f *allowFacts) crossAccount() ([]StatementRef, bool) {
	resOK := len(f.resDirect) > 0 || len(f.resViaAccount) > 0
	prefix := fmt.Sprintf("cross-account request (caller %s, resource %s): ", f.p.Account, f.resAcct)
	switch {
	case f.identityOK && resOK:
		f.note(prefix + "both an identity policy and the resource policy allow")
		return concatRefs(f.idRefs, f.resDirect, f.resViaAccount), true
	case f.identityOK:
		f.note(prefix + "an identity policy allows, but the resource policy does not")
	case resOK:
		f.note(prefix + "the resource policy allows, but no identity policy of the caller does")
	default:
		f.note(prefix + "neither an identity policy nor the resource policy allows")
	}
	return nil, false
}

// guardrails checks that each guardrail policy type that is given
// (permissions boundary, session policy, VPC endpoint policy) also allows;
// refs lists their allowing statements.
func (f *allowFacts) guardrails(set *PolicySet, allows [5][]matchRef) (refs []StatementRef, ok bool) {
	guards := [...]struct {
		kind, what string
		docs       []*Document
		refs       []matchRef
	}{
		{KindBoundary, "permissions boundary", set.Boundary, allows[2]},
		{KindSession, "session policy", set.Session, allows[3]},
		{KindEndpoint, "VPC endpoint policy", set.Endpoint, allows[4]},
	}
	for _, g := range guards {
		if len(g.docs) == 0 {
			continue
		}
		if len(g.refs) == 0 {
			if g.kind != KindEndpoint && f.sameAccount && !set.KeyPolicyMode && selfGrant(f.resAllows) {
				f.note(fmt.Sprintf("the %s does not allow, but the resource policy names the caller itself in the same account, which the %s does not limit", g.what, g.what))
				continue
			}
			f.note(fmt.Sprintf("the %s does not allow the request", g.what))
			return nil, false
		}
		for _, r := range g.refs {
			refs = append(refs, r.ref)
		}
	}
	return refs, true
}

// concatRefs returns the lists joined into a new slice.
func concatRefs(lists ...[]StatementRef) []StatementRef {
	var out []StatementRef
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// selfGrant reports whether a resource policy Allow names the caller's own
// user or session ARN (not only its account or role).
func selfGrant(resAllows []matchRef) bool {
	for _, a := range resAllows {
		if a.pm.self && !a.pm.roleOnly {
			return true
		}
	}
	return false
}
