package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

func responseTests() []struct {
	name string
	fn   func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ResponseRoundTrip", testResponseRoundTrip},
		{"ResponseDefaults", testResponseDefaults},
		{"ResponseChain", testResponseChain},
		{"ResponseChainTooLong", testResponseChainTooLong},
		{"ResponseChainBroken", testResponseChainBroken},
		{"ResponseChainLong", testResponseChainLong},
		{"DeleteResponse", testDeleteResponse},
		{"DeleteResponsesBefore", testDeleteResponsesBefore},
		{"ResponseHostileIDs", testResponseHostileIDs},
	}
}

func newResponse(id, prev string, n int) store.StoredResponse {
	return store.StoredResponse{
		ID:           id,
		KeyID:        "key_0001",
		PreviousID:   prev,
		CreatedAt:    base.Add(time.Duration(n) * time.Second),
		Model:        "gpt-4o-mini",
		Body:         []byte(`{"id":"` + id + `","object":"response","output":[]}`),
		InputItems:   []byte(`[{"id":"msg_` + id + `","type":"message","role":"user","content":[{"type":"input_text","text":"turn ` + fmt.Sprint(n) + `"}]}]`),
		Conversation: []byte(`[{"role":"user","content":"turn ` + fmt.Sprint(n) + `"},{"role":"assistant","content":"ok"}]`),
		Instructions: "Be brief.",
	}
}

func mustPutResponse(t *testing.T, s store.Store, r store.StoredResponse) {
	t.Helper()
	if err := s.PutResponse(ctx(t), r); err != nil {
		t.Fatalf("PutResponse(%s): %v", r.ID, err)
	}
}

func chainIDs(rs []store.StoredResponse) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func testResponseRoundTrip(t *testing.T, s store.Store) {
	want := newResponse("resp_1", "", 1)
	// Opaque bytes come back exactly: NUL, invalid UTF-8, JSON escapes.
	want.Conversation = []byte("{\"x\":\"\\u0000\"}\x00\xff")
	want.Instructions = "Réponds brièvement.\x00\xfe"
	want.CreatedAt = want.CreatedAt.In(time.FixedZone("X", -7*3600))
	mustPutResponse(t, s, want)
	got, err := s.Response(ctx(t), "resp_1")
	if err != nil {
		t.Fatal(err)
	}
	assertUTC(t, "CreatedAt", got.CreatedAt)
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	want.CreatedAt = want.CreatedAt.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Response =\n%+v\nwant\n%+v", got, want)
	}

	dup := newResponse("resp_1", "", 2)
	if err := s.PutResponse(ctx(t), dup); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second PutResponse: %v, want ErrDuplicate", err)
	}
	if got, _ := s.Response(ctx(t), "resp_1"); !reflect.DeepEqual(got, want) {
		t.Errorf("a refused duplicate changed the stored response: %+v", got)
	}
	if _, err := s.Response(ctx(t), "resp_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing response: %v, want ErrNotFound", err)
	}
	if err := s.PutResponse(ctx(t), store.StoredResponse{}); err == nil {
		t.Error("PutResponse with an empty id succeeded")
	}
}

func testResponseDefaults(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	mustPutResponse(t, s, store.StoredResponse{ID: "resp_bare"})
	got, err := s.Response(ctx(t), "resp_bare")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("zero CreatedAt became %v, want about now", got.CreatedAt)
	}
	if len(got.Body)+len(got.InputItems)+len(got.Conversation) != 0 || got.Instructions != "" || got.PreviousID != "" {
		t.Errorf("empty fields came back as %+v", got)
	}
}

func testResponseChain(t *testing.T, s store.Store) {
	// a <- b <- c, and a fork b <- d. Stored newest first: the order of
	// the chain is that of PreviousID, not of insertion or of time.
	c := newResponse("resp_c", "resp_b", 1)
	d := newResponse("resp_d", "resp_b", 2)
	b := newResponse("resp_b", "resp_a", 3)
	a := newResponse("resp_a", "", 4)
	for _, r := range []store.StoredResponse{c, d, b, a} {
		mustPutResponse(t, s, r)
	}
	for _, tc := range []struct {
		id    string
		limit int
		want  []string
	}{
		{"resp_c", 10, []string{"resp_a", "resp_b", "resp_c"}},
		{"resp_c", 3, []string{"resp_a", "resp_b", "resp_c"}},
		{"resp_d", 3, []string{"resp_a", "resp_b", "resp_d"}},
		{"resp_b", 2, []string{"resp_a", "resp_b"}},
		{"resp_a", 1, []string{"resp_a"}},
	} {
		got, err := s.ResponseChain(ctx(t), tc.id, tc.limit)
		if err != nil {
			t.Errorf("ResponseChain(%s, %d): %v", tc.id, tc.limit, err)
			continue
		}
		if ids := chainIDs(got); !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("ResponseChain(%s, %d) = %v, want %v", tc.id, tc.limit, ids, tc.want)
		}
	}
	// Whole records, not just ids.
	got, err := s.ResponseChain(ctx(t), "resp_c", 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.StoredResponse{a, b, c}; !reflect.DeepEqual(got, want) {
		t.Errorf("ResponseChain records =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := s.ResponseChain(ctx(t), "resp_missing", 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("chain of a missing response: %v, want ErrNotFound", err)
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.ResponseChain(ctx(t), "resp_a", limit); err == nil {
			t.Errorf("ResponseChain with limit %d succeeded", limit)
		}
	}
}

func testResponseChainTooLong(t *testing.T, s store.Store) {
	mustPutResponse(t, s, newResponse("resp_1", "", 1))
	mustPutResponse(t, s, newResponse("resp_2", "resp_1", 2))
	mustPutResponse(t, s, newResponse("resp_3", "resp_2", 3))
	for _, limit := range []int{1, 2} {
		got, err := s.ResponseChain(ctx(t), "resp_3", limit)
		if !errors.Is(err, store.ErrChainTooLong) {
			t.Errorf("ResponseChain(resp_3, %d) = %v, %v; want ErrChainTooLong", limit, chainIDs(got), err)
		}
	}
	// A cycle (which the gateway never writes, but a store may hold) is
	// too long for any limit rather than endless.
	mustPutResponse(t, s, newResponse("resp_x", "resp_y", 4))
	mustPutResponse(t, s, newResponse("resp_y", "resp_x", 5))
	mustPutResponse(t, s, newResponse("resp_self", "resp_self", 6))
	for _, id := range []string{"resp_x", "resp_self"} {
		if _, err := s.ResponseChain(ctx(t), id, 50); !errors.Is(err, store.ErrChainTooLong) {
			t.Errorf("ResponseChain(%s) of a cycle: %v, want ErrChainTooLong", id, err)
		}
	}
}

func testResponseChainBroken(t *testing.T, s store.Store) {
	mustPutResponse(t, s, newResponse("resp_1", "", 1))
	mustPutResponse(t, s, newResponse("resp_2", "resp_1", 2))
	mustPutResponse(t, s, newResponse("resp_3", "resp_2", 3))
	if err := s.DeleteResponse(ctx(t), "resp_2"); err != nil {
		t.Fatal(err)
	}
	// Every limit, including 1, where the hole is the step past the
	// limit: the walk looks that far.
	for _, limit := range []int{1, 2, 3, 10} {
		got, err := s.ResponseChain(ctx(t), "resp_3", limit)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("chain through a deleted response, limit %d = %v, %v; want ErrNotFound", limit, chainIDs(got), err)
		}
	}
	// The turns on either side of the hole are still there.
	for _, id := range []string{"resp_1", "resp_3"} {
		if _, err := s.Response(ctx(t), id); err != nil {
			t.Errorf("Response(%s) after deleting resp_2: %v", id, err)
		}
	}
	// A response whose previous one was never stored is broken too.
	mustPutResponse(t, s, newResponse("resp_orphan", "resp_never", 4))
	if _, err := s.ResponseChain(ctx(t), "resp_orphan", 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("chain of an orphan: %v, want ErrNotFound", err)
	}
}

// testResponseChainLong walks a long conversation: the recursive query
// must neither stop early nor reorder.
func testResponseChainLong(t *testing.T, s store.Store) {
	const n = 300
	var want []string
	prev := ""
	for i := range n {
		id := fmt.Sprintf("resp_%03d", (i*7)%n) // ids out of chain order
		mustPutResponse(t, s, newResponse(id, prev, i))
		want = append(want, id)
		prev = id
	}
	got, err := s.ResponseChain(ctx(t), prev, n)
	if err != nil {
		t.Fatal(err)
	}
	if ids := chainIDs(got); !reflect.DeepEqual(ids, want) {
		t.Errorf("chain of %d = %d ids, first %v", n, len(ids), ids[:min(5, len(ids))])
	}
	if _, err := s.ResponseChain(ctx(t), prev, n-1); !errors.Is(err, store.ErrChainTooLong) {
		t.Errorf("limit %d of a chain of %d: %v, want ErrChainTooLong", n-1, n, err)
	}
}

func testDeleteResponse(t *testing.T, s store.Store) {
	mustPutResponse(t, s, newResponse("resp_1", "", 1))
	mustPutResponse(t, s, newResponse("resp_2", "", 2))
	if err := s.DeleteResponse(ctx(t), "resp_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Response(ctx(t), "resp_1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted response: %v, want ErrNotFound", err)
	}
	if err := s.DeleteResponse(ctx(t), "resp_1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Response(ctx(t), "resp_2"); err != nil {
		t.Errorf("the other response: %v", err)
	}
	// The id is free again.
	mustPutResponse(t, s, newResponse("resp_1", "", 3))
}

func testDeleteResponsesBefore(t *testing.T, s store.Store) {
	for i := range 5 {
		mustPutResponse(t, s, newResponse(fmt.Sprintf("resp_%d", i), "", i))
	}
	n, err := s.DeleteResponsesBefore(ctx(t), base.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("DeleteResponsesBefore removed %d, want 2", n)
	}
	for i := range 5 {
		_, err := s.Response(ctx(t), fmt.Sprintf("resp_%d", i))
		if gone := errors.Is(err, store.ErrNotFound); gone != (i < 2) {
			t.Errorf("resp_%d: %v after the sweep", i, err)
		}
	}
	if n, err := s.DeleteResponsesBefore(ctx(t), base); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v; want 0, nil", n, err)
	}
}

// testResponseHostileIDs: ids come from clients (GET /v1/responses/{id},
// previous_response_id). One a database cannot hold as text names nothing.
func testResponseHostileIDs(t *testing.T, s store.Store) {
	for _, id := range []string{"resp_\x00", "resp_\xff", "", "'; DROP TABLE responses; --"} {
		if _, err := s.Response(ctx(t), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Response(%q): %v, want ErrNotFound", id, err)
		}
		if err := s.DeleteResponse(ctx(t), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteResponse(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := s.ResponseChain(ctx(t), id, 10); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ResponseChain(%q): %v, want ErrNotFound", id, err)
		}
		if id == "" {
			continue
		}
		// Storing one either works, and then it reads back, or fails
		// cleanly.
		r := newResponse(id, "", 1)
		if err := s.PutResponse(ctx(t), r); err != nil {
			continue
		}
		got, err := s.Response(ctx(t), id)
		if err != nil || got.ID != id {
			t.Errorf("stored %q, read back %q, %v", id, got.ID, err)
		}
	}
}
