package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// TestWritePlanToS3 writes a plan to S3 against servers that answer the conditional put
// in each way: stored, 412 (a plan appeared at the key meanwhile: never overwritten) and
// 501 (no conditional writes: written without the condition).
func TestWritePlanToS3(t *testing.T) {
	for _, tc := range []struct {
		name        string
		conditional int // the answer to a PUT with If-None-Match
		wantPuts    string
		wantErr     string
	}{
		{"stored", 200, "* ", ""},
		{"exists", 412, "* ", "appeared while the plan was made"},
		{"no conditional writes", 501, "* -", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var puts []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPut {
					w.WriteHeader(http.StatusMethodNotAllowed)
					return
				}
				inm := r.Header.Get("If-None-Match")
				mu.Lock()
				puts = append(puts, map[bool]string{true: "*", false: "-"}[inm == "*"])
				mu.Unlock()
				switch {
				case inm == "" || tc.conditional == 200:
					w.WriteHeader(http.StatusOK)
				case tc.conditional == 412:
					w.WriteHeader(http.StatusPreconditionFailed)
					_, _ = w.Write([]byte(`<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`))
				default:
					w.WriteHeader(http.StatusNotImplemented)
					_, _ = w.Write([]byte(`<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>`))
				}
			}))
			defer srv.Close()
			cli := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), RetryMaxAttempts: 1})
			u, err := cmdkit.ParseObjectURL("s3://bucket/plans/p.json")
			if err != nil {
				t.Fatal(err)
			}
			err = (&app{}).writePlan(context.Background(), cli, "s3://bucket/plans/p.json", u, true, []byte(`{"version":1}`))
			if got := strings.Join(puts, " ") + " "; !strings.HasPrefix(got, tc.wantPuts) || len(puts) != len(strings.Fields(tc.wantPuts)) {
				t.Errorf("PUTs %q (If-None-Match: * or -), want %q", puts, tc.wantPuts)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("writePlan: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("writePlan: %v, want %q", err, tc.wantErr)
			}
		})
	}
}
