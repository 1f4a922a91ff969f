package policy

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// The property tests below generate random policy sets and requests from a
// fixed seed, so a failure reproduces; the case number and the policies are
// printed with it.

// noValueGen generates policies, requests, and policy values whose
// variables have no value in the request.
type noValueGen struct {
	r *rand.Rand
}

func (g noValueGen) pick(l []string) string { return l[g.r.Intn(len(l))] }

var (
	nvPrincipals = []string{
		"arn:aws:iam::111122223333:user/alice",
		"arn:aws:sts::111122223333:assumed-role/uploader/s1",
		"arn:aws:iam::111122223333:root",
		"arn:aws:iam::444455556666:user/bob",
	}
	nvActions   = []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:AbortMultipartUpload"}
	nvResources = []string{
		"arn:aws:s3:::bkt", "arn:aws:s3:::bkt/home/alice/a.txt", "arn:aws:s3:::bkt/x/part.bin",
		"arn:aws:s3:::bkt/shared/r", "arn:aws:s3:::bkt/red/k", "arn:aws:s3:::other/k",
	}
	nvResourcePatterns = []string{
		"*", "arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*", "arn:aws:s3:::bkt/home/${aws:username}/*",
		"arn:aws:s3:::bkt/*/part.bin", "arn:aws:s3:::other/*", "arn:aws:s3:::bkt/${aws:PrincipalTag/team}/*",
		"arn:aws:s3:::bkt/shared/*", "arn:aws:s3:::*/k", "arn:aws:s3:::bkt/${aws:PrincipalTag/team, 'red'}/*",
	}
	// nvContext lists the condition keys a request may carry and their
	// possible values. No key named "unset" ever has a value.
	nvContext = map[string][]string{
		"s3:prefix":                       {"home/alice/", "shared/", "red/x", "public/a"},
		"aws:PrincipalTag/team":           {"red", "blue"},
		"s3:ExistingObjectTag/team":       {"red", "blue", "company-wide"},
		"aws:SourceArn":                   {"arn:aws:lambda:us-east-1:111122223333:function:ingest", "arn:aws:sns:us-east-1:111122223333:t"},
		"aws:TagKeys":                     {"project", "cost"},
		"aws:SourceVpce":                  {"vpce-1a2b", "vpce-9z"},
		"aws:SecureTransport":             {"true", "false"},
		"s3:x-amz-server-side-encryption": {"aws:kms", "AES256"},
	}
	nvContextKeys = []string{"s3:prefix", "aws:PrincipalTag/team", "s3:ExistingObjectTag/team", "aws:SourceArn", "aws:TagKeys",
		"aws:SourceVpce", "aws:SecureTransport", "s3:x-amz-server-side-encryption"}
	nvStringKeys   = []string{"s3:prefix", "aws:PrincipalTag/team", "s3:ExistingObjectTag/team", "aws:TagKeys", "aws:SourceVpce", "s3:x-amz-server-side-encryption", "aws:username"}
	nvStringValues = []string{
		"home/alice/", "shared/*", "red", "blue", "*", "${aws:PrincipalTag/team}", "${aws:username}/*",
		"home/${aws:username}/", "project", "vpce-1a2b", "aws:kms", "${s3:ExistingObjectTag/team}", "${aws:PrincipalTag/team, 'red'}",
		"public/*", "company-wide",
	}
	nvArnValues = []string{
		"arn:aws:lambda:*:111122223333:function:*", "arn:aws:lambda:us-east-1:111122223333:function:ingest",
		"arn:aws:sns:*:111122223333:${aws:PrincipalTag/team}", "arn:aws:sns:us-east-1:111122223333:t", "*",
	}
	nvStringOps = []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"}
	nvArnOps    = []string{"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
)

// operator returns a random string or ARN operator with a random set
// prefix and IfExists suffix.
func (g noValueGen) operator(arn bool) string {
	op := g.pick(nvStringOps)
	if arn {
		op = g.pick(nvArnOps)
	}
	switch g.r.Intn(4) {
	case 0:
		op = "ForAnyValue:" + op
	case 1:
		op = "ForAllValues:" + op
	}
	if g.r.Intn(3) == 0 {
		op += "IfExists"
	}
	return op
}

func (g noValueGen) list(pool []string, max int) []string {
	n := 1 + g.r.Intn(max)
	out := make([]string, n)
	for i := range out {
		out[i] = g.pick(pool)
	}
	return out
}

// statement returns a random statement; resource policies name a principal.
func (g noValueGen) statement(effect string, resourcePolicy bool) Statement {
	st := Statement{Effect: effect, Action: g.list(append([]string{"s3:*", "s3:Get*", "*"}, nvActions...), 2)}
	if resourcePolicy {
		if g.r.Intn(4) == 0 {
			st.Principal = &Principals{AWS: []string{g.pick([]string{"111122223333", "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::444455556666:root"})}}
		} else {
			st.Principal = &Principals{All: true}
		}
	}
	if g.r.Intn(4) == 0 {
		st.NotResource = g.list(nvResourcePatterns, 3)
	} else {
		st.Resource = g.list(nvResourcePatterns, 3)
	}
	for i := g.r.Intn(3); i > 0; i-- {
		if g.r.Intn(4) == 0 {
			st.Condition = append(st.Condition, Condition{Operator: g.operator(true), Key: "aws:SourceArn", Values: g.list(nvArnValues, 2)})
			continue
		}
		st.Condition = append(st.Condition, Condition{Operator: g.operator(false), Key: g.pick(nvStringKeys), Values: g.list(nvStringValues, 3)})
	}
	if g.r.Intn(6) == 0 {
		st.Condition = append(st.Condition, Condition{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{g.pick([]string{"true", "false"})}})
	}
	if g.r.Intn(8) == 0 {
		st.Condition = append(st.Condition, Condition{Operator: "Null", Key: g.pick(nvStringKeys), Values: []string{g.pick([]string{"true", "false"})}})
	}
	return st
}

// noValue returns a policy value holding a variable that has no value in
// req: a key no request has, aws:username for a caller that is not an IAM
// user, or a multi-valued key.
func (g noValueGen) noValue(req *Request) string {
	vars := []string{"${aws:PrincipalTag/unset}", "${s3:unset}", fmt.Sprintf("${aws:RequestTag/unset-%d}", g.r.Intn(3))}
	if req.Principal.Type != TypeUser {
		vars = append(vars, "${aws:username}")
	}
	if len(req.Context["aws:TagKeys"]) > 1 {
		vars = append(vars, "${aws:TagKeys}")
	}
	v := g.pick(vars)
	return g.pick([]string{"", "home/", "*", "red"}) + v + g.pick([]string{"", "/*", "*", "/", "?"})
}

// insert returns a copy of l with v inserted at a random position.
func (g noValueGen) insert(l []string, v string) []string {
	at := g.r.Intn(len(l) + 1)
	out := make([]string, 0, len(l)+1)
	out = append(out, l[:at]...)
	out = append(out, v)
	return append(out, l[at:]...)
}

// addNoValues returns st with entries or values whose variables have no
// value in req added to its Resource or NotResource list and to the value
// lists of its string and ARN conditions, and whether it added anything.
func (g noValueGen) addNoValues(st Statement, req *Request) (Statement, bool) {
	added := false
	for _, l := range []*[]string{&st.Resource, &st.NotResource} {
		if len(*l) == 0 || g.r.Intn(3) == 0 {
			continue
		}
		for i := 1 + g.r.Intn(2); i > 0; i-- {
			e := "arn:aws:s3:::" + g.pick([]string{"bkt/", "", "*/", "other/"}) + g.noValue(req)
			if g.r.Intn(8) == 0 {
				e = g.noValue(req) // a whole entry that is one variable
			}
			*l = g.insert(*l, e)
		}
		added = true
	}
	conds := make([]Condition, len(st.Condition))
	copy(conds, st.Condition)
	for i := range conds {
		c := &conds[i]
		if c.Operator == "Bool" || c.Operator == "Null" || g.r.Intn(4) == 0 {
			continue
		}
		v := g.noValue(req)
		if strings.Contains(c.Operator, "Arn") {
			v = "arn:aws:lambda:*:111122223333:function:" + v
		}
		c.Values = g.insert(c.Values, v)
		added = true
	}
	st.Condition = conds
	return st, added
}

func (g noValueGen) request() Request {
	p, err := PrincipalFromARN(g.pick(nvPrincipals))
	if err != nil {
		panic(err)
	}
	req := Request{Principal: p, Action: g.pick(nvActions), Resource: g.pick(nvResources), Context: map[string][]string{}}
	for _, k := range nvContextKeys {
		vals := nvContext[k]
		switch g.r.Intn(3) {
		case 0:
		case 1:
			req.Context[k] = []string{g.pick(vals)}
		default:
			req.Context[k] = vals[:1+g.r.Intn(len(vals))]
		}
	}
	if g.r.Intn(3) == 0 {
		req.ResourceAccount = "111122223333"
	}
	return req
}

// docs returns an identity policy and, at random, a bucket policy, a
// permissions boundary and a session policy, each with Allow statements
// and up to two Deny statements. The documents are built by hand, so
// Evaluate compiles them as it goes, unless nvSet parses them.
func (g noValueGen) docs() []*Document {
	var out []*Document
	for _, kind := range []string{KindIdentity, KindResource, KindBoundary, KindSession} {
		if kind != KindIdentity && g.r.Intn(3) != 0 {
			continue
		}
		d := &Document{Name: kind, Version: Version2012}
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			d.Statements = append(d.Statements, g.statement(EffectAllow, kind == KindResource))
		}
		for i := g.r.Intn(3); i > 0; i-- {
			d.Statements = append(d.Statements, g.statement(EffectDeny, kind == KindResource))
		}
		for i := range d.Statements {
			d.Statements[i].Index = i
		}
		out = append(out, d)
	}
	return out
}

func nvSet(t *testing.T, i int, docs []*Document, parse bool) PolicySet {
	t.Helper()
	var set PolicySet
	for _, d := range docs {
		if parse {
			p, err := ParseNamed(d.Name, d.JSON())
			if err != nil {
				t.Fatalf("case %d: generated %s policy does not parse: %v\n%s", i, d.Name, err, d.JSON())
			}
			d = p
		}
		switch d.Name {
		case KindIdentity:
			set.Identity = append(set.Identity, d)
		case KindResource:
			set.Resource = append(set.Resource, d)
		case KindBoundary:
			set.Boundary = append(set.Boundary, d)
		case KindSession:
			set.Session = append(set.Session, d)
		}
	}
	return set
}

func nvDump(docs []*Document) string {
	var b strings.Builder
	for _, d := range docs {
		fmt.Fprintf(&b, "%s: %s\n", d.Name, d.JSON())
	}
	return b.String()
}

// TestNoValueVariablesNeverWeakenDeny: adding Resource or NotResource
// entries, or condition values (under every string and ARN operator, with
// and without IfExists and set prefixes), whose policy variables have no
// value in the request to Deny statements never turns a denied request into
// an allowed one. Under the IAM User Guide's rules ("Policy variables with
// no value") such an entry or value counts as if it were absent, so the
// decision does not change at all, which is checked too.
func TestNoValueVariablesNeverWeakenDeny(t *testing.T) {
	const n = 1500
	g := noValueGen{r: rand.New(rand.NewSource(14))}
	var explicit, implicit, mutated int
	for i := 0; i < n; i++ {
		req := g.request()
		docs := g.docs()
		before := Evaluate(req, nvSet(t, i, docs, i%10 == 0))

		var after []*Document
		added := false
		for _, d := range docs {
			c := *d
			c.Statements = append([]Statement(nil), d.Statements...)
			for j := range c.Statements {
				if c.Statements[j].Effect != EffectDeny {
					continue
				}
				var ok bool
				if c.Statements[j], ok = g.addNoValues(c.Statements[j], &req); ok {
					added = true
				}
			}
			after = append(after, &c)
		}
		if !added {
			continue
		}
		mutated++
		switch before.Decision {
		case ExplicitDeny:
			explicit++
		case ImplicitDeny:
			implicit++
		}
		res := Evaluate(req, nvSet(t, i, after, i%10 == 0))
		if before.Decision != Allowed && res.Decision == Allowed {
			t.Fatalf("case %d: %v became allowed after adding values with no value to a Deny\nrequest: %+v\nbefore:\n%safter:\n%sreasons: %q",
				i, before.Decision, req, nvDump(docs), nvDump(after), res.Reasons)
		}
		if res.Decision != before.Decision {
			t.Fatalf("case %d: decision %v became %v after adding values with no value to a Deny\nrequest: %+v\nbefore:\n%safter:\n%sreasons: %q",
				i, before.Decision, res.Decision, req, nvDump(docs), nvDump(after), res.Reasons)
		}
	}
	// The generator must produce enough denials for the property to mean something.
	if explicit < mutated/10 || implicit < mutated/10 {
		t.Errorf("of %d changed cases only %d were explicitly and %d implicitly denied", mutated, explicit, implicit)
	}
	t.Logf("%d cases changed: %d explicitly denied, %d implicitly denied before", mutated, explicit, implicit)
}

// TestMissingKeysAreSound: supplying a value for a condition key or policy
// variable that the request lacks and that Result.MissingKeys does not list
// never changes the decision. (Keys that cannot exist for the caller, such
// as aws:username for a role session, are left out of MissingKeys by
// design and are not supplied here.)
func TestMissingKeysAreSound(t *testing.T) {
	const n = 600
	g := noValueGen{r: rand.New(rand.NewSource(41))}
	candidates := append([]string{"aws:PrincipalTag/unset", "s3:unset", "aws:RequestTag/unset-1"}, nvContextKeys...)
	values := []string{"red", "blue", "home/alice/", "shared/", "red/x", "project", "vpce-1a2b", "aws:kms", "true", "company-wide", "*",
		"arn:aws:lambda:us-east-1:111122223333:function:ingest"}
	checked := 0
	for i := 0; i < n; i++ {
		req := g.request()
		docs := g.docs()
		for j := range docs {
			for k := range docs[j].Statements {
				if docs[j].Statements[k].Effect == EffectDeny {
					docs[j].Statements[k], _ = g.addNoValues(docs[j].Statements[k], &req)
				}
			}
		}
		set := nvSet(t, i, docs, true) // parsed once, compiled once
		before := Evaluate(req, set)
		listed := map[string]bool{}
		for _, k := range before.MissingKeys {
			listed[strings.ToLower(k)] = true
		}
		for _, key := range candidates {
			if len(req.Context[key]) > 0 || listed[strings.ToLower(key)] {
				continue
			}
			for range 3 {
				v := g.pick(values)
				r2 := req
				r2.Context = make(map[string][]string, len(req.Context)+1)
				for k, vs := range req.Context {
					r2.Context[k] = vs
				}
				r2.Context[key] = []string{v}
				checked++
				if after := Evaluate(r2, set); after.Decision != before.Decision {
					t.Fatalf("case %d: %s=%q changed %v to %v, but MissingKeys %q does not list it\nrequest: %+v\npolicies:\n%s",
						i, key, v, before.Decision, after.Decision, before.MissingKeys, req, nvDump(docs))
				}
			}
		}
	}
	if checked < n {
		t.Errorf("only %d supplied values checked", checked)
	}
}
