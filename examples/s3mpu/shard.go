package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// The commands of a sharded upload: many hosts, one object. `plan` creates the upload and
// writes the plan, `upload-shard` (run once per shard by the job scheduler) sends one
// shard's parts, `complete` completes the upload once every shard is stored, and
// `uploads abort --plan` discards it.

// shardIndexEnv are the environment variables holding a worker's index, as the usual array
// job schedulers set them, in the order they are looked at.
var shardIndexEnv = []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX"}

// maxPlanBytes bounds a plan read from a file or from S3.
const maxPlanBytes = 8 << 20

// S3's multipart limits.
const (
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
	maxParts    = 10000
)

// shardCmds returns the sharded-upload commands.
func (a *app) shardCmds() []*cobra.Command {
	return []*cobra.Command{a.planCmd(), a.uploadShardCmd(), a.completeCmd()}
}

const planLong = `Start a sharded upload of FILE: several hosts (or processes) upload the parts of one
object under one multipart upload, each its own shard, run by the job scheduler you already
have (Kubernetes Indexed Jobs, Slurm job arrays, AWS Batch array jobs, GNU parallel).

plan creates the multipart upload and writes the plan to PLAN, a local path or an s3:// URL
(for workers without a shared file system). The plan is JSON and holds no secrets: the
object, the upload ID, the part size, each shard's parts, the checksum algorithm and the
file's path, size and modification time. Then run, once per shard I (0 to N-1):

  s3mpu upload-shard --plan PLAN --shard I

and, when they are done:

  s3mpu complete --plan PLAN

S3 holds the state (the upload and its parts): a worker run again sends only the parts
still missing, and complete refuses (exit 1, naming the shards to run again) until every
part is stored. 's3mpu uploads abort --plan PLAN' discards the upload.

With --preflight (warn by default) every step the workers and complete need (Initiate,
UploadPart, ListParts, Complete, Abort) is checked first, as by 's3mpu preflight'.`

// planFlags are the flags of `s3mpu plan`.
type planFlags struct {
	shards        int
	planOut       string
	partSize      string
	preflightMode string
}

func (a *app) planCmd() *cobra.Command {
	var pf planFlags
	var of objectFlags
	var cf checkFlags
	cmd := &cobra.Command{
		Use:   "plan FILE s3://bucket/key --shards N --plan-out PLAN",
		Short: "Start a sharded upload: create the upload and write the plan the workers follow",
		Long:  planLong,
		Example: `  s3mpu plan /shared/dump.tar s3://backups/dump.tar --shards 8 --plan-out /shared/dump.plan.json
  s3mpu plan big.img s3://images/big.img --shards 16 --part-size 256MiB --plan-out s3://images/big.img.plan.json`,
		Args: cmdkit.ExactArgs(2),
	}
	fs := cmd.Flags()
	fs.IntVar(&pf.shards, "shards", 0, "number of shards (workers), at least 1 and at most the number of parts")
	fs.StringVar(&pf.planOut, "plan-out", "", "where to write the plan: a local path or an s3:// URL")
	fs.StringVar(&pf.partSize, "part-size", "", "part size, 5MiB to 5GiB (default 16MiB, grown to fit 10,000 parts)")
	cmdkit.RegisterGate(fs, &pf.preflightMode)
	of.register(fs, true)
	cf.register(fs)
	cmd.RunE = a.RunE(func(cmd *cobra.Command, args []string) error {
		return a.runPlan(cmd.Context(), args[0], args[1], &pf, &of, &cf)
	})
	return cmd
}

// planResult is the --json output of `s3mpu plan`.
type planResult struct {
	Plan     string `json:"plan"`
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"upload_id"`
	Source   string `json:"source"`
	Size     int64  `json:"size"`
	PartSize int64  `json:"part_size"`
	Parts    int32  `json:"parts"`
	Shards   int    `json:"shards"`
}

// validate checks plan's own flags and the object and check flags that need no I/O, and
// returns the server profile and the part size (0: the default).
func (pf *planFlags) validate(of *objectFlags, cf *checkFlags) (preflight.Profile, int64, error) {
	if pf.shards < 1 || pf.shards > maxParts {
		return 0, 0, cmdkit.UsageErrorf("--shards %d: want 1 to %d", pf.shards, maxParts)
	}
	if pf.planOut == "" {
		return 0, 0, cmdkit.UsageErrorf("--plan-out is required: a local path or an s3:// URL")
	}
	if err := of.validate(); err != nil {
		return 0, 0, err
	}
	if of.sseC != "" || of.sseCKeyFile != "" {
		return 0, 0, cmdkit.UsageErrorf("a sharded upload cannot use SSE-C: every worker would need the key")
	}
	if of.size != "" {
		return 0, 0, cmdkit.UsageErrorf("--size is only for stdin; a plan's file has a known size")
	}
	prof, err := cf.validate()
	if err != nil {
		return 0, 0, err
	}
	if err := cf.validateKMS(of, false); err != nil {
		return 0, 0, err
	}
	partSize, err := parsePartSize(pf.partSize)
	if err != nil {
		return 0, 0, err
	}
	if err := cmdkit.ValidateGate(pf.preflightMode); err != nil {
		return 0, 0, err
	}
	return prof, partSize, nil
}

func (a *app) runPlan(ctx context.Context, src, dst string, pf *planFlags, of *objectFlags, cf *checkFlags) error {
	u, err := cmdkit.ParseObjectURL(dst)
	if err != nil {
		return cmdkit.UsageErr(err)
	}
	prof, partSize, err := pf.validate(of, cf)
	if err != nil {
		return err
	}
	planURL, planIsS3, err := parsePlanArg("--plan-out", pf.planOut)
	if err != nil {
		return err
	}
	if !planIsS3 {
		// A plan overwritten would lose its upload's ID: refuse before creating anything.
		if _, err := os.Lstat(pf.planOut); err == nil {
			return cmdkit.UsageErrorf("--plan-out %s exists: discard its upload first (s3mpu uploads abort --plan %s) or choose another path", pf.planOut, pf.planOut)
		}
	}
	f, fi, err := openShardFile(src)
	if err != nil {
		return err
	}
	defer f.Close()
	uin, err := of.uploadInput(u)
	if err != nil {
		return err
	}
	uin.Body, uin.Size = f, fi.Size()
	in := &uploader.PlanInput{UploadInput: *uin, Shards: pf.shards}
	if in.ContentType == "" {
		in.ContentType = mime.TypeByExtension(filepath.Ext(src))
	}

	cli, err := a.S3Client(ctx)
	if err != nil {
		return err
	}
	if planIsS3 {
		// As for a local path: refuse before creating anything. writePlan's conditional
		// put catches a plan that appears meanwhile.
		_, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(planURL.Bucket), Key: aws.String(planURL.Key)})
		if err == nil {
			return cmdkit.UsageErrorf("--plan-out %s exists: discard its upload first (s3mpu uploads abort --plan %s) or choose another key", pf.planOut, pf.planOut)
		}
	}
	// CreatePlan checks the steps of every call the plan takes: Initiate, UploadPart,
	// ListParts, Complete and Abort.
	gate, err := a.openGate(ctx, cli, cf, prof, pf.preflightMode, "sharded upload", "planning", func() (*preflight.Plan, error) {
		return of.plan(u, fi.Size(), cf)
	}) // nil with --preflight off
	if err != nil {
		return err
	}
	up := uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = partSize
		gate.options(o)
		if gate != nil {
			o.Listener = event.ListenerFunc(func(e event.Event) {
				if ev, ok := e.(event.Preflight); ok {
					gate.warn(ev.Err)
				}
			})
		}
	})
	p, err := up.CreatePlan(ctx, in)
	var ue *uploader.UploadError
	switch {
	case err != nil && gate != nil && errors.As(err, &ue) && ue.Op == mpu.OpPreflight:
		return gate.refused(ctx, err)
	case err != nil:
		return a.shardError(err)
	}
	up = uploader.New(cli, func(o *uploader.Options) { o.PartSize = partSize }) // discarding the plan needs no check
	if err := a.savePlan(ctx, cli, up, p, pf.planOut, planURL, planIsS3); err != nil {
		return err
	}
	return a.printPlanResult(p, u, pf.planOut)
}

// savePlan writes the plan p to planOut; when it cannot, it discards the plan's upload (up
// aborts it), since without the plan nobody can finish it.
func (a *app) savePlan(ctx context.Context, cli *s3.Client, up *uploader.Uploader, p *uploader.Plan, planOut string, planURL cmdkit.URL, planIsS3 bool) error {
	data, err := uploader.MarshalPlan(p)
	if err == nil {
		err = a.writePlan(ctx, cli, planOut, planURL, planIsS3, data)
	}
	if err != nil {
		if aerr := up.AbortPlan(context.WithoutCancel(ctx), p); aerr != nil {
			return fmt.Errorf("writing the plan: %w\n(and aborting its upload %s failed: %w)", err, p.UploadID, aerr)
		}
		return fmt.Errorf("writing the plan: %w\n(its upload %s was aborted: nothing is left behind)", err, p.UploadID)
	}
	return nil
}

// printPlanResult prints the result of `s3mpu plan`: what was planned and the next
// commands, or with --json the documented object.
func (a *app) printPlanResult(p *uploader.Plan, u cmdkit.URL, planOut string) error {
	res := planResult{Plan: planOut, Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID, Source: p.Source.Path,
		Size: p.Size, PartSize: p.PartSize, Parts: p.Parts, Shards: len(p.Shards)}
	if a.g.json {
		return a.PrintJSON(res)
	}
	if !a.g.quiet {
		fmt.Fprintf(a.stdout, "planned %s: %s in %d parts of %s, %d shards; upload %s\n", u, cmdkit.FormatBytes(p.Size), p.Parts,
			cmdkit.FormatBytes(p.PartSize), len(p.Shards), p.UploadID)
		fmt.Fprintf(a.stdout, "plan written to %s\nnext: s3mpu upload-shard --plan %s --shard I (I = 0 to %d), then s3mpu complete --plan %s\n",
			planOut, planOut, len(p.Shards)-1, planOut)
	}
	return nil
}

const uploadShardLong = `Upload one shard of a sharded upload (see 's3mpu plan'): the shard's parts the server
does not hold yet, read from the plan's file (or --file, the same data at another path).

The shard index comes from --shard or, when it is not given, from the first of these
environment variables that is set: JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs),
SLURM_ARRAY_TASK_ID (Slurm job arrays; use --array=0-(N-1)), AWS_BATCH_JOB_ARRAY_INDEX
(AWS Batch array jobs).

The file must be the one planned: the same size, modification time and first and last MiB
(a copy must keep the modification time, as cp -p and rsync -t do); otherwise nothing is sent
and the command fails. The shard's parts already stored with the right size and checksum
are skipped, so a worker killed at any point is simply run again. Exit 0 means every part of
the shard is stored. A failure never aborts the upload: the other shards belong to it.`

// uploadShardFlags are the flags of `s3mpu upload-shard`.
type uploadShardFlags struct {
	plan        string
	shard       int
	file        string
	concurrency int
	rateLimit   string
	progress    string
}

func (a *app) uploadShardCmd() *cobra.Command {
	var sf uploadShardFlags
	cmd := &cobra.Command{
		Use:   "upload-shard --plan PLAN [--shard I] [--file PATH]",
		Short: "Upload one shard's parts of a sharded upload (run once per shard by the scheduler)",
		Long:  uploadShardLong,
		Example: `  s3mpu upload-shard --plan /shared/dump.plan.json --shard 3
  JOB_COMPLETION_INDEX=3 s3mpu upload-shard --plan s3://images/big.img.plan.json --file /scratch/big.img`,
		Args: cmdkit.ExactArgs(0),
	}
	fs := cmd.Flags()
	fs.StringVar(&sf.plan, "plan", "", "the plan written by 's3mpu plan': a local path or an s3:// URL")
	fs.IntVar(&sf.shard, "shard", -1, "the shard to upload, from 0 (default: $JOB_COMPLETION_INDEX, $SLURM_ARRAY_TASK_ID or $AWS_BATCH_JOB_ARRAY_INDEX)")
	fs.StringVar(&sf.file, "file", "", "the file to read (default: the plan's file path)")
	fs.IntVar(&sf.concurrency, "concurrency", defaultParts, "parts uploaded at once by this worker, at least 1")
	fs.StringVar(&sf.rateLimit, "rate-limit", "", "bandwidth limit of this worker, e.g. 50MiB/s (default unlimited)")
	fs.StringVar(&sf.progress, "progress", "auto", "progress display on stderr: auto, bar, lines or none")
	cmd.RunE = a.RunE(func(cmd *cobra.Command, _ []string) error {
		return a.runUploadShard(cmd.Context(), cmd.Flags().Changed("shard"), &sf)
	})
	return cmd
}

// shardResult is the --json output of `s3mpu upload-shard`.
type shardResult struct {
	Shard          int     `json:"shard"`
	Bucket         string  `json:"bucket"`
	Key            string  `json:"key"`
	UploadID       string  `json:"upload_id"`
	File           string  `json:"file"`
	FirstPart      int32   `json:"first_part"`
	LastPart       int32   `json:"last_part"`
	Size           int64   `json:"size"`
	PartsSent      []int32 `json:"parts_sent"`
	PartsSkipped   []int32 `json:"parts_skipped"`
	BytesSent      int64   `json:"bytes_sent"`
	Seconds        float64 `json:"seconds"`
	BytesPerSecond float64 `json:"bytes_per_second"`
	Retries        int64   `json:"retries"`
}

// shardIndex returns the shard to upload: the --shard flag when given, else the first
// scheduler variable that is set.
func shardIndex(flagSet bool, flag int, getenv func(string) string) (int, error) {
	if flagSet {
		if flag < 0 {
			return 0, cmdkit.UsageErrorf("--shard %d: want 0 or more", flag)
		}
		return flag, nil
	}
	for _, name := range shardIndexEnv {
		v := getenv(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return 0, cmdkit.UsageErrorf("$%s=%q is not a shard index (0 or more)", name, v)
		}
		return n, nil
	}
	return 0, cmdkit.UsageErrorf("no shard index: give --shard I or set one of $%s", strings.Join(shardIndexEnv, ", $"))
}

func (a *app) runUploadShard(ctx context.Context, shardSet bool, sf *uploadShardFlags) error {
	idx, err := shardIndex(shardSet, sf.shard, os.Getenv)
	if err != nil {
		return err
	}
	if err := checkConcurrency(sf.concurrency); err != nil {
		return err
	}
	rate, err := parseRateLimit(sf.rateLimit)
	if err != nil {
		return err
	}
	pmode, err := a.progressMode(sf.progress)
	if err != nil {
		return err
	}
	p, err := a.readPlan(ctx, sf.plan)
	if err != nil {
		return err
	}
	if idx >= len(p.Shards) {
		return cmdkit.UsageErrorf("shard %d: the plan has shards 0 to %d", idx, len(p.Shards)-1)
	}
	path := sf.file
	if path == "" {
		path = p.Source.Path
	}
	if path == "" {
		return cmdkit.UsageErrorf("the plan names no file: give --file")
	}
	f, _, err := openShardFile(path)
	if err != nil {
		return err
	}
	defer f.Close()

	cli, err := a.S3Client(ctx)
	if err != nil {
		return err
	}
	sh := p.Shards[idx]
	label := fmt.Sprintf("shard %d of s3://%s/%s", idx, p.Bucket, p.Key)
	prog := newProgress(pmode, a.stderr, label, a.now)
	lis := &progressListener{p: prog}
	up := uploader.New(cli, func(o *uploader.Options) {
		o.Concurrency = sf.concurrency
		o.RateLimit = rate
		o.Listener = lis
	})
	start := a.now()
	out, err := up.UploadShard(ctx, p, &uploader.ShardInput{Shard: idx, Body: f})
	prog.finish(err == nil)
	if errors.Is(err, mpu.ErrSourceChanged) {
		return fmt.Errorf("%w\n(give the planned file, or discard the upload with `s3mpu uploads abort --plan %s` and plan again)", err, sf.plan)
	}
	if err != nil {
		return a.shardError(err)
	}
	elapsed := a.now().Sub(start)
	res := shardResult{
		Shard: idx, Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID, File: path,
		FirstPart: sh.FirstPart, LastPart: sh.LastPart, Size: sh.Size,
		PartsSent: out.PartsSent, PartsSkipped: out.PartsSkipped, BytesSent: out.BytesSent,
		Seconds: elapsed.Seconds(), Retries: lis.retries,
	}
	if elapsed > 0 {
		res.BytesPerSecond = float64(out.BytesSent) / elapsed.Seconds()
	}
	if a.g.json {
		return a.PrintJSON(res)
	}
	if !a.g.quiet {
		fmt.Fprintf(a.stdout, "%s stored: parts %d-%d, %d sent (%s in %s), %d already stored\n", label, sh.FirstPart, sh.LastPart,
			len(out.PartsSent), cmdkit.FormatBytes(out.BytesSent), elapsed.Round(time.Millisecond), len(out.PartsSkipped))
	}
	return nil
}

const completeLong = `Complete a sharded upload (see 's3mpu plan') once every shard is stored: list the
upload's parts, check that every planned part is there with its size and a checksum, combine
the object's checksum from the parts' checksums, complete the upload and verify the stored
object (size and checksum).

When a part is missing or does not match the plan, nothing is completed: the command exits
with status 1 and names the shards to run again. With --verify-source the parts' checksums
are also compared with the file's data (which reads the whole file on this host).`

func (a *app) completeCmd() *cobra.Command {
	var planArg, file string
	var verify bool
	cmd := &cobra.Command{
		Use:   "complete --plan PLAN",
		Short: "Complete a sharded upload once every shard is stored, or name the shards missing",
		Long:  completeLong,
		Example: `  s3mpu complete --plan /shared/dump.plan.json
  s3mpu complete --plan s3://images/big.img.plan.json --json`,
		Args: cmdkit.ExactArgs(0),
	}
	cmd.Flags().StringVar(&planArg, "plan", "", "the plan written by 's3mpu plan': a local path or an s3:// URL")
	cmd.Flags().BoolVar(&verify, "verify-source", false, "also compare every part's checksum with the file's data")
	cmd.Flags().StringVar(&file, "file", "", "with --verify-source: the file to read (default: the plan's file path)")
	cmd.RunE = a.RunE(func(cmd *cobra.Command, _ []string) error {
		return a.runComplete(cmd.Context(), planArg, verify, file)
	})
	return cmd
}

// completeResult is the --json output of `s3mpu complete`.
type completeResult struct {
	Complete          bool                    `json:"complete"`
	Bucket            string                  `json:"bucket"`
	Key               string                  `json:"key"`
	UploadID          string                  `json:"upload_id"`
	Size              int64                   `json:"size,omitempty"`
	Parts             int32                   `json:"parts"`
	ETag              string                  `json:"etag,omitempty"`
	VersionID         string                  `json:"version_id,omitempty"`
	ChecksumAlgorithm string                  `json:"checksum_algorithm,omitempty"`
	ChecksumType      string                  `json:"checksum_type,omitempty"`
	Checksum          string                  `json:"checksum,omitempty"`
	IncompleteShards  []int                   `json:"incomplete_shards,omitempty"`
	Problems          []uploader.ShardProblem `json:"problems,omitempty"`
}

func (a *app) runComplete(ctx context.Context, planArg string, verify bool, file string) error {
	if file != "" && !verify {
		return cmdkit.UsageErrorf("--file needs --verify-source")
	}
	p, err := a.readPlan(ctx, planArg)
	if err != nil {
		return err
	}
	cli, err := a.S3Client(ctx)
	if err != nil {
		return err
	}
	in := &uploader.CompletePlanInput{}
	if verify {
		if file == "" {
			file = p.Source.Path
		}
		f, _, err := openShardFile(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in.Source = f
	}
	res := completeResult{Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID, Parts: p.Parts}
	out, err := uploader.New(cli).CompletePlan(ctx, p, in)
	var ie *uploader.IncompleteError
	if errors.As(err, &ie) {
		res.IncompleteShards, res.Problems = ie.ShardIndexes(), ie.Shards
		if a.g.json {
			if perr := a.PrintJSON(res); perr != nil {
				return perr
			}
		}
		return &cmdkit.ExitError{Code: cmdkit.ExitFailure, Err: err}
	}
	if err != nil {
		return a.shardError(err)
	}
	res.Complete, res.Size, res.ETag, res.VersionID = true, out.Size, out.ETag, out.VersionID
	res.ChecksumAlgorithm, res.ChecksumType, res.Checksum = string(out.ChecksumAlgorithm), string(out.ChecksumType), out.Checksum
	if a.g.json {
		return a.PrintJSON(res)
	}
	if !a.g.quiet {
		fmt.Fprintf(a.stdout, "completed s3://%s/%s: %s in %d parts; checksum %s %s %s verified; ETag %s\n", p.Bucket, p.Key,
			cmdkit.FormatBytes(out.Size), len(out.Parts), res.ChecksumAlgorithm,
			checksumTypeText(res.ChecksumType), res.Checksum, res.ETag)
	}
	return nil
}

// runAbortPlan discards the upload of a plan (`s3mpu uploads abort --plan PLAN`).
func (a *app) runAbortPlan(ctx context.Context, planArg string) error {
	p, err := a.readPlan(ctx, planArg)
	if err != nil {
		return err
	}
	cli, err := a.S3Client(ctx)
	if err != nil {
		return err
	}
	if err := uploader.New(cli).AbortPlan(ctx, p); err != nil {
		return a.shardError(err)
	}
	if a.g.json {
		return a.PrintJSON(map[string]any{"plan": planArg, "bucket": p.Bucket, "key": p.Key, "upload_id": p.UploadID, "aborted": true})
	}
	a.Info("aborted upload %s of s3://%s/%s (plan %s)", p.UploadID, p.Bucket, p.Key, planArg)
	return nil
}

// shardError maps a sharded-upload failure to its exit status and message.
func (a *app) shardError(err error) error {
	var ue *uploader.UploadError
	errors.As(err, &ue)
	switch {
	case a.interrupted() || errors.Is(err, context.Canceled):
		msg := "interrupted"
		if ue != nil && ue.UploadID != "" {
			msg += fmt.Sprintf("; upload %s kept with its parts: run the same command again to go on", ue.UploadID)
		}
		return &cmdkit.ExitError{Code: cmdkit.ExitInterrupted, Err: errors.New(msg)}
	case errors.Is(err, mpu.ErrInvalidInput):
		return cmdkit.UsageErr(err)
	case ue != nil && ue.Op == mpu.OpPreflight && errors.Is(err, mpu.ErrPermissionDenied):
		return cmdkit.DeniedErr(err)
	}
	return err
}

// parsePlanArg checks a plan location: an s3:// URL naming an object, or a local path.
func parsePlanArg(flag, arg string) (cmdkit.URL, bool, error) {
	if arg == "" {
		return cmdkit.URL{}, false, cmdkit.UsageErrorf("%s is required: a local path or an s3:// URL", flag)
	}
	if !strings.HasPrefix(strings.ToLower(arg), "s3://") {
		return cmdkit.URL{}, false, nil
	}
	u, err := cmdkit.ParseObjectURL(arg)
	if err != nil {
		return u, true, cmdkit.UsageErrorf("%s: %v", flag, err)
	}
	return u, true, nil
}

// readPlan reads and validates the plan at arg, a local path or an s3:// URL.
func (a *app) readPlan(ctx context.Context, arg string) (*uploader.Plan, error) {
	u, isS3, err := parsePlanArg("--plan", arg)
	if err != nil {
		return nil, err
	}
	var data []byte
	if isS3 {
		cli, err := a.S3Client(ctx)
		if err != nil {
			return nil, err
		}
		out, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
		if err != nil {
			if cmdkit.IsNotFound(err) {
				return nil, cmdkit.UsageErrorf("--plan %s: no such object: %v", arg, err)
			}
			return nil, fmt.Errorf("reading the plan %s: %w", arg, err)
		}
		defer out.Body.Close()
		data, err = io.ReadAll(io.LimitReader(out.Body, maxPlanBytes+1))
		if err != nil {
			return nil, fmt.Errorf("reading the plan %s: %w", arg, err)
		}
	} else {
		f, err := os.Open(arg)
		if err != nil {
			return nil, cmdkit.UsageErrorf("--plan: cannot open %s: %v", arg, errors.Unwrap(err))
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, maxPlanBytes+1)); err != nil {
			return nil, fmt.Errorf("reading the plan %s: %w", arg, err)
		}
	}
	p, err := uploader.ParsePlan(data)
	if err != nil {
		return nil, cmdkit.UsageErrorf("--plan %s: %v", arg, err)
	}
	return p, nil
}

// openShardFile opens the file of a sharded upload, which every worker reads at its own
// offsets, and returns what Stat says of it. Anything but a regular file is a usage error,
// found before opening it, since opening a FIFO waits for a writer.
func openShardFile(path string) (*os.File, fs.FileInfo, error) {
	notRegular := cmdkit.UsageErrorf("%s is not a regular file: every worker must be able to read its part of it at any offset", path)
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, nil, notRegular
	}
	f, fi, err := openInput(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() { // replaced since the Stat
		f.Close()
		return nil, nil, notRegular
	}
	return f, fi, nil
}

// writePlan writes the plan to a local path (atomically, never over an existing file) or
// to S3.
func (a *app) writePlan(ctx context.Context, cli *s3.Client, arg string, u cmdkit.URL, isS3 bool, data []byte) error {
	if isS3 {
		in := &s3.PutObjectInput{
			Bucket: aws.String(u.Bucket), Key: aws.String(u.Key), Body: bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("application/json"),
			IfNoneMatch: aws.String("*"), // a plan overwritten would lose its upload's ID
		}
		_, err := cli.PutObject(ctx, in)
		if cmdkit.HTTPStatus(err) == 501 || cmdkit.APICode(err) == "NotImplemented" {
			// A server without conditional writes: runPlan checked the key free before.
			in.IfNoneMatch, in.Body = nil, bytes.NewReader(data)
			_, err = cli.PutObject(ctx, in)
		}
		if cmdkit.HTTPStatus(err) == 412 || cmdkit.APICode(err) == "PreconditionFailed" {
			return fmt.Errorf("%s appeared while the plan was made: %w", arg, err)
		}
		return err
	}
	err := cmdkit.WriteFile(arg, data, 0o600, true)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s appeared while the plan was made: %w", arg, err)
	}
	return err
}
