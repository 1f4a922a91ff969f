package cmdkit

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// UploadLister is the S3 call ListUploads makes; *s3.Client has it.
type UploadLister interface {
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// maxUploadPages bounds the pages ListUploads reads, against a server that never ends a
// listing.
const maxUploadPages = 100000

// ListUploads returns every multipart upload in progress in bucket under prefix ("" for
// all), reading all the pages. A server that says a listing is truncated but gives no next
// markers, or the same ones again, ends the listing rather than restarting or repeating it.
func ListUploads(ctx context.Context, cli UploadLister, bucket, prefix string) ([]types.MultipartUpload, error) {
	var all []types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	for page := 0; ; page++ {
		out, err := cli.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Uploads...)
		nextKey, nextID := aws.ToString(out.NextKeyMarker), aws.ToString(out.NextUploadIdMarker)
		switch {
		case !aws.ToBool(out.IsTruncated), page > maxUploadPages:
			return all, nil
		case nextKey == "" && nextID == "":
			return all, nil // no markers: asking again would start over
		case nextKey == aws.ToString(in.KeyMarker) && nextID == aws.ToString(in.UploadIdMarker):
			return all, nil // markers that do not advance: stop rather than loop
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
