package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/spf13/cobra"
)

// cpFlags are the flags of `s3mpu cp` besides the object and check flags.
type cpFlags struct {
	partSize          string
	concurrency       int
	copyThreshold     string
	preflightMode     string
	leavePartsOnError bool
	progress          string
	sourceVersionID   string
	sourceSSECKeyFile string
	replaceMetadata   bool
}

const cpLong = `Copy an object inside S3, on the server side: no data passes through this machine.
Objects up to --copy-threshold (default 64MiB) are copied with one CopyObject; larger ones, and
always those over 5 GiB, with a multipart upload whose parts are copied in parallel with
UploadPartCopy byte ranges, with the retries, checksums, abort on failure and progress of
'upload'. Every read of the source is conditional on the ETag seen at the start, so a source
replaced during the copy fails the copy instead of mixing two versions.

The destination keeps the source's metadata, headers and tags unless --replace-metadata
(then --content-type and --metadata are used) or --tagging is given. The preflight checks
the destination's steps and s3:GetObject on the source.`

func (a *app) cpCmd() *cobra.Command {
	var cf cpFlags
	var of objectFlags
	var chk checkFlags
	cmd := &cobra.Command{
		Use:   "cp s3://bucket/key s3://bucket/key",
		Short: "Copy an object on the server side, as a multipart copy when it is large",
		Long:  cpLong,
		Example: `  s3mpu cp s3://backups/2026/db.tar s3://archive/db.tar --storage-class DEEP_ARCHIVE
  s3mpu cp s3://a/huge.iso s3://b/huge.iso --part-size 512MiB --concurrency 16`,
		Args: cmdkit.ExactArgs(2),
	}
	fs := cmd.Flags()
	fs.StringVar(&cf.partSize, "part-size", "", "part size of a multipart copy, 5MiB to 5GiB (default 16MiB, grown to fit 10,000 parts)")
	fs.IntVar(&cf.concurrency, "concurrency", defaultParts, "parts copied at once, at least 1")
	fs.StringVar(&cf.copyThreshold, "copy-threshold", "", "largest object copied with a single CopyObject (default 64MiB; at most 5GiB)")
	cmdkit.RegisterGate(fs, &cf.preflightMode)
	fs.BoolVar(&cf.leavePartsOnError, "leave-parts-on-error", false, "on failure keep the upload and its parts instead of aborting it")
	fs.StringVar(&cf.progress, "progress", "auto", "progress display on stderr: auto, bar, lines or none")
	fs.StringVar(&cf.sourceVersionID, "source-version-id", "", "copy this version of the source")
	fs.StringVar(&cf.sourceSSECKeyFile, "source-sse-c-key-file", "", "file holding the SSE-C key of the source (never printed)")
	fs.BoolVar(&cf.replaceMetadata, "replace-metadata", false, "set the destination's metadata and headers from --content-type and --metadata instead of copying the source's")
	fs.StringVar(&of.contentType, "content-type", "", "Content-Type, with --replace-metadata")
	stringArrayFlag(fs, &of.metadata, "metadata", "user metadata KEY=VALUE, with --replace-metadata; repeatable")
	fs.StringVar(&of.tagging, "tagging", "", "replace the tags with these, as a URL query ('k=v&k2=v2'; '' keeps the source's)")
	fs.StringVar(&of.sseCKeyFile, "sse-c-key-file", "", "file holding the destination's SSE-C key: 32 raw bytes or their base64 (never printed)")
	of.register(fs, false)
	_ = fs.MarkHidden("size")        // the plan's size comes from the source
	_ = fs.MarkHidden("copy-source") // the first argument is the source
	chk.register(fs)
	chk.registerCopy(fs)
	cmd.RunE = a.RunE(func(cmd *cobra.Command, args []string) error {
		return a.runCopy(cmd.Context(), args[0], args[1], &cf, &of, &chk)
	})
	return cmd
}

// copyResult is the --json output of `s3mpu cp`.
type copyResult struct {
	SourceBucket      string  `json:"source_bucket"`
	SourceKey         string  `json:"source_key"`
	SourceVersionID   string  `json:"source_version_id,omitempty"`
	SourceETag        string  `json:"source_etag"`
	Bucket            string  `json:"bucket"`
	Key               string  `json:"key"`
	Size              int64   `json:"size"`
	Parts             int     `json:"parts"`
	PartSize          int64   `json:"part_size"`
	UploadID          string  `json:"upload_id,omitempty"`
	ETag              string  `json:"etag"`
	VersionID         string  `json:"version_id,omitempty"`
	ChecksumAlgorithm string  `json:"checksum_algorithm,omitempty"`
	ChecksumType      string  `json:"checksum_type,omitempty"`
	Checksum          string  `json:"checksum,omitempty"`
	Seconds           float64 `json:"seconds"`
	Retries           int64   `json:"retries"`
}

// validate checks the copy's own flags and returns the part size and the copy threshold
// (0: the defaults).
func (cf *cpFlags) validate() (partSize, threshold int64, err error) {
	if partSize, err = parsePartSize(cf.partSize); err != nil {
		return 0, 0, err
	}
	if cf.copyThreshold != "" {
		if threshold, err = cmdkit.ParseSize(cf.copyThreshold); err != nil {
			return 0, 0, cmdkit.UsageErrorf("--copy-threshold: %v", err)
		}
		if threshold < 1 {
			// The uploader reads 0 as "the default"; a threshold given must be one.
			return 0, 0, cmdkit.UsageErrorf("--copy-threshold %s: must be at least 1 byte (objects up to it are copied with one CopyObject)", cf.copyThreshold)
		}
		if threshold > 5<<30 {
			return 0, 0, cmdkit.UsageErrorf("--copy-threshold %s: a single CopyObject copies at most 5GiB", cf.copyThreshold)
		}
	}
	if err := checkConcurrency(cf.concurrency); err != nil {
		return 0, 0, err
	}
	if err := cmdkit.ValidateGate(cf.preflightMode); err != nil {
		return 0, 0, err
	}
	return partSize, threshold, nil
}

// copyInput returns the copy of src to dst as the flags describe it: the destination's
// settings are those of an upload to dst.
func copyInput(src, dst cmdkit.URL, cf *cpFlags, of *objectFlags) (*uploader.CopyInput, error) {
	d, err := of.uploadInput(dst)
	if err != nil {
		return nil, err
	}
	in := &uploader.CopyInput{
		SourceBucket: src.Bucket, SourceKey: src.Key, SourceVersionID: cf.sourceVersionID,
		Bucket: d.Bucket, Key: d.Key,
		ReplaceMetadata: cf.replaceMetadata, ContentType: d.ContentType, Metadata: d.Metadata,
		ACL: d.ACL, StorageClass: d.StorageClass,
		ServerSideEncryption: d.ServerSideEncryption, SSEKMSKeyID: d.SSEKMSKeyID,
		SSEKMSEncryptionContext: d.SSEKMSEncryptionContext, BucketKeyEnabled: d.BucketKeyEnabled,
		SSECustomerAlgorithm: d.SSECustomerAlgorithm, SSECustomerKey: d.SSECustomerKey, SSECustomerKeyMD5: d.SSECustomerKeyMD5,
		ChecksumAlgorithm: d.ChecksumAlgorithm,
	}
	if of.tagging != "" {
		in.ReplaceTagging, in.Tagging = true, of.tagging
	}
	if cf.sourceSSECKeyFile != "" {
		if in.SourceSSECustomerAlgorithm, in.SourceSSECustomerKey, in.SourceSSECustomerKeyMD5, err = sseCFields(cf.sourceSSECKeyFile); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (a *app) runCopy(ctx context.Context, srcArg, dstArg string, cf *cpFlags, of *objectFlags, chk *checkFlags) error {
	src, err := cmdkit.ParseObjectURL(srcArg)
	if err != nil {
		return cmdkit.UsageErrorf("source: %v", err)
	}
	dst, err := cmdkit.ParseObjectURL(dstArg)
	if err != nil {
		return cmdkit.UsageErrorf("destination: %v", err)
	}
	if src == dst && cf.sourceVersionID == "" && !cf.replaceMetadata && of.storageClass == "" && of.sse == "" && of.sseCKeyFile == "" {
		return cmdkit.UsageErrorf("copying %s onto itself changes nothing: give --replace-metadata, --storage-class or encryption flags", src)
	}
	prof, err := validateFlags(of, chk, true)
	if err != nil {
		return err
	}
	if !cf.replaceMetadata && (of.contentType != "" || len(of.metadata) > 0) {
		return cmdkit.UsageErrorf("--content-type and --metadata need --replace-metadata")
	}
	partSize, threshold, err := cf.validate()
	if err != nil {
		return err
	}
	pmode, err := a.progressMode(cf.progress)
	if err != nil {
		return err
	}
	in, err := copyInput(src, dst, cf, of)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cli, gate, err := a.connect(ctx, chk, prof, cf.preflightMode, "copy", "copying", func() (*preflight.Plan, error) {
		of.copySource = src.String()
		plan, err := of.plan(dst, -1, chk)
		if err == nil && plan.CopySource != nil {
			plan.CopySource.VersionID = cf.sourceVersionID
		}
		return plan, err
	}) // nil with --preflight off
	if err != nil {
		return err
	}

	lis := a.transferListener(pmode, "copy "+src.String()+" -> "+dst.String(), gate, true)
	up := uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = partSize
		o.Concurrency = cf.concurrency
		o.CopyThreshold = threshold
		o.LeavePartsOnError = cf.leavePartsOnError
		o.Listener = lis
		gate.options(o)
	})
	start := a.now()
	out, err := up.Copy(ctx, in)
	lis.p.finish(err == nil)
	if err != nil {
		if errors.Is(err, mpu.ErrSourceChanged) {
			return fmt.Errorf("%w\n(the source was replaced during the copy; nothing of the mix was stored)", err)
		}
		return a.uploadError(ctx, err, dst, "", gate)
	}
	return a.printCopyResult(out, src, dst, a.now().Sub(start), lis.retries)
}

// printCopyResult prints the result of a copy: one line, or with --json the documented object.
func (a *app) printCopyResult(out *uploader.CopyOutput, src, dst cmdkit.URL, elapsed time.Duration, retries int64) error {
	res := copyResult{
		SourceBucket: src.Bucket, SourceKey: src.Key, SourceVersionID: out.SourceVersionID, SourceETag: out.SourceETag,
		Bucket: out.Bucket, Key: out.Key, Size: out.Size, Parts: out.Parts, PartSize: out.PartSize,
		UploadID: out.UploadID, ETag: out.ETag, VersionID: out.VersionID,
		ChecksumAlgorithm: string(out.ChecksumAlgorithm), ChecksumType: string(out.ChecksumType), Checksum: out.Checksum,
		Seconds: elapsed.Seconds(), Retries: retries,
	}
	if a.g.json {
		return a.PrintJSON(res)
	}
	if !a.g.quiet {
		how := "a single CopyObject"
		if res.Parts > 0 {
			how = fmt.Sprintf("%d parts of %s (UploadPartCopy)", res.Parts, cmdkit.FormatBytes(res.PartSize))
		}
		fmt.Fprintf(a.stdout, "copied %s to %s: %s as %s in %s; ETag %s\n", src, dst, cmdkit.FormatBytes(res.Size), how, elapsed.Round(time.Millisecond), res.ETag)
	}
	return nil
}
