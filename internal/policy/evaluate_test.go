package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func mustParse(t testing.TB, name, doc string) *Document {
	t.Helper()
	d, err := ParseNamed(name, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustPrincipal(t testing.TB, arn string) Principal {
	t.Helper()
	p, err := PrincipalFromARN(arn)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "s3:GetObject", true},
		{"s3:*", "s3:GetObject", true},
		{"S3:GETOBJECT", "s3:getobject", true},
		{"s3:Get*", "s3:GetObjectVersion", true},
		{"s3:Get*", "s3:PutObject", false},
		{"s3:*Object", "s3:GetObject", true},
		{"s3:*Object", "s3:GetObjectAcl", false},
		{"s3:?etObject", "s3:GetObject", true},
		{"s3:?etObject", "s3:GGetObject", false},
		{"iam:*AccessKey*", "iam:UpdateAccessKey", true},
		{"s3:GetObject", "s3:GetObject2", false},
		{"kms:ReEncrypt*", "kms:ReEncryptFrom", true},
		{"kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext", true},
		{"*:*", "s3:x", true},
		{"s3:**", "s3:", true},
	}
	for _, tc := range tests {
		if got := MatchAction(tc.pattern, tc.action); got != tc.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}

func TestMatchResource(t *testing.T) {
	tests := []struct {
		pattern, resource string
		want              bool
	}{
		{"*", "arn:aws:s3:::b/k", true},
		{"*", "", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b*", "arn:aws:s3:::b/k", true},
		{"arn:aws:s3:::B/*", "arn:aws:s3:::b/k", false},
		{"arn:aws:s3:::*log*", "arn:aws:s3:::my-logs/x", true},
		{"arn:aws:s3:::b/k?", "arn:aws:s3:::b/k1", true},
		{"arn:aws:s3:::b/k?", "arn:aws:s3:::b/k", false},
		{"arn:aws:s3:::b/k?", "arn:aws:s3:::b/kéa", false},
		{"arn:aws:s3:::b/k?", "arn:aws:s3:::b/ké", true},
		{"arn:aws:sqs:*:111122223333:q", "arn:aws:sqs:us-east-1:111122223333:q", true},
		{"arn:aws:sqs:*:111122223333:q", "arn:aws:sqs:us-east-1:999999999999:x:111122223333:q", false},
		{"arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", true},
		{"arn:aws:dynamodb:*:*:table/t:x", "arn:aws:dynamodb:r:a:table/t:x", true},
		{"arn:aws:s3:*", "arn:aws:s3:::b/k", true}, // fewer than six fields: matched as a whole
		{"arn:aws:s3:::b/k", "arn:aws:s3:::b/k/", false},
		{"arn:aws:s3:::b/k", "arn:aws:s3", false},
		{"", "", true},
		{"x", "", false},
	}
	for _, tc := range tests {
		if got := MatchResource(tc.pattern, tc.resource); got != tc.want {
			t.Errorf("MatchResource(%q, %q) = %v, want %v", tc.pattern, tc.resource, got, tc.want)
		}
	}
}

func TestPrincipalFromARN(t *testing.T) {
	tests := []struct {
		in   string
		want Principal
	}{
		{"arn:aws:iam::111122223333:root", Principal{ARN: "arn:aws:iam::111122223333:root", Account: "111122223333", Type: TypeRoot}},
		{"111122223333", Principal{ARN: "arn:aws:iam::111122223333:root", Account: "111122223333", Type: TypeRoot}},
		{"arn:aws:iam::111122223333:user/division/alice", Principal{ARN: "arn:aws:iam::111122223333:user/division/alice", Account: "111122223333", Type: TypeUser, Username: "alice"}},
		{"arn:aws-cn:iam::111122223333:role/r", Principal{ARN: "arn:aws-cn:iam::111122223333:role/r", Account: "111122223333", Type: TypeRole, RoleName: "r"}},
		{"arn:aws:sts::111122223333:assumed-role/r/s@x", Principal{ARN: "arn:aws:sts::111122223333:assumed-role/r/s@x", Account: "111122223333", Type: TypeAssumedRole, RoleName: "r", SessionName: "s@x"}},
		{"arn:aws:sts::111122223333:federated-user/bob", Principal{ARN: "arn:aws:sts::111122223333:federated-user/bob", Account: "111122223333", Type: TypeFederatedUser, Username: "bob"}},
		{"s3.amazonaws.com", Principal{Type: TypeService, Service: "s3.amazonaws.com"}},
		{"*", Principal{Type: TypeAnonymous}},
		{"anonymous", Principal{Type: TypeAnonymous}},
	}
	for _, tc := range tests {
		got, err := PrincipalFromARN(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("PrincipalFromARN(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "bob", "arn:aws:iam::1111:user/x", "arn:aws:iam:us-east-1:111122223333:user/x",
		"arn:aws:iam::111122223333:user/", "arn:aws:iam::111122223333:group/g", "arn:aws:sts::111122223333:assumed-role/r",
		"arn:aws:sts::111122223333:assumed-role/r/s/t", "arn:aws:iam::111122223333:user/*", "arn:aws:s3:::bucket", "arn::iam::111122223333:root"} {
		if p, err := PrincipalFromARN(bad); err == nil {
			t.Errorf("PrincipalFromARN(%q) = %+v, want an error", bad, p)
		}
	}
}

func TestDecisionText(t *testing.T) {
	for _, d := range []Decision{Allowed, ExplicitDeny, ImplicitDeny} {
		b, err := d.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Decision
		if err := back.UnmarshalText(b); err != nil || back != d || string(b) != d.String() {
			t.Errorf("%v: round trip gave %v, %v (%s)", d, back, err, b)
		}
	}
	if Decision(0) != ImplicitDeny {
		t.Error("the zero Decision is not ImplicitDeny")
	}
	if _, err := Decision(7).MarshalText(); err == nil {
		t.Error("MarshalText accepted an invalid decision")
	}
	if Decision(7).String() != "Decision(7)" {
		t.Error(Decision(7).String())
	}
	var d Decision
	if err := d.UnmarshalText([]byte("Allow")); err == nil {
		t.Error("UnmarshalText accepted Allow")
	}
	b, _ := json.Marshal(Result{Decision: Allowed})
	if !strings.Contains(string(b), `"Decision":"allowed"`) {
		t.Errorf("Result JSON = %s", b)
	}
}

// Regressions and rules the corpus does not pin down.
func TestEvaluateRules(t *testing.T) {
	alice := mustPrincipal(t, "arn:aws:iam::111122223333:user/alice")
	const obj = "arn:aws:s3:::b/k"

	t.Run("hand-built document evaluates like a parsed one", func(t *testing.T) {
		d := &Document{Name: "hand", Version: Version2012, Statements: []Statement{{
			Effect: EffectAllow, Action: []string{"s3:Get*"}, Resource: []string{"arn:aws:s3:::b/${aws:username}/*"},
			Condition: []Condition{{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}}},
		}}}
		req := Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/alice/x", Context: map[string][]string{"aws:SecureTransport": {"true"}}}
		if r := Evaluate(req, PolicySet{Identity: []*Document{d}}); r.Decision != Allowed {
			t.Errorf("hand-built: %v %q", r.Decision, r.Reasons)
		}
		parsed := mustParse(t, "hand", string(d.JSON()))
		if r := Evaluate(req, PolicySet{Identity: []*Document{parsed}}); r.Decision != Allowed {
			t.Errorf("parsed: %v %q", r.Decision, r.Reasons)
		}
	})
	t.Run("invalid hand-built statement is ignored with a reason", func(t *testing.T) {
		d := &Document{Name: "bad", Statements: []Statement{{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"},
			Condition: []Condition{{Operator: "StringEqualz", Key: "k", Values: []string{"v"}}}}}}
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj}, PolicySet{Identity: []*Document{d}})
		if r.Decision != ImplicitDeny || len(r.Reasons) < 2 {
			t.Errorf("%v %q", r.Decision, r.Reasons)
		}
	})
	t.Run("nil documents are skipped", func(t *testing.T) {
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj}, PolicySet{Identity: []*Document{nil}, Resource: []*Document{nil}})
		if r.Decision != ImplicitDeny {
			t.Error(r.Decision)
		}
	})
	t.Run("principal element in identity policy never applies", func(t *testing.T) {
		d := mustParse(t, "id", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`)
		if r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj}, PolicySet{Identity: []*Document{d}}); r.Decision != ImplicitDeny {
			t.Error(r.Decision)
		}
	})
	t.Run("resource policy statement without principal never applies", func(t *testing.T) {
		d := mustParse(t, "bp", `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`)
		allow := mustParse(t, "id", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj}, PolicySet{Identity: []*Document{allow}, Resource: []*Document{d}})
		if r.Decision != Allowed {
			t.Error(r.Decision)
		}
	})
	t.Run("endpoint policy without principal covers everyone", func(t *testing.T) {
		ep := mustParse(t, "ep", `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`)
		allow := mustParse(t, "id", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj}, PolicySet{Identity: []*Document{allow}, Endpoint: []*Document{ep}})
		if r.Decision != Allowed {
			t.Error(r.Decision, r.Reasons)
		}
	})
	t.Run("multi-valued key cannot be a variable", func(t *testing.T) {
		d := mustParse(t, "id", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:TagKeys}"}}`)
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/a", Context: map[string][]string{"aws:TagKeys": {"a", "b"}}}, PolicySet{Identity: []*Document{d}})
		if r.Decision != ImplicitDeny || len(r.MissingKeys) != 0 {
			t.Errorf("%v %q", r.Decision, r.MissingKeys)
		}
	})
	t.Run("a condition value with no value matches nothing; the other values still count", func(t *testing.T) {
		d := mustParse(t, "id", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"s3:prefix":["public/","${aws:PrincipalTag/home}"]}}}}`)
		allow := mustParse(t, "allow", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
		set := PolicySet{Identity: []*Document{allow, d}}
		list := func(prefix string, ctx map[string][]string) Result {
			c := map[string][]string{"s3:prefix": {prefix}}
			for k, v := range ctx {
				c[k] = v
			}
			return Evaluate(Request{Principal: alice, Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Context: c}, set)
		}
		// "x/" is neither "public/" nor the tag (which has no value): denied,
		// and supplying the tag as "x/" would change that.
		if r := list("x/", nil); r.Decision != ExplicitDeny || !reflect.DeepEqual(r.MissingKeys, []string{"aws:PrincipalTag/home"}) {
			t.Errorf("x/: %v %q", r.Decision, r.MissingKeys)
		}
		// "public/" matches the other value: not denied, whatever the tag.
		if r := list("public/", nil); r.Decision != Allowed || len(r.MissingKeys) != 0 {
			t.Errorf("public/: %v %q", r.Decision, r.MissingKeys)
		}
		if r := list("x/", map[string][]string{"aws:PrincipalTag/home": {"x/"}}); r.Decision != Allowed || len(r.MissingKeys) != 0 {
			t.Errorf("x/ with tag x/: %v %q", r.Decision, r.MissingKeys)
		}
	})
	t.Run("missing keys are deduplicated case-insensitively", func(t *testing.T) {
		d := mustParse(t, "id", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"v"}}},{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"AWS:SOURCEVPCE":"v*"}}}]}`)
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj}, PolicySet{Identity: []*Document{d}})
		if len(r.MissingKeys) != 1 {
			t.Errorf("%q", r.MissingKeys)
		}
	})
	t.Run("context overrides derived keys and nil values are absent", func(t *testing.T) {
		d := mustParse(t, "id", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"bob"}}}}`)
		req := Request{Principal: alice, Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"AWS:UserName": {"bob"}}}
		if r := Evaluate(req, PolicySet{Identity: []*Document{d}}); r.Decision != Allowed {
			t.Error(r.Decision)
		}
		req.Context = map[string][]string{"aws:username": nil}
		if r := Evaluate(req, PolicySet{Identity: []*Document{d}}); r.Decision != ImplicitDeny {
			t.Error(r.Decision)
		}
	})
	t.Run("derived principal keys", func(t *testing.T) {
		sess := mustPrincipal(t, "arn:aws:sts::111122223333:assumed-role/r/s")
		d := mustParse(t, "id", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/r"},
			"StringEquals":{"aws:PrincipalType":"AssumedRole","aws:PrincipalAccount":"111122223333","aws:ResourceAccount":"444455556666"}}}}`)
		bp := mustParse(t, "bp", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}`)
		r := Evaluate(Request{Principal: sess, Action: "s3:GetObject", Resource: obj, ResourceAccount: "444455556666"}, PolicySet{Identity: []*Document{d}, Resource: []*Document{bp}})
		if r.Decision != Allowed {
			t.Error(r.Decision, r.Reasons)
		}
	})
	t.Run("ipv4-mapped ipv6 source address", func(t *testing.T) {
		d := mustParse(t, "id", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}}`)
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:SourceIp": {"::ffff:192.0.2.9"}}}, PolicySet{Identity: []*Document{d}})
		if r.Decision != Allowed {
			t.Error(r.Decision)
		}
	})
	t.Run("matched lists allows that did not decide", func(t *testing.T) {
		id := mustParse(t, "id", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
		bd := mustParse(t, "bd", `{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}`)
		r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: obj}, PolicySet{Identity: []*Document{id}, Boundary: []*Document{bd}})
		if r.Decision != ImplicitDeny || len(r.Matched) != 2 || len(r.Deciding) != 0 {
			t.Errorf("%v matched %v deciding %v", r.Decision, r.Matched, r.Deciding)
		}
	})
}

func TestEvaluateConcurrent(t *testing.T) {
	d := mustParse(t, "id", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}`)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		name := fmt.Sprintf("u%d", i)
		p := mustPrincipal(t, "arn:aws:iam::111122223333:user/"+name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				r := Evaluate(Request{Principal: p, Action: "s3:PutObject", Resource: "arn:aws:s3:::b/" + name + "/k"}, PolicySet{Identity: []*Document{d}})
				if r.Decision != Allowed {
					errs <- fmt.Errorf("%s: %v", name, r.Decision)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestGlobAgainstRegexp checks the wildcard matcher exhaustively against
// regexp on short patterns and strings over a small alphabet.
func TestGlobAgainstRegexp(t *testing.T) {
	alpha := []string{"a", "/", "*", "?"}
	var patterns []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		patterns = append(patterns, prefix)
		if n == 0 {
			return
		}
		for _, c := range alpha {
			gen(prefix+c, n-1)
		}
	}
	gen("", 4)
	inputs := []string{"", "a", "/", "aa", "a/", "/a", "aaa", "a/a", "//a/", "aaaa/"}
	for _, p := range patterns {
		expr := "^" + strings.NewReplacer("*", ".*", "?", ".", "/", "/").Replace(p) + "$"
		re := regexp.MustCompile(expr)
		g := compileGlob(p)
		for _, in := range inputs {
			if got, want := g.match(in), re.MatchString(in); got != want {
				t.Errorf("glob %q on %q = %v, regexp says %v", p, in, got, want)
			}
		}
	}
}

func TestNotPrincipalExcludes(t *testing.T) {
	ps := &Principals{
		AWS:           []string{"111122223333", "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/r", "AROAEXAMPLEROLEID0001", "AIDAEXAMPLEUSERID0001"},
		Service:       []string{"s3.amazonaws.com"},
		CanonicalUser: []string{"canon"},
		Federated:     []string{"accounts.google.com"},
	}
	entries := compilePrincipals(ps)
	tests := []struct {
		name string
		p    Principal
		want bool
	}{
		{"listed user and account", mustPrincipal(t, "arn:aws:iam::111122223333:user/alice"), true},
		{"unlisted user of listed account", mustPrincipal(t, "arn:aws:iam::111122223333:user/bob"), false},
		{"user listed by unique ID", Principal{ARN: "arn:aws:iam::111122223333:user/carol", Account: "111122223333", Type: TypeUser, UserID: "AIDAEXAMPLEUSERID0001"}, true},
		{"session of listed role without session ARN", mustPrincipal(t, "arn:aws:sts::111122223333:assumed-role/r/s"), false},
		{"session of role listed by unique ID", Principal{ARN: "arn:aws:sts::111122223333:assumed-role/r2/s", Account: "111122223333", Type: TypeAssumedRole, RoleName: "r2", UserID: "AROAEXAMPLEROLEID0001:s"}, false},
		{"role itself", mustPrincipal(t, "arn:aws:iam::111122223333:role/r"), true},
		{"root of listed account", mustPrincipal(t, "111122223333"), true},
		{"root of other account", mustPrincipal(t, "444455556666"), false},
		{"listed service", mustPrincipal(t, "s3.amazonaws.com"), true},
		{"other service", mustPrincipal(t, "logs.amazonaws.com"), false},
		{"anonymous", Principal{Type: TypeAnonymous}, false},
		{"canonical user", Principal{Type: TypeAnonymous, CanonicalID: "canon"}, true},
		{"federated", Principal{Type: TypeAnonymous, Federated: "accounts.google.com"}, true},
	}
	for _, tc := range tests {
		if got := notPrincipalExcludes(entries, &tc.p); got != tc.want {
			t.Errorf("%s: excluded = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !notPrincipalExcludes(compilePrincipals(&Principals{All: true}), &Principal{Type: TypeAnonymous}) {
		t.Error(`NotPrincipal "*" does not exempt everyone`)
	}
}

func TestParseErrorUnwrap(t *testing.T) {
	_, err := Parse([]byte(`{"Statement": [}`))
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		t.Errorf("error %v does not wrap the JSON syntax error", err)
	}
}

// TestIgnoredStatementsAreSaid: a statement AWS would refuse in its kind of policy (an
// identity-type policy that names a Principal or has no Resource, a resource policy
// statement without Principal) never applies, but a Deny written that way must not vanish
// without a word: the result says which statement was ignored and why.
func TestIgnoredStatementsAreSaid(t *testing.T) {
	alice := mustPrincipal(t, "arn:aws:iam::111122223333:user/alice")
	allow := mustParse(t, "allow", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	tests := []struct {
		name string
		set  PolicySet
		want string
	}{
		{"identity Deny without Resource", PolicySet{Identity: []*Document{allow, mustParse(t, "draft", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:GetObject"}}`)}},
			`identity policy "draft" statement 0`},
		{"identity Deny with Principal", PolicySet{Identity: []*Document{allow, mustParse(t, "draft", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}}`)}},
			`identity policy "draft" statement 0`},
		{"boundary Deny without Resource", PolicySet{Identity: []*Document{allow}, Boundary: []*Document{allow, mustParse(t, "pb", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoRes","Effect":"Deny","Action":"s3:GetObject"}]}`)}},
			`statement 1 (Sid "NoRes")`},
		{"bucket policy Deny without Principal", PolicySet{Identity: []*Document{allow}, Resource: []*Document{mustParse(t, "bp", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}}`)}},
			`resource policy "bp" statement 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, tt.set)
			text := strings.Join(r.Reasons, "\n")
			if !strings.Contains(text, tt.want) || !strings.Contains(text, "ignored") {
				t.Errorf("decision %s, reasons:\n%s\nwant one naming %s as ignored", r.Decision, text, tt.want)
			}
		})
	}
	// A valid statement is not reported.
	r := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, PolicySet{Identity: []*Document{allow}})
	if strings.Contains(strings.Join(r.Reasons, "\n"), "ignored") {
		t.Errorf("reasons for valid policies: %q", r.Reasons)
	}
}
