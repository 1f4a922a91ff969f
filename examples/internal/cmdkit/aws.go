package cmdkit

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// ErrSTSNotAsked is returned by STSClient for a custom S3 endpoint without an STS endpoint.
var ErrSTSNotAsked = errors.New("the caller is not asked of AWS's STS for a custom --endpoint-url: give --caller ARN, or --sts-endpoint-url for a server that has STS")

// AWSConfig loads the AWS configuration once: the standard credential chain, the region, the
// CA bundle (--ca-bundle, else AWS_CA_BUNDLE) and an HTTP client sized for concurrent part
// uploads. The HTTP client is the SDK's BuildableClient, so the SDK can add a custom CA bundle
// to it (a plain *http.Client makes LoadDefaultConfig fail when AWS_CA_BUNDLE is set). The
// SDK's own logger is silenced: everything the user sees comes from the CLI.
func (a *App) AWSConfig(ctx context.Context) (aws.Config, error) {
	if a.cfgLoaded {
		return a.cfg, nil
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = 128
	})
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient), config.WithLogger(logging.Nop{}), config.WithClientLogMode(0)}
	if a.G.Region != "" {
		opts = append(opts, config.WithRegion(a.G.Region))
	}
	if a.G.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.G.Profile))
	}
	caFlag, caFile := "--ca-bundle", a.G.CABundle
	if caFile == "" {
		caFlag, caFile = "AWS_CA_BUNDLE", os.Getenv("AWS_CA_BUNDLE")
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return aws.Config{}, UsageErrorf("%s: %v", caFlag, err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return aws.Config{}, UsageErrorf("%s %s holds no PEM certificate: give the server's CA certificate in PEM form (-----BEGIN CERTIFICATE-----)", caFlag, caFile)
		}
		if a.G.CABundle != "" {
			opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pem)))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	var noProfile config.SharedConfigProfileNotExistError
	if errors.As(err, &noProfile) {
		cfgFile, credFile := os.Getenv("AWS_CONFIG_FILE"), os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
		if cfgFile == "" {
			cfgFile = config.DefaultSharedConfigFilename()
		}
		if credFile == "" {
			credFile = config.DefaultSharedCredentialsFilename()
		}
		return aws.Config{}, UsageErrorf("--profile %q (or AWS_PROFILE) names no profile in %s or %s: check the name (aws configure list-profiles lists them)", noProfile.Profile, cfgFile, credFile)
	}
	if err != nil {
		return aws.Config{}, UsageErrorf("loading AWS configuration: %v", err)
	}
	cfg.Logger = logging.Nop{}
	if cfg.Region == "" {
		if a.G.EndpointURL == "" && cfg.BaseEndpoint == nil {
			return aws.Config{}, UsageErrorf("no AWS region: use --region or set AWS_REGION")
		}
		cfg.Region = "us-east-1"
	}
	a.cfg, a.cfgLoaded = cfg, true
	return cfg, nil
}

// Region returns the region of the loaded configuration, or --region; "" before loading.
func (a *App) Region() string {
	if a.cfgLoaded {
		return a.cfg.Region
	}
	return a.G.Region
}

// S3Client returns an S3 client for the global flags; optFns adjust the client's options.
func (a *App) S3Client(ctx context.Context, optFns ...func(*s3.Options)) (*s3.Client, error) {
	cfg, err := a.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := a.G.EndpointURL
	pathStyle := a.G.PathStyle
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		ep := endpoint
		if ep == "" && o.BaseEndpoint != nil {
			ep = *o.BaseEndpoint
		}
		o.UsePathStyle = pathStyle || (ep != "" && NeedsPathStyle(ep))
	}, func(o *s3.Options) {
		for _, fn := range optFns {
			fn(o)
		}
	}), nil
}

// IAMClient returns an IAM client for the global flags.
func (a *App) IAMClient(ctx context.Context) (*iam.Client, error) {
	return newClient(ctx, a, a.G.IAMEndpointURL, iam.NewFromConfig, func(o *iam.Options) **string { return &o.BaseEndpoint })
}

// KMSClient returns a KMS client for the global flags.
func (a *App) KMSClient(ctx context.Context) (*kms.Client, error) {
	return newClient(ctx, a, "", kms.NewFromConfig, func(o *kms.Options) **string { return &o.BaseEndpoint })
}

// STSClient returns an STS client for the global flags, or ErrSTSNotAsked when S3 goes to a
// custom endpoint and no STS endpoint is given (see Globals.STSReachable).
func (a *App) STSClient(ctx context.Context) (*sts.Client, error) {
	if !a.G.STSReachable() {
		return nil, ErrSTSNotAsked
	}
	return newClient(ctx, a, a.G.STSEndpointURL, sts.NewFromConfig, func(o *sts.Options) **string { return &o.BaseEndpoint })
}

// newClient builds a service client (newFromConfig is the service's
// NewFromConfig) from the AWS config of the global flags, sending to the
// endpoint ep when it is set; endpoint returns where its options keep the
// base endpoint.
func newClient[C, O any](ctx context.Context, a *App, ep string, newFromConfig func(aws.Config, ...func(*O)) C, endpoint func(*O) **string) (C, error) {
	cfg, err := a.AWSConfig(ctx)
	if err != nil {
		var none C
		return none, err
	}
	return newFromConfig(cfg, func(o *O) {
		if ep != "" {
			*endpoint(o) = aws.String(ep)
		}
	}), nil
}

// CallerARN asks STS who the credentials belong to. It never asks AWS's STS about the
// credentials of a custom S3 endpoint (ErrSTSNotAsked).
func (a *App) CallerARN(ctx context.Context) (string, error) {
	st, err := a.STSClient(ctx)
	if err != nil {
		return "", err
	}
	out, err := st.GetCallerIdentity(ctx, nil)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

// CredentialSource names where the credentials in use come from (e.g. "EnvConfigCredentials"),
// or "" when none were found. It never returns a secret.
func (a *App) CredentialSource(ctx context.Context) string {
	if !a.cfgLoaded || a.cfg.Credentials == nil {
		return ""
	}
	c, err := a.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return ""
	}
	return c.Source
}
