package preflight

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/s3mpu/s3mpu/internal/policy"
)

// ObjectOwnership is a bucket's Object Ownership setting.
type ObjectOwnership string

// The Object Ownership settings. OwnershipUnknown means it is not known;
// ACL grants are then honoured and the verdict says it depends on it.
const (
	OwnershipUnknown              ObjectOwnership = ""
	OwnershipBucketOwnerEnforced  ObjectOwnership = "BucketOwnerEnforced"
	OwnershipBucketOwnerPreferred ObjectOwnership = "BucketOwnerPreferred"
	OwnershipObjectWriter         ObjectOwnership = "ObjectWriter"
)

// ParseObjectOwnership accepts the three S3 settings (case-insensitively)
// and "" for unknown.
func ParseObjectOwnership(s string) (ObjectOwnership, error) {
	for _, o := range []ObjectOwnership{OwnershipUnknown, OwnershipBucketOwnerEnforced, OwnershipBucketOwnerPreferred, OwnershipObjectWriter} {
		if strings.EqualFold(s, string(o)) {
			return o, nil
		}
	}
	return "", invalidf("unknown object ownership %q (want BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter)", s)
}

// The ACL permissions (ACLGrant.Permission).
const (
	permRead        = "READ"
	permWrite       = "WRITE"
	permReadACP     = "READ_ACP"
	permWriteACP    = "WRITE_ACP"
	permFullControl = "FULL_CONTROL"
)

// The grantee kinds (Grantee.Type).
const (
	// granteeAccount is an AWS account ID (a grant to an account is
	// delegated to its principals' identity policies).
	granteeAccount = "account"
	// granteeCanonical is an S3 canonical user ID.
	granteeCanonical = "canonical"
	// granteeGroup is a predefined group, by URI.
	granteeGroup = "group"
)

// The predefined S3 groups.
const (
	groupAllUsers           = "http://acs.amazonaws.com/groups/global/AllUsers"
	groupAuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	groupLogDelivery        = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

// Grantee is who an ACL grant is for.
type Grantee struct {
	// Type is "account", "canonical" or "group".
	Type string `json:"type"`
	// ID is the account ID, canonical user ID or group URI.
	ID string `json:"id"`
}

// ACLGrant is one grant of a bucket ACL.
type ACLGrant struct {
	// Permission is READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL.
	Permission string  `json:"permission"`
	Grantee    Grantee `json:"grantee"`
}

// String formats the grant as PERMISSION=type:id, the form ParseACLGrant reads.
func (g ACLGrant) String() string {
	return g.Permission + "=" + g.Grantee.Type + ":" + g.Grantee.ID
}

// BucketACL is a bucket's access control list.
type BucketACL struct {
	// OwnerCanonicalID is the owner's canonical user ID, when known.
	OwnerCanonicalID string `json:"owner_canonical_id,omitempty"`
	// Grants are the grants, in order.
	Grants []ACLGrant `json:"grants"`
}

// ParseACLGrant parses PERMISSION=GRANTEE where PERMISSION is READ, WRITE,
// READ_ACP, WRITE_ACP or FULL_CONTROL and GRANTEE is account:ID,
// canonical:ID or group:URI-or-name (AllUsers, AuthenticatedUsers,
// LogDelivery or the group's URI).
func ParseACLGrant(s string) (ACLGrant, error) {
	perm, grantee, ok := strings.Cut(s, "=")
	if !ok {
		return ACLGrant{}, invalidf("ACL grant %q: want PERMISSION=GRANTEE", s)
	}
	g := ACLGrant{Permission: strings.ToUpper(strings.TrimSpace(perm))}
	switch g.Permission {
	case permRead, permWrite, permReadACP, permWriteACP, permFullControl:
	default:
		return ACLGrant{}, invalidf("ACL grant %q: unknown permission %q", s, perm)
	}
	typ, id, ok := strings.Cut(strings.TrimSpace(grantee), ":")
	if !ok || id == "" {
		return ACLGrant{}, invalidf("ACL grant %q: grantee must be account:ID, canonical:ID or group:URI", s)
	}
	switch strings.ToLower(typ) {
	case granteeAccount:
		if !policy.IsAccountID(id) {
			return ACLGrant{}, invalidf("ACL grant %q: %q is not a 12-digit account ID", s, id)
		}
		g.Grantee = Grantee{Type: granteeAccount, ID: id}
	case granteeCanonical:
		g.Grantee = Grantee{Type: granteeCanonical, ID: id}
	case granteeGroup:
		uri, err := groupURI(id)
		if err != nil {
			return ACLGrant{}, invalidf("ACL grant %q: %v", s, err)
		}
		g.Grantee = Grantee{Type: granteeGroup, ID: uri}
	default:
		return ACLGrant{}, invalidf("ACL grant %q: unknown grantee type %q", s, typ)
	}
	return g, nil
}

func groupURI(s string) (string, error) {
	for _, u := range []string{groupAllUsers, groupAuthenticatedUsers, groupLogDelivery} {
		if strings.EqualFold(s, u) || strings.EqualFold(s, u[strings.LastIndexByte(u, '/')+1:]) {
			return u, nil
		}
	}
	return "", fmt.Errorf("unknown group %q", s)
}

// aclDocument translates the grants of a bucket ACL into an equivalent
// resource policy, so the engine applies the same-account and cross-account
// rules to them: a grant to an account delegates to that account's
// identity policies, a grant to a canonical ID that canonical maps to a
// principal ARN is a direct grant, and AllUsers / AuthenticatedUsers are
// "*". On Amazon S3 a canonical user ID stands for an account, so an
// unmapped canonical grant to the caller's (or the bucket owner's)
// canonical ID is a grant to that account; under ProfileNoDefaults it
// names the caller itself, as on versitygw. Grants that can match no
// caller (LogDelivery) are left out. It returns nil when no grant applies.
func aclDocument(name, part, bucket string, acl *BucketACL, prof Profile, canonical map[string]string, caller policy.Principal, bucketOwner string) (*policy.Document, error) {
	type stmt struct {
		Sid       string         `json:"Sid"`
		Effect    string         `json:"Effect"`
		Principal map[string]any `json:"Principal"`
		Action    []string       `json:"Action"`
		Resource  []string       `json:"Resource"`
	}
	var stmts []stmt
	for i, g := range acl.Grants {
		var principal map[string]any
		switch g.Grantee.Type {
		case granteeAccount:
			principal = map[string]any{"AWS": g.Grantee.ID}
		case granteeCanonical:
			id := g.Grantee.ID
			m, ok := canonical[id]
			switch {
			case ok && (policy.IsAccountID(m) || strings.HasPrefix(m, "arn:")):
				principal = map[string]any{"AWS": m}
			case prof == ProfileAWS && id == caller.CanonicalID && caller.Account != "":
				principal = map[string]any{"AWS": caller.Account}
			case prof == ProfileAWS && id == acl.OwnerCanonicalID && bucketOwner != "":
				principal = map[string]any{"AWS": bucketOwner}
			default:
				principal = map[string]any{"CanonicalUser": id}
			}
		case granteeGroup:
			if g.Grantee.ID != groupAllUsers && g.Grantee.ID != groupAuthenticatedUsers {
				continue
			}
			principal = map[string]any{"AWS": "*"}
		default:
			continue
		}
		acts := prof.aclActions(g.Permission)
		if len(acts) == 0 {
			continue
		}
		stmts = append(stmts, stmt{
			Sid:       fmt.Sprintf("Grant%d%s", i, strings.ReplaceAll(string(g.Permission), "_", "")),
			Effect:    "Allow",
			Principal: principal,
			Action:    acts,
			Resource:  []string{bucketARN(part, bucket), bucketARN(part, bucket) + "/*"},
		})
	}
	if len(stmts) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		return nil, err
	}
	return policy.ParseNamed(name, data)
}
