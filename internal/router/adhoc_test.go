package router

import (
	"fmt"
	"testing"
)

// Client-invented provider/model names cannot grow the router's health
// map past its bound, and the targets the config names keep their own.
func TestAdHocTargetsBounded(t *testing.T) {
	r, _ := testRouter(t)
	p := stub{"p"}
	configured := Target{Provider: p, Model: "real"}
	r.known = map[string]bool{configured.String(): true}
	for i := range 3 * maxAdHocTargets {
		r.health(Target{Provider: p, Model: fmt.Sprint("bogus-", i)})
	}
	n := 0
	r.targets.Range(func(any, any) bool { n++; return true })
	if n > maxAdHocTargets+1 {
		t.Fatalf("%d health entries after %d invented names; want at most %d", n, 3*maxAdHocTargets, maxAdHocTargets+1)
	}
	// The overflow shares one entry; a configured target still has its own.
	a, b := r.health(Target{Provider: p, Model: "bogus-x"}), r.health(Target{Provider: p, Model: "bogus-y"})
	if a != b {
		t.Error("targets past the bound do not share their provider's entry")
	}
	if r.health(configured) == a {
		t.Error("a configured target was given the shared entry")
	}
	// A reload inherits the entries and their count.
	r2, _ := testRouter(t)
	r2.known = r.known
	r2.InheritHealth(r)
	if got := r2.adHoc.Load(); got != r.adHoc.Load() {
		t.Errorf("inherited count %d, want %d", got, r.adHoc.Load())
	}
}
