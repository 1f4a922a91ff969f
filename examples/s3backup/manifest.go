package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// manifestFormat names the manifest's JSON layout; a manifest of another format is refused.
const manifestFormat = "s3backup-manifest/1"

// manifestDir is the directory under the prefix the tool keeps for itself; manifestName is
// the manifest object's key relative to the prefix.
const (
	manifestDir  = ".s3backup"
	manifestName = manifestDir + "/manifest.json"
)

// manifestEntry records one file whose upload completed.
type manifestEntry struct {
	Size      int64  `json:"size"`
	MTimeNs   int64  `json:"mtime_ns"` // modification time, Unix nanoseconds
	Mode      uint32 `json:"mode"`     // permission bits
	CRC32C    string `json:"crc32c"`   // full-content CRC32C, base64 of the big-endian bytes (S3's encoding)
	ETag      string `json:"etag"`     // the object's ETag as returned by the upload
	VersionID string `json:"version_id,omitempty"`
	// ObjectChecksum is the checksum S3 returned for the object, e.g. "CRC32C:AAAAAA==" or, for a
	// multipart object with composite checksums, "CRC32C:xxxx-3".
	ObjectChecksum string    `json:"object_checksum,omitempty"`
	Parts          int       `json:"parts,omitempty"` // 0 for a single PutObject
	Uploaded       time.Time `json:"uploaded"`
	// MAC is the entry's HMAC-SHA256 (hex) with the manifest key, when the backup has one.
	MAC string `json:"mac,omitempty"`
}

// dirEntry records an empty directory, which has no object.
type dirEntry struct {
	MTimeNs int64  `json:"mtime_ns"`
	Mode    uint32 `json:"mode"`
}

// manifest is the record of a backup: every completed file under the prefix.
// Lineage identifies one backup history (a local cache is used only when its lineage is the
// bucket's); Seq grows with every write so the newest copy can be told apart.
type manifest struct {
	Format  string                    `json:"format"`
	Lineage string                    `json:"lineage"`
	Seq     int64                     `json:"seq"`
	Bucket  string                    `json:"bucket"`
	Prefix  string                    `json:"prefix"`
	Updated time.Time                 `json:"updated"`
	Files   map[string]*manifestEntry `json:"files"`
	// Dirs are the empty directories (paths relative to the prefix, like Files).
	Dirs map[string]*dirEntry `json:"dirs,omitempty"`
	// MAC is the HMAC-SHA256 (hex) of the manifest with the manifest key, when the backup
	// has one: it covers every field above except Bucket and Prefix (a copied backup stays
	// valid).
	MAC string `json:"mac,omitempty"`
}

func newManifest(bucket, prefix string) *manifest {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return &manifest{Format: manifestFormat, Lineage: hex.EncodeToString(b), Bucket: bucket, Prefix: prefix,
		Files: map[string]*manifestEntry{}, Dirs: map[string]*dirEntry{}}
}

// errManifestFormat reports a manifest that is not one this tool wrote.
var errManifestFormat = errors.New("not an s3backup manifest")

// decodeManifest decodes and validates a manifest held in memory, without a key or size
// limit (tests and small documents).
func decodeManifest(data []byte) (*manifest, error) {
	return readManifest(bytes.NewReader(data), readOptions{})
}

// chooseManifest picks the manifest to continue from: the bucket's, unless the local cache
// belongs to the same lineage and is newer (a run that stopped before it wrote the bucket's
// copy). A local cache of another lineage (the backup was deleted or rewritten elsewhere) is
// ignored.
func chooseManifest(remote, local *manifest) (m *manifest, fromLocal bool) {
	if local != nil && remote != nil && local.Lineage == remote.Lineage && local.Seq > remote.Seq &&
		local.Bucket == remote.Bucket && local.Prefix == remote.Prefix {
		return local, true
	}
	return remote, false
}

// unchanged reports whether f is recorded with the same size and modification time, in
// which case it is skipped without being read.
func (e *manifestEntry) unchanged(f localFile) bool {
	return e != nil && e.Size == f.Size && e.MTimeNs == f.ModTime.UnixNano()
}

// manifestStore guards the manifest of a running backup and persists it: the local cache
// (atomically, by rename) and the object in the bucket. Entries are added only for files
// whose upload completed. Safe for concurrent use.
type manifestStore struct {
	mu        sync.Mutex
	m         *manifest
	dirty     bool
	localPath string
	now       func() time.Time
	key       []byte // signs each snapshot when set
}

func newManifestStore(m *manifest, localPath string, now func() time.Time) *manifestStore {
	if now == nil {
		now = time.Now
	}
	return &manifestStore{m: m, localPath: localPath, now: now}
}

func (s *manifestStore) get(rel string) *manifestEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Files[rel]
}

func (s *manifestStore) put(rel string, e *manifestEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.Files[rel] = e
	s.dirty = true
}

func (s *manifestStore) remove(rel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m.Files, rel)
	s.dirty = true
}

// dirs returns the recorded empty directories.
func (s *manifestStore) dirs() map[string]dirEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]dirEntry, len(s.m.Dirs))
	for rel, d := range s.m.Dirs {
		out[rel] = *d
	}
	return out
}

// setDirs replaces the recorded empty directories.
func (s *manifestStore) setDirs(dirs map[string]dirEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := len(dirs) != len(s.m.Dirs)
	nd := make(map[string]*dirEntry, len(dirs))
	for rel, d := range dirs {
		if old := s.m.Dirs[rel]; old == nil || *old != d {
			changed = true
		}
		nd[rel] = &d
	}
	if changed {
		s.m.Dirs = nd
		s.dirty = true
	}
}

// paths returns the recorded relative paths.
func (s *manifestStore) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.m.Files))
	for rel := range s.m.Files {
		out = append(out, rel)
	}
	return out
}

// snapshot encodes the manifest with the next sequence number. force encodes it even when
// nothing changed since the last snapshot; otherwise a clean manifest returns nil.
func (s *manifestStore) snapshot(force bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty && !force {
		return nil, nil
	}
	s.m.Seq++
	s.m.Updated = s.now().UTC()
	if s.key != nil {
		signManifest(s.key, s.m)
	} else {
		s.m.MAC = ""
	}
	b, err := json.MarshalIndent(s.m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	s.dirty = false
	return append(b, '\n'), nil
}

// isDirty reports whether the manifest changed since the last snapshot.
func (s *manifestStore) isDirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}

// markDirty records that data handed out by snapshot was not persisted.
func (s *manifestStore) markDirty() {
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
}

// writeLocal writes data to the local cache atomically.
func (s *manifestStore) writeLocal(data []byte) error {
	if s.localPath == "" || data == nil {
		return nil
	}
	return writeFileAtomic(s.localPath, data, 0o600)
}

// readLocalManifest reads and validates the local cache.
func readLocalManifest(path string, ro readOptions) (*manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readManifest(f, ro)
}

// writeFileAtomic creates path's directory when missing and writes data to path atomically
// (see cmdkit.WriteFile).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return cmdkit.WriteFile(path, data, perm, false)
}

// cacheDirFor returns the default local cache directory of one backup destination.
func cacheDirFor(base, endpoint, bucket, prefix string) string {
	h := sha256.Sum256([]byte(endpoint + "\n" + bucket + "\n" + prefix))
	return filepath.Join(base, "s3backup", hex.EncodeToString(h[:10]))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cBase64 encodes a CRC32C value the way S3 does: base64 of the 4 big-endian bytes.
func crc32cBase64(sum uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], sum)
	return base64.StdEncoding.EncodeToString(b[:])
}

// fileCRC32C reads r to the end and returns its CRC32C (S3's base64 form) and length.
func fileCRC32C(r io.Reader) (string, int64, error) {
	h := crc32.New(castagnoli)
	n, err := io.CopyBuffer(h, r, make([]byte, 256<<10))
	if err != nil {
		return "", n, err
	}
	return crc32cBase64(h.Sum32()), n, nil
}
