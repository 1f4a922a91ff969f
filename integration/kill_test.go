package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// killMoment says when the child is killed.
type killMoment struct {
	name  string
	delay time.Duration // after start (mode "delay")
	after string        // kill when a line with this prefix has been seen this many times
	count int
}

func (m killMoment) String() string {
	if m.after == "" {
		return fmt.Sprintf("after %v", m.delay)
	}
	return fmt.Sprintf("after %q #%d", m.after, m.count)
}

// childResult is what a killed (or finished) child printed.
type killChildResult struct {
	Lines    []string
	Killed   bool // killed before it said "completed" or "error"
	UploadID string
}

// runAndKill starts the killupload child for one upload and kills it with SIGKILL at the
// moment m, unless it finishes first.
func killRun(t *testing.T, bin string, env *s3test.Env, tgt s3test.Target, m killMoment, args ...string) killChildResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	root := env.Users["root"]
	cmd.Env = append(os.Environ(), "KILLUPLOAD_ENDPOINT="+tgt.Endpoint, "KILLUPLOAD_CA_FILE="+env.CAFile(),
		"AWS_ACCESS_KEY_ID="+root.AccessKey, "AWS_SECRET_ACCESS_KEY="+root.SecretKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var res killChildResult
	seen := map[string]int{}
	var timer <-chan time.Time
	if m.after == "" {
		tm := time.NewTimer(m.delay)
		defer tm.Stop()
		timer = tm.C
	}
	kill := func() {
		_ = cmd.Process.Kill() // SIGKILL
		res.Killed = true
	}
loop:
	for {
		select {
		case <-timer:
			kill()
			timer = nil
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			res.Lines = append(res.Lines, l)
			word, rest, _ := strings.Cut(l, " ")
			if word == "started" {
				res.UploadID = rest
			}
			if word == "completed" || word == "error" {
				res.Killed = false
			}
			seen[word]++
			if !res.Killed && m.after != "" && word == m.after && seen[word] == m.count {
				kill()
			}
		}
	}
	_ = cmd.Wait()
	return res
}

// killMoments picks n moments to kill an upload of parts parts: at a random time from the
// start (often before CreateMultipartUpload), right after Create, after a random part,
// after the last part (while Complete runs).
func killMoments(rng *rand.Rand, n, parts int) []killMoment {
	var ms []killMoment
	for i := range n {
		switch i % 4 {
		case 0:
			ms = append(ms, killMoment{name: "time", delay: time.Duration(rng.IntN(400)) * time.Millisecond})
		case 1:
			ms = append(ms, killMoment{name: "after-create", after: "started", count: 1})
		case 2:
			ms = append(ms, killMoment{name: "mid-parts", after: "part", count: 1 + rng.IntN(max(parts-1, 1))})
		case 3:
			ms = append(ms, killMoment{name: "during-complete", after: "part", count: parts})
		}
	}
	return ms
}

// TestKillWithoutState kills an uploading child process with SIGKILL at random moments
// during 20 uploads (100 with S3MPU_SOAK=1), without a state file, then runs the CLI's
// `uploads cleanup`: afterwards no multipart upload is left and every object that exists
// (an upload killed after Complete) is identical to its source.
func TestKillWithoutState(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("kill"))
	bin := relBuild(t, ".", "./cmd/killupload", "killupload")
	cli := newRelCLI(t, env, env.HTTPS(), env.Users["root"])
	n := 20
	if relSoak() {
		n = 100
	}
	seed := relSeed(t)
	t.Logf("kill run seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	src := relSource{seed: seed, size: 30 * relMiB}
	path, err := src.writeFile(t.TempDir(), "src")
	if err != nil {
		t.Fatal(err)
	}
	const partSize = 5 * relMiB
	parts := int((src.size + partSize - 1) / partSize)
	moments := killMoments(rng, n, parts)
	killed, finished := 0, 0
	for i, m := range moments {
		tgt := env.Targets()[i%2]
		key := fmt.Sprintf("kill/%02d-%s", i, m.name)
		res := killRun(t, bin, env, tgt, m, "-bucket", bucket, "-key", key, "-file", path,
			"-part-size", fmt.Sprint(partSize), "-concurrency", "2", "-rate", fmt.Sprint(40*relMiB))
		if res.Killed {
			killed++
		} else {
			finished++
		}
		t.Logf("%s over %s: killed %v %v, lines %q", key, tgt.Name, res.Killed, m, res.Lines)
	}
	ctx := testCtx(t)
	before, err := env.ListUploads(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d uploads killed, %d finished first; %d multipart uploads left before cleanup", killed, finished, len(before))
	if killed < n/2 {
		t.Errorf("only %d of %d children were killed mid-upload", killed, n)
	}
	r := cli.run(t, nil, "uploads", "cleanup", "s3://"+bucket, "--older-than", "0",
		"--caller", env.Users["root"].ARN, "--server-profile", "nodefaults")
	t.Logf("s3mpu uploads cleanup: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Errorf("uploads cleanup exited %d, want 0", r.Code)
	}
	after, err := env.ListUploads(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range after {
		t.Errorf("orphan after cleanup: %s (%s)", aws.ToString(u.Key), aws.ToString(u.UploadId))
	}
	for _, u := range before {
		if !strings.Contains(r.Stdout, aws.ToString(u.UploadId)) {
			t.Errorf("cleanup output does not name upload %s", aws.ToString(u.UploadId))
		}
	}
	// Objects that exist must be the source, byte for byte.
	want := src.sum()
	direct := env.Root(env.HTTP())
	stored := 0
	for i, m := range moments {
		key := fmt.Sprintf("kill/%02d-%s", i, m.name)
		if _, err := direct.HeadObject(ctx, relHead(bucket, key)); err != nil {
			continue
		}
		stored++
		n, got, err := relObjectSum(ctx, direct, bucket, key)
		if err != nil || n != src.size || got != want {
			t.Errorf("%s: stored object differs from its source (%d bytes, err %v)", key, n, err)
		}
	}
	t.Logf("tally: %d uploads, %d killed, %d finished, %d orphans before cleanup, %d after, %d objects stored (all identical)",
		n, killed, finished, len(before), len(after), stored)
}

func relHead(bucket, key string) *s3.HeadObjectInput {
	return &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
}
