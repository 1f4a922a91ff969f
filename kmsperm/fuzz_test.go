package kmsperm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// FuzzCheck feeds arbitrary key IDs, key policies and identity policies to
// Check. It must never panic, must fail only with ErrInvalidInput, and must
// never report an action Allowed without the statements that allowed it.
func FuzzCheck(f *testing.F) {
	f.Add(keyARN, kpConsole, idKeyUse, false)
	f.Add("alias/uploads", kpProgrammatic, idKMSAll, true)
	f.Add("", kpCallerAccount, idDenyDecrypt, false)
	f.Add(keyID, ctxPolicy("ForAllValues:StringEquals", "kms:EncryptionContextKeys", `["aws:s3:arn"]`), idPrincipalTag, true)
	f.Add("arn:aws:kms:us-east-1:111122223333:alias/x", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}`, `{}`, false)
	f.Fuzz(func(t *testing.T, key, keyPolicy, identity string, bucketKey bool) {
		in := kmsperm.Input{
			Caller:    session,
			Region:    region,
			Object:    kmsperm.Object{Bucket: bucket, Key: objKey, BucketKeyEnabled: bucketKey},
			KMSKeyID:  key,
			KeyPolicy: []byte(keyPolicy),
			Identity:  []mpu.PolicyDocument{{Name: "fuzz", JSON: []byte(identity)}},
		}
		rep, err := kmsperm.New(nil).Check(context.Background(), in)
		if err != nil {
			if !errors.Is(err, mpu.ErrInvalidInput) {
				t.Fatalf("error outside ErrInvalidInput: %v", err)
			}
			return
		}
		for _, row := range append(rep.Rows, rep.Seed) {
			for _, a := range row.Actions {
				if a.Decision == mpu.Allowed && len(a.Deciding) == 0 {
					t.Fatalf("%s %s allowed without a deciding statement: %+v", row.Label, a.Action, a)
				}
			}
		}
	})
}
