// Package iamsim is the one adapter to IAM's policy simulator
// (iam:SimulatePrincipalPolicy) that preflight and kmsperm share: it types
// a request context's keys as the simulator wants them and follows the
// simulator's pagination. It only asks: what a result means is for its
// callers to decide, and it never evaluates a policy itself.
package iamsim

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/s3mpu/s3mpu/internal/policy"
)

// API is the IAM policy simulator call. *iam.Client satisfies it.
type API interface {
	SimulatePrincipalPolicy(ctx context.Context, params *iam.SimulatePrincipalPolicyInput, optFns ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error)
}

var _ API = (*iam.Client)(nil)

// keyTypes are the types of the condition keys that are not strings, by
// lower-case name. A key not listed is a string, or a string list when it
// has several values.
var keyTypes = map[string]iamtypes.ContextKeyTypeEnum{
	"aws:sourceip":              iamtypes.ContextKeyTypeEnumIp,
	"aws:securetransport":       iamtypes.ContextKeyTypeEnumBoolean,
	"aws:viaawsservice":         iamtypes.ContextKeyTypeEnumBoolean,
	"aws:currenttime":           iamtypes.ContextKeyTypeEnumDate,
	"aws:epochtime":             iamtypes.ContextKeyTypeEnumNumeric,
	"kms:multiregion":           iamtypes.ContextKeyTypeEnumBoolean,
	"kms:encryptioncontextkeys": iamtypes.ContextKeyTypeEnumStringList,
}

// Entries converts a request context into the simulator's typed context
// entries, sorted by key; keys without a value are left out.
func Entries(reqCtx map[string][]string) []iamtypes.ContextEntry {
	names := make([]string, 0, len(reqCtx))
	for k := range reqCtx {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []iamtypes.ContextEntry
	for _, k := range names {
		vals := reqCtx[k]
		if len(vals) == 0 {
			continue
		}
		t, ok := keyTypes[strings.ToLower(k)]
		switch {
		case ok:
		case len(vals) > 1:
			t = iamtypes.ContextKeyTypeEnumStringList
		default:
			t = iamtypes.ContextKeyTypeEnumString
		}
		out = append(out, iamtypes.ContextEntry{ContextKeyName: aws.String(k), ContextKeyType: t, ContextKeyValues: append([]string(nil), vals...)})
	}
	return out
}

// Source is the PolicySourceArn the simulator accepts for p: a user or
// role ARN, a session's role ARN, or "" for a principal it cannot
// simulate (the root user, a federated user, anonymous).
func Source(p policy.Principal) string {
	switch p.Type {
	case policy.TypeUser, policy.TypeRole, policy.TypeAssumedRole:
		return p.PolicyARN()
	}
	return ""
}

// maxPages bounds the pages one simulation may take.
const maxPages = 100

// ErrPagination is returned when the simulator's pages do not end.
var ErrPagination = errors.New("iamsim: the simulator's pagination did not end")

// Run asks the simulator in, following its pagination, and returns every
// evaluation result of every page. page, when not nil, is told of each
// request before it is made. in.Marker is overwritten.
func Run(ctx context.Context, api API, in *iam.SimulatePrincipalPolicyInput, page func()) ([]iamtypes.EvaluationResult, error) {
	var out []iamtypes.EvaluationResult
	for i := 0; i < maxPages; i++ {
		if page != nil {
			page()
		}
		res, err := api.SimulatePrincipalPolicy(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, res.EvaluationResults...)
		if !res.IsTruncated || aws.ToString(res.Marker) == "" {
			return out, nil
		}
		in.Marker = res.Marker
	}
	return nil, ErrPagination
}
