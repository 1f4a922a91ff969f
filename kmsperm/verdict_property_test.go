package kmsperm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// TestVerdictProperties checks, over key policies and identity sides
// (supplied, simulated, unknown), that an action is never Allowed when an
// explicit Deny applies to it, in the key policy or on the identity side,
// and that it is Unknown, not Allowed, when the identity policies are
// unknown and the key policy only delegates to them.
func TestVerdictProperties(t *testing.T) {
	allKMS := `["kms:*"]`
	type keyPol struct {
		doc       string
		denies    func(action string) bool
		delegates bool // allows the account only, never Alice directly
	}
	never := func(string) bool { return false }
	always := func(string) bool { return true }
	denyStmt := func(action string) string {
		return `{"Effect": "Deny", "Principal": {"AWS": "` + alice + `"}, "Action": "` + action + `", "Resource": "*"}`
	}
	rootStmt := `{"Effect": "Allow", "Principal": {"AWS": "` + rootA + `"}, "Action": "kms:*", "Resource": "*"}`
	aliceStmt := `{"Effect": "Allow", "Principal": {"AWS": "` + alice + `"}, "Action": "kms:*", "Resource": "*"}`
	doc := func(stmts ...string) string {
		return `{"Version": "2012-10-17", "Statement": [` + strings.Join(stmts, ",") + `]}`
	}
	keys := map[string]keyPol{
		"delegates":             {kpProgrammatic, never, true},
		"users only":            {kpUsersOnly, never, false},
		"alice direct":          {aliceOnly(allKMS), never, false},
		"delegates, deny dec":   {kpDenyAlice, func(a string) bool { return a == "kms:Decrypt" }, true},
		"alice direct, deny *":  {doc(aliceStmt, denyStmt("kms:*")), always, false},
		"both, deny gen":        {doc(rootStmt, aliceStmt, denyStmt("kms:GenerateDataKey")), func(a string) bool { return a == "kms:GenerateDataKey" }, false},
		"delegates, deny *":     {doc(rootStmt, denyStmt("kms:*")), always, true},
		"alice direct, deny ge": {doc(aliceStmt, denyStmt("kms:GenerateDataKey*")), func(a string) bool { return strings.HasPrefix(a, "kms:GenerateDataKey") }, false},
	}
	type idSide struct {
		identity []mpu.PolicyDocument
		sim      map[string]string // nil: no simulator
		denies   func(action string) bool
		unknown  bool
	}
	idDenyAll := `{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:*", "Resource": "*"}]}`
	idAllowAll := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}`
	ids := map[string]idSide{
		"unknown":           {unknown: true, denies: never},
		"local allow":       {identity: []mpu.PolicyDocument{{Name: "a", JSON: []byte(idAllowAll)}}, denies: never},
		"local allow some":  {identity: []mpu.PolicyDocument{{Name: "a", JSON: []byte(idKeyUse)}}, denies: never},
		"local deny":        {identity: []mpu.PolicyDocument{{Name: "a", JSON: []byte(idAllowAll)}, {Name: "d", JSON: []byte(idDenyAll)}}, denies: always},
		"sim allow":         {sim: map[string]string{"kms:Decrypt": "allowed", "kms:GenerateDataKey": "allowed"}, denies: never},
		"sim implicit deny": {sim: map[string]string{}, denies: never},
		"sim deny decrypt":  {sim: map[string]string{"kms:Decrypt": "explicitDeny", "kms:GenerateDataKey": "allowed"}},
		"sim deny both":     {sim: map[string]string{"kms:Decrypt": "explicitDeny", "kms:GenerateDataKey": "explicitDeny"}},
	}
	for n, id := range ids {
		if id.sim != nil { // the simulator denies what it answers explicitDeny for
			sim := id.sim
			id.denies = func(a string) bool { return sim[a] == "explicitDeny" }
			ids[n] = id
		}
	}
	for kn, kp := range keys {
		for in, id := range ids {
			t.Run(kn+"/"+in, func(t *testing.T) {
				var opts []func(*kmsperm.Options)
				if id.sim != nil {
					f := &fakeIAM{decisions: id.sim}
					opts = append(opts, func(o *kmsperm.Options) { o.IAM = f.client(t) })
				}
				input := baseInput(keyARN)
				input.Identity = id.identity
				input.KeyPolicy = []byte(kp.doc)
				rep, err := kmsperm.New(nil, opts...).Check(context.Background(), input)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, row := range append(rep.Rows, rep.Seed) {
					for _, ar := range row.Actions {
						n++
						where := fmt.Sprintf("%s %s: %s (%s)", row.Step, ar.Action, ar.Decision, strings.Join(ar.Reasons, "; "))
						denied := kp.denies(ar.Action) || id.denies(ar.Action)
						if denied && ar.Decision != mpu.ExplicitDeny {
							t.Errorf("an explicit Deny applies: %s", where)
						}
						if id.unknown && kp.delegates && !kp.denies(ar.Action) && ar.Decision != mpu.Unknown {
							t.Errorf("identity unknown, the key policy only delegates: %s, want unknown", where)
						}
					}
				}
				if n == 0 {
					t.Fatal("no action decided")
				}
			})
		}
	}
}
