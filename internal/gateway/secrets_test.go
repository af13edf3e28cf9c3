package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

// No virtual key, provider key, admin key or Authorization header reaches
// the log, the request log, the audit log or an error message, whatever
// happens: good and bad keys, revoked keys, limits, vendor errors, bad
// admin calls.
func TestNoSecretsInLogs(t *testing.T) {
	t.Setenv("SWITCHYARD_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	var logs testenv.SyncBuffer
	const storedKey = "sk-stored-1a2b3c4d5e6f7a8b9c0d"
	const providerKey = "sk-provider-7f3a9c1e5b2d4f60"
	const adminKey = "admin-key-4b8e2f9a1c7d3e5f"
	cfg := &config.Config{
		Storage:   "sqlite:" + filepath.Join(t.TempDir(), "s.db"),
		Providers: []config.Provider{{Name: "openai", Type: "openai", BaseURL: fake.URL() + "/v1", APIKey: providerKey}},
		AdminKey:  adminKey,
		Pricing:   testPrices,
	}
	cfg.SetDefaults()
	cfg.Log.Level = "debug"
	cfg.RequestLog.FlushInterval = 10 * time.Millisecond
	gw, err := gateway.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler)
	defer srv.Close()

	var bodies strings.Builder // everything a client was told
	do := func(method, path, auth, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v json.RawMessage
		json.NewDecoder(resp.Body).Decode(&v)
		bodies.Write(v)
		return resp.StatusCode
	}
	var created struct{ ID, Key string }
	req, _ := http.NewRequest("POST", srv.URL+"/admin/keys", strings.NewReader(`{"name":"k","rpm":2}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	secret := created.Key
	badKey := "sk-sy-" + strings.Repeat("Z", 43)

	fake.Handle("/chat/completions", fakeupstream.TextCompletion("hello world"))
	do("POST", "/v1/chat/completions", secret, chatBody)
	fake.Handle("/chat/completions", fakeupstream.OpenAIError(401, "invalid_request_error", "invalid_api_key",
		"Incorrect API key provided: "+providerKey[:8]+"****"))
	do("POST", "/v1/chat/completions", secret, chatBody) // the vendor refuses the provider key
	do("POST", "/v1/chat/completions", secret, chatBody) // over RPM
	do("POST", "/v1/chat/completions", badKey, chatBody)
	do("POST", "/v1/chat/completions", "not-even-a-key", chatBody)
	do("GET", "/admin/keys", secret, "") // a virtual key is not the admin key
	do("GET", "/admin/keys", badKey, "") //
	do("DELETE", "/admin/keys/"+created.ID, adminKey, "")
	do("POST", "/v1/chat/completions", secret, chatBody) // revoked
	do("PATCH", "/admin/keys/"+created.ID, adminKey, `{"budget_usd":"bogus `+providerKey+`"}`)
	do("PUT", "/admin/providers/other/secret", adminKey, `{"api_key":"`+storedKey+`"}`)
	do("PUT", "/admin/providers/other/secret", adminKey, `{"api_key":"`+storedKey+`", "oops": 1}`)
	do("GET", "/admin/providers", adminKey, "")
	gw.Close(context.Background())

	st, err := store.Open(context.Background(), cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, _ := st.Requests(context.Background(), store.RequestFilter{Limit: 1000})
	audit, _ := st.Audit(context.Background(), store.Page{Limit: 1000})
	sealed, _ := st.Secrets(context.Background())
	if len(sealed) != 1 {
		t.Fatalf("stored secrets: %d", len(sealed))
	}
	stored, _ := json.Marshal(map[string]any{"requests": recs, "audit": audit, "secrets": sealed, "raw": string(sealed[0].Sealed)})
	if len(recs) < 6 || len(audit) < 2 {
		t.Fatalf("too little recorded to check: %d requests, %d audit entries", len(recs), len(audit))
	}

	for where, text := range map[string]string{"log": logs.String(), "client answers": bodies.String(), "store": string(stored)} {
		for name, s := range map[string]string{
			"virtual key": secret[len(secret)-20:], "bad virtual key": badKey[len(badKey)-20:], "provider key": providerKey[8:],
			"admin key": adminKey, "stored provider key": storedKey[10:], "Authorization header": `"authorization":`,
		} {
			if i := strings.Index(strings.ToLower(text), strings.ToLower(s)); i >= 0 {
				t.Errorf("the %s appears in the %s: …%s…", name, where, text[max(i-80, 0):min(i+40, len(text))])
			}
		}
	}
	if !strings.Contains(logs.String(), `"status":429`) || !strings.Contains(logs.String(), `"status":401`) {
		t.Errorf("the log does not show the requests it was checked for:\n%s", logs.String())
	}
}
