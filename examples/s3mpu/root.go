package main

import (
	"context"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise the module
// version from the build information is used.
var version = ""

// globalFlags are the output flags every command accepts; the AWS ones are cli.Globals.
type globalFlags struct {
	json  bool
	quiet bool
}

// app is one invocation of the CLI: the shared plumbing (streams, global flags, AWS
// configuration, error messages), stdin, the output flags and the clock.
type app struct {
	*cmdkit.App
	stdin          io.Reader
	stdout, stderr io.Writer
	g              globalFlags
	now            func() time.Time
	// interrupted reports whether the user asked to stop (Ctrl-C / SIGTERM).
	interrupted func() bool
}

func newApp(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	a.App = cmdkit.NewApp("s3mpu", stdout, stderr, &a.g.json, &a.g.quiet)
	a.DeniedHint = "`s3mpu preflight %s` shows which step is denied and the smallest fix"
	a.interrupted = func() bool { return ctx.Err() != nil }
	return a
}

// run executes the CLI with args and returns the process exit code. stop is called once
// the first interrupt has been seen, so that a second Ctrl-C ends the process at once.
func run(ctx context.Context, stop func(), args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(ctx, stdin, stdout, stderr)
	root := a.rootCmd()
	root.SetIn(stdin)
	return a.Execute(ctx, stop, root, args)
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
AWS_ENDPOINT_URL(_S3|_IAM|_STS) are honoured; the flags below override them. With a custom
S3 endpoint, AWS's STS and IAM are never asked (give --sts-endpoint-url or
--iam-endpoint-url for a server that has them).

An error is one line naming the cause and the next step; --debug adds the full detail.

Exit codes:
  0    success
  1    failure
  2    usage error or invalid input
  3    denied by preflight or by policy evaluation
  130  interrupted (Ctrl-C); the upload was aborted, or kept for resume with --state`

func (a *app) rootCmd() *cobra.Command {
	root := a.Root("Multipart uploads to S3 with permission preflight", rootLong)
	root.Version = versionString()
	root.SetVersionTemplate("s3mpu {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.BoolVar(&a.g.json, "json", false, "print results as JSON on stdout (errors as JSON on stderr)")
	pf.BoolVarP(&a.g.quiet, "quiet", "q", false, "print nothing but errors (and the --json result)")
	root.AddCommand(a.uploadCmd(), a.cpCmd(), a.preflightCmd(), a.policyCmd(), a.uploadsCmd())
	root.AddCommand(a.shardCmds()...)
	return root
}

// groupCmd returns a command that holds subcommands: run alone, it is a usage error that
// names them.
func (a *app) groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name()
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cmdkit.ExactArgs(0),
		RunE: a.RunE(func(cmd *cobra.Command, _ []string) error {
			return cmdkit.UsageErrorf("%s: missing subcommand (%s)", cmd.CommandPath(), strings.Join(names, ", "))
		}),
	}
	cmd.AddCommand(subs...)
	return cmd
}

// stringArrayFlag registers a repeatable string flag that keeps commas (unlike StringSlice).
func stringArrayFlag(fs *pflag.FlagSet, p *[]string, name, usage string) {
	fs.StringArrayVar(p, name, nil, usage)
}
