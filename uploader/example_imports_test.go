package uploader_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every file holding Example functions imports public packages only, so that each example
// compiles when copied into a user's module.
func TestExamplesImportPublicPackagesOnly(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	examples := 0
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		hasExample := false
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
				hasExample = true
			}
		}
		if !hasExample {
			continue
		}
		examples++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path+"/", "/internal/") {
				t.Errorf("%s holds Example functions and imports %s, which a user's module cannot import", name, path)
			}
		}
	}
	if examples == 0 {
		t.Fatal("found no file with Example functions")
	}
}
