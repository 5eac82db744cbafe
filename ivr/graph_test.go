package ivr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGraph(t *testing.T) {
	all, err := os.ReadFile(filepath.Join("testdata", "flows", "all-nodes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	flows := map[string][]byte{"builtin": Builtin(), "all-nodes": all}
	tests := []struct {
		name, flow, format string
	}{
		{"builtin-mermaid", "builtin", "mermaid"},
		{"builtin-dot", "builtin", "dot"},
		{"all-nodes-mermaid", "all-nodes", "mermaid"},
		{"all-nodes-dot", "all-nodes", "dot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, tt.flow+".yaml", flows[tt.flow])
			got, err := Graph(p, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Graph(mustLoad(t, tt.flow+".yaml", flows[tt.flow]), tt.format)
			if string(again) != string(got) {
				t.Errorf("Graph is not deterministic:\n%s\nthen\n%s", got, again)
			}
			golden(t, filepath.Join("graph", tt.name+".txt"), got)
		})
	}
}

func TestGraphErrors(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	if _, err := Graph(p, "svg"); err == nil || !strings.Contains(err.Error(), "want mermaid or dot") {
		t.Errorf("Graph(svg): err = %v, want an unknown-format error", err)
	}
	if _, err := Graph(nil, "dot"); err == nil {
		t.Error("Graph(nil) succeeded, want an error")
	}
}
