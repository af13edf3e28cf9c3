package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// send sends a request with the given headers and returns the status, the
// response headers and the body.
func send(t *testing.T, method, url string, header map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

var adminAuth = map[string]string{"Authorization": "Bearer admin-secret"}

// Every response carries x-request-id, whatever answered it (issue 12 §3),
// and each is new.
func TestRequestIDOnEveryResponse(t *testing.T) {
	e := newEnv(t)
	seen := map[string]string{}
	for _, tc := range []struct {
		method, path string
		header       map[string]string
		status       int
	}{
		{"GET", "/healthz", nil, 200},
		{"GET", "/readyz", nil, 200},
		{"GET", "/metrics", nil, 200},
		{"GET", "/no/such/url", nil, 404},
		{"POST", "/v1/no-such-endpoint", nil, 404},
		{"GET", "/admin/keys", nil, 401},
		{"GET", "/admin/keys", adminAuth, 200},
		{"GET", "/admin/no-such-thing", adminAuth, 404},
		{"GET", "/admin/routes", adminAuth, 200},
		{"GET", "/v1/models", nil, 401},
		{"GET", "/v1/models", map[string]string{"Authorization": "Bearer " + e.key}, 200},
		{"POST", "/v1/chat/completions", map[string]string{"Authorization": "Bearer " + e.key}, 400},
	} {
		st, h, b := send(t, tc.method, e.srv.URL+tc.path, tc.header, "")
		id := h.Get("X-Request-Id")
		if st != tc.status || !strings.HasPrefix(id, "req_") {
			t.Errorf("%s %s: %d, x-request-id %q: %s", tc.method, tc.path, st, id, b)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s %s has the id of %s", tc.method, tc.path, prev)
		}
		seen[id] = tc.method + " " + tc.path
	}
	// The id of an API request is the one its request log record has.
	_, h, _ := send(t, "POST", e.srv.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + e.key}, `{"model":"x"}`)
	id := h.Get("X-Request-Id")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ls, err := e.gw.Store.Requests(context.Background(), store.RequestFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ls, func(l store.RequestLog) bool { return l.ID == id }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request log record has the id %s", id)
		}
	}
}

// The admin key is accepted in Authorization: Bearer only, never in the
// headers that carry virtual keys.
func TestAdminKeyBearerOnly(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		header map[string]string
		status int
	}{
		{map[string]string{"Authorization": "Bearer admin-secret"}, 200},
		{map[string]string{"Authorization": "bearer admin-secret"}, 200},
		{map[string]string{"X-Api-Key": "admin-secret"}, 401},
		{map[string]string{"Api-Key": "admin-secret"}, 401},
		{map[string]string{"Authorization": "Basic admin-secret"}, 401},
		{map[string]string{"Authorization": "Bearer admin-secre"}, 401},
		{map[string]string{"Authorization": "Bearer admin-secret-and-more"}, 401},
		{map[string]string{"Authorization": "Bearer " + e.key}, 401},
	} {
		if st, _, b := send(t, "GET", e.srv.URL+"/admin/keys", tc.header, ""); st != tc.status {
			t.Errorf("%v: %d %s", tc.header, st, b)
		}
	}
}

// An id that names nothing is a not-found error that says what was looked
// for, never model_not_found.
func TestAdminNotFoundNamesTheRecord(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ method, path, code, says string }{
		{"GET", "/admin/keys/key_nope", "key_not_found", `"key_nope"`},
		{"PATCH", "/admin/keys/key_nope", "key_not_found", `"key_nope"`},
		{"DELETE", "/admin/keys/key_nope", "key_not_found", `"key_nope"`},
		{"GET", "/admin/teams/team_nope", "team_not_found", `"team_nope"`},
		{"PATCH", "/admin/teams/team_nope", "team_not_found", `"team_nope"`},
		{"DELETE", "/admin/providers/nope/secret", "secret_not_found", `"nope"`},
		{"GET", "/admin/keys/" + strings.Repeat("k", 5000), "key_not_found", "kkk…"},
	} {
		body := ""
		if tc.method == "PATCH" {
			body = `{"rpm": 5}`
		}
		st, _, b := send(t, tc.method, e.srv.URL+tc.path, adminAuth, body)
		var out struct {
			Error struct{ Message, Code string }
		}
		json.Unmarshal(b, &out)
		if st != 404 || out.Error.Code != tc.code || !strings.Contains(out.Error.Message, tc.says) || len(out.Error.Message) > 400 {
			t.Errorf("%s %.40s: %d %.300s", tc.method, tc.path, st, b)
		}
	}
}

// Every admin list comes in bounded pages with a cursor to the next; the
// pages hold every item once. The usage report, a download, is whole
// however many groups it has, and streamed.
func TestAdminPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 1500
	var logs []store.RequestLog
	base := time.Now().UTC().Truncate(time.Second)
	for i := range n {
		logs = append(logs, store.RequestLog{ID: fmt.Sprintf("req_%05d", i), Time: base.Add(time.Duration(i%7) * time.Millisecond),
			Endpoint: "chat.completions", Model: fmt.Sprintf("model-%04d", i), Provider: "openai", Status: 200, Cost: 1})
	}
	if err := e.gw.Store.InsertRequests(ctx, logs); err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		_, k, _ := keys.Generate(fmt.Sprintf("k%03d", i), nil)
		if err := e.gw.Store.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Data       []json.RawMessage
		HasMore    bool   `json:"has_more"`
		NextCursor string `json:"next_cursor"`
	}
	get := func(path string) page {
		t.Helper()
		st, _, b := send(t, "GET", e.srv.URL+path, adminAuth, "")
		var p page
		if st != 200 || json.Unmarshal(b, &p) != nil {
			t.Fatalf("GET %s: %d %.300s", path, st, b)
		}
		return p
	}
	walk := func(path string, limit string) (pages, items int) {
		t.Helper()
		seen := map[string]bool{}
		for cursor := ""; ; pages++ {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			p := get(path + sep + "limit=" + limit + "&cursor=" + url.QueryEscape(cursor))
			for _, d := range p.Data {
				if seen[string(d)] {
					t.Fatalf("%s: an item twice", path)
				}
				seen[string(d)] = true
			}
			if p.HasMore != (p.NextCursor != "") {
				t.Fatalf("%s: has_more %v, next_cursor %q", path, p.HasMore, p.NextCursor)
			}
			if cursor = p.NextCursor; cursor == "" {
				return pages + 1, len(seen)
			}
		}
	}
	// The default page is 100; a larger limit is lowered to 1,000.
	if p := get("/admin/requests"); len(p.Data) != 100 || !p.HasMore {
		t.Errorf("default page: %d items, has_more %v", len(p.Data), p.HasMore)
	}
	if p := get("/admin/requests?limit=1000000000"); len(p.Data) != 1000 || !p.HasMore {
		t.Errorf("limit=1000000000: %d items", len(p.Data))
	}
	for _, bad := range []string{"1e9", "-1", "0", "x"} {
		if st, _, b := send(t, "GET", e.srv.URL+"/admin/requests?limit="+bad, adminAuth, ""); st != 400 || !strings.Contains(string(b), `"param":"limit"`) {
			t.Errorf("limit=%s: %d %s", bad, st, b)
		}
	}
	for _, tc := range []struct {
		path, limit  string
		pages, items int
	}{
		{"/admin/requests", "1000", 2, n},
		{"/admin/requests", "7", (n + 6) / 7, n},
		{"/admin/keys", "50", 3, 121}, // and the env's own key
		{"/admin/audit", "100", 1, 0},
	} {
		if pages, items := walk(tc.path, tc.limit); pages != tc.pages || items != tc.items {
			t.Errorf("%s by %s: %d pages, %d items; want %d, %d", tc.path, tc.limit, pages, items, tc.pages, tc.items)
		}
	}
	for i := range 3 {
		send(t, "POST", e.srv.URL+"/admin/teams", adminAuth, fmt.Sprintf(`{"name":"team-%d"}`, i))
	}
	if pages, items := walk("/admin/teams", "2"); pages != 2 || items != 3 {
		t.Errorf("teams: %d pages, %d items", pages, items)
	}
	if pages, items := walk("/admin/audit", "2"); pages != 2 || items != 3 {
		t.Errorf("audit: %d pages, %d items", pages, items)
	}

	// 1,500 groups: more than the store is read for at a time.
	st, _, b := send(t, "GET", e.srv.URL+"/admin/usage?group_by=model", adminAuth, "")
	var usage struct {
		Data  []struct{ Model string }
		Total struct{ Requests int }
	}
	if err := json.Unmarshal(b, &usage); st != 200 || err != nil || len(usage.Data) != n || usage.Total.Requests != n {
		t.Errorf("usage: %d, %d groups, total %d, %v", st, len(usage.Data), usage.Total.Requests, err)
	}
	st, _, b = send(t, "GET", e.srv.URL+"/admin/usage?group_by=model&format=csv", adminAuth, "")
	if lines := strings.Count(string(b), "\n"); st != 200 || lines != n+2 || !strings.Contains(string(b), "total,1500,") {
		t.Errorf("usage CSV: %d, %d lines", st, lines)
	}
}
