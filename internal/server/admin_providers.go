package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
)

// Provider secrets through the admin API: sealed with the master key
// before they are stored, never shown again, applied at once on every
// replica to the providers whose config has no api_key.

func (s *Server) providerRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/providers", s.admin(s.adminListProviders))
	mux.Handle("PUT /admin/providers/{name}/secret", s.admin(s.adminPutSecret))
	mux.Handle("DELETE /admin/providers/{name}/secret", s.admin(s.adminDeleteSecret))
	mux.Handle("GET /admin/pricing", s.admin(func(w http.ResponseWriter, r *http.Request) {
		data := []pricing.Entry{}
		if s.Pricing != nil {
			data = s.Pricing.Entries()
		}
		writeValue(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	}))
}

func (s *Server) adminListProviders(w http.ResponseWriter, r *http.Request) {
	stored, err := s.Store.Secrets(r.Context())
	if err != nil {
		writeError(w, s.storeError(err))
		return
	}
	type view struct {
		Name            string     `json:"name"`
		Type            string     `json:"type,omitempty"` // empty for a secret with no provider configured
		StoredSecret    bool       `json:"stored_secret"`
		SecretUpdatedAt *time.Time `json:"secret_updated_at,omitempty"`
	}
	var out []view
	seen := map[string]int{}
	if rt := s.CurrentRouter(); rt != nil {
		for _, p := range rt.Providers() {
			seen[p.Name()] = len(out)
			out = append(out, view{Name: p.Name(), Type: p.Type()})
		}
	}
	for _, sec := range stored {
		t := sec.UpdatedAt
		i, ok := seen[sec.Name]
		if !ok {
			i = len(out)
			out = append(out, view{Name: sec.Name})
		}
		out[i].StoredSecret, out[i].SecretUpdatedAt = true, &t
	}
	if out == nil {
		out = []view{}
	}
	writeValue(w, http.StatusOK, map[string]any{"object": "list", "data": out})
}

func (s *Server) adminPutSecret(w http.ResponseWriter, r *http.Request) {
	if s.Secrets == nil {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusConflict, Code: "no_master_key",
			Message: "Provider secrets cannot be stored: the gateway has no master key (set SWITCHYARD_MASTER_KEY to 32 random bytes in base64, e.g. from openssl rand -base64 32)."})
		return
	}
	name := r.PathValue("name")
	var in struct {
		APIKey string `json:"api_key"`
	}
	if err := decodeJSON(w, r, &in); err != nil || strings.TrimSpace(in.APIKey) == "" || len(in.APIKey) > 4096 {
		// The body is not echoed: it holds a secret.
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Param: "api_key", Message: `Send {"api_key": "..."} (at most 4096 bytes).`})
		return
	}
	if err := s.Store.PutSecret(r.Context(), name, s.Secrets.Seal(name, strings.TrimSpace(in.APIKey))); err != nil {
		writeError(w, s.storeError(err))
		return
	}
	s.secretsChanged(r, name)
	s.audit(r, "provider.secret.set", name, nil)
	writeValue(w, http.StatusOK, map[string]any{"name": name, "stored_secret": true})
}

func (s *Server) adminDeleteSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.Store.DeleteSecret(r.Context(), name); err != nil {
		writeError(w, s.lookupError(err, "secret", name))
		return
	}
	s.secretsChanged(r, name)
	s.audit(r, "provider.secret.delete", name, nil)
	writeValue(w, http.StatusOK, map[string]any{"name": name, "stored_secret": false})
}

func (s *Server) secretsChanged(r *http.Request, name string) {
	if s.SecretsChanged != nil {
		s.SecretsChanged()
	}
	s.changed(r, "secret "+name)
}
