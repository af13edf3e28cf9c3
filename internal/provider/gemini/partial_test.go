package gemini

import (
	"encoding/json"
	"strings"
	"testing"
)

func frags(t *testing.T, js string) []partialArg {
	t.Helper()
	var f []partialArg
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// Vertex's partialArgs, assembled by JSON path: members in first-seen
// order, strings joined across fragments while willContinue, later values
// replacing earlier ones, and paths this parser cannot read skipped.
func TestPartialArgsAssembly(t *testing.T) {
	for _, tc := range []struct{ name, frags, want string }{
		{"split string",
			`[{"jsonPath":"$.q","stringValue":"hel","willContinue":true},{"jsonPath":"$.q","stringValue":"lo"}]`,
			`{"q":"hello"}`},
		{"new fragment of a finished string replaces it",
			`[{"jsonPath":"$.q","stringValue":"a"},{"jsonPath":"$.q","stringValue":"b"}]`,
			`{"q":"b"}`},
		{"nested and arrays",
			`[{"jsonPath":"$.user.name","stringValue":"Ann"},{"jsonPath":"$.tags[1]","stringValue":"x"},` +
				`{"jsonPath":"$['odd key'].n","numberValue":1.5},{"jsonPath":"$.ok","boolValue":true},{"jsonPath":"$.none","nullValue":null}]`,
			`{"user":{"name":"Ann"},"tags":[null,"x"],"odd key":{"n":1.5},"ok":true,"none":null}`},
		{"escaping",
			`[{"jsonPath":"$.s","stringValue":"<\"\n\">"}]`,
			`{"s":"<\"\n\">"}`},
		{"bad paths skipped",
			`[{"jsonPath":"q","stringValue":"x"},{"jsonPath":"$..q","stringValue":"x"},{"jsonPath":"$[x]","stringValue":"x"},` +
				`{"jsonPath":"$.a","stringValue":"s"},{"jsonPath":"$.a.b","stringValue":"through a string"},{"jsonPath":"$.k","stringValue":"v"}]`,
			`{"a":"s","k":"v"}`},
		{"not a number",
			`[{"jsonPath":"$.n","numberValue":"12"}]`,
			`{"n":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pc pendingCall
			if err := pc.apply(frags(t, tc.frags)); err != nil {
				t.Fatal(err)
			}
			if got := pc.tree.json(); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(pc.tree.json())) {
				t.Error("invalid JSON")
			}
		})
	}
}

// A path of many large indices cannot make the decoder build a huge
// value.
func TestPartialArgsBounded(t *testing.T) {
	path := "$" + strings.Repeat("[4096]", 100)
	var pc pendingCall
	if err := pc.apply([]partialArg{{JSONPath: path, BoolValue: new(bool)}}); err != nil {
		t.Fatal(err)
	}
	if pc.nodes > maxArgNodes+4097 {
		t.Errorf("created %d nodes", pc.nodes)
	}
	if got := pc.tree.json(); got != "{}" {
		t.Errorf("args = %.40s", got)
	}
}
