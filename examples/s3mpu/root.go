package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise the module
// version from the build information is used.
var version = ""

// globalFlags are the flags every command accepts.
type globalFlags struct {
	endpointURL    string
	iamEndpointURL string
	stsEndpointURL string
	region         string
	profile        string
	caBundle       string
	pathStyle      bool
	json           bool
	quiet          bool
}

// app is one invocation of the CLI: its streams, flags and clock.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	g              globalFlags
	now            func() time.Time
	// interrupted reports whether the user asked to stop (Ctrl-C / SIGTERM).
	interrupted func() bool
	// ran is set once a command's RunE starts: errors before that are usage errors.
	ran bool

	cfgLoaded bool
	cfg       aws.Config
}

// run executes the CLI with args and returns the process exit code. stop is called once
// the first interrupt has been seen, so that a second Ctrl-C ends the process at once.
func run(ctx context.Context, stop func(), args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	a.interrupted = func() bool { return ctx.Err() != nil }
	if stop != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-ctx.Done():
				stop()
			case <-done:
			}
		}()
	}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil && !a.ran {
		var ee *exitError
		if !errors.As(err, &ee) {
			code = exitUsage
		}
	}
	if err != nil && code != exitUsage && a.interrupted() {
		code = exitInterrupted
	}
	if err != nil && !isSilent(err) {
		a.printError(err, code)
	}
	return code
}

// printError writes err to stderr: one line "s3mpu: error: ..." or, with --json, a JSON object.
func (a *app) printError(err error, code int) {
	msg := errorMessage(err)
	if a.g.json {
		b, _ := json.Marshal(map[string]any{"error": msg, "exit_code": code})
		fmt.Fprintln(a.stderr, string(b))
		return
	}
	fmt.Fprintf(a.stderr, "s3mpu: error: %s\n", msg)
	if code == exitUsage && !a.ran {
		fmt.Fprintln(a.stderr, "Run 's3mpu --help' for usage.")
	}
}

func versionString() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	return v
}

const rootLong = `s3mpu uploads large files to S3 as multipart uploads that never leave orphaned parts,
and checks before sending a byte that every multipart step is permitted.

Credentials and region come from the standard AWS chain: --profile, AWS_PROFILE,
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_REGION, the shared config
and credentials files, SSO, web identity and instance roles. AWS_CA_BUNDLE and
AWS_ENDPOINT_URL(_S3|_IAM|_STS) are honoured; the flags below override them.

Exit codes:
  0    success
  1    failure
  2    usage error or invalid input
  3    denied by preflight or by policy evaluation
  130  interrupted (Ctrl-C); the upload was aborted, or kept for resume with --state`

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "s3mpu",
		Short:         "Multipart uploads to S3 with permission preflight",
		Long:          rootLong,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.validateGlobals()
		},
	}
	root.SetVersionTemplate("s3mpu {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&a.g.endpointURL, "endpoint-url", "", "S3 endpoint URL (e.g. https://127.0.0.1:9000); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS")
	pf.StringVar(&a.g.iamEndpointURL, "iam-endpoint-url", "", "IAM endpoint URL, for preflight's policy fetching (default: AWS_ENDPOINT_URL_IAM or AWS)")
	pf.StringVar(&a.g.stsEndpointURL, "sts-endpoint-url", "", "STS endpoint URL, for finding the caller (default: AWS_ENDPOINT_URL_STS or AWS)")
	pf.StringVar(&a.g.region, "region", "", "AWS region (default: AWS_REGION, the profile's region; us-east-1 with --endpoint-url)")
	pf.StringVar(&a.g.profile, "profile", "", "named profile from the shared AWS config files (default: AWS_PROFILE)")
	pf.StringVar(&a.g.caBundle, "ca-bundle", "", "PEM file of CA certificates to trust for TLS instead of the system's (default: AWS_CA_BUNDLE)")
	pf.BoolVar(&a.g.pathStyle, "path-style", false, "address buckets in the URL path (on by default when --endpoint-url is an IP address or localhost)")
	pf.BoolVar(&a.g.json, "json", false, "print results as JSON on stdout (errors as JSON on stderr)")
	pf.BoolVarP(&a.g.quiet, "quiet", "q", false, "print nothing but errors (and the --json result)")
	root.AddCommand(a.uploadCmd(), a.cpCmd(), a.preflightCmd(), a.policyCmd(), a.uploadsCmd())
	return root
}

// runE wraps a command's body: it marks that flag parsing is over, so errors from here on
// are the command's own.
func (a *app) runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.ran = true
		return f(cmd, args)
	}
}

// exactArgs is cobra.ExactArgs with a usage error (exit 2) and the command's argument syntax.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s: expected %d argument(s), got %d (usage: %s)", cmd.CommandPath(), n, len(args), cmd.UseLine())
		}
		return nil
	}
}

func (a *app) validateGlobals() error {
	for _, f := range []struct{ name, val string }{
		{"endpoint-url", a.g.endpointURL}, {"iam-endpoint-url", a.g.iamEndpointURL}, {"sts-endpoint-url", a.g.stsEndpointURL},
	} {
		if f.val == "" {
			continue
		}
		if err := checkEndpoint(f.val); err != nil {
			return usageErrorf("--%s: %v", f.name, err)
		}
	}
	if a.g.caBundle != "" {
		if _, err := os.Stat(a.g.caBundle); err != nil {
			return usageErrorf("--ca-bundle: %v", err)
		}
	}
	return nil
}

// checkEndpoint accepts an absolute http or https URL with a host.
func checkEndpoint(s string) error {
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

// needsPathStyle reports whether an endpoint can only be reached with path-style addressing:
// an IP address or a localhost name cannot take a bucket as a sub-domain.
func needsPathStyle(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// awsConfig loads the AWS configuration once: the standard credential chain, the region,
// the CA bundle (--ca-bundle, else AWS_CA_BUNDLE) and an HTTP client sized for concurrent
// part uploads. The HTTP client is the SDK's BuildableClient, so the SDK can add a custom CA
// bundle to it (a plain *http.Client makes LoadDefaultConfig fail when AWS_CA_BUNDLE is set).
func (a *app) awsConfig(ctx context.Context) (aws.Config, error) {
	if a.cfgLoaded {
		return a.cfg, nil
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = 128
	})
	// The SDK's own logger writes to the process's stderr (e.g. "SDK ... WARN failed to
	// discard remaining HTTP response body"); everything the user sees comes from the CLI.
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient), config.WithLogger(logging.Nop{}), config.WithClientLogMode(0)}
	if a.g.region != "" {
		opts = append(opts, config.WithRegion(a.g.region))
	}
	if a.g.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.g.profile))
	}
	if a.g.caBundle != "" {
		pem, err := os.ReadFile(a.g.caBundle)
		if err != nil {
			return aws.Config{}, usageErrorf("--ca-bundle: %v", err)
		}
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, usageErrorf("loading AWS configuration: %v", err)
	}
	cfg.Logger = logging.Nop{}
	if cfg.Region == "" {
		if a.g.endpointURL == "" && cfg.BaseEndpoint == nil {
			return aws.Config{}, usageErrorf("no AWS region: use --region or set AWS_REGION")
		}
		cfg.Region = "us-east-1"
	}
	a.cfg, a.cfgLoaded = cfg, true
	return cfg, nil
}

// s3Client returns an S3 client for the global flags.
func (a *app) s3Client(ctx context.Context) (*s3.Client, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := a.g.endpointURL
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		ep := endpoint
		if ep == "" && o.BaseEndpoint != nil {
			ep = *o.BaseEndpoint
		}
		o.UsePathStyle = a.g.pathStyle || (ep != "" && needsPathStyle(ep))
	}), nil
}

// customS3Endpoint reports whether S3 requests go to an endpoint other than AWS's.
func (a *app) customS3Endpoint() bool {
	return a.g.endpointURL != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
}

// iamClient returns an IAM client for the global flags.
func (a *app) iamClient(ctx context.Context) (*iam.Client, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return iam.NewFromConfig(cfg, func(o *iam.Options) {
		if a.g.iamEndpointURL != "" {
			o.BaseEndpoint = aws.String(a.g.iamEndpointURL)
		}
	}), nil
}

// kmsClient returns a KMS client for the global flags.
func (a *app) kmsClient(ctx context.Context) (*kms.Client, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return kms.NewFromConfig(cfg), nil
}

// stsClient returns an STS client for the global flags.
func (a *app) stsClient(ctx context.Context) (*sts.Client, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return sts.NewFromConfig(cfg, func(o *sts.Options) {
		if a.g.stsEndpointURL != "" {
			o.BaseEndpoint = aws.String(a.g.stsEndpointURL)
		}
	}), nil
}

// info prints a progress or status line on stderr unless --quiet.
func (a *app) info(format string, args ...any) {
	if a.g.quiet {
		return
	}
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// stringArrayFlag registers a repeatable string flag that keeps commas (unlike StringSlice).
func stringArrayFlag(fs *pflag.FlagSet, p *[]string, name, usage string) {
	fs.StringArrayVar(p, name, nil, usage)
}
