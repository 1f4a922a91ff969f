package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader/event"
)

func TestObjectFlagsValidate(t *testing.T) {
	tests := []struct {
		name    string
		f       objectFlags
		wantErr string
	}{
		{"empty", objectFlags{}, ""},
		{"kms", objectFlags{sse: "aws:kms", kmsKeyID: "alias/x", kmsContext: []string{"a=b"}, bucketKey: true}, ""},
		{"AES256 any case", objectFlags{sse: "aes256"}, ""},
		{"sse-c", objectFlags{sseC: "AES256"}, ""},
		{"checksum lower case", objectFlags{checksumAlgo: "crc64nvme"}, ""},
		{"unknown sse", objectFlags{sse: "rot13"}, "--sse"},
		{"key without kms", objectFlags{kmsKeyID: "alias/x"}, "--sse-kms-key-id needs --sse aws:kms"},
		{"key with AES256", objectFlags{sse: "AES256", kmsKeyID: "alias/x"}, "--sse-kms-key-id needs"},
		{"context without kms", objectFlags{kmsContext: []string{"a=b"}}, "--sse-kms-context needs"},
		{"bucket key without kms", objectFlags{bucketKey: true}, "--bucket-key needs"},
		{"sse-c algorithm", objectFlags{sseC: "AES128"}, "only SSE-C algorithm"},
		{"sse-c with sse", objectFlags{sseC: "AES256", sse: "AES256"}, "cannot be combined"},
		{"checksum", objectFlags{checksumAlgo: "MD5"}, "--checksum-algorithm"},
		{"bad context", objectFlags{sse: "aws:kms", kmsContext: []string{"novalue"}}, "KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cmdkit.Code(err) != cmdkit.ExitUsage {
				t.Fatalf("err = %v (exit %d), want usage error containing %q", err, cmdkit.Code(err), tt.wantErr)
			}
		})
	}
}

func TestObjectFlagsPlan(t *testing.T) {
	f := objectFlags{sse: "AWS:KMS", kmsKeyID: "alias/backups", kmsContext: []string{"project=x"}, bucketKey: true, acl: "bucket-owner-full-control", storageClass: "STANDARD_IA", copySource: "s3://src-bucket/a/b"}
	cf := checkFlags{caller: "arn:aws:iam::111122223333:user/alice", bucketOwner: "111122223333", sourceIP: "192.0.2.1", policySourceFlags: policySourceFlags{context: []string{"aws:SecureTransport=true"}}}
	p, err := f.plan(cmdkit.URL{Bucket: "dst-bucket", Key: "k"}, 1<<30, &cf)
	if err != nil {
		t.Fatal(err)
	}
	if p.Bucket != "dst-bucket" || p.Key != "k" || p.Size != 1<<30 || p.ACL != "bucket-owner-full-control" || p.StorageClass != "STANDARD_IA" {
		t.Errorf("plan %+v", p)
	}
	if p.SSE.Algorithm != "aws:kms" || p.SSE.KMSKeyID != "alias/backups" || !p.SSE.BucketKey || p.SSE.KMSContext["project"] != "x" {
		t.Errorf("SSE %+v", p.SSE)
	}
	if p.CopySource == nil || p.CopySource.Bucket != "src-bucket" || p.CopySource.Key != "a/b" {
		t.Errorf("copy source %+v", p.CopySource)
	}
	if p.Caller != cf.caller || p.BucketOwner != "111122223333" || p.SourceIP != "192.0.2.1" || p.Context["aws:SecureTransport"][0] != "true" {
		t.Errorf("caller side %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("plan does not validate: %v", err)
	}
	// --checksum-algorithm reaches the plan (it changes the KMS permissions Complete needs);
	// without it the plan says "the default", which sends a checksum.
	if p.ChecksumAlgorithm != "" || !p.Checksums() {
		t.Errorf("no --checksum-algorithm: plan checksum %q", p.ChecksumAlgorithm)
	}
	f.checksumAlgo = "crc64nvme"
	if p, err = f.plan(cmdkit.URL{Bucket: "dst-bucket", Key: "k"}, 1<<30, &cf); err != nil || p.ChecksumAlgorithm != "CRC64NVME" || p.Validate() != nil {
		t.Errorf("--checksum-algorithm crc64nvme: plan checksum %q, %v", p.ChecksumAlgorithm, err)
	}
	if _, err := (&objectFlags{copySource: "s3://bucket-only"}).plan(cmdkit.URL{Bucket: "b", Key: "k"}, -1, nil); cmdkit.Code(err) != cmdkit.ExitUsage {
		t.Errorf("bad copy source: %v", err)
	}
	// The encryption context header is base64 JSON.
	var ctx map[string]string
	b, err := base64.StdEncoding.DecodeString(f.kmsContextHeader())
	if err != nil || json.Unmarshal(b, &ctx) != nil || ctx["project"] != "x" {
		t.Errorf("kmsContextHeader %q", f.kmsContextHeader())
	}
	if (&objectFlags{}).kmsContextHeader() != "" {
		t.Error("empty context gives a header")
	}
}

func TestCheckFlagsValidate(t *testing.T) {
	good := checkFlags{mode: "auto", policySourceFlags: policySourceFlags{serverProfile: "aws"}}
	if _, err := good.validate(); err != nil {
		t.Fatal(err)
	}
	prof, err := (&checkFlags{mode: "probe", policySourceFlags: policySourceFlags{serverProfile: "nodefaults"}}).validate()
	if err != nil || prof != preflight.ProfileNoDefaults {
		t.Fatalf("nodefaults: %v, %v", prof, err)
	}
	for _, f := range []checkFlags{
		{mode: "guess", policySourceFlags: policySourceFlags{serverProfile: "aws"}},
		{mode: "auto", policySourceFlags: policySourceFlags{serverProfile: "minio?"}},
		{mode: "auto", caller: "alice", policySourceFlags: policySourceFlags{serverProfile: "aws"}},
		{mode: "auto", bucketOwner: "12", policySourceFlags: policySourceFlags{serverProfile: "aws"}},
		{mode: "auto", sourceIP: "300.1.1.1", policySourceFlags: policySourceFlags{serverProfile: "aws"}},
		{mode: "auto", policySourceFlags: policySourceFlags{serverProfile: "aws", context: []string{"x"}}},
	} {
		if _, err := f.validate(); cmdkit.Code(err) != cmdkit.ExitUsage {
			t.Errorf("%+v: err = %v, want a usage error", f, err)
		}
	}
}

func TestCheckFlagsSources(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "p.json")
	if err := os.WriteFile(pol, []byte(`{"Version":"2012-10-17","Statement":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f := checkFlags{policySourceFlags: policySourceFlags{identityPolicies: []string{pol, pol}, bucketPolicy: pol, objectOwnership: "bucketownerpreferred", aclGrants: []string{"WRITE=account:111122223333"}}}
	s, err := f.sources()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Identity) != 2 || s.Identity[0].Name != pol || s.BucketPolicy == nil || s.Ownership != preflight.OwnershipBucketOwnerPreferred || s.ACL == nil || len(s.ACL.Grants) != 1 {
		t.Errorf("sources %+v", s)
	}
	for _, bad := range []checkFlags{
		{policySourceFlags: policySourceFlags{identityPolicies: []string{filepath.Join(dir, "absent.json")}}},
		{policySourceFlags: policySourceFlags{bucketPolicy: filepath.Join(dir, "absent.json")}},
		{policySourceFlags: policySourceFlags{objectOwnership: "Sometimes"}},
		{policySourceFlags: policySourceFlags{aclGrants: []string{"WRITE=nobody"}}},
	} {
		if _, err := bad.sources(); cmdkit.Code(err) != cmdkit.ExitUsage {
			t.Errorf("%+v: err = %v, want a usage error", bad, err)
		}
	}
	empty := filepath.Join(dir, "empty.json")
	_ = os.WriteFile(empty, []byte("  \n"), 0o600)
	if _, err := (&checkFlags{policySourceFlags: policySourceFlags{bucketPolicy: empty}}).sources(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: %v", err)
	}
}

func TestReportExitAndBlocking(t *testing.T) {
	allowed := preflight.StepResult{Decision: mpu.Allowed}
	rep := &preflight.Report{Steps: []preflight.StepResult{allowed, allowed}}
	if err := reportExit(rep); err != nil {
		t.Fatalf("all allowed: %v", err)
	}
	unknown := &preflight.Report{Steps: []preflight.StepResult{allowed, {Decision: mpu.Unknown}}}
	if got := cmdkit.Code(reportExit(unknown)); got != cmdkit.ExitFailure {
		t.Fatalf("unknown: exit %d", got)
	}
	denied := &preflight.Report{Steps: []preflight.StepResult{{Decision: mpu.Unknown}, {Decision: mpu.ImplicitDeny}}}
	if got := cmdkit.Code(reportExit(denied)); got != cmdkit.ExitDenied {
		t.Fatalf("denied: exit %d", got)
	}
	kms := &preflight.Report{Steps: []preflight.StepResult{allowed}, KMS: []preflight.KMSRow{{Decision: mpu.ExplicitDeny}}}
	if got := cmdkit.Code(reportExit(kms)); got != cmdkit.ExitDenied {
		t.Fatalf("KMS denied: exit %d", got)
	}
	// The seed row counts only when it is not advisory.
	seed := func(advisory bool, d mpu.Decision) *preflight.KMSRow {
		return &preflight.KMSRow{Label: "upload (S3 permission table)", Seed: true, Advisory: advisory, Decision: d}
	}
	advisory := &preflight.Report{Steps: []preflight.StepResult{allowed}, KMSSeed: seed(true, mpu.ImplicitDeny)}
	if err := reportExit(advisory); err != nil {
		t.Fatalf("advisory seed denied: %v, want exit 0", err)
	}
	advisoryUnknown := &preflight.Report{Steps: []preflight.StepResult{{Decision: mpu.Unknown}}, KMSSeed: seed(true, mpu.ImplicitDeny)}
	if got := cmdkit.Code(reportExit(advisoryUnknown)); got != cmdkit.ExitFailure {
		t.Fatalf("advisory seed denied, a step unknown: exit %d, want %d", got, cmdkit.ExitFailure)
	}
	required := &preflight.Report{Steps: []preflight.StepResult{allowed}, KMSSeed: seed(false, mpu.ImplicitDeny)}
	if got := cmdkit.Code(reportExit(required)); got != cmdkit.ExitDenied {
		t.Fatalf("required seed denied: exit %d, want %d", got, cmdkit.ExitDenied)
	}
}

func TestPrintReportVerdict(t *testing.T) {
	allowed := preflight.StepResult{Decision: mpu.Allowed}
	for _, tt := range []struct {
		rep  *preflight.Report
		want string
	}{
		{&preflight.Report{Steps: []preflight.StepResult{allowed}}, "result: every checked step is allowed"},
		{&preflight.Report{Steps: []preflight.StepResult{allowed}, KMS: []preflight.KMSRow{{Step: 1, Decision: mpu.ImplicitDeny}}}, "result: 1 KMS row(s) denied"},
		{&preflight.Report{Steps: []preflight.StepResult{{Decision: mpu.ExplicitDeny}}, KMSSeed: &preflight.KMSRow{Seed: true, Decision: mpu.ImplicitDeny}}, "result: 1 step(s) denied, 1 KMS row(s) denied"},
		{&preflight.Report{Steps: []preflight.StepResult{{Decision: mpu.Unknown}}, KMSSeed: &preflight.KMSRow{Seed: true, Advisory: true, Decision: mpu.ImplicitDeny}}, "result: some verdicts are unknown"},
	} {
		var b strings.Builder
		a := &app{}
		if err := a.printReport(&b, tt.rep); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want+"\n") {
			t.Errorf("report ends %q, want %q", b.String()[strings.LastIndex(b.String(), "result:"):], tt.want)
		}
	}
}

func TestReportJSONShape(t *testing.T) {
	rep := &preflight.Report{Caller: "arn:aws:iam::111122223333:user/a", Bucket: "b", Key: "k",
		Steps: []preflight.StepResult{{Operation: "AbortMultipartUpload", Actions: []string{"s3:AbortMultipartUpload"}, Resources: []string{"arn:aws:s3:::b/k"},
			Decision: mpu.ExplicitDeny, Evaluator: mpu.EvaluatorLocal, Reasons: []string{"denied"}, Remedy: &mpu.Remedy{Summary: "fix it"}}}}
	b, err := json.Marshal(reportJSON(rep))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"caller", "bucket", "key", "steps", "kms"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	step := got["steps"].([]any)[0].(map[string]any)
	for _, k := range []string{"step", "actions", "resources", "decision", "evaluator", "reasons", "remedy"} {
		if _, ok := step[k]; !ok {
			t.Errorf("no %q in step %v", k, step)
		}
	}
	if step["decision"] != "explicitDeny" || step["evaluator"] != "local" {
		t.Errorf("step %v", step)
	}
	if got["kms_seed"] != nil {
		t.Errorf("kms_seed = %v without a seed row, want null", got["kms_seed"])
	}
	if _, ok := got["kms_seed"]; !ok {
		t.Errorf("no kms_seed key in %s", b)
	}

	// KMS rows carry their label; the seed row is "kms_seed", with no step.
	withKMS := *rep
	withKMS.KMS = []preflight.KMSRow{{Step: mpu.UploadPart, Label: "UploadPart", Actions: []string{"kms:GenerateDataKey"}, Resources: []string{"arn:aws:kms:us-east-1:111122223333:key/k"},
		Decision: mpu.Allowed, Evaluator: mpu.EvaluatorNone}}
	withKMS.KMSSeed = &preflight.KMSRow{Label: "upload (S3 permission table)", Seed: true, Advisory: true, Actions: []string{"kms:Encrypt", "kms:ReEncrypt*"},
		Resources: []string{"arn:aws:kms:us-east-1:111122223333:key/k"}, Decision: mpu.ImplicitDeny, Evaluator: mpu.EvaluatorLocal, Reasons: []string{"not allowed"},
		Remedy: &mpu.Remedy{Summary: "add kms:Encrypt"}}
	b, _ = json.Marshal(reportJSON(&withKMS))
	var kj struct {
		KMS     []map[string]any `json:"kms"`
		KMSSeed map[string]any   `json:"kms_seed"`
	}
	if err := json.Unmarshal(b, &kj); err != nil {
		t.Fatal(err)
	}
	if len(kj.KMS) != 1 || kj.KMS[0]["label"] != "UploadPart" || kj.KMS[0]["step"] != "UploadPart" || kj.KMS[0]["evaluator"] != "none" || kj.KMS[0]["advisory"] != false {
		t.Errorf("kms rows %v", kj.KMS)
	}
	sd := kj.KMSSeed
	if sd == nil || sd["label"] != "upload (S3 permission table)" || sd["advisory"] != true || sd["decision"] != "implicitDeny" || sd["remedy"] == nil {
		t.Errorf("kms_seed %v", sd)
	}
	if _, ok := sd["step"]; ok {
		t.Errorf("the seed row has a step: %v", sd)
	}

	// An allowed step still carries "remedy": null.
	rep.Steps[0].Remedy, rep.Steps[0].Decision = nil, mpu.Allowed
	b, _ = json.Marshal(reportJSON(rep))
	if !strings.Contains(string(b), `"remedy":null`) {
		t.Errorf("no null remedy: %s", b)
	}
}

func TestReadSSECKey(t *testing.T) {
	dir := t.TempDir()
	raw := []byte("0123456789abcdef0123456789abcdef")
	rawFile := filepath.Join(dir, "raw")
	b64File := filepath.Join(dir, "b64")
	badFile := filepath.Join(dir, "bad")
	_ = os.WriteFile(rawFile, raw, 0o600)
	_ = os.WriteFile(b64File, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600)
	_ = os.WriteFile(badFile, []byte("supersecretbutshort"), 0o600)
	for _, f := range []string{rawFile, b64File} {
		k, err := readSSECKey(f)
		if err != nil || string(k) != string(raw) {
			t.Errorf("%s: %q, %v", f, k, err)
		}
	}
	_, err := readSSECKey(badFile)
	if cmdkit.Code(err) != cmdkit.ExitUsage || strings.Contains(err.Error(), "supersecret") {
		t.Errorf("bad key: %v", err)
	}
	if _, err := readSSECKey(filepath.Join(dir, "absent")); cmdkit.Code(err) != cmdkit.ExitUsage {
		t.Errorf("absent key file: %v", err)
	}
}

// recordProgress records what the listener hands the display.
type recordProgress struct {
	total, sentBytes int64
	parts, done      int
	retries          int
	skipped          int64
	finished         []bool
}

func (r *recordProgress) skip(n int64, parts int) { r.skipped += n; r.done += parts }

func (r *recordProgress) start(total int64, parts int) { r.total, r.parts = total, parts }
func (r *recordProgress) sent(n int64)                 { r.sentBytes += n }
func (r *recordProgress) partDone()                    { r.done++ }
func (r *recordProgress) retry()                       { r.retries++ }
func (r *recordProgress) finish(ok bool)               { r.finished = append(r.finished, ok) }

func TestProgressListener(t *testing.T) {
	rec := &recordProgress{}
	l := &progressListener{p: rec}
	l.OnEvent(event.Started{Size: 10 << 20, Parts: 2})
	l.OnEvent(event.BytesSent{PartNumber: 1, Bytes: 5 << 20})
	l.OnEvent(event.Retry{Op: "UploadPart", PartNumber: 2, Attempt: 1, Err: errors.New("reset")})
	l.OnEvent(event.BytesSent{PartNumber: 2, Bytes: 5 << 20})
	l.OnEvent(event.PartDone{PartNumber: 1})
	l.OnEvent(event.PartDone{PartNumber: 2})
	if rec.total != 10<<20 || rec.parts != 2 || rec.sentBytes != 10<<20 || rec.done != 2 || rec.retries != 1 || l.retries != 1 {
		t.Fatalf("recorded %+v, listener retries %d", rec, l.retries)
	}
	// The summary's hedges and adaptive level come from Completed.
	done := event.Completed{Bucket: "b", Key: "k", Size: 10 << 20, Retries: 1, Hedges: 2, HedgesWon: 1, HedgedBytes: 8 << 20, AdaptiveLevel: 4}
	l.OnEvent(done)
	if l.done != done {
		t.Fatalf("kept %+v, want %+v", l.done, done)
	}
	// A resumed upload: the stored parts count as done before any byte is sent.
	rec3 := &recordProgress{}
	var notes []string
	l3 := &progressListener{p: rec3, note: func(s string) { notes = append(notes, s) }}
	l3.OnEvent(event.Resumed{UploadID: "u1", PartsStored: 3, PartsToSend: 2})
	l3.OnEvent(event.Started{Size: 24 << 20, PartSize: 5 << 20, Parts: 5})
	if rec3.skipped != 15<<20 || rec3.done != 3 || len(notes) != 1 || !strings.Contains(notes[0], "3 part(s) already stored, 2 to send") {
		t.Fatalf("resumed: %+v, notes %q", rec3, notes)
	}
	l3.OnEvent(event.Restarted{OldUploadID: "u0", Reason: "the upload no longer exists on the server", Aborted: false})
	if len(notes) != 2 || !strings.Contains(notes[1], "starting over: the upload no longer exists") || !strings.Contains(notes[1], "u0") {
		t.Fatalf("restarted notes %q", notes)
	}

	// Uploads aborted or left by the look for a lost CreateMultipartUpload's upload are named.
	l3.OnEvent(event.OrphanCheck{Bucket: "b", Key: "k", Since: time.Unix(0, 0), Until: time.Unix(240, 0),
		Initiator: "arn:aws:iam::1:user/me", Found: []string{"u1", "u2"}, Aborted: []string{"u1"}, Kept: []string{"u3"}})
	if n := notes[len(notes)-1]; !strings.Contains(n, "aborted u1") || !strings.Contains(n, "could not abort u2") ||
		!strings.Contains(n, "left in place (not known to be yours) u3") || !strings.Contains(n, "by arn:aws:iam::1:user/me") ||
		!strings.Contains(n, "interrupted before CreateMultipartUpload answered") {
		t.Fatalf("orphan note %q", n)
	}
	l3.OnEvent(event.OrphanCheck{Bucket: "b", Key: "k", UploadID: "u9", Attempts: 2, NoInitiators: true, Found: []string{"u4"}, Aborted: []string{"u4"}})
	if n := notes[len(notes)-1]; !strings.Contains(n, "2 attempts") || !strings.Contains(n, "by time alone") || !strings.Contains(n, "aborted u4") {
		t.Fatalf("orphan note %q", n)
	}

	// A stream of unknown size has no part count.
	rec2 := &recordProgress{}
	(&progressListener{p: rec2}).OnEvent(event.Started{Size: -1, Parts: -1})
	if rec2.total != -1 || rec2.parts != 0 {
		t.Fatalf("unknown size: %+v", rec2)
	}
}
