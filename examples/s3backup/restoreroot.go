package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// errLinkInPath reports a symbolic link (or a swapped directory) where restore needs a
// directory or a file: restore never follows links below DIR.
var errLinkInPath = errors.New("restore does not follow symbolic links below the restore directory")

// restoreRoot resolves every path of a restore through one handle on DIR (an os.Root),
// component by component, without following symbolic links: a link where a directory is
// needed fails that file. Safe for concurrent use.
type restoreRoot struct {
	root *os.Root
	// mu serialises creating directories (and the temporary file in them) with removing
	// the directories a failed file created, so that one never removes a directory another
	// file is about to use.
	mu sync.Mutex
	// hook, for tests, is called with the directory path about to be opened, after it was
	// checked and before it is opened.
	hook func(dirRel string)
	// made holds the directories this restore created (guarded by mu).
	made map[string]bool
}

// openRestoreRoot creates dir if needed and opens it as the root of a restore.
func openRestoreRoot(dir string) (*restoreRoot, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &restoreRoot{root: r, made: map[string]bool{}}, nil
}

// Close closes the handle on DIR.
func (r *restoreRoot) Close() error { return r.root.Close() }

// openDir opens the directory dirRel ("" for DIR itself; "/"-separated, already validated),
// creating the missing components with mode 0755 when create is set. It returns the
// directory's handle (close it unless it is r.root) and the directories it created, parents
// first (also recorded in r.made). Each component is checked with Lstat and opened with
// openChild. The caller holds r.mu.
func (r *restoreRoot) openDir(dirRel string, create bool) (*os.Root, []string, error) {
	cur := r.root
	var created []string
	fail := func(err error) (*os.Root, []string, error) {
		if cur != r.root {
			cur.Close()
		}
		return nil, created, err
	}
	if dirRel == "" {
		return cur, nil, nil
	}
	segs := strings.Split(dirRel, "/")
	for i, name := range segs {
		here := strings.Join(segs[:i+1], "/")
		fi, err := cur.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) && create {
			if err = cur.Mkdir(name, 0o755); err == nil {
				created = append(created, here)
				r.made[here] = true
			}
			if err == nil || errors.Is(err, fs.ErrExist) {
				fi, err = cur.Lstat(name)
			}
		}
		if err != nil {
			return fail(fmt.Errorf("directory %s: %s", strconv.Quote(here), pathErrText(err)))
		}
		next, err := r.openChild(cur, name, here, fi)
		if err != nil {
			return fail(err)
		}
		if cur != r.root {
			cur.Close()
		}
		cur = next
	}
	return cur, created, nil
}

// openChild opens the directory name of cur (at the path here), whose Lstat is fi: a
// symbolic link or a non-directory fails, and the directory opened must be the one
// checked (a link swapped in between is caught).
func (r *restoreRoot) openChild(cur *os.Root, name, here string, fi fs.FileInfo) (*os.Root, error) {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link where a directory is needed: %w", strconv.Quote(here), errLinkInPath)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory (%s)", strconv.Quote(here), fi.Mode().Type())
	}
	if r.hook != nil {
		r.hook(here)
	}
	next, err := cur.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("%s changed while it was opened (%s): %w", strconv.Quote(here), pathErrText(err), errLinkInPath)
	}
	st, err := next.Stat(".")
	if err != nil || !os.SameFile(fi, st) {
		next.Close()
		return nil, fmt.Errorf("%s was replaced while it was opened: %w", strconv.Quote(here), errLinkInPath)
	}
	return next, nil
}

// removeCreated removes the empty directories this restore created on the way to rel (a
// file that failed), deepest first, up to the first one that is not empty or that was
// there before.
func (r *restoreRoot) removeCreated(rel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeCreatedLocked(rel)
}

// removeCreatedLocked is removeCreated with r.mu held. The directories are removed through
// handles opened once down the chain (not by path from DIR each time), so a deep path costs
// time in proportion to its depth.
func (r *restoreRoot) removeCreatedLocked(rel string) {
	var chain []string // the created directories above rel, deepest first
	for dir, _ := splitRel(rel); dir != "" && r.made[dir]; dir, _ = splitRel(dir) {
		chain = append(chain, dir)
	}
	if len(chain) == 0 {
		return
	}
	top, _ := splitRel(chain[len(chain)-1])
	h, _, err := r.openDir(top, false)
	if err != nil {
		return
	}
	// handles[i] is the parent of chain[len(chain)-1-i].
	handles := []*os.Root{h}
	defer func() {
		for _, h := range handles {
			if h != r.root {
				h.Close()
			}
		}
	}()
	for i := len(chain) - 1; i > 0; i-- {
		_, name := splitRel(chain[i])
		cur := handles[len(handles)-1]
		fi, err := cur.Lstat(name)
		if err != nil {
			return
		}
		next, err := r.openChild(cur, name, chain[i], fi)
		if err != nil {
			return
		}
		handles = append(handles, next)
	}
	for j, dir := range chain {
		_, name := splitRel(dir)
		if err := handles[len(chain)-1-j].Remove(name); err != nil {
			return // not empty: another file uses it
		}
		delete(r.made, dir)
	}
}

// tempName returns a fresh name for a temporary file.
func tempName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return ".s3backup-" + hex.EncodeToString(b) + ".tmp"
}

// splitRel splits a validated relative path into its directory ("" at the top) and name.
func splitRel(rel string) (dir, name string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}
