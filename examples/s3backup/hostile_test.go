package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileSetup backs up a small tree to the fake and returns the fake, the global flags and
// the relative paths of the files.
func hostileSetup(t *testing.T, extra ...string) (*fakeS3, []string, []string) {
	t.Helper()
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	src := t.TempDir()
	rels := []string{"top.txt", "d1/one.txt", "d1/d2/two.txt", "d1/d2/d3/three.txt"}
	for _, rel := range rels {
		writeFile(t, src, rel, "content of "+rel)
	}
	global := append([]string{"--endpoint-url", endpoint, "--cache-dir", t.TempDir()}, extra...)
	s, code, stderr := runTool(t, append([]string{"run", src, "s3://bkt/p", "--preflight", "off"}, global...)...)
	if code != 0 || s.Uploaded != len(rels) {
		t.Fatalf("backup: exit %d, uploaded %d, failed %+v\n%s", code, s.Uploaded, s.Failed, stderr)
	}
	return fake, global, rels
}

// emptyDir fails the test when dir holds anything.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 0 {
		t.Errorf("%s holds %v (%v): restore wrote outside its directory", dir, ents, err)
	}
}

func failureReasons(s *summary) map[string]string {
	out := map[string]string{}
	for _, f := range s.Failed {
		out[f.Path] = f.Reason
	}
	return out
}

// TestRestoreDoesNotFollowPlantedLinks plants a directory symbolic link at each depth of the
// restore paths, to a directory outside DIR and to one inside it: the files below the link
// fail with a clear reason, nothing is written through the link, the others are restored.
func TestRestoreDoesNotFollowPlantedLinks(t *testing.T) {
	_, global, rels := hostileSetup(t)
	for _, at := range []string{"d1", "d1/d2", "d1/d2/d3"} {
		for _, inside := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s inside=%v", at, inside), func(t *testing.T) {
				dst := filepath.Join(t.TempDir(), "dst")
				outside := t.TempDir()
				target := outside
				if inside {
					target = filepath.Join(dst, "elsewhere")
				}
				if err := os.MkdirAll(filepath.Join(dst, filepath.FromSlash(at), ".."), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(target, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, filepath.Join(dst, filepath.FromSlash(at))); err != nil {
					t.Fatal(err)
				}
				s, code, _ := runTool(t, append([]string{"restore", "s3://bkt/p", dst}, global...)...)
				reasons := failureReasons(s)
				wantFailed := 0
				for _, rel := range rels {
					if !strings.HasPrefix(rel, at+"/") {
						continue
					}
					wantFailed++
					if !strings.Contains(reasons[rel], "symbolic link where a directory is needed") {
						t.Errorf("%s: reason %q", rel, reasons[rel])
					}
				}
				if code != 1 || len(s.Failed) != wantFailed || s.Restored != len(rels)-wantFailed {
					t.Errorf("exit %d, restored %d, failed %+v", code, s.Restored, s.Failed)
				}
				emptyDir(t, target)
			})
		}
	}
}

// TestRestoreDoesNotReplaceALinkAtTheFile: a symbolic link where a file is restored is
// neither written through nor replaced.
func TestRestoreDoesNotReplaceALinkAtTheFile(t *testing.T) {
	_, global, _ := hostileSetup(t)
	dst := filepath.Join(t.TempDir(), "dst")
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dst, "d1"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"top.txt", "d1/one.txt"} {
		if err := os.Symlink(outside, filepath.Join(dst, filepath.FromSlash(rel))); err != nil {
			t.Fatal(err)
		}
	}
	for _, overwrite := range []bool{false, true} {
		args := append([]string{"restore", "s3://bkt/p", dst}, global...)
		if overwrite {
			args = append(args, "--overwrite")
		}
		s, code, _ := runTool(t, args...)
		reasons := failureReasons(s)
		if code != 1 || len(s.Failed) != 2 || !strings.Contains(reasons["top.txt"], "is a symbolic link") {
			t.Fatalf("overwrite=%v: exit %d, failed %+v", overwrite, code, s.Failed)
		}
		if b, _ := os.ReadFile(outside); string(b) != "precious" {
			t.Fatalf("the link's target was written: %q", b)
		}
		if fi, err := os.Lstat(filepath.Join(dst, "top.txt")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the link was replaced (%v)", err)
		}
	}
}

// TestRestoreCatchesALinkSwappedIn swaps a directory for a link to outside DIR between the
// check of the directory and its opening: the file fails, nothing is written outside.
func TestRestoreCatchesALinkSwappedIn(t *testing.T) {
	_, global, _ := hostileSetup(t)
	for _, at := range []string{"d1", "d1/d2"} {
		t.Run(at, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst")
			outside := t.TempDir()
			swapped := false
			restoreHookForTests = func(dirRel string) {
				if dirRel != at || swapped {
					return
				}
				swapped = true
				p := filepath.Join(dst, filepath.FromSlash(at))
				if err := os.Rename(p, p+".moved"); err != nil {
					t.Error(err)
				}
				if err := os.Symlink(outside, p); err != nil {
					t.Error(err)
				}
			}
			t.Cleanup(func() { restoreHookForTests = nil })
			s, code, _ := runTool(t, append([]string{"restore", "s3://bkt/p", dst, "--concurrency", "1"}, global...)...)
			if !swapped {
				t.Fatal("the hook did not run")
			}
			if code != 1 || len(s.Failed) == 0 {
				t.Fatalf("exit %d, failed %+v", code, s.Failed)
			}
			for _, f := range s.Failed {
				if !strings.Contains(f.Reason, "symbolic link") {
					t.Errorf("%s: reason %q", f.Path, f.Reason)
				}
			}
			emptyDir(t, outside)
		})
	}
}

// TestRestoreUnderConcurrentSwaps restores many files while a goroutine keeps replacing a
// directory of DIR with a link to outside DIR and back: whatever the timing, nothing lands
// outside, and every file is either restored in DIR or failed.
func TestRestoreUnderConcurrentSwaps(t *testing.T) {
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	m := newManifest("bkt", "p/")
	for i := range 60 {
		rel := fmt.Sprintf("d/sub%d/f%02d", i%3, i)
		m.Files[rel] = testEntry(rel)
		fake.objects["bkt/p/"+rel] = []byte(rel)
	}
	data, _ := json.Marshal(m)
	fake.objects["bkt/p/.s3backup/manifest.json"] = data
	dst := filepath.Join(t.TempDir(), "dst")
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dst, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := filepath.Join(dst, "d")
		for i := 0; ctx.Err() == nil; i++ {
			_ = os.Rename(p, fmt.Sprintf("%s.%d", p, i))
			_ = os.Symlink(outside, p)
			time.Sleep(50 * time.Microsecond)
			_ = os.Remove(p)
			_ = os.Mkdir(p, 0o755)
		}
	}()
	s, _, _ := runTool(t, "restore", "s3://bkt/p", dst, "--endpoint-url", endpoint, "--cache-dir", t.TempDir(), "--concurrency", "4")
	cancel()
	wg.Wait()
	emptyDir(t, outside)
	if s.Restored+len(s.Failed) != 60 {
		t.Errorf("restored %d + failed %d, want 60", s.Restored, len(s.Failed))
	}
}

// TestRestoreBoundedOnBadData: a file whose object is missing or smaller than the manifest
// says stops at its first failed range (no flood of GETs), and the directories created for
// it are removed.
func TestRestoreBoundedOnBadData(t *testing.T) {
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	m := newManifest("bkt", "p/")
	huge := testEntry("x")
	huge.Size = 5 << 40 // the largest S3 object: 5,242,880 ranges of 1 MiB
	m.Files["deep/er/missing"] = huge
	short := testEntry("xy")
	short.Size = 64 << 20
	m.Files["deep/short"] = short
	fake.objects["bkt/p/deep/short"] = []byte("xy")
	data, _ := json.Marshal(m)
	fake.objects["bkt/p/.s3backup/manifest.json"] = data
	dst := filepath.Join(t.TempDir(), "dst")
	s, code, _ := runTool(t, "restore", "s3://bkt/p", dst, "--endpoint-url", endpoint, "--cache-dir", t.TempDir(), "--part-size", "1MiB", "--concurrency", "4")
	if code != 1 || len(s.Failed) != 2 {
		t.Fatalf("exit %d, failed %+v", code, s.Failed)
	}
	if gets := fake.countCalls(http.MethodGet); gets > 1+2*4 {
		t.Errorf("%d GETs for two bad files at --concurrency 4", gets)
	}
	emptyDir(t, dst)
}

// TestEmptyDirectoriesRoundTrip: empty directories are recorded, verified and restored.
func TestEmptyDirectoriesRoundTrip(t *testing.T) {
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	src := t.TempDir()
	writeFile(t, src, "a/f", "f")
	for _, d := range []string{"a/empty", "b/c/empty2"} {
		if err := os.MkdirAll(filepath.Join(src, filepath.FromSlash(d)), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	global := []string{"--endpoint-url", endpoint, "--cache-dir", t.TempDir()}
	s, code, _ := runTool(t, append([]string{"run", src, "s3://bkt/p", "--preflight", "off"}, global...)...)
	if code != 0 || s.EmptyDirs != 2 {
		t.Fatalf("run: exit %d, empty dirs %d", code, s.EmptyDirs)
	}
	m, _ := decodeManifest(fake.objects["bkt/p/.s3backup/manifest.json"])
	if len(m.Dirs) != 2 || m.Dirs["a/empty"] == nil || m.Dirs["b/c/empty2"].Mode != 0o750 {
		t.Fatalf("manifest dirs %v", m.Dirs)
	}
	s, code, _ = runTool(t, append([]string{"verify", "s3://bkt/p", src}, global...)...)
	if code != 0 || s.EmptyDirs != 2 {
		t.Fatalf("verify: exit %d, empty dirs %d, failed %+v", code, s.EmptyDirs, s.Failed)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	s, code, _ = runTool(t, append([]string{"restore", "s3://bkt/p", dst}, global...)...)
	if code != 0 || s.EmptyDirs != 2 || s.Restored != 1 {
		t.Fatalf("restore: exit %d, empty dirs %d, failed %+v", code, s.EmptyDirs, s.Failed)
	}
	fi, err := os.Stat(filepath.Join(dst, "b", "c", "empty2"))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Fatalf("restored empty directory: %v %v", fi, err)
	}
	// Removing an empty directory shows in verify; --delete drops it from the manifest.
	if err := os.Remove(filepath.Join(src, "a", "empty")); err != nil {
		t.Fatal(err)
	}
	s, code, _ = runTool(t, append([]string{"verify", "s3://bkt/p", src}, global...)...)
	if code != 1 || !strings.Contains(failureReasons(s)["a/empty/"], "empty directory is missing") {
		t.Fatalf("verify after removal: exit %d, failed %+v", code, s.Failed)
	}
	if _, code, _ = runTool(t, append([]string{"run", src, "s3://bkt/p", "--preflight", "off", "--delete"}, global...)...); code != 0 {
		t.Fatalf("run --delete: exit %d", code)
	}
	m, _ = decodeManifest(fake.objects["bkt/p/.s3backup/manifest.json"])
	if len(m.Dirs) != 1 || m.Dirs["a/empty"] != nil {
		t.Fatalf("manifest dirs after --delete: %v", m.Dirs)
	}
}

// TestTextOutputIsTerminalSafe: escape sequences in names never reach the terminal raw,
// in any command's text output; the JSON output keeps the exact name.
func TestTextOutputIsTerminalSafe(t *testing.T) {
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	src := t.TempDir()
	evil := "a\x1b]0;pwned\x07\x1b[2Jb\n"
	writeFile(t, src, "ok", "ok")
	if err := os.WriteFile(filepath.Join(src, evil), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	global := []string{"--endpoint-url", endpoint, "--cache-dir", t.TempDir()}
	textRun := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		run(context.Background(), nil, append(args, global...), &stdout, &stderr)
		return stdout.String() + stderr.String()
	}
	out := textRun("run", src, "s3://bkt/p", "--preflight", "off")
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `a\x1b]0;pwned\a\x1b[2Jb\n`) {
		t.Errorf("run text output:\n%s", out)
	}
	s, _, _ := runTool(t, append([]string{"run", src, "s3://bkt/p", "--preflight", "off"}, global...)...)
	if len(s.Skipped) != 1 || s.Skipped[0].Rel != evil {
		t.Errorf("JSON skipped %+v, want the exact name", s.Skipped)
	}
	// A manifest naming such a path is refused; the refusal is escaped too.
	m, _ := decodeManifest(fake.objects["bkt/p/.s3backup/manifest.json"])
	m.Files[evil] = testEntry("x")
	data, _ := json.Marshal(m)
	fake.objects["bkt/p/.s3backup/manifest.json"] = data
	for _, cmd := range [][]string{{"verify", "s3://bkt/p", src}, {"restore", "s3://bkt/p", t.TempDir()}, {"run", src, "s3://bkt/p", "--preflight", "off"}} {
		out := textRun(cmd...)
		if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, "control character") {
			t.Errorf("%s text output:\n%s", cmd[0], out)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"plain ü name", "plain ü name"},
		{"a\nb", `"a\nb"`},
		{"\x1b[31m", `"\x1b[31m"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{"rtl\u202eexe.txt", `"rtl\u202eexe.txt"`},
		{`"quoted"`, `"\"quoted\""`},
	} {
		if got := termPath(c.in); got != c.want {
			t.Errorf("termPath(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := termText("reason \x1b[2J \xff"); got != `reason \x1b[2J \xff` {
		t.Errorf("termText = %s", got)
	}
}

// TestManifestKeyCommands: run signs with the key, verify and restore check it, a changed
// or unsigned manifest is refused, a run without the key does not drop the signature, and
// the key never appears in any output.
func TestManifestKeyCommands(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	key := "s3cr3t-manifest-key-do-not-print"
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake, global, _ := hostileSetup(t, "--manifest-key", keyFile)
	dst := filepath.Join(t.TempDir(), "dst")
	check := func(name string, wantCode int, wantErr string, args ...string) *summary {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), nil, append(args, "--json"), &stdout, &stderr)
		if strings.Contains(stdout.String()+stderr.String(), key) {
			t.Fatalf("%s: the key was printed", name)
		}
		s := &summary{}
		_ = json.Unmarshal(stdout.Bytes(), s)
		if code != wantCode || !strings.Contains(s.Error, wantErr) {
			t.Errorf("%s: exit %d, error %q; want exit %d, error with %q", name, code, s.Error, wantCode, wantErr)
		}
		return s
	}
	noKey := global[:len(global)-2]
	s := check("restore with key", 0, "", append([]string{"restore", "s3://bkt/p", dst}, global...)...)
	if len(s.Warnings) != 0 {
		t.Errorf("warnings with a key: %q", s.Warnings)
	}
	s = check("restore without key", 0, "", append([]string{"restore", "s3://bkt/p", dst}, noKey...)...)
	if !strings.Contains(strings.Join(s.Warnings, "\n"), "cannot be detected") || !strings.Contains(strings.Join(s.Warnings, "\n"), "not checked") {
		t.Errorf("warnings without a key: %q", s.Warnings)
	}
	check("run without key", 1, "manifest is signed", append([]string{"run", dst, "s3://bkt/p", "--preflight", "off"}, noKey...)...)

	orig, origTop := fake.objects["bkt/p/.s3backup/manifest.json"], fake.objects["bkt/p/top.txt"]
	m, _ := decodeManifest(orig)
	// The attacker changes an object and its manifest entry together.
	fake.objects["bkt/p/top.txt"] = []byte("evil")
	m.Files["top.txt"] = testEntry("evil")
	data, _ := json.Marshal(m)
	fake.objects["bkt/p/.s3backup/manifest.json"] = data
	check("verify tampered", 1, "MAC does not match", append([]string{"verify", "s3://bkt/p", dst}, global...)...)
	check("restore tampered", 1, "MAC does not match", append([]string{"restore", "s3://bkt/p", t.TempDir()}, global...)...)
	m.MAC = ""
	for _, e := range m.Files {
		e.MAC = ""
	}
	data, _ = json.Marshal(m)
	fake.objects["bkt/p/.s3backup/manifest.json"] = data
	check("verify unsigned", 1, "has no MAC", append([]string{"verify", "s3://bkt/p", dst}, global...)...)
	check("restore unsigned", 1, "has no MAC", append([]string{"restore", "s3://bkt/p", t.TempDir()}, global...)...)

	short := filepath.Join(t.TempDir(), "short")
	_ = os.WriteFile(short, []byte("tiny"), 0o600)
	check("short key", 2, "", append([]string{"verify", "s3://bkt/p", dst, "--manifest-key", short}, noKey...)...)
	t.Setenv(manifestKeyEnv, keyFile)
	fake.objects["bkt/p/.s3backup/manifest.json"], fake.objects["bkt/p/top.txt"] = orig, origTop
	check("key from the environment", 0, "", append([]string{"verify", "s3://bkt/p", dst, "--quick"}, noKey...)...)
}

// TestManifestKeyStrippedMACsAreNotSigned: someone who can write the bucket changes an object
// and its entry together (same size and time as the local file, so a run does not read it
// again) and removes every MAC. A routine run with the key must not sign that manifest, or
// restore with the key would then write the forged content without a word.
func TestManifestKeyStrippedMACsAreNotSigned(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("the-backup-owners-secret-key-32b"), 0o600); err != nil {
		t.Fatal(err)
	}
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	src := t.TempDir()
	writeFile(t, src, "top.txt", "good")
	global := []string{"--endpoint-url", endpoint, "--cache-dir", t.TempDir(), "--manifest-key", keyFile}
	if s, code, stderr := runTool(t, append([]string{"run", src, "s3://bkt/p", "--preflight", "off"}, global...)...); code != 0 || s.Uploaded != 1 {
		t.Fatalf("backup: exit %d, %+v\n%s", code, s, stderr)
	}
	m, err := decodeManifest(fake.objects["bkt/p/.s3backup/manifest.json"])
	if err != nil || m.MAC == "" {
		t.Fatalf("the backup is not signed: %v", err)
	}
	fake.objects["bkt/p/top.txt"] = []byte("evil")
	forged := testEntry("evil")
	forged.MTimeNs, forged.Mode = m.Files["top.txt"].MTimeNs, m.Files["top.txt"].Mode
	m.Files["top.txt"] = forged
	m.MAC = ""
	data, _ := json.Marshal(m)
	fake.objects["bkt/p/.s3backup/manifest.json"] = data

	s, code, _ := runTool(t, append([]string{"run", src, "s3://bkt/p", "--preflight", "off"}, global...)...)
	if code == 0 || !strings.Contains(s.Error, "no MAC") || !strings.Contains(s.Error, "--adopt-unsigned") {
		t.Errorf("run with the key on a manifest without MACs: exit %d, error %q; want a refusal naming --adopt-unsigned", code, s.Error)
	}
	dst := t.TempDir()
	s, code, _ = runTool(t, append([]string{"restore", "s3://bkt/p", dst}, global...)...)
	if b, _ := os.ReadFile(filepath.Join(dst, "top.txt")); code == 0 || string(b) == "evil" {
		t.Errorf("restore with the key after the run: exit %d, top.txt %q, error %q; the forged entry was accepted", code, b, s.Error)
	}
}

// TestManifestKeyAdoptsAnUnsignedBackup: a run with a key and --adopt-unsigned on a backup
// written without one signs it (with a warning), after which verify with the key passes.
func TestManifestKeyAdoptsAnUnsignedBackup(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("another-secret-key-of-32-bytes!!"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake, global, _ := hostileSetup(t)
	dst := filepath.Join(t.TempDir(), "dst")
	if _, code, _ := runTool(t, append([]string{"restore", "s3://bkt/p", dst}, global...)...); code != 0 {
		t.Fatalf("restore: exit %d", code)
	}
	withKey := append(append([]string{}, global...), "--manifest-key", keyFile)
	s, code, _ := runTool(t, append([]string{"run", dst, "s3://bkt/p", "--preflight", "off", "--adopt-unsigned"}, withKey...)...)
	if code != 0 || !strings.Contains(strings.Join(s.Warnings, "\n"), "had no MAC") {
		t.Fatalf("adopting run: exit %d, warnings %q, failed %+v", code, s.Warnings, s.Failed)
	}
	m, _ := decodeManifest(fake.objects["bkt/p/.s3backup/manifest.json"])
	if m.MAC == "" {
		t.Fatal("the adopting run did not sign the manifest")
	}
	if s, code, _ := runTool(t, append([]string{"verify", "s3://bkt/p", dst}, withKey...)...); code != 0 || len(s.Warnings) != 0 {
		t.Fatalf("verify with the key: exit %d, warnings %q, failed %+v", code, s.Warnings, s.Failed)
	}
}

// TestBackupDoesNotReadThroughASwappedLink: a file (or its directory) replaced by a link
// after the walk is not read: a run as root cannot be made to upload a file from outside
// DIR, or another file inside it.
func TestBackupDoesNotReadThroughASwappedLink(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	writeFile(t, dir, "a.txt", "mine")
	writeFile(t, dir, "sub/b.txt", "mine too")
	writeFile(t, dir, "other.txt", "another file inside")
	writeFile(t, outside, "a.txt", "secret")
	writeFile(t, outside, "b.txt", "secret")
	res, err := walkTree(context.Background(), dir, walkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]localFile{}
	for _, f := range res.files {
		files[f.Rel] = f
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	b := &backupRun{root: root}
	for rel, f := range files {
		fh, _, err := b.openLocal(f)
		if err != nil {
			t.Fatalf("%s before any swap: %v", rel, err)
		}
		fh.Close()
	}
	swap := func(rel, target string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	// The decoy exists before other.txt is removed, so it cannot reuse its inode.
	writeFile(t, dir, "a.txt.none", "decoy inside DIR")
	swap("a.txt", filepath.Join(outside, "a.txt"))
	swap("sub", outside)
	swap("other.txt", "a.txt.none")
	for _, rel := range []string{"a.txt", "sub/b.txt", "other.txt"} {
		fh, _, err := b.openLocal(files[rel])
		if err == nil {
			fh.Close()
			t.Errorf("%s: opened through the swapped link", rel)
		} else if !errors.Is(err, errReplaced) {
			t.Errorf("%s: err = %v, want errReplaced", rel, err)
		}
	}
}

// TestRestoreVerifyRefuseS3URLAsDir: a second s3:// argument is a confused command line,
// not a local directory named "s3:"; nothing is created and the exit status is 2.
func TestRestoreVerifyRefuseS3URLAsDir(t *testing.T) {
	setFakeCredentials(t)
	wd := t.TempDir()
	t.Chdir(wd)
	for _, cmd := range []string{"restore", "verify"} {
		for _, dir := range []string{"s3://bkt/other", "S3://bkt/other"} {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), nil, []string{cmd, "s3://bkt/p", dir, "--endpoint-url", "http://127.0.0.1:1"}, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), "is an s3:// URL") {
				t.Errorf("%s s3://bkt/p %s: exit %d, stderr %q; want 2 and the reason", cmd, dir, code, stderr.String())
			}
		}
	}
	if ents, _ := os.ReadDir(wd); len(ents) != 0 {
		t.Fatalf("the refused commands created %v", ents)
	}
}
