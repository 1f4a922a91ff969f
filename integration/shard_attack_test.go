package integration

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// TestShardPlanMisuse runs the sharded-upload commands the way a confused user or a
// careless script would, against the server:
//   - `plan --plan-out s3://...` naming a plan that already exists refuses before creating
//     anything (as a local --plan-out does), and the first plan keeps its upload;
//   - `complete` run again after it succeeded fails with exit 1 and does not claim that the
//     upload was left in place with its parts (it no longer exists);
//   - `uploads abort --plan` while a worker sends its shard: the worker exits 1, never 0
//     (a part in flight during the abort may still be stored).
func TestShardPlanMisuse(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("shardmis"))
	c := newRelCLI(t, env, env.HTTPS(), env.Users["root"])
	root := env.Root(env.HTTP())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	src := relSource{seed: 30, size: 11 * relMiB}
	file, err := src.writeFile(dir, "source.bin")
	if err != nil {
		t.Fatal(err)
	}
	planURL := "s3://" + bucket + "/plans/p.json"
	plan := func(key string) relCLIRun {
		return c.run(t, nil, "plan", file, "s3://"+bucket+"/"+key, "--shards", "2", "--plan-out", planURL,
			"--part-size", "5MiB", "--preflight", "off")
	}
	readPlan := func() string {
		out, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("plans/p.json")})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if r := plan("a.bin"); r.Code != 0 {
		t.Fatalf("plan: exit %d: %s", r.Code, r.Stderr)
	}
	first := readPlan()
	r := plan("b.bin")
	if r.Code != 2 || !strings.Contains(r.Stderr, "exists") {
		t.Errorf("second plan to the same s3:// --plan-out: exit %d: %s", r.Code, r.Stderr)
	}
	if got := readPlan(); got != first {
		t.Errorf("the first plan was overwritten; its upload is lost:\n%s", got)
	}
	left, err := env.ListUploads(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || aws.ToString(left[0].Key) != "a.bin" {
		t.Errorf("uploads after the refused plan: %d (want only a.bin's)", len(left))
	}

	// Complete, then complete again.
	for i := range 2 {
		if r := c.run(t, nil, "upload-shard", "--plan", planURL, "--shard", string(rune('0'+i)), "--progress", "none"); r.Code != 0 {
			t.Fatalf("upload-shard %d: exit %d: %s", i, r.Code, r.Stderr)
		}
	}
	if r := c.run(t, nil, "complete", "--plan", planURL); r.Code != 0 {
		t.Fatalf("complete: exit %d: %s", r.Code, r.Stderr)
	}
	r = c.run(t, nil, "complete", "--plan", planURL)
	if r.Code != 1 || !strings.Contains(r.Stderr, "no longer exists") || strings.Contains(r.Stderr, "left in place") {
		t.Errorf("complete run again: exit %d: %s", r.Code, r.Stderr)
	}
	r = c.run(t, nil, "upload-shard", "--plan", planURL, "--shard", "0", "--progress", "none")
	if r.Code != 1 || strings.Contains(r.Stderr, "left in place") {
		t.Errorf("upload-shard after complete: exit %d: %s", r.Code, r.Stderr)
	}
	size, sum, err := relObjectSum(ctx, root, bucket, "a.bin")
	if err != nil || size != src.size || sum != src.sum() {
		t.Fatalf("stored object differs from the file (%d of %d bytes, %v)", size, src.size, err)
	}
	_ = os.Remove(filepath.Join(dir, "source.bin"))

	// Abort the plan while a worker sends its shard: the worker must not exit 0.
	big := relSource{seed: 31, size: 20 * relMiB}
	bigFile, err := big.writeFile(dir, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	localPlan := filepath.Join(dir, "abort.json")
	if r := c.run(t, nil, "plan", bigFile, "s3://"+bucket+"/abort.bin", "--shards", "1", "--plan-out", localPlan,
		"--part-size", "5MiB", "--preflight", "off"); r.Code != 0 {
		t.Fatalf("plan: exit %d: %s", r.Code, r.Stderr)
	}
	cmd, _, se := shardWorker(ctx, c, "JOB_COMPLETION_INDEX", 0, "--plan", localPlan, "--concurrency", "1", "--rate-limit", "4MiB/s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		ups, err := env.ListUploads(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if len(ups) != 1 {
			t.Fatalf("%d uploads", len(ups))
		}
		out, err := root.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("abort.bin"), UploadId: ups[0].UploadId})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Parts) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no part stored within a minute")
		}
	}
	if r := c.run(t, nil, "uploads", "abort", "--plan", localPlan); r.Code != 0 {
		t.Fatalf("uploads abort --plan: exit %d: %s", r.Code, r.Stderr)
	}
	err = cmd.Wait()
	// The server answers the parts in flight during the abort as it likes: the shard's check
	// then finds the upload gone (AWS) or its parts missing (versitygw, whose ListParts
	// still answers for the aborted upload once a late part is written).
	if code := cmd.ProcessState.ExitCode(); code != 1 || !(strings.Contains(se.String(), "no longer exists") || strings.Contains(se.String(), "incomplete")) {
		t.Errorf("upload-shard whose plan was aborted meanwhile: exit %d (%v): %s", code, err, se.String())
	}
}
