package config

import (
	"os"
	"slices"
)

// EnvProvider tells the user about one provider that FromEnv looks for, so
// the CLI can say which it found and which variables would add the others.
// It never holds the variables' values.
type EnvProvider struct {
	Name     string   // provider name, the "openai" of "openai/gpt-4o"
	Type     string   // provider type
	EnvVars  []string // variables that must all be set
	Optional []string // variables read when set, such as OPENAI_BASE_URL
	Found    bool     // all of EnvVars are set: the provider is in the config
}

// envProvider is where FromEnv finds one provider: the variables the
// vendor's own SDK and CLI read, so that an environment already set up for
// them works unchanged.
type envProvider struct {
	name, typ string
	key       string // API key
	baseURL   string // base URL, if the vendor has a variable for it
	needsURL  bool   // the base URL is required (it names the account's own endpoint)
	version   string // API version
}

var envProviders = []envProvider{
	{name: "openai", typ: "openai", key: "OPENAI_API_KEY", baseURL: "OPENAI_BASE_URL"},
	{name: "azure", typ: "azure-openai", key: "AZURE_OPENAI_API_KEY", baseURL: "AZURE_OPENAI_ENDPOINT", needsURL: true, version: "AZURE_OPENAI_API_VERSION"},
	{name: "anthropic", typ: "anthropic", key: "ANTHROPIC_API_KEY"},
	{name: "gemini", typ: "gemini", key: "GEMINI_API_KEY"},
	{name: "xai", typ: "xai", key: "XAI_API_KEY"},
	{name: "deepseek", typ: "deepseek", key: "DEEPSEEK_API_KEY"},
	{name: "mistral", typ: "mistral", key: "MISTRAL_API_KEY"},
}

// FromEnv builds the config for running without a config file: one provider
// for each vendor whose variables are set (OPENAI_API_KEY,
// AZURE_OPENAI_API_KEY with AZURE_OPENAI_ENDPOINT, ANTHROPIC_API_KEY,
// GEMINI_API_KEY, XAI_API_KEY, DEEPSEEK_API_KEY, MISTRAL_API_KEY), listen
// and storage from $SWITCHYARD_LISTEN and $SWITCHYARD_STORAGE, and defaults
// for the rest. Only providers of providerTypes are considered (nil means
// all), so a vendor whose adapter is not linked in is neither configured nor
// listed. getenv nil means os.Getenv.
//
// The config is not validated, as there is no file to point into; the
// caller may run Validate to catch, say, a malformed OPENAI_BASE_URL.
func FromEnv(getenv func(string) string, providerTypes []string) (*Config, []EnvProvider) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &Config{Listen: getenv("SWITCHYARD_LISTEN"), Storage: getenv("SWITCHYARD_STORAGE"), fromEnv: map[string][]string{}}
	if c.Listen != "" {
		c.fromEnv["listen"] = []string{"SWITCHYARD_LISTEN"}
	}
	var found []EnvProvider
	for _, e := range envProviders {
		if providerTypes != nil && !slices.Contains(providerTypes, e.typ) {
			continue
		}
		ep := EnvProvider{Name: e.name, Type: e.typ, EnvVars: []string{e.key}}
		if e.needsURL {
			ep.EnvVars = append(ep.EnvVars, e.baseURL)
		} else if e.baseURL != "" {
			ep.Optional = append(ep.Optional, e.baseURL)
		}
		if e.version != "" {
			ep.Optional = append(ep.Optional, e.version)
		}
		ep.Found = true
		for _, v := range ep.EnvVars {
			ep.Found = ep.Found && getenv(v) != ""
		}
		if ep.Found {
			// No models are named in the environment: /v1/models lists
			// what the vendor says it serves.
			p := Provider{Name: e.name, Type: e.typ, APIKey: getenv(e.key), ListModels: true}
			if e.baseURL != "" {
				p.BaseURL = getenv(e.baseURL)
			}
			if e.version != "" {
				p.APIVersion = getenv(e.version)
			}
			c.Providers = append(c.Providers, p)
		}
		found = append(found, ep)
	}
	c.setDefaults(getenv)
	return c, found
}

// HowToConfigure says how to configure the provider called name, for the
// error a client gets when it names a model of a provider that is not
// configured: the environment variables that would configure it with no
// config file, where FromEnv knows the name.
func HowToConfigure(name string) string {
	for _, e := range envProviders {
		if e.name != name {
			continue
		}
		vars := e.key
		if e.needsURL {
			vars += " and " + e.baseURL
		}
		return "set " + vars + " (without a config file), or add it under providers: in the config file; to try the gateway without vendor keys, run switchyard serve --demo"
	}
	return "add it under providers: in the config file"
}
