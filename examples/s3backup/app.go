package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// Exit codes, documented in the root command's help and in README.md: the same as s3mpu's.
const (
	exitOK          = cmdkit.ExitOK
	exitFailure     = cmdkit.ExitFailure // a file failed, or the run could not be done
	exitUsage       = cmdkit.ExitUsage
	exitDenied      = cmdkit.ExitDenied // preflight found the whole backup denied; nothing was sent
	exitInterrupted = cmdkit.ExitInterrupted
)

// globalFlags are the output and cache flags; the AWS ones are cmdkit.Globals.
type globalFlags struct {
	json     bool
	quiet    bool
	cacheDir string
}

// app is one invocation of the tool: the shared plumbing (streams, global flags, AWS
// configuration, error messages), the output flags and the clock.
type app struct {
	*cmdkit.App
	stdout, stderr io.Writer
	g              globalFlags
	now            func() time.Time
	stderrIsTTY    bool

	mf manifestFlags // --manifest-key, --max-manifest-size
}

func newApp(stdout, stderr io.Writer) *app {
	a := &app{stdout: stdout, stderr: stderr, now: time.Now}
	a.App = cmdkit.NewApp("s3backup", stdout, stderr, &a.g.json, &a.g.quiet)
	a.DeniedHint = "`s3backup run DIR %s --preflight enforce` prints which step is denied and the fix"
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			a.stderrIsTTY = true
		}
	}
	return a
}

func run(ctx context.Context, stop func(), args []string, stdout, stderr io.Writer) int {
	a := newApp(stdout, stderr)
	return a.Execute(ctx, stop, a.rootCmd(), args)
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
	root := a.Root("Incremental directory backup to S3, with verify and restore", rootLong)
	pf := root.PersistentFlags()
	pf.BoolVar(&a.g.json, "json", false, "print the summary as JSON on stdout (errors as JSON on stderr)")
	pf.BoolVarP(&a.g.quiet, "quiet", "q", false, "no progress display; print only the summary")
	pf.StringVar(&a.g.cacheDir, "cache-dir", "", "base directory of the local manifest cache (default: the user cache directory); each destination gets s3backup/<hash> below it")
	a.mf.register(pf)
	root.AddCommand(a.runCmd(), a.verifyCmd(), a.restoreCmd())
	return root
}

// Short names for the shared methods the commands call.
func (a *app) runE(f func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return a.RunE(f)
}
func (a *app) info(format string, args ...any) { a.Info(format, args...) }
func (a *app) printJSON(v any) error           { return a.PrintJSON(v) }

// s3Client returns the S3 client for the global flags. Ranged GETs carry no whole-object
// checksum; restore checks each file's CRC32C itself, so the SDK's note about skipping
// validation is noise.
func (a *app) s3Client(ctx context.Context) (*s3.Client, error) {
	return a.S3Client(ctx, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
}

// endpoint returns the S3 endpoint in use ("" for AWS's own).
func (a *app) endpoint() string { return a.G.S3Endpoint() }

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
