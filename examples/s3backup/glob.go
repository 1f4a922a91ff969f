package main

import (
	"fmt"
	"path"
	"strings"

	"github.com/spf13/pflag"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// A globPattern is one --include or --exclude pattern.
//
// Syntax: the pattern is split at "/" into segments; each segment is matched with path.Match
// ("*" and "?" never cross a "/", "[...]" classes, "\" escapes), and a segment "**" matches zero
// or more whole segments. A pattern without "/" is matched against the base name of every file
// and directory (so "*.tmp" excludes temporary files anywhere and ".git" a directory anywhere); a
// pattern with "/" is matched against the whole path relative to the backed-up directory (a
// leading "/" anchors a pattern without other "/" at the top; a trailing "/" is ignored). A pattern that matches a directory matches everything
// below it.
type globPattern struct {
	raw      string
	segments []string
	basename bool
}

func compileGlob(p string) (globPattern, error) {
	if p == "" {
		return globPattern{}, fmt.Errorf("empty pattern")
	}
	g := globPattern{raw: p}
	trimmed := strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	if trimmed == "" {
		return globPattern{}, fmt.Errorf("pattern %q matches nothing", p)
	}
	g.basename = !strings.HasPrefix(p, "/") && !strings.Contains(trimmed, "/")
	g.segments = strings.Split(trimmed, "/")
	for _, s := range g.segments {
		if s == "" {
			return globPattern{}, fmt.Errorf("pattern %q has an empty path segment", p)
		}
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return globPattern{}, fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return g, nil
}

// match reports whether the slash-separated relative path rel, or one of its parent
// directories, matches the pattern.
func (g globPattern) match(rel string) bool {
	parts := strings.Split(rel, "/")
	if g.basename {
		for _, p := range parts {
			if ok, _ := path.Match(g.segments[0], p); ok {
				return true
			}
		}
		return false
	}
	// A pattern matching a parent directory matches the whole subtree.
	for n := 1; n <= len(parts); n++ {
		if matchSegments(g.segments, parts[:n]) {
			return true
		}
	}
	return false
}

func matchSegments(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(parts); i++ {
				if matchSegments(rest, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}

// filterFlags are --include and --exclude, the same patterns for run, verify and restore.
type filterFlags struct {
	include, exclude []string
	filter           *filter // their filter, set by parseFilter
}

// register adds the flags; verb is what the command does with a file ("back up").
func (ff *filterFlags) register(f *pflag.FlagSet, verb string) {
	f.StringArrayVar(&ff.include, "include", nil, verb+" only files matching this pattern (repeatable)")
	f.StringArrayVar(&ff.exclude, "exclude", nil, "leave out files and directories matching this pattern (repeatable)")
}

// parseFilter checks the patterns, a usage error when one is malformed, and sets filter.
func (ff *filterFlags) parseFilter() error {
	flt, err := newFilter(ff.include, ff.exclude)
	if err != nil {
		return cmdkit.UsageErrorf("%v", err)
	}
	ff.filter = flt
	return nil
}

// A filter decides which paths are backed up from the --include and --exclude patterns.
// The zero filter accepts everything.
type filter struct {
	include []globPattern
	exclude []globPattern
}

func newFilter(include, exclude []string) (*filter, error) {
	f := &filter{}
	for _, p := range include {
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("--include: %w", err)
		}
		f.include = append(f.include, g)
	}
	for _, p := range exclude {
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("--exclude: %w", err)
		}
		f.exclude = append(f.exclude, g)
	}
	return f, nil
}

// excluded reports whether rel (a file or a directory) matches an --exclude pattern.
// Excludes win over includes; an excluded directory is not descended into.
func (f *filter) excluded(rel string) bool {
	for _, g := range f.exclude {
		if g.match(rel) {
			return true
		}
	}
	return false
}

// accepts reports whether the file rel is backed up: not excluded and, when include
// patterns are given, matching at least one of them.
func (f *filter) accepts(rel string) bool {
	if f.excluded(rel) {
		return false
	}
	if len(f.include) == 0 {
		return true
	}
	for _, g := range f.include {
		if g.match(rel) {
			return true
		}
	}
	return false
}
