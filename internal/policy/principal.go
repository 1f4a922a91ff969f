package policy

import (
	"fmt"
	"strings"
)

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isUniqueID reports whether s looks like an IAM unique ID (AIDA..., AROA...),
// which AWS shows in a policy in place of a deleted user or role.
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || !strings.HasPrefix(s, "A") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// splitARN splits an ARN into its six colon-separated fields.
func splitARN(s string) (f [6]string, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return f, false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return f, false
	}
	copy(f[:], parts)
	return f, true
}

// PrincipalFromARN builds the Principal for an IAM or STS ARN:
// arn:aws:iam::ACCT:root, arn:aws:iam::ACCT:user/[path/]NAME,
// arn:aws:iam::ACCT:role/[path/]NAME, arn:aws:sts::ACCT:assumed-role/ROLE/SESSION,
// arn:aws:sts::ACCT:federated-user/NAME. It also accepts a bare 12-digit
// account ID (the account root), a service principal such as
// "s3.amazonaws.com", and "*" or "anonymous" for the anonymous principal.
// Other partitions (aws-cn, aws-us-gov) are accepted.
func PrincipalFromARN(arn string) (Principal, error) {
	switch {
	case arn == "*" || arn == "anonymous":
		return Principal{Type: TypeAnonymous}, nil
	case IsAccountID(arn):
		return Principal{ARN: "arn:aws:iam::" + arn + ":root", Account: arn, Type: TypeRoot}, nil
	case !strings.HasPrefix(arn, "arn:") && strings.HasSuffix(arn, ".amazonaws.com") && !strings.ContainsAny(arn, "/:*? "):
		return Principal{Type: TypeService, Service: arn}, nil
	}
	f, ok := splitARN(arn)
	if !ok {
		return Principal{}, fmt.Errorf("policy: %q is not an ARN", arn)
	}
	part, svc, region, acct, res := f[1], f[2], f[3], f[4], f[5]
	// CloudFront origin access identities are IAM users of the pseudo
	// account "cloudfront" (S3 bucket policy examples).
	cloudfront := svc == "iam" && acct == "cloudfront" && strings.HasPrefix(res, "user/")
	if part == "" || region != "" || !(IsAccountID(acct) || cloudfront) {
		return Principal{}, fmt.Errorf("policy: %q is not an IAM principal ARN (want arn:PARTITION:iam::ACCOUNT:...)", arn)
	}
	if strings.ContainsAny(arn, "*?") {
		return Principal{}, fmt.Errorf("policy: principal ARN %q contains a wildcard", arn)
	}
	if cloudfront {
		return Principal{ARN: arn, Type: TypeUser, Username: res[len("user/"):]}, nil
	}
	p := Principal{ARN: arn, Account: acct}
	typ, rest, _ := strings.Cut(res, "/")
	switch {
	case svc == "iam" && res == "root":
		p.Type = TypeRoot
		return p, nil
	case svc == "iam" && typ == "user" && lastSegment(rest) != "":
		p.Type, p.Username = TypeUser, lastSegment(rest)
		return p, nil
	case svc == "iam" && typ == "role" && lastSegment(rest) != "":
		p.Type, p.RoleName = TypeRole, lastSegment(rest)
		return p, nil
	case svc == "sts" && typ == "assumed-role":
		role, sess, ok := strings.Cut(rest, "/")
		if ok && role != "" && sess != "" && !strings.Contains(sess, "/") {
			p.Type, p.RoleName, p.SessionName = TypeAssumedRole, role, sess
			return p, nil
		}
	case svc == "sts" && typ == "federated-user" && rest != "" && !strings.Contains(rest, "/"):
		p.Type, p.Username = TypeFederatedUser, rest
		return p, nil
	}
	return Principal{}, fmt.Errorf("policy: %q is not a root, user, role, assumed-role or federated-user ARN", arn)
}

func lastSegment(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// checkAWSPrincipal validates one value of {"AWS": ...}.
func checkAWSPrincipal(s string) error {
	if s == "*" || IsAccountID(s) || isUniqueID(s) {
		return nil
	}
	if strings.ContainsAny(s, "*?") {
		return fmt.Errorf("wildcards are not allowed in principal %q (only \"*\" alone)", s)
	}
	p, err := PrincipalFromARN(s)
	if err != nil || p.Type == TypeAnonymous || p.Type == TypeService {
		return fmt.Errorf("invalid AWS principal %q: want \"*\", an account ID or an IAM/STS principal ARN", s)
	}
	return nil
}

// principalEntry is one compiled value of a Principal element.
type principalEntry struct {
	all     bool   // "*"
	account string // account ID or account root
	arn     string // user, role, session or federated-user ARN
	role    bool   // arn is a role ARN (matches that role's sessions)
	roleAcc string // account of a role ARN
	roleNm  string // name of a role ARN
	uid     string // unique ID
	service string
	canon   string
	fed     string
}

func compilePrincipals(ps *Principals) []principalEntry {
	if ps == nil {
		return nil
	}
	if ps.All {
		return []principalEntry{{all: true}}
	}
	var out []principalEntry
	for _, s := range ps.AWS {
		switch {
		case s == "*":
			out = append(out, principalEntry{all: true})
		case IsAccountID(s):
			out = append(out, principalEntry{account: s})
		case isUniqueID(s):
			out = append(out, principalEntry{uid: s})
		default:
			p, err := PrincipalFromARN(s)
			if err != nil {
				continue // rejected by Parse; unreachable for parsed documents
			}
			switch p.Type {
			case TypeRoot:
				out = append(out, principalEntry{account: p.Account})
			case TypeRole:
				out = append(out, principalEntry{arn: s, role: true, roleAcc: p.Account, roleNm: p.RoleName})
			default:
				out = append(out, principalEntry{arn: s})
			}
		}
	}
	for _, s := range ps.Service {
		if s == "*" {
			out = append(out, principalEntry{all: true})
			continue
		}
		out = append(out, principalEntry{service: s})
	}
	for _, s := range ps.CanonicalUser {
		out = append(out, principalEntry{canon: s})
	}
	for _, s := range ps.Federated {
		out = append(out, principalEntry{fed: s})
	}
	return out
}

// principal identities a request carries: the account, the role (for role
// sessions) and the caller itself.
type identityMatch struct {
	any      bool // some entry names the caller, its role, or "*"
	account  bool // an entry names the caller's account
	direct   bool // an entry names the caller, its role, or "*" (not only its account)
	self     bool // an entry names the caller's own ARN (user or session ARN), unique ID, or "*"
	roleOnly bool // matched through the role ARN of a session, not the session ARN
}

func matchPrincipals(entries []principalEntry, p *Principal) identityMatch {
	var m identityMatch
	for i := range entries {
		e := &entries[i]
		switch {
		case e.all:
			m.direct, m.self = true, true
		case e.account != "":
			if p.Account != "" && p.Type != TypeAnonymous && p.Type != TypeService && e.account == p.Account {
				m.account = true
				if p.Type == TypeRoot {
					m.direct, m.self = true, true
				}
			}
		case e.uid != "":
			switch {
			case p.UserID == "":
			case p.UserID == e.uid:
				m.direct, m.self = true, true
			case strings.HasPrefix(p.UserID, e.uid+":"):
				// A role's unique ID names the role, not the session.
				m.direct, m.roleOnly = true, true
			}
		case e.role:
			if p.ARN == e.arn {
				m.direct, m.self = true, true
			} else if p.Type == TypeAssumedRole && p.Account == e.roleAcc && p.RoleName == e.roleNm {
				m.direct, m.roleOnly = true, true
			}
		case e.arn != "":
			if p.ARN != "" && p.ARN == e.arn {
				m.direct, m.self = true, true
			}
		case e.service != "":
			if p.Type == TypeService && strings.EqualFold(p.Service, e.service) {
				m.direct, m.self = true, true
			}
		case e.canon != "":
			if p.CanonicalID != "" && p.CanonicalID == e.canon {
				m.direct, m.self = true, true
			}
		case e.fed != "":
			if p.Federated != "" && p.Federated == e.fed {
				m.direct, m.self = true, true
			}
		}
	}
	if m.self {
		m.roleOnly = false
	}
	m.any = m.direct || m.account
	return m
}

// notPrincipalExcludes reports whether the NotPrincipal list of a Deny
// exempts the caller. Every identity the request carries must be listed:
// the account, the role of a role session, and the caller itself, because
// AWS checks the account first, then the role, then the session
// (reference_policies_elements_notprincipal).
func notPrincipalExcludes(entries []principalEntry, p *Principal) bool {
	var all, acct, role, self bool
	for i := range entries {
		e := &entries[i]
		switch {
		case e.all:
			all = true
		case e.account != "":
			if p.Account != "" && e.account == p.Account && p.Type != TypeService && p.Type != TypeAnonymous {
				acct = true
			}
		case e.uid != "":
			switch {
			case p.UserID == "":
			case p.UserID == e.uid:
				self = true
			case strings.HasPrefix(p.UserID, e.uid+":"):
				role = true
			}
		case e.role:
			if p.ARN == e.arn {
				self = true
			} else if p.Type == TypeAssumedRole && p.Account == e.roleAcc && p.RoleName == e.roleNm {
				role = true
			}
		case e.arn != "":
			if p.ARN != "" && p.ARN == e.arn {
				self = true
			}
		case e.service != "":
			if p.Type == TypeService && strings.EqualFold(p.Service, e.service) {
				self = true
			}
		case e.canon != "":
			if p.CanonicalID != "" && p.CanonicalID == e.canon {
				self = true
			}
		case e.fed != "":
			if p.Federated != "" && p.Federated == e.fed {
				self = true
			}
		}
	}
	if all {
		return true
	}
	switch p.Type {
	case TypeRoot:
		return acct
	case TypeAssumedRole:
		return acct && role && self
	case TypeAnonymous, TypeService:
		return self
	default:
		return acct && self
	}
}

// PolicyARN is the ARN that names p in a policy statement or to IAM's
// policy simulator: a role session by its role (a policy cannot name a
// session that does not exist yet; a role with a path needs the path
// added), any other principal by its own ARN.
func (p Principal) PolicyARN() string {
	if p.Type != TypeAssumedRole || p.RoleName == "" || p.Account == "" {
		return p.ARN
	}
	partition := "aws"
	if f := strings.SplitN(p.ARN, ":", 3); len(f) == 3 && f[0] == "arn" && f[1] != "" {
		partition = f[1]
	}
	return "arn:" + partition + ":iam::" + p.Account + ":role/" + p.RoleName
}
