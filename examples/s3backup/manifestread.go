package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// Limits a manifest is checked against.
const (
	// maxObjectSize is S3's largest object (5 TiB).
	maxObjectSize = 5 << 40
	// maxParts is S3's largest multipart upload.
	maxParts = 10000
	// defaultMaxManifestSize caps the manifest read (about 500,000 files); --max-manifest-size
	// raises it.
	defaultMaxManifestSize = 128 << 20
)

var (
	// errManifestInvalid reports a manifest entry or field that fails validation; the whole
	// manifest is refused.
	errManifestInvalid = errors.New("invalid manifest")
	// errManifestTooLarge reports a manifest above the size cap.
	errManifestTooLarge = errors.New("manifest is larger than the limit")
	// errManifestMAC reports a manifest whose MAC does not match the key: it was changed
	// by someone without the key, or the key is not the backup's.
	errManifestMAC = errors.New("manifest MAC does not match the key: the manifest was modified or the key is wrong")
	// errManifestUnsigned reports a manifest without a MAC read with a key.
	errManifestUnsigned = errors.New("manifest has no MAC, but a manifest key is set: it was not written with the key, or the MAC was removed")
)

// readOptions say how a manifest is read: the destination prefix (for the key length
// check), the key of its MAC (nil: none), and the size cap (0: none).
type readOptions struct {
	prefix  string
	key     []byte
	maxSize int64
	// allowUnsigned accepts a manifest without MAC although a key is set (the caller then
	// says so); a MAC that is present is always checked.
	allowUnsigned bool
}

// capReader fails once more than max bytes have been read.
type capReader struct {
	r         io.Reader
	read, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	// Reading at most one byte past the cap tells a document of exactly max bytes from a
	// larger one.
	if room := c.max + 1 - c.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read > c.max {
		return 0, fmt.Errorf("%w (%s; raise it with --max-manifest-size)", errManifestTooLarge, cmdkit.FormatBytes(c.max))
	}
	return n, err
}

// readManifest decodes a manifest as a stream (the document is never held in memory as a
// whole, only the decoded entries) and validates it: format, every path, every entry, no
// duplicates, and the MAC when ro.key is set. Any problem refuses the whole manifest.
func readManifest(r io.Reader, ro readOptions) (*manifest, error) {
	if ro.maxSize > 0 {
		r = &capReader{r: r, max: ro.maxSize}
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	m := &manifest{Files: map[string]*manifestEntry{}, Dirs: map[string]*dirEntry{}}
	if err := decodeManifestObject(dec, m); err != nil {
		if errors.Is(err, errManifestTooLarge) || errors.Is(err, errManifestInvalid) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errManifestFormat, err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", errManifestFormat, m.Format, manifestFormat)
	}
	if err := validateManifest(m, ro.prefix); err != nil {
		return nil, err
	}
	if err := checkManifestMAC(m, ro); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeManifestObject reads the top-level object field by field. Duplicate names (JSON
// allows them, and a plain decode keeps the last) are refused.
func decodeManifestObject(dec *json.Decoder, m *manifest) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	// plain are the fields decoded as they are; files and dirs are checked
	// entry by entry.
	plain := map[string]any{
		"format": &m.Format, "lineage": &m.Lineage, "seq": &m.Seq, "bucket": &m.Bucket,
		"prefix": &m.Prefix, "updated": &m.Updated, "mac": &m.MAC,
	}
	seen := map[string]bool{}
	for dec.More() {
		name, err := stringToken(dec)
		if err != nil {
			return err
		}
		if seen[name] {
			return fmt.Errorf("%w: field %q appears twice", errManifestInvalid, name)
		}
		seen[name] = true
		switch dst, ok := plain[name]; {
		case ok:
			err = dec.Decode(dst)
		case name == "files":
			err = decodeEntryMap(dec, m.Files, "manifest entry")
		case name == "dirs":
			err = decodeEntryMap(dec, m.Dirs, "directory entry")
		default:
			var skip json.RawMessage // a field of a later version: bounded by the size cap
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil || errors.Is(err, errManifestTooLarge) {
			return errors.Join(errors.New("data after the manifest"), err)
		}
		return err
	}
	return nil
}

// decodeEntryMap reads an object of path -> entry, or null, into into; what names an entry
// in the error for a null one.
func decodeEntryMap[E any](dec *json.Decoder, into map[string]*E, what string) error {
	return decodeEntries(dec, func(rel string) error {
		var e *E
		if err := dec.Decode(&e); err != nil {
			return err
		}
		if e == nil {
			return fmt.Errorf("%w: %s: %s is null", errManifestInvalid, strconv.Quote(rel), what)
		}
		into[rel] = e
		return nil
	}, func(rel string) bool { return into[rel] != nil })
}

// decodeEntries reads an object of path -> value, or null, calling one for each value.
func decodeEntries(dec *json.Decoder, one func(rel string) error, have func(rel string) bool) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want an object, got %v", t)
	}
	for dec.More() {
		rel, err := stringToken(dec)
		if err != nil {
			return err
		}
		if have(rel) {
			return fmt.Errorf("%w: %s: the path appears twice", errManifestInvalid, strconv.Quote(rel))
		}
		if err := one(rel); err != nil {
			return fmt.Errorf("entry %s: %w", strconv.Quote(rel), err)
		}
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("want a field name, got %v", t)
	}
	return s, nil
}

// checkRel validates one manifest path: relative to the prefix, "/"-separated and clean
// (no empty, "." or ".." segment), valid UTF-8 without control characters, not the tool's
// own directory, and short enough for an S3 key below prefix. It returns why not, or "".
func checkRel(rel, prefix string) string {
	switch {
	case rel == "":
		return "empty path"
	case !utf8.ValidString(rel):
		return "path is not valid UTF-8"
	case strings.IndexFunc(rel, unicode.IsControl) >= 0:
		return "path contains a control character"
	case strings.HasPrefix(rel, "/"):
		return "absolute path"
	case filepath.Separator != '/' && strings.ContainsRune(rel, filepath.Separator):
		return "path contains the system's path separator"
	case len(prefix)+len(rel) > maxKeyLength:
		return fmt.Sprintf("object key would be %d bytes; S3 allows %d", len(prefix)+len(rel), maxKeyLength)
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "not a clean relative path (empty, \".\" or \"..\" segment): it would leave the prefix or the directory"
		}
	}
	if rel == manifestDir || strings.HasPrefix(rel, manifestDir+"/") {
		return "path is reserved for the backup's manifest"
	}
	return ""
}

// safeRel reports whether a manifest path is acceptable (see checkRel) without a prefix.
func safeRel(rel string) bool { return checkRel(rel, "") == "" }

// checkEntry validates a file entry and returns why it is refused, or "".
func checkEntry(e *manifestEntry) string {
	switch {
	case e == nil:
		return "manifest entry is null"
	case e.Size < 0 || e.Size > maxObjectSize:
		return fmt.Sprintf("size %d is outside S3's object sizes (0 to 5 TiB)", e.Size)
	case e.CRC32C == "":
		return "manifest entry has no checksum"
	case e.ETag == "":
		return "manifest entry has no ETag"
	case e.ObjectChecksum == "":
		return "manifest entry has no object checksum"
	case e.Mode > 0o777:
		return fmt.Sprintf("mode %#o has bits other than the permission bits", e.Mode)
	case e.Parts < 0 || e.Parts > maxParts:
		return fmt.Sprintf("part count %d is outside S3's limits (0 to %d)", e.Parts, maxParts)
	case !printable(e.ETag) || len(e.ETag) > 1024:
		return "ETag is not printable text"
	case !printable(e.VersionID) || len(e.VersionID) > 1024:
		return "version ID is not printable text"
	}
	if b, err := base64.StdEncoding.DecodeString(e.CRC32C); err != nil || len(b) != 4 {
		return fmt.Sprintf("checksum %s is not a base64 CRC32C", strconv.Quote(e.CRC32C))
	}
	algo, val, ok := strings.Cut(e.ObjectChecksum, ":")
	if !ok || val == "" || !printable(val) || len(val) > 256 {
		return fmt.Sprintf("object checksum %s is not ALGORITHM:VALUE", strconv.Quote(e.ObjectChecksum))
	}
	switch algo {
	case "CRC32C":
		if !strings.Contains(val, "-") && val != e.CRC32C {
			return fmt.Sprintf("object checksum %s and content checksum %s disagree", val, e.CRC32C)
		}
	case "CRC32", "CRC64NVME", "SHA1", "SHA256":
	default:
		return fmt.Sprintf("object checksum algorithm %s is not one S3 has", strconv.Quote(algo))
	}
	return ""
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// validateManifest checks every path and entry, and that no path is both a file and a
// directory of another path (a file "a" and a file "a/b").
func validateManifest(m *manifest, prefix string) error {
	bad := func(rel, why string) error {
		return fmt.Errorf("%w: %s: %s", errManifestInvalid, strconv.Quote(rel), why)
	}
	if !printable(m.Lineage) || !printable(m.Bucket) || !printable(m.Prefix) || !printable(m.MAC) {
		return fmt.Errorf("%w: lineage, bucket, prefix or MAC is not printable text", errManifestInvalid)
	}
	for rel, e := range m.Files {
		if why := checkRel(rel, prefix); why != "" {
			return bad(rel, why)
		}
		if why := checkEntry(e); why != "" {
			return bad(rel, why)
		}
		if !printable(e.MAC) {
			return bad(rel, "MAC is not printable text")
		}
	}
	for rel, d := range m.Dirs {
		if why := checkRel(rel, prefix); why != "" {
			return bad(rel, why)
		}
		if d == nil || d.Mode > 0o777 {
			return bad(rel, "directory entry is null or its mode has bits other than the permission bits")
		}
		if m.Files[rel] != nil {
			return bad(rel, "the path is both a file and a directory")
		}
	}
	parentsOK := func(rel string) error {
		for i := strings.IndexByte(rel, '/'); i >= 0; i = next(rel, i) {
			if m.Files[rel[:i]] != nil {
				return bad(rel, fmt.Sprintf("its parent %s is a file in the manifest", strconv.Quote(rel[:i])))
			}
		}
		return nil
	}
	for rel := range m.Files {
		if err := parentsOK(rel); err != nil {
			return err
		}
		// An empty directory has no files below it (its mode would apply to theirs).
		for i := strings.IndexByte(rel, '/'); i >= 0 && len(m.Dirs) > 0; i = next(rel, i) {
			if m.Dirs[rel[:i]] != nil {
				return bad(rel[:i], "recorded as an empty directory, but the manifest has files below it")
			}
		}
	}
	for rel := range m.Dirs {
		if err := parentsOK(rel); err != nil {
			return err
		}
	}
	return nil
}

// next returns the index of the next "/" in s after i, or -1.
func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// macWriter writes length-prefixed fields into a MAC, so that no two manifests give the
// same byte stream.
type macWriter struct{ h hash.Hash }

func (w macWriter) str(s string) {
	var b [binary.MaxVarintLen64]byte
	w.h.Write(b[:binary.PutUvarint(b[:], uint64(len(s)))])
	w.h.Write([]byte(s))
}

func (w macWriter) num(n int64) { w.str(strconv.FormatInt(n, 10)) }

// entryMAC is the MAC of one file's record: its path, size, checksums, object identity,
// mode and time, bound to the backup's lineage.
func entryMAC(key []byte, lineage, rel string, e *manifestEntry) string {
	w := macWriter{hmac.New(sha256.New, key)}
	w.str("s3backup-entry-mac/1")
	w.str(lineage)
	w.str(rel)
	w.num(e.Size)
	w.str(e.CRC32C)
	w.str(e.ObjectChecksum)
	w.str(e.ETag)
	w.str(e.VersionID)
	w.num(int64(e.Mode))
	w.num(e.MTimeNs)
	return hex.EncodeToString(w.h.Sum(nil))
}

// manifestMAC is the MAC of the whole manifest (entries in path order, each with its MAC).
func manifestMAC(key []byte, m *manifest) string {
	w := macWriter{hmac.New(sha256.New, key)}
	w.str("s3backup-manifest-mac/1")
	w.str(m.Format)
	w.str(m.Lineage)
	w.num(m.Seq)
	w.num(m.Updated.UnixNano())
	rels := slices.Sorted(maps.Keys(m.Files))
	w.num(int64(len(rels)))
	for _, rel := range rels {
		e := m.Files[rel]
		w.str(rel)
		w.num(int64(e.Parts))
		w.num(e.Uploaded.UnixNano())
		w.str(e.MAC)
	}
	dirs := slices.Sorted(maps.Keys(m.Dirs))
	w.num(int64(len(dirs)))
	for _, rel := range dirs {
		w.str(rel)
		w.num(int64(m.Dirs[rel].Mode))
		w.num(m.Dirs[rel].MTimeNs)
	}
	return hex.EncodeToString(w.h.Sum(nil))
}

// signManifest sets the MAC of every entry and of the manifest.
func signManifest(key []byte, m *manifest) {
	for rel, e := range m.Files {
		e.MAC = entryMAC(key, m.Lineage, rel, e)
	}
	m.MAC = manifestMAC(key, m)
}

// checkManifestMAC checks the MACs of a decoded manifest against ro.key.
func checkManifestMAC(m *manifest, ro readOptions) error {
	if ro.key == nil {
		return nil
	}
	if m.MAC == "" {
		if ro.allowUnsigned {
			return nil
		}
		return errManifestUnsigned
	}
	for rel, e := range m.Files {
		if !hmac.Equal([]byte(e.MAC), []byte(entryMAC(ro.key, m.Lineage, rel, e))) {
			return fmt.Errorf("%w (entry %s)", errManifestMAC, strconv.Quote(rel))
		}
	}
	if !hmac.Equal([]byte(m.MAC), []byte(manifestMAC(ro.key, m))) {
		return errManifestMAC
	}
	return nil
}
