package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// corpusCase is one golden case of testdata/*.json. Each file holds a JSON
// array of cases.
type corpusCase struct {
	Name   string `json:"name"`
	Source string `json:"source"` // documentation page the case is built from
	Note   string `json:"note"`

	Policies struct {
		Identity []namedPolicy `json:"identity"`
		Resource []namedPolicy `json:"resource"`
		Boundary []namedPolicy `json:"boundary"`
		Session  []namedPolicy `json:"session"`
		Endpoint []namedPolicy `json:"endpoint"`
	} `json:"policies"`
	KeyPolicyMode bool `json:"keyPolicyMode"`

	Request struct {
		Principal       string              `json:"principal"` // for PrincipalFromARN
		UserID          string              `json:"userid"`
		CanonicalID     string              `json:"canonicalId"`
		Federated       string              `json:"federated"`
		Action          string              `json:"action"`
		Resource        string              `json:"resource"`
		ResourceAccount string              `json:"resourceAccount"`
		Context         map[string][]string `json:"context"`
	} `json:"request"`

	Expect struct {
		Decision Decision `json:"decision"`
		// Deciding lists "kind:policy:index" for each deciding statement,
		// in any order.
		Deciding []string `json:"deciding"`
		// MissingKeys, when present, must equal Result.MissingKeys
		// (compared case-insensitively, in any order).
		MissingKeys *[]string `json:"missingKeys"`
	} `json:"expect"`
}

type namedPolicy struct {
	Name   string          `json:"name"`
	Policy json.RawMessage `json:"policy"`
}

func loadCorpus(t *testing.T) map[string][]corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden corpus files in testdata")
	}
	out := map[string][]corpusCase{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []corpusCase
		if err := json.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = cases
	}
	return out
}

func parsePolicies(t *testing.T, kind string, ps []namedPolicy) []*Document {
	t.Helper()
	var docs []*Document
	for _, p := range ps {
		d, err := ParseNamed(p.Name, p.Policy)
		if err != nil {
			t.Fatalf("%s policy %q: %v", kind, p.Name, err)
		}
		// The canonical form must parse back to the same document.
		d2, err := ParseNamed(p.Name, d.JSON())
		if err != nil {
			t.Fatalf("%s policy %q: re-parsing canonical JSON: %v\n%s", kind, p.Name, err, d.JSON())
		}
		if string(d2.JSON()) != string(d.JSON()) {
			t.Fatalf("%s policy %q: canonical JSON not stable:\n%s\n%s", kind, p.Name, d.JSON(), d2.JSON())
		}
		docs = append(docs, d)
	}
	return docs
}

func (c *corpusCase) run(t *testing.T) Result {
	t.Helper()
	if !strings.HasPrefix(c.Source, "https://docs.aws.amazon.com/") {
		t.Errorf("source %q is not an AWS documentation page", c.Source)
	}
	set := PolicySet{
		Identity:      parsePolicies(t, KindIdentity, c.Policies.Identity),
		Resource:      parsePolicies(t, KindResource, c.Policies.Resource),
		Boundary:      parsePolicies(t, KindBoundary, c.Policies.Boundary),
		Session:       parsePolicies(t, KindSession, c.Policies.Session),
		Endpoint:      parsePolicies(t, KindEndpoint, c.Policies.Endpoint),
		KeyPolicyMode: c.KeyPolicyMode,
	}
	p, err := PrincipalFromARN(c.Request.Principal)
	if err != nil {
		t.Fatal(err)
	}
	p.UserID = c.Request.UserID
	p.CanonicalID = c.Request.CanonicalID
	p.Federated = c.Request.Federated
	req := Request{
		Principal:       p,
		Action:          c.Request.Action,
		Resource:        c.Request.Resource,
		ResourceAccount: c.Request.ResourceAccount,
		Context:         c.Request.Context,
	}
	return Evaluate(req, set)
}

func refKey(r StatementRef) string { return fmt.Sprintf("%s:%s:%d", r.Kind, r.Policy, r.Index) }

func TestCorpus(t *testing.T) {
	total := 0
	for file, cases := range loadCorpus(t) {
		t.Run(file, func(t *testing.T) {
			seen := map[string]bool{}
			for _, c := range cases {
				total++
				if seen[c.Name] {
					t.Errorf("duplicate case name %q", c.Name)
				}
				seen[c.Name] = true
				t.Run(c.Name, func(t *testing.T) {
					res := c.run(t)
					if res.Decision != c.Expect.Decision {
						t.Errorf("decision = %v, want %v\nreasons: %q\nmatched: %v", res.Decision, c.Expect.Decision, res.Reasons, res.Matched)
					}
					var got []string
					for _, r := range res.Deciding {
						got = append(got, refKey(r))
					}
					want := append([]string(nil), c.Expect.Deciding...)
					sort.Strings(got)
					sort.Strings(want)
					if len(got) != 0 || len(want) != 0 {
						if !reflect.DeepEqual(got, want) {
							t.Errorf("deciding = %q, want %q\nreasons: %q", got, want, res.Reasons)
						}
					}
					if c.Expect.MissingKeys != nil {
						gm := lowerSorted(res.MissingKeys)
						wm := lowerSorted(*c.Expect.MissingKeys)
						if !reflect.DeepEqual(gm, wm) {
							t.Errorf("missing keys = %q, want %q", res.MissingKeys, *c.Expect.MissingKeys)
						}
					}
					if len(res.Reasons) == 0 {
						t.Error("no reasons given")
					}
				})
			}
		})
	}
	if total < 80 {
		t.Errorf("golden corpus has %d cases, want at least 80", total)
	}
}

func lowerSorted(l []string) []string {
	out := []string{}
	for _, s := range l {
		out = append(out, strings.ToLower(s))
	}
	sort.Strings(out)
	return out
}
