package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/uploader"
)

// Large files are sent with the uploader's Resume: each keeps a state file in the local
// cache (resume/<hash of its path>.json) naming its multipart upload and the parts stored,
// so a run that is interrupted (Ctrl-C, a crash, SIGKILL) leaves uploads the next run
// continues, sending only the missing parts. A state file whose file is not sent by the
// next run (unchanged after all, deleted, excluded) is discarded with its upload.

// resumeState is one state file found at start.
type resumeState struct {
	path     string
	rel      string
	uploadID string
}

// resumeStates are the state files of a destination, by upload ID and by path.
type resumeStates struct {
	dir    string
	byID   map[string]resumeState
	byRel  map[string]resumeState
	broken []string // state files that cannot be read: discarded
}

func loadResumeStates(dir string, d destination) (*resumeStates, error) {
	rs := &resumeStates{dir: dir, byID: map[string]resumeState{}, byRel: map[string]resumeState{}}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, err := uploader.ReadState(p)
		if err != nil || st.Bucket != d.Bucket || !strings.HasPrefix(st.Key, d.Prefix) {
			rs.broken = append(rs.broken, p)
			continue
		}
		s := resumeState{path: p, rel: strings.TrimPrefix(st.Key, d.Prefix), uploadID: st.UploadID}
		rs.byRel[s.rel] = s
		if s.uploadID != "" {
			rs.byID[s.uploadID] = s
		}
	}
	return rs, nil
}

// statePath returns the state file of the file at rel.
func (rs *resumeStates) statePath(rel string) string {
	h := sha256.Sum256([]byte(rel))
	return filepath.Join(rs.dir, hex.EncodeToString(h[:12])+".json")
}

// discardUnused aborts the uploads of state files whose file this run does not send, and
// removes the state files. They are reported like other stale uploads.
func (b *backupRun) discardUnused(ctx context.Context, sending map[string]bool, dry bool) {
	up := uploader.New(b.client)
	discard := func(path, key, id string) {
		su := staleUpload{Key: key, UploadID: id}
		if dry {
			su.Reason = "would be aborted"
			b.sum.AbortedUploads = append(b.sum.AbortedUploads, su)
			return
		}
		if err := up.AbortResumable(ctx, path); err != nil {
			su.Reason = "abort failed: " + describeUploadErr(err, cmdkit.ErrText(err))
			b.sum.NotAbortedUploads = append(b.sum.NotAbortedUploads, su)
			return
		}
		b.jnl.done(id)
		if id != "" {
			b.sum.AbortedUploads = append(b.sum.AbortedUploads, su)
		}
	}
	for rel, s := range b.states.byRel {
		if !sending[rel] {
			discard(s.path, b.o.dest.key(rel), s.uploadID)
			delete(b.states.byRel, rel)
			delete(b.states.byID, s.uploadID)
		}
	}
	if !dry {
		for _, p := range b.states.broken {
			discard(p, "", "")
		}
	}
}

// fileBody is a rate-limited view of a file that still tells the uploader its name and
// modification time (which identify the source of a resumable upload).
type fileBody struct {
	*io.SectionReader
	f *os.File
}

func (fb *fileBody) Stat() (os.FileInfo, error) { return fb.f.Stat() }
func (fb *fileBody) Name() string               { return fb.f.Name() }
