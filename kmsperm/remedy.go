package kmsperm

import (
	"encoding/json"
	"sort"
)

// statement is a policy statement in the field order AWS documents use.
type statement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal,omitempty"`
	Action    any                          `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func actionList(actions []string) any {
	a := append([]string(nil), actions...)
	sort.Strings(a)
	if len(a) == 1 {
		return a[0]
	}
	return a
}

func viaCondition(via string) map[string]map[string]string {
	if via == "" {
		return nil
	}
	return map[string]map[string]string{"StringEquals": {keyViaService: via}}
}

// keyPolicyStatement returns the key policy statement that lets principal
// (an IAM user, role or account root ARN) perform actions with the key. In a
// key policy "Resource": "*" means the key itself. When viaService is not
// empty (for example "s3.us-east-1.amazonaws.com") the statement applies only
// to requests S3 makes for the principal, which is all an upload needs.
func keyPolicyStatement(principal string, actions []string, viaService string) json.RawMessage {
	b, _ := json.Marshal(statement{
		Sid:       "AllowS3MultipartUploadWithThisKey",
		Effect:    "Allow",
		Principal: map[string]string{"AWS": principal},
		Action:    actionList(actions),
		Resource:  "*",
		Condition: viaCondition(viaService),
	})
	return b
}

// identityStatement returns the identity policy statement that allows
// actions on the key keyARN, restricted to requests S3 makes when
// viaService is not empty.
func identityStatement(keyARN string, actions []string, viaService string) json.RawMessage {
	b, _ := json.Marshal(statement{
		Sid:       "AllowS3MultipartUploadWithKey",
		Effect:    "Allow",
		Action:    actionList(actions),
		Resource:  keyARN,
		Condition: viaCondition(viaService),
	})
	return b
}
