package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/internal/initiator"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/spf13/cobra"
)

func (a *app) uploadsCmd() *cobra.Command {
	return a.groupCmd("uploads", "List, abort and clean up multipart uploads in progress",
		a.uploadsLsCmd(), a.uploadsAbortCmd(), a.uploadsCleanupCmd())
}

// uploadInfo is one multipart upload in progress, as shown by `uploads ls` and `cleanup`.
type uploadInfo struct {
	UploadID  string    `json:"upload_id"`
	Key       string    `json:"key"`
	Initiator string    `json:"initiator"`
	Initiated time.Time `json:"initiated"`
	AgeSec    int64     `json:"age_seconds"`
	// MayAbort is whether the caller may abort the upload: "yes", "no", "needs-grant" (no
	// default rule covers the caller: only a policy Allow would) or "unknown".
	MayAbort string `json:"may_abort"`
	// Why explains MayAbort (the rule or statement that decides it).
	Why string `json:"may_abort_reason,omitempty"`
	// WhoCan says who may abort it when the caller may not.
	WhoCan string `json:"who_can_abort,omitempty"`
}

// identityFlags say who the caller is and what rules the server applies, for the
// may-abort verdicts.
type identityFlags struct {
	caller           string
	bucketOwner      string
	serverProfile    string
	identityPolicies []string
	bucketPolicy     string
}

func (f *identityFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.caller, "caller", "", "your principal ARN (default: found with sts:GetCallerIdentity)")
	cmd.Flags().StringVar(&f.bucketOwner, "bucket-owner", "", "the bucket owner's account ID (default: your account if it owns the bucket)")
	cmdkit.RegisterServerProfile(cmd.Flags(), &f.serverProfile)
	stringArrayFlag(cmd.Flags(), &f.identityPolicies, "identity-policy", "your identity policy file, to judge beyond the default rules; repeatable")
	cmd.Flags().StringVar(&f.bucketPolicy, "bucket-policy", "", "the bucket policy file, to judge beyond the default rules")
}

func (a *app) uploadsLsCmd() *cobra.Command {
	var id identityFlags
	cmd := &cobra.Command{
		Use:   "ls s3://bucket[/prefix]",
		Short: "List multipart uploads in progress, and whether you may abort each",
		Args:  cmdkit.ExactArgs(1),
	}
	id.register(cmd)
	cmd.RunE = a.RunE(func(cmd *cobra.Command, args []string) error {
		u, err := cmdkit.ParseS3URL(args[0])
		if err != nil {
			return cmdkit.UsageErr(err)
		}
		_, judge, infos, err := a.judgedUploads(cmd.Context(), u, id)
		if err != nil {
			return err
		}
		if a.g.json {
			return a.PrintJSON(map[string]any{"bucket": u.Bucket, "prefix": u.Key, "caller": judge.caller, "uploads": infos})
		}
		if a.g.quiet {
			return nil
		}
		if len(infos) == 0 {
			fmt.Fprintf(a.stdout, "no multipart uploads in progress in %s\n", u)
			return nil
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "UPLOAD ID\tKEY\tINITIATOR\tINITIATED\tAGE\tYOU MAY ABORT")
		for _, i := range infos {
			// Keys and IDs come from the bucket: escaped, so that none can forge a row or
			// reach the terminal as a control sequence.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cmdkit.TermPath(i.UploadID), cmdkit.TermPath(i.Key), cmdkit.TermText(orDash(i.Initiator)), i.Initiated.UTC().Format(time.RFC3339), cmdkit.FormatAge(time.Duration(i.AgeSec)*time.Second), cmdkit.TermText(mayAbortCell(i)))
		}
		return tw.Flush()
	})
	return cmd
}

func mayAbortCell(i uploadInfo) string {
	if i.Why == "" {
		return i.MayAbort
	}
	return i.MayAbort + " (" + i.Why + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// judgedUploads lists the multipart uploads in progress under u (a bucket and a prefix),
// each with whether the caller the identity flags describe may abort it. It returns the S3
// client and the judge too.
func (a *app) judgedUploads(ctx context.Context, u cmdkit.URL, id identityFlags) (*s3.Client, *abortJudge, []uploadInfo, error) {
	if _, err := id.validate(); err != nil {
		return nil, nil, nil, err
	}
	cli, err := a.S3Client(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	judge, err := a.newAbortJudge(ctx, cli, u.Bucket, id)
	if err != nil {
		return nil, nil, nil, err
	}
	ups, err := cmdkit.ListUploads(ctx, cli, u.Bucket, u.Key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listing multipart uploads in s3://%s: %w", u.Bucket, err)
	}
	return cli, judge, a.describeUploads(ups, judge), nil
}

func (a *app) describeUploads(ups []types.MultipartUpload, judge *abortJudge) []uploadInfo {
	now := a.now()
	infos := make([]uploadInfo, 0, len(ups))
	for _, up := range ups {
		i := uploadInfo{
			UploadID:  aws.ToString(up.UploadId),
			Key:       aws.ToString(up.Key),
			Initiator: initiator.Name(up.Initiator),
			Initiated: aws.ToTime(up.Initiated),
		}
		if !i.Initiated.IsZero() {
			i.AgeSec = int64(now.Sub(i.Initiated) / time.Second)
		}
		v := judge.judge(i.Key, initiator.ARN(up.Initiator))
		i.MayAbort, i.Why, i.WhoCan = v.may, v.why, v.whoCan
		infos = append(infos, i)
	}
	return infos
}

func (a *app) uploadsAbortCmd() *cobra.Command {
	var uploadID, state, plan string
	cmd := &cobra.Command{
		Use:   "abort (s3://bucket/key --upload-id ID | --state FILE | --plan PLAN)",
		Short: "Abort one multipart upload, by its ID, by the state file of `upload --state` or by the plan of `plan`",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdkit.UsageErrorf("%s: expected at most 1 argument, got %d (usage: %s)", cmd.CommandPath(), len(args), cmd.UseLine())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&uploadID, "upload-id", "", "the upload to abort (see `s3mpu uploads ls`)")
	cmd.Flags().StringVar(&state, "state", "", "the state file of a resumable upload (`s3mpu upload --state FILE`): abort its upload and remove the file")
	cmd.Flags().StringVar(&plan, "plan", "", "the plan of a sharded upload (`s3mpu plan`), a local path or an s3:// URL: abort its upload")
	cmd.RunE = a.RunE(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if plan != "" {
			if len(args) > 0 || uploadID != "" || state != "" {
				return cmdkit.UsageErrorf("--plan names the upload: give no URL, --upload-id or --state")
			}
			return a.runAbortPlan(ctx, plan)
		}
		if state != "" {
			if len(args) > 0 || uploadID != "" {
				return cmdkit.UsageErrorf("--state names the upload: give no URL and no --upload-id")
			}
			cli, err := a.S3Client(ctx)
			if err != nil {
				return err
			}
			if err := uploader.New(cli).AbortResumable(ctx, state); err != nil {
				if errors.Is(err, mpu.ErrInvalidInput) {
					return cmdkit.UsageErr(err)
				}
				return err
			}
			if a.g.json {
				return a.PrintJSON(map[string]any{"state": state, "aborted": true})
			}
			a.Info("aborted the upload of %s and removed it", state)
			return nil
		}
		if len(args) != 1 {
			return cmdkit.UsageErrorf("%s: give s3://bucket/key --upload-id ID, or --state FILE", cmd.CommandPath())
		}
		u, err := cmdkit.ParseObjectURL(args[0])
		if err != nil {
			return cmdkit.UsageErr(err)
		}
		if uploadID == "" {
			return cmdkit.UsageErrorf("--upload-id is required")
		}
		cli, err := a.S3Client(ctx)
		if err != nil {
			return err
		}
		_, err = cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key), UploadId: aws.String(uploadID)})
		if err != nil {
			if cmdkit.IsAccessDenied(err) {
				return fmt.Errorf("aborting upload %s of %s: %w\n%s", uploadID, u, err, whoCanAbortText(u.Bucket))
			}
			if cmdkit.IsNotFound(err) {
				return fmt.Errorf("aborting upload %s of %s: no such upload (already completed or aborted?): %w", uploadID, u, err)
			}
			return fmt.Errorf("aborting upload %s of %s: %w", uploadID, u, err)
		}
		if a.g.json {
			return a.PrintJSON(map[string]any{"bucket": u.Bucket, "key": u.Key, "upload_id": uploadID, "aborted": true})
		}
		a.Info("aborted upload %s of %s", uploadID, u)
		return nil
	})
	return cmd
}

// whoCanAbortText explains S3's rule for aborting an upload and the ways out.
func whoCanAbortText(bucket string) string {
	return "By S3's rules an upload may be aborted by the bucket owner and by its initiator (and the initiator's account " +
		"when the initiator is an IAM user), unless a policy denies s3:AbortMultipartUpload; others need an Allow for " +
		"s3:AbortMultipartUpload on arn:aws:s3:::" + bucket + "/KEY. Ask one of them to run `s3mpu uploads cleanup s3://" + bucket +
		"`, or add a lifecycle rule with AbortIncompleteMultipartUpload to the bucket."
}

func (a *app) uploadsCleanupCmd() *cobra.Command {
	var olderThan string
	var dryRun bool
	var id identityFlags
	cmd := &cobra.Command{
		Use:   "cleanup s3://bucket[/prefix] [--older-than 7d] [--dry-run]",
		Short: "Abort the multipart uploads older than a given age that you may abort; explain the others",
		Args:  cmdkit.ExactArgs(1),
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "7d", "only uploads initiated longer ago than this (e.g. 7d, 36h, 0 for all)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be aborted, abort nothing")
	id.register(cmd)
	cmd.RunE = a.RunE(func(cmd *cobra.Command, args []string) error {
		u, err := cmdkit.ParseS3URL(args[0])
		if err != nil {
			return cmdkit.UsageErr(err)
		}
		age := time.Duration(0)
		if olderThan != "0" {
			if age, err = cmdkit.ParseAge(olderThan); err != nil {
				return cmdkit.UsageErrorf("--older-than: %v", err)
			}
		}
		ctx := cmd.Context()
		cli, judge, infos, err := a.judgedUploads(ctx, u, id)
		if err != nil {
			return err
		}
		var results []cleanupResult
		var aborted, denied, failed int
		for _, i := range infos {
			if time.Duration(i.AgeSec)*time.Second < age {
				continue
			}
			r := cleanupResult{uploadInfo: i}
			switch {
			case dryRun:
				r.Action = "would-abort"
			default:
				_, err := cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(u.Bucket), Key: aws.String(i.Key), UploadId: aws.String(i.UploadID)})
				switch {
				case err == nil || cmdkit.IsNotFound(err):
					r.Action = "aborted"
					aborted++
				case cmdkit.IsAccessDenied(err):
					r.Action, r.Error = "denied", err.Error()
					if r.WhoCan == "" {
						r.WhoCan = judge.whoCan(i.Key, initiatorARNOf(i))
					}
					denied++
				default:
					if ctx.Err() != nil {
						return fmt.Errorf("cleanup interrupted after %d abort(s): %w", aborted, ctx.Err())
					}
					r.Action, r.Error = "failed", err.Error()
					failed++
				}
			}
			results = append(results, r)
		}
		if a.g.json {
			if err := a.PrintJSON(map[string]any{"bucket": u.Bucket, "prefix": u.Key, "older_than": olderThan, "dry_run": dryRun, "caller": judge.caller, "uploads": results,
				"aborted": aborted, "denied": denied, "failed": failed}); err != nil {
				return err
			}
		} else if !a.g.quiet {
			a.printCleanup(results, u, olderThan, dryRun)
		}
		if denied+failed > 0 && !dryRun {
			return cmdkit.SilentExit(cmdkit.ExitFailure)
		}
		return nil
	})
	return cmd
}

// cleanupResult is one upload of `uploads cleanup`: what was done with it.
type cleanupResult struct {
	uploadInfo
	Action string `json:"action"` // "aborted", "would-abort", "denied", "failed"
	Error  string `json:"error,omitempty"`
}

// printCleanup prints the text report of `uploads cleanup`.
func (a *app) printCleanup(results []cleanupResult, u cmdkit.URL, olderThan string, dryRun bool) {
	if len(results) == 0 {
		fmt.Fprintf(a.stdout, "no multipart uploads older than %s in %s\n", olderThan, u)
	}
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Action]++
		line := fmt.Sprintf("%-11s %s  %s  (initiated %s, %s ago)", r.Action, cmdkit.TermPath(r.UploadID), cmdkit.TermPath(r.Key), r.Initiated.UTC().Format(time.RFC3339), cmdkit.FormatAge(time.Duration(r.AgeSec)*time.Second))
		fmt.Fprintln(a.stdout, line)
		if r.Action == "denied" || (dryRun && r.MayAbort != "yes") {
			if r.Why != "" {
				fmt.Fprintf(a.stdout, "            you may not abort it: %s\n", cmdkit.TermText(r.Why))
			}
			if r.Error != "" {
				fmt.Fprintf(a.stdout, "            server said: %s\n", cmdkit.TermText(r.Error))
			}
			fmt.Fprintf(a.stdout, "            who can: %s\n", cmdkit.TermText(orDash(r.WhoCan)))
		}
	}
	if dryRun {
		fmt.Fprintf(a.stdout, "dry run: %d upload(s) would be tried\n", len(results))
	} else {
		fmt.Fprintf(a.stdout, "aborted %d, denied %d, failed %d\n", counts["aborted"], counts["denied"], counts["failed"])
	}
}

func initiatorARNOf(i uploadInfo) string {
	if strings.HasPrefix(i.Initiator, "arn:") {
		return i.Initiator
	}
	return ""
}
