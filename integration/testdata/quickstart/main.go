// Command quickstart uploads a file with s3mpu after a preflight of its permissions.
//
//	go run . [-caller ARN] [-server-profile aws|nodefaults] FILE BUCKET KEY
//
// It reads the standard AWS configuration. For a local or S3-compatible server set
// AWS_ENDPOINT_URL_S3 (and AWS_ENDPOINT_URL_IAM for reading policies), AWS_CA_BUNDLE for a
// self-signed certificate, and pass -caller: such servers have no STS to ask who you are.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

func main() {
	caller := flag.String("caller", "", "ARN of the principal the credentials belong to (default: ask STS)")
	profile := flag.String("server-profile", "aws", `"aws", or "nodefaults" for servers without S3's owner-or-initiator rules`)
	flag.Parse()
	if flag.NArg() != 3 {
		fmt.Fprintln(os.Stderr, "usage: quickstart [-caller ARN] [-server-profile aws|nodefaults] FILE BUCKET KEY")
		os.Exit(2)
	}
	os.Exit(run(context.Background(), *caller, *profile, flag.Arg(0), flag.Arg(1), flag.Arg(2)))
}

func run(ctx context.Context, caller, profileName, path, bucket, key string) int {
	// LoadDefaultConfig reads credentials, AWS_REGION, AWS_CA_BUNDLE and the endpoints
	// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_IAM) from the environment and ~/.aws.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "AWS configuration:", err)
		return 1
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// A server at an IP address or localhost cannot take the bucket as a host name.
		o.UsePathStyle = o.BaseEndpoint != nil
	})
	profile, err := preflight.ParseProfile(profileName)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	// The preflight reads the caller's IAM policies and the bucket's policy and ACL, and
	// refuses to start an upload that some multipart step would be denied.
	checker := preflight.New(
		preflight.NewLocal(preflight.LocalOptions{IAM: iam.NewFromConfig(cfg), S3: client}),
		func(o *preflight.Options) {
			o.Profile = profile
			o.STS = sts.NewFromConfig(cfg) // asked only when Plan.Caller is empty
		})
	up := uploader.New(client, func(o *uploader.Options) {
		o.Concurrency = 4
		o.Preflight = &preflight.UploadChecker{
			Checker:  checker,
			Template: preflight.Plan{Caller: caller},
			OnReport: func(r *preflight.Report) { _ = r.WriteText(os.Stdout) },
		}
		o.PreflightMode = uploader.PreflightEnforce
		o.Listener = event.ListenerFunc(func(e event.Event) {
			switch e := e.(type) {
			case event.Started:
				fmt.Printf("started: %d bytes in %d part(s)\n", e.Size, e.Parts)
			case event.PartDone:
				fmt.Printf("part %d stored (%d bytes)\n", e.PartNumber, e.Size)
			case event.Retry:
				fmt.Printf("retrying %s part %d in %s: %v\n", e.Op, e.PartNumber, e.Wait, e.Err)
			}
		})
	})

	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	out, err := up.Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: key, Body: f})

	var (
		denied    *preflight.DeniedError
		undecided *preflight.UndecidedError
		ue        *uploader.UploadError
	)
	switch {
	case err == nil:
		fmt.Printf("uploaded s3://%s/%s: %d bytes, %s %s\n", out.Bucket, out.Key, out.Size, out.ChecksumAlgorithm, out.Checksum)
		return 0
	case errors.As(err, &denied):
		// The preflight found a step that would be denied; nothing was sent.
		fmt.Fprintln(os.Stderr, "not started:", denied)
		return 3
	case errors.As(err, &undecided):
		// The preflight could not decide a step (errors.Is(err, mpu.ErrUndecided)), for
		// example a policy it could not read; nothing was sent. Details says why. Grant the
		// reads, pass the policies in LocalOptions.Sources, probe with preflight.NewProbe, or
		// choose uploader.PreflightWarn to upload anyway.
		fmt.Fprintf(os.Stderr, "not started, permissions undecided: %v\n%s", undecided, undecided.Details())
		return 4
	case errors.Is(err, mpu.ErrCredentials):
		// The server rejected the credentials themselves (an unknown access key, a wrong
		// secret, an expired session token, a skewed clock): not a permission verdict.
		fmt.Fprintln(os.Stderr, "credentials rejected:", err)
		return 1
	case errors.Is(err, mpu.ErrPermissionDenied) && errors.As(err, &ue):
		// S3 denied a request during the upload; ue says what became of it.
		fmt.Fprintf(os.Stderr, "denied at %s (upload aborted: %t): %v\n", ue.Op, ue.Aborted, err)
		return 3
	case errors.Is(err, mpu.ErrNotFound):
		fmt.Fprintln(os.Stderr, "not found (does the bucket exist?):", err)
		return 1
	default:
		fmt.Fprintln(os.Stderr, "upload failed:", err)
		return 1
	}
}
