package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
)

// pfSetup is one policy configuration of the differential matrix. Policy
// texts are templates: {{BUCKET}} is the bucket name, {{A}} and {{B}} the
// two users' ARNs, {{AKEY}} and {{BKEY}} their access key IDs (which
// versitygw uses as canonical user IDs in ACL grants).
type pfSetup struct {
	name string
	// https runs the setup's cells over TLS (aws:SecureTransport true).
	https bool
	// userA and userB are the users' inline policies ("" = none).
	userA, userB string
	// bucket is the bucket policy ("" = none).
	bucket string
	// grantRead, grantWrite, grantFull are x-amz-grant-* header values (versitygw
	// takes a bare access key ID, not AWS's id="..." form);
	// any of them switches Object Ownership to BucketOwnerPreferred first.
	grantRead, grantWrite, grantFull string
	// reEnforce switches Object Ownership back to BucketOwnerEnforced
	// after the grants are set.
	reEnforce bool
	// acl is the canned ACL the upload sends on CreateMultipartUpload.
	acl string
	// crossSource copies from the worker's second bucket ({{SRC}}), whose
	// policy is srcBucket ("" = none), instead of from the target bucket.
	crossSource bool
	srcBucket   string
}

const pfAllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::{{BUCKET}}","arn:aws:s3:::{{BUCKET}}/*"]}]}`

func pfAllowAllDeny(action string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::{{BUCKET}}","arn:aws:s3:::{{BUCKET}}/*"]},` +
		`{"Sid":"No","Effect":"Deny","Action":"` + action + `","Resource":["arn:aws:s3:::{{BUCKET}}","arn:aws:s3:::{{BUCKET}}/*"]}]}`
}

func pfAllow(actions string, resources string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` + actions + `],"Resource":[` + resources + `]}]}`
}

const (
	pfObj = `"arn:aws:s3:::{{BUCKET}}/*"`
	pfBkt = `"arn:aws:s3:::{{BUCKET}}"`
)

func pfSetups() []pfSetup {
	return []pfSetup{
		{name: "no-policies"},
		{name: "user-allow-all-A", userA: pfAllowAll},
		{name: "user-putobject-only", userA: pfAllow(`"s3:PutObject"`, pfObj), userB: pfAllow(`"s3:PutObject"`, pfObj)},
		{name: "user-mpu-set", userA: pfAllow(`"s3:PutObject","s3:GetObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"`, pfObj),
			userB: pfAllow(`"s3:ListBucketMultipartUploads"`, pfBkt)},
		{name: "user-deny-abort", userA: pfAllowAllDeny("s3:AbortMultipartUpload"), userB: pfAllowAllDeny("s3:AbortMultipartUpload")},
		{name: "user-deny-listparts", userA: pfAllowAllDeny("s3:ListMultipartUploadParts"), userB: pfAllowAll},
		{name: "user-deny-listuploads", userA: pfAllowAllDeny("s3:ListBucketMultipartUploads"), userB: pfAllowAll},
		{name: "user-deny-putobject", userA: pfAllowAllDeny("s3:PutObject"), userB: pfAllowAll},
		{name: "user-deny-getobject", userA: pfAllowAllDeny("s3:GetObject"), userB: pfAllowAllDeny("s3:GetObject")},
		{name: "user-listuploads-on-objects", userA: pfAllow(`"s3:ListBucketMultipartUploads","s3:PutObject"`, pfObj)},
		{name: "bucket-allow-A", bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"{{A}}"},"Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `]}]}`},
		{name: "bucket-allow-both-deny-B-abort", bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["{{A}}","{{B}}"]},"Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `]},` +
			`{"Effect":"Deny","Principal":{"AWS":"{{B}}"},"Action":"s3:AbortMultipartUpload","Resource":` + pfObj + `}]}`},
		{name: "user-put-bucket-abort-listparts", userA: pfAllow(`"s3:PutObject"`, pfObj), userB: pfAllow(`"s3:PutObject"`, pfObj),
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"{{A}}"},"Action":["s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":` + pfObj + `}]}`},
		{name: "bucket-deny-B-overrides-user", userA: pfAllowAll, userB: pfAllowAll,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"{{B}}"},"Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `]}]}`},
		{name: "user-deny-bucket-allow", userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":` + pfObj + `}]}`,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["{{A}}","{{B}}"]},"Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `]}]}`},
		{name: "wildcard-actions", userA: pfAllow(`"s3:*Multipart*","s3:Put*"`, pfObj+`,`+pfBkt), userB: pfAllow(`"s3:List*"`, `"arn:aws:s3:::{{BUCKET}}*"`)},
		{name: "wildcard-question-mark", userA: pfAllow(`"s3:?utObject","s3:GetObjec?"`, `"arn:aws:s3:::{{BUCKET}}/*"`), userB: pfAllow(`"s3:*"`, `"arn:aws:s3:::{{BUCKET}}/?bj*"`)},
		{name: "wildcard-resource-star", userA: pfAllow(`"s3:*"`, `"*"`), userB: pfAllow(`"s3:AbortMultipartUpload","s3:ListMultipartUploadParts"`, `"*"`)},
		{name: "notaction-allow", userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:AbortMultipartUpload","Resource":"*"}]}`,
			userB: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["s3:PutObject","s3:ListBucket*"],"Resource":"*"}]}`},
		{name: "notaction-deny", userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","NotAction":["s3:PutObject","s3:GetObject"],"Resource":"*"}]}`},
		{name: "notresource-allow", userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::{{BUCKET}}"}]}`},
		{name: "sourceip-allow-local", userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}`,
			userB: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}]}`},
		{name: "sourceip-deny-not-local", userA: pfAllowAll, userB: pfAllowAll,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `],"Condition":{"NotIpAddress":{"aws:SourceIp":"127.0.0.1/32"}}}]}`},
		{name: "sourceip-deny-local-B", userA: pfAllowAll, userB: pfAllowAll,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"{{B}}"},"Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `],"Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.1"}}}]}`},
		{name: "securetransport-deny-http", userA: pfAllowAll, userB: pfAllowAll,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`},
		{name: "securetransport-deny-https", https: true, userA: pfAllowAll, userB: pfAllowAll,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":[` + pfBkt + `,` + pfObj + `],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`},
		{name: "securetransport-allow-http", userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`},
		{name: "securetransport-allow-https", https: true, userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`},
		{name: "cross-user-bucket-grants", userA: pfAllow(`"s3:PutObject"`, pfObj),
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"{{B}}"},"Action":["s3:AbortMultipartUpload","s3:ListMultipartUploadParts","s3:ListBucketMultipartUploads"],"Resource":[` + pfBkt + `,` + pfObj + `]},` +
				`{"Effect":"Allow","Principal":{"AWS":"{{A}}"},"Action":"s3:GetObject","Resource":` + pfObj + `}]}`},
		{name: "bucket-principal-star-listuploads", userA: pfAllow(`"s3:PutObject"`, pfObj),
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucketMultipartUploads","Resource":` + pfBkt + `}]}`},
		{name: "acl-write-A", grantWrite: "{{AKEY}}"},
		{name: "acl-read-B", grantRead: "{{BKEY}}", userA: pfAllow(`"s3:PutObject"`, pfObj)},
		{name: "acl-full-control-A", grantFull: "{{AKEY}}"},
		{name: "acl-write-A-with-bucket-policy", grantWrite: "{{AKEY}}",
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"{{B}}"},"Action":"s3:ListBucketMultipartUploads","Resource":` + pfBkt + `}]}`},
		{name: "acl-write-A-reenforced", grantWrite: "{{AKEY}}", reEnforce: true},
		{name: "header-acl-condition", acl: "private",
			userA: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":` + pfObj + `,"Condition":{"StringEquals":{"s3:x-amz-acl":"private"}}},` +
				`{"Effect":"Allow","Action":["s3:AbortMultipartUpload","s3:ListMultipartUploadParts","s3:GetObject"],"Resource":` + pfObj + `}]}`,
			userB: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":{"StringNotEquals":{"s3:x-amz-acl":"private"}}}]}`},
		{name: "policy-variable-username",
			userA: pfAllow(`"s3:*"`, `"arn:aws:s3:::{{BUCKET}}/obj/*/${aws:username}"`),
			userB: pfAllow(`"s3:PutObject","s3:AbortMultipartUpload"`, `"arn:aws:s3:::{{BUCKET}}/obj/*/${aws:username}","arn:aws:s3:::{{BUCKET}}/src/*"`)},
		{name: "bucket-notprincipal-deny", userA: pfAllowAll, userB: pfAllowAll,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"{{A}}"},"Action":["s3:PutObject","s3:AbortMultipartUpload"],"Resource":` + pfObj + `}]}`},
		{name: "bucket-notaction-deny", userA: pfAllowAll, userB: pfAllowAll,
			bucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"{{B}}"},"NotAction":["s3:GetObject"],"Resource":[` + pfBkt + `,` + pfObj + `]}]}`},
		{name: "copy-source-other-bucket-user-policy", crossSource: true,
			userA: pfAllow(`"s3:*"`, pfObj+`,`+pfBkt+`,"arn:aws:s3:::{{SRC}}/*"`), userB: pfAllowAll},
		{name: "copy-source-bucket-policy-allows", crossSource: true,
			userA: pfAllowAll, userB: pfAllowAll,
			srcBucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"{{B}}"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{{SRC}}/*"}]}`},
		{name: "copy-source-bucket-policy-denies", crossSource: true,
			userA: pfAllow(`"s3:*"`, `"*"`), userB: pfAllow(`"s3:*"`, `"*"`),
			srcBucket: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"{{A}}"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{{SRC}}/*"}]}`},
		{name: "acl-read-write-split", grantRead: "{{AKEY}}", grantWrite: "{{BKEY}}", userA: pfAllow(`"s3:PutObject"`, pfObj)},
	}
}

type pfVerdict string

const (
	pfAllowed pfVerdict = "A"
	pfDenied  pfVerdict = "D"
	pfUnknown pfVerdict = "?"
	pfError   pfVerdict = "E"
)

func pfFromDecision(d mpu.Decision) pfVerdict {
	switch {
	case d == mpu.Allowed:
		return pfAllowed
	case d.Denied():
		return pfDenied
	}
	return pfUnknown
}

func pfFromErr(err error) (pfVerdict, string) {
	if err == nil {
		return pfAllowed, ""
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() == 403 {
		return pfDenied, ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return pfError, ae.ErrorCode()
	}
	return pfError, err.Error()
}

type pfCell struct {
	setup, user string
	step        mpu.Step
	real, local pfVerdict
	probe       pfVerdict
	// solo is the probe with the caller's client alone (no cleanup client): Initiate is
	// then decided by the conditional PutObject whenever the caller may not abort.
	solo pfVerdict
	// soloPut: the probe-only verdict came from the conditional PutObject (the caller may not abort).
	soloPut bool
	note    string
}

func (c pfCell) ok() bool { return c.real == c.local && c.real == c.probe && c.real == c.solo }

// pfWorker owns a bucket and two users; setups run on it one at a time.
type pfWorker struct {
	bucket, src string
	a, b        s3test.User
}

func pfExpand(tpl string, w *pfWorker) string {
	r := strings.NewReplacer("{{BUCKET}}", w.bucket, "{{SRC}}", w.src, "{{A}}", w.a.ARN, "{{B}}", w.b.ARN, "{{AKEY}}", w.a.AccessKey, "{{BKEY}}", w.b.AccessKey)
	return r.Replace(tpl)
}

// TestPreflightDifferential proves preflight against versitygw: for a
// matrix of policy setups (user policies, bucket policies, both, explicit
// denies per action, wildcards, NotAction/NotResource, aws:SourceIp and
// aws:SecureTransport conditions, a header condition key only
// CreateMultipartUpload carries, policy variables, NotPrincipal, cross-user
// grants, ACL grants with Object Ownership switched) x the seven multipart steps x two users (the
// initiator of the uploads and another user), the local verdict (policies
// read through IAM and S3), the probe verdict (with the bucket owner's
// client to clean up its test upload) and the probe-only verdict (the
// caller's client alone, so Initiate is decided by a conditional PutObject
// whenever the caller may not abort), all under ProfileNoDefaults, must
// equal what versitygw does when the real call is made; the probes must
// leave no upload and no object behind, and the probe-only column must
// have no unknown Initiate. The matrix is printed on any mismatch.
func TestPreflightDifferential(t *testing.T) {
	env := s3test.Load(t)
	setups := pfSetups()
	const workers = 4
	ws := make([]*pfWorker, workers)
	for i := range ws {
		w := &pfWorker{bucket: env.NewBucket(t, s3test.WithPrefix(fmt.Sprintf("pfdiff%d", i))),
			src: env.NewBucket(t, s3test.WithPrefix(fmt.Sprintf("pfsrc%d", i))),
			a:   env.NewUser(t, "pfa"), b: env.NewUser(t, "pfb")}
		for _, b := range []string{w.bucket, w.src} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := env.Root(env.HTTP()).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("src/object"), Body: strings.NewReader("source")})
			cancel()
			if err != nil {
				t.Fatalf("put copy source: %v", err)
			}
		}
		ws[i] = w
	}
	results := make([][]pfCell, len(setups))
	calls := map[string]map[string]int{}
	var mu sync.Mutex
	jobs := make(chan int)
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	start := time.Now()
	for wi, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if errs[wi] != nil {
					continue // drain
				}
				cells, c, err := pfRunSetup(context.Background(), env, w, setups[i])
				if err != nil {
					errs[wi] = fmt.Errorf("setup %s: %w", setups[i].name, err)
					continue
				}
				mu.Lock()
				results[i] = cells
				for mode, m := range c {
					if pfSum(m) > pfSum(calls[mode]) {
						calls[mode] = m
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range setups {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var all []pfCell
	for _, cs := range results {
		all = append(all, cs...)
	}
	bad := 0
	for _, c := range all {
		if !c.ok() {
			bad++
		}
	}
	t.Logf("differential matrix: %d setups x %d steps x 2 users = %d cells, %d mismatches, %s", len(setups), len(mpu.AllSteps), len(all), bad, time.Since(start).Round(time.Millisecond))
	unknown := map[string]map[mpu.Step]int{"local": {}, "probe": {}, "probe-only": {}}
	for _, c := range all {
		for col, v := range map[string]pfVerdict{"local": c.local, "probe": c.probe, "probe-only": c.solo} {
			if v == pfUnknown {
				unknown[col][c.step]++
			}
		}
	}
	for _, col := range []string{"local", "probe", "probe-only"} {
		t.Logf("unknown verdicts in the %s column per step: %v", col, unknown[col])
	}
	viaPut := 0
	for _, c := range all {
		if c.step == mpu.Initiate && c.soloPut {
			viaPut++
		}
	}
	t.Logf("probe-only Initiate cells decided by the conditional PutObject (the caller may not abort): %d of %d", viaPut, len(all)/len(mpu.AllSteps))
	if n := unknown["probe-only"][mpu.Initiate]; n > 0 {
		t.Errorf("the probe-only column has %d unknown Initiate verdicts, want none", n)
	}
	for _, mode := range []string{"local", "probe"} {
		t.Logf("API calls of one preflight in %s mode (most in any cell): %d %v", mode, pfSum(calls[mode]), calls[mode])
	}
	if len(all) < 30*7*2 {
		t.Errorf("matrix too small: %d cells", len(all))
	}
	t.Logf("matrix:\n%s", pfMatrix(setups, results))
	if bad > 0 {
		t.Errorf("%d of %d cells disagree with versitygw:\n%s", bad, len(all), pfMatrix(setups, results))
	}
}

func pfSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// pfMatrix renders real/local/probe per cell; mismatching cells are marked.
func pfMatrix(setups []pfSetup, results [][]pfCell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-34s %-4s", "setup", "user")
	for _, s := range mpu.AllSteps {
		fmt.Fprintf(&b, " %-14s", s)
	}
	b.WriteString("   (real/local/probe/probe-only, A=allowed D=denied ?=unknown E=error, * = mismatch)\n")
	for i, cs := range results {
		byUser := map[string][]pfCell{}
		var users []string
		for _, c := range cs {
			if _, ok := byUser[c.user]; !ok {
				users = append(users, c.user)
			}
			byUser[c.user] = append(byUser[c.user], c)
		}
		for _, u := range users {
			fmt.Fprintf(&b, "%-34s %-4s", setups[i].name, u)
			var notes []string
			for _, c := range byUser[u] {
				mark := " "
				if !c.ok() {
					mark = "*"
				}
				fmt.Fprintf(&b, " %s%s/%s/%s/%s%-6s", mark, c.real, c.local, c.probe, c.solo, "")
				if c.note != "" && !c.ok() {
					notes = append(notes, c.step.String()+": "+c.note)
				}
			}
			b.WriteString("\n")
			for _, n := range notes {
				fmt.Fprintf(&b, "      %s\n", n)
			}
		}
	}
	return b.String()
}

func pfRunSetup(ctx context.Context, env *s3test.Env, w *pfWorker, s pfSetup) ([]pfCell, map[string]map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tgt := env.HTTP()
	if s.https {
		tgt = env.HTTPS()
	}
	root := env.Root(env.HTTP())
	ic := env.IAMClient()
	// Apply.
	for _, up := range []struct {
		u   s3test.User
		doc string
	}{{w.a, s.userA}, {w.b, s.userB}} {
		if up.doc == "" {
			_, err := ic.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &up.u.Name, PolicyName: aws.String("pf")})
			if err != nil && apiCode(err) != "NoSuchEntity" {
				return nil, nil, fmt.Errorf("delete user policy: %w", err)
			}
			continue
		}
		if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &up.u.Name, PolicyName: aws.String("pf"), PolicyDocument: aws.String(pfExpand(up.doc, w))}); err != nil {
			return nil, nil, fmt.Errorf("put user policy: %w", err)
		}
	}
	if s.bucket != "" {
		if _, err := root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &w.bucket, Policy: aws.String(pfExpand(s.bucket, w))}); err != nil {
			return nil, nil, fmt.Errorf("put bucket policy: %w", err)
		}
	}
	if s.srcBucket != "" {
		if _, err := root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &w.src, Policy: aws.String(pfExpand(s.srcBucket, w))}); err != nil {
			return nil, nil, fmt.Errorf("put source bucket policy: %w", err)
		}
	}
	acl := s.grantRead != "" || s.grantWrite != "" || s.grantFull != ""
	if acl {
		if err := pfOwnership(ctx, root, w.bucket, types.ObjectOwnershipBucketOwnerPreferred); err != nil {
			return nil, nil, err
		}
		in := &s3.PutBucketAclInput{Bucket: &w.bucket}
		if s.grantRead != "" {
			in.GrantRead = aws.String(pfExpand(s.grantRead, w))
		}
		if s.grantWrite != "" {
			in.GrantWrite = aws.String(pfExpand(s.grantWrite, w))
		}
		if s.grantFull != "" {
			in.GrantFullControl = aws.String(pfExpand(s.grantFull, w))
		}
		if _, err := root.PutBucketAcl(ctx, in); err != nil {
			return nil, nil, fmt.Errorf("put bucket acl: %w", err)
		}
		if s.reEnforce {
			if err := pfOwnership(ctx, root, w.bucket, types.ObjectOwnershipBucketOwnerEnforced); err != nil {
				return nil, nil, err
			}
		}
	}
	// Reset whatever happens.
	defer func() {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer rcancel()
		if s.bucket != "" {
			_, _ = root.DeleteBucketPolicy(rctx, &s3.DeleteBucketPolicyInput{Bucket: &w.bucket})
		}
		if s.srcBucket != "" {
			_, _ = root.DeleteBucketPolicy(rctx, &s3.DeleteBucketPolicyInput{Bucket: &w.src})
		}
		if acl {
			_ = pfOwnership(rctx, root, w.bucket, types.ObjectOwnershipBucketOwnerPreferred)
			_, _ = root.PutBucketAcl(rctx, &s3.PutBucketAclInput{Bucket: &w.bucket, ACL: types.BucketCannedACLPrivate})
			_ = pfOwnership(rctx, root, w.bucket, types.ObjectOwnershipBucketOwnerEnforced)
		}
	}()

	var cells []pfCell
	calls := map[string]map[string]int{}
	for _, who := range []struct {
		label string
		u     s3test.User
	}{{"A", w.a}, {"B", w.b}} {
		cli := env.S3For(tgt, who.u)
		srcBucket := w.bucket
		if s.crossSource {
			srcBucket = w.src
		}
		key := "obj/" + s.name + "/" + who.u.Name
		plan := &preflight.Plan{
			Bucket: w.bucket, Key: key, Size: 3 << 20,
			CopySource:        &preflight.CopySource{Bucket: srcBucket, Key: "src/object"},
			Caller:            who.u.ARN,
			CallerCanonicalID: who.u.AccessKey,
			BucketOwner:       env.AccountID(),
			SourceIP:          "127.0.0.1",
			Transport:         preflight.TransportHTTP,
			ACL:               s.acl,
		}
		if s.https {
			plan.Transport = preflight.TransportHTTPS
		}
		prof := func(o *preflight.Options) { o.Profile = preflight.ProfileNoDefaults }
		local := preflight.New(preflight.NewLocal(preflight.LocalOptions{IAM: ic, S3: root}), prof)
		lrep, err := local.Check(ctx, plan)
		if err != nil {
			return nil, nil, fmt.Errorf("local preflight: %w", err)
		}
		probe := preflight.New(preflight.NewProbe(cli, preflight.ProbeOptions{Cleanup: root}), prof)
		prep, err := probe.Check(ctx, plan)
		if err != nil {
			return nil, nil, fmt.Errorf("probe preflight: %w", err)
		}
		if len(prep.Leftover) > 0 {
			return nil, nil, fmt.Errorf("probe left uploads behind: %v", prep.Leftover)
		}
		solo := preflight.New(preflight.NewProbe(cli, preflight.ProbeOptions{}), prof)
		srep, err := solo.Check(ctx, plan)
		if err != nil {
			return nil, nil, fmt.Errorf("probe-only preflight: %w", err)
		}
		if len(srep.Leftover) > 0 {
			return nil, nil, fmt.Errorf("probe-only left uploads behind: %v", srep.Leftover)
		}
		// Nothing behind: no upload and no object under the key.
		ups, err := root.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &w.bucket, Prefix: &key})
		if err != nil {
			return nil, nil, fmt.Errorf("list uploads after the probes: %w", err)
		}
		if len(ups.Uploads) > 0 {
			return nil, nil, fmt.Errorf("the probes left %d upload(s) of %s", len(ups.Uploads), key)
		}
		if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &w.bucket, Key: &key}); err == nil {
			return nil, nil, fmt.Errorf("the probes created the object %s", key)
		}
		for mode, m := range map[string]map[string]int{"local": lrep.APICalls, "probe": prep.APICalls} {
			if pfSum(m) > pfSum(calls[mode]) {
				calls[mode] = m
			}
		}
		real, notes, err := pfReal(ctx, root, cli, w.a, env, tgt, w.bucket, key, s.acl, srcBucket)
		if err != nil {
			return nil, nil, err
		}
		for _, st := range mpu.AllSteps {
			ls, _ := lrep.Step(st)
			ps, _ := prep.Step(st)
			ss, _ := srep.Step(st)
			c := pfCell{setup: s.name, user: who.label, step: st, real: real[st], local: pfFromDecision(ls.Decision), probe: pfFromDecision(ps.Decision),
				solo: pfFromDecision(ss.Decision), soloPut: strings.Contains(strings.Join(ss.Reasons, " "), "conditional PutObject"), note: notes[st]}
			if !c.ok() {
				c.note += fmt.Sprintf(" | local: %s | probe: %s | probe-only: %s", strings.Join(ls.Reasons, "; "), strings.Join(ps.Reasons, "; "), strings.Join(ss.Reasons, "; "))
			}
			cells = append(cells, c)
		}
	}
	return cells, calls, nil
}

func pfOwnership(ctx context.Context, root *s3.Client, bucket string, o types.ObjectOwnership) error {
	_, err := root.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: &bucket,
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: o}}}})
	if err != nil {
		return fmt.Errorf("put ownership %s: %w", o, err)
	}
	return nil
}

// pfReal makes each step's real call as cli, on uploads created by the
// initiator user a (or by root when a may not create them), and cleans up
// with root.
func pfReal(ctx context.Context, root, cli *s3.Client, a s3test.User, env *s3test.Env, tgt s3test.Target, bucket, key, acl, srcBucket string) (map[mpu.Step]pfVerdict, map[mpu.Step]string, error) {
	out := map[mpu.Step]pfVerdict{}
	notes := map[mpu.Step]string{}
	record := func(st mpu.Step, err error) bool {
		v, n := pfFromErr(err)
		out[st], notes[st] = v, n
		return err == nil
	}
	var toAbort []string
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, id := range toAbort {
			_, _ = root.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: aws.String(id)})
		}
	}()
	// Initiate, as the caller, with the upload's headers.
	cr, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ACL: types.ObjectCannedACL(acl)})
	if record(mpu.Initiate, err) {
		toAbort = append(toAbort, aws.ToString(cr.UploadId))
	}
	// The uploads the other steps act on: the initiator's when it may create them.
	creator := env.S3For(tgt, a)
	mk := func() (string, error) {
		r, err := creator.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ACL: types.ObjectCannedACL(acl)})
		if err != nil {
			r, err = root.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
			if err != nil {
				return "", fmt.Errorf("create upload as root: %w", err)
			}
		}
		toAbort = append(toAbort, aws.ToString(r.UploadId))
		return aws.ToString(r.UploadId), nil
	}
	u1, err := mk()
	if err != nil {
		return nil, nil, err
	}
	u2, err := mk()
	if err != nil {
		return nil, nil, err
	}
	p1, err := root.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: &u1, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part1"))})
	if err != nil {
		return nil, nil, fmt.Errorf("root upload part: %w", err)
	}
	_, err = cli.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: &u1, PartNumber: aws.Int32(2), Body: bytes.NewReader([]byte("x"))})
	record(mpu.UploadPart, err)
	_, err = cli.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &bucket, Key: &key, UploadId: &u1, PartNumber: aws.Int32(3), CopySource: aws.String(srcBucket + "/src/object")})
	record(mpu.UploadPartCopy, err)
	_, err = cli.ListParts(ctx, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &u1})
	record(mpu.ListParts, err)
	_, err = cli.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &u1,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: p1.ETag}}}})
	if record(mpu.Complete, err) {
		toAbort = pfRemove(toAbort, u1)
	}
	_, err = cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &u2})
	if record(mpu.Abort, err) {
		toAbort = pfRemove(toAbort, u2)
	}
	_, err = cli.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	record(mpu.ListUploads, err)
	return out, notes, nil
}

func pfRemove(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
