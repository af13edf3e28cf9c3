package openaiwire_test

import (
	"encoding/json"
	"regexp"
	"testing"

	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

var created = regexp.MustCompile(`"created":\d+`)

// goldenStream compares an SSE stream with a golden file byte for byte,
// but for the creation time the encoder takes from the clock.
func goldenStream(t *testing.T, name string, out []byte) {
	t.Helper()
	pt.Golden(t, name, created.ReplaceAll(out, []byte(`"created":0`)))
}

// goldenJSON compares a JSON body, indented, with a golden file.
func goldenJSON(t *testing.T, name string, body []byte) {
	t.Helper()
	pt.Golden(t, name, indentJSON(t, body))
}
