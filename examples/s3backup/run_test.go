package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeS3 is a minimal S3 server for the command's own tests: path-style PUT, GET (with
// Range), HEAD and DELETE of objects, and an empty ListMultipartUploads. Keys containing
// "denied" answer PUT with 403 AccessDenied. It records every request. Multipart uploads
// are covered by the integration tests against a real server.
type fakeS3 struct {
	uploads []fakeUpload // listed by ListMultipartUploads until aborted
	aborted []string     // upload IDs aborted
	mu      sync.Mutex
	objects map[string][]byte      // "bucket/key" -> data
	headers map[string]http.Header // "bucket/key" -> headers of the last PUT
	calls   []string               // "METHOD /bucket/key"
}

// fakeUpload is a multipart upload the fake lists.
type fakeUpload struct {
	key, id, initiator string
	initiated          time.Time
}

func newFakeS3(t *testing.T) (*fakeS3, string) {
	f := &fakeS3{objects: map[string][]byte{}, headers: map[string]http.Header{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s from the fake</Message></Error>`, code, code)
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" /"+path)
	f.mu.Unlock()
	if _, ok := r.URL.Query()["uploads"]; ok && r.Method == http.MethodGet {
		prefix := r.URL.Query().Get("prefix")
		w.Header().Set("Content-Type", "application/xml")
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>`)
		f.mu.Lock()
		for _, u := range f.uploads {
			if !strings.HasPrefix(u.key, prefix) {
				continue
			}
			fmt.Fprintf(&b, "<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiated>%s</Initiated>", u.key, u.id, u.initiated.UTC().Format(time.RFC3339))
			if u.initiator != "" {
				fmt.Fprintf(&b, "<Initiator><ID>%s</ID></Initiator>", u.initiator)
			}
			b.WriteString("</Upload>")
		}
		f.mu.Unlock()
		b.WriteString("</ListMultipartUploadsResult>")
		fmt.Fprint(w, b.String())
		return
	}
	if id := r.URL.Query().Get("uploadId"); id != "" && r.Method == http.MethodDelete {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, u := range f.uploads {
			if u.id == id {
				f.uploads = append(f.uploads[:i], f.uploads[i+1:]...)
				f.aborted = append(f.aborted, id)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		s3Error(w, http.StatusNotFound, "NoSuchUpload")
		return
	}
	switch r.Method {
	case http.MethodPut:
		if strings.Contains(path, "denied") {
			_, _ = io.Copy(io.Discard, r.Body)
			s3Error(w, http.StatusForbidden, "AccessDenied")
			return
		}
		data, err := io.ReadAll(r.Body)
		if err != nil {
			s3Error(w, http.StatusBadRequest, "IncompleteBody")
			return
		}
		if want := r.Header.Get("x-amz-checksum-crc32c"); want != "" && want != crc32cBase64(crc32cOf(data)) {
			s3Error(w, http.StatusBadRequest, "BadDigest")
			return
		}
		f.mu.Lock()
		f.objects[path] = data
		f.headers[path] = r.Header.Clone()
		f.mu.Unlock()
		w.Header().Set("ETag", fmt.Sprintf(`"%08x"`, crc32cOf(data)))
		w.Header().Set("x-amz-checksum-crc32c", crc32cBase64(crc32cOf(data)))
	case http.MethodGet, http.MethodHead:
		f.mu.Lock()
		data, ok := f.objects[path]
		f.mu.Unlock()
		if !ok {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			s3Error(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		w.Header().Set("ETag", fmt.Sprintf(`"%08x"`, crc32cOf(data)))
		body, status := data, http.StatusOK
		if rg := r.Header.Get("Range"); rg != "" {
			var from, to int
			if _, err := fmt.Sscanf(rg, "bytes=%d-%d", &from, &to); err != nil || from > to || to >= len(data) {
				s3Error(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
				return
			}
			body, status = data[from:to+1], http.StatusPartialContent
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(data)))
		} else {
			w.Header().Set("x-amz-checksum-crc32c", crc32cBase64(crc32cOf(data)))
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	case http.MethodDelete:
		f.mu.Lock()
		delete(f.objects, path)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		s3Error(w, http.StatusNotImplemented, "NotImplemented")
	}
}

func (f *fakeS3) keys(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, strings.TrimPrefix(k, prefix))
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeS3) countCalls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, method+" ") {
			n++
		}
	}
	return n
}

// runTool runs the command in process and decodes its --json summary.
func runTool(t *testing.T, args ...string) (*summary, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), nil, append(args, "--json"), &stdout, &stderr)
	s := &summary{}
	if err := json.Unmarshal(stdout.Bytes(), s); err != nil {
		t.Fatalf("s3backup %q: exit %d, no JSON summary (%v)\nstdout: %s\nstderr: %s", args, code, err, stdout.String(), stderr.String())
	}
	return s, code, stderr.String()
}

func setFakeCredentials(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-tests")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
}

// TestRunVerifyRestoreWithFakeS3 drives the three commands in process against the fake:
// encryption and storage-class headers on the objects (the manifest keeps STANDARD),
// incremental skips, a denied file failing with exit 1 and staying out of the manifest,
// --delete, verify and a byte-identical restore with modification times.
func TestRunVerifyRestoreWithFakeS3(t *testing.T) {
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	src := t.TempDir()
	writeFile(t, src, "a/one.txt", "one")
	writeFile(t, src, "a/ünï cødé.txt", strings.Repeat("ü", 1000))
	writeFile(t, src, "empty", "")
	writeFile(t, src, "big.bin", strings.Repeat("0123456789", 300_000)) // 3 MB, below the threshold
	mt := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
	for _, rel := range []string{"a/one.txt", "a/ünï cødé.txt", "empty", "big.bin"} {
		if err := os.Chtimes(filepath.Join(src, filepath.FromSlash(rel)), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	global := []string{"--endpoint-url", endpoint, "--cache-dir", t.TempDir()}
	runArgs := append([]string{"run", src, "s3://bkt/pre", "--preflight", "off", "--sse", "aws:kms", "--sse-kms-key-id", "key-1", "--storage-class", "STANDARD_IA"}, global...)

	s, code, stderr := runTool(t, runArgs...)
	if code != 0 || s.Uploaded != 4 || len(s.Failed) != 0 {
		t.Fatalf("first run: exit %d, uploaded %d, failed %v\n%s", code, s.Uploaded, s.Failed, stderr)
	}
	if got := fake.keys("bkt/pre/"); strings.Join(got, "|") != ".s3backup/manifest.json|a/one.txt|a/ünï cødé.txt|big.bin|empty" {
		t.Fatalf("stored keys %q", got)
	}
	h := fake.headers["bkt/pre/a/one.txt"]
	if h.Get("x-amz-server-side-encryption") != "aws:kms" || h.Get("x-amz-server-side-encryption-aws-kms-key-id") != "key-1" || h.Get("x-amz-storage-class") != "STANDARD_IA" {
		t.Errorf("object headers: sse %q key %q class %q", h.Get("x-amz-server-side-encryption"), h.Get("x-amz-server-side-encryption-aws-kms-key-id"), h.Get("x-amz-storage-class"))
	}
	mh := fake.headers["bkt/pre/.s3backup/manifest.json"]
	if mh.Get("x-amz-server-side-encryption") != "aws:kms" || mh.Get("x-amz-storage-class") != "" {
		t.Errorf("manifest headers: sse %q class %q", mh.Get("x-amz-server-side-encryption"), mh.Get("x-amz-storage-class"))
	}
	m, err := decodeManifest(fake.objects["bkt/pre/.s3backup/manifest.json"])
	if err != nil {
		t.Fatal(err)
	}
	if e := m.Files["a/ünï cødé.txt"]; e == nil || e.MTimeNs != mt.UnixNano() || e.Size != 2000 || e.CRC32C != crc32cBase64(crc32cOf([]byte(strings.Repeat("ü", 1000)))) {
		t.Fatalf("manifest entry %+v", e)
	}

	// Nothing changed: nothing is sent, not even the manifest.
	puts := fake.countCalls("PUT")
	s, code, _ = runTool(t, runArgs...)
	if code != 0 || s.Uploaded != 0 || s.Unchanged != 4 || fake.countCalls("PUT") != puts {
		t.Fatalf("second run: exit %d, uploaded %d, unchanged %d, PUTs %d -> %d", code, s.Uploaded, s.Unchanged, puts, fake.countCalls("PUT"))
	}

	// A denied file fails (exit 1) and stays out of the manifest; a deleted one is removed.
	writeFile(t, src, "denied/x.txt", "no")
	if err := os.Remove(filepath.Join(src, "empty")); err != nil {
		t.Fatal(err)
	}
	s, code, _ = runTool(t, append(runArgs, "--delete")...)
	if code != 1 || len(s.Failed) != 1 || s.Failed[0].Path != "denied/x.txt" || !strings.Contains(s.Failed[0].Reason, "AccessDenied") {
		t.Fatalf("denied run: exit %d, failed %+v", code, s.Failed)
	}
	if len(s.Deleted) != 1 || s.Deleted[0] != "empty" {
		t.Fatalf("deleted %q, want [empty]", s.Deleted)
	}
	m, _ = decodeManifest(fake.objects["bkt/pre/.s3backup/manifest.json"])
	if m.Files["denied/x.txt"] != nil || m.Files["empty"] != nil || len(m.Files) != 3 {
		t.Fatalf("manifest after the denied run has %d files", len(m.Files))
	}
	if err := os.RemoveAll(filepath.Join(src, "denied")); err != nil {
		t.Fatal(err)
	}

	s, code, _ = runTool(t, append([]string{"verify", "s3://bkt/pre", src, "--download"}, global...)...)
	if code != 0 || s.Verified != 3 {
		t.Fatalf("verify: exit %d, verified %d, failed %+v", code, s.Verified, s.Failed)
	}

	dst := filepath.Join(t.TempDir(), "restored")
	s, code, _ = runTool(t, append([]string{"restore", "s3://bkt/pre", dst, "--part-size", "1MiB", "--concurrency", "3"}, global...)...)
	if code != 0 || s.Restored != 3 {
		t.Fatalf("restore: exit %d, restored %d, failed %+v", code, s.Restored, s.Failed)
	}
	for _, rel := range []string{"a/one.txt", "a/ünï cødé.txt", "big.bin"} {
		a, _ := os.ReadFile(filepath.Join(src, filepath.FromSlash(rel)))
		b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s restored wrong (%v)", rel, err)
		}
		fi, _ := os.Stat(filepath.Join(dst, filepath.FromSlash(rel)))
		if !fi.ModTime().Equal(mt) || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s restored with mtime %v mode %v", rel, fi.ModTime(), fi.Mode())
		}
	}
	// Restoring again skips what is there.
	s, code, _ = runTool(t, append([]string{"restore", "s3://bkt/pre", dst}, global...)...)
	if code != 0 || s.Restored != 0 || s.Unchanged != 3 {
		t.Fatalf("second restore: exit %d, restored %d, unchanged %d", code, s.Restored, s.Unchanged)
	}
}

// TestRestoreRefusesEscapingPaths checks that a manifest naming paths outside the restore
// directory is refused as a whole, before anything is written.
func TestRestoreRefusesEscapingPaths(t *testing.T) {
	setFakeCredentials(t)
	for _, bad := range []string{"../escape", "a/../../escape2", "/abs"} {
		fake, endpoint := newFakeS3(t)
		m := newManifest("bkt", "p/")
		for _, rel := range []string{bad, "ok"} {
			m.Files[rel] = testEntry("hi")
			fake.objects["bkt/p/"+rel] = []byte("hi")
		}
		data, _ := json.Marshal(m)
		fake.objects["bkt/p/.s3backup/manifest.json"] = data
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		s, code, _ := runTool(t, "restore", "s3://bkt/p", dst, "--endpoint-url", endpoint, "--cache-dir", t.TempDir())
		if code != 1 || s.Restored != 0 || !strings.Contains(s.Error, "invalid manifest") || !strings.Contains(s.Error, strconv.Quote(bad)) {
			t.Fatalf("%s: exit %d, restored %d, error %q", bad, code, s.Restored, s.Error)
		}
		if got := fake.countCalls(http.MethodGet); got != 1 {
			t.Errorf("%s: %d GETs, want only the manifest's", bad, got)
		}
		ents, _ := os.ReadDir(parent)
		if len(ents) > 1 {
			t.Errorf("%s: restore wrote %v", bad, ents)
		}
	}
	for _, rel := range []string{"../escape", "a/../b", "/x", "", "a//b", "./a", "a/", ".s3backup/x", "a\x1bb"} {
		if safeRel(rel) {
			t.Errorf("safeRel(%q) = true", rel)
		}
	}
	if !safeRel("a/b/ü c") || !safeRel(`back\slash`) {
		t.Error("safeRel rejects a plain path")
	}
}

func TestUsageErrors(t *testing.T) {
	setFakeCredentials(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"run", dir},
		{"run", dir, "bucket/prefix"},
		{"run", filepath.Join(dir, "missing"), "s3://b/p"},
		{"run", dir, "s3://b/p", "--part-size", "1MiB"},
		{"run", dir, "s3://b/p", "--concurrency", "0"},
		{"run", dir, "s3://b/p", "--exclude", "["},
		{"run", dir, "s3://b/p", "--sse", "rot13"},
		{"run", dir, "s3://b/p", "--preflight", "maybe"},
		{"run", dir, "s3://b/p", "--server-profile", "minio"},
		{"run", dir, "s3://b/p", "--no-such-flag"},
		{"restore", "s3://b/p", dir, "--part-size", "1KiB"},
		{"verify", "s3://b/p"},
		{"run", dir, "s3://b/p", "--endpoint-url", "ftp://x"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), nil, args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %s", args, code, exitUsage, stderr.String())
		}
	}
}

func TestDestinationKeysAreEscapedByTheSDK(t *testing.T) {
	// Keys with spaces and non-ASCII characters travel URL-encoded and arrive intact.
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	src := t.TempDir()
	writeFile(t, src, "dir with space/ä+b%c?.txt", "x")
	_, code, stderr := runTool(t, "run", src, "s3://bkt/p", "--endpoint-url", endpoint, "--cache-dir", t.TempDir(), "--preflight", "off")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "dir with space/ä+b%c?.txt"
	found := false
	for _, k := range fake.keys("bkt/p/") {
		if k == want {
			found = true
		}
	}
	if !found {
		u, _ := url.Parse(endpoint)
		t.Fatalf("key %q not stored at %s: %q", want, u.Host, fake.keys("bkt/p/"))
	}
}

// TestCleanupStaleUploads checks which multipart uploads under the prefix a run aborts at
// start: its own (journaled, initiated by the caller, or, when the server names no
// initiator, of a key the tool writes), and not those of other initiators, of keys it does
// not write, or started after the run began. The ones left are reported.
func TestCleanupStaleUploads(t *testing.T) {
	setFakeCredentials(t)
	fake, endpoint := newFakeS3(t)
	src := t.TempDir()
	writeFile(t, src, "mine.txt", "m")
	writeFile(t, src, "also-mine.txt", "a")
	cache := t.TempDir()
	caller := "arn:aws:iam::111122223333:user/backup"
	past := time.Now().Add(-time.Hour)
	fake.uploads = []fakeUpload{
		{key: "p/mine.txt", id: "u-managed", initiated: past},                                                     // no initiator, a file of DIR
		{key: "p/.s3backup/manifest.json", id: "u-manifest", initiated: past},                                     // the manifest's key
		{key: "p/other.txt", id: "u-unknown", initiated: past},                                                    // no initiator, not ours
		{key: "p/also-mine.txt", id: "u-someone", initiator: "arn:aws:iam::111122223333:user/x", initiated: past}, // another initiator
		{key: "p/zzz.txt", id: "u-caller", initiator: caller, initiated: past},                                    // the caller's
		{key: "p/journaled.txt", id: "u-journal", initiated: past},                                                // in the journal
		{key: "p/mine.txt", id: "u-new", initiated: time.Now().Add(time.Hour)},                                    // started after the run
		{key: "q/mine.txt", id: "u-elsewhere", initiated: past},                                                   // another prefix
	}
	// Journal "u-journal" as if an earlier run had started it.
	d, _ := parseDestination("s3://bkt/p")
	a := newApp(io.Discard, io.Discard)
	a.G.EndpointURL, a.g.cacheDir = endpoint, cache
	dir, err := a.cacheDir(d.Bucket, d.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := openJournal(filepath.Join(dir, "uploads.journal"))
	if err := j.add("u-journal", "p/journaled.txt"); err != nil {
		t.Fatal(err)
	}
	s, code, stderr := runTool(t, "run", src, "s3://bkt/p", "--endpoint-url", endpoint, "--cache-dir", cache, "--preflight", "off", "--caller", caller)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var aborted, left []string
	for _, u := range s.AbortedUploads {
		aborted = append(aborted, u.UploadID)
	}
	for _, u := range s.NotAbortedUploads {
		left = append(left, u.UploadID+": "+u.Reason)
	}
	sort.Strings(aborted)
	sort.Strings(left)
	if strings.Join(aborted, ",") != "u-caller,u-journal,u-managed,u-manifest" {
		t.Errorf("aborted %q", aborted)
	}
	if len(left) != 2 || !strings.HasPrefix(left[0], "u-someone: not started by this tool (initiator arn:aws:iam::111122223333:user/x)") ||
		!strings.HasPrefix(left[1], "u-unknown: not started by this tool") {
		t.Errorf("left %q", left)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.uploads) != 4 { // u-unknown, u-someone, u-new, u-elsewhere
		t.Errorf("%d uploads remain on the server, want 4", len(fake.uploads))
	}
	if j2, _ := openJournal(filepath.Join(dir, "uploads.journal")); j2.has("u-journal") {
		t.Error("an aborted upload stayed in the journal")
	}
}
