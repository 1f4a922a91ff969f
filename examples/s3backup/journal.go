package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// journal remembers the multipart uploads the tool started for one destination, so that the
// next run can recognise them as its own and abort them after a crash, even on servers that
// do not report an upload's initiator. One line per upload: "uploadID<TAB>key". Safe for
// concurrent use.
type journal struct {
	mu   sync.Mutex
	path string
	ids  map[string]string // upload ID -> key
}

func openJournal(path string) (*journal, error) {
	j := &journal{path: path, ids: map[string]string{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		id, key, ok := strings.Cut(sc.Text(), "\t")
		if ok && id != "" {
			j.ids[id] = key
		}
	}
	return j, sc.Err()
}

// has reports whether the tool started the upload.
func (j *journal) has(uploadID string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.ids[uploadID]
	return ok
}

// add records an upload the tool just started; the line is synced before add returns.
func (j *journal) add(uploadID, key string) error {
	if uploadID == "" || strings.ContainsAny(uploadID, "\t\n") || strings.Contains(key, "\n") {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.ids[uploadID]; ok {
		return nil
	}
	j.ids[uploadID] = key
	if err := os.MkdirAll(filepath.Dir(j.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(uploadID + "\t" + key + "\n")
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}

// done forgets uploads that were completed or aborted.
func (j *journal) done(uploadID string) {
	j.mu.Lock()
	delete(j.ids, uploadID)
	j.mu.Unlock()
}

// rewrite stores the uploads still remembered, dropping finished ones.
func (j *journal) rewrite() error {
	j.mu.Lock()
	var b strings.Builder
	for id, key := range j.ids {
		b.WriteString(id + "\t" + key + "\n")
	}
	j.mu.Unlock()
	if b.Len() == 0 {
		err := os.Remove(j.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return writeFileAtomic(j.path, []byte(b.String()), 0o600)
}
