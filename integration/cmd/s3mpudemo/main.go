// Command s3mpudemo prepares and checks the local server for `make demo` (examples/demo.sh):
//
//	s3mpudemo setup -dir DIR                      make a bucket and two users, write DIR/*.env and policies
//	s3mpudemo verify -dir DIR -file F -key K      check the uploaded object's size and SHA-256 against F
//	s3mpudemo teardown -dir DIR                   delete the demo's users and bucket
//
// setup writes each user's credentials to a shell file of mode 0600 (writer.env, noabort.env)
// that the demo sources; no secret is ever printed.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3mpu/s3mpu/integration/s3test"
)

// state is what setup leaves for verify and teardown (DIR/state.json; no secrets).
type state struct {
	Bucket string   `json:"bucket"`
	Users  []string `json:"users"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: s3mpudemo setup|verify|teardown -dir DIR [-file F -key K]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "", "the demo's working directory")
	file := fs.String("file", "", "local file to compare with (verify)")
	key := fs.String("key", "", "object key (verify)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "s3mpudemo: -dir is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err := s3test.Open(s3test.EnvFile())
	if err != nil {
		fmt.Fprintf(os.Stderr, "s3mpudemo: no server: %v\n", err)
		os.Exit(1)
	}
	switch os.Args[1] {
	case "setup":
		err = setup(ctx, env, *dir)
	case "verify":
		err = verify(ctx, env, *dir, *file, *key)
	case "teardown":
		err = teardown(ctx, env, *dir)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "s3mpudemo: %v\n", err)
		os.Exit(1)
	}
}

// statement is one statement of an IAM policy.
type statement struct {
	Sid      string
	Effect   string
	Action   []string
	Resource []string
}

// policyJSON is an IAM policy document of the statements, indented.
func policyJSON(sts ...statement) string {
	b, err := json.MarshalIndent(struct {
		Version   string
		Statement []statement
	}{"2012-10-17", sts}, "", "  ")
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return string(b) + "\n"
}

// writerPolicy lets a principal upload to bucket with every multipart
// step, and read the bucket settings preflight looks at.
func writerPolicy(bucket string) string {
	return policyJSON(
		statement{"MultipartUpload", "Allow", []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
			[]string{"arn:aws:s3:::" + bucket + "/*"}},
		statement{"ListUploadsAndReadBucketSettings", "Allow",
			[]string{"s3:ListBucketMultipartUploads", "s3:ListBucket", "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketOwnershipControls"},
			[]string{"arn:aws:s3:::" + bucket}})
}

// noAbortPolicy allows every S3 action on bucket but the abort of a
// multipart upload.
func noAbortPolicy(bucket string) string {
	return policyJSON(
		statement{"UploadEverything", "Allow", []string{"s3:*"}, []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"}},
		statement{"NeverAbort", "Deny", []string{"s3:AbortMultipartUpload"}, []string{"arn:aws:s3:::" + bucket + "/*"}})
}

func setup(ctx context.Context, env *s3test.Env, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st := state{Bucket: s3test.UniqueName("s3mpu-demo")}
	root := env.Root(env.HTTP())
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(st.Bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if err := writeState(dir, st); err != nil {
		return err
	}
	ic := env.IAMClient()
	users := []struct{ role, policy string }{
		{"writer", writerPolicy(st.Bucket)},
		{"noabort", noAbortPolicy(st.Bucket)},
	}
	var vars []string
	for _, u := range users {
		usr, err := env.CreateUser(ctx, s3test.UniqueName("demo-"+u.role))
		if err != nil {
			return err
		}
		st.Users = append(st.Users, usr.Name)
		if err := writeState(dir, st); err != nil {
			return err
		}
		if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(usr.Name), PolicyName: aws.String("demo"), PolicyDocument: aws.String(u.policy)}); err != nil {
			return fmt.Errorf("put user policy on %s: %w", usr.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, u.role+"-policy.json"), []byte(u.policy), 0o644); err != nil {
			return err
		}
		creds := fmt.Sprintf("export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nunset AWS_SESSION_TOKEN AWS_PROFILE\n", shq(usr.AccessKey), shq(usr.SecretKey))
		if err := os.WriteFile(filepath.Join(dir, u.role+".env"), []byte(creds), 0o600); err != nil {
			return err
		}
		vars = append(vars, fmt.Sprintf("%s_USER=%s", strings.ToUpper(u.role), shq(usr.Name)), fmt.Sprintf("%s_ARN=%s", strings.ToUpper(u.role), shq(usr.ARN)))
	}
	vars = append(vars,
		"BUCKET="+shq(st.Bucket),
		"ENDPOINT="+shq(env.HTTPSEndpoint),
		"IAM_ENDPOINT="+shq(env.IAMEndpoint),
		"CA_FILE="+shq(env.CAFile()),
		"REGION="+shq(env.Region()),
	)
	return os.WriteFile(filepath.Join(dir, "demo.env"), []byte(strings.Join(vars, "\n")+"\n"), 0o600)
}

// shq quotes s for a POSIX shell.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func writeState(dir string, st state) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	return os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600)
}

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

func verify(ctx context.Context, env *s3test.Env, dir, file, key string) error {
	st, err := readState(dir)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	lh := sha256.New()
	if _, err := io.Copy(lh, f); err != nil {
		return err
	}
	root := env.Root(env.HTTP())
	head, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("head object: %w", err)
	}
	if aws.ToInt64(head.ContentLength) != fi.Size() {
		return fmt.Errorf("object is %d bytes, file is %d", aws.ToInt64(head.ContentLength), fi.Size())
	}
	obj, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get object: %w", err)
	}
	defer obj.Body.Close()
	rh := sha256.New()
	n, err := io.Copy(rh, obj.Body)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	l, r := hex.EncodeToString(lh.Sum(nil)), hex.EncodeToString(rh.Sum(nil))
	if l != r || n != fi.Size() {
		return fmt.Errorf("content differs: local sha256 %s, object sha256 %s (%d bytes)", l, r, n)
	}
	fmt.Printf("verified s3://%s/%s: %d bytes, sha256 %s, ETag %s, same as %s\n", st.Bucket, key, n, r, aws.ToString(head.ETag), filepath.Base(file))
	return nil
}

func teardown(ctx context.Context, env *s3test.Env, dir string) error {
	st, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range st.Users {
		if err := env.DeleteUser(ctx, u); err != nil {
			errs = append(errs, fmt.Errorf("delete user %s: %w", u, err))
		}
	}
	if st.Bucket != "" {
		if err := env.DeleteBucket(ctx, st.Bucket); err != nil {
			errs = append(errs, fmt.Errorf("delete bucket %s: %w", st.Bucket, err))
		}
	}
	return errors.Join(errs...)
}
