package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// pageTests check that every list pages by keyset: the pages, followed by
// the last id of each, are the whole list in its order, once each, ties
// included; and an After that names nothing is an empty page.
func pageTests() []struct {
	name string
	fn   func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PagesOfKeys", testPagesOfKeys},
		{"PagesOfTeams", testPagesOfTeams},
		{"PagesOfAudit", testPagesOfAudit},
		{"PagesOfRequests", testPagesOfRequests},
		{"PagesOfUsage", testPagesOfUsage},
	}
}

// pages reads a whole list n items at a time through get, and returns the
// ids in the order read.
func pages(t *testing.T, n int, get func(p store.Page) ([]string, error)) []string {
	t.Helper()
	var all []string
	p := store.Page{Limit: n}
	for range 100 {
		ids, err := get(p)
		if err != nil {
			t.Fatalf("page after %q: %v", p.After, err)
		}
		if len(ids) > n {
			t.Fatalf("page of %d items, limit %d", len(ids), n)
		}
		all = append(all, ids...)
		if len(ids) < n {
			return all
		}
		p.After = ids[len(ids)-1]
	}
	t.Fatal("the pages never end")
	return nil
}

func testPagesOfKeys(t *testing.T, s store.Store) {
	var want []string
	for n := 1; n <= 7; n++ {
		k := newKey(n)
		if n == 4 {
			k.CreatedAt = newKey(3).CreatedAt // a tie, broken by id
		}
		mustCreate(t, s, k)
		want = append(want, k.ID)
	}
	get := func(p store.Page) ([]string, error) {
		ks, err := s.ListKeys(ctx(t), p)
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.ID)
		}
		return ids, err
	}
	for _, n := range []int{1, 2, 3, 7, 100} {
		if got := pages(t, n, get); !slices.Equal(got, want) {
			t.Errorf("pages of %d: %v, want %v", n, got, want)
		}
	}
	if ids, err := get(store.Page{After: "key_none"}); err != nil || len(ids) != 0 {
		t.Errorf("after an unknown id: %v, %v", ids, err)
	}
}

func testPagesOfTeams(t *testing.T, s store.Store) {
	var want []string
	for n := range 5 {
		tm := store.Team{ID: fmt.Sprintf("team_%d", n), Name: fmt.Sprintf("t%d", n), CreatedAt: base.Add(time.Duration(n/2) * time.Second)}
		if err := s.CreateTeam(ctx(t), tm); err != nil {
			t.Fatal(err)
		}
		want = append(want, tm.ID)
	}
	get := func(p store.Page) ([]string, error) {
		ts, err := s.ListTeams(ctx(t), p)
		var ids []string
		for _, tm := range ts {
			ids = append(ids, tm.ID)
		}
		return ids, err
	}
	if got := pages(t, 2, get); !slices.Equal(got, want) {
		t.Errorf("pages: %v, want %v", got, want)
	}
}

func testPagesOfAudit(t *testing.T, s store.Store) {
	for i := range 5 {
		if err := s.AppendAudit(ctx(t), store.AuditEntry{Time: base, Actor: "a", Action: "key.create", Target: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(p store.Page) ([]string, error) {
		es, err := s.Audit(ctx(t), p)
		var ids []string
		for _, e := range es {
			ids = append(ids, strconv.FormatInt(e.ID, 10))
		}
		return ids, err
	}
	all, _ := get(store.Page{})
	if len(all) != 5 {
		t.Fatalf("audit = %v", all)
	}
	if got := pages(t, 2, get); !slices.Equal(got, all) {
		t.Errorf("pages: %v, want %v", got, all)
	}
	if ids, err := get(store.Page{After: "not a number"}); err != nil || len(ids) != 0 {
		t.Errorf("after a bad id: %v, %v", ids, err)
	}
}

func testPagesOfRequests(t *testing.T, s store.Store) {
	var logs []store.RequestLog
	for i := range 12 {
		r := fullLog(i)
		r.KeyID = []string{"key_a", "key_b"}[i%2]
		if i%3 == 0 {
			r.Time = fullLog(i + 1).Time // ties, broken by insertion order
		}
		logs = append(logs, r)
	}
	if err := s.InsertRequests(ctx(t), logs); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "key_a"} {
		get := func(p store.Page) ([]string, error) {
			rs, err := s.Requests(ctx(t), store.RequestFilter{KeyID: key, Limit: p.Limit, After: p.After})
			var ids []string
			for _, r := range rs {
				ids = append(ids, r.ID)
			}
			return ids, err
		}
		want, _ := get(store.Page{Limit: 100})
		for _, n := range []int{1, 2, 5} {
			if got := pages(t, n, get); !slices.Equal(got, want) {
				t.Errorf("key %q, pages of %d: %v, want %v", key, n, got, want)
			}
		}
	}
}

func testPagesOfUsage(t *testing.T, s store.Store) {
	if err := s.InsertRequests(ctx(t), usageLogs()); err != nil {
		t.Fatal(err)
	}
	dims := []string{"key", "day"}
	whole, err := s.Usage(ctx(t), store.UsageFilter{GroupBy: dims})
	if err != nil || len(whole) != 4 {
		t.Fatalf("usage = %v, %v", whole, err)
	}
	var got []store.UsageRow
	f := store.UsageFilter{GroupBy: dims, Limit: 1}
	for range 10 {
		rows, err := s.Usage(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rows...)
		if len(rows) == 0 {
			break
		}
		last := rows[len(rows)-1]
		f.After = []string{last.Key, last.Day}
	}
	if !reflect.DeepEqual(got, whole) {
		t.Errorf("pages =\n%+v\nwant\n%+v", got, whole)
	}
	if _, err := s.Usage(ctx(t), store.UsageFilter{GroupBy: dims, After: []string{"key_a"}}); err == nil {
		t.Error("After with fewer values than dimensions accepted")
	}
}
