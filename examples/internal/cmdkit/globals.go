package cmdkit

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// Globals are the flags every command of both tools accepts: where the AWS APIs are, which
// credentials and region, how TLS is trusted, and --debug.
type Globals struct {
	EndpointURL    string
	IAMEndpointURL string
	STSEndpointURL string
	Region         string
	Profile        string
	CABundle       string
	PathStyle      bool
	// Debug prints the full error detail (the SDK's) after the one-line message.
	Debug bool
}

// Register adds the global flags to fs (a root command's persistent flags).
func (g *Globals) Register(fs *pflag.FlagSet) {
	fs.StringVar(&g.EndpointURL, "endpoint-url", "", "S3 endpoint URL (e.g. https://127.0.0.1:9000); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS")
	fs.StringVar(&g.IAMEndpointURL, "iam-endpoint-url", "", "IAM endpoint URL, for preflight's policy reads (default: AWS_ENDPOINT_URL_IAM; AWS unless the S3 endpoint is custom)")
	fs.StringVar(&g.STSEndpointURL, "sts-endpoint-url", "", "STS endpoint URL, for finding the caller (default: AWS_ENDPOINT_URL_STS; AWS unless the S3 endpoint is custom)")
	fs.StringVar(&g.Region, "region", "", "AWS region (default: AWS_REGION, the profile's region; us-east-1 with --endpoint-url)")
	fs.StringVar(&g.Profile, "profile", "", "named profile from the shared AWS config files (default: AWS_PROFILE)")
	fs.StringVar(&g.CABundle, "ca-bundle", "", "PEM file of CA certificates to trust for TLS instead of the system's (default: AWS_CA_BUNDLE)")
	fs.BoolVar(&g.PathStyle, "path-style", false, "address buckets in the URL path (on by default when --endpoint-url is an IP address or localhost)")
	fs.BoolVar(&g.Debug, "debug", false, "after an error's one-line message, print its full detail (the AWS SDK's)")
}

// Validate checks the global flags before any request is made.
func (g *Globals) Validate() error {
	for _, f := range []struct{ name, val string }{
		{"endpoint-url", g.EndpointURL}, {"iam-endpoint-url", g.IAMEndpointURL}, {"sts-endpoint-url", g.STSEndpointURL},
	} {
		if f.val == "" {
			continue
		}
		if err := CheckEndpoint(f.val); err != nil {
			return UsageErrorf("--%s: %v", f.name, err)
		}
	}
	if g.CABundle != "" {
		if _, err := os.Stat(g.CABundle); err != nil {
			return UsageErrorf("--ca-bundle: %v", err)
		}
	}
	return nil
}

// CheckEndpoint accepts an absolute http or https URL with a host.
func CheckEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL %q", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// NeedsPathStyle reports whether an endpoint can only be reached with path-style addressing:
// an IP address or a localhost name cannot take a bucket as a sub-domain.
func NeedsPathStyle(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// S3Endpoint returns the S3 endpoint in use: --endpoint-url, else AWS_ENDPOINT_URL_S3, else
// AWS_ENDPOINT_URL; "" for AWS's own.
func (g *Globals) S3Endpoint() string {
	for _, v := range []string{g.EndpointURL, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL")} {
		if v != "" {
			return v
		}
	}
	return ""
}

// CustomS3Endpoint reports whether S3 requests go to an endpoint other than AWS's (an
// S3-compatible server).
func (g *Globals) CustomS3Endpoint() bool { return g.S3Endpoint() != "" }

// IAMReachable reports whether IAM can be asked for the caller's policies: on AWS, or with an
// IAM endpoint given for an S3-compatible server.
func (g *Globals) IAMReachable() bool {
	return !g.CustomS3Endpoint() || g.IAMEndpointURL != "" || os.Getenv("AWS_ENDPOINT_URL_IAM") != ""
}

// STSReachable reports whether STS may be asked who the caller is: on AWS, or with an STS
// endpoint given for an S3-compatible server. AWS's STS is never asked about the credentials
// of a custom endpoint: it does not know them, and they must not be sent there.
func (g *Globals) STSReachable() bool {
	return !g.CustomS3Endpoint() || g.STSEndpointURL != "" || os.Getenv("AWS_ENDPOINT_URL_STS") != ""
}

// KMSReachable reports whether KMS can be asked about keys: on AWS, or with AWS_ENDPOINT_URL_KMS
// for an S3-compatible server.
func (g *Globals) KMSReachable() bool {
	return !g.CustomS3Endpoint() || os.Getenv("AWS_ENDPOINT_URL_KMS") != ""
}

// Insecure reports whether the S3 endpoint is plain HTTP (aws:SecureTransport false).
func (g *Globals) Insecure() bool {
	return strings.HasPrefix(strings.ToLower(g.S3Endpoint()), "http://")
}
