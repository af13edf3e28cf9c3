// Package storetest is the conformance suite every store.Store
// implementation must pass. A driver's test calls Run with a function that
// opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// Run runs the suite. open must return a new, empty store for each call and
// arrange its cleanup (t.Cleanup); Run closes the stores it opens.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"CreateKeyRoundTrip", testCreateKeyRoundTrip},
		{"CreateKeyDefaults", testCreateKeyDefaults},
		{"CreateKeyValidation", testCreateKeyValidation},
		{"KeyByHashNotFound", testKeyByHashNotFound},
		{"DuplicateKey", testDuplicateKey},
		{"ListKeys", testListKeys},
		{"RevokeKey", testRevokeKey},
		{"RevokeKeyIDWinsOverName", testRevokeIDWinsOverName},
		{"InsertRequestsRoundTrip", testInsertRoundTrip},
		{"InsertRequestsEmpty", testInsertEmpty},
		{"InsertRequestsLargeBatch", testInsertLargeBatch},
		{"InsertRequestsRetryIsIdempotent", testInsertRetry},
		{"InsertRequestsAtomic", testInsertAtomic},
		{"InsertRequestsHostileText", testInsertHostileText},
		{"InsertRequestsConcurrent", testInsertConcurrent},
		{"RequestsFilterAndOrder", testRequestsFilterAndOrder},
		{"RequestsDefaultLimit", testRequestsDefaultLimit},
		{"CanceledContext", testCanceledContext},
		{"KeyScopesRoundTrip", testKeyScopes},
		{"KeyByIDOrName", testKeyByIDOrName},
		{"UpdateKey", testUpdateKey},
		{"Teams", testTeams},
		{"UsageGrouping", testUsage},
		{"Spend", testSpend},
		{"Audit", testAudit},
		{"Secrets", testSecrets},
	}
	tests = append(tests, evalTests()...)
	tests = append(tests, pageTests()...)
	tests = append(tests, responseTests()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// base is a fixed time with sub-microsecond digits stripped: stores keep
// microseconds.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

func newKey(n int) store.Key {
	return store.Key{
		ID:        fmt.Sprintf("key_%04d", n),
		Name:      fmt.Sprintf("name-%04d", n),
		Prefix:    fmt.Sprintf("sk-sy-%04d", n),
		Hash:      fmt.Sprintf("%064x", n),
		Models:    []string{"openai/*", "chat-default"},
		CreatedAt: base.Add(time.Duration(n) * time.Second),
	}
}

func mustCreate(t *testing.T, s store.Store, k store.Key) {
	t.Helper()
	if err := s.CreateKey(ctx(t), k); err != nil {
		t.Fatalf("CreateKey(%s): %v", k.ID, err)
	}
}

func assertUTC(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, tm.Location())
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCreateKeyRoundTrip(t *testing.T, s store.Store) {
	k := newKey(1)
	// A non-UTC zone must come back as the same instant, in UTC.
	k.CreatedAt = k.CreatedAt.In(time.FixedZone("X", 5*3600+1800))
	mustCreate(t, s, k)
	got, err := s.KeyByHash(ctx(t), k.Hash)
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	assertUTC(t, "CreatedAt", got.CreatedAt)
	if !got.CreatedAt.Equal(k.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, k.CreatedAt)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if !reflect.DeepEqual(got, k) {
		t.Errorf("KeyByHash =\n%+v\nwant\n%+v", got, k)
	}

	// A key created already revoked keeps its RevokedAt.
	k2 := newKey(2)
	rev := base.Add(time.Hour)
	k2.RevokedAt = &rev
	mustCreate(t, s, k2)
	got, err = s.KeyByHash(ctx(t), k2.Hash)
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(rev) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, rev)
	}
}

func testCreateKeyDefaults(t *testing.T, s store.Store) {
	k := newKey(1)
	k.Models = nil
	k.CreatedAt = time.Time{}
	before := time.Now().Add(-time.Second)
	mustCreate(t, s, k)
	got, err := s.KeyByHash(ctx(t), k.Hash)
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	if got.Models != nil {
		t.Errorf("Models = %#v, want nil (all models)", got.Models)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
	}
	assertUTC(t, "CreatedAt", got.CreatedAt)

	k2 := newKey(2)
	k2.Models = []string{}
	mustCreate(t, s, k2)
	got, err = s.KeyByHash(ctx(t), k2.Hash)
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	if len(got.Models) != 0 {
		t.Errorf("Models = %#v, want empty", got.Models)
	}
}

func testCreateKeyValidation(t *testing.T, s store.Store) {
	for _, mut := range []func(*store.Key){
		func(k *store.Key) { k.ID = "" },
		func(k *store.Key) { k.Name = "" },
		func(k *store.Key) { k.Hash = "" },
	} {
		k := newKey(1)
		mut(&k)
		if err := s.CreateKey(ctx(t), k); err == nil {
			t.Errorf("CreateKey(%+v) succeeded, want error", k)
		}
	}
	keys, err := s.ListKeys(ctx(t), store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("ListKeys after invalid creates = %d keys, want 0", len(keys))
	}
}

func testKeyByHashNotFound(t *testing.T, s store.Store) {
	if _, err := s.KeyByHash(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByHash(unknown) error = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, newKey(1))
	if _, err := s.KeyByHash(ctx(t), strings.ToUpper(newKey(1).Hash)+"0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByHash(other) error = %v, want ErrNotFound", err)
	}
}

func testDuplicateKey(t *testing.T, s store.Store) {
	k := newKey(1)
	mustCreate(t, s, k)

	cases := []struct {
		what string
		mut  func(*store.Key)
		msg  string
	}{
		{"name", func(d *store.Key) { d.ID, d.Hash = "key_other1", "hash-other1" }, k.Name},
		{"id", func(d *store.Key) { d.Name, d.Hash = "other-name2", "hash-other2" }, k.ID},
		{"hash", func(d *store.Key) { d.ID, d.Name = "key_other3", "other-name3" }, "secret"},
	}
	for _, c := range cases {
		d := newKey(1)
		c.mut(&d)
		err := s.CreateKey(ctx(t), d)
		if !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("duplicate %s: error = %v, want ErrDuplicate", c.what, err)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("duplicate %s: error %q does not mention %q", c.what, err, c.msg)
		}
	}

	// A revoked key's name stays taken.
	if err := s.RevokeKey(ctx(t), k.ID); err != nil {
		t.Fatal(err)
	}
	d := newKey(2)
	d.Name = k.Name
	if err := s.CreateKey(ctx(t), d); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("reusing a revoked key's name: error = %v, want ErrDuplicate", err)
	}

	keys, err := s.ListKeys(ctx(t), store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("ListKeys = %d keys, want 1", len(keys))
	}
}

func testListKeys(t *testing.T, s store.Store) {
	keys, err := s.ListKeys(ctx(t), store.Page{})
	if err != nil {
		t.Fatalf("ListKeys(empty): %v", err)
	}
	if len(keys) != 0 {
		t.Fatalf("ListKeys(empty) = %v", keys)
	}
	// Created out of order; listed oldest first.
	var want []store.Key
	for _, n := range []int{3, 1, 2} {
		k := newKey(n)
		if n == 2 {
			k.Models = nil
		}
		mustCreate(t, s, k)
	}
	for n := 1; n <= 3; n++ {
		k := newKey(n)
		if n == 2 {
			k.Models = nil
		}
		want = append(want, k)
	}
	if err := s.RevokeKey(ctx(t), want[0].ID); err != nil {
		t.Fatal(err)
	}
	keys, err = s.ListKeys(ctx(t), store.Page{})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if len(keys) != 3 {
		t.Fatalf("ListKeys = %d keys, want 3", len(keys))
	}
	if keys[0].RevokedAt == nil {
		t.Errorf("revoked key listed without RevokedAt")
	}
	keys[0].RevokedAt = nil
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("ListKeys =\n%+v\nwant\n%+v", keys, want)
	}
}

func testRevokeKey(t *testing.T, s store.Store) {
	k1, k2, k3 := newKey(1), newKey(2), newKey(3)
	for _, k := range []store.Key{k1, k2, k3} {
		mustCreate(t, s, k)
	}
	if err := s.RevokeKey(ctx(t), "no-such-key"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeKey(unknown) error = %v, want ErrNotFound", err)
	}

	before := time.Now().Add(-time.Second)
	if err := s.RevokeKey(ctx(t), k1.ID); err != nil {
		t.Fatalf("RevokeKey(id): %v", err)
	}
	if err := s.RevokeKey(ctx(t), k2.Name); err != nil {
		t.Fatalf("RevokeKey(name): %v", err)
	}
	for _, k := range []store.Key{k1, k2} {
		got, err := s.KeyByHash(ctx(t), k.Hash)
		if err != nil {
			t.Fatalf("KeyByHash(revoked): %v", err)
		}
		if got.RevokedAt == nil {
			t.Fatalf("%s: RevokedAt = nil after RevokeKey", k.ID)
		}
		if got.RevokedAt.Before(before) || got.RevokedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: RevokedAt = %v, want about now", k.ID, got.RevokedAt)
		}
		assertUTC(t, "RevokedAt", *got.RevokedAt)
	}
	got3, err := s.KeyByHash(ctx(t), k3.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got3.RevokedAt != nil {
		t.Errorf("untouched key revoked")
	}

	// Revoking again succeeds and keeps the first time.
	first, _ := s.KeyByHash(ctx(t), k1.Hash)
	time.Sleep(2 * time.Millisecond)
	if err := s.RevokeKey(ctx(t), k1.Name); err != nil {
		t.Fatalf("RevokeKey(again): %v", err)
	}
	again, _ := s.KeyByHash(ctx(t), k1.Hash)
	if again.RevokedAt == nil || !again.RevokedAt.Equal(*first.RevokedAt) {
		t.Errorf("second revoke moved RevokedAt from %v to %v", first.RevokedAt, again.RevokedAt)
	}
}

func testRevokeIDWinsOverName(t *testing.T, s store.Store) {
	a := newKey(1)
	b := newKey(2)
	b.Name = a.ID // a name that is also another key's id
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	if err := s.RevokeKey(ctx(t), a.ID); err != nil {
		t.Fatal(err)
	}
	ga, _ := s.KeyByHash(ctx(t), a.Hash)
	gb, _ := s.KeyByHash(ctx(t), b.Hash)
	if ga.RevokedAt == nil || gb.RevokedAt != nil {
		t.Errorf("RevokeKey(%q): a revoked=%v, b revoked=%v; want only a", a.ID, ga.RevokedAt != nil, gb.RevokedAt != nil)
	}
}

// fullLog has every field set to a distinct, non-default value.
func fullLog(n int) store.RequestLog {
	return store.RequestLog{
		ID:             fmt.Sprintf("req_%06d", n),
		Time:           base.Add(time.Duration(n) * time.Millisecond),
		KeyID:          "key_0001",
		Endpoint:       "chat.completions",
		RequestedModel: "chat-default",
		Provider:       "openai",
		Model:          "gpt-4o-mini",
		Stream:         true,
		Status:         502,
		Latency:        1234567 * time.Microsecond,
		TTFT:           89012 * time.Microsecond,
		Usage: llm.Usage{
			InputTokens:       1 << 40,
			CachedInputTokens: 1000 + int64(n),
			CacheWriteTokens:  7,
			OutputTokens:      300,
			ReasoningTokens:   120,
		},
		ErrorClass:   "upstream_5xx",
		ErrorMessage: "upstream said: \"bad gateway\"\nline 2",
		Reasoning:    "First, consider… 思考 🤔 'quotes' and \\backslashes\\",
		Metadata:     `{"user":"u-1","tags":["a","b"],"n":1.5}`,
		Attempts:     `[{"target":"openai/gpt-4o","outcome":"ok","status":200}]`,
		ParentID:     "req_parent",
		Response:     "The answer: 42 ✓",
		TeamID:       "team_0001",
		Cost:         1<<41 + int64(n),
		UsageSource:  store.UsageEstimated,
	}
}

func requests(t *testing.T, s store.Store, f store.RequestFilter) []store.RequestLog {
	t.Helper()
	got, err := s.Requests(ctx(t), f)
	if err != nil {
		t.Fatalf("Requests(%+v): %v", f, err)
	}
	return got
}

func testInsertRoundTrip(t *testing.T, s store.Store) {
	full := fullLog(1)
	zero := store.RequestLog{ID: "req_zero", Time: base.Add(-time.Hour)} // everything else zero
	local := fullLog(2)
	local.Time = local.Time.In(time.FixedZone("Y", -7*3600))
	local.Stream = false
	if err := s.InsertRequests(ctx(t), []store.RequestLog{zero, full, local}); err != nil {
		t.Fatalf("InsertRequests: %v", err)
	}
	got := requests(t, s, store.RequestFilter{})
	local.Time = local.Time.UTC()
	want := []store.RequestLog{local, full, zero} // newest first
	if len(got) != len(want) {
		t.Fatalf("Requests = %d records, want %d", len(got), len(want))
	}
	for i := range want {
		assertUTC(t, "Time", got[i].Time)
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d =\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
}

func testInsertEmpty(t *testing.T, s store.Store) {
	if err := s.InsertRequests(ctx(t), nil); err != nil {
		t.Errorf("InsertRequests(nil): %v", err)
	}
	if err := s.InsertRequests(ctx(t), []store.RequestLog{}); err != nil {
		t.Errorf("InsertRequests(empty): %v", err)
	}
	if got := requests(t, s, store.RequestFilter{}); len(got) != 0 {
		t.Errorf("Requests on empty store = %d records", len(got))
	}
}

func testInsertLargeBatch(t *testing.T, s store.Store) {
	const n = 1234 // not a multiple of any plausible chunk size
	logs := make([]store.RequestLog, n)
	for i := range logs {
		logs[i] = fullLog(i)
	}
	if err := s.InsertRequests(ctx(t), logs); err != nil {
		t.Fatalf("InsertRequests(%d): %v", n, err)
	}
	got := requests(t, s, store.RequestFilter{Limit: 2 * n})
	if len(got) != n {
		t.Fatalf("Requests = %d records, want %d", len(got), n)
	}
	for i := range got {
		if want := logs[n-1-i]; !reflect.DeepEqual(got[i], want) {
			t.Fatalf("record %d =\n%+v\nwant\n%+v", i, got[i], want)
		}
	}
}

func testInsertRetry(t *testing.T, s store.Store) {
	batch := []store.RequestLog{fullLog(1), fullLog(2)}
	if err := s.InsertRequests(ctx(t), batch); err != nil {
		t.Fatal(err)
	}
	// The same batch again, plus one new record (a retry after a lost ack).
	again := append(batch, fullLog(3))
	if err := s.InsertRequests(ctx(t), again); err != nil {
		t.Fatalf("InsertRequests(retry): %v", err)
	}
	if got := requests(t, s, store.RequestFilter{}); len(got) != 3 {
		t.Errorf("Requests after retry = %d records, want 3", len(got))
	}
}

func testInsertAtomic(t *testing.T, s store.Store) {
	bad := []store.RequestLog{fullLog(1), {Time: base}, fullLog(2)} // middle has no ID
	if err := s.InsertRequests(ctx(t), bad); err == nil {
		t.Fatal("InsertRequests with an empty ID succeeded")
	}
	if got := requests(t, s, store.RequestFilter{}); len(got) != 0 {
		t.Errorf("failed batch left %d records", len(got))
	}
}

func testInsertHostileText(t *testing.T, s store.Store) {
	r := fullLog(1)
	r.Reasoning = "nul\x00byte and invalid \xff\xfe utf-8"
	r.ErrorMessage = "\x00"
	r.Metadata = `{"k":"v"}` + "\x00"
	if err := s.InsertRequests(ctx(t), []store.RequestLog{r, fullLog(2)}); err != nil {
		t.Fatalf("InsertRequests with NUL and invalid UTF-8: %v", err)
	}
	got := requests(t, s, store.RequestFilter{})
	if len(got) != 2 {
		t.Fatalf("Requests = %d records, want 2", len(got))
	}
	// Stores may clean such text; the rest of the record must survive.
	if got[1].ID != r.ID || got[1].Usage != r.Usage || !strings.HasPrefix(got[1].Reasoning, "nul") {
		t.Errorf("record with hostile text = %+v", got[1])
	}
}

func testInsertConcurrent(t *testing.T, s store.Store) {
	const writers, per = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				r := fullLog(w*per + i)
				if err := s.InsertRequests(ctx(t), []store.RequestLog{r}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent InsertRequests: %v", err)
	}
	if got := requests(t, s, store.RequestFilter{Limit: 1000}); len(got) != writers*per {
		t.Errorf("Requests = %d records, want %d", len(got), writers*per)
	}
}

func testRequestsFilterAndOrder(t *testing.T, s store.Store) {
	var logs []store.RequestLog
	for i := range 10 {
		r := fullLog(i)
		r.KeyID = []string{"key_a", "key_b", ""}[i%3]
		logs = append(logs, r)
	}
	// Same time as record 9: insertion order breaks the tie.
	tie := fullLog(100)
	tie.Time = logs[9].Time
	tie.KeyID = "key_a"
	logs = append(logs, tie)
	// Inserted last but oldest: order is by time, not insertion.
	old := fullLog(101)
	old.Time = base.Add(-24 * time.Hour)
	old.KeyID = "key_a"
	logs = append(logs, old)
	// Two batches, to make sure order is not per-batch.
	if err := s.InsertRequests(ctx(t), logs[:5]); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertRequests(ctx(t), logs[5:]); err != nil {
		t.Fatal(err)
	}

	ids := func(rs []store.RequestLog) string {
		var b []string
		for _, r := range rs {
			n, _ := strconv.Atoi(strings.TrimPrefix(r.ID, "req_"))
			b = append(b, strconv.Itoa(n))
		}
		return strings.Join(b, ",")
	}
	for _, c := range []struct {
		f    store.RequestFilter
		want string
	}{
		{store.RequestFilter{}, "100,9,8,7,6,5,4,3,2,1,0,101"},
		{store.RequestFilter{Limit: 3}, "100,9,8"},
		{store.RequestFilter{KeyID: "key_a"}, "100,9,6,3,0,101"},
		{store.RequestFilter{KeyID: "key_a", Limit: 2}, "100,9"},
		{store.RequestFilter{KeyID: "key_b"}, "7,4,1"},
		{store.RequestFilter{KeyID: "key_none"}, ""},
		{store.RequestFilter{Limit: -1}, "100,9,8,7,6,5,4,3,2,1,0,101"},
	} {
		if got := ids(requests(t, s, c.f)); got != c.want {
			t.Errorf("Requests(%+v) = %s, want %s", c.f, got, c.want)
		}
	}
}

func testRequestsDefaultLimit(t *testing.T, s store.Store) {
	logs := make([]store.RequestLog, 150)
	for i := range logs {
		logs[i] = fullLog(i)
	}
	if err := s.InsertRequests(ctx(t), logs); err != nil {
		t.Fatal(err)
	}
	got := requests(t, s, store.RequestFilter{})
	if len(got) != 100 {
		t.Fatalf("Requests with Limit 0 = %d records, want 100", len(got))
	}
	if got[0].ID != logs[149].ID || got[99].ID != logs[50].ID {
		t.Errorf("default-limit window = %s..%s, want %s..%s", got[0].ID, got[99].ID, logs[149].ID, logs[50].ID)
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := s.InsertRequests(c, []store.RequestLog{fullLog(1)}); err == nil {
		t.Error("InsertRequests with a canceled context succeeded")
	}
	if _, err := s.KeyByHash(c, "x"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByHash with a canceled context: error = %v, want a context error", err)
	}
	if got := requests(t, s, store.RequestFilter{}); len(got) != 0 {
		t.Errorf("canceled insert wrote %d records", len(got))
	}
}
