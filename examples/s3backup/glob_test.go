package main

import "testing"

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"*.tmp", "a.tmp", true},
		{"*.tmp", "dir/sub/a.tmp", true},
		{"*.tmp", "a.tmpx", false},
		{".git", ".git/config", true},         // a directory name anywhere: its whole subtree
		{".git", "src/.git/HEAD", true},       // at any depth
		{".git", "src/.gitignore", false},     // not a prefix match
		{"logs/*.gz", "logs/a.gz", true},      // anchored at the top
		{"logs/*.gz", "x/logs/a.gz", false},   // not at other depths
		{"logs/*.gz", "logs/sub/a.gz", false}, // "*" never crosses "/"
		{"logs/**/*.gz", "logs/a.gz", true},   // "**" matches zero directories
		{"logs/**/*.gz", "logs/x/y/a.gz", true},
		{"**/cache", "a/b/cache/f", true},
		{"**/cache", "cache/f", true},
		{"/top", "top/f", true},
		{"/top", "x/top/f", false},
		{"build/", "build/out.o", true},
		{"build/", "x/build/out.o", true}, // a trailing "/" is ignored: a name at any depth
		{"a?c", "abc", true},
		{"a?c", "a/c", false},
		{"[ab].txt", "b.txt", true},
		{"ü*", "dir/über.txt", true},
		{"docs", "docs", true},
		{"docs/**", "docs/a/b", true},
	}
	for _, c := range cases {
		g, err := compileGlob(c.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", c.pattern, err)
		}
		if got := g.match(c.path); got != c.want {
			t.Errorf("%q matching %q = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

func TestGlobBadPatterns(t *testing.T) {
	for _, p := range []string{"", "/", "a//b", "[", "x/[z"} {
		if _, err := compileGlob(p); err == nil {
			t.Errorf("compileGlob(%q) accepted a bad pattern", p)
		}
	}
	if _, err := newFilter([]string{"ok"}, []string{"["}); err == nil {
		t.Error("newFilter accepted a bad --exclude pattern")
	}
}

func TestFilter(t *testing.T) {
	f, err := newFilter([]string{"*.go", "docs"}, []string{"vendor", "*_test.go"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"main.go":           true,
		"pkg/a.go":          true,
		"pkg/a_test.go":     false, // excludes win over includes
		"vendor/x/y.go":     false,
		"README.md":         false, // not included
		"docs/guide.md":     true,  // included through its directory
		"docs/vendor/x.txt": false,
	}
	for p, want := range cases {
		if got := f.accepts(p); got != want {
			t.Errorf("accepts(%q) = %v, want %v", p, got, want)
		}
	}
	if !f.excluded("vendor") || f.excluded("docs") {
		t.Error("excluded() on directories is wrong")
	}
	var zero filter
	if !zero.accepts("anything/at/all") {
		t.Error("the zero filter must accept everything")
	}
}
