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
