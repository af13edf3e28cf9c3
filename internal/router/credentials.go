package router

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// credentials remembers, per provider, whether the vendor's latest answer
// refused the gateway's credentials (HTTP 401 or 403), and how often it
// did. It outlives config reloads, like target health, so that a reload
// neither forgets a broken key nor logs it again.
type credentials struct {
	providers sync.Map // provider name → *providerCreds
}

type providerCreds struct {
	failures atomic.Int64
	refused  atomic.Bool // the latest answer refused the credentials
}

func (c *credentials) get(provider string) *providerCreds {
	if p, ok := c.providers.Load(provider); ok {
		return p.(*providerCreds)
	}
	p, _ := c.providers.LoadOrStore(provider, new(providerCreds))
	return p.(*providerCreds)
}

// rejected counts a refusal, and logs it when the provider's credentials
// were last seen working: once per change, not once per request.
func (c *credentials) rejected(provider, detail string, log *slog.Logger) {
	p := c.get(provider)
	p.failures.Add(1)
	if p.refused.CompareAndSwap(false, true) {
		log.Error("the vendor rejected the gateway's credentials; requests fall back where the route allows, until its api_key is fixed",
			"provider", provider, "detail", detail)
	}
}

// accepted notes a served request, and logs the recovery of credentials
// that were refused. It costs a map lookup on the hot path.
func (c *credentials) accepted(provider string, log *slog.Logger) {
	p, ok := c.providers.Load(provider)
	if ok && p.(*providerCreds).refused.CompareAndSwap(true, false) {
		log.Info("the vendor accepts the gateway's credentials again", "provider", provider)
	}
}

// CredentialFailures returns, per provider name, how many answers refused
// the gateway's credentials since the process started (a counter, for
// metrics). Providers never refused are absent.
func (r *Router) CredentialFailures() map[string]int64 {
	out := map[string]int64{}
	r.creds.providers.Range(func(k, v any) bool {
		if n := v.(*providerCreds).failures.Load(); n > 0 {
			out[k.(string)] = n
		}
		return true
	})
	return out
}

// RejectedCredentials returns, sorted, the providers whose latest answer
// refused the gateway's credentials, for /readyz.
func (r *Router) RejectedCredentials() []string {
	var out []string
	r.creds.providers.Range(func(k, v any) bool {
		if v.(*providerCreds).refused.Load() {
			out = append(out, k.(string))
		}
		return true
	})
	slices.Sort(out)
	return out
}
