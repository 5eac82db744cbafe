package ivr

import (
	"encoding/json"
	"reflect"
	"strings"

	"kcc/hours"
)

// Schema returns a JSON Schema (draft 2020-12) of the flow format, for
// editors with the YAML language server. It is generated from the key tables
// the parser reads (and, for schedules, from hours.Config), so it says what
// Parse accepts; it checks the shape only, and Compile remains the judge of
// names, references and values.
func Schema() []byte {
	defs := map[string]any{
		"schedule": scheduleSchema(),
		"action": map[string]any{
			"description": "A node name, or an inline node.",
			"anyOf":       []any{kindSchema(kText, ""), ref("node")},
		},
		"prompts": map[string]any{
			"description": "A prompt name, a say item, or a list of them.",
			"anyOf": []any{
				kindSchema(kText, ""), ref("say"),
				map[string]any{"type": "array", "minItems": 1, "items": map[string]any{"anyOf": []any{kindSchema(kText, ""), ref("say")}}},
			},
		},
	}
	for name, obj := range objects {
		defs[name] = objectSchema(obj)
	}
	s := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     "https://kcc.invalid/schema/flow.json",
		"title":   "kcc IVR flow",
		"$ref":    "#/$defs/flow",
		"$defs":   defs,
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		// The value above is plain maps, slices and strings.
		panic("ivr: marshal schema: " + err.Error())
	}
	return append(out, '\n')
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/$defs/" + name} }

func objectSchema(obj object) map[string]any {
	props := make(map[string]any, len(obj.fields))
	needs := map[string]any{}
	for _, f := range obj.fields {
		s := fieldSchema(f)
		s["description"] = f.doc
		if len(f.enum) > 0 {
			s = map[string]any{"description": f.doc, "enum": f.enum}
		}
		props[f.key] = s
		if len(f.needs) > 0 {
			needs[f.key] = f.needs
		}
	}
	s := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if obj.doc != "" {
		s["description"] = obj.doc
	}
	if len(obj.required) > 0 {
		s["required"] = obj.required
	}
	if len(needs) > 0 {
		s["dependentRequired"] = needs
	}
	if len(obj.oneOf) > 0 {
		alts := make([]any, len(obj.oneOf))
		for i, k := range obj.oneOf {
			alts[i] = map[string]any{"required": []string{k}}
		}
		s["oneOf"] = alts
	}
	return s
}

func fieldSchema(f field) map[string]any {
	switch f.kind {
	case kObject:
		return ref(f.sub)
	case kListOf:
		return map[string]any{"type": "array", "items": ref(f.sub)}
	case kMapOf:
		var elem map[string]any
		if f.elem == kObject {
			elem = ref(f.sub)
		} else {
			elem = kindSchema(f.elem, f.sub)
		}
		s := map[string]any{"type": "object", "additionalProperties": elem}
		if f.keys != "" {
			s["propertyNames"] = map[string]any{"pattern": f.keys}
		}
		return s
	}
	return kindSchema(f.kind, f.sub)
}

// kindSchema is the schema of a value of kind k.
func kindSchema(k valueKind, sub string) map[string]any {
	switch k {
	case kText:
		return map[string]any{"type": []string{"string", "number"}}
	case kScalar:
		return map[string]any{"type": []string{"string", "number", "boolean"}}
	case kInt:
		return map[string]any{"type": "integer"}
	case kBool:
		return map[string]any{"type": "boolean"}
	case kDuration:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	case kTexts:
		return map[string]any{"anyOf": []any{kindSchema(kText, ""), map[string]any{"type": "array", "items": kindSchema(kText, "")}}}
	case kPrompts:
		return ref("prompts")
	case kAction:
		return ref("action")
	case kSchedule:
		return map[string]any{"anyOf": []any{kindSchema(kText, ""), ref("schedule")}}
	case kHours:
		return ref("schedule")
	case kObject:
		return ref(sub)
	}
	return map[string]any{}
}

// scheduleKeys returns the keys of an opening-hours schedule, from the yaml
// tags of hours.Config, so a field added there is accepted here at once.
func scheduleKeys() []string {
	t := reflect.TypeFor[hours.Config]()
	keys := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// scheduleFields returns the index in hours.Config of the field of each key.
func scheduleFields() map[string]int {
	t := reflect.TypeFor[hours.Config]()
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = i
		}
	}
	return out
}

// scheduleSchema derives the schema of hours.Config by reflection over its
// fields and yaml tags.
func scheduleSchema() map[string]any {
	t := reflect.TypeFor[hours.Config]()
	props := map[string]any{}
	var required []string
	list := reflect.TypeFor[hours.StringList]()
	var typeSchema func(reflect.Type) map[string]any
	typeSchema = func(ft reflect.Type) map[string]any {
		switch {
		case ft == list:
			return map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, map[string]any{"type": "null"}}}
		case ft.Kind() == reflect.Map:
			return map[string]any{"type": "object", "additionalProperties": typeSchema(ft.Elem())}
		case ft.Kind() == reflect.String:
			return map[string]any{"type": "string"}
		}
		return map[string]any{}
	}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		props[name] = typeSchema(f.Type)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	s := map[string]any{
		"type":                 "object",
		"description":          "An opening-hours schedule (see package kcc/hours).",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}
