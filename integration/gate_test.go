package integration

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
)

// TestGateEnforceRefusesUndecided checks the one preflight gate against the real server:
// with --preflight enforce, a step preflight cannot decide refuses the upload like a denial.
// `--mode local` with no identity policy given and no IAM to read it from leaves every
// step unknown for a user whose policy would in fact allow the upload. Then `s3mpu upload`
// and `s3mpu cp` exit 3, name each undecided step (Abort left out with
// --leave-parts-on-error), say why and how to decide it, and create no upload and no
// object; --preflight warn uploads. The library gives errors.Is(err, ErrUndecided) with a
// short message, and `s3backup run --preflight-mode local` refuses the whole run (exit 3).
func TestGateEnforceRefusesUndecided(t *testing.T) {
	env := s3test.Load(t)
	bin := buildCLI(t)
	bucket := env.NewBucket(t)
	u := env.NewUser(t, "gate-undecided")
	env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
	c := newCLIUser(t, env, env.HTTP(), u)
	root := env.Root(env.HTTP())
	dir := t.TempDir()
	file := cliWriteFile(t, dir, "data.bin", cliRandomBytes(t, 6<<20)) // 2 parts of 5 MiB
	small := cliWriteFile(t, dir, "small.bin", []byte("small"))
	local := []string{"--mode", "local", "--caller", u.ARN, "--server-profile", "nodefaults"}
	nothingLeft := func(t *testing.T, keys ...string) {
		t.Helper()
		if left := cliListUploads(t, env, bucket); len(left) != 0 {
			t.Fatalf("refused upload left uploads: %v", left)
		}
		for _, k := range keys {
			if _, err := root.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err == nil {
				t.Fatalf("refused upload created %s", k)
			}
		}
	}
	hints := []string{"could not decide", "was not started", "--identity-policy", "--mode probe", "--preflight warn", "identity policies"}

	t.Run("Upload", func(t *testing.T) {
		r := c.run(t, bin, nil, append([]string{"upload", file, "s3://" + bucket + "/big.bin", "--part-size", "5MiB", "--preflight", "enforce", "--progress", "none"}, local...)...)
		if r.code != 3 {
			t.Fatalf("enforce with unknown steps: exit %d, want 3\n%s", r.code, r.stderr)
		}
		for _, w := range append([]string{"Initiate", "UploadPart", "Complete", "Abort"}, hints...) {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
			}
		}
		nothingLeft(t, "big.bin")
	})
	t.Run("LeavePartsDropsAbort", func(t *testing.T) {
		r := c.run(t, bin, nil, append([]string{"upload", file, "s3://" + bucket + "/leave.bin", "--part-size", "5MiB", "--preflight", "enforce", "--leave-parts-on-error", "--progress", "none"}, local...)...)
		msg := r.stderr[strings.Index(r.stderr, "s3mpu: error:")+1:]
		if r.code != 3 || !strings.Contains(msg, "could not decide Initiate, UploadPart, Complete:") || strings.Contains(msg, "Abort") {
			t.Fatalf("enforce --leave-parts-on-error: exit %d, want 3 without Abort\n%s", r.code, r.stderr)
		}
		nothingLeft(t, "leave.bin")
	})
	t.Run("SinglePut", func(t *testing.T) {
		r := c.run(t, bin, nil, append([]string{"upload", small, "s3://" + bucket + "/small.bin", "--preflight", "enforce", "--progress", "none"}, local...)...)
		if r.code != 3 || !strings.Contains(r.stderr, "could not decide Initiate") {
			t.Fatalf("enforce single put: exit %d\n%s", r.code, r.stderr)
		}
		nothingLeft(t, "small.bin")
	})
	t.Run("Copy", func(t *testing.T) {
		if _, err := root.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("src.bin"), Body: strings.NewReader("source")}); err != nil {
			t.Fatal(err)
		}
		r := c.run(t, bin, nil, append([]string{"cp", "s3://" + bucket + "/src.bin", "s3://" + bucket + "/copy.bin", "--preflight", "enforce", "--progress", "none"}, local...)...)
		if r.code != 3 || !strings.Contains(r.stderr, "could not decide Initiate, UploadPartCopy") {
			t.Fatalf("cp enforce: exit %d\n%s", r.code, r.stderr)
		}
		nothingLeft(t, "copy.bin")
	})
	t.Run("Warn", func(t *testing.T) {
		r := c.run(t, bin, nil, append([]string{"upload", file, "s3://" + bucket + "/warned.bin", "--part-size", "5MiB", "--preflight", "warn", "--progress", "none"}, local...)...)
		if r.code != 0 || !strings.Contains(r.stderr, "could not decide") || !strings.Contains(r.stderr, "uploading anyway") {
			t.Fatalf("warn: exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("Library", func(t *testing.T) {
		checker := preflight.New(preflight.NewLocal(preflight.LocalOptions{S3: root}), func(o *preflight.Options) { o.Profile = preflight.ProfileNoDefaults })
		up := uploader.New(env.S3For(env.HTTP(), u), func(o *uploader.Options) {
			o.Preflight = &preflight.UploadChecker{Checker: checker, Template: preflight.Plan{Caller: u.ARN}}
			o.PreflightMode = uploader.PreflightEnforce
			o.PartSize = 5 << 20
		})
		_, err := up.Upload(context.Background(), &uploader.UploadInput{Bucket: bucket, Key: "lib.bin", Body: bytes.NewReader(make([]byte, 6<<20))})
		var ue *uploader.UploadError
		var pe *preflight.UndecidedError
		if !errors.Is(err, mpu.ErrUndecided) || !errors.Is(err, mpu.ErrUndecided) || errors.Is(err, mpu.ErrPermissionDenied) ||
			!errors.As(err, &ue) || ue.Op != mpu.OpPreflight || ue.UploadID != "" || !errors.As(err, &pe) || len(pe.Unknown) != 4 {
			t.Fatalf("library enforce: %v", err)
		}
		if len(pe.Error()) > 80 || !strings.Contains(pe.Details(), "identity policies") {
			t.Fatalf("message %q (%d chars), details %q", pe.Error(), len(pe.Error()), pe.Details())
		}
		nothingLeft(t, "lib.bin")
	})
	t.Run("S3backup", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		work := t.TempDir()
		tool := newBackupTool(t, buildS3backup(t, work), env, env.HTTP(), u, filepath.Join(work, "cache"))
		src := filepath.Join(work, "src")
		writeTestFile(t, src, "a.txt", 10)
		s, code := tool.run(ctx, "run", src, "s3://"+bucket+"/bk", "--preflight", "enforce", "--preflight-mode", "local", "--caller", u.ARN, "--server-profile", "no-defaults")
		if code != 3 || s.Uploaded != 0 || !strings.Contains(strings.Join(s.Preflight.Problems, "\n"), "could not decide") {
			t.Fatalf("s3backup enforce with unknown steps: exit %d, uploaded %d, preflight %+v\n%s", code, s.Uploaded, s.Preflight, tool.lastText)
		}
		nothingLeft(t, "bk/a.txt")
	})
}

// TestGateBadCredentials checks that credentials the server rejects are not a permission
// verdict: an unknown access key and a wrong secret make `s3mpu preflight` and `s3mpu
// upload` (with --preflight enforce, warn and off) exit 1, not 3, with a message naming the
// rejected credentials, where they came from (the environment) and what to check, without
// a policy remedy and without the secret; the library returns errors.Is ErrCredentials.
func TestGateBadCredentials(t *testing.T) {
	env := s3test.Load(t)
	bin := buildCLI(t)
	bucket := env.NewBucket(t)
	good := env.Users["alice"]
	file := cliWriteFile(t, t.TempDir(), "data.bin", []byte("data"))
	cases := []struct {
		name string
		user s3test.User
		code string
	}{
		{"UnknownKey", s3test.User{Name: "nobody", AccessKey: "AKIANOBODY0000000000", SecretKey: "nobody-secret-0123456789"}, "InvalidAccessKeyId"},
		{"WrongSecret", s3test.User{Name: good.Name, ARN: good.ARN, AccessKey: good.AccessKey, SecretKey: "wrong-secret-" + strings.Repeat("x", 20)}, "SignatureDoesNotMatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLIUser(t, env, env.HTTP(), tc.user)
			caller := "arn:aws:iam::000000000000:user/" + tc.user.Name
			runs := [][]string{
				{"preflight", "s3://" + bucket + "/k", "--caller", caller},
				{"preflight", "s3://" + bucket + "/k", "--caller", caller, "--mode", "probe"},
				{"upload", file, "s3://" + bucket + "/k", "--caller", caller, "--preflight", "enforce"},
				{"upload", file, "s3://" + bucket + "/k", "--caller", caller, "--preflight", "warn"},
				{"upload", file, "s3://" + bucket + "/k", "--preflight", "off"},
			}
			for _, args := range runs {
				r := c.run(t, bin, nil, args...)
				out := r.stdout + r.stderr
				if r.code != 1 || !strings.Contains(out, tc.code) || !strings.Contains(out, "EnvConfigCredentials") {
					t.Errorf("%v: exit %d, want 1 with %s and the credential source\n%s", args, r.code, tc.code, out)
				}
				for _, bad := range []string{"implicitDeny", "grant", "fix:", tc.user.SecretKey} {
					if strings.Contains(out, bad) {
						t.Errorf("%v: output says %q\n%s", args, bad, out)
					}
				}
			}
			_, err := preflight.New(preflight.NewProbe(env.S3For(env.HTTP(), tc.user), preflight.ProbeOptions{})).
				Check(context.Background(), &preflight.Plan{Bucket: bucket, Key: "k", Caller: caller, Size: preflight.SizeUnknown})
			if !errors.Is(err, mpu.ErrCredentials) || errors.Is(err, mpu.ErrPermissionDenied) {
				t.Errorf("library preflight: %v, want ErrCredentials", err)
			}
			if left := cliListUploads(t, env, bucket); len(left) != 0 {
				t.Fatalf("uploads left: %v", left)
			}
		})
	}
}
