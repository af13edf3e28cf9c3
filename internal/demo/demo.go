// Package demo runs Switchyard's built-in demo vendors: the project's own
// fake upstream (internal/fakeupstream), in process, on loopback ports,
// replaying recorded vendor answers. They stand under the usual provider
// names (openai, anthropic, gemini, ...) so that a newcomer with no vendor
// keys can run the README's requests, the SDKs and the example evaluation,
// and nothing leaves the machine.
//
// A demo model name may ask its vendor for a fault, to watch retries,
// fallbacks and hedging work: "openai/gpt-4o-mini+429" is answered with a
// rate limit, "+500" with a server error, "+cut" with a stream (or body)
// cut short, "+slow" with a slow first byte and slow stream. See
// docs/demo.md.
//
// Demo mode is only ever started by a command-line flag (serve --demo,
// eval --demo); no configuration file can turn it on.
package demo

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// Key is the virtual key a demo gateway starts with. It is well known on
// purpose, so that the README's requests run as written: a demo gateway
// reaches only demo vendors, and listens on loopback unless told not to.
const Key = "sk-sy-demo"

// KeyName is the name the demo key is stored under.
const KeyName = "demo"

// providers are the demo vendors a demo gateway starts: the providers
// FromEnv configures from the vendors' usual environment variables, under
// the same names.
var providers = []config.Provider{
	{Name: "openai", Type: "openai"},
	{Name: "azure", Type: "azure-openai"},
	{Name: "anthropic", Type: "anthropic"},
	{Name: "gemini", Type: "gemini"},
	{Name: "xai", Type: "xai"},
	{Name: "deepseek", Type: "deepseek"},
	{Name: "mistral", Type: "mistral"},
}

// Routes are the demo gateway's public model names: an ordinary route,
// one whose target always answers 429 so that every request falls back,
// and one whose target is slow so that the fallback is started as a
// hedge.
func Routes() []config.Model {
	return []config.Model{
		{Name: "chat-default", Target: "openai/gpt-4o-mini", Fallbacks: []string{"anthropic/claude-sonnet-4-5"}},
		{Name: "demo-fallback", Target: "openai/gpt-4o-mini+429", Fallbacks: []string{"anthropic/claude-sonnet-4-5"}},
		{Name: "demo-hedge", Target: "gemini/gemini-2.5-flash+slow", Fallbacks: []string{"deepseek/deepseek-chat"},
			Hedge: &config.Hedge{Delay: 300 * time.Millisecond}},
	}
}

// Vendors are running demo vendors.
type Vendors struct {
	// Providers configure the gateway's providers to reach the vendors.
	Providers []config.Provider
	servers   []*fakeupstream.Server
}

// Start starts a demo vendor for each of the usual providers.
func Start() (*Vendors, error) { return StandIn(providers) }

// StandIn starts a demo vendor of each provider's type and returns the
// providers pointed at them, with their names and models kept: the
// configuration's own providers, answered by demo vendors (eval --demo).
// Every provider asks its vendor for its model list.
func StandIn(ps []config.Provider) (*Vendors, error) {
	v := &Vendors{}
	for _, p := range ps {
		vd, ok := vendors[p.Type]
		if !ok {
			v.Close()
			return nil, fmt.Errorf("demo: no demo vendor for provider %q of type %q", p.Name, p.Type)
		}
		s := fakeupstream.New()
		s.SetRecording(false) // a demo may run for days
		vd.install(s)
		v.servers = append(v.servers, s)
		v.Providers = append(v.Providers, config.Provider{
			Name:       p.Name,
			Type:       p.Type,
			BaseURL:    s.URL() + vd.basePath,
			APIKey:     "demo",
			Models:     p.Models,
			Reasoning:  p.Reasoning,
			ListModels: true,
			Timeout:    p.Timeout,
		})
	}
	return v, nil
}

// Close stops the vendors.
func (v *Vendors) Close() {
	for _, s := range v.servers {
		s.Close()
	}
}

// CheckListen refuses an address that is not on the loopback interface,
// unless public is set: the demo key is well known.
func CheckListen(addr string, public bool) error {
	if public {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("demo: listen address %q: %v", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	what := host
	if host == "" {
		what = "every interface"
	}
	return fmt.Errorf("demo mode listens on loopback only (127.0.0.1, ::1, localhost), not %s: its key %s is public; add --demo-public to serve it there anyway", what, Key)
}
