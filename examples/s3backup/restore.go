package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

type restoreOptions struct {
	dest         destination
	dir          string
	concurrency  int
	partSizeFlag string
	partSize     int64
	include      []string
	exclude      []string
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
the recorded size and modification time is left alone unless --overwrite. Paths in the
manifest that would leave DIR are refused.`,
		Args: exactArgs(2),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			d, err := parseDestination(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			o.dest, o.dir = d, args[1]
			if o.concurrency < 1 {
				return usageErrorf("--concurrency must be at least 1")
			}
			if o.partSize, err = parseBytes(o.partSizeFlag); err != nil || o.partSize < 1<<20 {
				return usageErrorf("--part-size must be a size of at least 1MiB")
			}
			if _, err := newFilter(o.include, o.exclude); err != nil {
				return usageErrorf("%v", err)
			}
			return a.restore(cmd.Context(), o)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "ranged GETs in flight at once, across files")
	f.StringVar(&o.partSizeFlag, "part-size", "16MiB", "size of each ranged GET")
	f.StringArrayVar(&o.include, "include", nil, "restore only files matching this pattern (repeatable)")
	f.StringArrayVar(&o.exclude, "exclude", nil, "do not restore files matching this pattern (repeatable)")
	f.BoolVar(&o.overwrite, "overwrite", false, "download files even when they exist with the recorded size and modification time")
	return cmd
}

func (a *app) restore(ctx context.Context, o *restoreOptions) error {
	start := time.Now()
	sum := &summary{Command: "restore", Source: o.dest.String(), Destination: o.dir}
	err := a.doRestore(ctx, o, sum)
	return a.finishCommand(ctx, sum, time.Since(start), err)
}

// restoreFile is one file being downloaded.
type restoreFile struct {
	rel, key, target string
	e                *manifestEntry
	f                *os.File // the temporary file
	remaining        atomic.Int64
	mu               sync.Mutex
	err              error
}

func (rf *restoreFile) setErr(err error) {
	rf.mu.Lock()
	if rf.err == nil {
		rf.err = err
	}
	rf.mu.Unlock()
}

func (a *app) doRestore(ctx context.Context, o *restoreOptions, sum *summary) error {
	client, err := a.s3Client(ctx)
	if err != nil {
		return err
	}
	m, err := loadRemoteManifest(ctx, client, o.dest)
	if err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("no backup at %s: the manifest %s does not exist", o.dest, o.dest.manifestKey())
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	flt, _ := newFilter(o.include, o.exclude)
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
	// renames it. Per-file failures are recorded and do not stop the others.
	var g errgroup.Group
	g.SetLimit(o.concurrency)
	for _, rel := range rels {
		if ctx.Err() != nil {
			break
		}
		e := m.Files[rel]
		if !safeRel(rel) {
			prog.failed.Add(1)
			sum.fail(rel, "", "refused: the path would leave the restore directory")
			continue
		}
		target := filepath.Join(o.dir, filepath.FromSlash(rel))
		if !o.overwrite {
			if fi, err := os.Lstat(target); err == nil && fi.Mode().IsRegular() && fi.Size() == e.Size && fi.ModTime().UnixNano() == e.MTimeNs {
				sum.Unchanged++
				sum.UnchangedBytes += e.Size
				prog.filesDone.Add(1)
				prog.bytesDone.Add(e.Size)
				continue
			}
		}
		rf := &restoreFile{rel: rel, key: o.dest.key(rel), target: target, e: e}
		if err := rf.create(); err != nil {
			prog.failed.Add(1)
			sum.fail(rel, rf.key, err.Error())
			continue
		}
		ranges := max(1, (e.Size+o.partSize-1)/o.partSize)
		rf.remaining.Store(ranges)
		if e.Size == 0 {
			a.finishRestore(rf, sum, prog)
			continue
		}
		for i := range ranges {
			off := i * o.partSize
			n := min(o.partSize, e.Size-off)
			g.Go(func() error {
				if err := a.getRange(ctx, client, o, rf, off, n, prog); err != nil {
					rf.setErr(err)
				}
				if rf.remaining.Add(-1) == 0 {
					a.finishRestore(rf, sum, prog)
				}
				return nil
			})
		}
	}
	_ = g.Wait() // the goroutines report through the summary and never return an error
	return nil
}

// create makes the target's directory and the temporary file, sized to the object.
func (rf *restoreFile) create() error {
	dir := filepath.Dir(rf.target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %s", dir, pathErrText(err))
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(rf.target)+".s3backup-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file: %s", pathErrText(err))
	}
	if err := f.Truncate(rf.e.Size); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("sizing the temporary file: %s", pathErrText(err))
	}
	rf.f = f
	return nil
}

// getRange downloads bytes [off, off+n) of the object into the temporary file.
func (a *app) getRange(ctx context.Context, client *s3.Client, o *restoreOptions, rf *restoreFile, off, n int64, prog *progress) error {
	in := &s3.GetObjectInput{
		Bucket: aws.String(o.dest.Bucket), Key: aws.String(rf.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
	}
	if v := rf.e.VersionID; v != "" && v != "null" {
		in.VersionId = aws.String(v)
	} else if rf.e.ETag != "" {
		in.IfMatch = aws.String(rf.e.ETag) // the object the manifest describes, not a newer one
	}
	out, err := client.GetObject(ctx, in)
	if err != nil {
		if apiCode(err) == "PreconditionFailed" {
			return errors.New("the object was replaced since the backup (its ETag differs from the manifest's)")
		}
		return fmt.Errorf("GetObject %s: %s", *in.Range, errText(err))
	}
	defer out.Body.Close()
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
// time and renames it into place; on any failure it removes the temporary file.
func (a *app) finishRestore(rf *restoreFile, sum *summary, prog *progress) {
	tmp := rf.f.Name()
	err := rf.err
	if err == nil {
		err = rf.finish()
	}
	if cerr := rf.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, time.Unix(0, rf.e.MTimeNs), time.Unix(0, rf.e.MTimeNs))
	}
	if err == nil {
		err = os.Rename(tmp, rf.target)
	}
	if err != nil {
		os.Remove(tmp)
		prog.failed.Add(1)
		msg := err.Error()
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
	if n != rf.e.Size || (rf.e.CRC32C != "" && crc != rf.e.CRC32C) {
		return fmt.Errorf("downloaded content has CRC32C %s (%d bytes), the manifest says %s (%d bytes)", crc, n, rf.e.CRC32C, rf.e.Size)
	}
	return rf.f.Chmod(fs.FileMode(rf.e.Mode).Perm())
}
