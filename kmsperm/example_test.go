package kmsperm_test

import (
	"context"
	"fmt"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// The KMS actions S3 performs for each step of an SSE-KMS multipart upload.
func ExampleRequirements() {
	for _, s := range mpu.AllSteps {
		reqs := kmsperm.Requirements(s, kmsperm.RequirementOptions{Checksums: true, SourceKMS: true})
		fmt.Printf("%-14s", s)
		if len(reqs) == 0 {
			fmt.Print(" (none)")
		}
		for _, r := range reqs {
			fmt.Printf(" %s(%s)", r.Action, r.Key)
		}
		fmt.Println()
	}
	// Output:
	// Initiate       kms:GenerateDataKey(target)
	// UploadPart     kms:Decrypt(target) kms:GenerateDataKey(target)
	// UploadPartCopy kms:Decrypt(target) kms:GenerateDataKey(target) kms:Decrypt(source)
	// Complete       kms:Decrypt(target) kms:GenerateDataKey(target)
	// Abort          (none)
	// ListParts      kms:Decrypt(target)
	// ListUploads    (none)
}

// A key policy that grants only kms:GenerateDataKey lets the upload start
// and fails every part: the report says so before a byte is sent, and gives
// the statement to add to the key policy.
func ExampleChecker_Check() {
	keyPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Principal":{"AWS":"arn:aws:iam::111122223333:user/Alice"},
	  "Action":"kms:GenerateDataKey","Resource":"*"}]}`
	c := kmsperm.New(nil) // offline: the key is named by ARN and its policy supplied
	rep, err := c.Check(context.Background(), kmsperm.Input{
		Caller:    "arn:aws:iam::111122223333:user/Alice",
		Region:    "us-east-1",
		Object:    kmsperm.Object{Bucket: "amzn-s3-demo-bucket", Key: "backup.tar"},
		KMSKeyID:  "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		KeyPolicy: []byte(keyPolicy),
		Identity:  []mpu.PolicyDocument{}, // Alice has no identity policies
		Steps:     []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range rep.Rows {
		fmt.Println(row.Label, row.Decision)
	}
	row, _ := rep.Row(mpu.UploadPart)
	fmt.Println(row.Remedy.Add[0].Policy+":", string(row.Remedy.Add[0].Statement))
	// Output:
	// Initiate allowed
	// UploadPart implicitDeny
	// Complete implicitDeny
	// key policy of arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab: {"Sid":"AllowS3MultipartUploadWithThisKey","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/Alice"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}
}

// Without a key ID S3 uses the AWS managed key aws/s3 of the bucket owner,
// which a caller from another account can never use.
func ExampleChecker_Check_awsManagedKeyCrossAccount() {
	rep, err := kmsperm.New(nil).Check(context.Background(), kmsperm.Input{
		Caller:        "arn:aws:iam::444455556666:user/Bob",
		Region:        "us-east-1",
		Object:        kmsperm.Object{Bucket: "amzn-s3-demo-bucket", Key: "from-bob.bin"},
		BucketAccount: "111122223333",
		Identity:      []mpu.PolicyDocument{},
		Steps:         []mpu.Step{mpu.Initiate},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	row := rep.Rows[0]
	fmt.Println(row.Decision)
	fmt.Println(row.Actions[0].Reasons[0])
	// Output:
	// implicitDeny
	// arn:aws:kms:us-east-1:111122223333:alias/aws/s3 is an AWS managed key of account 111122223333; an AWS managed key cannot be used from another account (caller account 444455556666)
}

// Key IDs and aliases resolve in the requester's account; ARNs name their own.
func ExampleParseKey() {
	for _, in := range []string{
		"",
		"1234abcd-12ab-34cd-56ef-1234567890ab",
		"alias/uploads",
		"arn:aws:kms:us-east-1:111122223333:alias/uploads",
	} {
		k, err := kmsperm.ParseKey(in, "us-east-1", "444455556666", "111122223333", "aws")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%q -> account %s key %q alias %q\n", in, k.Account, k.ARN, k.Alias)
	}
	// Output:
	// "" -> account 111122223333 key "" alias "alias/aws/s3"
	// "1234abcd-12ab-34cd-56ef-1234567890ab" -> account 444455556666 key "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab" alias ""
	// "alias/uploads" -> account 444455556666 key "" alias "alias/uploads"
	// "arn:aws:kms:us-east-1:111122223333:alias/uploads" -> account 111122223333 key "" alias "alias/uploads"
}

// With an S3 Bucket Key the encryption context names the bucket, not the object.
func ExampleObject_S3EncryptionContext() {
	o := kmsperm.Object{Bucket: "amzn-s3-demo-bucket", Key: "reports/q1.csv"}
	fmt.Println(o.S3EncryptionContext("aws")["aws:s3:arn"])
	o.BucketKeyEnabled = true
	fmt.Println(o.S3EncryptionContext("aws")["aws:s3:arn"])
	// Output:
	// arn:aws:s3:::amzn-s3-demo-bucket/reports/q1.csv
	// arn:aws:s3:::amzn-s3-demo-bucket
}
