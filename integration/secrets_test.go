package integration

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// secretSet is what must never be shown: the secret access key, the SSE-C key in every form a
// program might print it, and a session token.
type secretSet map[string]string // form name -> value

func (s secretSet) find(text string) []string {
	var found []string
	for name, v := range s {
		if v != "" && strings.Contains(text, v) {
			found = append(found, name)
		}
	}
	sort.Strings(found)
	return found
}

// cliCommands lists the CLI's commands, found from its help: every leaf command path, such
// as "uploads ls".
func cliCommands(t *testing.T, c *relCLI) []string {
	t.Helper()
	var walk func(path []string) []string
	walk = func(path []string) []string {
		r := c.runRaw(t, nil, append(append([]string{}, path...), "--help")...)
		if r.Code != 0 {
			t.Fatalf("s3mpu %s --help: exit %d: %s", strings.Join(path, " "), r.Code, r.Stderr)
		}
		var subs []string
		in := false
		sc := bufio.NewScanner(strings.NewReader(r.Stdout))
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "Available Commands:"):
				in = true
			case in && strings.TrimSpace(l) == "":
				in = false
			case in:
				name := strings.Fields(l)[0]
				if name != "help" && name != "completion" {
					subs = append(subs, name)
				}
			}
		}
		if len(subs) == 0 {
			return []string{strings.Join(path, " ")}
		}
		var leaves []string
		for _, s := range subs {
			leaves = append(leaves, walk(append(append([]string{}, path...), s))...)
		}
		return leaves
	}
	return walk(nil)
}

// TestSecretsNeverShown runs every CLI command (found from its help, so a new command must be
// added here) with known credentials and an SSE-C key, in text and JSON, on success and on
// failure paths, and checks that neither the secret key nor the SSE-C key (base64, hex or
// raw) nor a session token appears in any output, error or file the CLI writes (state files
// included).
func TestSecretsNeverShown(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("secrets"))
	u := env.NewUser(t, "secrets")
	env.PutUserPolicy(t, u.Name, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",
		"Resource":["arn:aws:s3:::`+bucket+`","arn:aws:s3:::`+bucket+`/*"]}]}`)
	tgt := env.HTTPS()
	c := newRelCLI(t, env, tgt, u)
	dir := t.TempDir()

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	sseB64 := base64.StdEncoding.EncodeToString(raw)
	token := "session-token-" + hex.EncodeToString(raw[:8])
	secrets := secretSet{
		"secret access key":          u.SecretKey,
		"SSE-C key (base64)":         sseB64,
		"SSE-C key (base64, no pad)": strings.TrimRight(sseB64, "="),
		"SSE-C key (URL base64)":     base64.URLEncoding.EncodeToString(raw),
		"SSE-C key (hex)":            hex.EncodeToString(raw),
		"SSE-C key (HEX)":            strings.ToUpper(hex.EncodeToString(raw)),
		"SSE-C key (raw)":            string(raw),
		"session token":              token,
	}
	keyFile := filepath.Join(dir, "sse-c.key")
	if err := os.WriteFile(keyFile, []byte(sseB64+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rawKeyFile := filepath.Join(dir, "sse-c.raw")
	if err := os.WriteFile(rawKeyFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := relSource{seed: 5, size: 12 * relMiB}.writeFile(dir, "data.bin")
	if err != nil {
		t.Fatal(err)
	}
	small, err := relSource{seed: 6, size: 100 * relKiB}.writeFile(dir, "small.bin")
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	obj := func(k string) string { return "s3://" + bucket + "/" + k }
	planFile, planS3 := filepath.Join(stateDir, "sharded.plan.json"), obj("plans/sharded-s3.json")
	ssec := []string{"--sse-c", "AES256", "--sse-c-key-file", keyFile}
	ssecRaw := []string{"--sse-c", "AES256", "--sse-c-key-file", rawKeyFile}
	who := []string{"--caller", u.ARN, "--server-profile", "nodefaults"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	upload := func(src, key string, extra ...string) []string {
		return cat([]string{"upload", src, obj(key), "--progress", "lines"}, extra)
	}
	uploadHelp := c.runRaw(t, nil, "upload", "--help").Stdout
	hasState := strings.Contains(uploadHelp, "--state")

	type inv struct {
		args    []string
		stdin   []byte
		offline bool // no network: a session token may be set
		badCred bool // run with a wrong secret key (also never to be shown)
	}
	invocations := map[string][]inv{
		"upload": {
			{args: upload(data, "up-file", cat(ssec, []string{"--preflight", "off"})...)},
			{args: cat([]string{"--json"}, upload(data, "up-file-json", cat(ssecRaw, []string{"--preflight", "off", "--part-size", "5MiB"})...))},
			{args: upload("-", "up-stdin", cat(ssec, []string{"--preflight", "off", "--size", "3MiB"})...), stdin: make([]byte, 3*relMiB)},
			{args: upload(small, "up-small", cat(ssec, []string{"--preflight", "warn"}, who)...)},
			{args: upload(small, "up-enforce", cat(ssec, []string{"--preflight", "enforce", "--mode", "probe"}, who)...)},
			// A failing upload (a bucket that does not exist) with the SSE-C key.
			{args: cat([]string{"upload", data, "s3://no-such-bucket-secrets/k", "--progress", "lines", "--preflight", "off"}, ssec)},
			{args: upload(small, "up-badcred", cat(ssec, []string{"--preflight", "off"})...), badCred: true},
		},
		"preflight": {
			// preflight takes the SSE-C algorithm, not the key (it sends no data).
			{args: cat([]string{"preflight", obj("pf"), "--sse-c", "AES256"}, who, []string{"--mode", "probe"})},
			{args: cat([]string{"--json", "preflight", obj("pf"), "--sse-c", "AES256"}, who, []string{"--mode", "local", "--identity-policy", policyFile})},
			{args: cat([]string{"preflight", obj("pf"), "--sse-c", "AES256"}, who, []string{"--mode", "probe"}), badCred: true},
		},
		"policy eval": {
			{args: []string{"policy", "eval", "--caller", u.ARN, "--action", "s3:PutObject", "--resource", "arn:aws:s3:::" + bucket + "/k", "--identity-policy", policyFile}, offline: true},
			{args: []string{"--json", "policy", "eval", "--caller", u.ARN, "--action", "s3:PutObject", "--resource", "arn:aws:s3:::" + bucket + "/k", "--identity-policy", policyFile}, offline: true},
			{args: []string{"policy", "eval", "--caller", u.ARN, "--action", "s3:PutObject", "--resource", "arn:aws:s3:::" + bucket + "/k", "--identity-policy", keyFile}, offline: true},
		},
		"cp": {
			{args: cat([]string{"cp", obj("up-file"), obj("cp-single"), "--progress", "lines", "--preflight", "off", "--source-sse-c-key-file", keyFile}, ssec)},
			{args: cat([]string{"--json", "cp", obj("up-file"), obj("cp-multi"), "--progress", "lines", "--preflight", "off", "--copy-threshold", "5MiB",
				"--part-size", "5MiB", "--source-sse-c-key-file", rawKeyFile}, ssecRaw)},
			{args: cat([]string{"cp", obj("does-not-exist"), obj("cp-fail"), "--preflight", "off", "--source-sse-c-key-file", keyFile}, ssec)},
			{args: cat([]string{"cp", obj("up-file"), obj("cp-enforce"), "--preflight", "enforce", "--mode", "probe", "--source-sse-c-key-file", keyFile}, ssec, who)},
			{args: cat([]string{"cp", obj("up-file"), obj("cp-badcred"), "--preflight", "off", "--source-sse-c-key-file", keyFile}, ssec), badCred: true},
		},
		"uploads ls": {
			{args: cat([]string{"uploads", "ls", "s3://" + bucket}, who)},
			{args: cat([]string{"--json", "uploads", "ls", "s3://" + bucket}, who)},
			{args: cat([]string{"uploads", "ls", "s3://" + bucket}, who), badCred: true},
		},
		"uploads abort": {
			{args: []string{"uploads", "abort", obj("nothing"), "--upload-id", "no-such-upload"}},
			{args: []string{"uploads", "abort", "--plan", planS3}},
		},
		// A sharded upload: plans (one in the state directory, whose files are checked below,
		// one in S3), its shards, a refused complete (the S3 plan's shards are not sent) and a
		// completed one.
		"plan": {
			{args: cat([]string{"plan", data, obj("sharded"), "--shards", "2", "--part-size", "5MiB", "--plan-out", planFile, "--preflight", "warn"}, who)},
			{args: []string{"--json", "plan", data, obj("sharded-s3"), "--shards", "2", "--part-size", "5MiB", "--plan-out", planS3, "--preflight", "off"}},
			{args: cat([]string{"plan", data, obj("sharded-ssec"), "--shards", "2", "--plan-out", filepath.Join(stateDir, "ssec.plan.json")}, ssec)},
			{args: []string{"plan", data, obj("sharded-badcred"), "--shards", "2", "--part-size", "5MiB", "--plan-out", filepath.Join(stateDir, "badcred.plan.json"), "--preflight", "off"}, badCred: true},
		},
		"upload-shard": {
			{args: []string{"upload-shard", "--plan", planFile, "--shard", "0", "--progress", "lines"}},
			{args: []string{"--json", "upload-shard", "--plan", planFile, "--shard", "1"}},
			{args: []string{"upload-shard", "--plan", planS3, "--shard", "0"}, badCred: true},
		},
		"complete": {
			{args: []string{"--json", "complete", "--plan", planS3}},
			{args: []string{"complete", "--plan", planFile}},
		},
		"uploads cleanup": {
			{args: cat([]string{"uploads", "cleanup", "s3://" + bucket, "--older-than", "0", "--dry-run"}, who)},
			{args: cat([]string{"--json", "uploads", "cleanup", "s3://" + bucket, "--older-than", "0"}, who)},
		},
	}

	check := func(what, text string) {
		t.Helper()
		if found := secrets.find(text); len(found) > 0 {
			t.Errorf("%s reveals: %s", what, strings.Join(found, ", "))
		}
	}
	runInv := func(cmd string, iv inv) relCLIRun {
		t.Helper()
		rc := c
		if iv.offline || iv.badCred {
			cp := *c
			rc = &cp
			if iv.offline {
				rc.extra = append(rc.extra, "AWS_SESSION_TOKEN="+token)
			}
			if iv.badCred {
				wrong := u
				wrong.SecretKey = "wrong-" + u.SecretKey[:10] + "-secret"
				secrets["wrong secret key"] = wrong.SecretKey
				rc.user = wrong
			}
		}
		r := rc.run(t, iv.stdin, iv.args...)
		what := fmt.Sprintf("s3mpu %s (exit %d)", strings.Join(iv.args, " "), r.Code)
		check(what+" stdout", r.Stdout)
		check(what+" stderr", r.Stderr)
		t.Logf("%s: %d bytes out, %d bytes err", what, len(r.Stdout), len(r.Stderr))
		if r.Code != 0 {
			t.Logf("  stderr: %s", strings.TrimSpace(r.Stderr))
		}
		return r
	}

	commands := cliCommands(t, c)
	t.Logf("CLI commands: %q (state files: %v)", commands, hasState)
	// Uploads first: cp copies what they stored; then a sharded upload's plan, its shards and
	// its completion, in that order.
	rank := map[string]int{"upload": 0, "plan": 1, "upload-shard": 2, "complete": 3}
	order := func(cmd string) int {
		if r, ok := rank[cmd]; ok {
			return r
		}
		return len(rank)
	}
	sort.SliceStable(commands, func(i, j int) bool { return order(commands[i]) < order(commands[j]) })
	for _, cmd := range commands {
		ivs, ok := invocations[cmd]
		if !ok {
			t.Errorf("command %q is not covered by this test: add invocations for it", cmd)
			continue
		}
		// Help output too.
		runInv(cmd, inv{args: append(strings.Fields(cmd), "--help"), offline: true})
		for _, iv := range ivs {
			runInv(cmd, iv)
		}
	}
	for _, g := range []string{"--version", "--help"} {
		runInv("", inv{args: []string{g}, offline: true})
	}

	// State files: an upload with --state killed mid-way leaves its state file; it must hold
	// no secret. Then the same command resumes it, and `uploads abort --state` is tried on a
	// second one.
	if hasState {
		for i, finish := range []string{"resume", "abort"} {
			state := filepath.Join(stateDir, fmt.Sprintf("up-%d.state", i))
			key := "up-state-" + finish
			args := cat(c.globals(), upload(data, key, cat(ssec, []string{"--preflight", "off", "--part-size", "5MiB", "--concurrency", "1",
				"--rate-limit", "8MiB/s", "--state", state})...))
			killCLIWhenFileExists(t, c, args, state)
			if b, err := os.ReadFile(state); err != nil {
				t.Errorf("state file %s after the kill: %v", state, err)
			} else {
				check("state file "+state, string(b))
				t.Logf("state file after a kill: %d bytes", len(b))
			}
			switch finish {
			case "resume":
				r := runInv("upload", inv{args: upload(data, key, cat(ssec, []string{"--preflight", "off", "--part-size", "5MiB", "--state", state})...)})
				if r.Code != 0 {
					t.Errorf("resuming with --state: exit %d: %s", r.Code, r.Stderr)
				}
			case "abort":
				if strings.Contains(c.runRaw(t, nil, "uploads", "abort", "--help").Stdout, "--state") {
					r := runInv("uploads abort", inv{args: []string{"uploads", "abort", "--state", state}})
					if r.Code != 0 {
						t.Errorf("uploads abort --state: exit %d: %s", r.Code, r.Stderr)
					}
				}
			}
		}
	} else {
		t.Errorf("upload has no --state flag: state files cannot be checked")
	}

	// Every file the CLI wrote: its home (config, caches) and the state directory.
	for _, root := range []string{c.home, stateDir} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err == nil {
				check("file "+p, string(b))
			}
			return nil
		})
	}
	// Leave nothing behind for the bucket's orphan check: clean up with root.
	ctx := testCtx(t)
	ups, _ := env.ListUploads(ctx, bucket)
	for _, up := range ups {
		t.Logf("aborting %s left by the killed upload", aws.ToString(up.Key))
		_, _ = env.Root(env.HTTP()).AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: up.Key, UploadId: up.UploadId})
	}
}

// killCLIWhenFileExists runs the CLI and kills it with SIGKILL once path exists and is not
// empty (the state file was written), or when it ends by itself.
func killCLIWhenFileExists(t *testing.T, c *relCLI, args []string, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.environ()
	cmd.Dir = c.home
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			t.Errorf("s3mpu %s ended before its state file %s was seen", strings.Join(args, " "), path)
			return
		case <-tick.C:
			if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
				// Let a part or two be recorded, then kill.
				time.Sleep(300 * time.Millisecond)
				_ = cmd.Process.Kill()
				<-done
				return
			}
		}
	}
}
