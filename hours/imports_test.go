package hours

import (
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps hours pure calendar logic: the standard library without
// network, files or processes, plus the YAML decoder its Config is read with.
func TestImports(t *testing.T) {
	forbidden := []string{"net", "net/http", "os", "os/exec", "database/sql", "log", "log/slog"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(token.NewFileSet(), name, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(path, "/")[0], ".") && !strings.HasPrefix(path, "kcc/")
			for _, bad := range forbidden {
				if path == bad {
					t.Errorf("%s imports %q; hours does no I/O", name, path)
				}
			}
			if !std && path != "go.yaml.in/yaml/v3" {
				t.Errorf("%s imports %q; hours may import only the standard library and go.yaml.in/yaml/v3", name, path)
			}
		}
	}
}
