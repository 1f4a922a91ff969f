package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/creack/pty"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// backupSummary is the part of `s3backup --json` output the tests read.
type backupSummary struct {
	Command       string `json:"command"`
	Files         int    `json:"files"`
	Uploaded      int    `json:"uploaded"`
	UploadedBytes int64  `json:"uploaded_bytes"`
	Unchanged     int    `json:"unchanged"`
	Deleted       []string
	Skipped       []struct{ Path, Reason string }
	Failed        []struct{ Path, Key, Reason string }
	WouldUpload   []string `json:"would_upload"`
	WouldDelete   []string `json:"would_delete"`
	Verified      int      `json:"verified"`
	Restored      int      `json:"restored"`
	Aborted       []struct {
		Key      string `json:"key"`
		UploadID string `json:"upload_id"`
	} `json:"aborted_uploads"`
	NotAborted []struct {
		Key, Reason string
	} `json:"not_aborted_uploads"`
	Resumed []struct {
		Key         string `json:"key"`
		UploadID    string `json:"upload_id"`
		PartsStored int    `json:"parts_stored"`
		PartsSent   int    `json:"parts_sent"`
	} `json:"resumed_uploads"`
	Preflight *struct {
		Mode     string   `json:"mode"`
		OK       bool     `json:"ok"`
		Problems []string `json:"problems"`
	} `json:"preflight"`
	Bytes       int64    `json:"bytes"`
	DurationSec float64  `json:"duration_seconds"`
	Error       string   `json:"error"`
	Warnings    []string `json:"warnings"`
}

// buildS3backup builds the s3backup binary into dir. It is built in the root module (the
// directory above this one), whose go.mod lists the command's dependencies (cobra); the
// integration module's replace directive points at the same source.
func buildS3backup(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "s3backup")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/s3backup")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building s3backup: %v\n%s", err, out)
	}
	return bin
}

// backupTool runs the built binary as one user against one target.
type backupTool struct {
	t        *testing.T
	bin      string
	env      []string
	global   []string // flags every command gets
	lastText string
}

func newBackupTool(t *testing.T, bin string, env *s3test.Env, tgt s3test.Target, u s3test.User, cacheDir string) *backupTool {
	home := t.TempDir()
	e := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=" + u.AccessKey, "AWS_SECRET_ACCESS_KEY=" + u.SecretKey, "AWS_REGION=" + env.Region(),
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
	// The machine may export AWS_CA_BUNDLE: keep it, the tool must cope with it.
	if v := os.Getenv("AWS_CA_BUNDLE"); v != "" {
		e = append(e, "AWS_CA_BUNDLE="+v)
	}
	g := []string{"--endpoint-url", tgt.Endpoint, "--cache-dir", cacheDir}
	if tgt.TLS {
		g = append(g, "--ca-bundle", env.CAFile())
	}
	return &backupTool{t: t, bin: bin, env: e, global: g}
}

// run executes `s3backup args... --json` and returns the decoded summary and exit code.
func (b *backupTool) run(ctx context.Context, args ...string) (*backupSummary, int) {
	b.t.Helper()
	cmd := exec.CommandContext(ctx, b.bin, append(append(args, b.global...), "--json")...)
	cmd.Env = b.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("s3backup %s: %v", args[0], err)
	}
	s := &backupSummary{}
	if jerr := json.Unmarshal(stdout.Bytes(), s); jerr != nil {
		b.t.Fatalf("s3backup %s (exit %d): output is not a JSON summary: %v\nstdout: %s\nstderr: %s", args[0], code, jerr, stdout.String(), stderr.String())
	}
	b.lastText = stdout.String() + stderr.String()
	return s, code
}

// text executes s3backup without --json and returns its output and exit code.
func (b *backupTool) text(ctx context.Context, args ...string) (string, int) {
	b.t.Helper()
	cmd := exec.CommandContext(ctx, b.bin, append(args, b.global...)...)
	cmd.Env = b.env
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("s3backup %s: %v", args[0], err)
	}
	return string(out), code
}

// makeTree writes the test tree: 2,000 regular files (empty, tiny, a few hundred KiB,
// and four of 6 to 12 MiB that take 2 or 3 parts of 5 MiB), nested up to four levels,
// some with non-ASCII names; plus a symbolic link and a named pipe the tool must skip.
func makeTree(t *testing.T, root string) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	content := rand.NewChaCha8([32]byte{1, 2, 3})
	var rels []string
	add := func(rel string, size int) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		_, _ = content.Read(data) // never fails
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	for i, mib := range []int{6, 8, 10, 12} {
		add(fmt.Sprintf("big/part-%d.bin", i), mib<<20+i*4097)
	}
	names := []string{"ünïcødé", "日本語", "emoji-😀", "space name", "ελληνικά"}
	for i := range 100 {
		add(fmt.Sprintf("empty/e%03d", i), 0)
	}
	for i := range 20 {
		add(fmt.Sprintf("medium/%s/m%02d.dat", names[i%len(names)], i), 100<<10+rng.IntN(300<<10))
	}
	for i := len(rels); i < 2000; i++ {
		dir := fmt.Sprintf("d%02d/s%d/t%d", i%20, i%7, i%3)
		name := fmt.Sprintf("f%04d.txt", i)
		if i%10 == 0 {
			name = fmt.Sprintf("%s-%04d.txt", names[i%len(names)], i)
		}
		add(dir+"/"+name, 1+rng.IntN(2000))
	}
	if err := os.Symlink("big", filepath.Join(root, "link-to-big")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "a-pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Files get distinct, whole-second modification times in the past, so a later touch is
	// always a change.
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for i, rel := range rels {
		mt := base.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(rel)), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(rels)
	return rels
}

func listKeys(ctx context.Context, t *testing.T, cli *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(cli, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), prefix))
		}
	}
	sort.Strings(keys)
	return keys
}

func failedPaths(s *backupSummary) []string {
	var out []string
	for _, f := range s.Failed {
		out = append(out, f.Path)
	}
	sort.Strings(out)
	return out
}

// TestS3backup runs the backup tool against the real server over HTTPS as root, on a tree
// of 2,000 files: a first run uploads everything, a second nothing; touching 5 files and
// deleting 3 sends and removes exactly those (a dry run lists exactly those first); a run
// killed with SIGKILL in the middle of its multipart uploads is completed by the next run,
// which continues the large files' uploads from their resume state (parts stored are not
// sent again) and aborts anything else the killed one left; verify finds everything in order; restore gives a byte-identical tree with the
// modification times and modes. The bucket's cleanup fails the test if any multipart upload
// is left.
func TestS3backup(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	// Runs before the bucket's own cleanup (which deletes objects one by one): remove the
	// ~8,000 objects in batches first.
	t.Cleanup(func() { emptyBucket(t, env, bucket) })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	work := t.TempDir()
	setup := time.Now()
	bin := buildS3backup(t, work)
	src := filepath.Join(work, "src")
	rels := makeTree(t, src)
	t.Logf("setup (build, tree): %v", time.Since(setup).Round(time.Millisecond))
	if len(rels) != 2000 {
		t.Fatalf("tree has %d files, want 2000", len(rels))
	}
	root, _ := env.User("root")
	tgt := env.HTTPS()
	tool := newBackupTool(t, bin, env, tgt, root, filepath.Join(work, "cache"))
	cli := env.Root(env.HTTP())
	dest := "s3://" + bucket + "/bk"
	common := []string{"--part-size", "5MiB", "--server-profile", "no-defaults", "--caller", root.ARN}

	t.Run("first run uploads everything", func(t *testing.T) {
		s, code := tool.run(ctx, append([]string{"run", src, dest}, common...)...)
		if code != 0 || s.Uploaded != 2000 || s.Unchanged != 0 || len(s.Failed) != 0 {
			t.Fatalf("exit %d, uploaded %d, unchanged %d, failed %v", code, s.Uploaded, s.Unchanged, s.Failed)
		}
		if s.Preflight == nil || !s.Preflight.OK {
			t.Errorf("preflight: %+v", s.Preflight)
		}
		var skipped []string
		for _, sk := range s.Skipped {
			skipped = append(skipped, sk.Path+": "+sk.Reason)
		}
		if len(skipped) != 2 || !strings.Contains(skipped[0], "a-pipe: special file") || !strings.Contains(skipped[1], "link-to-big: symbolic link") {
			t.Errorf("skipped = %q, want the pipe and the link", skipped)
		}
		keys := listKeys(ctx, t, cli, bucket, "bk/")
		want := append(slices.Clone(rels), ".s3backup/manifest.json")
		sort.Strings(want)
		if !slices.Equal(keys, want) {
			t.Fatalf("bucket holds %d keys, want the %d files and the manifest", len(keys), len(rels))
		}
		t.Logf("first run: %d files, %d bytes in %.2fs", s.Uploaded, s.UploadedBytes, s.DurationSec)
	})

	t.Run("second run uploads nothing", func(t *testing.T) {
		s, code := tool.run(ctx, append([]string{"run", src, dest}, common...)...)
		if code != 0 || s.Uploaded != 0 || s.Unchanged != 2000 || s.Bytes != 0 {
			t.Fatalf("exit %d, uploaded %d, unchanged %d, bytes %d", code, s.Uploaded, s.Unchanged, s.Bytes)
		}
		t.Logf("second run: %.2fs", s.DurationSec)
	})

	touched := []string{rels[3], rels[500], rels[1000], rels[1500], rels[1999]}
	deleted := []string{rels[10], rels[700], rels[1800]}
	// The kill and interrupt runs back up a part of the tree (the large files and five of the
	// twenty top directories), to keep the test short.
	subset := []string{"--include", "big", "--include", "d0[0-4]"}
	inSubset := 0
	for _, rel := range rels {
		if (strings.HasPrefix(rel, "big/") || rel >= "d00/" && rel < "d05/") && !slices.Contains(deleted, rel) {
			inSubset++
		}
	}
	t.Run("touch 5 and delete 3", func(t *testing.T) {
		now := time.Now()
		for i, rel := range touched {
			p := filepath.Join(src, filepath.FromSlash(rel))
			if i == 0 { // one changes content too
				if err := os.WriteFile(p, []byte("changed content"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chtimes(p, now, now); err != nil {
				t.Fatal(err)
			}
		}
		for _, rel := range deleted {
			if err := os.Remove(filepath.Join(src, filepath.FromSlash(rel))); err != nil {
				t.Fatal(err)
			}
		}
		wantTouched := slices.Clone(touched)
		sort.Strings(wantTouched)
		wantDeleted := slices.Clone(deleted)
		sort.Strings(wantDeleted)
		s, code := tool.run(ctx, append([]string{"run", src, dest, "--delete", "--dry-run"}, common...)...)
		if code != 0 || !slices.Equal(s.WouldUpload, wantTouched) || !slices.Equal(s.WouldDelete, wantDeleted) || s.Bytes != 0 {
			t.Fatalf("dry run: exit %d, would upload %q, would delete %q, sent %d bytes", code, s.WouldUpload, s.WouldDelete, s.Bytes)
		}
		if keys := listKeys(ctx, t, cli, bucket, "bk/"); len(keys) != 2001 {
			t.Fatalf("the dry run changed the bucket: %d keys", len(keys))
		}
		s, code = tool.run(ctx, append([]string{"run", src, dest, "--delete"}, common...)...)
		if code != 0 || s.Uploaded != 5 || s.Unchanged != 1992 || len(s.Failed) != 0 {
			t.Fatalf("exit %d, uploaded %d, unchanged %d, failed %v", code, s.Uploaded, s.Unchanged, s.Failed)
		}
		if !slices.Equal(s.Deleted, wantDeleted) {
			t.Fatalf("deleted %q, want %q", s.Deleted, wantDeleted)
		}
		keys := listKeys(ctx, t, cli, bucket, "bk/")
		for _, rel := range deleted {
			if slices.Contains(keys, rel) {
				t.Errorf("object of deleted file %s is still there", rel)
			}
		}
		if len(keys) != 1998 {
			t.Errorf("bucket holds %d keys, want 1997 files and the manifest", len(keys))
		}
		got, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("bk/" + touched[0])})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(got.Body)
		got.Body.Close()
		if buf.String() != "changed content" {
			t.Errorf("changed file's object holds %q", buf.String())
		}
		// A third run is a no-op again.
		s, code = tool.run(ctx, append([]string{"run", src, dest, "--delete"}, common...)...)
		if code != 0 || s.Uploaded != 0 || len(s.Deleted) != 0 {
			t.Fatalf("rerun: exit %d, uploaded %d, deleted %q", code, s.Uploaded, s.Deleted)
		}
	})

	t.Run("killed run is completed by the next", func(t *testing.T) {
		dest2 := "s3://" + bucket + "/killed"
		cacheDir := filepath.Join(work, "cache")
		// A rate limit keeps the run going long enough to be killed while its multipart
		// uploads (sent first, largest first) are in flight.
		cmd := exec.CommandContext(ctx, bin, append(append(append([]string{"run", src, dest2, "--rate-limit", "8MiB", "-q"}, common...), subset...), tool.global...)...)
		cmd.Env = tool.env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill once a multipart upload has a part stored and some files are recorded locally.
		deadline := time.Now().Add(60 * time.Second)
		for {
			ups, err := env.ListUploads(ctx, bucket)
			if err != nil {
				t.Fatal(err)
			}
			if len(ups) > 0 && localManifestFiles(t, cacheDir) >= 50 && anyPartStored(ctx, cli, bucket, ups) {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("the run never had a part stored while in flight; output:\n%s", out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		left, err := env.ListUploads(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			t.Fatal("the killed run left no multipart upload: the test did not kill it mid-upload")
		}
		before := len(listKeys(ctx, t, cli, bucket, "killed/"))
		s, code := tool.run(ctx, append(append([]string{"run", src, dest2}, common...), subset...)...)
		if code != 0 || len(s.Failed) != 0 {
			t.Fatalf("rerun: exit %d, failed %v, error %q", code, s.Failed, s.Error)
		}
		if s.Uploaded+s.Unchanged != inSubset || s.Unchanged == 0 {
			t.Fatalf("rerun uploaded %d and skipped %d: want the rest of %d, some skipped", s.Uploaded, s.Unchanged, inSubset)
		}
		// Each upload the killed run left is either continued (the large files have resume
		// state) or aborted; at least one continued with parts already stored.
		stored := 0
		for _, r := range s.Resumed {
			stored += r.PartsStored
		}
		if len(s.Aborted)+len(s.Resumed) < len(left) || len(s.NotAborted) != 0 || stored == 0 {
			t.Fatalf("rerun resumed %+v and aborted %d uploads (killed run left %d), not aborted %v", s.Resumed, len(s.Aborted), len(left), s.NotAborted)
		}
		if ups, _ := env.ListUploads(ctx, bucket); len(ups) != 0 {
			t.Fatalf("%d multipart uploads left after the rerun", len(ups))
		}
		keys := listKeys(ctx, t, cli, bucket, "killed/")
		if len(keys) != inSubset+1 {
			t.Fatalf("bucket holds %d keys under killed/, want %d files and the manifest", len(keys), inSubset)
		}
		t.Logf("killed with %d objects stored and %d uploads in flight; rerun uploaded %d, skipped %d, resumed %d uploads (%d parts not sent again), aborted %d",
			before, len(left), s.Uploaded, s.Unchanged, len(s.Resumed), stored, len(s.Aborted))
		s, code = tool.run(ctx, append(append([]string{"run", src, dest2}, common...), subset...)...)
		if code != 0 || s.Uploaded != 0 {
			t.Fatalf("third run: exit %d, uploaded %d", code, s.Uploaded)
		}
	})

	t.Run("interrupted run (SIGINT) exits 130 and is continued", func(t *testing.T) {
		dest3 := "s3://" + bucket + "/interrupted"
		cmd := exec.CommandContext(ctx, bin, append(append(append([]string{"run", src, dest3, "--rate-limit", "8MiB", "--json"}, common...), subset...), tool.global...)...)
		cmd.Env = tool.env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			ups, err := env.ListUploads(ctx, bucket)
			if err != nil {
				t.Fatal(err)
			}
			if anyPartStored(ctx, cli, bucket, ups) {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("no part stored in time; output:\n%s%s", out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("interrupted run ended with %v, want exit 130\n%s", err, errOut.String())
		}
		var s backupSummary
		var raw map[string]any
		if json.Unmarshal(out.Bytes(), &s) != nil || json.Unmarshal(out.Bytes(), &raw) != nil || raw["interrupted"] != true {
			t.Fatalf("interrupted run printed no summary marked interrupted:\n%s", out.String())
		}
		// The large files' uploads are kept for the next run, which continues them.
		if ups, _ := env.ListUploads(ctx, bucket); len(ups) == 0 {
			t.Fatal("the interrupted run kept no upload to resume")
		}
		s2, code := tool.run(ctx, append(append([]string{"run", src, dest3}, common...), subset...)...)
		if code != 0 || len(s2.Failed) != 0 || len(s2.Resumed) == 0 || s2.Uploaded+s2.Unchanged != inSubset || s2.Unchanged != s.Uploaded {
			t.Fatalf("rerun: exit %d, uploaded %d, unchanged %d (interrupted run uploaded %d), resumed %d, failed %v",
				code, s2.Uploaded, s2.Unchanged, s.Uploaded, len(s2.Resumed), s2.Failed)
		}
		if ups, _ := env.ListUploads(ctx, bucket); len(ups) != 0 {
			t.Fatalf("%d uploads left after the rerun", len(ups))
		}
	})

	t.Run("verify", func(t *testing.T) {
		s, code := tool.run(ctx, "verify", dest, src)
		if code != 0 || s.Verified != 1997 || len(s.Failed) != 0 {
			t.Fatalf("exit %d, verified %d, failed %v", code, s.Verified, s.Failed)
		}
		// Reading the objects back too (kept to the multi-part ones and a directory of small
		// files, to keep the test short).
		s, code = tool.run(ctx, "verify", dest, src, "--download", "--include", "big", "--include", "d01")
		if code != 0 || s.Verified < 50 || len(s.Failed) != 0 {
			t.Fatalf("verify --download: exit %d, verified %d, failed %v", code, s.Verified, s.Failed)
		}
		// A local change is found.
		p := filepath.Join(src, filepath.FromSlash(rels[42]))
		fi, _ := os.Stat(p)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), int(fi.Size())), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		s, code = tool.run(ctx, "verify", dest, src, "--include", strings.Split(rels[42], "/")[0])
		if code != 1 || len(s.Failed) != 1 || s.Failed[0].Path != rels[42] || !strings.Contains(s.Failed[0].Reason, "CRC32C") {
			t.Fatalf("after an in-place change: exit %d, failed %v", code, s.Failed)
		}
	})

	t.Run("restore is byte-identical", func(t *testing.T) {
		dst := filepath.Join(work, "restored")
		s, code := tool.run(ctx, "restore", dest, dst, "--part-size", "4MiB")
		if code != 0 || s.Restored != 1997 || len(s.Failed) != 0 {
			t.Fatalf("exit %d, restored %d, failed %v", code, s.Restored, s.Failed)
		}
		// rels[42] was changed in place after the backup (verify above): restore gives the
		// backed-up bytes; put the original back in src to compare the whole tree.
		orig, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(rels[42])))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(orig, bytes.Repeat([]byte("x"), len(orig))) {
			t.Fatal("restore returned the local change, not the backup")
		}
		compareTrees(t, src, dst, rels[42])
		t.Logf("restore: %d files, %d bytes in %.2fs", s.Restored, s.Bytes, s.DurationSec)
	})
}

// emptyBucket deletes every object of bucket with DeleteObjects, 1,000 keys a request.
func emptyBucket(t *testing.T, env *s3test.Env, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli := env.Root(env.HTTP())
	p := s3.NewListObjectsV2Paginator(cli, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Errorf("listing %s: %v", bucket, err)
			return
		}
		if len(page.Contents) == 0 {
			continue
		}
		var ids []types.ObjectIdentifier
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := cli.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			t.Errorf("emptying %s: %v", bucket, err)
			return
		}
	}
}

// anyPartStored reports whether one of the uploads has a part stored.
func anyPartStored(ctx context.Context, cli *s3.Client, bucket string, ups []types.MultipartUpload) bool {
	for _, u := range ups {
		out, err := cli.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId})
		if err == nil && len(out.Parts) > 0 {
			return true
		}
	}
	return false
}

// localManifestFiles returns the number of files recorded in any local manifest cache under dir.
func localManifestFiles(t *testing.T, dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "manifest.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		var m struct {
			Prefix string                     `json:"prefix"`
			Files  map[string]json.RawMessage `json:"files"`
		}
		if json.Unmarshal(b, &m) == nil && m.Prefix == "killed/" {
			n += len(m.Files)
		}
		return nil
	})
	return n
}

// compareTrees checks that every regular file of src but ignore is in dst with the same
// bytes, mode and modification time, and that dst holds nothing else.
func compareTrees(t *testing.T, src, dst, ignore string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		if rel == ignore {
			return nil
		}
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(rel)))
		if err != nil {
			t.Errorf("%s: not restored: %v", rel, err)
			return nil
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: restored content differs", rel)
		}
		fa, _ := os.Stat(p)
		fb, _ := os.Stat(filepath.Join(dst, filepath.FromSlash(rel)))
		if !fa.ModTime().Equal(fb.ModTime()) || fa.Mode() != fb.Mode() {
			t.Errorf("%s: restored with mtime %v mode %v, want %v %v", rel, fb.ModTime(), fb.Mode(), fa.ModTime(), fa.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, p)
			if !seen[filepath.ToSlash(rel)] {
				t.Errorf("restore made an extra file %s", rel)
			}
			n++
		}
		return nil
	})
	if n != len(seen) {
		t.Errorf("restored tree has %d files, source %d", n, len(seen))
	}
}

// TestS3backupDeniedPart runs the tool as a user whose policy denies s3:PutObject on part of
// the prefix: the files there fail with preflight's reason (from the probe, and from the
// local evaluator given the policy), the others are backed up, and nothing is left behind.
// A destination entirely inside the denied part is refused before anything is sent.
func TestS3backupDeniedPart(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := buildS3backup(t, work)
	u := env.NewUser(t, "s3backup-deny")
	pol := `{"Version":"2012-10-17","Statement":[
		{"Sid":"BucketAccess","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]},
		{"Sid":"NoSecrets","Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/*/secret/*"}]}`
	env.PutUserPolicy(t, u.Name, pol)
	polFile := filepath.Join(work, "policy.json")
	if err := os.WriteFile(polFile, []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(work, "src")
	var secret []string
	for i := range 30 {
		writeTestFile(t, src, fmt.Sprintf("open/f%02d.txt", i), 100+i)
	}
	writeTestFile(t, src, "open/big.bin", 6<<20)
	for i := range 10 {
		rel := fmt.Sprintf("secret/s%02d.txt", i)
		writeTestFile(t, src, rel, 100+i)
		secret = append(secret, rel)
	}
	writeTestFile(t, src, "secret/big.bin", 6<<20)
	secret = append(secret, "secret/big.bin")
	sort.Strings(secret)

	tool := newBackupTool(t, bin, env, env.HTTP(), u, filepath.Join(work, "cache"))
	common := []string{"--part-size", "5MiB", "--server-profile", "no-defaults", "--caller", u.ARN}
	cli := env.Root(env.HTTP())
	for _, mode := range []struct {
		name, prefix string
		args         []string
		reason       string
	}{
		{"probe", "bk", []string{"--preflight-mode", "probe"}, "denied"},
		{"local", "bk2", []string{"--preflight-mode", "local", "--identity-policy", polFile}, "NoSecrets"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			dest := "s3://" + bucket + "/" + mode.prefix
			s, code := tool.run(ctx, append(append([]string{"run", src, dest}, common...), mode.args...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (some files failed)\n%s", code, tool.lastText)
			}
			if got := failedPaths(s); !slices.Equal(got, secret) {
				t.Fatalf("failed %q, want the %d files under secret/", got, len(secret))
			}
			for _, f := range s.Failed {
				if !strings.Contains(f.Reason, "denied by preflight") || !strings.Contains(f.Reason, mode.reason) || !strings.Contains(f.Reason, "s3:PutObject") && mode.name == "local" {
					t.Errorf("%s failed with %q: want preflight's reason (%q)", f.Path, f.Reason, mode.reason)
				}
			}
			if s.Uploaded != 31 {
				t.Fatalf("uploaded %d: want the 31 files outside secret/", s.Uploaded)
			}
			t.Logf("%s: %d uploaded, %d failed, e.g. %s: %s", mode.name, s.Uploaded, len(s.Failed), s.Failed[0].Path, s.Failed[0].Reason)
			keys := listKeys(ctx, t, cli, bucket, mode.prefix+"/")
			for _, k := range keys {
				if strings.HasPrefix(k, "secret/") {
					t.Errorf("object %s was stored despite the deny", k)
				}
			}
			if len(keys) != 32 {
				t.Errorf("bucket holds %d keys, want the 31 open files and the manifest", len(keys))
			}
			if ups, _ := env.ListUploads(ctx, bucket); len(ups) != 0 {
				t.Fatalf("%d multipart uploads left", len(ups))
			}
		})
	}

	t.Run("whole prefix denied", func(t *testing.T) {
		dest := "s3://" + bucket + "/bk/secret/inner"
		out, code := tool.text(ctx, append([]string{"run", src, dest, "--preflight", "enforce", "--preflight-mode", "local", "--identity-policy", polFile}, common...)...)
		if code != 3 {
			t.Fatalf("exit %d, want 3 (denied by preflight)\n%s", code, out)
		}
		if !strings.Contains(out, "NoSecrets") || !strings.Contains(out, "Initiate") {
			t.Errorf("output does not explain the denial:\n%s", out)
		}
		if keys := listKeys(ctx, t, cli, bucket, "bk/secret/"); len(keys) != 0 {
			t.Fatalf("a denied run stored %q", keys)
		}
	})
}

func writeTestFile(t *testing.T, root, rel string, size int) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + len(rel))
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestS3backupProgressOnTerminal runs a rate-limited backup under a pseudo-terminal and
// checks the progress line (files done, bytes, rate) is drawn and redrawn in place, that the
// rate limit holds, and that without a terminal nothing but the summary is printed.
func TestS3backupProgressOnTerminal(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := buildS3backup(t, work)
	src := filepath.Join(work, "src")
	for i := range 20 {
		writeTestFile(t, src, fmt.Sprintf("f%02d", i), 256<<10)
	}
	root, _ := env.User("root")
	tool := newBackupTool(t, bin, env, env.HTTP(), root, filepath.Join(work, "cache"))
	args := append([]string{"run", src, "s3://" + bucket + "/tty", "--rate-limit", "5MiB", "--preflight", "off"}, tool.global...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = tool.env
	started := time.Now()
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, _ = io.Copy(&out, tty) // ends with EIO once the process exits
	tty.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run under a terminal: %v\n%s", err, out.String())
	}
	// 5 MiB at --rate-limit 5MiB (with a 256 KiB burst) cannot take much less than a second.
	if el := time.Since(started); el < 900*time.Millisecond {
		t.Errorf("5 MiB sent in %v despite --rate-limit 5MiB", el)
	}
	text := out.String()
	if n := strings.Count(text, "\r\x1b[K"); n < 2 {
		t.Fatalf("progress line drawn %d times, want it redrawn in place:\n%q", n, text)
	}
	if !strings.Contains(text, "uploaded 20/20 files, 5.0 MiB/5.0 MiB") || !strings.Contains(text, "/s") {
		t.Errorf("final progress line missing or wrong:\n%q", text)
	}
	plain, code := tool.text(ctx, "run", src, "s3://"+bucket+"/tty", "--preflight", "off")
	if code != 0 || strings.Contains(plain, "\x1b[") {
		t.Errorf("without a terminal: exit %d, output %q", code, plain)
	}
}

// TestS3backupStaleUploadNotAbortable leaves a multipart upload under the prefix as a user
// whose policy denies s3:AbortMultipartUpload (versitygw gives the initiator no default
// right to abort): with --preflight enforce the run refuses to start (an upload it could not
// clean up must not start); with --preflight warn it backs the files up and reports the
// stale upload it may not abort, with the reason and who may.
func TestS3backupStaleUploadNotAbortable(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := buildS3backup(t, work)
	u := env.NewUser(t, "s3backup-noabort")
	env.PutUserPolicy(t, u.Name, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::`+bucket+`","arn:aws:s3:::`+bucket+`/*"]},
		{"Sid":"KeepUploads","Effect":"Deny","Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::`+bucket+`/*"}]}`)
	src := filepath.Join(work, "src")
	writeTestFile(t, src, "a.txt", 10)
	writeTestFile(t, src, "b.txt", 20)
	cr, err := env.S3For(env.HTTP(), u).CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("st/a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { // the user cannot remove it; the bucket owner can
		if _, err := env.Root(env.HTTP()).AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("st/a.txt"), UploadId: cr.UploadId}); err != nil {
			t.Errorf("abort as root: %v", err)
		}
	}()
	tool := newBackupTool(t, bin, env, env.HTTP(), u, filepath.Join(work, "cache"))
	dest := "s3://" + bucket + "/st"
	common := []string{"--server-profile", "no-defaults", "--caller", u.ARN}

	out, code := tool.text(ctx, append([]string{"run", src, dest, "--preflight", "enforce"}, common...)...)
	if code != 3 || !strings.Contains(out, "Abort") {
		t.Fatalf("enforce: exit %d, want 3 with the Abort denial\n%s", code, out)
	}
	s, code := tool.run(ctx, append([]string{"run", src, dest, "--preflight", "warn"}, common...)...)
	if code != 0 || s.Uploaded != 2 {
		t.Fatalf("warn: exit %d, uploaded %d, failed %v", code, s.Uploaded, s.Failed)
	}
	if len(s.NotAborted) != 1 || s.NotAborted[0].Key != "st/a.txt" ||
		!strings.Contains(s.NotAborted[0].Reason, "s3:AbortMultipartUpload") || !strings.Contains(s.NotAborted[0].Reason, "lifecycle") {
		t.Fatalf("not aborted: %+v, want st/a.txt with the reason and the remedies", s.NotAborted)
	}
	t.Logf("reported: %s", s.NotAborted[0].Reason)
}

// TestS3backupNoCaller backs up to the test server given only --endpoint-url: no --caller, no
// STS endpoint, default flags. AWS's STS must not be asked (it does not know the server's
// keys); the preflight is decided by the probe alone and says so, and the backup runs.
func TestS3backupNoCaller(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := buildS3backup(t, work)
	src := filepath.Join(work, "src")
	writeTestFile(t, src, "small.txt", 100)
	writeTestFile(t, src, "sub/big.bin", 17<<20) // above the default part size: a multipart upload
	root, _ := env.User("root")
	tool := newBackupTool(t, bin, env, env.HTTP(), root, filepath.Join(work, "cache"))
	// An STS endpoint in the environment would be asked; the point is that none is.
	tool.env = append(tool.env, "AWS_ENDPOINT_URL_STS=")
	s, code := tool.run(ctx, "run", src, "s3://"+bucket+"/nc")
	if code != 0 || s.Uploaded != 2 || len(s.Failed) != 0 {
		t.Fatalf("exit %d, uploaded %d, failed %v: %s", code, s.Uploaded, s.Failed, tool.lastText)
	}
	if s.Preflight == nil || !s.Preflight.OK || !strings.Contains(s.Preflight.Mode, "caller unknown") {
		t.Fatalf("preflight %+v: want ok, decided by the probe with the caller unknown", s.Preflight)
	}
	if strings.Contains(tool.lastText, "sts:GetCallerIdentity") || strings.Contains(tool.lastText, "sts.") {
		t.Errorf("the run mentions STS:\n%s", tool.lastText)
	}
	keys := listKeys(ctx, t, env.Root(env.HTTP()), bucket, "nc/")
	if !slices.Equal(keys, []string{".s3backup/manifest.json", "small.txt", "sub/big.bin"}) {
		t.Fatalf("bucket holds %q", keys)
	}
	if ups, _ := env.ListUploads(ctx, bucket); len(ups) != 0 {
		t.Fatalf("%d multipart uploads left", len(ups))
	}
	t.Logf("preflight: %s; %d files, %d bytes in %.2fs", s.Preflight.Mode, s.Uploaded, s.UploadedBytes, s.DurationSec)
}
