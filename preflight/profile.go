package preflight

import (
	"fmt"
	"strings"

	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/textenum"
)

// Profile is the kind of server the requests go to: which of S3's own rules
// on top of IAM policy evaluation it applies. The zero value is ProfileAWS.
type Profile int

const (
	// ProfileAWS is Amazon S3: the owner-or-initiator defaults allow the
	// bucket owner, the initiator and (for an IAM user initiator) its
	// account to abort an upload and list its parts; bucket ACL grants
	// count alongside the bucket policy unless Object Ownership is
	// BucketOwnerEnforced, and map to actions as the S3 user guide's
	// acl-overview table says (no grant gives s3:AbortMultipartUpload or
	// s3:ListMultipartUploadParts).
	ProfileAWS Profile = iota
	// ProfileNoDefaults models servers such as versitygw v1.8.0 that do
	// not apply the owner-or-initiator defaults: an IAM user needs an
	// explicit s3:AbortMultipartUpload and s3:ListMultipartUploadParts
	// grant even for its own upload. As versitygw does, it consults bucket
	// ACL grants only when the bucket has no policy, whatever the Object
	// Ownership setting, maps a WRITE grant to s3:AbortMultipartUpload too
	// and a READ grant to s3:ListMultipartUploadParts and s3:GetObject too;
	// a bucket policy statement written with NotPrincipal, NotAction or
	// NotResource applies to no request (versitygw reads none of those
	// elements in bucket policies); and the server's root account bypasses
	// policy evaluation.
	ProfileNoDefaults
)

// String returns "aws" or "nodefaults".
func (p Profile) String() string {
	switch p {
	case ProfileAWS:
		return "aws"
	case ProfileNoDefaults:
		return "nodefaults"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// MarshalText encodes the profile as its String form.
func (p Profile) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a profile name (see ParseProfile).
func (p *Profile) UnmarshalText(b []byte) error { return textenum.Unmarshal(p, b, ParseProfile) }

// ParseProfile returns the profile named s: "aws", or "nodefaults"
// (also accepted: "versitygw"), case-insensitively.
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(s) {
	case "aws", "":
		return ProfileAWS, nil
	case "nodefaults", "no-defaults", "versitygw":
		return ProfileNoDefaults, nil
	}
	return 0, invalidf("unknown server profile %q (want aws or nodefaults)", s)
}

// Defaults reports whether the profile applies the owner-or-initiator
// default rules.
func (p Profile) Defaults() bool { return p == ProfileAWS }

// aclWithBucketPolicy reports whether ACL grants still count when the
// bucket has a policy.
func (p Profile) aclWithBucketPolicy() bool { return p == ProfileAWS }

// aclEnabled reports whether ACL grants count under the ownership setting.
func (p Profile) aclEnabled(o ObjectOwnership) bool {
	if p == ProfileNoDefaults {
		return true
	}
	return o != OwnershipBucketOwnerEnforced
}

// aclActions returns the actions a bucket ACL permission grants.
func (p Profile) aclActions(perm string) []string {
	read := []string{"s3:ListBucket", "s3:ListBucketVersions", actionListBucketMultipartUploads}
	write := []string{actionPutObject, "s3:DeleteObject", "s3:DeleteObjectVersion"}
	if p == ProfileNoDefaults {
		read = append(read, actionListMultipartUploadParts, actionGetObject)
		write = append(write, actionAbortMultipartUpload)
	}
	switch perm {
	case permRead:
		return read
	case permWrite:
		return write
	case permReadACP:
		return []string{"s3:GetBucketAcl"}
	case permWriteACP:
		return []string{"s3:PutBucketAcl"}
	case permFullControl:
		out := append(append([]string{}, read...), write...)
		return append(out, "s3:GetBucketAcl", "s3:PutBucketAcl")
	}
	return nil
}

// resourcePolicy returns the bucket policy as the profile's server reads
// it, and the statements it leaves out.
func (p Profile) resourcePolicy(d *policy.Document) (*policy.Document, []policy.Statement) {
	if p != ProfileNoDefaults || d == nil {
		return d, nil
	}
	var keep, drop []policy.Statement
	for _, st := range d.Statements {
		if st.NotPrincipal != nil || len(st.NotAction) > 0 || len(st.NotResource) > 0 {
			drop = append(drop, st)
			continue
		}
		keep = append(keep, st)
	}
	if len(drop) == 0 {
		return d, nil
	}
	out := *d
	out.Statements = keep
	return &out, drop
}
