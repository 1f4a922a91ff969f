package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// localFile is one regular file found under the backed-up directory.
type localFile struct {
	Rel     string      // path relative to the directory, "/"-separated: the key suffix
	Path    string      // path to open
	Size    int64       // bytes
	ModTime time.Time   // modification time (of the target when a followed symlink)
	Mode    fs.FileMode // permission bits
	// info is what the walk found; a file opened later must be the same file (see
	// backupRun.openLocal).
	info os.FileInfo
}

// skippedPath is a path the walk did not back up, and why.
type skippedPath struct {
	Rel    string `json:"path"`
	Reason string `json:"reason"`
}

type walkOptions struct {
	followSymlinks bool
	filter         *filter
	// reserved reports relative paths the tool keeps for itself (its manifest directory).
	reserved func(rel string) bool
}

// localDir is an empty directory found under the backed-up directory.
type localDir struct {
	Rel     string
	ModTime time.Time
	Mode    fs.FileMode
}

type walkResult struct {
	files    []localFile
	dirs     []localDir    // empty directories (no entries at all), backed up as manifest records
	skipped  []skippedPath // symlinks not followed, special files, reserved or unusable names
	errors   []skippedPath // unreadable directories and files: the backup is incomplete
	excluded int           // files left out by --include / --exclude
}

// walkTree lists the regular files under root in lexical order. Symbolic links are not
// followed unless opts.followSymlinks (a link to a directory that is one of its own
// ancestors is skipped as a loop); special files (devices, pipes, sockets) are skipped and
// reported; directories matching an --exclude pattern are not descended into.
func walkTree(ctx context.Context, root string, opts walkOptions) (*walkResult, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	if opts.filter == nil {
		opts.filter = &filter{}
	}
	w := &walker{ctx: ctx, opts: opts, res: &walkResult{}}
	if err := w.dir(root, "", []os.FileInfo{fi}); err != nil {
		return nil, err
	}
	sort.Slice(w.res.files, func(i, j int) bool { return w.res.files[i].Rel < w.res.files[j].Rel })
	return w.res, nil
}

type walker struct {
	ctx  context.Context
	opts walkOptions
	res  *walkResult
}

func (w *walker) dir(osPath, rel string, ancestors []os.FileInfo) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(osPath)
	if err != nil {
		name := rel
		if name == "" {
			name = "."
		}
		w.res.errors = append(w.res.errors, skippedPath{Rel: name, Reason: "unreadable directory: " + pathErrText(err)})
		if len(entries) == 0 {
			return nil
		}
	} else if len(entries) == 0 && rel != "" && w.opts.filter.accepts(rel) {
		fi := ancestors[len(ancestors)-1]
		w.res.dirs = append(w.res.dirs, localDir{Rel: rel, ModTime: fi.ModTime(), Mode: fi.Mode().Perm()})
	}
	for _, d := range entries {
		name := d.Name()
		childOS := filepath.Join(osPath, name)
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		if w.skipName(name, childRel) {
			continue
		}
		typ := d.Type()
		var info os.FileInfo
		if typ&fs.ModeSymlink != 0 {
			if !w.opts.followSymlinks {
				if !w.opts.filter.excluded(childRel) {
					w.res.skipped = append(w.res.skipped, skippedPath{Rel: childRel, Reason: "symbolic link, not followed (use --follow-symlinks)"})
				}
				continue
			}
			info, err = os.Stat(childOS)
			if err != nil {
				if !w.opts.filter.excluded(childRel) {
					w.res.skipped = append(w.res.skipped, skippedPath{Rel: childRel, Reason: "broken symbolic link: " + pathErrText(err)})
				}
				continue
			}
			typ = info.Mode().Type()
		}
		switch {
		case typ.IsDir():
			if w.opts.filter.excluded(childRel) {
				continue
			}
			if info == nil {
				if info, err = d.Info(); err != nil {
					w.res.errors = append(w.res.errors, skippedPath{Rel: childRel, Reason: "unreadable directory: " + pathErrText(err)})
					continue
				}
			}
			if slices.ContainsFunc(ancestors, func(a os.FileInfo) bool { return os.SameFile(a, info) }) {
				w.res.skipped = append(w.res.skipped, skippedPath{Rel: childRel, Reason: "symbolic link loop (points to one of its own parent directories)"})
				continue
			}
			if err := w.dir(childOS, childRel, append(ancestors[:len(ancestors):len(ancestors)], info)); err != nil {
				return err
			}
		case typ.IsRegular():
			if !w.opts.filter.accepts(childRel) {
				w.res.excluded++
				continue
			}
			if info == nil {
				if info, err = d.Info(); err != nil {
					if os.IsNotExist(err) {
						w.res.skipped = append(w.res.skipped, skippedPath{Rel: childRel, Reason: "removed while the directory was read"})
						continue
					}
					w.res.errors = append(w.res.errors, skippedPath{Rel: childRel, Reason: "cannot stat: " + pathErrText(err)})
					continue
				}
			}
			w.res.files = append(w.res.files, localFile{Rel: childRel, Path: childOS, Size: info.Size(), ModTime: info.ModTime(), Mode: info.Mode().Perm(), info: info})
		default:
			if w.opts.filter.excluded(childRel) {
				continue
			}
			w.res.skipped = append(w.res.skipped, skippedPath{Rel: childRel, Reason: "special file (" + describeType(typ) + "), not backed up"})
		}
	}
	return nil
}

// skipName reports whether an entry's name cannot be backed up (it is not valid UTF-8,
// holds a control character or is reserved), recording it as skipped.
func (w *walker) skipName(name, childRel string) bool {
	reason := ""
	switch {
	case !utf8.ValidString(name):
		childRel, reason = fmt.Sprintf("%q", childRel), "name is not valid UTF-8; S3 keys must be"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		reason = "name contains a control character, which the manifest does not accept"
	case w.opts.reserved != nil && w.opts.reserved(childRel):
		reason = "name reserved for the backup's manifest"
	default:
		return false
	}
	w.res.skipped = append(w.res.skipped, skippedPath{Rel: childRel, Reason: reason})
	return true
}

func describeType(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "block device"
	default:
		return "irregular file"
	}
}

// pathErrText returns the error without the path (the report names the path already).
func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
