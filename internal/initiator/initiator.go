// Package initiator names the initiator of a multipart upload as listed by
// ListMultipartUploads, for the uploader's orphan scan, the s3mpu uploads
// command and the s3backup cleanup alike.
package initiator

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Name identifies an upload's initiator: its ID (an ARN for IAM
// identities on S3), else its display name, else "" when the server does
// not say.
func Name(i *types.Initiator) string {
	if i == nil {
		return ""
	}
	if id := aws.ToString(i.ID); id != "" {
		return id
	}
	return aws.ToString(i.DisplayName)
}

// ARN returns the initiator's ARN when the server reports one (AWS puts
// the IAM identity's ARN in Initiator.ID), else "".
func ARN(i *types.Initiator) string {
	if i == nil {
		return ""
	}
	if id := aws.ToString(i.ID); strings.HasPrefix(id, "arn:") {
		return id
	}
	return ""
}
