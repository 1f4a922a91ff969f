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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
)

// Exit codes, documented in the root command's help and in README.md.
const (
	exitOK          = 0
	exitFailure     = 1 // a file failed, or the run could not be done
	exitUsage       = 2
	exitDenied      = 3 // preflight found the whole backup denied; nothing was sent
	exitInterrupted = 130
)

type exitError struct {
	code   int
	err    error
	silent bool // the command printed what the user needs already
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func silentExit(code int) error { return &exitError{code: code, silent: true} }

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
	cacheDir       string
}

// app is one invocation of the tool.
type app struct {
	stdout, stderr io.Writer
	g              globalFlags
	now            func() time.Time
	ran            bool
	stderrIsTTY    bool

	cfgLoaded bool
	cfg       aws.Config
}

func run(ctx context.Context, stop func(), args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, now: time.Now}
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			a.stderrIsTTY = true
		}
	}
	if stop != nil {
		// After the first interrupt, restore the default handling so a second one ends the
		// process at once.
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
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	code := exitOK
	if err != nil {
		code = exitFailure
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else if !a.ran {
			code = exitUsage
		}
		if code != exitUsage && ctx.Err() != nil {
			code = exitInterrupted
		}
		if !errors.As(err, &ee) || !ee.silent {
			a.printError(err, code)
		}
	}
	return code
}

func (a *app) printError(err error, code int) {
	if a.g.json {
		b, _ := json.Marshal(map[string]any{"error": err.Error(), "exit_code": code})
		fmt.Fprintln(a.stderr, string(b))
		return
	}
	fmt.Fprintf(a.stderr, "s3backup: error: %s\n", err)
	if code == exitUsage {
		fmt.Fprintln(a.stderr, "Run 's3backup --help' for usage.")
	}
}

const rootLong = `s3backup backs a directory up to S3 incrementally, verifies and restores it.

A backup is one object per file under s3://bucket/prefix/, keyed by the file's path relative
to the directory, plus a manifest (prefix/.s3backup/manifest.json) of every completed file:
size, modification time, mode, CRC32C, and the object's ETag and version. The manifest is
cached locally too (--cache-dir). A run skips files recorded with the same size and
modification time without reading them, uploads new and changed ones (small files with one
PutObject, large ones as concurrent multipart uploads), and with --delete removes the objects
of files that are gone. An interrupted run is picked up by the next one: the manifest only
lists completed files, large files continue their multipart uploads from a local resume state
(only missing parts are sent), and other multipart uploads the tool left under the prefix are
aborted at start.

Credentials and region come from the standard AWS chain: --profile, AWS_PROFILE,
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_REGION, the shared config
and credentials files, SSO, web identity and instance roles. AWS_CA_BUNDLE and
AWS_ENDPOINT_URL(_S3|_IAM|_STS) are honoured; the flags below override them.

Exit codes:
  0    success: every file backed up (or verified, or restored)
  1    failure: at least one file failed (the summary lists each with its reason), or the
       run could not be done
  2    usage error or invalid input
  3    preflight found the backup denied; nothing was sent
  130  interrupted (Ctrl-C); completed files are in the manifest, the next run continues`

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "s3backup",
		Short:         "Incremental directory backup to S3, with verify and restore",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.validateGlobals()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: exitUsage, err: err} })
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&a.g.endpointURL, "endpoint-url", "", "S3 endpoint URL (e.g. https://127.0.0.1:9000); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS")
	pf.StringVar(&a.g.iamEndpointURL, "iam-endpoint-url", "", "IAM endpoint URL, for preflight's policy reads (default: AWS_ENDPOINT_URL_IAM or AWS)")
	pf.StringVar(&a.g.stsEndpointURL, "sts-endpoint-url", "", "STS endpoint URL, for finding the caller (default: AWS_ENDPOINT_URL_STS or AWS)")
	pf.StringVar(&a.g.region, "region", "", "AWS region (default: AWS_REGION, the profile's region; us-east-1 with --endpoint-url)")
	pf.StringVar(&a.g.profile, "profile", "", "named profile from the shared AWS config files (default: AWS_PROFILE)")
	pf.StringVar(&a.g.caBundle, "ca-bundle", "", "PEM file of CA certificates to trust for TLS (default: AWS_CA_BUNDLE)")
	pf.BoolVar(&a.g.pathStyle, "path-style", false, "address buckets in the URL path (on by default when --endpoint-url is an IP address or localhost)")
	pf.BoolVar(&a.g.json, "json", false, "print the summary as JSON on stdout")
	pf.BoolVarP(&a.g.quiet, "quiet", "q", false, "no progress display; print only the summary")
	pf.StringVar(&a.g.cacheDir, "cache-dir", "", "base directory of the local manifest cache (default: the user cache directory); each destination gets s3backup/<hash> below it")
	root.AddCommand(a.runCmd(), a.verifyCmd(), a.restoreCmd())
	return root
}

func (a *app) runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.ran = true
		return f(cmd, args)
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s: expected %d arguments, got %d (usage: %s)", cmd.CommandPath(), n, len(args), cmd.UseLine())
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
		u, err := url.Parse(f.val)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--%s: %q is not an http or https URL with a host", f.name, f.val)
		}
	}
	if a.g.caBundle != "" {
		if _, err := os.Stat(a.g.caBundle); err != nil {
			return usageErrorf("--ca-bundle: %v", err)
		}
	}
	return nil
}

// needsPathStyle reports whether an endpoint can only be reached with path-style
// addressing: an IP address or a localhost name cannot take a bucket as a sub-domain.
func needsPathStyle(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// awsConfig loads the AWS configuration once. The HTTP client is the SDK's BuildableClient,
// so that LoadDefaultConfig can add a custom CA bundle (--ca-bundle or AWS_CA_BUNDLE) to it:
// with a plain *http.Client it fails with "unable to add custom RootCAs".
func (a *app) awsConfig(ctx context.Context) (aws.Config, error) {
	if a.cfgLoaded {
		return a.cfg, nil
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = 128
	})
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
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
	if cfg.Region == "" {
		if a.g.endpointURL == "" && cfg.BaseEndpoint == nil {
			return aws.Config{}, usageErrorf("no AWS region: use --region or set AWS_REGION")
		}
		cfg.Region = "us-east-1"
	}
	a.cfg, a.cfgLoaded = cfg, true
	return cfg, nil
}

// endpoint returns the S3 endpoint in use ("" for AWS's own).
func (a *app) endpoint() string {
	if a.g.endpointURL != "" {
		return a.g.endpointURL
	}
	if a.cfg.BaseEndpoint != nil {
		return *a.cfg.BaseEndpoint
	}
	return ""
}

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
		// Ranged GETs carry no whole-object checksum; restore checks each file's CRC32C
		// itself, so the SDK's note about skipping validation is noise.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

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

// info prints a status line on stderr unless --quiet.
func (a *app) info(format string, args ...any) {
	if a.g.quiet {
		return
	}
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// cacheDir returns the local cache directory of a destination: a sub-directory of
// --cache-dir (default: the user cache directory) named after the endpoint, bucket and prefix.
func (a *app) cacheDir(bucket, prefix string) (string, error) {
	base := a.g.cacheDir
	if base == "" {
		var err error
		if base, err = os.UserCacheDir(); err != nil {
			return "", fmt.Errorf("no cache directory (use --cache-dir): %w", err)
		}
	}
	return cacheDirFor(base, a.endpoint(), bucket, prefix), nil
}
