package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// corpusSeeds returns every policy document of the golden corpus, so the
// fuzzers start from realistic input (and run them as seeds in plain
// `go test`).
func corpusSeeds(f *testing.F) [][]byte {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var cases []corpusCase
		if err := json.Unmarshal(data, &cases); err != nil {
			f.Fatal(err)
		}
		for _, c := range cases {
			for _, l := range [][]namedPolicy{c.Policies.Identity, c.Policies.Resource, c.Policies.Boundary, c.Policies.Session, c.Policies.Endpoint} {
				for _, p := range l {
					out = append(out, p.Policy)
				}
			}
		}
	}
	if len(out) == 0 {
		f.Fatal("no seed policies")
	}
	return out
}

var extraParseSeeds = []string{
	``, `null`, `[]`, `{}`, `{"Statement":[]}`, `{"Statement":{}}`, `{"Statement":[null]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${${aws:username}}/${"}}`,
	`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"k":"::ffff:1.2.3.4/120"}}}}`,
	`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["*"]},"NotAction":"*","NotResource":"*"}}`,
}

// FuzzParse checks that Parse never panics, that every failure is a
// *ParseError, and that the canonical form of any accepted document parses
// back to the same canonical form.
func FuzzParse(f *testing.F) {
	for _, s := range corpusSeeds(f) {
		f.Add(s)
	}
	for _, s := range extraParseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || d != nil {
				t.Fatalf("Parse error %T %v with document %v", err, err, d)
			}
			return
		}
		canon := d.JSON()
		d2, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, canon)
		}
		if string(d2.JSON()) != string(canon) {
			t.Fatalf("canonical form unstable:\n%s\n%s", canon, d2.JSON())
		}
	})
}

var denyAll = []byte(`{"Version":"2012-10-17","Statement":{"Sid":"DenyEverything","Effect":"Deny","Action":"*","Resource":"*"}}`)
var denyAllResource = []byte(`{"Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}`)

// FuzzEvaluate checks that Evaluate never panics on any parsed policy and
// request, and that adding a Deny-everything policy to a set never lets a
// request through.
func FuzzEvaluate(f *testing.F) {
	for i, s := range corpusSeeds(f) {
		f.Add(s, "s3:PutObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/k", []string{
			"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::444455556666:user/Bob", "arn:aws:sts::111122223333:assumed-role/r/s",
			"anonymous", "arn:aws:iam::111122223333:root", "s3.amazonaws.com"}[i%6], "", "aws:SourceIp", "54.240.143.1", uint8(i))
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`), "", "", "anonymous", "", "", "", uint8(255))
	deny := mustParse(f, "deny-all", string(denyAll))
	denyRes := mustParse(f, "deny-all-resource", string(denyAllResource))
	f.Fuzz(func(t *testing.T, policy []byte, action, resource, principal, resourceAccount, key, value string, mode uint8) {
		d, err := ParseNamed("fuzzed", policy)
		if err != nil {
			return
		}
		p, err := PrincipalFromARN(principal)
		if err != nil {
			p = Principal{ARN: principal, Account: resourceAccount, Type: TypeUser, Username: principal}
		}
		req := Request{Principal: p, Action: action, Resource: resource, ResourceAccount: resourceAccount,
			Context: map[string][]string{key: {value}, "aws:SecureTransport": {"true"}}}
		docs := []*Document{d}
		var set PolicySet
		switch mode % 5 {
		case 0:
			set.Identity = docs
		case 1:
			set.Resource = docs
		case 2:
			set.Identity, set.Resource = docs, docs
		case 3:
			set.Identity, set.Boundary, set.Session, set.Endpoint = docs, docs, docs, docs
		case 4:
			set.Resource, set.Identity = docs, docs
		}
		set.KeyPolicyMode = mode&8 != 0
		r := Evaluate(req, set)
		if r.Decision != Allowed && r.Decision != ExplicitDeny && r.Decision != ImplicitDeny {
			t.Fatalf("invalid decision %d", r.Decision)
		}
		if r.Decision == Allowed && len(r.Deciding) == 0 && p.Type != TypeRoot {
			t.Fatalf("allowed without a deciding statement: %q", r.Reasons)
		}

		withDeny := set
		withDeny.Identity = append(append([]*Document(nil), set.Identity...), deny)
		if r := Evaluate(req, withDeny); r.Decision != ExplicitDeny {
			t.Fatalf("identity Deny-everything added: decision %v (%q)", r.Decision, r.Reasons)
		}
		withDeny = set
		withDeny.Resource = append(append([]*Document(nil), set.Resource...), denyRes)
		if r := Evaluate(req, withDeny); r.Decision == Allowed {
			t.Fatalf("resource Deny-everything added: decision %v (%q)", r.Decision, r.Reasons)
		}
	})
}
