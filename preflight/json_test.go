package preflight

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// opaque are keys whose values are not the project's JSON: policy
// statements in AWS's own spelling, API operation names, a key policy,
// an encryption context.
var opaque = map[string]bool{"statement": true, "api_calls": true, "key_policy": true, "encryption_context": true}

// checkSnake fails for every object key in v, at any depth, that is not
// snake_case.
func checkSnake(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !snakeKey.MatchString(k) {
				t.Errorf("%s: key %q is not snake_case", path, k)
			}
			if !opaque[k] {
				checkSnake(t, path+"."+k, e)
			}
		}
	case []any:
		for _, e := range x {
			checkSnake(t, path+"[]", e)
		}
	}
}

// TestReportJSONIsSnakeCase: every key the Report's JSON writes is
// snake_case, for a report with steps, checks, remedies, KMS rows, the
// seed row, gaps and API calls.
func TestReportJSONIsSnakeCase(t *testing.T) {
	rep := kmsCheck(t, kmsPlan(mpu.Initiate, mpu.UploadPart, mpu.Abort), func(ko *kmsperm.Options) {
		ko.KeyPolicy = []byte(keyPolicyFor(`"kms:GenerateDataKey"`))
	})
	rep.Gaps = append(rep.Gaps, mpu.Gap{Source: "s", Error: "e", AllowOnly: true, Permission: "p", Hint: "h"})
	prof := ProfileNoDefaults
	rep.LearnedProfile, rep.Leftover = &prof, []string{"id"}
	if len(rep.KMS) == 0 || rep.KMSSeed == nil || len(rep.Steps) == 0 || len(rep.APICalls) == 0 {
		t.Fatalf("the report lacks parts to check: %+v", rep)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	checkSnake(t, "report", v)
	var acl any
	b, _ := json.Marshal(BucketACL{OwnerCanonicalID: "o", Grants: []ACLGrant{{Permission: permRead, Grantee: Grantee{Type: granteeGroup, ID: "g"}}}})
	_ = json.Unmarshal(b, &acl)
	checkSnake(t, "acl", acl)
	var res any
	b, _ = json.Marshal(EvalResult{Decision: mpu.Allowed, MissingKeys: []string{"k"}, DefaultRule: "r", Risks: []string{"x"}, Statements: []mpu.StatementRef{{Policy: "p"}}})
	_ = json.Unmarshal(b, &res)
	checkSnake(t, "eval result", res)
}
