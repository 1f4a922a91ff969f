package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/creack/pty"
	"github.com/s3mpu/s3mpu/integration/s3test"
)

// cliUser is an IAM user of the test server with the environment and flags to run the CLI
// as that user against one target.
type cliUser struct {
	user   s3test.User
	env    []string
	global []string // --endpoint-url, --ca-bundle
}

func newCLIUser(t *testing.T, env *s3test.Env, tgt s3test.Target, u s3test.User) cliUser {
	t.Helper()
	global := []string{"--endpoint-url", tgt.Endpoint}
	if tgt.TLS {
		global = append(global, "--ca-bundle", env.CAFile())
	}
	return cliUser{user: u, env: cliEnv(t, "AWS_ACCESS_KEY_ID="+u.AccessKey, "AWS_SECRET_ACCESS_KEY="+u.SecretKey), global: global}
}

// run runs the binary as the user and checks that the user's secret key appears nowhere in
// its output.
func (c cliUser) run(t *testing.T, bin string, stdin []byte, args ...string) cliResult {
	t.Helper()
	r := cliRunBin(t, bin, c.env, stdin, append(append([]string{}, c.global...), args...)...)
	if strings.Contains(r.stdout+r.stderr, c.user.SecretKey) {
		t.Fatalf("the secret key appears in the output of %v", args)
	}
	return r
}

func cliPolicyAll(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]}]}`, bucket)
}

func cliPolicyDenyAbort(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
		`{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]},`+
		`{"Sid":"NeverAbort","Effect":"Deny","Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucket)
}

func cliWriteFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func cliRandomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func cliGetObject(t *testing.T, cli *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := cli.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cliListUploads(t *testing.T, env *s3test.Env, bucket string) []string {
	t.Helper()
	ups, err := env.ListUploads(context.Background(), bucket)
	if err != nil {
		t.Fatalf("list uploads: %v", err)
	}
	var out []string
	for _, u := range ups {
		out = append(out, aws.ToString(u.Key))
	}
	return out
}

func cliCreateUpload(t *testing.T, cli *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := cli.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("create upload %s: %v", key, err)
	}
	return aws.ToString(out.UploadId)
}

// TestCLIServer runs the built s3mpu binary against the real server: uploads (file and
// stdin, HTTP and HTTPS), preflight, uploads ls/abort/cleanup, bad flags, Ctrl-C, and the
// progress bar under a pseudo-terminal. Every bucket is checked for left-over uploads.
func TestCLIServer(t *testing.T) {
	env := s3test.Load(t)
	bin := buildCLI(t)
	dir := t.TempDir()

	t.Run("Upload", func(t *testing.T) {
		for _, tgt := range env.Targets() {
			t.Run(tgt.Name, func(t *testing.T) {
				bucket := env.NewBucket(t)
				u := env.NewUser(t, "cli-up")
				env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
				c := newCLIUser(t, env, tgt, u)
				data := cliRandomBytes(t, 2*5<<20+1) // 3 parts of 5 MiB
				file := cliWriteFile(t, t.TempDir(), "data.bin", data)
				pol := cliWriteFile(t, t.TempDir(), "policy.json", []byte(cliPolicyAll(bucket)))

				r := c.run(t, bin, nil, "--json", "upload", file, "s3://"+bucket+"/dir/file.bin", "--part-size", "5MiB", "--concurrency", "2",
					"--preflight", "enforce", "--caller", u.ARN, "--identity-policy", pol, "--server-profile", "nodefaults",
					"--metadata", "origin=cli-test", "--content-type", "application/x-test")
				if r.code != 0 {
					t.Fatalf("upload: exit %d\n%s", r.code, r.stderr)
				}
				var res struct {
					Size     int64  `json:"size"`
					Parts    int    `json:"parts"`
					Checksum string `json:"checksum"`
					Algo     string `json:"checksum_algorithm"`
					UploadID string `json:"upload_id"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
					t.Fatalf("upload --json: %v\n%s", err, r.stdout)
				}
				if res.Size != int64(len(data)) || res.Parts != 3 || res.Checksum == "" || res.Algo != "CRC32C" || res.UploadID == "" {
					t.Fatalf("upload result %+v", res)
				}
				root := env.S3(t, tgt, "root")
				if got := cliGetObject(t, root, bucket, "dir/file.bin"); !bytes.Equal(got, data) {
					t.Fatalf("object differs from the file (%d vs %d bytes)", len(got), len(data))
				}
				head, err := root.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/file.bin")})
				if err != nil {
					t.Fatal(err)
				}
				if aws.ToString(head.ContentType) != "application/x-test" || head.Metadata["origin"] != "cli-test" {
					t.Errorf("content type %q, metadata %v", aws.ToString(head.ContentType), head.Metadata)
				}

				// stdin, streamed, SHA256 checksums, plain text output
				r = c.run(t, bin, data, "upload", "-", "s3://"+bucket+"/stdin.bin", "--part-size", "5MiB", "--checksum-algorithm", "SHA256", "--preflight", "off", "--progress", "lines")
				if r.code != 0 {
					t.Fatalf("upload from stdin: exit %d\n%s", r.code, r.stderr)
				}
				if !strings.Contains(r.stdout, "uploaded stdin to s3://"+bucket+"/stdin.bin") || !strings.Contains(r.stdout, "SHA256") {
					t.Errorf("stdout %q", r.stdout)
				}
				if !strings.Contains(r.stderr, "parts 3") || !strings.Contains(r.stderr, "done in") {
					t.Errorf("line progress missing from stderr: %q", r.stderr)
				}
				if got := cliGetObject(t, root, bucket, "stdin.bin"); !bytes.Equal(got, data) {
					t.Fatalf("stdin object differs (%d vs %d bytes)", len(got), len(data))
				}

				// --quiet prints nothing on success
				r = c.run(t, bin, nil, "--quiet", "upload", file, "s3://"+bucket+"/quiet.bin", "--preflight", "off")
				if r.code != 0 || r.stdout != "" || r.stderr != "" {
					t.Fatalf("--quiet: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
				}
			})
		}
	})

	t.Run("Copy", func(t *testing.T) {
		src := env.NewBucket(t, s3test.WithPrefix("t-cli-cp-src"))
		dst := env.NewBucket(t, s3test.WithPrefix("t-cli-cp-dst"))
		both := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*","arn:aws:s3:::%[2]s","arn:aws:s3:::%[2]s/*"]}]}`, src, dst)
		u := env.NewUser(t, "cli-cp")
		env.PutUserPolicy(t, u.Name, both)
		c := newCLIUser(t, env, env.HTTP(), u)
		root := env.Root(env.HTTP())
		data := cliRandomBytes(t, 2*5<<20+1)
		if _, err := root.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String("a/src.bin"), Body: bytes.NewReader(data),
			Metadata: map[string]string{"origin": "src"}, ContentType: aws.String("application/x-src")}); err != nil {
			t.Fatal(err)
		}
		r := c.run(t, bin, nil, "--json", "cp", "s3://"+src+"/a/src.bin", "s3://"+dst+"/b/copy.bin", "--copy-threshold", "5MiB", "--part-size", "5MiB", "--preflight", "off")
		if r.code != 0 {
			t.Fatalf("cp: exit %d\n%s", r.code, r.stderr)
		}
		var res struct {
			Size  int64 `json:"size"`
			Parts int   `json:"parts"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Size != int64(len(data)) || res.Parts != 3 {
			t.Fatalf("cp result %+v, %v\n%s", res, err, r.stdout)
		}
		if got := cliGetObject(t, root, dst, "b/copy.bin"); !bytes.Equal(got, data) {
			t.Fatal("copy differs from the source")
		}
		head, err := root.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(dst), Key: aws.String("b/copy.bin")})
		if err != nil || head.Metadata["origin"] != "src" || aws.ToString(head.ContentType) != "application/x-src" {
			t.Fatalf("metadata not preserved: %v %v %v", err, head.Metadata, aws.ToString(head.ContentType))
		}

		// A user who may write the destination but not read the source.
		dstOnly := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]}]}`, dst)
		w := env.NewUser(t, "cli-cp-noread")
		env.PutUserPolicy(t, w.Name, dstOnly)
		polFile := cliWriteFile(t, t.TempDir(), "dst-only.json", []byte(dstOnly))
		d := newCLIUser(t, env, env.HTTP(), w)
		r = d.run(t, bin, nil, "cp", "s3://"+src+"/a/src.bin", "s3://"+dst+"/b/denied.bin", "--preflight", "enforce", "--caller", w.ARN, "--identity-policy", polFile, "--server-profile", "nodefaults")
		if r.code != 3 || !strings.Contains(r.stderr, "UploadPartCopy") || !strings.Contains(r.stderr, "s3:GetObject") {
			t.Fatalf("cp enforce: exit %d\n%s", r.code, r.stderr)
		}
		r = d.run(t, bin, nil, "cp", "s3://"+src+"/a/src.bin", "s3://"+dst+"/b/denied.bin", "--copy-threshold", "5MiB", "--part-size", "5MiB", "--preflight", "off")
		if r.code != 1 || !strings.Contains(r.stderr, "AccessDenied") && !strings.Contains(r.stderr, "403") {
			t.Fatalf("cp denied source: exit %d\n%s", r.code, r.stderr)
		}
		if left := cliListUploads(t, env, dst); len(left) != 0 {
			t.Fatalf("denied copy left uploads: %v", left)
		}
		if _, err := root.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(dst), Key: aws.String("b/denied.bin")}); err == nil {
			t.Fatal("denied copy created the object")
		}
	})

	t.Run("SSECKeyNeverPrinted", func(t *testing.T) {
		bucket := env.NewBucket(t)
		u := env.NewUser(t, "cli-ssec")
		env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
		c := newCLIUser(t, env, env.HTTPS(), u)
		key := cliRandomBytes(t, 32)
		keyFile := cliWriteFile(t, t.TempDir(), "ssec.key", []byte(base64.StdEncoding.EncodeToString(key)))
		file := cliWriteFile(t, t.TempDir(), "data.bin", cliRandomBytes(t, 6<<20))
		r := c.run(t, bin, nil, "upload", file, "s3://"+bucket+"/ssec.bin", "--part-size", "5MiB", "--sse-c", "AES256", "--sse-c-key-file", keyFile, "--preflight", "off", "--progress", "none")
		out := r.stdout + r.stderr
		if strings.Contains(out, base64.StdEncoding.EncodeToString(key)) || bytes.Contains([]byte(out), key) {
			t.Fatalf("the SSE-C key appears in the output (exit %d)", r.code)
		}
		t.Logf("SSE-C upload: exit %d (the server's SSE-C support decides success)", r.code)
		if r.code != 0 && r.code != 1 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("Preflight", func(t *testing.T) {
		bucket := env.NewBucket(t)
		ok := env.NewUser(t, "cli-pf-ok")
		env.PutUserPolicy(t, ok.Name, cliPolicyAll(bucket))
		noAbort := env.NewUser(t, "cli-pf-noabort")
		env.PutUserPolicy(t, noAbort.Name, cliPolicyDenyAbort(bucket))
		okPol := cliWriteFile(t, dir, "ok-"+bucket+".json", []byte(cliPolicyAll(bucket)))
		denyPol := cliWriteFile(t, dir, "deny-"+bucket+".json", []byte(cliPolicyDenyAbort(bucket)))
		url := "s3://" + bucket + "/big.bin"

		c := newCLIUser(t, env, env.HTTPS(), ok)
		r := c.run(t, bin, nil, "preflight", url, "--size", "1GiB", "--mode", "local", "--caller", ok.ARN, "--identity-policy", okPol, "--server-profile", "nodefaults")
		if r.code != 0 || !strings.Contains(r.stdout, "every checked step is allowed") {
			t.Fatalf("allowed user: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		for _, step := range []string{"Initiate", "UploadPart", "Complete", "Abort", "ListParts", "ListUploads"} {
			if !strings.Contains(r.stdout, step) {
				t.Errorf("table lacks step %s", step)
			}
		}

		type stepJSON struct {
			Step      string          `json:"step"`
			Actions   []string        `json:"actions"`
			Resources []string        `json:"resources"`
			Decision  string          `json:"decision"`
			Evaluator string          `json:"evaluator"`
			Reasons   []string        `json:"reasons"`
			Remedy    json.RawMessage `json:"remedy"`
		}
		type reportJSON struct {
			Caller string            `json:"caller"`
			Bucket string            `json:"bucket"`
			Key    string            `json:"key"`
			Steps  []stepJSON        `json:"steps"`
			KMS    []json.RawMessage `json:"kms"`
		}
		check := func(t *testing.T, r cliResult, caller, evaluator string, want map[string]string) {
			t.Helper()
			var rep reportJSON
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("preflight --json: %v\n%s", err, r.stdout)
			}
			var raw map[string]json.RawMessage
			_ = json.Unmarshal([]byte(r.stdout), &raw)
			for _, k := range []string{"caller", "bucket", "key", "steps", "kms"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("JSON lacks %q", k)
				}
			}
			if rep.Caller != caller || rep.Bucket != bucket || rep.Key != "big.bin" || len(rep.Steps) != 6 {
				t.Fatalf("report %+v", rep)
			}
			for _, s := range rep.Steps {
				var fields map[string]json.RawMessage
				b, _ := json.Marshal(s)
				_ = json.Unmarshal(b, &fields)
				if len(s.Actions) == 0 || len(s.Resources) == 0 || len(s.Reasons) == 0 || s.Evaluator != evaluator {
					t.Errorf("step %+v", s)
				}
				if w, ok := want[s.Step]; ok && s.Decision != w {
					t.Errorf("step %s: decision %s, want %s: %q", s.Step, s.Decision, w, s.Reasons)
				} else if !ok && s.Decision != "allowed" {
					t.Errorf("step %s: decision %s, want allowed: %q", s.Step, s.Decision, s.Reasons)
				}
				if strings.HasSuffix(s.Decision, "Deny") && (len(s.Remedy) == 0 || string(s.Remedy) == "null") {
					t.Errorf("step %s denied without a remedy", s.Step)
				}
			}
		}
		r = c.run(t, bin, nil, "--json", "preflight", url, "--mode", "local", "--caller", ok.ARN, "--identity-policy", okPol, "--server-profile", "nodefaults")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		check(t, r, ok.ARN, "local", nil)

		d := newCLIUser(t, env, env.HTTPS(), noAbort)
		r = d.run(t, bin, nil, "--json", "preflight", url, "--mode", "local", "--caller", noAbort.ARN, "--identity-policy", denyPol, "--server-profile", "nodefaults")
		if r.code != 3 {
			t.Fatalf("denied user (local): exit %d\n%s", r.code, r.stderr)
		}
		check(t, r, noAbort.ARN, "local", map[string]string{"Abort": "explicitDeny"})

		r = d.run(t, bin, nil, "preflight", url, "--mode", "local", "--caller", noAbort.ARN, "--identity-policy", denyPol, "--server-profile", "nodefaults")
		if r.code != 3 || !strings.Contains(r.stdout, `Sid "NeverAbort"`) || !strings.Contains(r.stdout, "fix:") {
			t.Fatalf("denied user text: exit %d\n%s", r.code, r.stdout)
		}

		// The probe asks the server itself, with calls that change nothing.
		r = d.run(t, bin, nil, "--json", "preflight", url, "--mode", "probe", "--caller", noAbort.ARN, "--server-profile", "nodefaults")
		if r.code != 3 {
			t.Fatalf("denied user (probe): exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// This user could not abort a test upload: Initiate is decided by a conditional
		// PutObject that stores nothing.
		check(t, r, noAbort.ARN, "probe", map[string]string{"Abort": "implicitDeny", "Initiate": "allowed"})
		if _, err := env.Root(env.HTTP()).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin")}); err == nil {
			t.Fatal("the probe created the object")
		}
		if left := cliListUploads(t, env, bucket); len(left) != 0 {
			t.Fatalf("probe left uploads: %v", left)
		}

		// enforce refuses to start an upload that could not be cleaned up.
		file := cliWriteFile(t, t.TempDir(), "data.bin", cliRandomBytes(t, 6<<20))
		r = d.run(t, bin, nil, "upload", file, url, "--part-size", "5MiB", "--preflight", "enforce", "--caller", noAbort.ARN, "--identity-policy", denyPol, "--server-profile", "nodefaults")
		if r.code != 3 || !strings.Contains(r.stderr, "preflight denied Abort") {
			t.Fatalf("enforce: exit %d\n%s", r.code, r.stderr)
		}
		if left := cliListUploads(t, env, bucket); len(left) != 0 {
			t.Fatalf("refused upload left uploads: %v", left)
		}

		// Without --caller, a custom endpoint has no STS to ask: a usage error that says so.
		r = d.run(t, bin, nil, "preflight", url, "--mode", "local", "--identity-policy", denyPol)
		if r.code != 2 || !strings.Contains(r.stderr, "--caller") {
			t.Fatalf("no caller: exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("Uploads", func(t *testing.T) {
		bucket := env.NewBucket(t)
		ok := env.NewUser(t, "cli-ls-ok")
		env.PutUserPolicy(t, ok.Name, cliPolicyAll(bucket))
		noAbort := env.NewUser(t, "cli-ls-noabort")
		env.PutUserPolicy(t, noAbort.Name, cliPolicyDenyAbort(bucket))
		okPol := cliWriteFile(t, dir, "ok-ls-"+bucket+".json", []byte(cliPolicyAll(bucket)))
		c := newCLIUser(t, env, env.HTTP(), ok)
		okS3 := env.S3For(env.HTTP(), ok)
		id1 := cliCreateUpload(t, okS3, bucket, "logs/a.log")
		id2 := cliCreateUpload(t, okS3, bucket, "logs/b.log")
		cliCreateUpload(t, okS3, bucket, "other/c.log")

		r := c.run(t, bin, nil, "--json", "uploads", "ls", "s3://"+bucket+"/logs/", "--caller", ok.ARN, "--server-profile", "nodefaults", "--identity-policy", okPol)
		if r.code != 0 {
			t.Fatalf("ls: exit %d\n%s", r.code, r.stderr)
		}
		var ls struct {
			Uploads []struct {
				UploadID string `json:"upload_id"`
				Key      string `json:"key"`
				MayAbort string `json:"may_abort"`
				Age      int64  `json:"age_seconds"`
			} `json:"uploads"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &ls); err != nil {
			t.Fatalf("ls --json: %v\n%s", err, r.stdout)
		}
		if len(ls.Uploads) != 2 {
			t.Fatalf("ls under logs/: %+v", ls.Uploads)
		}
		for _, u := range ls.Uploads {
			if !strings.HasPrefix(u.Key, "logs/") || u.MayAbort != "yes" || (u.UploadID != id1 && u.UploadID != id2) || u.Age < 0 {
				t.Errorf("upload %+v", u)
			}
		}
		r = c.run(t, bin, nil, "uploads", "ls", "s3://"+bucket, "--caller", ok.ARN, "--server-profile", "nodefaults")
		if r.code != 0 || !strings.Contains(r.stdout, "UPLOAD ID") || !strings.Contains(r.stdout, "YOU MAY ABORT") || strings.Count(r.stdout, "\n") != 4 || !strings.Contains(r.stdout, "needs-grant") {
			t.Fatalf("ls text: exit %d\n%s", r.code, r.stdout)
		}

		r = c.run(t, bin, nil, "uploads", "abort", "s3://"+bucket+"/logs/a.log", "--upload-id", id1)
		if r.code != 0 {
			t.Fatalf("abort: exit %d\n%s", r.code, r.stderr)
		}
		r = c.run(t, bin, nil, "uploads", "abort", "s3://"+bucket+"/logs/a.log", "--upload-id", id1)
		if r.code != 1 || !strings.Contains(r.stderr, "no such upload") {
			t.Fatalf("abort again: exit %d\n%s", r.code, r.stderr)
		}

		r = c.run(t, bin, nil, "uploads", "cleanup", "s3://"+bucket, "--older-than", "0", "--dry-run")
		if r.code != 0 || strings.Count(r.stdout, "would-abort") != 2 {
			t.Fatalf("cleanup --dry-run: exit %d\n%s", r.code, r.stdout)
		}
		if left := cliListUploads(t, env, bucket); len(left) != 2 {
			t.Fatalf("dry run aborted something: %v", left)
		}
		r = c.run(t, bin, nil, "uploads", "cleanup", "s3://"+bucket, "--older-than", "1h")
		if r.code != 0 || !strings.Contains(r.stdout, "no multipart uploads older than 1h") {
			t.Fatalf("cleanup --older-than 1h: exit %d\n%s", r.code, r.stdout)
		}
		r = c.run(t, bin, nil, "uploads", "cleanup", "s3://"+bucket+"/logs/", "--older-than", "0")
		if r.code != 0 || !strings.Contains(r.stdout, "aborted 1, denied 0") {
			t.Fatalf("cleanup logs/: exit %d\n%s", r.code, r.stdout)
		}
		if left := cliListUploads(t, env, bucket); len(left) != 1 || left[0] != "other/c.log" {
			t.Fatalf("after cleanup of logs/: %v", left)
		}

		// A user denied s3:AbortMultipartUpload: cleanup reports the denial and who can abort.
		d := newCLIUser(t, env, env.HTTP(), noAbort)
		cliCreateUpload(t, env.S3For(env.HTTP(), noAbort), bucket, "mine.bin")
		r = d.run(t, bin, nil, "uploads", "cleanup", "s3://"+bucket+"/mine", "--older-than", "0", "--caller", noAbort.ARN, "--server-profile", "nodefaults")
		if r.code != 1 || !strings.Contains(r.stdout, "denied") || !strings.Contains(r.stdout, "who can:") || !strings.Contains(r.stdout, "AbortIncompleteMultipartUpload") {
			t.Fatalf("denied cleanup: exit %d\n%s", r.code, r.stdout)
		}
		// The allowed user cleans up everything that is left.
		r = c.run(t, bin, nil, "--json", "uploads", "cleanup", "s3://"+bucket, "--older-than", "0")
		if r.code != 0 || !strings.Contains(r.stdout, `"aborted": 2`) {
			t.Fatalf("final cleanup: exit %d\n%s", r.code, r.stdout)
		}
		if left := cliListUploads(t, env, bucket); len(left) != 0 {
			t.Fatalf("left: %v", left)
		}
	})

	t.Run("BadFlags", func(t *testing.T) {
		u, _ := env.User("alice")
		c := newCLIUser(t, env, env.HTTPS(), u)
		file := cliWriteFile(t, t.TempDir(), "small.bin", []byte("hello"))
		for _, args := range [][]string{
			{"upload", file, "s3://bucket-x/k", "--part-size", "1MiB"},
			{"upload", file, "s3://bucket-x/k", "--part-size", "lots"},
			{"upload", file, "s3://bucket-x/k", "--concurrency", "-1"},
			{"upload", file, "s3://bucket-x/k", "--concurrency", "0"},
			{"upload", file, "s3://bucket-x/k", "--part-size", "0"},
			{"upload", file, "s3://bucket-x/k", "--rate-limit", "0.5"},
			{"upload", file, "s3://bucket-x/k", "--kms-require-seed-actions"},
			{"cp", "s3://bucket-x/k", "s3://bucket-y/k", "--concurrency", "0"},
			{"cp", "s3://bucket-x/k", "s3://bucket-y/k", "--copy-threshold", "0"},
			{"preflight", "s3://bucket-x/k", "--source-key-policy", "p.json"},
			{"upload", file, "s3://bucket-x/k", "--preflight", "maybe"},
			{"upload", file, "s3://bucket-x/k", "--sse", "rot13"},
			{"upload", file, "s3://bucket-x/k", "--sse-kms-key-id", "alias/x"},
			{"upload", file, "s3://bucket-x/k", "--checksum-algorithm", "MD5"},
			{"upload", file, "s3://bucket-x/k", "--rate-limit", "fast"},
			{"upload", file, "s3://bucket-x/k", "--progress", "fancy"},
			{"upload", file, "s3://bucket-x/k", "--metadata", "novalue"},
			{"upload", file, "s3://bucket-x/k", "--sse-c", "AES256"},
			{"upload", filepath.Join(t.TempDir(), "absent"), "s3://bucket-x/k"},
			{"upload", t.TempDir(), "s3://bucket-x/k"},
			{"upload", file, "s3://bucket-x"},
			{"upload", file},
			{"upload", "-", "s3://bucket-x/k", "--state", filepath.Join(t.TempDir(), "st")},
			{"upload", file, "s3://bucket-x/k", "--start-over"},
			{"uploads", "abort", "s3://bucket-x/k", "--state", "st"},
			{"cp", "s3://bucket-x/k"},
			{"cp", "s3://bucket-x/k", "s3://bucket-y"},
			{"cp", "s3://bucket-x/k", "s3://bucket-x/k"},
			{"cp", "s3://bucket-x/k", "s3://bucket-y/k", "--metadata", "a=b"},
			{"cp", "s3://bucket-x/k", "s3://bucket-y/k", "--copy-threshold", "6GiB"},
			{"preflight", "s3://bucket-x"},
			{"preflight", "s3://bucket-x/k", "--mode", "guess"},
			{"preflight", "s3://bucket-x/k", "--caller", "alice"},
			{"uploads", "cleanup", "s3://bucket-x", "--older-than", "soon"},
			{"uploads", "ls"},
			{"--endpoint-url", "ftp://x", "uploads", "ls", "s3://bucket-x"},
			{"nonsense"},
		} {
			r := c.run(t, bin, nil, args...)
			if r.code != 2 {
				t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "s3mpu: error: ") {
				t.Errorf("%v: stderr %q", args, r.stderr)
			}
		}
	})

	// A denied single PUT of 12 MiB: stderr holds the CLI's message alone (no line from the
	// SDK's logger) and names the denial. This server answers with a readable error body; a
	// server that cuts its answer short (where the SDK used to log a WARN and say
	// "deserialization failed") is tested in examples/s3mpu (TestDeniedCutShortPUT).
	t.Run("DeniedPutStderr", func(t *testing.T) {
		for _, tgt := range env.Targets() {
			t.Run(tgt.Name, func(t *testing.T) {
				bucket := env.NewBucket(t)
				u := env.NewUser(t, "cli-denied")
				c := newCLIUser(t, env, tgt, u)
				file := cliWriteFile(t, t.TempDir(), "data.bin", cliRandomBytes(t, 12<<20))
				r := c.run(t, bin, nil, "upload", file, "s3://"+bucket+"/denied.bin", "--part-size", "16MiB", "--preflight", "off", "--progress", "none")
				t.Logf("exit %d, stderr %q", r.code, r.stderr)
				if r.code != 1 {
					t.Errorf("exit %d, want 1", r.code)
				}
				for _, line := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
					if !strings.HasPrefix(line, "s3mpu: ") {
						t.Errorf("stderr line not from the CLI: %q", line)
					}
				}
				if !strings.Contains(r.stderr, "403") && !strings.Contains(strings.ToLower(r.stderr), "denied") {
					t.Errorf("stderr does not name the denial: %q", r.stderr)
				}
				if strings.Contains(r.stderr, "deserialization failed") {
					t.Errorf("stderr names the SDK's deserialization failure, not the status: %q", r.stderr)
				}
			})
		}
	})

	t.Run("Interrupt", func(t *testing.T) {
		bucket := env.NewBucket(t)
		u := env.NewUser(t, "cli-int")
		env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
		c := newCLIUser(t, env, env.HTTPS(), u)
		file := cliWriteFile(t, t.TempDir(), "big.bin", cliRandomBytes(t, 64<<20))
		cmd := exec.Command(bin, append(append([]string{}, c.global...), "upload", file, "s3://"+bucket+"/big.bin",
			"--part-size", "5MiB", "--rate-limit", "8MiB/s", "--preflight", "off", "--progress", "lines")...)
		cmd.Env = c.env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the multipart upload exists, then press Ctrl-C.
		deadline := time.Now().Add(20 * time.Second)
		for len(cliListUploads(t, env, bucket)) == 0 {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("no upload started; stderr %s", errb.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // a few parts in flight
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit: %v, want status 130\nstderr: %s", err, errb.String())
		}
		if !strings.Contains(errb.String(), "interrupted") || !strings.Contains(errb.String(), "aborted, no parts left behind") {
			t.Errorf("stderr %q", errb.String())
		}
		if left := cliListUploads(t, env, bucket); len(left) != 0 {
			t.Fatalf("uploads left after Ctrl-C: %v", left)
		}
		if _, err := env.Root(env.HTTP()).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin")}); err == nil {
			t.Fatal("an object was stored despite the interrupt")
		}
	})

	t.Run("InterruptThenResume", func(t *testing.T) {
		bucket := env.NewBucket(t)
		u := env.NewUser(t, "cli-resume")
		env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
		c := newCLIUser(t, env, env.HTTPS(), u)
		data := cliRandomBytes(t, 40<<20)
		tmp := t.TempDir()
		file := cliWriteFile(t, tmp, "big.bin", data)
		state := filepath.Join(tmp, "big.state")
		args := append(append([]string{}, c.global...), "upload", file, "s3://"+bucket+"/big.bin",
			"--part-size", "5MiB", "--preflight", "off", "--progress", "lines", "--state", state)
		cmd := exec.Command(bin, append(args, "--rate-limit", "8MiB/s")...)
		cmd.Env = c.env
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Interrupt once at least one part is stored.
		root := env.Root(env.HTTP())
		deadline := time.Now().Add(30 * time.Second)
		for {
			ups, _ := env.ListUploads(context.Background(), bucket)
			if len(ups) == 1 {
				parts, err := root.ListParts(context.Background(), &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("big.bin"), UploadId: ups[0].UploadId})
				if err == nil && len(parts.Parts) >= 1 {
					break
				}
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("no part stored in time; stderr %s", errb.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit %v, want 130\n%s", err, errb.String())
		}
		if !strings.Contains(errb.String(), "run the same command again to resume") {
			t.Errorf("stderr %q", errb.String())
		}
		if left := cliListUploads(t, env, bucket); len(left) != 1 {
			t.Fatalf("uploads after the interrupt: %v (want the kept one)", left)
		}
		if _, err := os.Stat(state); err != nil {
			t.Fatalf("state file: %v", err)
		}
		// The same command resumes and completes, sending only the missing parts.
		r := c.run(t, bin, nil, args[len(c.global):]...)
		if r.code != 0 {
			t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "resuming upload") || !strings.Contains(r.stderr, "already stored") {
			t.Errorf("no resume notice: %q", r.stderr)
		}
		if got := cliGetObject(t, root, bucket, "big.bin"); !bytes.Equal(got, data) {
			t.Fatal("resumed object differs from the file")
		}
		if _, err := os.Stat(state); !os.IsNotExist(err) {
			t.Errorf("state file left after success: %v", err)
		}
		if left := cliListUploads(t, env, bucket); len(left) != 0 {
			t.Fatalf("uploads left: %v", left)
		}

		// Interrupted again, then discarded with `uploads abort --state`.
		cmd = exec.Command(bin, append(append(append([]string{}, c.global...), "upload", file, "s3://"+bucket+"/again.bin",
			"--part-size", "5MiB", "--preflight", "off", "--progress", "none", "--state", state), "--rate-limit", "8MiB/s")...)
		cmd.Env = c.env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(20 * time.Second)
		for len(cliListUploads(t, env, bucket)) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		r = c.run(t, bin, nil, "uploads", "abort", "--state", state)
		if r.code != 0 {
			t.Fatalf("abort --state: exit %d\n%s", r.code, r.stderr)
		}
		if left := cliListUploads(t, env, bucket); len(left) != 0 {
			t.Fatalf("uploads left after abort --state: %v", left)
		}
		if _, err := os.Stat(state); !os.IsNotExist(err) {
			t.Errorf("state file left after abort: %v", err)
		}
	})

	t.Run("ProgressBarOnTerminal", func(t *testing.T) {
		bucket := env.NewBucket(t)
		u := env.NewUser(t, "cli-tty")
		env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
		c := newCLIUser(t, env, env.HTTPS(), u)
		file := cliWriteFile(t, t.TempDir(), "tty.bin", cliRandomBytes(t, 24<<20))
		cmd := exec.Command(bin, append(append([]string{}, c.global...), "upload", file, "s3://"+bucket+"/tty.bin",
			"--part-size", "5MiB", "--rate-limit", "12MiB/s", "--preflight", "off")...)
		cmd.Env = append(c.env, "TERM=xterm")
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 140})
		if err != nil {
			t.Fatal(err)
		}
		var screen bytes.Buffer
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(&screen, tty) // ends with EIO when the child exits
			close(done)
		}()
		werr := cmd.Wait()
		_ = tty.Close()
		<-done
		if werr != nil {
			t.Fatalf("upload under a terminal: %v\n%s", werr, screen.String())
		}
		s := screen.String()
		for _, want := range []string{"\x1b[", "upload s3://" + bucket + "/tty.bin", "parts 5/5", "retries 0", "MiB/s", "[", "=", "uploaded " + file} {
			if !strings.Contains(s, want) {
				t.Errorf("terminal output lacks %q", want)
			}
		}
		if strings.Contains(s, "done in") {
			t.Errorf("line progress on a terminal:\n%s", s)
		}
		if t.Failed() {
			t.Logf("terminal output:\n%q", s)
		}
	})
}
