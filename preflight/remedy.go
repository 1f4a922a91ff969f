package preflight

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/mpu"
)

type remedyStatement struct {
	Sid       string            `json:"Sid"`
	Effect    string            `json:"Effect"`
	Principal map[string]string `json:"Principal,omitempty"`
	Action    string            `json:"Action"`
	Resource  string            `json:"Resource"`
}

// statementFor returns the minimal statement granting action on resource:
// without a principal for an identity policy, with principal (an ARN) for a
// bucket policy. The Sid is derived from step.
func statementFor(step mpu.Step, action, resource, principal string) json.RawMessage {
	st := remedyStatement{Sid: "Allow" + step.String(), Effect: "Allow", Action: action, Resource: resource}
	if principal != "" {
		st.Principal = map[string]string{"AWS": principal}
	}
	b, _ := json.Marshal(st) // plain strings: cannot fail
	return b
}

// remedyFor builds the remedy for a step from its checks, or nil when the
// step needs none. reqs are the step's requirements, parallel to checks.
func remedyFor(step mpu.Step, checks []Check, reqs []Requirement, caller policy.Principal, bucketOwner string, prof Profile) *mpu.Remedy {
	var rm mpu.Remedy
	var grant, recommend []string
	for i, c := range checks {
		switch {
		case c.Decision == mpu.ExplicitDeny:
			for _, s := range c.Statements {
				if s.Effect == policy.EffectDeny {
					rm.Change = append(rm.Change, s)
				}
			}
		case c.Decision == mpu.ImplicitDeny || (c.Decision == mpu.Allowed && c.OnlyByDefault):
			if c.Decision == mpu.ImplicitDeny {
				grant = append(grant, c.Action+" on "+c.Resource)
			} else {
				recommend = append(recommend, c.Action+" on "+c.Resource)
			}
			rm.Add = append(rm.Add, mpu.RemedyStatement{Policy: "identity policy", Statement: statementFor(step, c.Action, c.Resource, "")})
			cross := bucketOwner != "" && caller.Account != "" && bucketOwner != caller.Account
			if cross {
				where := "bucket policy"
				if i < len(reqs) && reqs[i].Step == mpu.UploadPartCopy && c.Action != actionPutObject {
					where = "source bucket policy"
				}
				rm.Add = append(rm.Add, mpu.RemedyStatement{Policy: where, Statement: statementFor(step, c.Action, c.Resource, caller.PolicyARN())})
			}
		}
	}
	if len(rm.Add) == 0 && len(rm.Change) == 0 {
		return nil
	}
	var parts []string
	if len(rm.Change) > 0 {
		var names []string
		for _, s := range rm.Change {
			names = append(names, s.String())
		}
		parts = append(parts, "an explicit Deny wins over any Allow: change or remove "+strings.Join(names, "; "))
	}
	who := "the caller's identity policy"
	switch caller.Type {
	case policy.TypeAssumedRole, policy.TypeRole:
		who = fmt.Sprintf("the policy of role %q", caller.RoleName)
	case policy.TypeUser:
		who = fmt.Sprintf("the policy of user %q", caller.Username)
	}
	if len(grant) > 0 {
		s := "grant " + strings.Join(grant, " and ") + " in " + who
		if bucketOwner != "" && caller.Account != "" && bucketOwner != caller.Account {
			s += fmt.Sprintf(", and in the bucket policy of account %s (cross-account access needs both)", bucketOwner)
		} else {
			s += " (or in the bucket policy)"
		}
		parts = append(parts, s)
	}
	if len(recommend) > 0 {
		s := "allowed only by S3's owner-or-initiator default; grant " + strings.Join(recommend, " and ") + " explicitly in " + who
		s += " so the upload can also be cleaned up on servers without the default"
		if prof == ProfileAWS {
			s += " and by anyone who is not the initiator"
		}
		parts = append(parts, s)
	}
	rm.Summary = strings.Join(parts, "; ")
	return &rm
}
