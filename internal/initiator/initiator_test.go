package initiator

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestName(t *testing.T) {
	const arn = "arn:aws:iam::111122223333:user/alice"
	for _, tc := range []struct {
		name string
		in   *types.Initiator
		want string
	}{
		{"nil", nil, ""},
		{"empty", &types.Initiator{}, ""},
		{"id", &types.Initiator{ID: aws.String(arn)}, arn},
		{"id before display name", &types.Initiator{ID: aws.String(arn), DisplayName: aws.String("alice")}, arn},
		{"display name only", &types.Initiator{DisplayName: aws.String("alice")}, "alice"},
		{"empty id", &types.Initiator{ID: aws.String(""), DisplayName: aws.String("alice")}, "alice"},
	} {
		if got := Name(tc.in); got != tc.want {
			t.Errorf("%s: Name = %q, want %q", tc.name, got, tc.want)
		}
	}
}
