package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// get sends a request with the given headers and returns the status, the
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
