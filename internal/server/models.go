package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

// model is an entry of GET /v1/models, in OpenAI's shape.
type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// models lists what clients can name: every alias, and provider/model for
// every model a provider lists in the config or, for a provider with
// list_models, every model its vendor lists. A key restricted to some
// models sees only those.
func (s *Server) models(c *call) []model {
	var out []model
	add := func(id, owner string) {
		if s.Allowed == nil || s.Allowed(c.key, id) {
			out = append(out, model{ID: id, Object: "model", OwnedBy: owner})
		}
	}
	rt := s.CurrentRouter()
	for _, a := range rt.Names() {
		add(a, "switchyard")
	}
	ps := rt.Providers()
	s.catalog.prune(ps)
	for _, p := range ps {
		for _, m := range s.providerModels(p) {
			add(p.Name()+"/"+m, p.Name())
		}
	}
	return out
}

// providerModels are the models of p to list: those the config names;
// else, for a provider that lists its vendor's models, the vendor's list,
// or while it cannot be had, the models of p's type the price list knows.
func (s *Server) providerModels(p provider.Provider) []string {
	if ms := p.Models(); len(ms) > 0 {
		return ms
	}
	l, ok := p.(provider.ModelLister)
	if !ok {
		return nil
	}
	ms, listed := s.catalog.models(p, l, s.Logger)
	if !listed || ms != nil || s.Pricing == nil {
		return ms
	}
	var known []string
	for _, e := range s.Pricing.Entries() {
		if e.Provider == p.Type() && !strings.ContainsAny(e.Model, `*?[\`) && !slices.Contains(known, e.Model) {
			known = append(known, e.Model)
		}
	}
	return known
}

// Vendors' model lists are asked for when GET /v1/models first needs them,
// never at startup, in the background: a listing waits at most
// modelsWait for the answer, and the answer is kept for modelsFresh. A
// failure is logged and asked again after modelsRetry.
const (
	modelsFresh        = time.Hour
	modelsRetry        = time.Minute
	modelsFetchTimeout = 10 * time.Second
)

// modelsWait bounds how long a listing waits for a vendor's answer; tests
// shorten it.
var modelsWait = 2 * time.Second

// modelCatalog caches what each provider's vendor lists. Providers are
// the router's, so that a reload, which builds new ones, asks again.
type modelCatalog struct {
	mu      sync.Mutex
	entries map[provider.Provider]*catalogEntry
}

type catalogEntry struct {
	models    []string      // the vendor's list, once it answered
	notListed bool          // ListModels said ErrNotListed
	fetched   time.Time     // when models was had
	tried     time.Time     // when the last ask started
	inflight  chan struct{} // closed when the ask in flight ends; nil if none
}

// models returns the vendor's list of p, asking for it when it is not
// fresh, and reports whether p lists models at all. The list is nil while
// no answer came.
func (c *modelCatalog) models(p provider.Provider, l provider.ModelLister, logger *slog.Logger) ([]string, bool) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[provider.Provider]*catalogEntry{}
	}
	e := c.entries[p]
	if e == nil {
		e = &catalogEntry{}
		c.entries[p] = e
	}
	now := time.Now()
	stale := e.fetched.IsZero() || now.Sub(e.fetched) > modelsFresh
	if !e.notListed && stale && e.inflight == nil && (e.tried.IsZero() || now.Sub(e.tried) > modelsRetry) {
		e.tried, e.inflight = now, make(chan struct{})
		go c.fetch(p, l, e, logger)
	}
	// A stale list is served while a new one is asked for; with none
	// yet, the listing waits a little for it.
	wait := e.inflight
	if !e.fetched.IsZero() {
		wait = nil
	}
	c.mu.Unlock()
	if wait != nil {
		t := time.NewTimer(modelsWait)
		select {
		case <-wait:
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.models, !e.notListed
}

func (c *modelCatalog) fetch(p provider.Provider, l provider.ModelLister, e *catalogEntry, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), modelsFetchTimeout)
	defer cancel()
	ms, err := l.ListModels(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case errors.Is(err, provider.ErrNotListed):
		e.notListed = true
	case err != nil:
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("could not list the vendor's models; listing the models the price list knows", "provider", p.Name(), "err", err)
	default:
		e.models, e.fetched = ms, time.Now()
		if e.models == nil {
			e.models = []string{}
		}
	}
	close(e.inflight)
	e.inflight = nil
}

// prune forgets the providers of routers no longer in use.
func (c *modelCatalog) prune(current []provider.Provider) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.entries {
		if !slices.Contains(current, p) {
			delete(c.entries, p)
		}
	}
}

// anthropicModel is a model in Anthropic's shape, for clients that send
// anthropic-version (the Anthropic SDKs' models.list and models.get).
type anthropicModel struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

func asAnthropic(m model) anthropicModel {
	return anthropicModel{Type: "model", ID: m.ID, DisplayName: m.ID, CreatedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339)}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, c *call) {
	ms := append([]model{}, s.models(c)...)
	var body []byte
	if r.Header.Get("Anthropic-Version") != "" {
		page := struct {
			Data    []anthropicModel `json:"data"`
			HasMore bool             `json:"has_more"`
			FirstID *string          `json:"first_id"`
			LastID  *string          `json:"last_id"`
		}{Data: []anthropicModel{}}
		for _, m := range ms {
			page.Data = append(page.Data, asAnthropic(m))
		}
		if n := len(ms); n > 0 {
			page.FirstID, page.LastID = &ms[0].ID, &ms[n-1].ID
		}
		body, _ = json.Marshal(page)
	} else {
		body, _ = json.Marshal(struct {
			Object string  `json:"object"`
			Data   []model `json:"data"`
		}{"list", ms})
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("model")
	anthropic := r.Header.Get("Anthropic-Version") != ""
	for _, m := range s.models(c) {
		if m.ID == id {
			var body []byte
			if anthropic {
				body, _ = json.Marshal(asAnthropic(m))
			} else {
				body, _ = json.Marshal(m)
			}
			writeJSON(w, http.StatusOK, body)
			return
		}
	}
	d := llm.DialectOpenAI
	if anthropic {
		d = llm.DialectAnthropic
	}
	writeDialectError(w, d, &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found",
		Message: "The model `" + clip(id, maxEchoBytes) + "` does not exist or you do not have access to it."})
}
