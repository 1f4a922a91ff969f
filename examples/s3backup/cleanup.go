package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/internal/initiator"
)

// cleanupStale aborts the multipart uploads under the prefix that this tool left behind
// (an interrupted or killed run) and reports those it may not abort.
//
// Uploads named by a resume state file of a file this run sends are continued, not aborted.
// An upload is the tool's own when its ID is in the local upload journal, or when the
// server names its initiator and that is the caller, or, on servers that do not report
// initiators, when its key is one the tool writes (a file of DIR, a file in the manifest,
// or the manifest). Uploads started after this run began are left alone, and so are
// uploads of other initiators (reported). Whether the caller may abort follows the
// owner-or-initiator rules (preflight decides, for the server profile in use); a refusal
// is reported with who may abort the upload and how to clean it up. With dry set, nothing
// is aborted: the uploads that would be are listed.
func (b *backupRun) cleanupStale(ctx context.Context, managed map[string]bool, dry bool) error {
	d := b.o.dest
	ups, err := cmdkit.ListUploads(ctx, b.client, d.Bucket, d.Prefix)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.sum.warn("could not list the multipart uploads under the prefix (%s): uploads left by an interrupted run were not cleaned up", cmdkit.ErrText(err))
		return nil
	}
	for _, u := range ups {
		key, id := aws.ToString(u.Key), aws.ToString(u.UploadId)
		if u.Initiated != nil && u.Initiated.After(b.runAt) {
			continue
		}
		if _, ok := b.states.byID[id]; ok {
			continue // this run continues it
		}
		arn := initiator.ARN(u.Initiator)
		rel := strings.TrimPrefix(key, d.Prefix)
		own := b.jnl.has(id) ||
			(arn != "" && b.perm.caller != "" && arn == b.perm.caller) ||
			(arn == "" && (managed[rel] || b.store.get(rel) != nil || key == d.manifestKey()))
		su := staleUpload{Key: key, UploadID: id, Initiator: arn}
		if u.Initiated != nil {
			su.Initiated = *u.Initiated
		}
		if !own {
			who := arn
			if who == "" {
				who = "an unknown initiator"
			}
			su.Reason = fmt.Sprintf("not started by this tool (initiator %s); left alone", who)
			b.sum.NotAbortedUploads = append(b.sum.NotAbortedUploads, su)
			continue
		}
		if reason, denied := b.perm.abortDenied(key, arn); denied {
			su.Reason = reason
			b.sum.NotAbortedUploads = append(b.sum.NotAbortedUploads, su)
			continue
		}
		if dry {
			su.Reason = "would be aborted"
			b.sum.AbortedUploads = append(b.sum.AbortedUploads, su)
			continue
		}
		_, err := b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(d.Bucket), Key: u.Key, UploadId: u.UploadId})
		if err != nil && cmdkit.APICode(err) != "NoSuchUpload" {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			su.Reason = "abort failed: " + cmdkit.ErrText(err)
			if cmdkit.APICode(err) == "AccessDenied" {
				su.Reason += "; " + b.perm.whoMayAbort(key, arn)
			}
			b.sum.NotAbortedUploads = append(b.sum.NotAbortedUploads, su)
			continue
		}
		b.jnl.done(id)
		b.sum.AbortedUploads = append(b.sum.AbortedUploads, su)
	}
	return nil
}
