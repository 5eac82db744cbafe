package ivr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// corpus returns the files of testdata/broken with the problems each
// declares in its "# want: line:col: message" header lines.
func corpus(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]string, len(files))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for _, line := range strings.Split(string(src), "\n") {
			if want, ok := strings.CutPrefix(line, "# want: "); ok {
				out[name] = append(out[name], name+":"+want)
			}
		}
	}
	return out
}

// TestBrokenCorpus loads every flow of testdata/broken and checks that it
// fails with exactly the problems its header names, positions included.
func TestBrokenCorpus(t *testing.T) {
	files := corpus(t)
	if len(files) < 30 {
		t.Errorf("the broken corpus has %d files, want at least 30", len(files))
	}
	for name, want := range files {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			if len(want) == 0 {
				t.Fatalf("%s has no \"# want: line:col: message\" header", name)
			}
			src, err := os.ReadFile(filepath.Join("testdata", "broken", name))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(name, src, builtinChecker())
			if err == nil {
				t.Fatalf("Load succeeded, want %q", want)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
				t.Errorf("problems:\n got  %q\n want %q", got, want)
			}
		})
	}
}

// schemaRejects lists the broken flows whose mistake is in the file's shape,
// which the JSON Schema catches too: unknown keys, wrong types, missing
// required keys, keys without the key they need, values outside an enum.
// The others are only caught by Compile (references, values, analysis) or
// are not YAML a JSON Schema validator can see (syntax errors, duplicate keys).
var schemaRejects = []string{
	"bad-duration.yaml",
	"bad-hangup-cause.yaml",
	"barge-in-not-bool.yaml",
	"barge-in-on-menu.yaml",
	"callback-without-queue.yaml",
	"care-not-bool.yaml",
	"care-without-queue.yaml",
	"case-without-next.yaml",
	"dtmf-key-letter.yaml",
	"dtmf-key-two-digits.yaml",
	"hours-without-closed.yaml",
	"menu-not-a-map.yaml",
	"missing-start.yaml",
	"node-does-nothing.yaml",
	"nodes-a-list.yaml",
	"queue-and-callback.yaml",
	"queue-condition-without-queue.yaml",
	"say-bad-kind.yaml",
	"schedule-typo-key.yaml",
	"schedule-wrong-type.yaml",
	"topic-without-queue.yaml",
	"transfer-without-target.yaml",
	"two-node-types.yaml",
	"typo-callback-key.yaml",
	"typo-case-key.yaml",
	"typo-flow-key.yaml",
	"typo-input-key.yaml",
	"typo-menu-key.yaml",
	"typo-node-key.yaml",
	"unavailable-without-queue.yaml",
}

// flowSchema compiles Schema with a real JSON Schema validator.
func flowSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("Schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("flow.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("flow.json")
	if err != nil {
		t.Fatalf("compile Schema: %v", err)
	}
	return s
}

// yamlToJSON converts a flow file into the JSON value an editor's YAML
// language server validates.
func yamlToJSON(src []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// jsonable turns the maps yaml decodes (keys of any type) into JSON objects.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	}
	return v
}

func TestSchemaAcceptsValidFlows(t *testing.T) {
	s := flowSchema(t)
	flows := map[string][]byte{"builtin": Builtin()}
	files, err := filepath.Glob(filepath.Join("testdata", "flows", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(f, src, builtinChecker()); err != nil {
			continue // the deliberately bad flows of TestBadFlowGolden
		}
		flows[filepath.Base(f)] = src
	}
	if len(flows) < 2 {
		t.Fatalf("only %d valid flows to check", len(flows))
	}
	for name, src := range flows {
		t.Run(name, func(t *testing.T) {
			v, err := yamlToJSON(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(v); err != nil {
				t.Errorf("the schema rejects a valid flow: %v", err)
			}
		})
	}
}

// TestSchemaRejectsStructuralMistakes checks that the schema rejects exactly
// the broken flows listed in schemaRejects, so the list stays true.
func TestSchemaRejectsStructuralMistakes(t *testing.T) {
	s := flowSchema(t)
	for name := range corpus(t) {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "broken", name))
			if err != nil {
				t.Fatal(err)
			}
			v, err := yamlToJSON(src)
			if err != nil {
				if slices.Contains(schemaRejects, name) {
					t.Fatalf("listed as rejected by the schema, but not valid YAML: %v", err)
				}
				return
			}
			err = s.Validate(v)
			switch listed := slices.Contains(schemaRejects, name); {
			case listed && err == nil:
				t.Errorf("the schema accepts %s; want it rejected", name)
			case !listed && err != nil:
				t.Errorf("the schema rejects %s (%v); list it in schemaRejects", name, err)
			}
		})
	}
}

func TestSchemaIsStable(t *testing.T) {
	if !bytes.Equal(Schema(), Schema()) {
		t.Error("Schema() differs between calls")
	}
	golden(t, "schema.json", Schema())
}

// TestAllNodesUsesEveryKey keeps testdata/flows/all-nodes.yaml complete:
// it must use every key of every key table (so the parser is seen to handle
// each, and the schema is checked against each), and compile cleanly.
func TestAllNodesUsesEveryKey(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "flows", "all-nodes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, "all-nodes.yaml", src)
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %v, want none", w)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				used[n.Content[i].Value] = true
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	for name, obj := range objects {
		for _, f := range obj.fields {
			if !used[f.key] {
				t.Errorf("all-nodes.yaml does not use key %q of %s", f.key, name)
			}
		}
	}
	for _, k := range scheduleKeys() {
		if !used[k] {
			t.Errorf("all-nodes.yaml does not use schedule key %q", k)
		}
	}
}

func TestIncidentSlots(t *testing.T) {
	p := mustLoad(t, "14070.yaml", Builtin())
	if got, want := p.IncidentSlots(), []string{"storing"}; !slices.Equal(got, want) {
		t.Errorf("IncidentSlots() = %q, want %q", got, want)
	}
	if got, want := p.Location().String(), DefaultTimeZone; got != want {
		t.Errorf("Location() = %s, want %s", got, want)
	}
}
