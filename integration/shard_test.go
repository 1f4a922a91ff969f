package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// shardRun is the --json output of `s3mpu upload-shard`.
type shardRun struct {
	Shard        int     `json:"shard"`
	UploadID     string  `json:"upload_id"`
	FirstPart    int32   `json:"first_part"`
	LastPart     int32   `json:"last_part"`
	PartsSent    []int32 `json:"parts_sent"`
	PartsSkipped []int32 `json:"parts_skipped"`
}

// partRange returns the part numbers first..last.
func partRange(first, last int32) []int32 {
	var out []int32
	for n := first; n <= last; n++ {
		out = append(out, n)
	}
	return out
}

// shardWorker starts `s3mpu upload-shard` as the scheduler would: the shard index in the
// environment variable envVar.
func shardWorker(ctx context.Context, c *relCLI, envVar string, idx int, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, c.bin, append(c.globals(), append([]string{"upload-shard", "--json", "--progress", "none"}, args...)...)...)
	cmd.Env = append(c.environ(), fmt.Sprintf("%s=%d", envVar, idx))
	cmd.Dir = c.home
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	return cmd, &so, &se
}

// TestShardedUploadCLI plays the job scheduler for a sharded upload of a 50 MiB file in 10
// parts of 5 MiB and 4 shards: four `s3mpu upload-shard` processes started at once, each
// with its index in the variable a scheduler sets; the worker of shard 1 is slowed down and
// killed with SIGKILL once the server holds its first part. `complete` then refuses
// (exit 1, naming shard 1) and completes nothing; shard 1 is run again and sends only its
// missing parts; a worker given a source whose modification time changed since the plan is
// refused; `complete` then stores the object, byte-identical to the file, and no upload is
// left. A second plan, written to S3, is discarded with `uploads abort --plan`.
func TestShardedUploadCLI(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("shard"))
	c := newRelCLI(t, env, env.HTTPS(), env.Users["root"])
	root := env.Root(env.HTTP())
	dir := t.TempDir()
	src := relSource{seed: 20, size: 50 * relMiB}
	file, err := src.writeFile(dir, "source.bin")
	if err != nil {
		t.Fatal(err)
	}
	key := "sharded/object.bin"
	plan := filepath.Join(dir, "plan.json")
	r := c.run(t, nil, "plan", file, "s3://"+bucket+"/"+key, "--shards", "4", "--plan-out", plan,
		"--part-size", "5MiB", "--preflight", "off", "--json")
	if r.Code != 0 {
		t.Fatalf("plan: exit %d: %s", r.Code, r.Stderr)
	}
	var pr struct {
		UploadID string `json:"upload_id"`
		Parts    int32  `json:"parts"`
		Shards   int    `json:"shards"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &pr); err != nil || pr.Parts != 10 || pr.Shards != 4 || pr.UploadID == "" {
		t.Fatalf("plan output %q (%v)", r.Stdout, err)
	}
	// Shards: parts 1-2, 3-5, 6-7, 8-10.
	ranges := [][2]int32{{1, 2}, {3, 5}, {6, 7}, {8, 10}}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const killed = 1
	vars := []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX"}
	type worker struct {
		cmd    *exec.Cmd
		so, se *bytes.Buffer
	}
	workers := make([]worker, 4)
	for i := range workers {
		args := []string{"--plan", plan}
		if i == killed {
			// One part at a time, slowly: it is killed once its first part is stored.
			args = append(args, "--concurrency", "1", "--rate-limit", "3MiB/s")
		}
		cmd, so, se := shardWorker(ctx, c, vars[i], i, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[i] = worker{cmd, so, se}
	}
	// Kill shard 1's worker as soon as ListParts shows one of its parts.
	storedBeforeKill := 0
	for deadline := time.Now().Add(time.Minute); storedBeforeKill == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("shard 1 stored no part within a minute")
		}
		out, err := root.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(pr.UploadID)})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Parts {
			if n := aws.ToInt32(p.PartNumber); n >= ranges[killed][0] && n <= ranges[killed][1] {
				storedBeforeKill++
			}
		}
	}
	if err := workers[killed].cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	sent := map[int32]int{} // part number -> times sent, by the runs that reported
	for i, w := range workers {
		err := w.cmd.Wait()
		if i == killed {
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != -1 {
				t.Fatalf("shard %d worker was not killed: %v, %s", i, err, w.se)
			}
			continue
		}
		if err != nil {
			t.Fatalf("shard %d worker: %v: %s", i, err, w.se)
		}
		var sr shardRun
		if err := json.Unmarshal(w.so.Bytes(), &sr); err != nil {
			t.Fatalf("shard %d output %q: %v", i, w.so, err)
		}
		want := partRange(ranges[i][0], ranges[i][1])
		if sr.Shard != i || !slices.Equal(sr.PartsSent, want) || len(sr.PartsSkipped) != 0 {
			t.Fatalf("shard %d sent %v, skipped %v; want %v sent", i, sr.PartsSent, sr.PartsSkipped, want)
		}
		for _, n := range sr.PartsSent {
			sent[n]++
		}
	}

	// Shard 1 is incomplete: complete names it and completes nothing.
	r = c.run(t, nil, "complete", "--plan", plan, "--json")
	if r.Code != 1 || !strings.Contains(r.Stderr, "shard 1 incomplete") {
		t.Fatalf("complete with shard 1 killed: exit %d, stderr %s", r.Code, r.Stderr)
	}
	var cr struct {
		Complete         bool  `json:"complete"`
		IncompleteShards []int `json:"incomplete_shards"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &cr); err != nil || cr.Complete || !slices.Equal(cr.IncompleteShards, []int{killed}) {
		t.Fatalf("complete output %q (%v)", r.Stdout, err)
	}
	if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
		t.Fatal("an incomplete plan stored the object")
	}

	// The rerun of shard 1 sends only the parts the killed worker did not store.
	r = c.run(t, nil, "upload-shard", "--plan", plan, "--shard", "1", "--json", "--progress", "none")
	if r.Code != 0 {
		t.Fatalf("rerun of shard 1: exit %d: %s", r.Code, r.Stderr)
	}
	var rerun shardRun
	if err := json.Unmarshal([]byte(r.Stdout), &rerun); err != nil {
		t.Fatal(err)
	}
	all := partRange(ranges[killed][0], ranges[killed][1])
	got := slices.Sorted(slices.Values(append(slices.Clone(rerun.PartsSent), rerun.PartsSkipped...)))
	if len(rerun.PartsSkipped) < storedBeforeKill || !slices.Equal(got, all) || !slices.Contains(rerun.PartsSkipped, all[0]) {
		t.Fatalf("rerun sent %v, skipped %v; the killed worker had stored %d of %v", rerun.PartsSent, rerun.PartsSkipped, storedBeforeKill, all)
	}
	for _, n := range rerun.PartsSent {
		sent[n]++
	}
	for n := int32(1); n <= 10; n++ {
		stored := slices.Contains(rerun.PartsSkipped, n)
		if sent[n] > 1 || (sent[n] == 0) != stored {
			t.Fatalf("part %d sent %d times by the reporting runs (stored by the killed run: %v)", n, sent[n], stored)
		}
	}
	t.Logf("killed worker stored %d part(s) (%v seen by ListParts before the kill); rerun sent %v", len(rerun.PartsSkipped), storedBeforeKill, rerun.PartsSent)

	// A source whose modification time changed since the plan is refused, and sends nothing.
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	later := fi.ModTime().Add(time.Hour)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	r = c.run(t, nil, "upload-shard", "--plan", plan, "--shard", "0")
	if r.Code != 1 || !strings.Contains(r.Stderr, "changed") || !strings.Contains(r.Stderr, "nothing was sent") {
		t.Fatalf("changed source: exit %d: %s", r.Code, r.Stderr)
	}
	if err := os.Chtimes(file, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}

	r = c.run(t, nil, "complete", "--plan", plan, "--json")
	if r.Code != 0 {
		t.Fatalf("complete: exit %d: %s", r.Code, r.Stderr)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &cr); err != nil || !cr.Complete {
		t.Fatalf("complete output %q (%v)", r.Stdout, err)
	}
	size, sum, err := relObjectSum(ctx, root, bucket, key)
	if err != nil || size != src.size || sum != src.sum() {
		t.Fatalf("stored object differs from the file (%d of %d bytes, %v)", size, src.size, err)
	}

	// A plan kept in S3, one shard stored, then discarded.
	small := relSource{seed: 21, size: 11 * relMiB}
	file2, err := small.writeFile(dir, "small.bin")
	if err != nil {
		t.Fatal(err)
	}
	planURL := "s3://" + bucket + "/plans/small.json"
	r = c.run(t, nil, "plan", file2, "s3://"+bucket+"/small.bin", "--shards", "2", "--plan-out", planURL, "--part-size", "5MiB", "--preflight", "off")
	if r.Code != 0 {
		t.Fatalf("plan to S3: exit %d: %s", r.Code, r.Stderr)
	}
	if r = c.run(t, nil, "upload-shard", "--plan", planURL, "--shard", "1", "--progress", "none"); r.Code != 0 {
		t.Fatalf("upload-shard from an S3 plan: exit %d: %s", r.Code, r.Stderr)
	}
	if r = c.run(t, nil, "uploads", "abort", "--plan", planURL); r.Code != 0 {
		t.Fatalf("uploads abort --plan: exit %d: %s", r.Code, r.Stderr)
	}
	// A plan that cannot be written leaves no upload behind.
	r = c.run(t, nil, "plan", file2, "s3://"+bucket+"/unwritten.bin", "--shards", "2", "--part-size", "5MiB", "--preflight", "off",
		"--plan-out", "s3://"+bucket+"-no-such-bucket/plan.json")
	if r.Code != 1 || !strings.Contains(r.Stderr, "was aborted") {
		t.Fatalf("plan to a missing bucket: exit %d: %s", r.Code, r.Stderr)
	}
	left, err := env.ListUploads(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d uploads left", len(left))
	}
}
