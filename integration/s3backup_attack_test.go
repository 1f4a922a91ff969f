package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// TestS3backupAttacks runs s3backup against a hostile bucket and a hostile restore
// directory on the real server: each attack changes the manifest, the objects or the
// directory, and must get the expected refusal, with nothing written outside the restore
// directory and nothing deleted outside the prefix. A clean backup still restores byte for
// byte, empty directories included.
func TestS3backupAttacks(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := buildS3backup(t, work)
	root, _ := env.User("root")
	cli := env.Root(env.HTTP())
	tool := newBackupTool(t, bin, env, env.HTTP(), root, filepath.Join(work, "cache"))
	keyFile := filepath.Join(work, "manifest.key")
	const key = "a-secret-manifest-key-0123456789"
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--server-profile", "no-defaults", "--caller", root.ARN}

	src := filepath.Join(work, "src")
	for _, rel := range []string{"top.txt", "d1/one.txt", "d1/d2/two.txt", "d1/d2/d3/three.txt"} {
		writeTestFile(t, src, rel, 1000+len(rel))
	}
	if err := os.MkdirAll(filepath.Join(src, "empty", "dir"), 0o750); err != nil {
		t.Fatal(err)
	}
	var clean map[string][]byte
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(key string) []byte {
		t.Helper()
		out, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	exists := func(key string) bool {
		_, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		return err == nil
	}
	// forgeTogether replaces prefix's top.txt object with "forged" and rewrites its manifest
	// entry to match (size, checksums, ETag), as an attacker who can write the bucket would.
	forgeTogether := func(t *testing.T, prefix string) {
		t.Helper()
		forged := []byte("forged")
		put(prefix+"/top.txt", forged)
		h, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "/top.txt")})
		if err != nil {
			t.Fatal(err)
		}
		var sum [4]byte
		binary.BigEndian.PutUint32(sum[:], crc32.Checksum(forged, crc32.MakeTable(crc32.Castagnoli)))
		crc := base64.StdEncoding.EncodeToString(sum[:])
		editManifestOf(t, clean[prefix], func(m map[string]any) {
			e := m["files"].(map[string]any)["top.txt"].(map[string]any)
			e["size"], e["crc32c"], e["object_checksum"], e["etag"] = len(forged), crc, "CRC32C:"+crc, aws.ToString(h.ETag)
			delete(e, "version_id")
		}, func(b []byte) { put(prefix+"/.s3backup/manifest.json", b) })
	}
	put("victim.txt", []byte("outside the prefix")) // what a "../" path names from bk/

	// Two backups of the same tree: bk/ without a key, sig/ signed with the key.
	for _, c := range []struct{ prefix, key string }{{"bk", ""}, {"sig", keyFile}} {
		args := append([]string{"run", src, "s3://" + bucket + "/" + c.prefix}, common...)
		if c.key != "" {
			args = append(args, "--manifest-key", c.key)
		}
		s, code := tool.run(ctx, args...)
		if code != 0 || s.Uploaded != 4 {
			t.Fatalf("backup to %s: exit %d, uploaded %d\n%s", c.prefix, code, s.Uploaded, tool.lastText)
		}
	}
	clean = map[string][]byte{"bk": get("bk/.s3backup/manifest.json"), "sig": get("sig/.s3backup/manifest.json")}
	cleanTop := get("bk/top.txt")

	t.Run("clean backup restores byte for byte", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "dst")
		s, code := tool.run(ctx, "restore", "s3://"+bucket+"/sig", dst, "--manifest-key", keyFile)
		if code != 0 || s.Restored != 4 {
			t.Fatalf("exit %d, restored %d, failed %+v\n%s", code, s.Restored, s.Failed, tool.lastText)
		}
		compareTrees(t, src, dst, "")
		if fi, err := os.Stat(filepath.Join(dst, "empty", "dir")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Errorf("empty directory not restored: %v %v", fi, err)
		}
		s, code = tool.run(ctx, "verify", "s3://"+bucket+"/sig", src, "--manifest-key", keyFile, "--download")
		if code != 0 || s.Verified != 4 {
			t.Errorf("verify: exit %d, verified %d, failed %+v", code, s.Verified, s.Failed)
		}
	})

	// editManifest decodes the clean manifest of prefix (numbers kept exact), lets edit
	// change it and stores the result.
	editManifest := func(prefix string, edit func(m map[string]any)) {
		t.Helper()
		dec := json.NewDecoder(bytes.NewReader(clean[prefix]))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		put(prefix+"/.s3backup/manifest.json", b)
	}
	files := func(m map[string]any) map[string]any { return m["files"].(map[string]any) }
	entry := func(m map[string]any, rel string) map[string]any { return files(m)[rel].(map[string]any) }
	addPath := func(rel string) func(m map[string]any) {
		return func(m map[string]any) { files(m)[rel] = entry(m, "top.txt") }
	}
	setField := func(rel, field string, v any) func(m map[string]any) {
		return func(m map[string]any) { entry(m, rel)[field] = v }
	}

	type attack struct {
		name   string
		prefix string // bk (no key) or sig (signed)
		setup  func(t *testing.T, dst string)
		cmd    func(dst string) []string // the command, without the global flags
		code   int
		want   string // in the error or a failure's reason
		check  func(t *testing.T, dst string, s *backupSummary)
	}
	restore := func(extra ...string) func(string) []string {
		return func(dst string) []string {
			return append([]string{"restore", "s3://" + bucket + "/bk", dst}, extra...)
		}
	}
	restoreSig := func(extra ...string) func(string) []string {
		return func(dst string) []string {
			return append([]string{"restore", "s3://" + bucket + "/sig", dst}, extra...)
		}
	}
	verify := func(prefix string, extra ...string) func(string) []string {
		return func(string) []string {
			return append([]string{"verify", "s3://" + bucket + "/" + prefix, src}, extra...)
		}
	}
	runDelete := func(string) []string {
		return append([]string{"run", src, "s3://" + bucket + "/bk", "--delete"}, common...)
	}
	manifestAttack := func(edit func(m map[string]any)) func(t *testing.T, dst string) {
		return func(t *testing.T, dst string) { editManifest("bk", edit) }
	}
	victimKept := func(t *testing.T, dst string, s *backupSummary) {
		if !exists("victim.txt") {
			t.Error("the object outside the prefix was deleted")
		}
	}
	outside := filepath.Join(work, "outside")
	nothingOutside := func(t *testing.T, dst string, s *backupSummary) {
		ents, _ := os.ReadDir(outside)
		if len(ents) != 0 {
			t.Errorf("restore wrote outside its directory: %v", ents)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dst), "escaped")); err == nil {
			t.Error("restore wrote next to its directory")
		}
	}
	deep := strings.Repeat("x/", 500) + "f" // 1,001 bytes, within S3's key length
	raw := func(body string) func(t *testing.T, dst string) {
		return func(t *testing.T, dst string) {
			m := string(clean["bk"])
			i := strings.Index(m, `"files": {`) + len(`"files": {`)
			put("bk/.s3backup/manifest.json", []byte(m[:i]+body+m[i:]))
		}
	}
	topEntry := func() string {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(clean["bk"], &m)
		var f map[string]json.RawMessage
		_ = json.Unmarshal(m["files"], &f)
		return string(f["top.txt"])
	}()

	attacks := []attack{
		{name: "dot-dot path, run --delete", prefix: "bk", setup: manifestAttack(addPath("../victim.txt")), cmd: runDelete, code: 1, want: "not a clean relative path", check: victimKept},
		{name: "dot-dot path, verify", prefix: "bk", setup: manifestAttack(addPath("../victim.txt")), cmd: verify("bk"), code: 1, want: "not a clean relative path"},
		{name: "dot-dot path, restore", prefix: "bk", setup: manifestAttack(addPath("../escaped")), cmd: restore(), code: 1, want: "not a clean relative path", check: nothingOutside},
		{name: "inner dot-dot path", prefix: "bk", setup: manifestAttack(addPath("d1/../../escaped")), cmd: restore(), code: 1, want: "not a clean relative path", check: nothingOutside},
		{name: "absolute path", prefix: "bk", setup: manifestAttack(addPath("/tmp/escaped")), cmd: restore(), code: 1, want: "absolute path"},
		{name: "manifest's own key, run --delete", prefix: "bk", setup: manifestAttack(addPath(".s3backup/manifest.json")), cmd: runDelete, code: 1, want: "reserved for the backup's manifest",
			check: func(t *testing.T, dst string, s *backupSummary) {
				if !exists("bk/.s3backup/manifest.json") {
					t.Error("the manifest was deleted")
				}
			}},
		{name: "escape sequence in a path", prefix: "bk", setup: manifestAttack(addPath("a\x1b[2J\x1b]0;owned\x07")), cmd: restore(), code: 1, want: "control character"},
		{name: "newline in a path (forged output line)", prefix: "bk", setup: manifestAttack(addPath("a\n  failed:     0 files")), cmd: verify("bk"), code: 1, want: "control character"},
		{name: "duplicate path", prefix: "bk", setup: raw(`"top.txt": ` + topEntry + `, `), cmd: restore(), code: 1, want: "appears twice"},
		{name: "path both file and directory", prefix: "bk", setup: manifestAttack(addPath("top.txt/inner")), cmd: restore(), code: 1, want: "is a file in the manifest"},
		{name: "blank crc32c", prefix: "bk", setup: manifestAttack(setField("top.txt", "crc32c", "")), cmd: restore(), code: 1, want: "manifest entry has no checksum"},
		{name: "missing crc32c", prefix: "bk", setup: manifestAttack(func(m map[string]any) { delete(entry(m, "top.txt"), "crc32c") }), cmd: verify("bk"), code: 1, want: "manifest entry has no checksum"},
		{name: "blank etag", prefix: "bk", setup: manifestAttack(setField("top.txt", "etag", "")), cmd: verify("bk"), code: 1, want: "manifest entry has no ETag"},
		{name: "blank object checksum", prefix: "bk", setup: manifestAttack(setField("top.txt", "object_checksum", "")), cmd: verify("bk"), code: 1, want: "manifest entry has no object checksum"},
		{name: "size above 5 TiB", prefix: "bk", setup: manifestAttack(setField("top.txt", "size", json.Number("5497558138881"))), cmd: restore(), code: 1, want: "outside S3's object sizes"},
		{name: "negative size", prefix: "bk", setup: manifestAttack(setField("top.txt", "size", -1)), cmd: runDelete, code: 1, want: "outside S3's object sizes", check: victimKept},
		{name: "setuid mode", prefix: "bk", setup: manifestAttack(setField("top.txt", "mode", 0o4755)), cmd: restore(), code: 1, want: "permission bits"},
		{name: "huge size for a small object", prefix: "bk", setup: manifestAttack(setField("d1/d2/d3/three.txt", "size", json.Number("1099511627776"))), cmd: restore("--part-size", "1MiB"), code: 1, want: "1099511627776",
			check: func(t *testing.T, dst string, s *backupSummary) {
				if s.Restored != 3 {
					t.Errorf("restored %d, want the 3 other files", s.Restored)
				}
				if _, err := os.Lstat(filepath.Join(dst, "d1", "d2", "d3")); err == nil {
					t.Error("the directory created for the failed file was left")
				}
			}},
		{name: "deep path of a missing object", prefix: "bk", setup: manifestAttack(func(m map[string]any) {
			e := map[string]any{}
			for k, v := range entry(m, "top.txt") {
				e[k] = v
			}
			e["size"] = json.Number("1099511627776")
			files(m)[deep] = e
		}), cmd: restore("--part-size", "1MiB"), code: 1, want: "NoSuchKey",
			check: func(t *testing.T, dst string, s *backupSummary) {
				if _, err := os.Lstat(filepath.Join(dst, "x")); err == nil {
					t.Error("the 500 directories created for the failed file were left")
				}
			}},
		{name: "manifest above the size cap", prefix: "bk", cmd: restore("--max-manifest-size", "512"), code: 1, want: "larger than the limit"},
		{name: "object replaced, manifest not", prefix: "bk", setup: func(t *testing.T, dst string) { put("bk/top.txt", []byte("replaced")) }, cmd: restore(), code: 1, want: "replaced"},
		{name: "object replaced, verify", prefix: "bk", setup: func(t *testing.T, dst string) { put("bk/top.txt", []byte("replaced")) }, cmd: verify("bk"), code: 1, want: "the manifest says"},
		{name: "directory link planted in DIR", prefix: "bk", setup: func(t *testing.T, dst string) {
			mustMkdir(t, dst)
			mustSymlink(t, outside, filepath.Join(dst, "d1"))
		}, cmd: restore(), code: 1, want: "symbolic link where a directory is needed", check: nothingOutside},
		{name: "directory link planted two levels down", prefix: "bk", setup: func(t *testing.T, dst string) {
			mustMkdir(t, filepath.Join(dst, "d1"))
			mustSymlink(t, outside, filepath.Join(dst, "d1", "d2"))
		}, cmd: restore(), code: 1, want: "symbolic link where a directory is needed", check: nothingOutside},
		{name: "directory link to inside DIR", prefix: "bk", setup: func(t *testing.T, dst string) {
			mustMkdir(t, filepath.Join(dst, "elsewhere"))
			mustSymlink(t, "elsewhere", filepath.Join(dst, "d1"))
		}, cmd: restore(), code: 1, want: "symbolic link where a directory is needed",
			check: func(t *testing.T, dst string, s *backupSummary) {
				if ents, _ := os.ReadDir(filepath.Join(dst, "elsewhere")); len(ents) != 0 {
					t.Errorf("restore wrote through the link: %v", ents)
				}
			}},
		{name: "link at the file", prefix: "bk", setup: func(t *testing.T, dst string) {
			mustMkdir(t, dst)
			if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, filepath.Join(outside, "victim"), filepath.Join(dst, "top.txt"))
		}, cmd: restore("--overwrite"), code: 1, want: "is a symbolic link",
			check: func(t *testing.T, dst string, s *backupSummary) {
				if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "precious" {
					t.Errorf("the link's target was written: %q", b)
				}
				_ = os.Remove(filepath.Join(outside, "victim"))
			}},
		{name: "objects and manifest changed together, with key", prefix: "sig", setup: func(t *testing.T, dst string) {
			forgeTogether(t, "sig")
		}, cmd: restoreSig("--manifest-key", keyFile), code: 1, want: "MAC does not match"},
		{name: "objects and manifest changed together, verify with key", prefix: "sig", setup: func(t *testing.T, dst string) {
			forgeTogether(t, "sig")
		}, cmd: verify("sig", "--manifest-key", keyFile), code: 1, want: "MAC does not match"},
		{name: "MAC removed, with key", prefix: "sig", setup: func(t *testing.T, dst string) {
			editManifestOf(t, clean["sig"], func(m map[string]any) { delete(m, "mac") }, func(b []byte) { put("sig/.s3backup/manifest.json", b) })
		}, cmd: restoreSig("--manifest-key", keyFile), code: 1, want: "has no MAC"},
		{name: "MACs removed and an entry forged, run with key", prefix: "sig", setup: func(t *testing.T, dst string) {
			forgeTogether(t, "sig")
			editManifestOf(t, get("sig/.s3backup/manifest.json"), func(m map[string]any) {
				delete(m, "mac")
				for _, e := range m["files"].(map[string]any) {
					delete(e.(map[string]any), "mac")
				}
			}, func(b []byte) { put("sig/.s3backup/manifest.json", b) })
		}, cmd: func(string) []string {
			return append([]string{"run", src, "s3://" + bucket + "/sig", "--manifest-key", keyFile}, common...)
		}, code: 1, want: "--adopt-unsigned",
			check: func(t *testing.T, dst string, s *backupSummary) {
				if strings.Contains(string(get("sig/.s3backup/manifest.json")), `"mac"`) {
					t.Error("the run signed the manifest whose MACs were removed")
				}
			}},
		{name: "signed backup, run without key", prefix: "sig", cmd: func(string) []string {
			return append([]string{"run", src, "s3://" + bucket + "/sig"}, common...)
		}, code: 1, want: "manifest is signed"},
		{name: "objects and manifest changed together, no key: undetectable, said", prefix: "bk", setup: func(t *testing.T, dst string) {
			forgeTogether(t, "bk")
		}, cmd: restore(), code: 0, want: "cannot be detected",
			check: func(t *testing.T, dst string, s *backupSummary) {
				if b, _ := os.ReadFile(filepath.Join(dst, "top.txt")); string(b) != "forged" {
					t.Errorf("restored %q", b)
				}
			}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst")
			mustMkdir(t, outside)
			t.Cleanup(func() {
				put(a.prefix+"/.s3backup/manifest.json", clean[a.prefix])
				put(a.prefix+"/top.txt", cleanTop)
				_ = os.RemoveAll(outside)
			})
			if a.setup != nil {
				a.setup(t, dst)
			}
			s, code := tool.run(ctx, a.cmd(dst)...)
			text := s.Error
			for _, f := range s.Failed {
				text += "\n" + f.Path + ": " + f.Reason
			}
			text += "\n" + strings.Join(s.Warnings, "\n")
			if code != a.code || !strings.Contains(text, a.want) {
				t.Fatalf("exit %d, want %d with %q; got:\n%s\n%s", code, a.code, a.want, text, tool.lastText)
			}
			if a.check != nil {
				a.check(t, dst, s)
			}
			// The text output never carries a raw control character.
			out, _ := tool.text(ctx, a.cmd(dst)...)
			if strings.ContainsAny(out, "\x1b\x07") {
				t.Errorf("text output holds raw escape characters:\n%q", out)
			}
			t.Logf("%s -> exit %d: %s", a.name, code, firstLine(text))
		})
	}

	t.Run("directory swapped for a link during the restore", func(t *testing.T) {
		// A goroutine keeps replacing d1 with a link to outside DIR and back while the restore
		// runs: whatever the timing, nothing is written outside.
		mustMkdir(t, outside)
		defer os.RemoveAll(outside)
		for i := range 3 {
			dst := filepath.Join(t.TempDir(), "dst")
			mustMkdir(t, filepath.Join(dst, "d1"))
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := filepath.Join(dst, "d1")
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					_ = os.Rename(p, fmt.Sprintf("%s.%d", p, n))
					_ = os.Symlink(outside, p)
					time.Sleep(time.Duration(100*(i+1)) * time.Microsecond)
					_ = os.Remove(p)
					_ = os.Mkdir(p, 0o755)
				}
			}()
			s, _ := tool.run(ctx, "restore", "s3://"+bucket+"/bk", dst, "--concurrency", "1")
			close(stop)
			wg.Wait()
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("restore wrote outside its directory: %v", ents)
			}
			for _, f := range s.Failed {
				if !strings.Contains(f.Reason, "symbolic link") && !strings.Contains(f.Reason, "no such file") {
					t.Errorf("%s: %s", f.Path, f.Reason)
				}
			}
			t.Logf("round %d: restored %d, failed %d", i, s.Restored, len(s.Failed))
		}
	})
}

// editManifestOf decodes data (numbers kept exact), applies edit and stores the result.
func editManifestOf(t *testing.T, data []byte, edit func(m map[string]any), store func([]byte)) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	store(b)
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
