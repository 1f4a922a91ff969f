package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

type restoreOptions struct {
	backupAndDir
	partSizeFlag string
	partSize     int64
	overwrite    bool
}

func (a *app) restoreCmd() *cobra.Command {
	o := &restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore s3://bucket/prefix DIR",
		Short: "Download a backup into DIR",
		Long: `Download the files of a backup into DIR (created if needed), byte for byte.

Files are downloaded with ranged GETs of --part-size, concurrently across files and ranges
(--concurrency requests in flight), each written in place into a temporary file beside its
target; the file's CRC32C is checked against the manifest before it is renamed into place,
and its permission bits and modification time are restored. A file that already exists with
the recorded size and modification time is left alone unless --overwrite. Recorded empty
directories are created.

The manifest is validated before anything is written (a path that would leave DIR refuses
the whole manifest), and with --manifest-key its MAC is checked. Paths below DIR are resolved
through one handle on DIR without following symbolic links: a link where a directory is
needed, or at the file itself, fails that file. A file stops at its first failed range, and
the directories created for it are removed.`,
		Args: cmdkit.ExactArgs(2),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if err := o.parseArgs(args); err != nil {
				return err
			}
			var err error
			if o.partSize, err = cmdkit.ParseSize(o.partSizeFlag); err != nil || o.partSize < 1<<20 {
				return cmdkit.UsageErrorf("--part-size must be a size of at least 1MiB")
			}
			return a.restore(cmd.Context(), o)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "ranged GETs in flight at once, across files")
	f.StringVar(&o.partSizeFlag, "part-size", "16MiB", "size of each ranged GET")
	o.filterFlags.register(f, "restore")
	f.BoolVar(&o.overwrite, "overwrite", false, "download files even when they exist with the recorded size and modification time")
	return cmd
}

func (a *app) restore(ctx context.Context, o *restoreOptions) error {
	sum := &summary{Command: "restore", Source: o.dest.String(), Destination: o.dir}
	return a.runCommand(ctx, sum, func() error { return a.doRestore(ctx, o, sum) })
}

// restoreFile is one file being downloaded.
type restoreFile struct {
	rel, key, name string
	e              *manifestEntry
	dir            *os.Root // the target's directory, opened without following links
	closeDir       bool     // dir is not the restore root itself
	tmp            string   // the temporary file's name in dir
	f              *os.File // the temporary file
	remaining      atomic.Int64
	mu             sync.Mutex
	err            error
}

func (rf *restoreFile) setErr(err error) {
	rf.mu.Lock()
	if rf.err == nil {
		rf.err = err
	}
	rf.mu.Unlock()
}

// failed reports whether a range of the file failed: its other ranges are not fetched.
func (rf *restoreFile) failed() bool {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	return rf.err != nil
}

// restoreHookForTests, when set, is called before each directory of a restore path is
// opened (see restoreRoot.hook).
var restoreHookForTests func(dirRel string)

func (a *app) doRestore(ctx context.Context, o *restoreOptions, sum *summary) error {
	client, m, err := a.openBackup(ctx, o.dest, sum)
	if err != nil {
		return err
	}
	root, err := openRestoreRoot(o.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	root.hook = restoreHookForTests
	flt := o.filter
	rels := make([]string, 0, len(m.Files))
	for rel := range m.Files {
		if !flt.accepts(rel) {
			sum.Excluded++
			continue
		}
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	sum.Files = len(rels)

	prog := &progress{}
	for _, rel := range rels {
		prog.bytesTotal.Add(m.Files[rel].Size)
	}
	prog.filesTotal.Store(int64(len(rels)))
	disp := startDisplay(a.stderr, a.stderrIsTTY && !a.g.quiet, prog, "restored", 200*time.Millisecond)
	defer disp.stop()

	// One pool of ranged GETs across all files. A file's last range to finish checks and
	// renames it. Per-file failures are recorded and do not stop the others; a file's first
	// failed range stops the file's other ranges.
	var g errgroup.Group
	g.SetLimit(o.concurrency)
	for _, rel := range rels {
		if ctx.Err() != nil {
			break
		}
		e := m.Files[rel]
		rf := &restoreFile{rel: rel, key: o.dest.key(rel), e: e}
		unchanged, err := root.create(rf, o.overwrite)
		if err != nil {
			prog.failed.Add(1)
			sum.fail(rel, rf.key, err.Error())
			continue
		}
		if unchanged {
			sum.Unchanged++
			sum.UnchangedBytes += e.Size
			prog.filesDone.Add(1)
			prog.bytesDone.Add(e.Size)
			continue
		}
		ranges := max(1, (e.Size+o.partSize-1)/o.partSize)
		rf.remaining.Store(ranges)
		if e.Size == 0 {
			a.finishRestore(root, rf, sum, prog)
			continue
		}
		started := int64(0)
		for i := range ranges {
			if rf.failed() || ctx.Err() != nil {
				break
			}
			started++
			off := i * o.partSize
			n := min(o.partSize, e.Size-off)
			g.Go(func() error {
				if !rf.failed() {
					if err := a.getRange(ctx, client, o, rf, off, n, prog); err != nil {
						rf.setErr(err)
					}
				}
				if rf.remaining.Add(-1) == 0 {
					a.finishRestore(root, rf, sum, prog)
				}
				return nil
			})
		}
		if skipped := ranges - started; skipped > 0 {
			if ctx.Err() != nil {
				rf.setErr(ctx.Err())
			}
			if rf.remaining.Add(-skipped) == 0 {
				a.finishRestore(root, rf, sum, prog)
			}
		}
	}
	_ = g.Wait() // the goroutines report through the summary and never return an error
	if ctx.Err() == nil {
		restoreDirs(root, m, flt, o.overwrite, sum)
	}
	return nil
}

// restoreDirs creates the recorded empty directories, with their mode and modification
// time (also on existing directories with --overwrite).
func restoreDirs(root *restoreRoot, m *manifest, flt *filter, overwrite bool, sum *summary) {
	dirs := make([]string, 0, len(m.Dirs))
	for rel := range m.Dirs {
		if flt.accepts(rel) {
			dirs = append(dirs, rel)
		}
	}
	sort.Strings(dirs)
	for _, rel := range dirs {
		d := m.Dirs[rel]
		root.mu.Lock()
		dr, created, err := root.openDir(rel, true)
		root.mu.Unlock()
		if err == nil {
			if len(created) > 0 && created[len(created)-1] == rel || overwrite {
				err = dr.Chmod(".", fs.FileMode(d.Mode).Perm())
				if err == nil {
					err = dr.Chtimes(".", time.Unix(0, d.MTimeNs), time.Unix(0, d.MTimeNs))
				}
			}
			if dr != root.root {
				dr.Close()
			}
		}
		if err != nil {
			sum.fail(rel+"/", "", "empty directory: "+pathErrText(err))
			root.removeCreated(rel + "/x")
			continue
		}
		sum.EmptyDirs++
	}
}

// create opens the target's directory (creating it) without following links, and the
// temporary file in it. unchanged reports a target already present with the recorded size
// and modification time (nothing is created then, unless overwrite). A symbolic link at
// the target is not replaced.
func (r *restoreRoot) create(rf *restoreFile, overwrite bool) (unchanged bool, err error) {
	dirRel, name := splitRel(rf.rel)
	r.mu.Lock()
	defer r.mu.Unlock()
	dir, _, err := r.openDir(dirRel, true)
	if err != nil {
		r.removeCreatedLocked(rf.rel)
		return false, err
	}
	ok := false
	defer func() {
		if !ok && dir != r.root {
			dir.Close()
		}
	}()
	if fi, err := dir.Lstat(name); err == nil {
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return false, fmt.Errorf("%s is a symbolic link; restore does not replace or follow it (remove it to restore the file)", strconv.Quote(rf.rel))
		case fi.IsDir():
			return false, fmt.Errorf("%s is a directory", strconv.Quote(rf.rel))
		case !overwrite && fi.Mode().IsRegular() && fi.Size() == rf.e.Size && fi.ModTime().UnixNano() == rf.e.MTimeNs:
			return true, nil
		}
	}
	rf.tmp = tempName()
	f, err := dir.OpenFile(rf.tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		r.removeCreatedLocked(rf.rel)
		return false, fmt.Errorf("creating a temporary file: %s", pathErrText(err))
	}
	rf.f, rf.dir, rf.name, rf.closeDir = f, dir, name, dir != r.root
	ok = true
	return false, nil
}

// getRange downloads bytes [off, off+n) of the object into the temporary file. The object
// must be the one the manifest describes: its total size (from Content-Range) and ETag are
// compared with the entry.
func (a *app) getRange(ctx context.Context, client *s3.Client, o *restoreOptions, rf *restoreFile, off, n int64, prog *progress) error {
	in := &s3.GetObjectInput{
		Bucket: aws.String(o.dest.Bucket), Key: aws.String(rf.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
	}
	if v := rf.e.VersionID; v != "" && v != "null" {
		in.VersionId = aws.String(v)
	} else {
		in.IfMatch = aws.String(rf.e.ETag) // the object the manifest describes, not a newer one
	}
	out, err := client.GetObject(ctx, in)
	if err != nil {
		if cmdkit.APICode(err) == "PreconditionFailed" {
			return errors.New("the object was replaced since the backup (its ETag differs from the manifest's)")
		}
		if cmdkit.APICode(err) == "InvalidRange" {
			return fmt.Errorf("GetObject %s: the object is smaller than the manifest's %d bytes", *in.Range, rf.e.Size)
		}
		return fmt.Errorf("GetObject %s: %s", *in.Range, cmdkit.ErrText(err))
	}
	defer out.Body.Close()
	if total, ok := rangeTotal(aws.ToString(out.ContentRange)); ok && total != rf.e.Size {
		return fmt.Errorf("the object is %d bytes, the manifest says %d", total, rf.e.Size)
	}
	if got := aws.ToString(out.ETag); got != "" && got != rf.e.ETag {
		return fmt.Errorf("the object's ETag is %s, the manifest says %s (the object was replaced)", termText(got), rf.e.ETag)
	}
	w := io.NewOffsetWriter(rf.f, off)
	got, err := io.Copy(w, &countingReader{r: io.LimitReader(out.Body, n+1), prog: prog})
	if err != nil {
		return fmt.Errorf("reading range %s: %w", *in.Range, err)
	}
	if got != n {
		return fmt.Errorf("range %s returned %d bytes, want %d (the object is not the size the manifest says)", *in.Range, got, n)
	}
	return nil
}

// rangeTotal returns the complete length from a Content-Range header ("bytes 0-9/100").
func rangeTotal(cr string) (int64, bool) {
	_, total, ok := strings.Cut(cr, "/")
	if !ok || total == "*" {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

type countingReader struct {
	r    io.Reader
	prog *progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.prog.bytesDone.Add(int64(n))
	return n, err
}

// finishRestore checks the downloaded file's CRC32C, restores its mode and modification
// time and renames it into place, all within the file's directory handle; on any failure it
// removes the temporary file and the directories created for the file.
func (a *app) finishRestore(root *restoreRoot, rf *restoreFile, sum *summary, prog *progress) {
	err := rf.err
	if err == nil {
		err = rf.finish()
	}
	if cerr := rf.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		// os.Root.Chtimes resolves the name again; the name is fresh and in a directory
		// opened without links, and a race there stays inside that directory.
		err = rf.dir.Chtimes(rf.tmp, time.Unix(0, rf.e.MTimeNs), time.Unix(0, rf.e.MTimeNs))
	}
	if err == nil {
		// Rename replaces a name in the directory; it never writes through a link.
		err = rf.dir.Rename(rf.tmp, rf.name)
	}
	if err != nil {
		_ = rf.dir.Remove(rf.tmp)
	}
	if rf.closeDir {
		rf.dir.Close()
	}
	if err != nil {
		root.removeCreated(rf.rel)
		prog.failed.Add(1)
		msg := cmdkit.Message(err)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Op + ": " + pe.Err.Error()
		}
		sum.fail(rf.rel, rf.key, msg)
		return
	}
	prog.filesDone.Add(1)
	sum.mu.Lock()
	sum.Restored++
	sum.RestoredBytes += rf.e.Size
	sum.Bytes += rf.e.Size
	sum.mu.Unlock()
}

// finish checks the content and sets the mode.
func (rf *restoreFile) finish() error {
	if _, err := rf.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	crc, n, err := fileCRC32C(rf.f)
	if err != nil {
		return err
	}
	if n != rf.e.Size || crc != rf.e.CRC32C {
		return fmt.Errorf("downloaded content has CRC32C %s (%d bytes), the manifest says %s (%d bytes)", crc, n, rf.e.CRC32C, rf.e.Size)
	}
	return rf.f.Chmod(fs.FileMode(rf.e.Mode).Perm())
}
