// Package scripts holds the repository's shell scripts; its tests run them.
package scripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func checkTree(t *testing.T, dir string) (string, error) {
	t.Helper()
	cmd := exec.Command("./check-tree.sh", dir)
	cmd.Env = append(os.Environ(), "CHECK_TREE_MAX_BYTES=4096")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// check-tree.sh refuses binaries, databases and large files that are
// tracked or staged, and accepts a tree of sources.
func TestCheckTree(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "logo.png"), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o644)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "sources")
	if out, err := checkTree(t, dir); err != nil {
		t.Fatalf("a clean tree is refused: %v\n%s", err, out)
	}

	bad := map[string][]byte{
		"tool":             append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 64)...),
		"tool-darwin":      append([]byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, make([]byte, 64)...),
		"state.bin":        append([]byte("SQLite format 3\x00"), make([]byte, 64)...),
		"cmd/x/x.test":     []byte("anything"),
		"cmd/x/x.db":       []byte(""),
		"testdata/big.txt": bytes.Repeat([]byte("a"), 5000),
	}
	for name, body := range bad {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), body, 0o644)
	}
	git(t, dir, "add", ".") // staged only: what the next commit would hold
	out, err := checkTree(t, dir)
	if err == nil {
		t.Fatalf("binaries and databases accepted:\n%s", out)
	}
	for name, why := range map[string]string{"tool": "ELF", "tool-darwin": "Mach-O", "state.bin": "SQLite", "cmd/x/x.test": "test binary",
		"cmd/x/x.db": "database file", "testdata/big.txt": "5000 bytes"} {
		if !strings.Contains(out, name+": ") || !strings.Contains(out, why) {
			t.Errorf("output does not name %s (%s):\n%s", name, why, out)
		}
	}
	if strings.Contains(out, "main.go") || strings.Contains(out, "logo.png") {
		t.Errorf("a source or an image is refused:\n%s", out)
	}
}

// The repository itself holds no binaries or databases.
func TestRepositoryTree(t *testing.T) {
	cmd := exec.Command("./check-tree.sh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%v\n%s", err, out)
	}
}
