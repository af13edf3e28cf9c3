package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// SanitizeSchema rewrites a JSON Schema into the OpenAPI 3.0 subset that
// Gemini's parameters and responseSchema fields accept, which reject
// whole requests over keywords they do not know
// (docs/protocols.md#trap-gemini-schema).
// The adapter prefers parametersJsonSchema and responseJsonSchema, which
// take JSON Schema as it is, and uses SanitizeSchema only when the
// configured Developer API version (api_version, or the end of base_url)
// is neither v1beta nor v1alpha.
//
// The rules, each tested:
//
//   - $ref to #/$defs/… or #/definitions/… is inlined, and $defs and
//     definitions removed; a recursive or unresolvable $ref is an error,
//     since the subset cannot express it.
//   - const becomes a one-value enum.
//   - type ["T", "null"] becomes type T with nullable true.
//   - oneOf becomes anyOf (the subset has only anyOf).
//   - format is kept only where Gemini knows it (date-time and enum for
//     strings; int32, int64, float, double for numbers).
//   - enum is a string enum in the subset: an untyped enum becomes a
//     string enum, and a typed non-string enum is dropped.
//   - every other keyword not in the subset is dropped: additionalProperties,
//     $schema, $id, patternProperties, unevaluatedProperties, not, if/then/
//     else, examples, and the like.
func SanitizeSchema(schema json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, errors.New("the schema is not valid JSON")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, errors.New("the schema must be a JSON object")
	}
	s := sanitizer{defs: map[string]any{}}
	for _, key := range []string{"$defs", "definitions"} {
		if defs, ok := obj[key].(map[string]any); ok {
			for name, d := range defs {
				s.defs["#/"+key+"/"+name] = d
			}
		}
	}
	out, err := s.schema(obj, nil)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// subsetKeys are the Schema fields Gemini's OpenAPI subset accepts, with
// how their values are read: a schema, a map of schemas, a list of schemas
// or a plain value.
var subsetKeys = map[string]string{
	"type": "value", "format": "value", "title": "value", "description": "value",
	"nullable": "value", "enum": "value", "maxItems": "value", "minItems": "value",
	"properties": "map", "required": "value", "minProperties": "value",
	"maxProperties": "value", "minLength": "value", "maxLength": "value",
	"pattern": "value", "example": "value", "anyOf": "list",
	"propertyOrdering": "value", "default": "value", "items": "schema",
	"minimum": "value", "maximum": "value",
}

var knownFormats = map[string]bool{
	"date-time": true, "enum": true, "int32": true, "int64": true, "float": true, "double": true,
}

// maxSchemaDepth bounds $ref inlining and nesting, so that a hostile
// schema cannot make the gateway expand it without limit.
const maxSchemaDepth = 64

type sanitizer struct {
	defs map[string]any
}

func (s *sanitizer) schema(v any, refs []string) (any, error) {
	if len(refs) > maxSchemaDepth {
		return nil, errors.New("the schema nests too deeply")
	}
	in, ok := v.(map[string]any)
	if !ok {
		// true/false schemas and garbage: the subset has no such thing,
		// and an empty schema accepts anything, like true.
		return map[string]any{}, nil
	}
	if ref, ok := in["$ref"].(string); ok {
		for _, r := range refs {
			if r == ref {
				return nil, fmt.Errorf("the schema is recursive through %s, which Gemini's schema subset cannot express", ref)
			}
		}
		def, ok := s.defs[ref]
		if !ok {
			return nil, fmt.Errorf("the schema refers to %s, which it does not define", ref)
		}
		resolved, err := s.schema(def, append(refs, ref))
		if err != nil {
			return nil, err
		}
		// Sibling keywords (description, mostly) override the definition's.
		out := resolved.(map[string]any)
		rest := make(map[string]any, len(in))
		for k, v := range in {
			if k != "$ref" {
				rest[k] = v
			}
		}
		if len(rest) > 0 {
			sib, err := s.schema(rest, refs)
			if err != nil {
				return nil, err
			}
			merged := make(map[string]any, len(out))
			for k, v := range out {
				merged[k] = v
			}
			for k, v := range sib.(map[string]any) {
				merged[k] = v
			}
			out = merged
		}
		return out, nil
	}
	out := map[string]any{}
	for k, v := range in {
		if k == "oneOf" {
			k = "anyOf"
			if _, both := in["anyOf"]; both {
				continue // anyOf wins; the subset has one list
			}
		}
		kind, ok := subsetKeys[k]
		if !ok {
			continue
		}
		switch kind {
		case "schema":
			sub, err := s.schema(v, refs)
			if err != nil {
				return nil, err
			}
			out[k] = sub
		case "map":
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props := make(map[string]any, len(m))
			for name, sv := range m {
				sub, err := s.schema(sv, refs)
				if err != nil {
					return nil, err
				}
				props[name] = sub
			}
			out[k] = props
		case "list":
			l, ok := v.([]any)
			if !ok {
				continue
			}
			list := make([]any, 0, len(l))
			for _, sv := range l {
				sub, err := s.schema(sv, refs)
				if err != nil {
					return nil, err
				}
				list = append(list, sub)
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	if c, ok := in["const"]; ok {
		out["enum"] = []any{c}
	}
	if types, ok := out["type"].([]any); ok {
		var kept []any
		for _, t := range types {
			if t == "null" {
				out["nullable"] = true
			} else {
				kept = append(kept, t)
			}
		}
		switch len(kept) {
		case 0:
			delete(out, "type")
		case 1:
			out["type"] = kept[0]
		default:
			// Several types: anyOf one schema per type.
			delete(out, "type")
			alts := make([]any, len(kept))
			for i, t := range kept {
				alts[i] = map[string]any{"type": t}
			}
			out["anyOf"] = alts
		}
	}
	if f, ok := out["format"].(string); ok && !knownFormats[f] {
		delete(out, "format")
	}
	if e, ok := out["enum"].([]any); ok {
		// The subset's enum is a string enum: a typed non-string enum
		// loses its enum rather than its type.
		if t, typed := out["type"]; typed && t != "string" {
			delete(out, "enum")
		} else {
			strs := make([]any, len(e))
			for i, v := range e {
				switch v := v.(type) {
				case string:
					strs[i] = v
				case json.Number:
					strs[i] = v.String()
				default:
					b, _ := json.Marshal(v)
					strs[i] = strings.Trim(string(b), `"`)
				}
			}
			out["type"], out["enum"] = "string", strs
		}
	}
	return out, nil
}
