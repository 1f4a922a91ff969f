package integration

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// TestCLIUploadsTextIsTerminalSafe: object keys come from the bucket, which others may
// write. A key with a newline must not forge a row of `uploads ls` or a line of `uploads
// cleanup`, and no key may put a control character on the terminal; --json keeps the key
// exact.
func TestCLIUploadsTextIsTerminalSafe(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	ctx := testCtx(t)
	root, _ := env.User("root")
	cli := env.Root(env.HTTP())
	keys := []string{"line\n  forged: row", "tab\there", "rtl\u202etxt.exe"}
	ids := map[string]string{}
	for _, k := range keys {
		out, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = aws.ToString(out.UploadId)
	}
	t.Cleanup(func() {
		for k, id := range ids {
			_, _ = cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(k), UploadId: aws.String(id)})
		}
	})
	bin := buildCLI(t)
	e := cliEnv(t, "AWS_ACCESS_KEY_ID="+root.AccessKey, "AWS_SECRET_ACCESS_KEY="+root.SecretKey)
	base := []string{"--endpoint-url", env.HTTP().Endpoint}
	who := []string{"--caller", root.ARN, "--server-profile", "nodefaults"}
	for _, args := range [][]string{
		append([]string{"uploads", "ls", "s3://" + bucket}, who...),
		append([]string{"uploads", "cleanup", "s3://" + bucket, "--older-than", "0", "--dry-run"}, who...),
		{"uploads", "ls", "s3://" + bucket},
	} {
		r := cliRunBin(t, bin, e, nil, append(base, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "forged: row") {
				t.Errorf("%v: a key forged a line:\n%s", args, r.stdout)
			}
		}
		if i := strings.IndexFunc(r.stdout, func(c rune) bool { return c != '\n' && (unicode.IsControl(c) || c == '\u202e') }); i >= 0 {
			t.Errorf("%v: raw control or bidi character in the output:\n%q", args, r.stdout)
		}
		for _, k := range keys {
			if !strings.Contains(r.stdout, strings.Trim(strconv.Quote(k), `"`)) {
				t.Errorf("%v: key %q is not shown escaped:\n%s", args, k, r.stdout)
			}
		}
	}
	r := cliRunBin(t, bin, e, nil, append(base, append([]string{"--json", "uploads", "ls", "s3://" + bucket}, who...)...)...)
	var got struct {
		Uploads []struct {
			Key string `json:"key"`
		} `json:"uploads"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	seen := map[string]bool{}
	for _, u := range got.Uploads {
		seen[u.Key] = true
	}
	for _, k := range keys {
		if !seen[k] {
			t.Errorf("--json lost the exact key %q: %+v", k, got.Uploads)
		}
	}
}
