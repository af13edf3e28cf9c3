// Package router decides which provider and upstream model serve a request.
//
// A client names a model in one of three ways, tried in this order:
//  1. an alias declared under models: in the config ("chat-default");
//  2. "provider/model", with a configured provider name
//     ("deepseek/deepseek-reasoner"); the model part is passed on as is;
//  3. a bare model name that a provider lists under its models:
//     ("gpt-4o"), so clients that hard-code vendor model names work by
//     changing only their base URL. The first provider in config order wins.
package router

import (
	"fmt"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

// Target is one provider model.
type Target struct {
	Provider provider.Provider
	Model    string
}

// String returns "provider/model".
func (t Target) String() string { return t.Provider.Name() + "/" + t.Model }

// Router resolves model names.
type Router struct {
	providers *provider.Set
	aliases   map[string]Target
	bare      map[string]Target
	aliasList []string
}

// New builds a router over providers and the config's aliases.
func New(providers *provider.Set, models []config.Model) (*Router, error) {
	r := &Router{providers: providers, aliases: map[string]Target{}, bare: map[string]Target{}}
	for _, p := range providers.All() {
		for _, m := range p.Models() {
			if _, dup := r.bare[m]; !dup {
				r.bare[m] = Target{Provider: p, Model: m}
			}
		}
	}
	for _, m := range models {
		t, ok := r.qualified(m.Target)
		if !ok {
			return nil, fmt.Errorf("model %q: target %q names no configured provider", m.Name, m.Target)
		}
		r.aliases[m.Name] = t
		r.aliasList = append(r.aliasList, m.Name)
	}
	return r, nil
}

// Resolve returns the target for a client's model name, or a not_found
// *llm.Error.
func (r *Router) Resolve(model string) (Target, error) {
	if t, ok := r.aliases[model]; ok {
		return t, nil
	}
	if t, ok := r.qualified(model); ok {
		return t, nil
	}
	if t, ok := r.bare[model]; ok {
		return t, nil
	}
	return Target{}, &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found", Class: "not_found",
		Message: fmt.Sprintf("The model `%s` does not exist: use an alias from GET /v1/models or provider/model with a configured provider", model)}
}

func (r *Router) qualified(model string) (Target, bool) {
	name, m, ok := strings.Cut(model, "/")
	if !ok || m == "" {
		return Target{}, false
	}
	p, ok := r.providers.Get(name)
	if !ok {
		return Target{}, false
	}
	return Target{Provider: p, Model: m}, true
}

// Aliases returns the alias names in config order with their targets.
func (r *Router) Aliases() []string { return r.aliasList }

// Alias returns an alias's target.
func (r *Router) Alias(name string) Target { return r.aliases[name] }

// Providers returns the configured providers in config order.
func (r *Router) Providers() []provider.Provider { return r.providers.All() }
