package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/pricing"
)

// Validate checks a config built in code or by FromEnv with the rules
// Parse applies; call SetDefaults first. The errors carry no file name, and
// lines only where Provider.Line and Model.Line say.
func (c *Config) Validate(providerTypes []string) error {
	r := &report{pos: map[string]position{}, env: c.fromEnv}
	for i, p := range c.Providers {
		if p.Line > 0 {
			r.pos[index("providers", i)] = position{line: p.Line}
		}
	}
	for i, m := range c.Models {
		if m.Line > 0 {
			r.pos[index("models", i)] = position{line: m.Line}
		}
	}
	r.validate(c, providerTypes)
	if len(r.errs) == 0 {
		return nil
	}
	r.errs.sort()
	return r.errs
}

// report collects the errors of one config with what is needed to place
// them: where each field path was written, which values came from the
// environment (and so must not be shown), and which fields failed to decode
// (and so need no further complaint).
type report struct {
	file   string
	pos    map[string]position
	env    map[string][]string // the variables each value was expanded from
	failed map[string]bool
	errs   Errors
}

func (r *report) add(line, col int, path, format string, args ...any) {
	r.errs = append(r.errs, &Error{File: r.file, Line: line, Column: col, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// errorf records a validation problem with the field at path, placed at
// the nearest enclosing field written in the file (a missing "type" is
// reported on its provider's line).
func (r *report) errorf(path, format string, args ...any) {
	for p := path; ; p = parent(p) {
		if r.failed[p] {
			return
		}
		if p == "" {
			break
		}
	}
	r.add(r.line(path), 0, path, format, args...)
}

func (r *report) line(path string) int {
	for p := path; ; p = parent(p) {
		if pos, ok := r.pos[p]; ok {
			return pos.line
		}
		if p == "" {
			return 0
		}
	}
}

// show quotes a value for a message unless it came from the environment:
// variables hold secrets, and errors end up in logs.
func (r *report) show(path, s string) string {
	if vars, ok := r.env[path]; ok {
		return "(value of ${" + strings.Join(vars, "}, ${") + "})"
	}
	return strconv.Quote(s)
}

// where describes the place of path for "first defined at" notes.
func (r *report) where(path string) string {
	if line := r.line(path); line > 0 {
		return fmt.Sprintf("%s, line %d", path, line)
	}
	return path
}

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (r *report) validate(c *Config, types []string) {
	r.listen(c.Listen)
	if c.MaxBodyBytes <= 0 {
		r.errorf("max_body_bytes", "must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		r.errorf("shutdown_timeout", "must be positive")
	}
	h := c.HTTP
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"max_connections", h.MaxConnections <= 0}, {"read_header_timeout", h.ReadHeaderTimeout <= 0},
		{"body_timeout", h.BodyTimeout <= 0}, {"body_min_rate", h.BodyMinRate <= 0},
		{"idle_timeout", h.IdleTimeout <= 0}, {"max_header_bytes", h.MaxHeaderBytes <= 0},
	} {
		if f.bad {
			r.errorf("http."+f.name, "must be positive")
		}
	}
	r.oneOf("log.format", c.Log.Format, "text", "json")
	r.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	rl := c.RequestLog
	if rl.QueueSize <= 0 {
		r.errorf("request_log.queue_size", "must be positive")
	}
	if rl.BatchSize <= 0 {
		r.errorf("request_log.batch_size", "must be positive")
	} else if rl.QueueSize > 0 && rl.BatchSize > rl.QueueSize {
		r.errorf("request_log.batch_size", "must not exceed queue_size (%d): a batch is taken from the queue", rl.QueueSize)
	}
	if rl.FlushInterval <= 0 {
		r.errorf("request_log.flush_interval", "must be positive")
	}
	names := r.providers(c.Providers, types)
	r.models(c.Models, names)
	r.tracing(c.Tracing)
	r.router(c.Router)
	if c.Redis != "" {
		if u, err := url.Parse(c.Redis); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			// Never show the value: it may hold a password.
			r.errorf("redis", "must be a redis://[:password@]host:port[/db] or rediss:// URL")
		}
	}
	for i, e := range c.Pricing {
		if err := pricing.Check(e); err != nil {
			r.errorf(index("pricing", i), "%v", err)
		}
	}
	r.limits(c, names)
}

func (r *report) limits(c *Config, providers map[string]bool) {
	l := c.Limits
	if l.OutputTokens <= 0 {
		r.errorf("limits.output_tokens", "must be positive")
	}
	if l.ReservationTTL < time.Minute {
		r.errorf("limits.reservation_ttl", "must be at least 1m (and above the longest request)")
	}
	for _, name := range slices.Sorted(maps.Keys(l.ModelOutputTokens)) {
		path := "limits.model_output_tokens." + name
		if l.ModelOutputTokens[name] <= 0 {
			r.errorf(path, "must be positive")
		}
		p, _, isTarget := strings.Cut(name, "/")
		if !slices.ContainsFunc(c.Models, func(m Model) bool { return m.Name == name }) && !(isTarget && providers[p]) {
			r.errorf(path, "names no model of models: and no provider/model of a configured provider")
		}
	}
}

func (r *report) router(rt Router) {
	for path, d := range map[string]time.Duration{"router.max_retry_wait": rt.MaxRetryWait, "router.cooldown": rt.Cooldown, "router.max_cooldown": rt.MaxCooldown} {
		if d < 0 {
			r.errorf(path, "must not be negative")
		}
	}
	if rt.MaxCooldown > 0 && rt.Cooldown > rt.MaxCooldown {
		r.errorf("router.cooldown", "must not exceed max_cooldown (%s)", rt.MaxCooldown)
	}
	if s := rt.Breaker.HalfOpenShare; s < 0 || s > 1 {
		r.errorf("router.breaker.half_open_share", "must be from 0 to 1")
	}
}

func (r *report) tracing(t Tracing) {
	if t.Endpoint != "" {
		if msg := checkBaseURL(t.Endpoint); msg != "" {
			r.errorf("tracing.otlp_endpoint", "%s", strings.Replace(msg, "https://api.example.com/v1", "http://otel-collector:4318", 1))
		}
	}
	if t.SampleRatio < 0 || t.SampleRatio > 1 {
		r.errorf("tracing.sample_ratio", "must be from 0 to 1")
	}
}

func (r *report) listen(addr string) {
	const path = "listen"
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		r.errorf(path, "%s is not host:port, such as 127.0.0.1:8080 (or :8080 for every interface)", r.show(path, addr))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		r.errorf(path, "the port of %s is not a number from 0 to 65535", r.show(path, addr))
	}
}

func (r *report) oneOf(path, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		r.errorf(path, "%s is not one of %s", r.show(path, v), strings.Join(allowed, ", "))
	}
}

// providerName keeps names usable as the first part of "provider/model" and
// in metrics labels and URLs without escaping.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// providers checks the providers and returns their names, for the models'
// targets, each mapped to whether it may be shown (it did not come from the
// environment). The map is nil when a provider could not be read, as targets
// naming it would then be reported as unknown for no fault of theirs.
func (r *report) providers(ps []Provider, types []string) map[string]bool {
	names := map[string]bool{}
	complete := !r.failed["providers"]
	first := map[string]int{}
	for i, p := range ps {
		path := index("providers", i)
		np := path + ".name"
		switch {
		case p.Name == "":
			r.errorf(np, "required")
		case !providerName.MatchString(p.Name):
			r.errorf(np, "%s is not a valid provider name: use lowercase letters, digits, '-' and '_', starting with a letter or digit", r.show(np, p.Name))
		default:
			if j, dup := first[p.Name]; dup {
				r.errorf(np, "duplicate provider name %s (first at %s)", r.show(np, p.Name), r.where(index("providers", j)))
			} else {
				first[p.Name] = i
			}
		}
		if p.Name != "" {
			names[p.Name] = r.env[np] == nil
		}
		if r.failed[path] || r.failed[np] {
			complete = false
		}

		tp := path + ".type"
		typeOK := false
		switch {
		case p.Type == "":
			r.errorf(tp, "required%s", known(types))
		case types != nil && !slices.Contains(types, p.Type):
			r.errorf(tp, "unknown provider type %s%s", r.show(tp, p.Type), known(types))
		default:
			typeOK = true
		}

		bp := path + ".base_url"
		switch {
		case p.BaseURL != "":
			if msg := checkBaseURL(p.BaseURL); msg != "" {
				r.errorf(bp, "%s", msg)
			}
		case typeOK && (p.Type == "azure-openai" || p.Type == "openai-compatible"):
			// A known type name is safe to show even from the environment.
			r.errorf(bp, "required for type %s", p.Type)
		}
		if p.APIVersion != "" && typeOK && p.Type != "azure-openai" && p.Type != "anthropic" && p.Type != "gemini" {
			r.errorf(path+".api_version", "only types azure-openai, anthropic and gemini use api_version")
		}
		if p.Reasoning != "" && p.Reasoning != "think-tags" {
			rp := path + ".reasoning"
			r.errorf(rp, "%s is not one of think-tags (leave it out to read reasoning_content and reasoning fields)", r.show(rp, p.Reasoning))
		}
		if p.Timeout <= 0 {
			r.errorf(path+".timeout", "must be positive")
		}
		listed := map[string]int{}
		for j, m := range p.Models {
			mp := index(path+".models", j)
			if m == "" {
				r.errorf(mp, "empty model name")
			} else if k, dup := listed[m]; dup {
				r.errorf(mp, "%s is listed twice (first at %s)", r.show(mp, m), r.where(index(path+".models", k)))
			} else {
				listed[m] = j
			}
		}
		for _, k := range slices.Sorted(maps.Keys(p.Headers)) {
			hp := path + ".headers." + k
			if !validHeaderName(k) {
				r.errorf(hp, "not a valid HTTP header name")
			}
			// The value is not shown: headers carry credentials.
			if strings.ContainsAny(p.Headers[k], "\r\n\x00") {
				r.errorf(hp, "the value contains a line break or NUL")
			}
		}
	}
	if !complete {
		return nil
	}
	return names
}

// checkBaseURL returns what is wrong with a base URL, without quoting it:
// URLs can carry credentials ("https://user:pass@host") and tokens.
func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL, such as https://api.example.com/v1"
	case u.Host == "":
		return "the URL has no host"
	}
	return ""
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func known(types []string) string {
	if types == nil {
		return ""
	}
	return " (known: " + strings.Join(types, ", ") + ")"
}

// models checks the aliases against the provider names returned by
// providers.
func (r *report) models(ms []Model, names map[string]bool) {
	first := map[string]int{}
	for i, m := range ms {
		path := index("models", i)
		np := path + ".name"
		if m.Name == "" {
			r.errorf(np, "required")
		} else {
			if j, dup := first[m.Name]; dup {
				r.errorf(np, "duplicate model name %s (first at %s)", r.show(np, m.Name), r.where(index("models", j)))
			} else {
				first[m.Name] = i
			}
			// The router tries aliases before "provider/model": such an
			// alias would hide the provider's own model of that name.
			if prefix, _, ok := strings.Cut(m.Name, "/"); ok && has(names, prefix) {
				r.errorf(np, "%s starts with the name of a configured provider and would hide that provider's model; choose a name without that prefix", r.show(np, m.Name))
			}
		}
		tp := path + ".target"
		switch {
		case m.Target == "" && len(m.Targets) == 0:
			r.errorf(tp, "required: write provider/model, such as openai/gpt-4o, or a list of targets")
		case m.Target != "" && len(m.Targets) > 0:
			r.errorf(tp, "give either target or targets, not both")
		case m.Target != "":
			r.target(tp, m.Target, names)
		}
		for j, t := range m.Targets {
			tp := index(path+".targets", j)
			r.target(tp+".model", t.Model, names)
			if t.Weight < 0 {
				r.errorf(tp+".weight", "must not be negative")
			}
		}
		for j, f := range m.Fallbacks {
			r.target(index(path+".fallbacks", j), f, names)
		}
		if st := m.Sticky; st != "" && st != "key" && st != "user" && (!strings.HasPrefix(st, "header:") || !validHeaderName(strings.TrimPrefix(st, "header:"))) {
			r.errorf(path+".sticky", `must be "key", "user" or "header:NAME"`)
		}
		if m.Reasoning != "" && m.Reasoning != "pass" && m.Reasoning != "strip" {
			r.errorf(path+".reasoning", `must be "pass" or "strip"`)
		}
		if m.Retries != nil && *m.Retries < 0 {
			r.errorf(path+".retries", "must not be negative")
		}
		if h := m.Hedge; h != nil {
			if h.Delay <= 0 && h.Percentile == 0 {
				r.errorf(path+".hedge", "set delay, percentile, or both")
			}
			if h.Percentile < 0 || h.Percentile >= 1 {
				r.errorf(path+".hedge.percentile", "must be between 0 and 1, such as 0.95")
			}
			if len(m.Fallbacks) == 0 {
				r.errorf(path+".hedge", "needs a fallback to hedge with")
			}
		}
		for j, sh := range m.Shadows {
			sp := index(path+".shadows", j)
			r.target(sp+".model", sh.Model, names)
			if sh.Sample <= 0 || sh.Sample > 1 {
				r.errorf(sp+".sample", "must be above 0 and at most 1, such as 0.05")
			}
		}
		if m.Timeouts.FirstToken < 0 {
			r.errorf(path+".timeouts.first_token", "must not be negative")
		}
		if m.Timeouts.Idle < 0 {
			r.errorf(path+".timeouts.idle", "must not be negative")
		}
		if m.Timeouts.Total < 0 {
			r.errorf(path+".timeouts.total", "must not be negative")
		}
	}
}

// target checks one "provider/model" reference.
func (r *report) target(path, target string, names map[string]bool) {
	prov, model, ok := strings.Cut(target, "/")
	switch {
	case target == "":
		r.errorf(path, "required: write provider/model, such as openai/gpt-4o")
	case !ok || prov == "" || model == "":
		r.errorf(path, "%s is not provider/model, such as openai/gpt-4o", r.show(path, target))
	case names != nil && !has(names, prov):
		r.errorf(path, "%s names no configured provider%s", r.show(path, target), configured(names))
	}
}

func has(m map[string]bool, k string) bool {
	_, ok := m[k]
	return ok
}

// configured lists the provider names that may be shown.
func configured(names map[string]bool) string {
	var shown []string
	for name, ok := range names {
		if ok {
			shown = append(shown, name)
		}
	}
	slices.Sort(shown)
	switch hidden := len(names) - len(shown); {
	case len(names) == 0:
		return " (no provider is configured)"
	case hidden > 0:
		shown = append(shown, strconv.Itoa(hidden)+" named from the environment")
	}
	return " (configured: " + strings.Join(shown, ", ") + ")"
}
