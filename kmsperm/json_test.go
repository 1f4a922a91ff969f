package kmsperm_test

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/s3mpu/s3mpu/kmsperm"
)

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// opaque are keys whose values are not kmsperm's JSON: policy statements
// and key policies in AWS's own spelling, operation names, an encryption
// context.
var opaque = map[string]bool{"statement": true, "key_policy": true, "api_calls": true, "encryption_context": true}

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

// TestJSONIsSnakeCase: every key of the Report's and the Input's JSON is
// snake_case.
func TestJSONIsSnakeCase(t *testing.T) {
	in := baseInput(keyARN)
	in.KeyPolicy = []byte(kpProgrammatic)
	in.CopySource = &kmsperm.CopySource{Object: kmsperm.Object{Bucket: "src", Key: "k", BucketKeyEnabled: true}, KMSKeyID: keyARN, Region: region}
	rep, err := kmsperm.New(nil).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) == 0 || len(rep.Keys) == 0 || len(rep.Gaps) == 0 {
		t.Fatalf("the report lacks parts to check: %+v", rep)
	}
	for name, x := range map[string]any{"report": rep, "input": in} {
		data, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		checkSnake(t, name, v)
	}
}
