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
	"github.com/s3mpu/s3mpu/uploader"
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
	direct := env.Root(env.HTTP())
	for _, u := range before {
		if strings.Contains(r.Stdout, aws.ToString(u.UploadId)) {
			continue
		}
		// A child killed while its CompleteMultipartUpload was in flight leaves the
		// server to finish it: listed before cleanup, the upload may be an object by
		// the time cleanup lists. That is no orphan (the listing after cleanup shows
		// none), but the object must then exist.
		if _, err := direct.HeadObject(ctx, relHead(bucket, aws.ToString(u.Key))); err == nil {
			t.Logf("upload %s of %s was completed by the server after the listing", aws.ToString(u.UploadId), aws.ToString(u.Key))
			continue
		}
		t.Errorf("cleanup output does not name upload %s", aws.ToString(u.UploadId))
	}
	// Objects that exist must be the source, byte for byte.
	want := src.sum()
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

// TestKillWithStateResumes kills an uploading child process with SIGKILL at random moments
// during 20 uploads (60 with S3MPU_SOAK=1) that keep a state file, some of them twice,
// then runs the child again with the same state file: every upload completes, every object
// is identical to its source, the resumed runs send only the parts the server lacked, and no
// multipart upload is left.
func TestKillWithStateResumes(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("killresume"))
	bin := relBuild(t, ".", "./cmd/killupload", "killupload")
	n := 20
	if relSoak() {
		n = 60
	}
	seed := relSeed(t)
	t.Logf("kill-resume run seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	dir := t.TempDir()
	const partSize = 5 * relMiB
	type item struct {
		key, path, state string
		src              relSource
		parts            int
	}
	var items []item
	for i := range n {
		src := relSource{seed: seed + uint64(i), size: 12*relMiB + rng.Int64N(24*relMiB)}
		p, err := src.writeFile(dir, fmt.Sprintf("src-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, item{key: fmt.Sprintf("resume/%02d", i), path: p, state: p + ".state", src: src,
			parts: int((src.size + partSize - 1) / partSize)})
	}
	var killed, kills2, resumedRuns, restarted, partsTotal, partsResent, partsStored, alreadyStored int
	for i, it := range items {
		tgt := env.Targets()[i%2]
		args := []string{"-bucket", bucket, "-key", it.key, "-file", it.path, "-state", it.state,
			"-part-size", fmt.Sprint(partSize), "-concurrency", "2", "-rate", fmt.Sprint(40 * relMiB)}
		moments := killMoments(rng, 4, it.parts)
		first := moments[i%4]
		res := killRun(t, bin, env, tgt, first, args...)
		if res.Killed {
			killed++
		}
		log := []string{fmt.Sprintf("kill %v: %q", first, res.Lines)}
		if i%3 == 0 { // a second kill, during the resumed run
			second := moments[(i+2)%4]
			res2 := killRun(t, bin, env, tgt, second, args...)
			if res2.Killed {
				kills2++
			}
			log = append(log, fmt.Sprintf("kill %v: %q", second, res2.Lines))
		}
		// An upload killed during Complete may already be stored: resuming it must then send
		// nothing (the uploader finds the object with HeadObject).
		// (When the killed run had also removed its state file, there is nothing to resume
		// and the final run is a new upload.)
		// (A later killed run that found no state file starts a new upload of the same key:
		// its state file then names an upload still in progress, which the final run
		// resumes, whatever object an earlier run stored.)
		storedBefore := false
		if st, err := uploader.ReadState(it.state); err == nil && !relUploadExists(t, env, bucket, it.key, st.UploadID) {
			if n, got, err := relObjectSum(testCtx(t), env.Root(env.HTTP()), bucket, it.key); err == nil && n == it.src.size && got == it.src.sum() {
				storedBefore = true
			}
		}
		final := killRun(t, bin, env, tgt, killMoment{name: "never", after: "never"}, args...)
		log = append(log, fmt.Sprintf("final: %q", final.Lines))
		t.Logf("%s over %s (%d parts): %s", it.key, tgt.Name, it.parts, strings.Join(log, "; "))
		sent, done := 0, false
		for _, l := range final.Lines {
			word, rest, _ := strings.Cut(l, " ")
			switch word {
			case "part":
				sent++
			case "completed":
				done = true
			case "resumed":
				resumedRuns++
				var stored, toSend int
				if _, err := fmt.Sscanf(rest, "%d %d", &stored, &toSend); err == nil {
					partsStored += stored
					if stored+toSend != it.parts {
						t.Errorf("%s: resumed with %d stored + %d to send, want %d parts", it.key, stored, toSend, it.parts)
					}
					if sent := countWord(final.Lines, "part"); sent != toSend {
						t.Errorf("%s: resumed run sent %d parts, announced %d", it.key, sent, toSend)
					}
				}
			case "restarted":
				restarted++
			}
		}
		partsTotal += it.parts
		partsResent += sent
		if storedBefore {
			alreadyStored++
			if sent > 0 {
				t.Errorf("%s: the object was already stored by the killed run's Complete (its state file kept), yet the resumed run sent %d parts again: %q", it.key, sent, final.Lines)
			}
		}
		if !done {
			t.Errorf("%s: the resumed run did not complete: %q", it.key, final.Lines)
		}
		if _, err := os.Stat(it.state); err == nil {
			t.Errorf("%s: state file left after completion", it.key)
		}
	}
	ctx := testCtx(t)
	left, err := env.ListUploads(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range left {
		t.Errorf("orphan: %s (%s)", aws.ToString(u.Key), aws.ToString(u.UploadId))
	}
	direct := env.Root(env.HTTP())
	identical := 0
	for _, it := range items {
		n, got, err := relObjectSum(ctx, direct, bucket, it.key)
		if err != nil || n != it.src.size || got != it.src.sum() {
			t.Errorf("%s: stored object differs from its source (%d of %d bytes, err %v)", it.key, n, it.src.size, err)
			continue
		}
		identical++
	}
	t.Logf("tally: %d uploads (%d parts), %d killed in the first run, %d killed again while resuming; final runs: %d resumed "+
		"(%d parts found stored), %d restarted; %d parts sent by the final runs; %d objects already stored (state file kept) before the final run; "+
		"%d objects identical; %d orphans",
		n, partsTotal, killed, kills2, resumedRuns, partsStored, restarted, partsResent, alreadyStored, identical, len(left))
	if killed < n/2 {
		t.Errorf("only %d of %d children were killed mid-upload", killed, n)
	}
}

func countWord(lines []string, word string) int {
	n := 0
	for _, l := range lines {
		if w, _, _ := strings.Cut(l, " "); w == word {
			n++
		}
	}
	return n
}

// TestKillCLIUploadResumes kills `s3mpu upload --state FILE` with SIGKILL at random moments
// (6 uploads, 30 with S3MPU_SOAK=1) and runs the same command again: it must finish with
// exit 0, remove the state file, store an object identical to the file, and leave no upload.
func TestKillCLIUploadResumes(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("killcli"))
	cli := newRelCLI(t, env, env.HTTPS(), env.Users["root"])
	if !strings.Contains(cli.runRaw(t, nil, "upload", "--help").Stdout, "--state") {
		t.Fatal("s3mpu upload has no --state flag")
	}
	n := 6
	if relSoak() {
		n = 30
	}
	seed := relSeed(t)
	t.Logf("CLI kill run seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	dir := t.TempDir()
	resumed := 0
	for i := range n {
		src := relSource{seed: seed + uint64(i), size: 10*relMiB + rng.Int64N(15*relMiB)}
		p, err := src.writeFile(dir, fmt.Sprintf("src-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		tgt := env.Targets()[i%2]
		c := *cli
		c.tgt = tgt
		key := fmt.Sprintf("cli-resume/%d", i)
		state := p + ".state"
		args := []string{"upload", p, "s3://" + bucket + "/" + key, "--preflight", "off", "--progress", "lines",
			"--part-size", "5MiB", "--concurrency", "2", "--rate-limit", "30MiB/s", "--state", state}
		delay := time.Duration(50+rng.IntN(500)) * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, c.bin, append(c.globals(), args...)...)
		cmd.Env = c.environ()
		cmd.Dir = c.home
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		tm := time.AfterFunc(delay, func() { _ = cmd.Process.Kill() })
		werr := cmd.Wait()
		tm.Stop()
		cancel()
		_, stateErr := os.Stat(state)
		r := c.run(t, nil, args...)
		if stateErr == nil && strings.Contains(r.Stderr, "resuming upload") {
			resumed++
		}
		t.Logf("%s over %s: killed after %v (%v; state file kept: %v); rerun exit %d: %s", key, tgt.Name, delay, werr, stateErr == nil, r.Code,
			strings.ReplaceAll(strings.TrimSpace(r.Stderr), "\n", " | "))
		if r.Code != 0 {
			t.Errorf("%s: rerun exited %d: %s", key, r.Code, r.Stderr)
			continue
		}
		if _, err := os.Stat(state); err == nil {
			t.Errorf("%s: state file left after the upload completed", key)
		}
		ctx2 := testCtx(t)
		got, sum, err := relObjectSum(ctx2, env.Root(env.HTTP()), bucket, key)
		if err != nil || got != src.size || sum != src.sum() {
			t.Errorf("%s: stored object differs from the file (%d of %d bytes, err %v)", key, got, src.size, err)
		}
	}
	left, err := env.ListUploads(testCtx(t), bucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range left {
		t.Errorf("orphan: %s (%s)", aws.ToString(u.Key), aws.ToString(u.UploadId))
	}
	t.Logf("tally: %d CLI uploads killed and rerun, %d reruns resumed the killed upload (the others started over), %d orphans", n, resumed, len(left))
}

// relUploadExists reports whether the multipart upload id of key is still in progress.
func relUploadExists(t *testing.T, env *s3test.Env, bucket, key, id string) bool {
	t.Helper()
	if id == "" {
		return false
	}
	_, err := env.Root(env.HTTP()).ListParts(testCtx(t), &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(id)})
	return err == nil
}
