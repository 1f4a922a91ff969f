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
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// Defaults of the run command's options.
const (
	defaultConcurrency     = 16
	defaultPartConcurrency = 4
	defaultPartSize        = 16 << 20
	minPartSize            = 5 << 20
	maxKeyLength           = cmdkit.MaxKeyLength
	localFlushInterval     = time.Second
	remoteFlushEvery       = 10 // local flushes per remote manifest write
)

type runOptions struct {
	dir  string
	dest destination

	delete         bool
	adoptUnsigned  bool
	dryRun         bool
	followSymlinks bool
	filterFlags

	concurrency     int
	partConcurrency int
	partSizeFlag    string
	thresholdFlag   string
	rateFlag        string
	partSize        int64
	threshold       int64
	rate            int64

	sse          string
	kmsKeyID     string
	storageClass string

	preflight preflightOptions
}

func (a *app) runCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run DIR s3://bucket/prefix",
		Short: "Back DIR up to s3://bucket/prefix: upload new and changed files",
		Long: `Back DIR up to s3://bucket/prefix.

Before anything is sent, one preflight checks the permissions every multipart step needs on the
prefix (skip with --preflight off). Multipart uploads of large files that an interrupted run
left are continued from their resume state (in the local cache): parts already stored are not
sent again. Other multipart uploads under the prefix that this tool started and left behind are
aborted, where the owner-or-initiator rules let the caller abort them; the others are reported. Files recorded in the manifest with
the same size and modification time are skipped without being read; new and changed files are
uploaded, concurrently: at most --concurrency requests are in flight across files and parts,
and files are read in place (no part buffers), so memory stays bounded. Files at or above
--multipart-threshold are uploaded as multipart uploads of --part-size parts. The manifest is
written (locally at once, to the bucket every few seconds and at the end) only for completed
files. With --delete, the objects of files that are gone from DIR are removed.

Symbolic links are not followed unless --follow-symlinks; special files (devices, pipes,
sockets) are skipped and listed in the summary.

Patterns (--include, --exclude, repeatable): "*" and "?" never cross "/", "**" matches any
number of directories; a pattern without "/" matches a file or directory name at any depth
("*.tmp", ".git"); one with "/" matches the path from DIR ("logs/**/*.gz"). Excluding a
directory excludes everything below it. With --include, only matching files are backed up.
Excludes win. Files that become excluded keep their objects (--delete removes only files that
are gone).`,
		Args: cmdkit.ExactArgs(2),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			o.dir = args[0]
			d, err := parseDestination(args[1])
			if err != nil {
				return cmdkit.UsageErrorf("%v", err)
			}
			o.dest = d
			if err := o.validate(); err != nil {
				return err
			}
			return a.backup(cmd.Context(), o)
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&o.delete, "delete", false, "remove the objects of files that are gone from DIR")
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "show what would be uploaded, deleted and aborted; change nothing")
	f.BoolVar(&o.adoptUnsigned, "adopt-unsigned", false, "with a manifest key: sign a backup whose manifest has no MAC (one written without a key); without it such a manifest is refused")
	f.BoolVar(&o.followSymlinks, "follow-symlinks", false, "follow symbolic links (to files and directories) instead of skipping them")
	o.filterFlags.register(f, "back up")
	f.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "requests in flight at once, across files and parts")
	f.IntVar(&o.partConcurrency, "part-concurrency", defaultPartConcurrency, "parts of one large file in flight at once (within --concurrency)")
	f.StringVar(&o.partSizeFlag, "part-size", "16MiB", "part size of multipart uploads (5MiB to 5GiB)")
	f.StringVar(&o.thresholdFlag, "multipart-threshold", "", "files of this size or more are uploaded in parts (default: --part-size)")
	f.StringVar(&o.rateFlag, "rate-limit", "", "limit the upload rate across all files, in bytes per second (e.g. 50MiB)")
	f.StringVar(&o.sse, "sse", "", "server-side encryption: AES256 or aws:kms")
	f.StringVar(&o.kmsKeyID, "sse-kms-key-id", "", "KMS key (ID, ARN or alias) for --sse aws:kms (default: the AWS managed key aws/s3)")
	f.StringVar(&o.storageClass, "storage-class", "", "storage class of the objects, e.g. STANDARD_IA, GLACIER_IR (the manifest stays STANDARD)")
	o.preflight.register(f)
	return cmd
}

func (o *runOptions) validate() error {
	fi, err := os.Stat(o.dir)
	if err != nil {
		return cmdkit.UsageErrorf("%v", err)
	}
	if !fi.IsDir() {
		return cmdkit.UsageErrorf("%s is not a directory", o.dir)
	}
	if o.concurrency < 1 || o.concurrency > 1024 {
		return cmdkit.UsageErrorf("--concurrency must be 1 to 1024, got %d", o.concurrency)
	}
	if o.partConcurrency < 1 {
		return cmdkit.UsageErrorf("--part-concurrency must be at least 1, got %d", o.partConcurrency)
	}
	if o.partSize, err = cmdkit.ParseSize(o.partSizeFlag); err != nil {
		return cmdkit.UsageErrorf("--part-size: %v", err)
	}
	if o.partSize < minPartSize || o.partSize > 5<<30 {
		return cmdkit.UsageErrorf("--part-size must be 5MiB to 5GiB, got %s", cmdkit.FormatBytes(o.partSize))
	}
	o.threshold = o.partSize
	if o.thresholdFlag != "" {
		if o.threshold, err = cmdkit.ParseSize(o.thresholdFlag); err != nil {
			return cmdkit.UsageErrorf("--multipart-threshold: %v", err)
		}
		if o.threshold < 1 || o.threshold > 5<<30 {
			return cmdkit.UsageErrorf("--multipart-threshold must be 1 byte to 5GiB (the largest single PutObject)")
		}
	}
	if o.rateFlag != "" {
		if o.rate, err = cmdkit.ParseSize(o.rateFlag); err != nil {
			return cmdkit.UsageErrorf("--rate-limit: %v", err)
		}
		if o.rate < 1024 {
			return cmdkit.UsageErrorf("--rate-limit must be at least 1KiB per second")
		}
	}
	switch o.sse {
	case "", "AES256", "aws:kms":
	default:
		return cmdkit.UsageErrorf("--sse must be AES256 or aws:kms, got %q", o.sse)
	}
	if o.kmsKeyID != "" && o.sse != "aws:kms" {
		return cmdkit.UsageErrorf("--sse-kms-key-id needs --sse aws:kms")
	}
	if err := o.parseFilter(); err != nil {
		return err
	}
	return o.preflight.validate()
}

// uploadJob is one file to send.
type uploadJob struct {
	file localFile
	key  string
}

// backupRun is the state of one run command.
type backupRun struct {
	a      *app
	o      *runOptions
	client *s3.Client
	store  *manifestStore
	jnl    *journal
	states *resumeStates
	sum    *summary
	prog   *progress
	perm   *permissions
	limit  *rateLimiter
	root   *os.Root // DIR, when links are not followed
	runAt  time.Time

	adopt bool                // the bucket's manifest had no MAC and a key is set: sign it at once
	dirs  map[string]dirEntry // the empty directories to record

	flushMu   sync.Mutex
	lastData  []byte
	remoteOld bool // lastData not yet in the bucket
}

func (a *app) backup(ctx context.Context, o *runOptions) error {
	start := time.Now()
	sum := &summary{Command: "run", Source: o.dir, Destination: o.dest.String(), DryRun: o.dryRun}
	b := &backupRun{a: a, o: o, sum: sum, prog: &progress{}, runAt: a.now()}
	err := b.do(ctx)
	sum.finish(time.Since(start))
	if ctx.Err() != nil {
		sum.Interrupted = true
	}
	if err != nil && !errors.Is(err, errDenied) {
		sum.Error = a.ErrorText(err)
	}
	return a.endCommand(ctx, sum, err)
}

// errDenied stops a run that preflight found denied as a whole.
var errDenied = errors.New("denied by preflight")

func (b *backupRun) do(ctx context.Context) error {
	a, o := b.a, b.o
	client, err := a.s3Client(ctx)
	if err != nil {
		return err
	}
	b.client = client
	if !o.followSymlinks {
		if b.root, err = os.OpenRoot(o.dir); err != nil {
			return err
		}
		defer b.root.Close()
	}
	flt := o.filter
	// 1. The directory.
	wr, err := b.scan(ctx, flt)
	if err != nil {
		return err
	}
	// 2. The manifest: the bucket's, or the local cache when it is the newer copy.
	cacheDir, err := a.cacheDir(o.dest.Bucket, o.dest.Prefix)
	if err != nil {
		return err
	}
	remoteMissing, fromLocal, err := b.loadManifest(ctx, cacheDir)
	if err != nil {
		return err
	}
	// 3. The plan: what to upload, what is unchanged, what to delete.
	jobs, deletes, seen := b.plan(wr, flt)
	// 4. One preflight for the whole prefix, before anything is sent.
	if err := b.preflight(ctx); err != nil {
		return err
	}
	if err := b.openState(cacheDir); err != nil {
		return err
	}
	sending := map[string]bool{}
	for _, j := range jobs {
		if j.file.Size >= o.threshold {
			sending[j.file.Rel] = true
		}
	}
	b.discardUnused(ctx, sending, o.dryRun)
	if o.dryRun {
		for _, j := range jobs {
			b.sum.WouldUpload = append(b.sum.WouldUpload, j.file.Rel)
		}
		sort.Strings(b.sum.WouldUpload)
		b.sum.WouldDelete = deletes
		return b.cleanupStale(ctx, seen, true)
	}
	b.store.setDirs(b.dirs)
	// 5. Multipart uploads an earlier run left behind.
	if err := b.cleanupStale(ctx, seen, false); err != nil {
		return err
	}
	if err := b.jnl.rewrite(); err != nil {
		return fmt.Errorf("writing the upload journal: %w", err)
	}
	// The bucket gets a manifest (and so a lineage) before the first upload, so that a local
	// cache can later be matched with it.
	if remoteMissing || fromLocal || b.adopt || b.sum.MetadataOnly > 0 || b.store.isDirty() {
		if err := b.flush(ctx, true, true); err != nil {
			return err
		}
	}
	// 6. Uploads and 7. deletions, with the manifest flushed as files complete.
	return b.send(ctx, jobs, deletes)
}

// scan walks DIR and records what was skipped, excluded or unreadable.
func (b *backupRun) scan(ctx context.Context, flt *filter) (*walkResult, error) {
	return scanDir(ctx, b.o.dir, b.o.followSymlinks, flt, b.sum)
}

// scanDir walks dir as run and verify do and records in sum what was skipped, excluded or
// unreadable.
func scanDir(ctx context.Context, dir string, followSymlinks bool, flt *filter, sum *summary) (*walkResult, error) {
	wr, err := walkTree(ctx, dir, walkOptions{followSymlinks: followSymlinks, filter: flt, reserved: isReserved})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", dir, err)
	}
	sum.Skipped, sum.Excluded, sum.Files = wr.skipped, wr.excluded, len(wr.files)
	for _, e := range wr.errors {
		sum.fail(e.Rel, "", e.Reason)
	}
	return wr, nil
}

// loadManifest reads the bucket's manifest and the local cache and keeps the newer one. It
// reports whether the bucket had none and whether the local copy was chosen.
// Both are validated as they are read (readManifest); a signed manifest needs the key.
func (b *backupRun) loadManifest(ctx context.Context, cacheDir string) (remoteMissing, fromLocal bool, err error) {
	mf := &b.a.mf
	if err := mf.load(); err != nil {
		return false, false, err
	}
	ro := mf.readOptions(b.o.dest)
	ro.allowUnsigned = true // said below
	remote, err := loadRemoteManifest(ctx, b.client, b.o.dest, ro)
	if err != nil {
		return false, false, err
	}
	if remote != nil && remote.MAC != "" && mf.key == nil {
		return false, false, fmt.Errorf("the backup's manifest is signed (it carries a MAC): give its key with --manifest-key or %s; without it this run would drop the signature", manifestKeyEnv)
	}
	b.adopt = remote != nil && remote.MAC == "" && mf.key != nil
	if b.adopt && !b.o.adoptUnsigned {
		// Removing the MACs is how someone who can write the bucket would forge a signed
		// manifest; signing what was found would make the forgery pass verify and restore.
		return false, false, fmt.Errorf("the backup's manifest has no MAC, but a manifest key is set: if this backup was never signed, check it (verify --download) and sign it with --adopt-unsigned; if it was signed before, someone removed its MACs and may have changed it")
	}
	if b.adopt {
		b.sum.warn("the manifest in the bucket had no MAC: this run signs it with the key as it was found; run verify to check its content")
	}
	local, lerr := readLocalManifest(filepath.Join(cacheDir, "manifest.json"), ro)
	if lerr != nil && !errors.Is(lerr, os.ErrNotExist) {
		b.a.info("s3backup: ignoring the local manifest cache: %s", termText(lerr.Error()))
	}
	remoteMissing = remote == nil
	if remote == nil {
		remote = newManifest(b.o.dest.Bucket, b.o.dest.Prefix)
	}
	m, fromLocal := chooseManifest(remote, local)
	b.store = newManifestStore(m, filepath.Join(cacheDir, "manifest.json"), b.a.now)
	b.store.key = mf.key
	return remoteMissing, fromLocal, nil
}

// plan returns the files to upload (largest first), the paths whose objects to delete
// (with --delete), and the set of paths found in DIR.
func (b *backupRun) plan(wr *walkResult, flt *filter) (jobs []uploadJob, deletes []string, seen map[string]bool) {
	o, sum := b.o, b.sum
	seen = make(map[string]bool, len(wr.files))
	for _, f := range wr.files {
		seen[f.Rel] = true
		key := o.dest.key(f.Rel)
		if len(key) > maxKeyLength {
			sum.fail(f.Rel, "", fmt.Sprintf("object key would be %d bytes; S3 allows %d", len(key), maxKeyLength))
			continue
		}
		e := b.store.get(f.Rel)
		if e.unchanged(f) {
			if e.Mode != uint32(f.Mode) && !o.dryRun {
				ne := *e
				ne.Mode = uint32(f.Mode)
				b.store.put(f.Rel, &ne)
				sum.MetadataOnly++
			}
			sum.Unchanged++
			sum.UnchangedBytes += f.Size
			continue
		}
		jobs = append(jobs, uploadJob{file: f, key: key})
	}
	// A recorded path that is now a directory, or below what is now a file, cannot stay in
	// the manifest beside the new one.
	walkedDirs := map[string]bool{}
	for _, f := range wr.files {
		addAncestors(walkedDirs, f.Rel)
	}
	for _, d := range wr.dirs {
		walkedDirs[d.Rel] = true
		addAncestors(walkedDirs, d.Rel)
	}
	for _, rel := range b.store.paths() {
		if !walkedDirs[rel] && !hasAncestorIn(seen, rel) {
			continue
		}
		if o.delete {
			deletes = append(deletes, rel)
		} else {
			sum.warn("%s was a file and its path is now a directory (or below a file): dropped from the manifest, its object is kept (--delete removes it)", termText(rel))
		}
		if !o.dryRun {
			b.store.remove(rel)
		}
	}
	if o.delete {
		for _, rel := range b.store.paths() {
			if seen[rel] || !flt.accepts(rel) {
				continue
			}
			if _, err := os.Lstat(filepath.Join(o.dir, filepath.FromSlash(rel))); errors.Is(err, os.ErrNotExist) {
				deletes = append(deletes, rel)
			}
		}
		sort.Strings(deletes)
	}
	b.dirs = b.planDirs(wr.dirs, flt, seen)
	sum.EmptyDirs = len(b.dirs)
	// Large files first: the longest transfers start early and the pool stays busy.
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].file.Size > jobs[j].file.Size })
	return jobs, deletes, seen
}

// preflight runs the one preflight of the run; errDenied (or the evaluation error) stops it.
func (b *backupRun) preflight(ctx context.Context) error {
	var err error
	b.perm, err = newPermissions(ctx, b.a, b.o, b.client)
	if err != nil {
		return err
	}
	ps, blocked, reportText := b.perm.checkPrefix(ctx, b.o.dest.manifestKey(), b.o.threshold)
	b.sum.Preflight = ps
	if b.perm.evalErr != nil {
		return b.perm.evalErr
	}
	if blocked {
		if reportText != "" && !b.a.g.json {
			fmt.Fprint(b.a.stderr, reportText)
			fmt.Fprintln(b.a.stderr)
		}
		return errDenied
	}
	return nil
}

// openState reads the upload journal and the resume state files of the cache.
func (b *backupRun) openState(cacheDir string) error {
	jnl, err := openJournal(filepath.Join(cacheDir, "uploads.journal"))
	if err != nil {
		return fmt.Errorf("reading the upload journal: %w", err)
	}
	b.jnl = jnl
	if b.states, err = loadResumeStates(filepath.Join(cacheDir, "resume"), b.o.dest); err != nil {
		return fmt.Errorf("reading the resume state files: %w", err)
	}
	return nil
}

// send uploads the jobs and deletes the gone files' objects, flushing the manifest as files
// complete and once more at the end.
func (b *backupRun) send(ctx context.Context, jobs []uploadJob, deletes []string) error {
	if b.o.rate > 0 {
		b.limit = newRateLimiter(b.o.rate)
	}
	for _, j := range jobs {
		b.prog.bytesTotal.Add(j.file.Size)
	}
	b.prog.filesTotal.Store(int64(len(jobs)))
	disp := startDisplay(b.a.stderr, b.a.stderrIsTTY && !b.a.g.quiet, b.prog, "uploaded", 200*time.Millisecond)
	flushDone := make(chan struct{})
	flushErr := make(chan error, 1)
	go func() { flushErr <- b.flushLoop(ctx, flushDone) }()
	b.uploadAll(ctx, jobs)
	if len(deletes) > 0 && ctx.Err() == nil {
		b.deleteAll(ctx, deletes)
	}
	close(flushDone)
	disp.stop()
	ferr := <-flushErr
	// The final flush runs even after an interrupt: completed files must be recorded. A run
	// that changed nothing writes nothing.
	if err := b.flush(context.WithoutCancel(ctx), false, true); err != nil {
		return errors.Join(ferr, err)
	}
	if err := b.jnl.rewrite(); err != nil {
		return fmt.Errorf("writing the upload journal: %w", err)
	}
	return ferr
}

// planDirs returns the empty directories to record: those of this walk, and recorded ones
// the walk could not see (excluded now, or gone from DIR without --delete). A recorded
// directory that now holds files is dropped: its files recreate it.
func (b *backupRun) planDirs(walked []localDir, flt *filter, seen map[string]bool) map[string]dirEntry {
	out := make(map[string]dirEntry, len(walked))
	for _, d := range walked {
		out[d.Rel] = dirEntry{MTimeNs: d.ModTime.UnixNano(), Mode: uint32(d.Mode)}
	}
	for rel, d := range b.store.dirs() {
		if _, ok := out[rel]; ok {
			continue
		}
		if !flt.accepts(rel) {
			out[rel] = d
			continue
		}
		if _, err := os.Lstat(filepath.Join(b.o.dir, filepath.FromSlash(rel))); errors.Is(err, os.ErrNotExist) && !b.o.delete {
			out[rel] = d
		}
	}
	// A kept directory below what is now a file is gone; one with recorded files below it is
	// not empty.
	holding := map[string]bool{}
	for _, rel := range b.store.paths() {
		addAncestors(holding, rel)
	}
	for rel := range out {
		if b.store.get(rel) != nil || holding[rel] || hasAncestorIn(seen, rel) || hasAncestorFile(b.store, rel) {
			delete(out, rel)
		}
	}
	return out
}

// addAncestors adds the parent directories of rel to set.
func addAncestors(set map[string]bool, rel string) {
	for i := strings.IndexByte(rel, '/'); i >= 0; i = next(rel, i) {
		set[rel[:i]] = true
	}
}

// hasAncestorIn reports whether a parent directory of rel is in set.
func hasAncestorIn(set map[string]bool, rel string) bool {
	for i := strings.IndexByte(rel, '/'); i >= 0; i = next(rel, i) {
		if set[rel[:i]] {
			return true
		}
	}
	return false
}

// hasAncestorFile reports whether a parent directory of rel is recorded as a file.
func hasAncestorFile(s *manifestStore, rel string) bool {
	for i := strings.IndexByte(rel, '/'); i >= 0; i = next(rel, i) {
		if s.get(rel[:i]) != nil {
			return true
		}
	}
	return false
}

// isReserved reports the paths under DIR that would collide with the manifest.
func isReserved(rel string) bool { return rel == manifestDir }

// uploadAll sends the jobs. A weighted semaphore bounds the requests in flight: a small
// file takes one slot, a large file as many as it uploads parts at once. Per-file failures
// are recorded in the summary and do not stop the others; cancellation stops handing out
// new files.
func (b *backupRun) uploadAll(ctx context.Context, jobs []uploadJob) {
	sem := semaphore.NewWeighted(int64(b.o.concurrency))
	var g errgroup.Group
	for _, j := range jobs {
		w := b.weight(j.file.Size)
		if err := sem.Acquire(ctx, w); err != nil {
			break
		}
		g.Go(func() error {
			defer sem.Release(w)
			b.uploadOne(ctx, j, int(w))
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through the summary and never return an error
}

// weight returns the slots a file of size bytes takes.
func (b *backupRun) weight(size int64) int64 {
	if size < b.o.threshold {
		return 1
	}
	parts := (size + b.o.partSize - 1) / b.o.partSize
	return max(1, min(int64(b.o.partConcurrency), parts, int64(b.o.concurrency)))
}

func (b *backupRun) uploadOne(ctx context.Context, j uploadJob, slots int) {
	var (
		e   *manifestEntry
		err error
	)
	if j.file.Size < b.o.threshold {
		e, err = b.putSmall(ctx, j)
	} else {
		e, err = b.putLarge(ctx, j, slots)
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // interrupted: not a failure of the file, the next run sends it
		}
		if errors.Is(err, fs.ErrNotExist) {
			// Removed since the walk: there is nothing to back up (--delete removes its object
			// on the next run).
			b.prog.filesDone.Add(1)
			b.sum.skip(j.file.Rel, "vanished during the run")
			return
		}
		b.prog.failed.Add(1)
		b.sum.fail(j.file.Rel, j.key, b.perm.explainFailure(ctx, j.key, j.file.Size >= b.o.threshold, err))
		return
	}
	b.store.put(j.file.Rel, e)
	b.sum.uploaded(e.Size)
	b.prog.filesDone.Add(1)
}

// errChanged reports a file that changed while it was being read.
var errChanged = errors.New("file changed while it was being backed up; it will be sent again by the next run")

// errReplaced reports a file that is no longer the one the walk found.
var errReplaced = errors.New("the path now names another file than when the directory was read (replaced, or a link swapped in); not backed up")

// openLocal opens a file found by the walk. Without --follow-symlinks it is opened through
// the handle on DIR (b.root), so that a link swapped into its path cannot lead outside DIR,
// and it must be the very file the walk found, so that one cannot lead elsewhere inside
// either.
func (b *backupRun) openLocal(lf localFile) (*os.File, os.FileInfo, error) {
	if b.root == nil {
		return openStable(lf.Path)
	}
	f, err := b.root.Open(filepath.FromSlash(lf.Rel))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w (%s)", errReplaced, pathErrText(err))
	}
	return statStable(f, lf)
}

// openStable opens the file and returns it with its current size and modification time.
func openStable(path string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return statStable(f, localFile{})
}

// statStable returns the open file's state; it must be a regular file and, when lf.info is
// set, the same file.
func statStable(f *os.File, lf localFile) (*os.File, os.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("no longer a regular file")
	}
	if lf.info != nil && !os.SameFile(fi, lf.info) {
		f.Close()
		return nil, nil, errReplaced
	}
	return f, fi, nil
}

func sameState(a, b os.FileInfo) bool {
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// putSmall sends a file below the multipart threshold with one PutObject. The file's CRC32C
// is computed first and sent with the request, so S3 rejects the object if the bytes it
// receives differ (the file changed between the two reads).
func (b *backupRun) putSmall(ctx context.Context, j uploadJob) (*manifestEntry, error) {
	f, fi, err := b.openLocal(j.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum, n, err := fileCRC32C(f)
	if err != nil {
		return nil, err
	}
	if n != fi.Size() {
		return nil, errChanged
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var body io.ReadSeeker = f
	if b.limit != nil {
		body = b.limit.readSeeker(ctx, f)
	}
	counted := &countingReadSeeker{r: body, prog: b.prog}
	in := &s3.PutObjectInput{
		Bucket:         aws.String(b.o.dest.Bucket),
		Key:            aws.String(j.key),
		Body:           counted,
		ContentLength:  aws.Int64(n),
		ChecksumCRC32C: aws.String(sum),
	}
	b.applyObjectSettings(&in.ServerSideEncryption, &in.SSEKMSKeyId, &in.StorageClass)
	out, err := b.client.PutObject(ctx, in)
	if err != nil {
		counted.settle(0)
		return nil, err
	}
	counted.settle(n)
	b.sum.addBytes(n)
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !sameState(fi, after) {
		return nil, errChanged
	}
	// The server checked the CRC32C sent with the object: it is the object's checksum even
	// when the response does not repeat it.
	objSum := "CRC32C:" + sum
	if c := aws.ToString(out.ChecksumCRC32C); c != "" {
		objSum = "CRC32C:" + c
	}
	return &manifestEntry{
		Size: n, MTimeNs: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode().Perm()), CRC32C: sum,
		ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId), ObjectChecksum: objSum,
		Uploaded: b.a.now().UTC(),
	}, nil
}

// applyObjectSettings sets the encryption and storage class fields of a request.
func (b *backupRun) applyObjectSettings(sse *types.ServerSideEncryption, kmsKey **string, class *types.StorageClass) {
	if b.o.sse != "" {
		*sse = types.ServerSideEncryption(b.o.sse)
	}
	if b.o.kmsKeyID != "" {
		*kmsKey = aws.String(b.o.kmsKeyID)
	}
	if b.o.storageClass != "" {
		*class = types.StorageClass(b.o.storageClass)
	}
}

// countingReadSeeker adds the bytes read to the progress counter. A rewind (the SDK reads a
// body twice to sign it over plain HTTP, and again on a retry) takes the count back, so the
// display shows each byte once.
type countingReadSeeker struct {
	r    io.ReadSeeker
	prog *progress
	pos  int64
}

func (c *countingReadSeeker) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pos += int64(n)
	c.prog.bytesDone.Add(int64(n))
	return n, err
}

func (c *countingReadSeeker) Seek(off int64, whence int) (int64, error) {
	np, err := c.r.Seek(off, whence)
	if err == nil {
		c.prog.bytesDone.Add(np - c.pos)
		c.pos = np
	}
	return np, err
}

// settle leaves exactly n bytes counted for a finished request (0 when it failed).
func (c *countingReadSeeker) settle(n int64) {
	c.prog.bytesDone.Add(n - c.pos)
	c.pos = n
}

// deleteAll removes the objects of files that are gone, then their manifest entries.
func (b *backupRun) deleteAll(ctx context.Context, rels []string) {
	var g errgroup.Group
	g.SetLimit(b.o.concurrency)
	for _, rel := range rels {
		g.Go(func() error {
			key := b.o.dest.key(rel)
			_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.o.dest.Bucket), Key: aws.String(key)})
			if err != nil {
				if ctx.Err() == nil {
					b.sum.fail(rel, key, "delete: "+cmdkit.ErrText(err))
				}
				return nil
			}
			b.store.remove(rel)
			b.sum.mu.Lock()
			b.sum.Deleted = append(b.sum.Deleted, rel)
			b.sum.mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
}

// flushLoop writes the manifest to the local cache every second while files complete, and
// to the bucket every few seconds, until done is closed.
func (b *backupRun) flushLoop(ctx context.Context, done <-chan struct{}) error {
	t := time.NewTicker(localFlushInterval)
	defer t.Stop()
	var errs []error
	for n := 1; ; n++ {
		select {
		case <-done:
			return errors.Join(errs...)
		case <-ctx.Done():
			return errors.Join(errs...)
		case <-t.C:
			if err := b.flush(ctx, false, n%remoteFlushEvery == 0); err != nil && ctx.Err() == nil {
				errs = append(errs, err)
				if len(errs) > 3 {
					return errors.Join(errs...)
				}
			}
		}
	}
}

// flush writes a new snapshot of the manifest locally when it changed (or when force), and
// to the bucket when remote is set (or when force) and the bucket's copy is older than the
// local one.
func (b *backupRun) flush(ctx context.Context, force, remote bool) error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	data, err := b.store.snapshot(force)
	if err != nil {
		return err
	}
	if data != nil {
		if err := b.store.writeLocal(data); err != nil {
			b.store.markDirty()
			return fmt.Errorf("writing the local manifest cache: %w", err)
		}
		b.lastData, b.remoteOld = data, true
	}
	if (remote || force) && b.remoteOld && b.lastData != nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := putManifest(ctx, b.client, b.o.dest, b.lastData, b.o); err != nil {
			return fmt.Errorf("writing the manifest to %s: %w", b.o.dest, err)
		}
		b.remoteOld = false
	}
	return nil
}

// loadRemoteManifest returns the bucket's manifest, read as a stream and validated (see
// readManifest), or nil when there is none.
func loadRemoteManifest(ctx context.Context, client *s3.Client, d destination, ro readOptions) (*manifest, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String(d.manifestKey())})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) || cmdkit.APICode(err) == "NoSuchKey" || cmdkit.APICode(err) == "NotFound" {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the manifest s3://%s/%s: %w", d.Bucket, d.manifestKey(), err)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); ro.maxSize > 0 && n > ro.maxSize {
		return nil, fmt.Errorf("s3://%s/%s: %w (%s > %s; raise it with --max-manifest-size)", d.Bucket, d.manifestKey(),
			errManifestTooLarge, cmdkit.FormatBytes(n), cmdkit.FormatBytes(ro.maxSize))
	}
	m, err := readManifest(out.Body, ro)
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", d.Bucket, d.manifestKey(), err)
	}
	if m.Bucket != d.Bucket || m.Prefix != d.Prefix {
		// A copied backup: keep the records, they describe the same objects relative to the prefix.
		m.Bucket, m.Prefix = d.Bucket, d.Prefix
	}
	return m, nil
}

// putManifest writes the manifest object, with the run's encryption settings (never its
// storage class: the manifest is small and rewritten often).
func putManifest(ctx context.Context, client *s3.Client, d destination, data []byte, o *runOptions) error {
	in := &s3.PutObjectInput{
		Bucket:         aws.String(d.Bucket),
		Key:            aws.String(d.manifestKey()),
		Body:           strings.NewReader(string(data)),
		ContentLength:  aws.Int64(int64(len(data))),
		ContentType:    aws.String("application/json"),
		ChecksumCRC32C: aws.String(crc32cBase64(crc32cOf(data))),
	}
	if o != nil && o.sse != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(o.sse)
		if o.kmsKeyID != "" {
			in.SSEKMSKeyId = aws.String(o.kmsKeyID)
		}
	}
	_, err := client.PutObject(ctx, in)
	return err
}
