package cmdkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

// App is one invocation of a command: its name, streams, global flags, AWS configuration
// and whether flag parsing is over. The commands embed it.
type App struct {
	// Name is the command's name ("s3mpu"), the prefix of its error lines.
	Name           string
	Stdout, Stderr io.Writer
	G              Globals
	// JSON and Quiet point at the command's --json and --quiet flags.
	JSON, Quiet *bool
	// Ran is set once a command's RunE starts: errors before that are usage errors.
	Ran bool
	// DeniedHint is the command's next step for access denied (e.g. a preflight command); a
	// %s in it becomes the first s3:// argument.
	DeniedHint string
	// Args are the command line's arguments, for naming the bucket in error messages.
	Args []string

	cfgLoaded bool
	cfg       aws.Config
}

// NewApp returns an App for the command name writing to stdout and stderr, whose --json and
// --quiet flags are bound to json and quiet.
func NewApp(name string, stdout, stderr io.Writer, json, quiet *bool) *App {
	return &App{Name: name, Stdout: stdout, Stderr: stderr, JSON: json, Quiet: quiet}
}

func (a *App) json() bool  { return a.JSON != nil && *a.JSON }
func (a *App) quiet() bool { return a.Quiet != nil && *a.Quiet }

// Execute runs root with args and returns the process exit code; it prints the error, if
// any and not silent, with PrintError. stop is called once the first interrupt has been seen
// (ctx is done), so that a second Ctrl-C ends the process at once.
func (a *App) Execute(ctx context.Context, stop func(), root *cobra.Command, args []string) int {
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
	a.Args = args
	root.SetArgs(args)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageErr(err) })
	err := root.ExecuteContext(ctx)
	code := Code(err)
	if err != nil && !a.Ran {
		var ee *ExitError
		if !errors.As(err, &ee) {
			code = ExitUsage
		}
	}
	if err != nil && code != ExitUsage && ctx.Err() != nil {
		code = ExitInterrupted
	}
	if err != nil && !IsSilent(err) {
		a.PrintError(err, code)
	}
	return code
}

// PrintError writes err to stderr: "NAME: error: CAUSE; NEXT STEP" (see Explain), the CLI's
// own further lines, and with --debug the full detail; with --json one object
// {"error": ..., "exit_code": N} (and "detail" with --debug).
func (a *App) PrintError(err error, code int) {
	msg := a.Explain(err)
	if a.json() {
		obj := map[string]any{"error": msg.Text(), "exit_code": code}
		if a.G.Debug && msg.Detail != "" {
			obj["detail"] = msg.Detail
		}
		b, _ := json.Marshal(obj)
		fmt.Fprintln(a.Stderr, string(b))
		return
	}
	fmt.Fprintf(a.Stderr, "%s: error: %s\n", a.Name, termLines(msg.Text()))
	if a.G.Debug && msg.Detail != "" {
		fmt.Fprintf(a.Stderr, "%s: detail: %s\n", a.Name, termLines(msg.Detail))
	}
	if code == ExitUsage && !a.Ran {
		fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", a.Name)
	}
}

// termLines is text for the terminal: its lines kept, every other control character escaped
// (see TermText), since an error may quote a server's message or a name from the bucket.
func termLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = TermText(l)
	}
	return strings.Join(lines, "\n")
}

// Root returns the program's root command, named a.Name, with what every program shares:
// cobra prints neither usage nor errors (Execute does), the global flags are persistent
// flags checked before any command runs, and there is no completion command. The caller
// adds its own flags and commands.
func (a *App) Root(short, long string) *cobra.Command {
	root := &cobra.Command{
		Use:           a.Name,
		Short:         short,
		Long:          long,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.G.Validate()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	a.G.Register(root.PersistentFlags())
	return root
}

// RunE wraps a command's body: it marks that flag parsing is over, so errors from here on
// are the command's own.
func (a *App) RunE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.Ran = true
		return f(cmd, args)
	}
}

// ExactArgs is cobra.ExactArgs with a usage error (exit 2) and the command's argument syntax.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return UsageErrorf("%s: expected %d argument(s), got %d (usage: %s)", cmd.CommandPath(), n, len(args), cmd.UseLine())
		}
		return nil
	}
}

// Info prints a progress or status line on stderr unless --quiet.
func (a *App) Info(format string, args ...any) {
	if a.quiet() {
		return
	}
	// A status line may quote an error as text (a preflight step's reason): credentials it
	// might hold are withheld and control characters escaped.
	fmt.Fprintf(a.Stderr, "%s\n", termLines(WithholdSecrets(fmt.Sprintf(format, args...))))
}

// PrintJSON writes v as indented JSON on stdout.
func (a *App) PrintJSON(v any) error {
	enc := json.NewEncoder(a.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// buckets returns the distinct bucket names of the s3:// arguments, in order.
func (a *App) buckets() []string {
	var out []string
	for _, s := range a.Args {
		u, err := ParseS3URL(s)
		if err != nil {
			continue
		}
		dup := false
		for _, b := range out {
			dup = dup || b == u.Bucket
		}
		if !dup {
			out = append(out, u.Bucket)
		}
	}
	return out
}

// bucketPhrase names the bucket(s) of the command line: `bucket "b"`, `bucket "a" or "b"`,
// or "the bucket".
func (a *App) bucketPhrase() string {
	bs := a.buckets()
	if len(bs) == 0 {
		return "the bucket"
	}
	q := make([]string, len(bs))
	for i, b := range bs {
		q[i] = fmt.Sprintf("%q", b)
	}
	return "bucket " + strings.Join(q, " or ")
}

// ErrorText returns err as the user reads it (Explain's lines) for a command that reports its
// error inside its own output (a summary), and with --debug prints the full detail on stderr.
func (a *App) ErrorText(err error) string {
	m := a.Explain(err)
	if a.G.Debug && m.Detail != "" {
		fmt.Fprintf(a.Stderr, "%s: detail: %s\n", a.Name, termLines(m.Detail))
	}
	return m.Text()
}

// Main runs a command as the process: the standard logger is silenced (libraries that log
// through it, such as net/http's transport on a protocol oddity, must not write to stderr:
// what the user sees comes from the command), the first Ctrl-C or SIGTERM cancels the
// context, and the process exits with run's code.
func Main(run func(ctx context.Context, stop func(), args []string) int) {
	log.SetOutput(io.Discard)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, stop, os.Args[1:])
	stop()
	os.Exit(code)
}
