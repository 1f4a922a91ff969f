package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

func TestManifestRoundTrip(t *testing.T) {
	m := newManifest("bkt", "pre/")
	mt := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	m.Files["a/ü.txt"] = &manifestEntry{Size: 3, MTimeNs: mt.UnixNano(), Mode: 0o640, CRC32C: "AAAAAA==", ETag: `"e"`, ObjectChecksum: "CRC32C:AAAAAA==", Uploaded: mt}
	now := func() time.Time { return mt.Add(time.Hour) }
	s := newManifestStore(m, "", now)
	data, err := s.snapshot(false)
	if err != nil || data != nil {
		t.Fatalf("a clean manifest gave a snapshot (%v)", err)
	}
	s.put("b", testEntry(""))
	data, err = s.snapshot(false)
	if err != nil || data == nil {
		t.Fatalf("snapshot after put: %v", err)
	}
	got, err := decodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 1 || got.Lineage != m.Lineage || !got.Updated.Equal(now()) || len(got.Files) != 2 {
		t.Fatalf("decoded %+v", got)
	}
	e := got.Files["a/ü.txt"]
	if e.Mode != 0o640 || e.MTimeNs != mt.UnixNano() || e.CRC32C != "AAAAAA==" {
		t.Fatalf("entry = %+v", e)
	}
	if !e.unchanged(localFile{Size: 3, ModTime: mt}) {
		t.Error("same size and mtime must be unchanged")
	}
	if e.unchanged(localFile{Size: 3, ModTime: mt.Add(time.Nanosecond)}) || e.unchanged(localFile{Size: 4, ModTime: mt}) {
		t.Error("a different size or mtime must count as changed")
	}
	var nilEntry *manifestEntry
	if nilEntry.unchanged(localFile{}) {
		t.Error("a file without an entry is not unchanged")
	}
	s.remove("b")
	data, _ = s.snapshot(false)
	got, _ = decodeManifest(data)
	if got.Seq != 2 || got.Files["b"] != nil {
		t.Fatalf("after remove: seq %d files %v", got.Seq, got.Files)
	}
}

// testEntry returns a valid entry for a file holding content.
func testEntry(content string) *manifestEntry {
	sum := crc32cBase64(crc32cOf([]byte(content)))
	return &manifestEntry{Size: int64(len(content)), Mode: 0o644, CRC32C: sum, ETag: fmt.Sprintf(`"%08x"`, crc32cOf([]byte(content))),
		ObjectChecksum: "CRC32C:" + sum, Uploaded: time.Unix(1e9, 0).UTC()}
}

func TestDecodeManifestRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":       "{",
		"wrong format":   `{"format":"other/1","files":{}}`,
		"trailing data":  `{"format":"s3backup-manifest/1","files":{}} {}`,
		"files is array": `{"format":"s3backup-manifest/1","files":[]}`,
	} {
		if _, err := decodeManifest([]byte(in)); !errors.Is(err, errManifestFormat) {
			t.Errorf("%s: err = %v, want errManifestFormat", name, err)
		}
	}
	entry := func(mod func(e map[string]any)) string {
		e := map[string]any{"size": 1, "mtime_ns": 0, "mode": 420, "crc32c": "AAAAAA==", "etag": `"e"`, "object_checksum": "CRC32C:AAAAAA=="}
		if mod != nil {
			mod(e)
		}
		b, _ := json.Marshal(e)
		return string(b)
	}
	files := func(rel string, mod func(e map[string]any)) string {
		b, _ := json.Marshal(rel)
		return `{"format":"s3backup-manifest/1","files":{` + string(b) + `:` + entry(mod) + `}}`
	}
	cases := map[string]struct{ in, want string }{
		"empty path":               {files("", nil), "empty path"},
		"dot-dot":                  {files("../x", nil), "clean relative"},
		"inner dot-dot":            {files("a/../../x", nil), "clean relative"},
		"dot":                      {files("./x", nil), "clean relative"},
		"double slash":             {files("a//x", nil), "clean relative"},
		"trailing slash":           {files("a/", nil), "clean relative"},
		"absolute":                 {files("/etc/passwd", nil), "absolute"},
		"escape sequence":          {files("a\u001b[2Jb", nil), "control character"},
		"newline":                  {files("a\nb", nil), "control character"},
		"C1 control":               {files("a\u009bb", nil), "control character"},
		"manifest itself":          {files(".s3backup/manifest.json", nil), "reserved"},
		"manifest dir":             {files(".s3backup", nil), "reserved"},
		"too long":                 {files(strings.Repeat("a", 1025), nil), "S3 allows 1024"},
		"negative size":            {files("a", func(e map[string]any) { e["size"] = -1 }), "outside S3's object sizes"},
		"huge size":                {files("a", func(e map[string]any) { e["size"] = int64(5<<40) + 1 }), "outside S3's object sizes"},
		"no checksum":              {files("a", func(e map[string]any) { delete(e, "crc32c") }), "manifest entry has no checksum"},
		"blank checksum":           {files("a", func(e map[string]any) { e["crc32c"] = "" }), "manifest entry has no checksum"},
		"bad checksum":             {files("a", func(e map[string]any) { e["crc32c"] = "xx" }), "not a base64 CRC32C"},
		"blank etag":               {files("a", func(e map[string]any) { e["etag"] = "" }), "has no ETag"},
		"blank object sum":         {files("a", func(e map[string]any) { e["object_checksum"] = "" }), "no object checksum"},
		"object sum differs":       {files("a", func(e map[string]any) { e["object_checksum"] = "CRC32C:AQAAAA==" }), "disagree"},
		"unknown algorithm":        {files("a", func(e map[string]any) { e["object_checksum"] = "MD5:x" }), "not one S3 has"},
		"setuid mode":              {files("a", func(e map[string]any) { e["mode"] = 0o4755 }), "permission bits"},
		"too many parts":           {files("a", func(e map[string]any) { e["parts"] = 10001 }), "part count"},
		"null entry":               {`{"format":"s3backup-manifest/1","files":{"a":null}}`, "null"},
		"duplicate path":           {`{"format":"s3backup-manifest/1","files":{"a":` + entry(nil) + `,"a":` + entry(nil) + `}}`, "appears twice"},
		"duplicate files":          {`{"format":"s3backup-manifest/1","files":{},"files":{}}`, "appears twice"},
		"file and dir":             {`{"format":"s3backup-manifest/1","files":{"a":` + entry(nil) + `,"a/b":` + entry(nil) + `}}`, "is a file"},
		"dir over file":            {`{"format":"s3backup-manifest/1","files":{"a":` + entry(nil) + `},"dirs":{"a":{"mode":493}}}`, "both a file and a directory"},
		"dir below file":           {`{"format":"s3backup-manifest/1","files":{"a":` + entry(nil) + `},"dirs":{"a/b":{"mode":493}}}`, "is a file"},
		"files below an empty dir": {`{"format":"s3backup-manifest/1","files":{"a/b":` + entry(nil) + `},"dirs":{"a":{"mode":0}}}`, "has files below it"},
		"bad dir path":             {`{"format":"s3backup-manifest/1","files":{},"dirs":{"../up":{"mode":493}}}`, "clean relative"},
	}
	for name, c := range cases {
		_, err := decodeManifest([]byte(c.in))
		if !errors.Is(err, errManifestInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want errManifestInvalid with %q", name, err, c.want)
		}
	}
	m, err := decodeManifest([]byte(`{"format":"s3backup-manifest/1"}`))
	if err != nil || m.Files == nil {
		t.Fatalf("a manifest without files: %v %+v", err, m)
	}
	if _, err := decodeManifest([]byte(files("a/ü b/c", nil))); err != nil {
		t.Fatalf("a plain path: %v", err)
	}
}

func TestManifestSizeCap(t *testing.T) {
	m := newManifest("b", "")
	for i := range 100 {
		m.Files[fmt.Sprintf("f%03d", i)] = testEntry("x")
	}
	data, _ := json.Marshal(m)
	if _, err := readManifest(bytes.NewReader(data), readOptions{maxSize: int64(len(data))}); err != nil {
		t.Fatalf("a manifest of exactly the cap: %v", err)
	}
	_, err := readManifest(bytes.NewReader(data), readOptions{maxSize: int64(len(data)) - 1})
	if !errors.Is(err, errManifestTooLarge) {
		t.Fatalf("a manifest above the cap: err = %v", err)
	}
}

func TestManifestMAC(t *testing.T) {
	key := []byte("0123456789abcdef0123")
	m := newManifest("b", "p/")
	m.Files["a"] = testEntry("aa")
	m.Files["d/b"] = testEntry("bb")
	m.Dirs["e"] = &dirEntry{Mode: 0o755}
	s := newManifestStore(m, "", nil)
	s.key = key
	data, err := s.snapshot(true)
	if err != nil {
		t.Fatal(err)
	}
	ro := readOptions{prefix: "p/", key: key}
	if _, err := readManifest(bytes.NewReader(data), ro); err != nil {
		t.Fatalf("signed manifest refused: %v", err)
	}
	if bytes.Contains(data, key) {
		t.Fatal("the manifest holds the key")
	}
	wrong := ro
	wrong.key = []byte("another key, also long")
	if _, err := readManifest(bytes.NewReader(data), wrong); !errors.Is(err, errManifestMAC) {
		t.Errorf("wrong key: err = %v", err)
	}
	// Every change of a field a reader relies on is detected.
	for name, mod := range map[string]func(m *manifest){
		"size":      func(m *manifest) { m.Files["a"].Size++ },
		"checksum":  func(m *manifest) { m.Files["a"].CRC32C = "AQAAAA=="; m.Files["a"].ObjectChecksum = "CRC32C:AQAAAA==" },
		"etag":      func(m *manifest) { m.Files["a"].ETag = `"other"` },
		"mode":      func(m *manifest) { m.Files["a"].Mode = 0o777 },
		"mtime":     func(m *manifest) { m.Files["a"].MTimeNs++ },
		"version":   func(m *manifest) { m.Files["a"].VersionID = "v2" },
		"renamed":   func(m *manifest) { m.Files["c"] = m.Files["a"]; delete(m.Files, "a") },
		"removed":   func(m *manifest) { delete(m.Files, "a") },
		"added dir": func(m *manifest) { m.Dirs["x"] = &dirEntry{Mode: 0o700} },
		"dir mode":  func(m *manifest) { m.Dirs["e"].Mode = 0o777 },
		"seq":       func(m *manifest) { m.Seq = 99 },
		"lineage":   func(m *manifest) { m.Lineage = "x" },
		"no MAC":    func(m *manifest) { m.MAC = "" },
		"entry MAC": func(m *manifest) { m.Files["a"].MAC = "" },
	} {
		c, _ := decodeManifest(data)
		mod(c)
		b, _ := json.Marshal(c)
		_, err := readManifest(bytes.NewReader(b), ro)
		if !errors.Is(err, errManifestMAC) && !errors.Is(err, errManifestUnsigned) {
			t.Errorf("%s: tampered manifest accepted (err = %v)", name, err)
		}
	}
	// A copied backup (another bucket or prefix) stays valid.
	c, _ := decodeManifest(data)
	c.Bucket, c.Prefix = "copy", "q/"
	b, _ := json.Marshal(c)
	if _, err := readManifest(bytes.NewReader(b), ro); err != nil {
		t.Errorf("copied manifest: %v", err)
	}
	// Without a key, a signed manifest is read (the caller says it was not checked).
	if _, err := readManifest(bytes.NewReader(data), readOptions{}); err != nil {
		t.Errorf("no key: %v", err)
	}
}

func TestChooseManifest(t *testing.T) {
	remote := &manifest{Lineage: "L", Seq: 5, Bucket: "b", Prefix: "p/"}
	newer := &manifest{Lineage: "L", Seq: 9, Bucket: "b", Prefix: "p/"}
	older := &manifest{Lineage: "L", Seq: 3, Bucket: "b", Prefix: "p/"}
	other := &manifest{Lineage: "X", Seq: 99, Bucket: "b", Prefix: "p/"}
	otherPrefix := &manifest{Lineage: "L", Seq: 99, Bucket: "b", Prefix: "q/"}
	cases := []struct {
		local     *manifest
		want      *manifest
		fromLocal bool
	}{
		{nil, remote, false},
		{newer, newer, true},         // a run stopped before writing the bucket's copy
		{older, remote, false},       // another machine wrote a newer one
		{remote, remote, false},      // equal: the bucket's
		{other, remote, false},       // another lineage: the backup was recreated
		{otherPrefix, remote, false}, // not this destination
	}
	for i, c := range cases {
		got, fl := chooseManifest(remote, c.local)
		if got != c.want || fl != c.fromLocal {
			t.Errorf("case %d: got seq %d fromLocal %v", i, got.Seq, fl)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "m.json")
	if err := writeFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "two" {
		t.Fatalf("read %q, %v", b, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	// The local cache round trip.
	s := newManifestStore(newManifest("b", ""), p, nil)
	s.put("x", testEntry("x"))
	data, _ := s.snapshot(true)
	if err := s.writeLocal(data); err != nil {
		t.Fatal(err)
	}
	m, err := readLocalManifest(p, readOptions{})
	if err != nil || m.Files["x"] == nil {
		t.Fatalf("readLocalManifest: %v %+v", err, m)
	}
}

func TestCRC32C(t *testing.T) {
	// Known CRC32C (Castagnoli) values: "" -> 0, "123456789" -> 0xE3069283.
	if got := crc32cBase64(crc32cOf(nil)); got != "AAAAAA==" {
		t.Errorf("empty: %s", got)
	}
	sum, n, err := fileCRC32C(strings.NewReader("123456789"))
	if err != nil || n != 9 || sum != crc32cBase64(0xE3069283) {
		t.Errorf("123456789: %s %d %v", sum, n, err)
	}
}

func TestManifestJSONFieldNames(t *testing.T) {
	// The manifest is a documented format: its field names must not drift.
	b, _ := json.Marshal(&manifestEntry{Size: 1, MTimeNs: 2, Mode: 3, CRC32C: "c", ETag: "e", VersionID: "v", ObjectChecksum: "o", Parts: 4})
	for _, k := range []string{`"size"`, `"mtime_ns"`, `"mode"`, `"crc32c"`, `"etag"`, `"version_id"`, `"object_checksum"`, `"parts"`, `"uploaded"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("entry JSON %s lacks %s", b, k)
		}
	}
}

func TestJournal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c", "uploads.journal")
	j, err := openJournal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.add("id-1", "p/a"); err != nil {
		t.Fatal(err)
	}
	if err := j.add("id-2", "p/b"); err != nil {
		t.Fatal(err)
	}
	j2, err := openJournal(p)
	if err != nil || !j2.has("id-1") || !j2.has("id-2") || j2.has("id-3") {
		t.Fatalf("reopened journal: %v", err)
	}
	j2.done("id-1")
	if err := j2.rewrite(); err != nil {
		t.Fatal(err)
	}
	j3, _ := openJournal(p)
	if j3.has("id-1") || !j3.has("id-2") {
		t.Fatal("rewrite kept a finished upload or lost a live one")
	}
	j3.done("id-2")
	if err := j3.rewrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an empty journal must be removed: %v", err)
	}
}

func TestParseDestination(t *testing.T) {
	for in, want := range map[string]destination{
		"s3://bkt":          {"bkt", ""},
		"s3://bkt/":         {"bkt", ""},
		"s3://bkt/p":        {"bkt", "p/"},
		"s3://bkt/p/q/":     {"bkt", "p/q/"},
		"s3://bkt/ü nicode": {"bkt", "ü nicode/"},
	} {
		got, err := parseDestination(in)
		if err != nil || got != want {
			t.Errorf("parseDestination(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"b/p", "s3://", "s3:///p", "s3://bkt//p", "s3://bkt/p//q", "s3://b/p"} {
		if _, err := parseDestination(bad); err == nil {
			t.Errorf("parseDestination(%q) accepted it", bad)
		}
	}
	d, _ := parseDestination("s3://bkt/p")
	if d.key("a/b") != "p/a/b" || d.manifestKey() != "p/.s3backup/manifest.json" {
		t.Errorf("keys: %q %q", d.key("a/b"), d.manifestKey())
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "5MiB": 5 << 20, "5m": 5 << 20, "1.5KiB": 1536, "2MB": 2 << 20, "1g": 1 << 30} {
		got, err := cmdkit.ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "5 parsecs", "1e30"} {
		if _, err := cmdkit.ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted it", bad)
		}
	}
}

// BenchmarkReadManifest compares the streamed, validated read of a 50,000-file manifest
// with reading the whole document and decoding it at once (what the tool did before).
func BenchmarkReadManifest(b *testing.B) {
	m := newManifest("b", "")
	for i := range 50000 {
		m.Files[fmt.Sprintf("dir%03d/sub%03d/file-%07d.dat", i%1000, i%997, i)] = testEntry("x")
	}
	data, _ := json.MarshalIndent(m, "", " ")
	b.Run("streamed", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := readManifest(bytes.NewReader(data), readOptions{maxSize: 1 << 30}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			whole, err := io.ReadAll(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			var m manifest
			if err := json.Unmarshal(whole, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzReadManifest: no input makes readManifest panic, and whatever it accepts holds only
// safe paths and complete entries, and reads back the same after encoding.
func FuzzReadManifest(f *testing.F) {
	m := newManifest("b", "p/")
	m.Files["a/b.txt"] = testEntry("ab")
	m.Files["c"] = testEntry("")
	m.Dirs["d/e"] = &dirEntry{Mode: 0o700}
	good, _ := json.Marshal(m)
	f.Add(good)
	f.Add([]byte(`{"format":"s3backup-manifest/1","files":{"../x":{}}}`))
	f.Add([]byte(`{"format":"s3backup-manifest/1","files":{"a":null,"a":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readManifest(bytes.NewReader(data), readOptions{prefix: "p/", maxSize: 1 << 20})
		if err != nil {
			return
		}
		for rel, e := range m.Files {
			if checkRel(rel, "p/") != "" || checkEntry(e) != "" {
				t.Fatalf("accepted %q: %+v", rel, e)
			}
		}
		for rel := range m.Dirs {
			if checkRel(rel, "p/") != "" || m.Files[rel] != nil {
				t.Fatalf("accepted dir %q", rel)
			}
		}
		again, _ := json.Marshal(m)
		m2, err := readManifest(bytes.NewReader(again), readOptions{prefix: "p/"})
		if err != nil || len(m2.Files) != len(m.Files) || len(m2.Dirs) != len(m.Dirs) {
			t.Fatalf("re-read: %v", err)
		}
	})
}
