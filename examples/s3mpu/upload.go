package main

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
	"github.com/spf13/cobra"
)

// uploadFlags are the flags of `s3mpu upload` besides the object and check flags.
type uploadFlags struct {
	partSize          string
	concurrency       int
	concurrencySet    bool // --concurrency given; absent, the uploader adapts it
	rateLimit         string
	preflightMode     string
	leavePartsOnError bool
	progress          string
	state             string
	startOver         bool
	noHedge           bool
}

const uploadLong = `Upload a file (or stdin, given as -) to S3 as a multipart upload: parts in parallel,
each retried on throttling and transient errors, each checksummed, and the object's checksum
checked after Complete. Files below the part size go in a single PutObject.

Before the first request the upload is preflighted (--preflight): every multipart step's
permissions are checked as by 's3mpu preflight', with the same flags. enforce refuses to start
when a step the upload needs is denied (exit 3), including Abort: an upload that could not be
cleaned up must not start. warn prints the denials and uploads anyway.

When the upload fails or is interrupted (Ctrl-C, exit 130) it is aborted, so no parts are
left behind, unless --leave-parts-on-error or --state. With --state FILE the upload and the
state file are kept instead, and running the same command again resumes it: the parts already
on the server are checked (size and checksum) and only the missing ones are sent; a changed
file is refused unless --start-over. 's3mpu uploads abort --state FILE' discards it. A second
Ctrl-C exits at once.`

// defaultParts is the uploader's number of parts in flight when
// Options.Concurrency is 0 and it does not adapt (a copy, a shard), and
// the level the adaptive concurrency of a file or a stream starts from.
const defaultParts = 4

func (a *app) uploadCmd() *cobra.Command {
	var uf uploadFlags
	var of objectFlags
	var cf checkFlags
	cmd := &cobra.Command{
		Use:   "upload FILE|- s3://bucket/key",
		Short: "Upload a file or stdin as a multipart upload",
		Long:  uploadLong,
		Example: `  s3mpu upload backup.tar s3://backups/2026/backup.tar --part-size 64MiB --concurrency 8
  pg_dump db | s3mpu upload - s3://backups/db.sql --sse aws:kms --sse-kms-key-id alias/backups
  s3mpu upload big.iso s3://isos/big.iso --preflight enforce --rate-limit 50MiB/s`,
		Args: cmdkit.ExactArgs(2),
	}
	fs := cmd.Flags()
	fs.StringVar(&uf.partSize, "part-size", "", "part size, 5MiB to 5GiB (default 16MiB, grown to fit 10,000 parts)")
	fs.IntVar(&uf.concurrency, "concurrency", 0, fmt.Sprintf("parts uploaded at once, at least 1 (default: adapted to the throughput, from %d, doubled while the throughput rises, up to %d; for stdin as far as the part buffers fit in 512MiB)", defaultParts, uploader.DefaultOptions().MaxConcurrency))
	fs.BoolVar(&uf.noHedge, "no-hedge", false, "do not send a part again when it falls far behind the others (hedging is on by default, bounded to 10% of the object)")
	fs.StringVar(&uf.rateLimit, "rate-limit", "", "bandwidth limit across all parts, e.g. 50MiB/s; 0 means unlimited (default unlimited)")
	cmdkit.RegisterGate(fs, &uf.preflightMode)
	fs.BoolVar(&uf.leavePartsOnError, "leave-parts-on-error", false, "on failure keep the upload and its parts instead of aborting it")
	fs.StringVar(&uf.state, "state", "", "keep the upload's progress in FILE: after a failure, Ctrl-C or a crash the same command resumes it, sending only the missing parts")
	fs.BoolVar(&uf.startOver, "start-over", false, "with --state: when the file changed since the state was written, abort the old upload and start again")
	fs.StringVar(&uf.progress, "progress", "auto", "progress display on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or none")
	of.register(fs, true)
	cf.register(fs)
	cmd.RunE = a.RunE(func(cmd *cobra.Command, args []string) error {
		uf.concurrencySet = cmd.Flags().Changed("concurrency")
		return a.runUpload(cmd.Context(), args[0], args[1], &uf, &of, &cf)
	})
	return cmd
}

// uploadResult is the --json output of `s3mpu upload`.
type uploadResult struct {
	Bucket            string  `json:"bucket"`
	Key               string  `json:"key"`
	Source            string  `json:"source"`
	Size              int64   `json:"size"`
	Parts             int     `json:"parts"`
	PartSize          int64   `json:"part_size"`
	UploadID          string  `json:"upload_id,omitempty"`
	ETag              string  `json:"etag"`
	VersionID         string  `json:"version_id,omitempty"`
	ChecksumAlgorithm string  `json:"checksum_algorithm"`
	ChecksumType      string  `json:"checksum_type,omitempty"`
	Checksum          string  `json:"checksum"`
	Seconds           float64 `json:"seconds"`
	BytesPerSecond    float64 `json:"bytes_per_second"`
	Retries           int64   `json:"retries"`
	// Hedges is the number of parts sent again because they fell behind; HedgesWon how
	// many of those the hedge stored first; HedgedBytes their bytes.
	Hedges      int   `json:"hedges"`
	HedgesWon   int   `json:"hedges_won"`
	HedgedBytes int64 `json:"hedged_bytes"`
	// Concurrency is the parts in flight the adaptive concurrency settled on (or reached);
	// 0 when it did not change (or --concurrency was given).
	Concurrency int `json:"concurrency_reached,omitempty"`
}

func (a *app) runUpload(ctx context.Context, src, dst string, uf *uploadFlags, of *objectFlags, cf *checkFlags) error {
	u, err := cmdkit.ParseObjectURL(dst)
	if err != nil {
		return cmdkit.UsageErr(err)
	}
	prof, err := validateFlags(of, cf, false)
	if err != nil {
		return err
	}
	partSize, rate, err := uf.validate(src)
	if err != nil {
		return err
	}
	pmode, err := a.progressMode(uf.progress)
	if err != nil {
		return err
	}
	in, err := of.uploadInput(u)
	if err != nil {
		return err
	}

	// The body: a regular file is read in place; stdin is streamed.
	label, closeBody, err := a.uploadBody(src, of.size, in)
	if err != nil {
		return err
	}
	defer closeBody()
	size := in.Size

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cli, gate, err := a.connect(ctx, cf, prof, uf.preflightMode, "upload", "uploading", func() (*preflight.Plan, error) {
		return of.plan(u, size, cf)
	}) // nil with --preflight off
	if err != nil {
		return err
	}

	lis := a.transferListener(pmode, "upload "+u.String(), gate, false)
	up := uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = partSize
		o.Concurrency = uf.concurrency
		o.RateLimit = rate
		o.LeavePartsOnError = uf.leavePartsOnError
		o.CallerID = cf.caller // the initiator to look for after an interrupted CreateMultipartUpload
		o.Listener = lis
		gate.options(o)
		o.Hedge.Off = uf.noHedge
	})
	start := a.now()
	var out *uploader.UploadOutput
	if uf.state != "" {
		out, err = up.Resume(ctx, &uploader.ResumeInput{UploadInput: *in, StateFile: uf.state, StartOver: uf.startOver})
	} else {
		out, err = up.Upload(ctx, in)
	}
	lis.p.finish(err == nil)
	if err != nil {
		return a.uploadError(ctx, err, u, uf.state, gate)
	}
	return a.printUploadResult(out, label, u, a.now().Sub(start), lis)
}

// printUploadResult prints the result of an upload: two lines, or with --json the
// documented object.
func (a *app) printUploadResult(out *uploader.UploadOutput, label string, u cmdkit.URL, elapsed time.Duration, lis *progressListener) error {
	res := uploadResult{
		Bucket: out.Bucket, Key: out.Key, Source: label, Size: out.Size, Parts: len(out.Parts), PartSize: out.PartSize,
		UploadID: out.UploadID, ETag: out.ETag, VersionID: out.VersionID,
		ChecksumAlgorithm: string(out.ChecksumAlgorithm), ChecksumType: string(out.ChecksumType), Checksum: out.Checksum,
		Seconds: elapsed.Seconds(), Retries: lis.retries,
		Hedges: lis.done.Hedges, HedgesWon: lis.done.HedgesWon, HedgedBytes: lis.done.HedgedBytes, Concurrency: lis.done.AdaptiveLevel,
	}
	if elapsed > 0 {
		res.BytesPerSecond = float64(out.Size) / elapsed.Seconds()
	}
	if a.g.json {
		return a.PrintJSON(res)
	}
	if !a.g.quiet {
		parts := fmt.Sprintf("%d parts of %s", res.Parts, cmdkit.FormatBytes(res.PartSize))
		if res.Parts == 0 {
			parts = "a single PutObject"
		}
		fmt.Fprintf(a.stdout, "uploaded %s to %s: %s as %s in %s (%s/s)\n", label, u, cmdkit.FormatBytes(res.Size), parts,
			elapsed.Round(time.Millisecond), cmdkit.FormatBytes(int64(res.BytesPerSecond)))
		when := " after Complete"
		if res.Parts == 0 {
			when = ""
		}
		fmt.Fprintf(a.stdout, "checksum %s %s %s verified%s; ETag %s\n",
			res.ChecksumAlgorithm, checksumTypeText(res.ChecksumType), res.Checksum, when, res.ETag)
		if res.Concurrency > 0 {
			fmt.Fprintf(a.stdout, "parts in flight adapted to the throughput: %d\n", res.Concurrency)
		}
		if res.Hedges > 0 {
			fmt.Fprintf(a.stdout, "hedged %d slow part(s) (%s sent again, %.1f%% of the object); the hedge finished first %d time(s)\n",
				res.Hedges, cmdkit.FormatBytes(res.HedgedBytes), 100*float64(res.HedgedBytes)/float64(max(res.Size, 1)), res.HedgesWon)
		}
	}
	return nil
}

// uploadBody sets in.Body and in.Size for src: a regular file is read in place, stdin ("-"),
// a device or a FIFO is streamed (sizeFlag, --size, gives stdin's size when known). It returns
// the source's label for messages and a function that closes the file.
func (a *app) uploadBody(src, sizeFlag string, in *uploader.UploadInput) (label string, closeBody func(), err error) {
	in.Size = uploader.SizeUnknown
	if src == "-" {
		in.Body = struct{ io.Reader }{a.stdin} // hide any ReadAt: a pipe cannot seek
		if sizeFlag != "" {
			if in.Size, err = cmdkit.ParseSize(sizeFlag); err != nil {
				return "", nil, cmdkit.UsageErrorf("--size: %v", err)
			}
		}
		return "stdin", func() {}, nil
	}
	if sizeFlag != "" {
		return "", nil, cmdkit.UsageErrorf("--size is only for stdin (-); a file's size is known")
	}
	f, fi, err := openInput(src)
	if err != nil {
		return "", nil, err
	}
	if !fi.Mode().IsRegular() {
		if fi.IsDir() {
			f.Close()
			return "", nil, cmdkit.UsageErrorf("%s is a directory", src)
		}
		in.Body = struct{ io.Reader }{f} // a device or a FIFO: stream it
	} else {
		in.Body = f
		in.Size = fi.Size()
	}
	if in.ContentType == "" {
		in.ContentType = mime.TypeByExtension(filepath.Ext(src))
	}
	return src, func() { f.Close() }, nil
}

// validate checks the upload's own flags and returns the part size (0: the default) and the
// rate limit (0: none).
func (uf *uploadFlags) validate(src string) (partSize, rate int64, err error) {
	if partSize, err = parsePartSize(uf.partSize); err != nil {
		return 0, 0, err
	}
	if err := checkConcurrency(uf.concurrency); uf.concurrencySet && err != nil {
		return 0, 0, err
	}
	if rate, err = parseRateLimit(uf.rateLimit); err != nil {
		return 0, 0, err
	}
	if uf.startOver && uf.state == "" {
		return 0, 0, cmdkit.UsageErrorf("--start-over needs --state")
	}
	if uf.state != "" && src == "-" {
		return 0, 0, cmdkit.UsageErrorf("--state cannot resume stdin: only a file can be read again")
	}
	if err := cmdkit.ValidateGate(uf.preflightMode); err != nil {
		return 0, 0, err
	}
	return partSize, rate, nil
}

// uploadInput returns the upload of u as the object flags describe it (without a body).
func (of *objectFlags) uploadInput(u cmdkit.URL) (*uploader.UploadInput, error) {
	in := &uploader.UploadInput{
		Bucket: u.Bucket, Key: u.Key,
		ContentType: of.contentType, Tagging: of.tagging,
		ACL: types.ObjectCannedACL(of.acl), StorageClass: types.StorageClass(of.storageClass),
		ServerSideEncryption: types.ServerSideEncryption(of.sseAlgorithm()), SSEKMSKeyID: of.kmsKeyID,
		SSEKMSEncryptionContext: of.kmsContextHeader(),
		ChecksumAlgorithm:       types.ChecksumAlgorithm(strings.ToUpper(of.checksumAlgo)),
	}
	if of.bucketKey {
		in.BucketKeyEnabled = aws.Bool(true)
	}
	var err error
	if in.Metadata, err = cmdkit.ParseKeyValues("metadata", of.metadata); err != nil {
		return nil, cmdkit.UsageErr(err)
	}
	if of.sseC != "" || of.sseCKeyFile != "" {
		if of.sseC == "" || of.sseCKeyFile == "" {
			return nil, cmdkit.UsageErrorf("SSE-C needs both --sse-c AES256 and --sse-c-key-file")
		}
		if in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5, err = sseCFields(of.sseCKeyFile); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// uploadError maps an upload failure to its exit status and message. state is the --state
// file, "" without one; gate is the preflight gate, nil with --preflight off.
func (a *app) uploadError(ctx context.Context, err error, u cmdkit.URL, state string, gate *preflightGate) error {
	var ue *uploader.UploadError
	errors.As(err, &ue)
	kept := func(id string) string {
		if state != "" {
			return fmt.Sprintf("upload %s kept with its parts and the state file %s: run the same command again to resume it, or `s3mpu uploads abort --state %s` to discard it", id, state, state)
		}
		return fmt.Sprintf("upload %s kept with its parts (--leave-parts-on-error): `s3mpu uploads abort %s --upload-id %s` removes it", id, u, id)
	}
	switch {
	case a.interrupted() || errors.Is(err, context.Canceled):
		msg := "interrupted"
		if ue != nil && ue.UploadID != "" {
			switch {
			case ue.Aborted:
				msg += fmt.Sprintf("; upload %s aborted, no parts left behind", ue.UploadID)
			case ue.AbortErr != nil:
				msg += fmt.Sprintf("; aborting upload %s failed: %v", ue.UploadID, ue.AbortErr)
			default:
				msg += "; " + kept(ue.UploadID)
			}
		}
		return &cmdkit.ExitError{Code: cmdkit.ExitInterrupted, Err: errors.New(msg)}
	case errors.Is(err, mpu.ErrSourceChanged) && state != "":
		return fmt.Errorf("%w\n(--start-over aborts the old upload and sends the file as it is now)", err)
	case ue != nil && ue.Op == mpu.OpPreflight && gate != nil:
		return gate.refused(ctx, err)
	case errors.Is(err, mpu.ErrInvalidInput):
		return cmdkit.UsageErr(err)
	case state != "" && ue != nil && ue.UploadID != "" && !ue.Aborted && ue.AbortErr == nil:
		return fmt.Errorf("%w\n%s", err, kept(ue.UploadID))
	}
	return err
}

// sseCFields returns the SSE-C algorithm, key and key MD5 of the key in the file at path.
func sseCFields(path string) (alg, key, md5sum string, err error) {
	k, err := readSSECKey(path)
	if err != nil {
		return "", "", "", err
	}
	sum := md5.Sum(k)
	return "AES256", base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:]), nil
}

// readSSECKey reads a 256-bit SSE-C key: 32 raw bytes, or their base64. The key's bytes are
// never put in an error.
func readSSECKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cmdkit.UsageErrorf("--sse-c-key-file: cannot read %s", path)
	}
	if len(b) == 32 {
		return b, nil
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, cmdkit.UsageErrorf("--sse-c-key-file %s: want 32 raw bytes or their base64 (the file holds %d bytes)", path, len(b))
}

// progressListener turns the uploader's events into progress updates. The uploader
// serializes events, so the counters need no locking beyond what the display does.
type progressListener struct {
	p       progress
	note    func(string) // prints a status line (resume notices); may be nil
	retries int64        // counted here: a shard's upload ends with no Completed event
	// done is the Completed event, with the upload's tally of hedges and the adaptive level.
	done   event.Completed
	stored int  // parts found already stored by a resumed upload
	copy   bool // a server-side copy: no BytesSent events, a part's size counts when it is done
	// preflight prints the problem a Preflight event reports (--preflight warn); may be nil.
	preflight func(error)
}

// OnEvent implements event.Listener.
func (l *progressListener) OnEvent(e event.Event) {
	switch ev := e.(type) {
	case event.Resumed:
		l.stored = ev.PartsStored
		l.say(fmt.Sprintf("resuming upload %s: %d part(s) already stored, %d to send", ev.UploadID, ev.PartsStored, ev.PartsToSend))
	case event.Restarted:
		switch {
		case ev.OldUploadID == "":
			l.say("starting over: " + ev.Reason)
		case ev.Aborted:
			l.say(fmt.Sprintf("starting over: %s (upload %s aborted)", ev.Reason, ev.OldUploadID))
		default:
			l.say(fmt.Sprintf("starting over: %s (upload %s)", ev.Reason, ev.OldUploadID))
		}
	case event.OrphanCheck:
		l.say(orphanNote(ev))
	case event.Started:
		if ev.ConcurrencyClamped {
			l.say(fmt.Sprintf("sending %d part(s) at once: %d part buffers of %s fit in the %s buffer memory ceiling",
				ev.Concurrency, ev.Concurrency+1, cmdkit.FormatBytes(ev.PartSize), cmdkit.FormatBytes(ev.BufferMemory)))
		}
		parts := ev.Parts
		if parts < 0 {
			parts = 0
		}
		l.p.start(ev.Size, parts)
		if l.stored > 0 {
			done := min(int64(l.stored)*ev.PartSize, ev.Size)
			l.p.skip(done, l.stored)
		}
	case event.BytesSent:
		l.p.sent(ev.Bytes)
	case event.PartDone:
		if l.copy {
			l.p.sent(ev.Size)
		}
		l.p.partDone()
	case event.Retry:
		l.retries++
		l.p.retry()
	case event.Preflight:
		if l.preflight != nil {
			l.preflight(ev.Err)
		}
	case event.Completed:
		l.done = ev
	}
}

func (l *progressListener) say(msg string) {
	if l.note != nil {
		l.note(msg)
	}
}

// orphanNote tells what the look for uploads left by a CreateMultipartUpload whose answer was
// lost found, naming every upload it aborted and every one it left.
func orphanNote(ev event.OrphanCheck) string {
	var b strings.Builder
	if ev.UploadID != "" {
		fmt.Fprintf(&b, "CreateMultipartUpload took %d attempts; looked for uploads of s3://%s/%s the failed ones may have made", ev.Attempts, ev.Bucket, ev.Key)
	} else {
		fmt.Fprintf(&b, "an earlier run was interrupted before CreateMultipartUpload answered; looked for the upload of s3://%s/%s it may have made", ev.Bucket, ev.Key)
	}
	fmt.Fprintf(&b, ", initiated from %s to %s", ev.Since.UTC().Format(time.RFC3339), ev.Until.UTC().Format(time.RFC3339))
	switch {
	case ev.NoInitiators:
		b.WriteString(" (the server reports no initiators: by time alone)")
	case ev.Initiator != "":
		fmt.Fprintf(&b, " by %s", ev.Initiator)
	}
	switch {
	case len(ev.Aborted) > 0:
		fmt.Fprintf(&b, "; aborted %s", strings.Join(ev.Aborted, ", "))
	case len(ev.Found) == 0:
		b.WriteString("; none found")
	}
	if n := notIn(ev.Found, ev.Aborted); len(n) > 0 {
		fmt.Fprintf(&b, "; could not abort %s", strings.Join(n, ", "))
	}
	if len(ev.Kept) > 0 {
		fmt.Fprintf(&b, "; left in place (not known to be yours) %s", strings.Join(ev.Kept, ", "))
	}
	if ev.Err != nil {
		fmt.Fprintf(&b, "; %v", ev.Err)
	}
	return b.String()
}

// notIn returns the elements of a that are not in b.
func notIn(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
