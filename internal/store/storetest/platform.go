package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// The platform's records: key scopes, teams, usage, spend and the audit log.

func scopedKey(n int) store.Key {
	k := newKey(n)
	exp := base.Add(48 * time.Hour)
	k.TeamID = "team_a"
	k.Limits = store.Limits{RPM: 60, TPM: 100000, Budget: 12_345_678, BudgetPeriod: "day"}
	k.ExpiresAt = &exp
	k.Metadata = map[string]string{"app": "checkout", "owner": "ana ✓"}
	return k
}

func testKeyScopes(t *testing.T, s store.Store) {
	k := scopedKey(1)
	mustCreate(t, s, k)
	got, err := s.KeyByHash(ctx(t), k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, k) {
		t.Errorf("KeyByHash =\n%+v\nwant\n%+v", got, k)
	}
	ks, err := s.ListKeys(ctx(t), store.Page{})
	if err != nil || len(ks) != 1 || !reflect.DeepEqual(ks[0], k) {
		t.Errorf("ListKeys = %+v, %v", ks, err)
	}
}

func testKeyByIDOrName(t *testing.T, s store.Store) {
	a, b := newKey(1), newKey(2)
	b.Name = a.ID // b's name is a's id: the id match wins
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	for _, tc := range []struct{ q, want string }{{a.ID, a.ID}, {a.Name, a.ID}, {b.ID, b.ID}} {
		got, err := s.Key(ctx(t), tc.q)
		if err != nil || got.ID != tc.want {
			t.Errorf("Key(%q) = %s, %v; want %s", tc.q, got.ID, err, tc.want)
		}
	}
	if _, err := s.Key(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Key(nope) = %v, want ErrNotFound", err)
	}
}

func testUpdateKey(t *testing.T, s store.Store) {
	k := newKey(1)
	mustCreate(t, s, k)
	u := scopedKey(1)
	u.Name, u.Hash, u.Prefix = "ignored", "ignored", "ignored" // not mutable
	if err := s.UpdateKey(ctx(t), u); err != nil {
		t.Fatal(err)
	}
	got, err := s.Key(ctx(t), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := scopedKey(1)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after UpdateKey =\n%+v\nwant\n%+v", got, want)
	}
	// Clearing works too.
	if err := s.UpdateKey(ctx(t), k); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Key(ctx(t), k.ID); !reflect.DeepEqual(got, k) {
		t.Errorf("after clearing =\n%+v\nwant\n%+v", got, k)
	}
	if err := s.UpdateKey(ctx(t), newKey(9)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateKey(missing) = %v, want ErrNotFound", err)
	}
}

func testTeams(t *testing.T, s store.Store) {
	a := store.Team{ID: "team_a", Name: "search", Limits: store.Limits{RPM: 5, Budget: 1_000_000, BudgetPeriod: "month"},
		Metadata: map[string]string{"cost_center": "42"}, CreatedAt: base}
	b := store.Team{ID: "team_b", Name: "ads", CreatedAt: base.Add(time.Second)}
	for _, tm := range []store.Team{a, b} {
		if err := s.CreateTeam(ctx(t), tm); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateTeam(ctx(t), store.Team{ID: "team_c", Name: "ads"}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("duplicate name: %v", err)
	}
	got, err := s.Team(ctx(t), "search")
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("Team(search) = %+v, %v; want %+v", got, err, a)
	}
	a.Limits.TPM, a.Metadata = 999, nil
	if err := s.UpdateTeam(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	ts, err := s.ListTeams(ctx(t), store.Page{})
	if err != nil || len(ts) != 2 || !reflect.DeepEqual(ts[0], a) || !reflect.DeepEqual(ts[1], b) {
		t.Errorf("ListTeams = %+v, %v", ts, err)
	}
	if err := s.UpdateTeam(ctx(t), store.Team{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateTeam(missing) = %v", err)
	}
	if _, err := s.Team(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Team(missing) = %v", err)
	}
}

// usageLogs: two days, two keys in two teams, two models; one shadow.
func usageLogs() []store.RequestLog {
	day := time.Date(2025, 3, 14, 23, 59, 0, 0, time.UTC)
	var logs []store.RequestLog
	for i := range 8 {
		l := store.RequestLog{
			ID:       fmt.Sprintf("req_u%d", i),
			Time:     day.Add(time.Duration(i) * 30 * time.Second), // i >= 2: the next day
			KeyID:    []string{"key_a", "key_b"}[i%2],
			TeamID:   []string{"team_a", "team_b"}[i%2],
			Provider: "openai",
			Model:    []string{"gpt-4o", "gpt-4o-mini"}[i/4],
			Usage:    llm.Usage{InputTokens: int64(10 * (i + 1)), OutputTokens: int64(i + 1), CachedInputTokens: 1},
			Cost:     int64(1000 * (i + 1)),
		}
		logs = append(logs, l)
	}
	shadow := logs[0]
	shadow.ID, shadow.ParentID, shadow.Cost = "req_shadow", "req_u0", 1e9
	return append(logs, shadow)
}

func testUsage(t *testing.T, s store.Store) {
	if err := s.InsertRequests(ctx(t), usageLogs()); err != nil {
		t.Fatal(err)
	}
	usage := func(f store.UsageFilter) []store.UsageRow {
		t.Helper()
		rows, err := s.Usage(ctx(t), f)
		if err != nil {
			t.Fatalf("Usage(%+v): %v", f, err)
		}
		return rows
	}
	// Costs 1000..8000 sum to 36000; the shadow is not counted.
	if got := usage(store.UsageFilter{}); len(got) != 1 || got[0].Cost != 36000 || got[0].Requests != 8 ||
		got[0].InputTokens != 360 || got[0].OutputTokens != 36 || got[0].CachedTokens != 8 {
		t.Errorf("total = %+v", got)
	}
	want := []store.UsageRow{
		{Key: "key_a", Day: "2025-03-14", Requests: 1, InputTokens: 10, OutputTokens: 1, CachedTokens: 1, Cost: 1000},
		{Key: "key_a", Day: "2025-03-15", Requests: 3, InputTokens: 30 + 50 + 70, OutputTokens: 3 + 5 + 7, CachedTokens: 3, Cost: 15000},
		{Key: "key_b", Day: "2025-03-14", Requests: 1, InputTokens: 20, OutputTokens: 2, CachedTokens: 1, Cost: 2000},
		{Key: "key_b", Day: "2025-03-15", Requests: 3, InputTokens: 40 + 60 + 80, OutputTokens: 4 + 6 + 8, CachedTokens: 3, Cost: 18000},
	}
	if got := usage(store.UsageFilter{GroupBy: []string{"key", "day"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("by key, day =\n%+v\nwant\n%+v", got, want)
	}
	got := usage(store.UsageFilter{GroupBy: []string{"team", "model", "provider"},
		From: time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 15, 0, 2, 0, 0, time.UTC)})
	// From midnight, before 00:02: i = 2, 3, 4, 5 (00:00, 00:00:30, 00:01, 00:01:30).
	want = []store.UsageRow{
		{Team: "team_a", Model: "gpt-4o", Provider: "openai", Requests: 1, InputTokens: 30, OutputTokens: 3, CachedTokens: 1, Cost: 3000},
		{Team: "team_a", Model: "gpt-4o-mini", Provider: "openai", Requests: 1, InputTokens: 50, OutputTokens: 5, CachedTokens: 1, Cost: 5000},
		{Team: "team_b", Model: "gpt-4o", Provider: "openai", Requests: 1, InputTokens: 40, OutputTokens: 4, CachedTokens: 1, Cost: 4000},
		{Team: "team_b", Model: "gpt-4o-mini", Provider: "openai", Requests: 1, InputTokens: 60, OutputTokens: 6, CachedTokens: 1, Cost: 6000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("by team, model, provider in range =\n%+v\nwant\n%+v", got, want)
	}
	if got := usage(store.UsageFilter{KeyID: "nobody"}); len(got) != 0 {
		t.Errorf("no match = %+v", got)
	}
	if _, err := s.Usage(ctx(t), store.UsageFilter{GroupBy: []string{"1; DROP TABLE request_logs"}}); err == nil {
		t.Error("an unknown dimension is accepted")
	}
}

func testSpend(t *testing.T, s store.Store) {
	if err := s.InsertRequests(ctx(t), usageLogs()); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		id   string
		team bool
		want int64
	}{
		{"key_a", false, 3000 + 5000 + 7000},
		{"team_b", true, 4000 + 6000 + 8000},
		{"key_a", true, 0},
	} {
		got, err := s.Spend(ctx(t), tc.id, tc.team, since)
		if err != nil || got != tc.want {
			t.Errorf("Spend(%s, team=%v) = %d, %v; want %d", tc.id, tc.team, got, err, tc.want)
		}
	}
}

func testAudit(t *testing.T, s store.Store) {
	for i := range 3 {
		e := store.AuditEntry{Time: base.Add(time.Duration(i) * time.Second), Actor: "admin:ab12cd34",
			Action: "key.create", Target: fmt.Sprintf("key_%d", i), Detail: `{"name":"x"}`}
		if err := s.AppendAudit(ctx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx(t), store.Page{Limit: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("Audit(2) = %+v, %v", got, err)
	}
	if got[0].Target != "key_2" || got[1].Target != "key_1" || !got[0].Time.Equal(base.Add(2*time.Second)) ||
		got[0].Actor != "admin:ab12cd34" || got[0].Detail != `{"name":"x"}` || got[0].ID <= got[1].ID {
		t.Errorf("Audit = %+v", got)
	}
	assertUTC(t, "audit time", got[0].Time)
}

func testSecrets(t *testing.T, s store.Store) {
	sealed := []byte{0, 1, 2, 0xff, 0, 'x'} // binary, with NULs
	if err := s.PutSecret(ctx(t), "openai", sealed); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSecret(ctx(t), "deepseek", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSecret(ctx(t), "deepseek", []byte("b")); err != nil { // replaces
		t.Fatal(err)
	}
	got, err := s.Secrets(ctx(t))
	if err != nil || len(got) != 2 || got[0].Name != "deepseek" || string(got[0].Sealed) != "b" ||
		got[1].Name != "openai" || !reflect.DeepEqual(got[1].Sealed, sealed) || got[1].UpdatedAt.IsZero() {
		t.Fatalf("Secrets = %+v, %v", got, err)
	}
	if err := s.DeleteSecret(ctx(t), "openai"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSecret(ctx(t), "openai"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if got, _ := s.Secrets(ctx(t)); len(got) != 1 {
		t.Errorf("after delete: %+v", got)
	}
}
