package gemini_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/provider/gemini"
)

// One test per sanitizer rule (docs/protocols.md#trap-gemini-schema): each
// input is a JSON Schema Gemini's OpenAPI-subset fields reject, each
// output what they accept.
func TestPitfall12_SanitizeSchema(t *testing.T) {
	for _, tc := range []struct{ rule, in, want string }{
		{"drop additionalProperties",
			`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
			`{"properties":{"a":{"type":"string"}},"type":"object"}`},
		{"drop unknown keywords",
			`{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","type":"object","patternProperties":{"^x":{}},"examples":[{}],"not":{"type":"null"}}`,
			`{"type":"object"}`},
		{"inline $defs ref",
			`{"type":"object","properties":{"home":{"$ref":"#/$defs/addr"}},"$defs":{"addr":{"type":"object","properties":{"city":{"type":"string"}}}}}`,
			`{"properties":{"home":{"properties":{"city":{"type":"string"}},"type":"object"}},"type":"object"}`},
		{"inline definitions ref, siblings win",
			`{"type":"array","items":{"$ref":"#/definitions/n","description":"a count"},"definitions":{"n":{"type":"integer","description":"n"}}}`,
			`{"items":{"description":"a count","type":"integer"},"type":"array"}`},
		{"const to enum",
			`{"type":"object","properties":{"kind":{"const":"circle"}}}`,
			`{"properties":{"kind":{"enum":["circle"],"type":"string"}},"type":"object"}`},
		{"nullable type list",
			`{"type":["string","null"]}`,
			`{"nullable":true,"type":"string"}`},
		{"several types to anyOf",
			`{"type":["string","integer"]}`,
			`{"anyOf":[{"type":"string"},{"type":"integer"}]}`},
		{"oneOf to anyOf",
			`{"oneOf":[{"type":"string"},{"type":"number","additionalProperties":true}]}`,
			`{"anyOf":[{"type":"string"},{"type":"number"}]}`},
		{"drop unsupported format, keep supported",
			`{"type":"object","properties":{"e":{"type":"string","format":"email"},"t":{"type":"string","format":"date-time"},"n":{"type":"integer","format":"int64"}}}`,
			`{"properties":{"e":{"type":"string"},"n":{"format":"int64","type":"integer"},"t":{"format":"date-time","type":"string"}},"type":"object"}`},
		{"untyped enum becomes a string enum",
			`{"enum":["a",1,true]}`,
			`{"enum":["a","1","true"],"type":"string"}`},
		{"typed non-string enum dropped",
			`{"type":"integer","enum":[1,2]}`,
			`{"type":"integer"}`},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			got, err := gemini.SanitizeSchema(json.RawMessage(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPitfall12_SanitizeSchemaErrors(t *testing.T) {
	for _, tc := range []struct{ rule, in, want string }{
		{"recursive ref", `{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`, "recursive"},
		{"unresolvable ref", `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`, "does not define"},
		{"not an object", `["string"]`, "JSON object"},
		{"not JSON", `{"type":`, "not valid JSON"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			_, err := gemini.SanitizeSchema(json.RawMessage(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
