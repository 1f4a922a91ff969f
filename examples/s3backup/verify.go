package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

type verifyOptions struct {
	backupAndDir
	quick          bool
	download       bool
	followSymlinks bool
}

func (a *app) verifyCmd() *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify s3://bucket/prefix DIR",
		Short: "Compare the manifest, the objects' checksums and the local files",
		Long: `Compare a backup with DIR, file by file:

  - the object exists, with the size, ETag and checksum the manifest recorded for it
    (HeadObject with checksum mode; with --download the object is read and its CRC32C
    computed);
  - the local file exists with the recorded size and modification time, and its content
    has the recorded CRC32C (the file is read; --quick compares size and time only);
  - every local file (after --include / --exclude) is in the manifest.

Every difference is listed; the exit status is 1 when there is any. The manifest is
validated first, and with --manifest-key its MAC is checked; without a key, objects and
manifest changed together cannot be detected (a warning says so).`,
		Args: cmdkit.ExactArgs(2),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if err := o.parseArgs(args); err != nil {
				return err
			}
			return a.verify(cmd.Context(), o)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "requests and file reads in flight at once")
	f.BoolVar(&o.quick, "quick", false, "compare local files by size and modification time only, without reading them")
	f.BoolVar(&o.download, "download", false, "read every object and compare its CRC32C with the manifest's")
	f.BoolVar(&o.followSymlinks, "follow-symlinks", false, "follow symbolic links, as the backup run did")
	o.filterFlags.register(f, "verify")
	return cmd
}

func (a *app) verify(ctx context.Context, o *verifyOptions) error {
	sum := &summary{Command: "verify", Source: o.dest.String(), Destination: o.dir}
	return a.runCommand(ctx, sum, func() error { return a.doVerify(ctx, o, sum, &progress{}) })
}

func (a *app) doVerify(ctx context.Context, o *verifyOptions, sum *summary, prog *progress) error {
	client, m, err := a.openBackup(ctx, o.dest, sum)
	if err != nil {
		return err
	}
	wr, err := scanDir(ctx, o.dir, o.followSymlinks, o.filter, sum)
	if err != nil {
		return err
	}
	local := make(map[string]localFile, len(wr.files))
	for _, f := range wr.files {
		local[f.Rel] = f
		if m.Files[f.Rel] == nil {
			sum.fail(f.Rel, "", "local file is not in the backup")
		}
	}
	verifyDirs(o, m, o.filter, wr.dirs, sum)
	rels := make([]string, 0, len(m.Files))
	for rel := range m.Files {
		if o.filter.accepts(rel) {
			rels = append(rels, rel)
		}
	}
	sort.Strings(rels)
	prog.filesTotal.Store(int64(len(rels)))
	disp := startDisplay(a.stderr, a.stderrIsTTY && !a.g.quiet, prog, "verified", 200*time.Millisecond)
	defer disp.stop()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.concurrency)
	verified := make([]bool, len(rels))
	for i, rel := range rels {
		g.Go(func() error {
			e := m.Files[rel]
			key := o.dest.key(rel)
			var problems []string
			problems = append(problems, verifyObject(gctx, client, o, key, e)...)
			problems = append(problems, verifyLocal(o, rel, e, local)...)
			if gctx.Err() != nil {
				return gctx.Err()
			}
			if len(problems) > 0 {
				prog.failed.Add(1)
				sum.fail(rel, key, strings.Join(problems, "; "))
			} else {
				verified[i] = true
			}
			prog.filesDone.Add(1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, ok := range verified {
		if ok {
			sum.Verified++
		}
	}
	return nil
}

// verifyObject compares the object with its manifest entry.
func verifyObject(ctx context.Context, client *s3.Client, o *verifyOptions, key string, e *manifestEntry) []string {
	in := &s3.HeadObjectInput{Bucket: aws.String(o.dest.Bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled}
	if e.VersionID != "" && e.VersionID != "null" {
		in.VersionId = aws.String(e.VersionID)
	}
	h, err := client.HeadObject(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		var nf *types.NotFound
		if errors.As(err, &nf) || cmdkit.APICode(err) == "NotFound" || cmdkit.APICode(err) == "NoSuchKey" {
			return []string{"object is missing"}
		}
		return []string{"object: " + cmdkit.ErrText(err)}
	}
	var p []string
	if got := aws.ToInt64(h.ContentLength); got != e.Size {
		p = append(p, fmt.Sprintf("object is %d bytes, the manifest says %d", got, e.Size))
	}
	if got := aws.ToString(h.ETag); got != e.ETag {
		p = append(p, fmt.Sprintf("object ETag is %s, the manifest says %s (the object was replaced)", got, e.ETag))
	}
	// The manifest was validated: the checksum is ALGORITHM:VALUE of an algorithm S3 has.
	if algo, want, ok := strings.Cut(e.ObjectChecksum, ":"); ok {
		got := ""
		switch algo {
		case "CRC32C":
			got = aws.ToString(h.ChecksumCRC32C)
		case "CRC32":
			got = aws.ToString(h.ChecksumCRC32)
		case "CRC64NVME":
			got = aws.ToString(h.ChecksumCRC64NVME)
		case "SHA1":
			got = aws.ToString(h.ChecksumSHA1)
		case "SHA256":
			got = aws.ToString(h.ChecksumSHA256)
		}
		switch {
		case got == "":
			p = append(p, fmt.Sprintf("the server returned no %s checksum for the object; the manifest says %s", algo, want))
		case got != want:
			p = append(p, fmt.Sprintf("object %s checksum is %s, the manifest says %s", algo, termText(got), want))
		}
	}
	if o.download && len(p) == 0 {
		gin := &s3.GetObjectInput{Bucket: aws.String(o.dest.Bucket), Key: aws.String(key)}
		if in.VersionId != nil {
			gin.VersionId = in.VersionId
		}
		out, err := client.GetObject(ctx, gin)
		if err != nil {
			return append(p, "object read: "+cmdkit.ErrText(err))
		}
		sum, n, err := fileCRC32C(out.Body)
		out.Body.Close()
		switch {
		case err != nil:
			p = append(p, "object read: "+cmdkit.Message(err))
		case n != e.Size || sum != e.CRC32C:
			p = append(p, fmt.Sprintf("object content has CRC32C %s (%d bytes), the manifest says %s (%d bytes)", sum, n, e.CRC32C, e.Size))
		}
	}
	return p
}

// verifyLocal compares the local file with its manifest entry.
func verifyLocal(o *verifyOptions, rel string, e *manifestEntry, local map[string]localFile) []string {
	f, ok := local[rel]
	if !ok {
		if _, err := os.Lstat(filepath.Join(o.dir, filepath.FromSlash(rel))); err == nil {
			return []string{"local path is not a regular file (or was skipped)"}
		}
		return []string{"local file is missing"}
	}
	var p []string
	if f.Size != e.Size {
		p = append(p, fmt.Sprintf("local file is %d bytes, the backup %d (changed since the backup)", f.Size, e.Size))
	} else if f.ModTime.UnixNano() != e.MTimeNs {
		p = append(p, fmt.Sprintf("local file modified %s, the backup's copy %s (changed since the backup)",
			f.ModTime.UTC().Format(time.RFC3339Nano), time.Unix(0, e.MTimeNs).UTC().Format(time.RFC3339Nano)))
	}
	if o.quick || len(p) > 0 {
		return p
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return append(p, "local file: "+pathErrText(err))
	}
	defer fh.Close()
	sum, _, err := fileCRC32C(fh)
	if err != nil {
		return append(p, "local file: "+pathErrText(err))
	}
	if sum != e.CRC32C {
		p = append(p, fmt.Sprintf("local content has CRC32C %s, the backup %s (same size and time: the file changed in place or is damaged)", sum, e.CRC32C))
	}
	return p
}

// verifyDirs compares the recorded empty directories with the local ones.
func verifyDirs(o *verifyOptions, m *manifest, flt *filter, local []localDir, sum *summary) {
	below := map[string]bool{} // directories that hold recorded files
	for rel := range m.Files {
		addAncestors(below, rel)
	}
	for _, d := range local {
		if m.Dirs[d.Rel] == nil && !below[d.Rel] {
			sum.fail(d.Rel+"/", "", "local empty directory is not in the backup")
		}
	}
	var dirs []string
	for rel := range m.Dirs {
		if flt.accepts(rel) {
			dirs = append(dirs, rel)
		}
	}
	sort.Strings(dirs)
	for _, rel := range dirs {
		fi, err := os.Lstat(filepath.Join(o.dir, filepath.FromSlash(rel)))
		switch {
		case err != nil:
			sum.fail(rel+"/", "", "empty directory is missing: "+pathErrText(err))
		case !fi.IsDir():
			sum.fail(rel+"/", "", "empty directory is missing: the path is not a directory")
		default:
			sum.EmptyDirs++
		}
	}
}

// runCommand runs verify's or restore's work, prints the summary and maps the outcome to
// the exit status.
func (a *app) runCommand(ctx context.Context, sum *summary, do func() error) error {
	start := time.Now()
	err := do()
	sum.finish(time.Since(start))
	if ctx.Err() != nil {
		sum.Interrupted = true
	}
	if err != nil && ctx.Err() == nil {
		sum.Error = a.ErrorText(err)
	}
	return a.endCommand(ctx, sum, err)
}

// endCommand prints the finished summary (as JSON with --json) and maps the outcome to the
// exit status: 3 for a run preflight denied, 130 interrupted, 1 for an error or a failed
// file, the error's own status when it has one.
func (a *app) endCommand(ctx context.Context, sum *summary, err error) error {
	if a.g.json {
		if perr := a.printJSON(sum); perr != nil {
			return perr
		}
	} else {
		sum.writeText(a.stdout)
	}
	switch {
	case errors.Is(err, errDenied):
		return cmdkit.SilentExit(exitDenied)
	case ctx.Err() != nil:
		return cmdkit.SilentExit(exitInterrupted)
	case err != nil:
		var ee *cmdkit.ExitError
		if errors.As(err, &ee) {
			ee.Silent = true
			return ee
		}
		return cmdkit.SilentExit(exitFailure)
	case len(sum.Failed) > 0:
		return cmdkit.SilentExit(exitFailure)
	}
	return nil
}
