package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/store"
)

func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/keys", s.admin(s.adminListKeys))
	mux.Handle("POST /admin/keys", s.admin(s.adminCreateKey))
	mux.Handle("DELETE /admin/keys/{id}", s.admin(s.adminRevokeKey))
	s.platformRoutes(mux)
	s.providerRoutes(mux)
	mux.Handle("GET /admin/requests", s.admin(s.adminRequests))
	mux.Handle("GET /admin/routes", s.admin(func(w http.ResponseWriter, r *http.Request) {
		writeValue(w, http.StatusOK, map[string]any{"object": "list", "data": s.CurrentRouter().Health()})
	}))
	mux.Handle("/admin/", s.admin(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, unknownURL("admin URL", r))
	}))
}

// admin guards a handler with the admin key.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.AdminKey == "" {
			writeError(w, &llm.Error{Kind: llm.KindPermission, Message: "The admin API is disabled: set admin_key in the config or SWITCHYARD_ADMIN_KEY."})
			return
		}
		if !s.isAdmin(r) {
			refuseBody(w, r)
			writeError(w, &llm.Error{Kind: llm.KindAuthentication, Message: "A valid admin key is required (Authorization: Bearer <admin key>)."})
			return
		}
		h(w, r)
	})
}

// isAdmin reports whether r carries the admin key, in Authorization:
// Bearer only: the admin key is not a virtual key, and the other headers
// clients put virtual keys in (x-api-key, api-key) are not for it.
// Digests of equal length are compared, in constant time, so that neither
// the key's bytes nor its length can be timed (subtle.ConstantTimeCompare
// returns at once on a length mismatch).
func (s *Server) isAdmin(r *http.Request) bool {
	secret := bearer(r.Header.Get("Authorization"))
	if secret == "" {
		return false
	}
	d := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(d[:], s.adminDigest[:]) == 1
}

// keyView is a key as the admin API shows it: never the secret or its hash.
type keyView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Models    []string   `json:"models"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	TeamID    string     `json:"team_id,omitempty"`
	limitsView
	ExpiresAt *time.Time        `json:"expires_at,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// SpentUSD is the spend of the current budget period (GET of one key
	// with a budget).
	SpentUSD string `json:"spent_usd,omitempty"`
	// Key is the secret, returned once when the key is created.
	Key string `json:"key,omitempty"`
}

func viewKey(k store.Key) keyView {
	models := k.Models
	if models == nil {
		models = []string{}
	}
	return keyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Models: models, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
		TeamID: k.TeamID, limitsView: viewLimits(k.Limits), ExpiresAt: k.ExpiresAt, Metadata: k.Metadata}
}

func (s *Server) adminListKeys(w http.ResponseWriter, r *http.Request) {
	p, e := parsePage(r.URL.Query())
	if e != nil {
		writeError(w, e)
		return
	}
	ks, err := s.Store.ListKeys(r.Context(), p.more())
	if err != nil {
		writeError(w, s.storeError(err))
		return
	}
	writePage(w, p, ks, viewKey, func(k store.Key) string { return k.ID })
}

// Admin lists come in pages: ?limit= items (default 100, at most 1000)
// from ?cursor=, the next_cursor of the page before. Without a bound,
// /admin/requests?limit=1000000000 once answered 104 MB.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// page is a page asked for with ?limit and ?cursor.
type page struct{ store.Page }

// parsePage reads ?limit (a limit over the maximum is lowered to it) and
// ?cursor.
func parsePage(q url.Values) (page, *llm.Error) {
	p := page{store.Page{Limit: defaultPageLimit, After: q.Get("cursor")}}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, &llm.Error{Kind: llm.KindInvalidRequest, Param: "limit",
				Message: fmt.Sprintf("limit must be a whole number from 1 to %d.", maxPageLimit)}
		}
		p.Limit = min(n, maxPageLimit)
	}
	return p, nil
}

// more is the page to ask the store for: one item more than the client
// asked for, which tells whether another page follows.
func (p page) more() store.Page { return store.Page{Limit: p.Limit + 1, After: p.After} }

// writePage answers with the items of a page (the store's answer to
// p.more()) as views, and the cursor of the page after, if there is one:
// the cursor of its last item. Cursors are opaque to clients.
func writePage[T, V any](w http.ResponseWriter, p page, items []T, view func(T) V, cursor func(T) string) {
	more := len(items) > p.Limit
	items = items[:min(len(items), p.Limit)]
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	v := map[string]any{"object": "list", "data": out, "has_more": more}
	if more {
		v["next_cursor"] = cursor(items[len(items)-1])
	}
	writeValue(w, http.StatusOK, v)
}

func (s *Server) adminCreateKey(w http.ResponseWriter, r *http.Request) {
	var in keyChange
	if err := decodeJSON(w, r, &in); err != nil || in.Name == nil || *in.Name == "" || len(*in.Name) > maxNameBytes {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Param: "name", Message: `Send a JSON object {"name": "...", "models": ["pattern", ...], "team": "...", "rpm": 60, "tpm": 100000, "budget_usd": "10.00", "budget_period": "month", "expires_at": "2026-12-31T00:00:00Z", "metadata": {"app": "..."}}; name is required (at most 256 bytes).`})
		return
	}
	var models []string
	if in.Models != nil {
		models = *in.Models
	}
	secret, k, err := keys.Generate(*in.Name, models)
	if err != nil {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Param: "models", Message: err.Error()})
		return
	}
	if e := s.applyKeyChange(r, &k, in); e != nil {
		writeError(w, e)
		return
	}
	if err := s.Store.CreateKey(r.Context(), k); err != nil {
		writeError(w, s.storeError(err))
		return
	}
	v := viewKey(k)
	s.audit(r, "key.create", k.ID, v)
	v.Key = secret
	writeValue(w, http.StatusCreated, v)
}

func (s *Server) adminRevokeKey(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.RevokeKey(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, s.lookupError(err, "key", r.PathValue("id")))
		return
	}
	s.Keys.Purge()
	s.changed(r, "key "+r.PathValue("id"))
	s.audit(r, "key.revoke", r.PathValue("id"), nil)
	writeValue(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "revoked": true})
}

func (s *Server) adminRequests(w http.ResponseWriter, r *http.Request) {
	p, e := parsePage(r.URL.Query())
	if e != nil {
		writeError(w, e)
		return
	}
	more := p.more()
	logs, err := s.Store.Requests(r.Context(), store.RequestFilter{KeyID: r.URL.Query().Get("key_id"), Limit: more.Limit, After: more.After})
	if err != nil {
		writeError(w, s.storeError(err))
		return
	}
	type view struct {
		store.RequestLog
		LatencyMs float64 `json:"latency_ms"`
		TTFTMs    float64 `json:"ttft_ms"`
	}
	withTimes := func(l store.RequestLog) view {
		return view{RequestLog: l, LatencyMs: ms(l.Latency), TTFTMs: ms(l.TTFT)}
	}
	writePage(w, p, logs, withTimes, func(l store.RequestLog) string { return l.ID })
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// notFound is the 404 for an admin record (a key, a team, a provider's
// secret) that id or name does not name. Its code says what was looked
// for: left empty, the OpenAI dialect would call it model_not_found.
func notFound(what, idOrName string) *llm.Error {
	return &llm.Error{Kind: llm.KindNotFound, Code: what + "_not_found", Param: "id",
		Message: "No " + what + " has the id or name " + strconv.Quote(clip(idOrName, maxEchoBytes)) + "."}
}

// lookupError is storeError for the lookup of one record: not found names
// what was asked for.
func (s *Server) lookupError(err error, what, idOrName string) *llm.Error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(what, idOrName)
	}
	return s.storeError(err)
}

func (s *Server) storeError(err error) *llm.Error {
	if errors.Is(err, store.ErrNotFound) {
		return &llm.Error{Kind: llm.KindNotFound, Code: "not_found", Message: "No such record."}
	}
	if errors.Is(err, store.ErrDuplicate) {
		return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusConflict, Message: err.Error()}
	}
	s.Logger.Error("admin: store failed", "err", err)
	return &llm.Error{Kind: llm.KindServer, Message: "The store failed; see the gateway's log."}
}

func writeValue(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	writeJSON(w, status, body)
}
