package server

import (
	"strings"
	"testing"
	"time"
)

func TestNewIDSortsByTime(t *testing.T) {
	a := newID("req_")
	time.Sleep(2 * time.Millisecond)
	b := newID("req_")
	if !strings.HasPrefix(a, "req_") || len(a) != 4+32 || a >= b {
		t.Errorf("ids %s then %s", a, b)
	}
	seen := map[string]bool{}
	for range 10000 {
		id := newID("")
		if seen[id] {
			t.Fatal("duplicate id")
		}
		seen[id] = true
	}
}

func TestRedact(t *testing.T) {
	if got := redact("sk-sy-abcdefghijklmnopqrstuvwxyz"); got != "sk-sy-****wxyz" || strings.Contains(got, "klmn") {
		t.Error(got)
	}
	if redact("short") != "****" {
		t.Error("short secret shown")
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789abc", 10, "0123456…"},
		{"ééééé", 8, "éé…"}, // never half a rune
		{"abc", 2, "ab"},
	} {
		if got := clip(tc.in, tc.n); got != tc.want || len(got) > tc.n {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
