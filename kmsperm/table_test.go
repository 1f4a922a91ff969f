package kmsperm_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// tcase is one table case. want lists "Step=decision" pairs separated by
// spaces; steps not listed are not checked. Every case cites the page its
// policy or rule comes from.
type tcase struct {
	name      string
	source    string
	caller    string
	keyID     string // "" means S3's AWS managed key
	keyPolicy string // "" means not supplied
	identity  []string
	noIdent   bool // identity policies not supplied (nil)
	bucketKey bool
	ctx       map[string]string
	checksums bool
	bucketAcc string
	copySrc   *kmsperm.CopySource
	seedReq   bool
	want      string
	wantSeed  string
	check     func(t *testing.T, rep *kmsperm.Report)
}

func (c tcase) input() kmsperm.Input {
	in := kmsperm.Input{
		Caller:        c.caller,
		Region:        region,
		Object:        kmsperm.Object{Bucket: bucket, Key: objKey, BucketKeyEnabled: c.bucketKey, EncryptionContext: c.ctx},
		BucketAccount: c.bucketAcc,
		KMSKeyID:      c.keyID,
		Checksums:     c.checksums,
		CopySource:    c.copySrc,
	}
	if c.keyPolicy != "" {
		in.KeyPolicy = []byte(c.keyPolicy)
	}
	if !c.noIdent {
		in.Identity = []mpu.PolicyDocument{}
		for i, p := range c.identity {
			in.Identity = append(in.Identity, mpu.PolicyDocument{Name: "identity-" + string(rune('a'+i)), JSON: []byte(p)})
		}
	}
	return in
}

func cases() []tcase {
	allowedAll := "Initiate=allowed UploadPart=allowed UploadPartCopy=allowed Complete=allowed ListParts=allowed Abort=allowed ListUploads=allowed"
	deniedAll := "Initiate=implicitDeny UploadPart=implicitDeny UploadPartCopy=implicitDeny Complete=implicitDeny ListParts=implicitDeny Abort=allowed ListUploads=allowed"
	unknownAll := "Initiate=unknown UploadPart=unknown Complete=unknown ListParts=unknown Abort=allowed ListUploads=allowed"
	return []tcase{
		// --- Default key policy (delegation to IAM through the account root).
		{name: "default policy, no identity policy", source: pageDefault,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, want: deniedAll,
			check: wantRemedy("identity policy", `{"Sid":"AllowS3MultipartUploadWithKey","Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"`+keyARN+`","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}`)},
		{name: "default policy, identity policy for the key", source: pageDefault,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idKeyUse}, want: allowedAll},
		{name: "default policy, identity policy for all keys of the account", source: pageIAMExample,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idAccountKeys}, want: allowedAll, wantSeed: "allowed"},
		{name: "default policy, identity policies not supplied", source: pageDefault,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, noIdent: true, want: unknownAll},
		{name: "default policy, seed list needs more than the key's use", source: pageMPU,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idKeyUse}, want: allowedAll, wantSeed: "implicitDeny"},
		{name: "default policy, seed list required at Initiate", source: pageMPU,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idKeyUse}, seedReq: true,
			want: "Initiate=implicitDeny UploadPart=allowed Complete=allowed", wantSeed: "implicitDeny"},

		// --- Console default: key administrators versus key users.
		{name: "console policy, key user role session", source: pageDefault,
			caller: session, keyID: keyARN, keyPolicy: kpConsole, want: allowedAll, wantSeed: "allowed"},
		{name: "console policy, key user role itself", source: pageDefault,
			caller: role, keyID: keyARN, keyPolicy: kpConsole, want: allowedAll},
		{name: "console policy, key administrator cannot use the key", source: pageDefault,
			caller: admin, keyID: keyARN, keyPolicy: kpConsole, want: deniedAll},
		{name: "console policy, key administrator with an IAM policy", source: pageDefault,
			caller: admin, keyID: keyARN, keyPolicy: kpConsole, identity: []string{idKMSAll}, want: allowedAll},

		// --- A key policy without the root statement ignores IAM policies.
		{name: "no root statement, IAM allow has no effect", source: pageKeyPol,
			caller: alice, keyID: keyARN, keyPolicy: kpUsersOnly, identity: []string{idKMSAll}, want: deniedAll,
			check: wantRemedy("key policy", `{"Sid":"AllowS3MultipartUploadWithThisKey","Effect":"Allow","Principal":{"AWS":"`+alice+`"},"Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}`)},
		{name: "no root statement, key user allowed by the key policy alone", source: pageKeyPol,
			caller: session, keyID: keyARN, keyPolicy: kpUsersOnly, want: allowedAll},
		{name: "no root statement, identity unknown, not a key user", source: pageKeyPol,
			caller: alice, keyID: keyARN, keyPolicy: kpUsersOnly, noIdent: true, want: deniedAll,
			check: wantRemedyWhere("key policy", acctA)},
		{name: "no root statement, identity unknown, key user", source: pageKeyPol,
			caller: session, keyID: keyARN, keyPolicy: kpUsersOnly, noIdent: true, want: allowedAll,
			check: func(t *testing.T, rep *kmsperm.Report) {
				row, _ := rep.Row(mpu.UploadPart)
				if !strings.Contains(strings.Join(row.Actions[0].Reasons, " "), "a Deny in them was not checked") {
					t.Errorf("reasons = %q", row.Actions[0].Reasons)
				}
			}},
		{name: "no root statement, IAM Deny still denies", source: pageKeyPol,
			caller: session, keyID: keyARN, keyPolicy: kpUsersOnly, identity: []string{idDenyDecrypt},
			want:  "Initiate=allowed UploadPart=explicitDeny Complete=explicitDeny ListParts=explicitDeny Abort=allowed",
			check: wantRemedyText("remove or narrow identity policy")},

		// --- Cross-account use: key policy AND the caller's IAM policy.
		{name: "cross account, both policies allow", source: pageExternal,
			caller: bob, keyID: keyARN, keyPolicy: kpExternalAccount, identity: []string{idKeyUse}, bucketAcc: acctA, want: allowedAll},
		{name: "cross account, IAM policy limited to the key owner's account", source: pageGlobal,
			caller: bob, keyID: keyARN, keyPolicy: kpExternalAccount, identity: []string{idResourceAccount}, bucketAcc: acctA, want: allowedAll},
		{name: "cross account, IAM limited to the owner's account, key policy silent", source: pageGlobal,
			caller: bob, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idResourceAccount}, bucketAcc: acctA, want: deniedAll,
			check: func(t *testing.T, rep *kmsperm.Report) {
				row, _ := rep.Row(mpu.UploadPart)
				if texts, add := remedyParts(row); len(texts) != 1 || len(add) != 1 || !policyIs(add[0], "key policy") {
					t.Errorf("remedy = %s, want only the key policy statement (the IAM policy already allows)", dump(row.Remedy))
				}
			}},
		{name: "cross account, key policy only", source: pageExternal,
			caller: bob, keyID: keyARN, keyPolicy: kpExternalAccount, bucketAcc: acctA, want: deniedAll,
			check: wantRemedyWhere("identity policy", acctB)},
		{name: "cross account, IAM policy only", source: pageExternal,
			caller: bob, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idKeyUse}, bucketAcc: acctA, want: deniedAll,
			check: wantRemedyWhere("key policy", acctA)},
		{name: "cross account, key policy names the user, IAM allows", source: pageExternal,
			caller: bob, keyID: keyARN, keyPolicy: kpExternalUser, identity: []string{idKeyUse}, bucketAcc: acctA, want: allowedAll},
		{name: "cross account, key policy names the user, no IAM policy", source: pageExternal,
			caller: bob, keyID: keyARN, keyPolicy: kpExternalUser, bucketAcc: acctA, want: deniedAll},
		{name: "cross account, key policy unreadable", source: pageViewing,
			caller: bob, keyID: keyARN, identity: []string{idKeyUse}, bucketAcc: acctA, want: unknownAll,
			check: wantGap("ask the key owner (account " + acctA + ")")},
		{name: "cross account, bare key ID resolves in the caller's account", source: pageS3KMS,
			caller: bob, keyID: keyID, keyPolicy: kpExternalAccount, identity: []string{idKeyUse}, bucketAcc: acctA, want: deniedAll,
			check: func(t *testing.T, rep *kmsperm.Report) {
				if got := rep.Keys[0].Key.Account; got != acctB {
					t.Errorf("key account = %s, want %s (the requester's)", got, acctB)
				}
			}},

		// --- kms:ViaService.
		{name: "ViaService S3 in the bucket's Region", source: pageConditions,
			caller: session, keyID: keyARN, keyPolicy: viaPolicy(`"s3.us-east-1.amazonaws.com"`), want: allowedAll},
		{name: "ViaService other services only", source: pageConditions,
			caller: session, keyID: keyARN, keyPolicy: viaPolicy(`["ec2.us-west-2.amazonaws.com", "rds.us-west-2.amazonaws.com"]`), want: deniedAll},
		{name: "ViaService S3 in another Region", source: pageConditions,
			caller: session, keyID: keyARN, keyPolicy: viaPolicy(`"s3.us-west-2.amazonaws.com"`), want: deniedAll},
		{name: "Deny unless through S3 does not stop S3", source: pageConditions,
			caller: alice, keyID: keyARN, keyPolicy: kpDenyUnlessS3, identity: []string{idKeyUse}, want: allowedAll},
		{name: "Deny through S3 stops every Decrypt step", source: pageConditions,
			caller: alice, keyID: keyARN, keyPolicy: kpDenyViaS3, identity: []string{idKMSAll},
			want:  "Initiate=allowed UploadPart=explicitDeny UploadPartCopy=explicitDeny Complete=explicitDeny ListParts=explicitDeny",
			check: wantRemedyText("remove or narrow resource policy")},

		// --- kms:CallerAccount and the AWS managed key.
		{name: "CallerAccount allows every principal of the account", source: pageConditions,
			caller: alice, keyID: keyARN, keyPolicy: kpCallerAccount, want: allowedAll},
		{name: "CallerAccount excludes another account", source: pageConditions,
			caller: bob, keyID: keyARN, keyPolicy: kpCallerAccount, identity: []string{idKeyUse}, bucketAcc: acctA, want: deniedAll},
		{name: "aws/s3 in the caller's account needs no IAM policy", source: pageS3KMS,
			caller: alice, keyID: "", want: allowedAll, wantSeed: "allowed",
			check: func(t *testing.T, rep *kmsperm.Report) {
				if rep.Keys[0].PolicySource != kmsperm.PolicyAWSManaged {
					t.Errorf("policy source = %s", rep.Keys[0].PolicySource)
				}
			}},
		{name: "aws/s3 of the bucket owner cannot be used from another account", source: pageModifying,
			caller: bob, keyID: "", identity: []string{idKMSAll}, bucketAcc: acctA, want: deniedAll,
			check: func(t *testing.T, rep *kmsperm.Report) {
				row, _ := rep.Row(mpu.Initiate)
				if !strings.Contains(strings.Join(row.Actions[0].Reasons, " "), "AWS managed key cannot be used from another account") {
					t.Errorf("reasons = %q", row.Actions[0].Reasons)
				}
				// A change to the key, not a statement.
				if texts, add := remedyParts(row); len(texts) == 0 || len(add) != 0 || !strings.HasPrefix(texts[0], "encrypt with a customer managed key") {
					t.Errorf("remedy = %+v", row.Remedy)
				}
			}},
		{name: "aws/s3 alias named explicitly", source: pageS3KMS,
			caller: session, keyID: "alias/aws/s3", want: allowedAll},

		// --- Encryption context and S3 Bucket Keys.
		{name: "object ARN context without Bucket Key", source: pageS3KMS,
			caller: alice, keyID: keyARN, keyPolicy: ctxPolicy("StringEquals", "kms:EncryptionContext:aws:s3:arn", `"arn:aws:s3:::`+bucket+`/`+objKey+`"`), want: allowedAll},
		{name: "object ARN context breaks with Bucket Key", source: pageBucketKey,
			caller: alice, keyID: keyARN, bucketKey: true, keyPolicy: ctxPolicy("StringEquals", "kms:EncryptionContext:aws:s3:arn", `"arn:aws:s3:::`+bucket+`/`+objKey+`"`), want: deniedAll},
		{name: "bucket ARN context with Bucket Key", source: pageBucketKey,
			caller: alice, keyID: keyARN, bucketKey: true, keyPolicy: ctxPolicy("StringEquals", "kms:EncryptionContext:aws:s3:arn", `"arn:aws:s3:::`+bucket+`"`), want: allowedAll},
		{name: "bucket ARN context without Bucket Key", source: pageBucketKey,
			caller: alice, keyID: keyARN, keyPolicy: ctxPolicy("StringEquals", "kms:EncryptionContext:aws:s3:arn", `"arn:aws:s3:::`+bucket+`"`), want: deniedAll},
		{name: "object ARN prefix pattern with Bucket Key", source: pageBucketKey,
			caller: alice, keyID: keyARN, bucketKey: true, keyPolicy: ctxPolicy("StringLike", "kms:EncryptionContext:aws:s3:arn", `"arn:aws:s3:::`+bucket+`/*"`), want: deniedAll},
		{name: "EncryptionContextKeys only aws:s3:arn, no extra context", source: pageConditions,
			caller: alice, keyID: keyARN, keyPolicy: ctxPolicy("ForAllValues:StringEquals", "kms:EncryptionContextKeys", `["aws:s3:arn"]`), want: allowedAll},
		{name: "EncryptionContextKeys only aws:s3:arn, extra context", source: pageConditions,
			caller: alice, keyID: keyARN, ctx: map[string]string{"project": "alpha"}, keyPolicy: ctxPolicy("ForAllValues:StringEquals", "kms:EncryptionContextKeys", `["aws:s3:arn"]`), want: deniedAll},
		{name: "required user context present", source: pageConditions,
			caller: alice, keyID: keyARN, ctx: map[string]string{"project": "alpha"}, keyPolicy: ctxPolicy("StringEquals", "kms:EncryptionContext:project", `"alpha"`), want: allowedAll},
		{name: "required user context absent is a definite deny", source: pageConditions,
			caller: alice, keyID: keyARN, keyPolicy: ctxPolicy("StringEquals", "kms:EncryptionContext:project", `"alpha"`), want: deniedAll},

		// --- Explicit deny, Decrypt for parts, checksums, unknown values.
		{name: "key policy Deny beats the root delegation", source: pageControl,
			caller: alice, keyID: keyARN, keyPolicy: kpDenyAlice, identity: []string{idKMSAll},
			want: "Initiate=allowed UploadPart=explicitDeny Complete=explicitDeny ListParts=explicitDeny Abort=allowed"},
		{name: "GenerateDataKey alone fails at the parts", source: pageSDKJS1814,
			caller: alice, keyID: keyARN, keyPolicy: aliceOnly(`"kms:GenerateDataKey"`),
			want: "Initiate=allowed UploadPart=implicitDeny Complete=implicitDeny ListParts=implicitDeny Abort=allowed ListUploads=allowed"},
		{name: "Complete needs only Decrypt without checksums", source: pageMPU,
			caller: alice, keyID: keyARN, keyPolicy: aliceOnly(`"kms:Decrypt"`),
			want: "Initiate=implicitDeny Complete=allowed ListParts=allowed"},
		{name: "Complete needs GenerateDataKey with checksums", source: pageComplete,
			caller: alice, keyID: keyARN, keyPolicy: aliceOnly(`"kms:Decrypt"`), checksums: true,
			want: "Complete=implicitDeny ListParts=allowed"},
		{name: "ListParts needs Decrypt", source: pageListParts,
			caller: alice, keyID: keyARN, keyPolicy: aliceOnly(`"kms:GenerateDataKey"`), want: "ListParts=implicitDeny"},
		{name: "Abort and ListUploads need no KMS permission", source: pageMPU,
			caller: alice, keyID: keyARN, keyPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}`,
			want: "Initiate=explicitDeny Abort=allowed ListUploads=allowed"},
		{name: "an unknown principal tag makes the decision unknown", source: pageIAM,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idPrincipalTag}, want: unknownAll,
			check: func(t *testing.T, rep *kmsperm.Report) {
				row, _ := rep.Row(mpu.UploadPart)
				if got := row.Actions[0].DependsOn; len(got) != 1 || got[0] != "aws:PrincipalTag/team" {
					t.Errorf("DependsOn = %v", got)
				}
			}},
		{name: "a NotIpAddress Deny applies to requests S3 makes", source: pageIAM,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idSourceIP},
			want: "Initiate=explicitDeny UploadPart=explicitDeny Complete=explicitDeny Abort=allowed"},

		// --- UploadPartCopy from an SSE-KMS source in another account.
		{name: "copy source key in another account, IAM lacks the source key", source: pageCopy,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idKeyUse},
			copySrc: &kmsperm.CopySource{Object: kmsperm.Object{Bucket: "source-bucket", Key: "big.bin"}, KMSKeyID: srcKeyARN, Account: acctB, KeyPolicy: []byte(kpSourceExternal)},
			want:    "UploadPart=allowed UploadPartCopy=implicitDeny Complete=allowed",
			check: func(t *testing.T, rep *kmsperm.Report) {
				row, _ := rep.Row(mpu.UploadPartCopy)
				if len(row.Actions) != 3 || row.Actions[2].Key != kmsperm.SourceKey || row.Actions[2].Decision != mpu.ImplicitDeny {
					t.Fatalf("actions = %+v", row.Actions)
				}
				wantRemedy("identity policy", `{"Sid":"AllowS3MultipartUploadWithKey","Effect":"Allow","Action":"kms:Decrypt","Resource":"`+srcKeyARN+`","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}`)(t, rep)
			}},
		{name: "copy source key in another account, both sides allow", source: pageExternal,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idKeyUse, idSourceKey},
			copySrc: &kmsperm.CopySource{Object: kmsperm.Object{Bucket: "source-bucket", Key: "big.bin"}, KMSKeyID: srcKeyARN, Account: acctB, KeyPolicy: []byte(kpSourceExternal)},
			want:    "UploadPartCopy=allowed"},
		{name: "copy source key policy unreadable", source: pageViewing,
			caller: alice, keyID: keyARN, keyPolicy: kpProgrammatic, identity: []string{idKeyUse, idSourceKey},
			copySrc: &kmsperm.CopySource{Object: kmsperm.Object{Bucket: "source-bucket", Key: "big.bin"}, KMSKeyID: srcKeyARN, Account: acctB},
			want:    "UploadPart=allowed UploadPartCopy=unknown",
			check:   wantGap("--source-key-policy FILE")},
	}
}

// TestDeveloperGuideExamples runs every case as a subtest.
func TestDeveloperGuideExamples(t *testing.T) {
	cs := cases()
	if len(cs) < 30 {
		t.Fatalf("only %d cases", len(cs))
	}
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			if !strings.HasPrefix(c.source, "https://") {
				t.Fatalf("case has no source page")
			}
			opt := func(o *kmsperm.Options) { o.RequireSeedActions = c.seedReq }
			rep, err := kmsperm.New(nil).Check(context.Background(), c.input(), opt)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, pair := range strings.Fields(c.want) {
				name, want, _ := strings.Cut(pair, "=")
				step, err := mpu.ParseStep(name)
				if err != nil {
					t.Fatal(err)
				}
				row, ok := rep.Row(step)
				if !ok {
					t.Fatalf("no row for %s", name)
				}
				if row.Decision.String() != want {
					t.Errorf("%s: decision %s, want %s\n%s", name, row.Decision, want, dump(row))
				}
			}
			if c.wantSeed != "" && rep.Seed.Decision.String() != c.wantSeed {
				t.Errorf("seed: decision %s, want %s\n%s", rep.Seed.Decision, c.wantSeed, dump(rep.Seed))
			}
			if c.check != nil {
				c.check(t, rep)
			}
			checkInvariants(t, rep)
		})
	}
}

// checkInvariants holds for every report: a step that is not allowed says
// why; an implicit deny notes that grants were not evaluated; Abort and
// ListUploads never need KMS.
func checkInvariants(t *testing.T, rep *kmsperm.Report) {
	t.Helper()
	for _, row := range rep.Rows {
		if len(row.Reasons) == 0 {
			t.Errorf("%s: no reasons", row.Label)
		}
		if (row.Step == mpu.Abort || row.Step == mpu.ListUploads) && (len(row.Actions) != 0 || row.Decision != mpu.Allowed) {
			t.Errorf("%s needs KMS: %s", row.Label, dump(row))
		}
		for _, a := range row.Actions {
			if a.Decision == mpu.ImplicitDeny && !a.GrantsNotEvaluated && !strings.Contains(strings.Join(a.Reasons, " "), "AWS managed") && !strings.Contains(strings.Join(a.Reasons, " "), "not enabled") {
				t.Errorf("%s %s: implicit deny without the grants note", row.Label, a.Action)
			}
			if len(a.Reasons) == 0 {
				t.Errorf("%s %s: no reasons", row.Label, a.Action)
			}
		}
		if row.Decision != mpu.Allowed && row.Remedy == nil && !hasDependsOn(row) {
			t.Errorf("%s: %s without a remedy", row.Label, row.Decision)
		}
		_, add := remedyParts(row)
		for _, r := range add {
			if !json.Valid(r.Statement) {
				t.Errorf("%s: invalid statement %s", row.Label, r.Statement)
			}
		}
	}
}

func hasDependsOn(row kmsperm.Row) bool {
	for _, a := range row.Actions {
		if len(a.DependsOn) > 0 {
			return true
		}
	}
	return false
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// remedyParts splits a row's remedy into its sentences and statements.
func remedyParts(row kmsperm.Row) (texts []string, add []mpu.RemedyStatement) {
	if row.Remedy == nil {
		return nil, nil
	}
	return strings.Split(row.Remedy.Summary, "; "), row.Remedy.Add
}

// policyIs reports whether a remedy statement's policy is where: "key
// policy" (of any key) or "identity policy".
func policyIs(a mpu.RemedyStatement, where string) bool {
	return a.Policy == where || strings.HasPrefix(a.Policy, where+" of ")
}

// wantRemedy checks that some row proposes exactly statement for where.
func wantRemedy(where, statement string) func(*testing.T, *kmsperm.Report) {
	return func(t *testing.T, rep *kmsperm.Report) {
		t.Helper()
		for _, row := range rep.Rows {
			_, add := remedyParts(row)
			for _, a := range add {
				if policyIs(a, where) && string(a.Statement) == statement {
					return
				}
			}
		}
		t.Errorf("no %s remedy %s in\n%s", where, statement, dump(rep.Rows))
	}
}

// wantRemedyWhere checks that some row proposes a statement for where in account.
func wantRemedyWhere(where, account string) func(*testing.T, *kmsperm.Report) {
	return func(t *testing.T, rep *kmsperm.Report) {
		t.Helper()
		for _, row := range rep.Rows {
			_, add := remedyParts(row)
			for _, a := range add {
				if policyIs(a, where) && a.Account == account && a.Statement != nil {
					return
				}
			}
		}
		t.Errorf("no %s remedy for account %s in\n%s", where, account, dump(rep.Rows))
	}
}

func wantRemedyText(prefix string) func(*testing.T, *kmsperm.Report) {
	return func(t *testing.T, rep *kmsperm.Report) {
		t.Helper()
		for _, row := range rep.Rows {
			texts, _ := remedyParts(row)
			for _, text := range texts {
				if strings.HasPrefix(text, prefix) {
					return
				}
			}
		}
		t.Errorf("no remedy starting %q in\n%s", prefix, dump(rep.Rows))
	}
}

func wantGap(substr string) func(*testing.T, *kmsperm.Report) {
	return func(t *testing.T, rep *kmsperm.Report) {
		t.Helper()
		for _, g := range rep.Gaps {
			if strings.Contains(g.Hint, substr) || strings.Contains(g.Error, substr) {
				return
			}
		}
		t.Errorf("no gap mentioning %q in %+v", substr, rep.Gaps)
	}
}
