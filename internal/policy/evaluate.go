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

// decide applies AWS's allow rules once no Deny applies.
func decide(req *Request, set *PolicySet, allows [5][]matchRef, res *Result) {
	p := &req.Principal
	idAllows, resAllows := allows[0], allows[1]
	anonymous := p.Type == TypeAnonymous || (p.Account == "" && p.Type != TypeService)
	resAcct := req.ResourceAccount
	if resAcct == "" {
		resAcct = p.Account
	}
	sameAccount := !anonymous && resAcct == p.Account

	var resDirect, resViaAccount []StatementRef
	for _, a := range resAllows {
		if a.pm.direct {
			resDirect = append(resDirect, a.ref)
		} else {
			resViaAccount = append(resViaAccount, a.ref)
		}
	}
	var idRefs []StatementRef
	for _, a := range idAllows {
		idRefs = append(idRefs, a.ref)
	}
	identityOK := len(idRefs) > 0
	rootImplicit := p.Type == TypeRoot && !anonymous
	if rootImplicit && !identityOK {
		identityOK = true
		res.Reasons = append(res.Reasons, "the account root user needs no identity policy")
	}

	var deciding []StatementRef
	base := false
	switch {
	case p.Type == TypeService:
		base = len(resDirect) > 0
		deciding = append(deciding, resDirect...)
		if !base {
			res.Reasons = append(res.Reasons, "no resource policy statement allows the service principal")
		}
	case anonymous:
		base = len(resDirect) > 0
		deciding = append(deciding, resDirect...)
		if !base {
			res.Reasons = append(res.Reasons, "a caller outside any account (anonymous) needs a resource policy statement that names it or everyone (\"*\"), and none does")
		}
	case set.KeyPolicyMode && sameAccount:
		switch {
		case len(resDirect) > 0:
			base = true
			deciding = append(deciding, resDirect...)
			res.Reasons = append(res.Reasons, "the key policy allows the caller directly")
		case len(resViaAccount) > 0 && identityOK:
			base = true
			deciding = append(deciding, resViaAccount...)
			deciding = append(deciding, idRefs...)
			res.Reasons = append(res.Reasons, "the key policy delegates to the account's identity policies, and an identity policy allows")
		case len(resViaAccount) > 0:
			res.Reasons = append(res.Reasons, "the key policy delegates to the account's identity policies, but no identity policy allows")
		default:
			if identityOK {
				res.Reasons = append(res.Reasons, "an identity policy allows, but the key policy neither allows the caller nor delegates to the account root")
			} else {
				res.Reasons = append(res.Reasons, "the key policy does not allow the caller")
			}
		}
	case sameAccount:
		if identityOK {
			base = true
			deciding = append(deciding, idRefs...)
		}
		if len(resDirect) > 0 {
			base = true
			deciding = append(deciding, resDirect...)
		}
		if len(resViaAccount) > 0 && identityOK {
			deciding = append(deciding, resViaAccount...)
		}
		if !base {
			if len(resViaAccount) > 0 {
				res.Reasons = append(res.Reasons, "the resource policy allows the account, which delegates to identity policies, and no identity policy allows")
			} else {
				res.Reasons = append(res.Reasons, "no identity or resource policy statement allows the request")
			}
		}
	default: // cross-account
		resOK := len(resDirect) > 0 || len(resViaAccount) > 0
		switch {
		case identityOK && resOK:
			base = true
			deciding = append(deciding, idRefs...)
			deciding = append(deciding, resDirect...)
			deciding = append(deciding, resViaAccount...)
			res.Reasons = append(res.Reasons, fmt.Sprintf("cross-account request (caller %s, resource %s): both an identity policy and the resource policy allow", p.Account, resAcct))
		case identityOK:
			res.Reasons = append(res.Reasons, fmt.Sprintf("cross-account request (caller %s, resource %s): an identity policy allows, but the resource policy does not", p.Account, resAcct))
		case resOK:
			res.Reasons = append(res.Reasons, fmt.Sprintf("cross-account request (caller %s, resource %s): the resource policy allows, but no identity policy of the caller does", p.Account, resAcct))
		default:
			res.Reasons = append(res.Reasons, fmt.Sprintf("cross-account request (caller %s, resource %s): neither an identity policy nor the resource policy allows", p.Account, resAcct))
		}
	}
	if !base {
		res.Decision = ImplicitDeny
		return
	}

	// Guardrails: each given policy type must also allow.
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
			if g.kind != KindEndpoint && sameAccount && !set.KeyPolicyMode && selfGrant(resAllows) {
				res.Reasons = append(res.Reasons, fmt.Sprintf("the %s does not allow, but the resource policy names the caller itself in the same account, which the %s does not limit", g.what, g.what))
				continue
			}
			res.Decision = ImplicitDeny
			res.Reasons = append(res.Reasons, fmt.Sprintf("the %s does not allow the request", g.what))
			return
		}
		for _, r := range g.refs {
			deciding = append(deciding, r.ref)
		}
	}
	res.Decision = Allowed
	res.Deciding = deciding
	for _, d := range deciding {
		res.Reasons = append(res.Reasons, "allowed by "+d.String())
	}
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
