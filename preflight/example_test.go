package preflight_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
)

// The adapter fits the uploader's preflight hooks.
var (
	_ uploader.Checker     = (*preflight.UploadChecker)(nil)
	_ uploader.CopyChecker = (*preflight.UploadChecker)(nil)
)

const examplePolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Upload","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*"}]}`

// An IAM user allowed only s3:PutObject may abort its own upload on Amazon
// S3 (the owner-or-initiator default), but not on a server without the
// defaults such as versitygw.
func ExampleEvaluateRequest() {
	in := preflight.EvalInput{
		Caller:           "arn:aws:iam::111122223333:user/alice",
		Action:           "s3:AbortMultipartUpload",
		Resource:         "arn:aws:s3:::photos/2026/a.jpg",
		Initiator:        "arn:aws:iam::111122223333:user/alice",
		IdentityPolicies: []mpu.PolicyDocument{{Name: "upload.json", JSON: []byte(examplePolicy)}},
	}
	for _, prof := range []preflight.Profile{preflight.ProfileAWS, preflight.ProfileNoDefaults} {
		in.Profile = prof
		res, err := preflight.EvaluateRequest(in)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %s %s\n", prof, res.Decision, res.DefaultRule)
	}
	// Output:
	// aws: allowed owner-or-initiator default: the initiator of the upload
	// nodefaults: implicitDeny
}

// A malformed policy is an error naming the document and the statement.
func ExampleEvaluateRequest_malformed() {
	_, err := preflight.EvaluateRequest(preflight.EvalInput{
		Caller: "arn:aws:iam::111122223333:user/alice", Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a",
		IdentityPolicies: []mpu.PolicyDocument{{Name: "team.json", JSON: []byte(`{"Statement":[{"Sid":"Oops","Effect":"Permit","Action":"s3:*","Resource":"*"}]}`)}},
	})
	var pe *preflight.PolicyError
	fmt.Println(errors.Is(err, mpu.ErrInvalidInput), errors.As(err, &pe), pe.Policy, pe.Statement, pe.Sid, pe.Field)
	// Output:
	// true true team.json 0 Oops Effect
}

// Who may clean up an upload by S3's defaults alone.
func ExampleDefaultManagers() {
	for _, who := range preflight.DefaultManagers("111122223333", "arn:aws:iam::444455556666:user/carol") {
		fmt.Println(who)
	}
	// Output:
	// arn:aws:iam::111122223333:root
	// arn:aws:iam::444455556666:user/carol
	// arn:aws:iam::444455556666:root
}

func ExampleParseACLGrant() {
	g, err := preflight.ParseACLGrant("READ=group:AllUsers")
	fmt.Println(g, err)
	// Output:
	// READ=group:http://acs.amazonaws.com/groups/global/AllUsers <nil>
}

// A preflight with the local evaluator over supplied documents, rendered as
// the verdict and evaluator of each step, and the fix for each denied one.
func ExampleChecker_Check() {
	local := preflight.NewLocal(preflight.LocalOptions{Sources: preflight.Sources{
		Identity:     []mpu.PolicyDocument{{Name: "upload.json", JSON: []byte(examplePolicy)}},
		BucketPolicy: &mpu.PolicyDocument{}, // none
		ACL:          &preflight.BucketACL{},
		Ownership:    preflight.OwnershipBucketOwnerEnforced,
	}})
	checker := preflight.New(local, func(o *preflight.Options) { o.Profile = preflight.ProfileNoDefaults })
	rep, err := checker.Check(context.Background(), &preflight.Plan{
		Bucket: "photos", Key: "2026/a.jpg", Caller: "arn:aws:iam::111122223333:user/alice", BucketOwner: "111122223333",
		Transport: preflight.TransportHTTPS, SourceIP: "192.0.2.10",
		Steps: []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete, mpu.Abort},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range rep.Steps {
		fmt.Printf("%-10s %-12s %s\n", s.Step, s.Decision, s.Evaluator)
		if s.Remedy != nil {
			fmt.Println("  fix:", s.Remedy.Summary)
			for _, a := range s.Remedy.Add {
				fmt.Printf("  add to the %s: %s\n", a.Policy, a.Statement)
			}
		}
	}
	fmt.Println("OK:", rep.OK(), "blocking:", len(rep.Blocking()))
	// Output:
	// Initiate   allowed      local
	// UploadPart allowed      local
	// Complete   allowed      local
	// Abort      implicitDeny local
	//   fix: grant s3:AbortMultipartUpload on arn:aws:s3:::photos/2026/a.jpg in the policy of user "alice" (or in the bucket policy)
	//   add to the identity policy: {"Sid":"AllowAbort","Effect":"Allow","Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::photos/2026/a.jpg"}
	// OK: false blocking: 1
}

// The JSON form of a report step, as `s3mpu preflight --json` prints it.
func ExampleReport_json() {
	local := preflight.NewLocal(preflight.LocalOptions{Sources: preflight.Sources{
		Identity: []mpu.PolicyDocument{}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &preflight.BucketACL{}, Ownership: preflight.OwnershipBucketOwnerEnforced,
	}})
	rep, err := preflight.New(local).Check(context.Background(), &preflight.Plan{
		Bucket: "photos", Key: "a", Caller: "arn:aws:iam::111122223333:user/alice", BucketOwner: "111122223333",
		Transport: preflight.TransportHTTPS, SourceIP: "192.0.2.10", Steps: []mpu.Step{mpu.ListUploads},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	step, _ := json.MarshalIndent(struct {
		Step      string   `json:"step"`
		Actions   []string `json:"actions"`
		Resources []string `json:"resources"`
		Decision  string   `json:"decision"`
		Evaluator string   `json:"evaluator"`
	}{rep.Steps[0].Step.String(), rep.Steps[0].Actions, rep.Steps[0].Resources, rep.Steps[0].Decision.String(), string(rep.Steps[0].Evaluator)}, "", "  ")
	fmt.Println(string(step))
	// Output:
	// {
	//   "step": "ListUploads",
	//   "actions": [
	//     "s3:ListBucketMultipartUploads"
	//   ],
	//   "resources": [
	//     "arn:aws:s3:::photos"
	//   ],
	//   "decision": "implicitDeny",
	//   "evaluator": "local"
	// }
}

// UploadChecker plugs a preflight into the uploader: a denied step stops the
// upload before any request, with the reason and the fix.
func ExampleUploadChecker() {
	local := preflight.NewLocal(preflight.LocalOptions{Sources: preflight.Sources{
		Identity:     []mpu.PolicyDocument{{Name: "upload.json", JSON: []byte(examplePolicy)}},
		BucketPolicy: &mpu.PolicyDocument{}, ACL: &preflight.BucketACL{}, Ownership: preflight.OwnershipBucketOwnerEnforced,
	}})
	uc := &preflight.UploadChecker{
		Checker:  preflight.New(local, func(o *preflight.Options) { o.Profile = preflight.ProfileNoDefaults }),
		Template: preflight.Plan{Caller: "arn:aws:iam::111122223333:user/alice", BucketOwner: "111122223333", Transport: preflight.TransportHTTPS, SourceIP: "192.0.2.10"},
	}
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String("photos"), Key: aws.String("a.jpg")}
	err := uc.CheckUpload(context.Background(), in, []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete})
	fmt.Println(err)
	err = uc.CheckUpload(context.Background(), in, []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete, mpu.Abort})
	fmt.Println(errors.Is(err, mpu.ErrPermissionDenied))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// preflight: arn:aws:iam::111122223333:user/alice: Abort is denied (implicitDeny: s3:AbortMultipartUpload on arn:aws:s3:::photos/a.jpg); fix: grant s3:AbortMultipartUpload on arn:aws:s3:::photos/a.jpg in the policy of user "alice" (or in the bucket policy)
}
