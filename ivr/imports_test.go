package ivr

import (
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps ivr pure (DESIGN.md §2): no SIP, network, SQL or higher
// kcc layers; only the shared vocabulary in kcc/call, the calendar logic of
// kcc/hours and the sayers of kcc/prompts (layer 1, like ivr).
func TestImports(t *testing.T) {
	allowed := []string{"kcc/call", "kcc/hours", "kcc/prompts", "github.com/rs/zerolog", "go.yaml.in/yaml/v3"}
	forbidden := []string{"net", "net/http", "database/sql", "os/exec"}
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
			if (std && slices.Contains(forbidden, path)) || (!std && !slices.Contains(allowed, path)) {
				t.Errorf("%s imports %q; ivr may import only the standard library (no network or SQL) and %q", name, path, allowed)
			}
		}
	}
}
