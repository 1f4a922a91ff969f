package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestManifestRoundTrip(t *testing.T) {
	m := newManifest("bkt", "pre/")
	mt := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	m.Files["a/ü.txt"] = &manifestEntry{Size: 3, MTimeNs: mt.UnixNano(), Mode: 0o640, CRC32C: "AAAAAA==", ETag: `"e"`, Uploaded: mt}
	now := func() time.Time { return mt.Add(time.Hour) }
	s := newManifestStore(m, "", now)
	data, err := s.snapshot(false)
	if err != nil || data != nil {
		t.Fatalf("a clean manifest gave a snapshot (%v)", err)
	}
	s.put("b", &manifestEntry{Size: 0, Uploaded: mt})
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

func TestDecodeManifestRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     "{",
		"wrong format": `{"format":"other/1","files":{}}`,
		"empty path":   `{"format":"s3backup-manifest/1","files":{"":{"size":1}}}`,
		"null entry":   `{"format":"s3backup-manifest/1","files":{"a":null}}`,
		"negative":     `{"format":"s3backup-manifest/1","files":{"a":{"size":-1}}}`,
	} {
		if _, err := decodeManifest([]byte(in)); !errors.Is(err, errManifestFormat) {
			t.Errorf("%s: err = %v, want errManifestFormat", name, err)
		}
	}
	m, err := decodeManifest([]byte(`{"format":"s3backup-manifest/1"}`))
	if err != nil || m.Files == nil {
		t.Fatalf("a manifest without files: %v %+v", err, m)
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
	s.put("x", &manifestEntry{Size: 1})
	data, _ := s.snapshot(true)
	if err := s.writeLocal(data); err != nil {
		t.Fatal(err)
	}
	m, err := readLocalManifest(p)
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
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "5 parsecs", "1e30"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) accepted it", bad)
		}
	}
}
