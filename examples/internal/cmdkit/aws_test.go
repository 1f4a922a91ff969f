package cmdkit

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestClientsUseTheirEndpointFlags: --iam-endpoint-url reaches the IAM client
// and --sts-endpoint-url the STS client, each its own; without a flag no
// endpoint is forced on IAM or KMS.
func TestClientsUseTheirEndpointFlags(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_IAM", "")
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	t.Setenv("AWS_ENDPOINT_URL_KMS", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	ctx := context.Background()
	js := false
	a := NewApp("tool", io.Discard, io.Discard, &js, nil)
	a.G.Region = "us-east-1"
	a.G.EndpointURL = "http://127.0.0.1:1"
	a.G.IAMEndpointURL = "http://iam.example:1"
	a.G.STSEndpointURL = "http://sts.example:2"
	ic, err := a.IAMClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(ic.Options().BaseEndpoint); got != a.G.IAMEndpointURL {
		t.Errorf("IAM endpoint %q, want %q", got, a.G.IAMEndpointURL)
	}
	sc, err := a.STSClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(sc.Options().BaseEndpoint); got != a.G.STSEndpointURL {
		t.Errorf("STS endpoint %q, want %q", got, a.G.STSEndpointURL)
	}
	kc, err := a.KMSClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := kc.Options().BaseEndpoint; got != nil {
		t.Errorf("KMS endpoint %q forced without a flag", *got)
	}
	b := NewApp("tool", io.Discard, io.Discard, &js, nil)
	b.G.Region = "us-east-1"
	ic, err = b.IAMClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ic.Options().BaseEndpoint; got != nil {
		t.Errorf("IAM endpoint %q forced without a flag", *got)
	}
}
