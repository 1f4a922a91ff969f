package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

func TestShardIndex(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name    string
		set     bool
		flag    int
		env     map[string]string
		want    int
		wantErr string
	}{
		{"flag wins", true, 2, map[string]string{"JOB_COMPLETION_INDEX": "5"}, 2, ""},
		{"kubernetes", false, -1, map[string]string{"JOB_COMPLETION_INDEX": "5", "SLURM_ARRAY_TASK_ID": "6"}, 5, ""},
		{"slurm", false, -1, map[string]string{"SLURM_ARRAY_TASK_ID": " 6 ", "AWS_BATCH_JOB_ARRAY_INDEX": "7"}, 6, ""},
		{"batch", false, -1, map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "7"}, 7, ""},
		{"none", false, -1, nil, 0, "no shard index"},
		{"not a number", false, -1, map[string]string{"SLURM_ARRAY_TASK_ID": "1-4"}, 0, "SLURM_ARRAY_TASK_ID"},
		{"negative flag", true, -1, nil, 0, "--shard -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := shardIndex(tc.set, tc.flag, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || cmdkit.Code(err) != cmdkit.ExitUsage {
					t.Fatalf("got %d, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestShardCommandsUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", "")
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"plan", "f", "s3://bucket/key", "--plan-out", "p"}, "--shards 0"},
		{[]string{"plan", "f", "s3://bucket/key", "--shards", "2"}, "--plan-out is required"},
		{[]string{"plan", "f", "s3://bucket/key", "--shards", "2", "--plan-out", "s3://bucket"}, "names a bucket"},
		{[]string{"plan", "f", "s3://bucket/key", "--shards", "2", "--plan-out", bad}, "exists"},
		{[]string{"plan", "f", "s3://bucket/key", "--shards", "2", "--plan-out", "p", "--sse-c", "AES256"}, "SSE-C"},
		{[]string{"upload-shard", "--plan", bad}, "no shard index"},
		{[]string{"upload-shard", "--plan", bad, "--shard", "0"}, "plan"},
		{[]string{"upload-shard", "--plan", filepath.Join(dir, "none.json"), "--shard", "0"}, "cannot open"},
		{[]string{"upload-shard", "--shard", "0"}, "--plan is required"},
		{[]string{"complete", "--plan", bad}, "plan"},
		{[]string{"complete", "--plan", bad, "--file", "x"}, "--file needs --verify-source"},
		{[]string{"uploads", "abort", "--plan", bad, "--upload-id", "x"}, "--plan names the upload"},
		{[]string{"uploads", "abort", "--plan", bad}, "plan"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != cmdkit.ExitUsage || !strings.Contains(stderr, tc.wantErr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.wantErr)
		}
	}
}
