package config

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var testTypes = []string{"azure-openai", "deepseek", "mistral", "openai", "openai-compatible", "xai"}

const knownTypes = " (known: azure-openai, deepseek, mistral, openai, openai-compatible, xai)"

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func parse(t *testing.T, src string, vars map[string]string) (*Config, error) {
	t.Helper()
	return Parse([]byte(src), "t.yaml", Options{ProviderTypes: testTypes, Getenv: env(vars)})
}

// errorLines returns the lines of err, failing the test unless err is an
// Errors whose every entry names the file.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	var lines []string
	for _, e := range es {
		if e.File != "t.yaml" {
			t.Errorf("error without the file name: %#v", e)
		}
		lines = append(lines, e.Error())
	}
	return lines
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		{
			name: "unknown provider type",
			src: `providers:
  - name: openai
    type: openai
  - name: other
    type: opnai
`,
			want: []string{`t.yaml:5: providers[1].type: unknown provider type "opnai"` + knownTypes},
		},
		{
			name: "all errors collected in file order",
			src: `listen: nowhere
log:
  level: verbose
providers:
  - name: Bad Name
    type: openai
    timeout: soon
models:
  - name: fast
    target: nobody/gpt-4o
`,
			want: []string{
				`t.yaml:1: listen: "nowhere" is not host:port, such as 127.0.0.1:8080 (or :8080 for every interface)`,
				`t.yaml:3: log.level: "verbose" is not one of debug, info, warn, error`,
				`t.yaml:5: providers[0].name: "Bad Name" is not a valid provider name: use lowercase letters, digits, '-' and '_', starting with a letter or digit`,
				`t.yaml:7: providers[0].timeout: "soon" is not a duration: write a number with a unit, such as "30s", "10m" or "1h30m"`,
				`t.yaml:10: models[0].target: "nobody/gpt-4o" names no configured provider (configured: Bad Name)`,
			},
		},
		{
			name: "redis and pricing",
			src: `redis: http://:hunter2@cache:6379
pricing:
  - {provider: openai, model: gpt-4o, input: "2.50", output: "10"}
  - {provider: openai, model: gpt-x, input: "-1", output: "1"}
  - {provider: openai, model: gpt-y, input: "1"}
  - {provider: openai, model: gpt-z, input: "1", output: "1", colour: red}`,
			want: []string{
				`t.yaml:1: redis: must be a redis://[:password@]host:port[/db] or rediss:// URL`,
				`t.yaml:4: pricing[1]: input: not a decimal amount: "-1"`,
				`t.yaml:5: pricing[2]: output is required`,
				`t.yaml:6: pricing[3].colour: unknown field (known: cache_write, cached_input, date, input, model, output, provider, reasoning, source)`,
			},
		},
		{
			name: "unknown fields",
			src: `listen: 127.0.0.1:9000
providers:
  - name: openai
    type: openai
    base_ur: https://example.com
    colour: blue
lgo:
  level: info
`,
			want: []string{
				`t.yaml:5: providers[0].base_ur: unknown field (did you mean "base_url"?)`,
				`t.yaml:6: providers[0].colour: unknown field (known: api_key, api_version, base_url, connect_timeout, headers, list_models, models, name, reasoning, timeout, type)`,
				`t.yaml:7: lgo: unknown field (did you mean "log"?)`,
			},
		},
		{
			name: "extension fields are ignored and can be merged",
			src: `x-defaults: &defaults
  type: openai-compatible
  timeout: 5m
providers:
  - <<: *defaults
    name: a
    base_url: http://a.example
  - <<: *defaults
    name: b
`,
			want: []string{`t.yaml:8: providers[1].base_url: required for type openai-compatible`},
		},
		{
			name: "limits",
			src: `providers: [{name: openai, type: openai}]
models: [{name: chat, target: openai/gpt-4o}]
limits:
  output_tokens: -1
  reservation_ttl: 10s
  model_output_tokens:
    chat: 100
    openai/gpt-4o: 0
    nowhere/x: 10
`,
			want: []string{
				`t.yaml:4: limits.output_tokens: must be positive`,
				`t.yaml:5: limits.reservation_ttl: must be at least 1m (and above the longest request)`,
				`t.yaml:8: limits.model_output_tokens.openai/gpt-4o: must be positive`,
				`t.yaml:9: limits.model_output_tokens.nowhere/x: names no model of models: and no provider/model of a configured provider`,
			},
		},
		{
			name: "keys are not expanded",
			src:  "${KEY}: :80\n",
			env:  map[string]string{"KEY": "listen"},
			want: []string{`t.yaml:1: ${KEY}: unknown field (known: admin_key, http, limits, listen, log, max_body_bytes, models, pricing, providers, redis, redis_prefix, request_log, router, shutdown_timeout, storage, tracing)`},
		},
		{
			name: "field set twice",
			src: `listen: :1
storage: a.db
listen: :2
`,
			want: []string{`t.yaml:3: listen: set twice (first on line 1)`},
		},
		{
			name: "wrong kinds of value",
			src: `providers: openai
models:
  - name: chat
    target: openai/gpt-4o
log: [json]
max_body_bytes: lots
request_log:
  queue_size: 1.5
`,
			// No complaint about the target: the providers could not be read.
			want: []string{
				`t.yaml:1: providers: expected a list, not a single value`,
				`t.yaml:5: log: expected a mapping, not a list`,
				`t.yaml:6: max_body_bytes: "lots" is not a whole number`,
				`t.yaml:8: request_log.queue_size: "1.5" is not a whole number`,
			},
		},
		{
			name: "a provider that is not a mapping",
			src: `providers:
  - openai
`,
			want: []string{`t.yaml:2: providers[0]: expected a mapping, not a single value`},
		},
		{
			name: "provider names",
			src: `providers:
  - type: openai
  - name: openai/eu
    type: openai
  - name: xai
    type: xai
  - name: xai
    type: xai
`,
			want: []string{
				`t.yaml:2: providers[0].name: required`,
				`t.yaml:3: providers[1].name: "openai/eu" is not a valid provider name: use lowercase letters, digits, '-' and '_', starting with a letter or digit`,
				`t.yaml:7: providers[3].name: duplicate provider name "xai" (first at providers[2], line 5)`,
			},
		},
		{
			name: "provider fields",
			src: `providers:
  - name: a
  - name: b
    type: azure-openai
  - name: c
    type: openai-compatible
    base_url: ftp://files.example.com
  - name: d
    type: openai
    base_url: https://
    api_version: "2024-10-21"
    reasoning: tags
    timeout: -1s
  - name: e
    type: xai
    base_url: "http://[::1"
    models: [grok-3, "", grok-3]
    headers:
      "Bad Header": x
      X-Ok: "a\r\nInjected: 1"
`,
			want: []string{
				`t.yaml:2: providers[0].type: required` + knownTypes,
				`t.yaml:3: providers[1].base_url: required for type azure-openai`,
				`t.yaml:7: providers[2].base_url: must be an absolute http:// or https:// URL, such as https://api.example.com/v1`,
				`t.yaml:10: providers[3].base_url: the URL has no host`,
				`t.yaml:11: providers[3].api_version: only types azure-openai, anthropic and gemini use api_version`,
				`t.yaml:12: providers[3].reasoning: "tags" is not one of think-tags (leave it out to read reasoning_content and reasoning fields)`,
				`t.yaml:13: providers[3].timeout: must be positive`,
				`t.yaml:16: providers[4].base_url: not a valid URL`,
				`t.yaml:17: providers[4].models[1]: empty model name`,
				`t.yaml:17: providers[4].models[2]: "grok-3" is listed twice (first at providers[4].models[0], line 17)`,
				`t.yaml:19: providers[4].headers.Bad Header: not a valid HTTP header name`,
				`t.yaml:20: providers[4].headers.X-Ok: the value contains a line break or NUL`,
			},
		},
		{
			name: "models",
			src: `providers:
  - name: openai
    type: openai
models:
  - target: openai/gpt-4o
  - name: chat
    target: openai/gpt-4o
  - name: chat
    target: openai/gpt-4o-mini
  - name: openai/gpt-4o
    target: openai/gpt-4o
  - name: bare
  - name: slashless
    target: gpt-4o
  - name: empty-model
    target: "openai/"
  - name: elsewhere
    target: anthropic/claude
`,
			want: []string{
				`t.yaml:5: models[0].name: required`,
				`t.yaml:8: models[2].name: duplicate model name "chat" (first at models[1], line 6)`,
				`t.yaml:10: models[3].name: "openai/gpt-4o" starts with the name of a configured provider and would hide that provider's model; choose a name without that prefix`,
				`t.yaml:12: models[4].target: required: write provider/model, such as openai/gpt-4o, or a list of targets`,
				`t.yaml:14: models[5].target: "gpt-4o" is not provider/model, such as openai/gpt-4o`,
				`t.yaml:16: models[6].target: "openai/" is not provider/model, such as openai/gpt-4o`,
				`t.yaml:18: models[7].target: "anthropic/claude" names no configured provider (configured: openai)`,
			},
		},
		{
			name: "top-level values",
			src: `listen: "localhost:http"
max_body_bytes: -1
shutdown_timeout: "-5s"
log:
  format: xml
request_log:
  queue_size: 10
  batch_size: 20
  flush_interval: 30
`,
			want: []string{
				`t.yaml:1: listen: the port of "localhost:http" is not a number from 0 to 65535`,
				`t.yaml:2: max_body_bytes: must be positive`,
				`t.yaml:3: shutdown_timeout: must be positive`,
				`t.yaml:5: log.format: "xml" is not one of text, json`,
				`t.yaml:8: request_log.batch_size: must not exceed queue_size (10): a batch is taken from the queue`,
				`t.yaml:9: request_log.flush_interval: "30" is not a duration: write a number with a unit, such as "30s", "10m" or "1h30m"`,
			},
		},
		{
			name: "tracing",
			src: `tracing:
  otlp_endpoint: otel-collector:4318
  sample_ratio: 1.5
`,
			want: []string{
				`t.yaml:2: tracing.otlp_endpoint: must be an absolute http:// or https:// URL, such as http://otel-collector:4318`,
				`t.yaml:3: tracing.sample_ratio: must be from 0 to 1`,
			},
		},
		{
			name: "router",
			src: `router:
  max_retry_wait: -1s
  cooldown: 2m
  max_cooldown: 1m
  breaker:
    half_open_share: 1.5
`,
			want: []string{
				`t.yaml:2: router.max_retry_wait: must not be negative`,
				`t.yaml:3: router.cooldown: must not exceed max_cooldown (1m0s)`,
				`t.yaml:6: router.breaker.half_open_share: must be from 0 to 1`,
			},
		},
		{
			name: "reasoning policy",
			src: `providers:
  - {name: openai, type: openai, api_key: k}
models:
  - name: chat
    target: openai/gpt-4o
    reasoning: hide
`,
			want: []string{
				`t.yaml:6: models[0].reasoning: must be "pass" or "strip"`,
			},
		},
		{
			name: "negative sizes",
			src: `request_log:
  queue_size: -1
  batch_size: -2
`,
			want: []string{
				`t.yaml:2: request_log.queue_size: must be positive`,
				`t.yaml:3: request_log.batch_size: must be positive`,
			},
		},
		{
			name: "missing variables",
			src: `admin_key: ${ADMIN}
providers:
  - name: openai
    type: openai
    api_key: "${OPENAI_API_KEY}"
    base_url: https://${HOST}:${PORT}/v1
  - name: ${NAME}
    type: ${TYPE}
`,
			env: map[string]string{"HOST": "example.com"},
			// Nothing piles on top of the values that could not be expanded:
			// no "name: required", no "type: required".
			want: []string{
				`t.yaml:1:12: admin_key: environment variable ADMIN is unset or empty (write ${ADMIN:-default} to give a default)`,
				`t.yaml:5:15: providers[0].api_key: environment variable OPENAI_API_KEY is unset or empty (write ${OPENAI_API_KEY:-default} to give a default)`,
				`t.yaml:6:31: providers[0].base_url: environment variable PORT is unset or empty (write ${PORT:-default} to give a default)`,
				`t.yaml:7:11: providers[1].name: environment variable NAME is unset or empty (write ${NAME:-default} to give a default)`,
				`t.yaml:8:11: providers[1].type: environment variable TYPE is unset or empty (write ${TYPE:-default} to give a default)`,
			},
		},
		{
			name: "values from variables are named, not shown",
			src: `listen: ${HOST}:${PORT}:${HOST}
providers:
  - name: a
    type: ${T}
models:
  - name: m
    target: ${T}
`,
			env: map[string]string{"HOST": "h", "PORT": "p", "T": "opnai"},
			want: []string{
				`t.yaml:1: listen: (value of ${HOST}, ${PORT}) is not host:port, such as 127.0.0.1:8080 (or :8080 for every interface)`,
				`t.yaml:4: providers[0].type: unknown provider type (value of ${T})` + knownTypes,
				`t.yaml:7: models[0].target: (value of ${T}) is not provider/model, such as openai/gpt-4o`,
			},
		},
		{
			name: "malformed references",
			src: `storage: sqlite:${DB
admin_key: ${not a name}
listen: ${A}${A}
`,
			want: []string{
				`t.yaml:1:17: storage: unterminated ${ (write $${ for a literal ${)`,
				`t.yaml:2:12: admin_key: invalid reference: write ${NAME} or ${NAME:-default}, where NAME is letters, digits and '_' (write $${ for a literal ${)`,
				`t.yaml:3:9: listen: environment variable A is unset or empty (write ${A:-default} to give a default)`,
				`t.yaml:3:13: listen: environment variable A is unset or empty (write ${A:-default} to give a default)`,
			},
		},
		{
			name: "variable in a literal block",
			src: `admin_key: |
  first line
  ${MISSING}
`,
			want: []string{`t.yaml:3:3: admin_key: environment variable MISSING is unset or empty (write ${MISSING:-default} to give a default)`},
		},
		{
			name: "yaml syntax error: parser",
			src: `listen: :8080
storage: a.db
providers:
  - name: a
    type: openai
   - name: b
`,
			want: []string{`t.yaml:6: did not find expected '-' indicator`},
		},
		{
			name: "yaml syntax error: parser, nested mapping",
			src: `log:
  format: text
  level: info
  - debug
`,
			want: []string{`t.yaml:4: did not find expected key`},
		},
		{
			name: "yaml syntax error: parser, top-level mapping",
			src: `listen: :8080
storage: a.db
- b
`,
			want: []string{`t.yaml:3: did not find expected key`},
		},
		{
			name: "yaml syntax error: flow sequence",
			src: `listen: :8080
providers: [
`,
			want: []string{`t.yaml:2: did not find expected node content`},
		},
		{
			name: "yaml syntax error: scanner",
			src: `listen: :8080
storage: "a.db
`,
			want: []string{`t.yaml:2: found unexpected end of stream`},
		},
		{
			name: "yaml syntax error: quote left open on the first line",
			src:  "admin_key: 'abc\n\nlisten: :1\n",
			want: []string{`t.yaml:1: found unexpected end of stream`},
		},
		{
			name: "yaml syntax error: quote left open on the last line",
			src:  "listen: :1\nadmin_key: 'abc",
			want: []string{`t.yaml:2: found unexpected end of stream`},
		},
		{
			name: "yaml syntax error: item out of a list at the top",
			src:  "- a\nb: c\n",
			want: []string{`t.yaml:2: did not find expected '-' indicator`},
		},
		{
			name: "yaml syntax error on the first line",
			src:  "listen: a: b\n",
			want: []string{`t.yaml:1: mapping values are not allowed in this context`},
		},
		{
			name: "yaml unknown anchor",
			src:  "listen: :8080\nstorage: *db\n",
			want: []string{`t.yaml:2:10: unknown anchor 'db' referenced`},
		},
		{
			name: "control character",
			src:  "listen: :8080\nstorage: a\x01b\n",
			want: []string{`t.yaml:2:11: control characters are not allowed`},
		},
		{
			name: "not a mapping",
			src:  "- listen\n",
			want: []string{`t.yaml:1: expected a mapping, not a list`},
		},
		{
			name: "two documents",
			src:  "listen: :1\n---\nlisten: :2\n",
			want: []string{`t.yaml:2: a second YAML document (after ---): put all settings in one document`},
		},
		{
			name: "merge nesting bounded",
			src:  "x-a: &a {<<: *a}\nlog: {<<: *a}\n",
			want: []string{`t.yaml:1: log: merges (<<) nest too deeply`},
		},
		{
			name: "merge of a non-mapping",
			src:  "log:\n  <<: [a]\n",
			want: []string{`t.yaml:2: log: << merges a mapping or a list of mappings, not a single value`},
		},
		{
			name: "key that is not a name",
			src:  "log:\n  ? [a]\n  : b\n",
			want: []string{`t.yaml:2: log: expected a name as key, not a list`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.src, tt.env)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Errorf("config %+v returned with an error", c)
			}
			got := errorLines(t, err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		env   map[string]string
		check func(*Config) any // returns the value under test
		want  any
	}{
		{
			name:  "variable",
			src:   "providers: [{name: openai, type: openai, api_key: '${KEY}'}]",
			env:   map[string]string{"KEY": "sk-1"},
			check: func(c *Config) any { return c.Providers[0].APIKey },
			want:  "sk-1",
		},
		{
			name:  "default when unset",
			src:   "storage: ${DB:-sqlite:/var/lib/switchyard.db}",
			check: func(c *Config) any { return c.Storage },
			want:  "sqlite:/var/lib/switchyard.db",
		},
		{
			name:  "default ignored when set",
			src:   "storage: ${DB:-sqlite:/var/lib/switchyard.db}",
			env:   map[string]string{"DB": "postgres://db/switchyard"},
			check: func(c *Config) any { return c.Storage },
			want:  "postgres://db/switchyard",
		},
		{
			name:  "empty default",
			src:   "providers: [{name: ollama, type: openai-compatible, base_url: 'http://localhost:11434/v1', api_key: '${KEY:-}'}]",
			check: func(c *Config) any { return c.Providers[0].APIKey },
			want:  "",
		},
		{
			name:  "escape",
			src:   `providers: [{name: a, type: openai, headers: {X-Template: "$${USER} and $$HOME and $x"}}]`,
			check: func(c *Config) any { return c.Providers[0].Headers["X-Template"] },
			want:  "${USER} and $$HOME and $x",
		},
		{
			name:  "several references in one value",
			src:   "listen: ${HOST:-0.0.0.0}:${PORT}",
			env:   map[string]string{"PORT": "9090"},
			check: func(c *Config) any { return c.Listen },
			want:  "0.0.0.0:9090",
		},
		{
			name:  "variable in a number",
			src:   "max_body_bytes: ${MAX:-1_048_576}",
			check: func(c *Config) any { return c.MaxBodyBytes },
			want:  int64(1 << 20),
		},
		{
			name:  "variable in a duration",
			src:   "providers: [{name: a, type: openai, timeout: '${T}'}]",
			env:   map[string]string{"T": "90s"},
			check: func(c *Config) any { return c.Providers[0].Timeout },
			want:  90 * time.Second,
		},
		{
			name:  "the value of a variable is not expanded again",
			src:   "admin_key: ${K}",
			env:   map[string]string{"K": "a${B}c"},
			check: func(c *Config) any { return c.AdminKey },
			want:  "a${B}c",
		},
		{
			name:  "durations",
			src:   "shutdown_timeout: 1m30s\nrequest_log: {flush_interval: 250ms}",
			check: func(c *Config) any { return []time.Duration{c.ShutdownTimeout, c.RequestLog.FlushInterval} },
			want:  []time.Duration{90 * time.Second, 250 * time.Millisecond},
		},
		{
			name: "merged settings are overridden by the mapping's own",
			src: `x-base: &base
  type: openai-compatible
  base_url: http://base.example/v1
  timeout: 5m
providers:
  - <<: *base
    name: a
    timeout: 1m
`,
			check: func(c *Config) any { return c.Providers[0] },
			want:  Provider{Name: "a", Type: "openai-compatible", BaseURL: "http://base.example/v1", Timeout: time.Minute, ConnectTimeout: 10 * time.Second, Line: 6},
		},
		{
			name:  "alias",
			src:   "x-models: &m [gpt-4o, gpt-4o-mini]\nproviders: [{name: a, type: openai, models: *m}]",
			check: func(c *Config) any { return c.Providers[0].Models },
			want:  []string{"gpt-4o", "gpt-4o-mini"},
		},
		{
			name:  "empty values keep defaults",
			src:   "listen:\nlog: ~\nproviders:\n",
			check: func(c *Config) any { return []any{c.Listen, c.Log, len(c.Providers)} },
			want:  []any{DefaultListen, Log{Format: "text", Level: "info"}, 0},
		},
		{
			name:  "empty file",
			src:   "# nothing yet\n",
			check: func(c *Config) any { return c.Listen },
			want:  DefaultListen,
		},
		{
			name:  "trailing document marker",
			src:   "listen: :1\n---\n",
			check: func(c *Config) any { return c.Listen },
			want:  ":1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.src, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestSecretsNeverInErrors puts secrets, from the environment and in the
// file, into every field whose error could quote a value.
func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "sk-live-7f3a9c"
	vars := map[string]string{"S": secret}
	for _, field := range []string{
		"listen", "max_body_bytes", "shutdown_timeout", "log: {level", "request_log: {flush_interval",
	} {
		src := field + ": ${S}"
		if strings.Contains(field, "{") {
			src = field + ": '${S}'}"
		}
		t.Run(field, func(t *testing.T) {
			_, err := parse(t, src, vars)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("secret in error: %v", err)
			}
		})
	}
	src := `providers:
  - name: ${S}
    type: ${S}
    api_key: sk-literal-in-file
    base_url: https://user:hunter2@${S}/v1
    reasoning: ${S}
    timeout: ${S}
    models: ['${S}', '${S}']
    headers:
      Authorization: "Bearer ${S}\r\n"
  - name: b
    type: openai-compatible
    api_key: sk-literal-in-file
    base_url: ftp://user:hunter2@example.com/${S}
  - name: c
    type: openai
    base_url: "http://[::1]:${S}"
models:
  - name: ${S}
    target: ${S}
  - name: ${S}
    target: nobody/${S}
`
	_, err := parse(t, src, vars)
	lines := errorLines(t, err)
	if len(lines) < 10 {
		t.Errorf("only %d errors, want one per field:\n%s", len(lines), err)
	}
	for _, s := range []string{secret, "sk-literal-in-file", "hunter2"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%q in error:\n%v", s, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("providers: [{name: openai, type: openai}]"), "t.yaml", Options{
		ProviderTypes: testTypes,
		Getenv:        env(map[string]string{"SWITCHYARD_ADMIN_KEY": "admin-from-env"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listen:          "127.0.0.1:8080",
		Storage:         "sqlite:switchyard.db",
		AdminKey:        "admin-from-env",
		MaxBodyBytes:    32 << 20,
		ShutdownTimeout: 30 * time.Second,
		HTTP: HTTP{MaxConnections: 10000, ReadHeaderTimeout: 10 * time.Second, BodyTimeout: 30 * time.Second, BodyMinRate: 32 << 10,
			IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10},
		Log:        Log{Format: "text", Level: "info"},
		RequestLog: RequestLog{QueueSize: 10000, BatchSize: 500, FlushInterval: time.Second},
		Providers:  []Provider{{Name: "openai", Type: "openai", Timeout: 10 * time.Minute, ConnectTimeout: 10 * time.Second, Line: 1}},
		Router: Router{RetryBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, Deadline: 2 * time.Minute,
			MaxRetryWait: 2 * time.Second, Cooldown: 5 * time.Second, MaxCooldown: time.Minute,
			ShadowConcurrency: 16, ShadowTimeout: 2 * time.Minute,
			Breaker: Breaker{Window: 30 * time.Second, MinRequests: 10, FailureRate: 0.5, OpenFor: 30 * time.Second, HalfOpenShare: 0.1}},
		Tracing:     Tracing{SampleRatio: 1, ServiceName: "switchyard"},
		RedisPrefix: "switchyard:",
		Limits:      Limits{OutputTokens: 4096, ReservationTTL: 15 * time.Minute},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}

	// Values that are set stay, including an admin key over the variable's.
	c, err = Parse([]byte("admin_key: from-file\nlisten: ':9000'\nrequest_log: {queue_size: 5, batch_size: 5}\n"), "t.yaml", Options{
		Getenv: env(map[string]string{"SWITCHYARD_ADMIN_KEY": "admin-from-env"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminKey != "from-file" || c.Listen != ":9000" || c.RequestLog.QueueSize != 5 || c.RequestLog.FlushInterval != time.Second {
		t.Errorf("defaults overrode set values: %+v", c)
	}

	var empty Config
	empty.SetDefaults()
	empty.SetDefaults() // idempotent
	if err := empty.Validate(nil); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestLoad(t *testing.T) {
	path := t.TempDir() + "/switchyard.yaml"
	if err := os.WriteFile(path, []byte("providers:\n  - name: a\n    type: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, Options{ProviderTypes: []string{"openai"}})
	if want := path + `:3: providers[0].type: unknown provider type "nope" (known: openai)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := Load(path+".missing", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLines(t *testing.T) {
	src := `# providers
providers:
  - name: a
    type: openai

  - type: xai
    name: b
models:
  -
    name: chat
    target: a/gpt-4o
  - {name: fast, target: b/grok-3-mini}
`
	c, err := parse(t, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := []int{c.Providers[0].Line, c.Providers[1].Line, c.Models[0].Line, c.Models[1].Line}
	if want := []int{3, 6, 10, 12}; !slices.Equal(got, want) {
		t.Errorf("lines %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	c := &Config{
		Providers: []Provider{{Name: "a", Type: "openai"}, {Name: "a", Type: "nope", Line: 7}},
		Models:    []Model{{Name: "m", Target: "b/x"}},
	}
	c.SetDefaults()
	err := c.Validate([]string{"openai"})
	want := []string{
		`line 7: providers[1].name: duplicate provider name "a" (first at providers[0])`,
		`line 7: providers[1].type: unknown provider type "nope" (known: openai)`,
		`models[0].target: "b/x" names no configured provider (configured: a)`,
	}
	var got []string
	for _, e := range err.(Errors) {
		got = append(got, e.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without the list of types, any type passes.
	c.Providers = c.Providers[1:]
	c.Models = nil
	if err := c.Validate(nil); err != nil {
		t.Errorf("Validate(nil): %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Column: 7, Field: "listen", Msg: "bad"}, "a.yaml:3:7: listen: bad"},
		{Error{File: "a.yaml", Line: 3, Field: "listen", Msg: "bad"}, "a.yaml:3: listen: bad"},
		{Error{File: "a.yaml", Msg: "bad"}, "a.yaml: bad"},
		{Error{Line: 2, Field: "x", Msg: "bad"}, "line 2: x: bad"},
		{Error{Field: "x", Msg: "bad"}, "x: bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v: got %q, want %q", tt.e, got, tt.want)
		}
	}
	var err error = Errors{{Line: 1, Msg: "one"}, {Line: 2, Msg: "two"}}
	if got, want := err.Error(), "line 1: one\nline 2: two"; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Msg != "one" {
		t.Errorf("errors.As found %v", e)
	}
}

func TestExpand(t *testing.T) {
	vars := env(map[string]string{"A": "1", "B_2": "two"})
	tests := []struct {
		in, out string
		vars    []string
		errs    []string
	}{
		{"plain $ text", "plain $ text", nil, nil},
		{"${A}", "1", []string{"A"}, nil},
		{"x${B_2}y${A}${B_2}", "xtwoy1two", []string{"B_2", "A"}, nil},
		{"${C:-d e f}", "d e f", []string{"C"}, nil},
		{"${C:-}", "", []string{"C"}, nil},
		{"${A:-zzz}", "1", []string{"A"}, nil},
		{"${C:-a:-b}", "a:-b", []string{"C"}, nil},
		{"$${A}", "${A}", nil, nil},
		{"$$${A}", "$${A}", nil, nil}, // left to right: "$", then the escape
		{"$${A", "${A", nil, nil},
		{"${C}", "", []string{"C"}, []string{"0:${C}:environment variable C is unset or empty (write ${C:-default} to give a default)"}},
		{"a${A", "a${A", nil, []string{"1:${:unterminated ${ (write $${ for a literal ${)"}},
		{"${1A}${}", "", nil, []string{
			"0:${1A}:invalid reference: write ${NAME} or ${NAME:-default}, where NAME is letters, digits and '_' (write $${ for a literal ${)",
			"5:${}:invalid reference: write ${NAME} or ${NAME:-default}, where NAME is letters, digits and '_' (write $${ for a literal ${)",
		}},
	}
	for _, tt := range tests {
		out, used, errs := expand(tt.in, vars)
		var gotErrs []string
		for _, e := range errs {
			gotErrs = append(gotErrs, strings.Join([]string{strconv.Itoa(e.Off), e.Ref, e.Msg}, ":"))
		}
		if out != tt.out || !slices.Equal(used, tt.vars) || !slices.Equal(gotErrs, tt.errs) {
			t.Errorf("expand(%q) = %q, %q, %q; want %q, %q, %q", tt.in, out, used, gotErrs, tt.out, tt.vars, tt.errs)
		}
	}
}

func TestFromEnv(t *testing.T) {
	all := append(slices.Clone(testTypes), "anthropic", "gemini")
	tests := []struct {
		name      string
		env       map[string]string
		types     []string
		providers []Provider
		found     map[string]bool // name → Found, for every candidate listed
	}{
		{
			name:  "nothing set",
			types: testTypes,
			found: map[string]bool{"openai": false, "azure": false, "xai": false, "deepseek": false, "mistral": false},
		},
		{
			name: "every vendor",
			env: map[string]string{
				"OPENAI_API_KEY": "o", "OPENAI_BASE_URL": "https://proxy.example/v1",
				"AZURE_OPENAI_API_KEY": "az", "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_API_VERSION": "2024-10-21",
				"ANTHROPIC_API_KEY": "an", "GEMINI_API_KEY": "g", "XAI_API_KEY": "x", "DEEPSEEK_API_KEY": "d", "MISTRAL_API_KEY": "m",
			},
			types: all,
			providers: []Provider{
				{Name: "openai", Type: "openai", APIKey: "o", BaseURL: "https://proxy.example/v1"},
				{Name: "azure", Type: "azure-openai", APIKey: "az", BaseURL: "https://r.openai.azure.com", APIVersion: "2024-10-21"},
				{Name: "anthropic", Type: "anthropic", APIKey: "an"},
				{Name: "gemini", Type: "gemini", APIKey: "g"},
				{Name: "xai", Type: "xai", APIKey: "x"},
				{Name: "deepseek", Type: "deepseek", APIKey: "d"},
				{Name: "mistral", Type: "mistral", APIKey: "m"},
			},
			found: map[string]bool{"openai": true, "azure": true, "anthropic": true, "gemini": true, "xai": true, "deepseek": true, "mistral": true},
		},
		{
			name:      "types without an adapter are neither configured nor listed",
			env:       map[string]string{"ANTHROPIC_API_KEY": "an", "DEEPSEEK_API_KEY": "d"},
			types:     testTypes,
			providers: []Provider{{Name: "deepseek", Type: "deepseek", APIKey: "d"}},
			found:     map[string]bool{"openai": false, "azure": false, "xai": false, "deepseek": true, "mistral": false},
		},
		{
			name:  "azure needs its endpoint",
			env:   map[string]string{"AZURE_OPENAI_API_KEY": "az"},
			types: []string{"azure-openai"},
			found: map[string]bool{"azure": false},
		},
		{
			name:      "nil types: every candidate",
			env:       map[string]string{"GEMINI_API_KEY": "g"},
			providers: []Provider{{Name: "gemini", Type: "gemini", APIKey: "g"}},
			found:     map[string]bool{"openai": false, "azure": false, "anthropic": false, "gemini": true, "xai": false, "deepseek": false, "mistral": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, found := FromEnv(env(tt.env), tt.types)
			for i := range tt.providers {
				tt.providers[i].Timeout, tt.providers[i].ConnectTimeout = DefaultProviderTimeout, 10*time.Second
				// No models are named in the environment: the vendor's
				// own list is shown.
				tt.providers[i].ListModels = true
			}
			if !reflect.DeepEqual(c.Providers, tt.providers) {
				t.Errorf("providers:\n%+v\nwant\n%+v", c.Providers, tt.providers)
			}
			got := map[string]bool{}
			for _, p := range found {
				got[p.Name] = p.Found
				for _, v := range slices.Concat(p.EnvVars, p.Optional) {
					if v == "" || strings.ToUpper(v) != v {
						t.Errorf("%s: variable name %q", p.Name, v)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.found) {
				t.Errorf("found %v, want %v", got, tt.found)
			}
			if err := c.Validate(tt.types); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}

	t.Run("settings and report", func(t *testing.T) {
		c, found := FromEnv(env(map[string]string{
			"SWITCHYARD_LISTEN": ":9999", "SWITCHYARD_STORAGE": "postgres://db/s", "SWITCHYARD_ADMIN_KEY": "adm",
			"AZURE_OPENAI_API_KEY": "az", "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
		}), []string{"openai", "azure-openai"})
		if c.Listen != ":9999" || c.Storage != "postgres://db/s" || c.AdminKey != "adm" || c.MaxBodyBytes != DefaultMaxBodyBytes {
			t.Errorf("config %+v", c)
		}
		want := []EnvProvider{
			{Name: "openai", Type: "openai", EnvVars: []string{"OPENAI_API_KEY"}, Optional: []string{"OPENAI_BASE_URL"}},
			{Name: "azure", Type: "azure-openai", EnvVars: []string{"AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"}, Optional: []string{"AZURE_OPENAI_API_VERSION"}, Found: true},
		}
		if !reflect.DeepEqual(found, want) {
			t.Errorf("found %+v\nwant  %+v", found, want)
		}
	})

	t.Run("Validate does not show values", func(t *testing.T) {
		c, _ := FromEnv(env(map[string]string{"SWITCHYARD_LISTEN": "secret-host", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "ftp://secret"}), nil)
		err := c.Validate(nil)
		want := "listen: (value of ${SWITCHYARD_LISTEN}) is not host:port, such as 127.0.0.1:8080 (or :8080 for every interface)\n" +
			"providers[0].base_url: must be an absolute http:// or https:// URL, such as https://api.example.com/v1"
		if err == nil || err.Error() != want {
			t.Errorf("got %v\nwant %s", err, want)
		}
	})

	t.Run("defaults", func(t *testing.T) {
		c, _ := FromEnv(env(nil), nil)
		if c.Listen != DefaultListen || c.Storage != DefaultStorage || c.Providers != nil {
			t.Errorf("config %+v", c)
		}
	})
}

// TestExample checks that the example config parses and that it shows
// every field, so that a new field cannot go undocumented.
func TestExample(t *testing.T) {
	const path = "../../switchyard.example.yaml"
	vars := map[string]string{
		"OPENAI_API_KEY": "sk-openai", "AZURE_OPENAI_API_KEY": "az", "XAI_API_KEY": "xai",
		"DEEPSEEK_API_KEY": "ds", "MISTRAL_API_KEY": "mi", "ANTHROPIC_API_KEY": "an", "GEMINI_API_KEY": "ge",
	}
	c, err := Load(path, Options{ProviderTypes: append(slices.Clone(testTypes), "anthropic", "gemini"), Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, p := range c.Providers {
		types[p.Type]++
	}
	if want := map[string]int{"openai": 1, "azure-openai": 1, "anthropic": 1, "gemini": 1, "xai": 1, "deepseek": 1, "mistral": 1, "openai-compatible": 2}; !reflect.DeepEqual(types, want) {
		t.Errorf("provider types %v, want %v", types, want)
	}
	if len(c.Models) != 2 {
		t.Errorf("%d models, want 2", len(c.Models))
	}
	if p := c.Providers[7]; p.Reasoning != "think-tags" || p.BaseURL != "http://localhost:8000/v1" {
		t.Errorf("vllm provider %+v", p)
	}
	if p := c.Providers[1]; p.APIVersion == "" {
		t.Errorf("azure provider %+v has no api_version", p)
	}

	// Every yaml field of Config appears somewhere in the example.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], path)
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]")
			}
		case yaml.MappingNode:
			for i := 0; i < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				present[p] = true
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(&doc, "")
	for _, f := range yamlFields(reflect.TypeFor[Config](), "") {
		if !present[f] {
			t.Errorf("the example does not show %s", f)
		}
	}
}

// yamlFields lists the field paths of t, with [] for list items, stopping
// at maps.
func yamlFields(t reflect.Type, path string) []string {
	var out []string
	fs := fieldsOf(t)
	for _, name := range fs.names {
		p := join(path, name)
		out = append(out, p)
		ft := t.Field(fs.index[name]).Type
		if ft.Kind() == reflect.Slice {
			ft, p = ft.Elem(), p+"[]"
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			out = append(out, yamlFields(ft, p)...)
		}
	}
	return out
}

func TestAliasExpansionBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-m: &m [")
	for i := range 500 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("m")
	}
	b.WriteString("]\nx-p: &p {name: a, type: openai, models: *m}\nproviders: [")
	for i := range 500 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*p")
	}
	b.WriteString("]\n")
	_, err := parse(t, b.String(), nil)
	if err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Errorf("got %v", firstLine(err))
	}
}

func firstLine(err error) string {
	if err == nil {
		return "no error"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../../switchyard.example.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"listen: ${A:-x}\n",
		"providers: [{name: a, type: openai, timeout: '${S}'}]",
		"x-a: &a {<<: *a}\nlog: {<<: *a}\n",
		"models:\n  - name: a/b\n    target: ${S}\n",
		"storage: |\n  ${S}\n  ${\n",
		"a: b: c",
		"- &a [*a]",
	} {
		f.Add([]byte(s))
	}
	const secret = "zz-fuzz-secret-zz"
	getenv := env(map[string]string{"S": secret, "A": "1"})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "f.yaml", Options{ProviderTypes: testTypes, Getenv: getenv})
		if (c == nil) == (err == nil) {
			t.Fatalf("config %v with error %v", c, err)
		}
		if err == nil {
			if err := c.Validate(testTypes); err != nil {
				t.Fatalf("Parse accepted what Validate rejects: %v", err)
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T %v", err, err)
		}
		if !strings.Contains(string(data), secret[:6]) && strings.Contains(err.Error(), secret) {
			t.Fatalf("secret in error: %v", err)
		}
	})
}

// With MissingEnv, a reference to an unset variable without a default is
// reported, not an error, and a default still applies.
func TestMissingEnv(t *testing.T) {
	src := "admin_key: ${ADMIN:-}\nproviders:\n  - name: openai\n    type: openai\n    api_key: ${NO_SUCH_KEY}\n    base_url: ${NO_SUCH_URL:-https://proxy.example/v1}\n"
	if _, err := Parse([]byte(src), "t.yaml", Options{Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "NO_SUCH_KEY is unset") {
		t.Fatalf("without MissingEnv: %v", err)
	}
	var missing []string
	c, err := Parse([]byte(src), "t.yaml", Options{Getenv: env(nil), MissingEnv: func(name string) { missing = append(missing, name) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{"NO_SUCH_KEY"}) || c.Providers[0].APIKey != "" || c.Providers[0].BaseURL != "https://proxy.example/v1" {
		t.Errorf("missing %v, provider %+v", missing, c.Providers[0])
	}
}
