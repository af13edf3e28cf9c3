package anthropicwire

import (
	"os"
	"path/filepath"
	"testing"
)

// transcript reads a recorded vendor answer. The Anthropic transcripts are
// replayed by the fake upstream byte for byte, so the file is the body;
// reading it directly also serves the fuzz tests, which have no *testing.T.
func transcript(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fakeupstream", "transcripts", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
