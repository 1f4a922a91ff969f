package uploader

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestPutInputMatchesCreateInput: an object small enough for one PutObject
// is stored with the headers a multipart upload would give it. Every field
// of the CreateMultipartUpload request that PutObject also has must be the
// same in both, for an input with every field set.
func TestPutInputMatchesCreateInput(t *testing.T) {
	in := &UploadInput{Bucket: "b", Key: "k", Metadata: map[string]string{"m": "v"}, Expires: aws.Time(time.Unix(1e9, 0)),
		ACL: types.ObjectCannedACLPrivate, StorageClass: types.StorageClassStandardIa,
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, BucketKeyEnabled: aws.Bool(true)}
	// Every other string field gets a value of its own.
	v := reflect.ValueOf(in).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.String && f.String() == "" && v.Type().Field(i).Name != "IfNoneMatch" {
			f.SetString("value-of-" + v.Type().Field(i).Name)
		}
	}
	cs := &checksum{algo: types.ChecksumAlgorithmCrc32c}
	create := reflect.ValueOf(in.createInput(cs)).Elem()
	put := reflect.ValueOf(in.putInput(cs, 10, partSum{})).Elem()
	compared := 0
	for i := 0; i < create.NumField(); i++ {
		name := create.Type().Field(i).Name
		pf := put.FieldByName(name)
		if !pf.IsValid() || name == "noSmithyDocumentSerde" {
			continue
		}
		compared++
		if !reflect.DeepEqual(create.Field(i).Interface(), pf.Interface()) {
			t.Errorf("%s: CreateMultipartUpload sends %v, PutObject %v", name, create.Field(i).Interface(), pf.Interface())
		}
	}
	if compared < 20 {
		t.Fatalf("compared only %d fields", compared)
	}
	// A field set on the input must reach the request: the check above
	// would also pass if both dropped it.
	for _, name := range []string{"ContentType", "CacheControl", "Tagging", "SSEKMSKeyId", "ExpectedBucketOwner", "SSECustomerKeyMD5"} {
		if f := put.FieldByName(name); f.IsNil() {
			t.Errorf("PutObject request has no %s", name)
		}
	}
}
