package capability

// The sources, one per vendor page. Facts were read from these pages (and
// checked against the vendors' API errors where a transcript exists);
// docs/capabilities.md says how to add or correct an entry.
const (
	srcOpenAIModels   = "https://platform.openai.com/docs/models/"
	srcOpenAIReason   = "https://platform.openai.com/docs/guides/reasoning"
	srcAnthropic      = "https://docs.anthropic.com/en/docs/about-claude/models/overview"
	srcGeminiModels   = "https://ai.google.dev/gemini-api/docs/models/"
	srcGeminiThinking = "https://ai.google.dev/gemini-api/docs/thinking"
	srcDeepSeek       = "https://api-docs.deepseek.com/quick_start/pricing"
	srcDeepSeekReason = "https://api-docs.deepseek.com/guides/reasoning_model"
	srcXAIModels      = "https://docs.x.ai/docs/models"
	srcXAIReasoning   = "https://docs.x.ai/docs/guides/reasoning"
	srcMistralTools   = "https://docs.mistral.ai/capabilities/function_calling/"
	srcMistralReason  = "https://docs.mistral.ai/capabilities/reasoning/"
)

// Shorthands for the table below.
const (
	y = Yes
	n = No
)

// openAI returns the entries for an OpenAI model and its dated snapshots.
func openAI(m Model, names ...string) []Model {
	var out []Model
	for _, name := range names {
		e := m
		e.Pattern, e.Vendor = name, "openai"
		if e.Source == "" {
			e.Source = srcOpenAIModels + names[0]
		}
		out = append(out, e)
	}
	return out
}

func each(m Model, patterns ...string) []Model {
	var out []Model
	for _, p := range patterns {
		e := m
		e.Pattern = p
		out = append(out, e)
	}
	return out
}

func concat(groups ...[]Model) []Model {
	var out []Model
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// table is every entry. Exact names come with their dated snapshots where
// the vendor documents the snapshot as the same model; prefixes ending in
// "*" cover a family whose members share the facts given (and only
// those: a family entry leaves the token limits unknown when they differ
// across members).
var table = concat(
	// OpenAI. GPT-4o's first snapshot (2024-05-13) had a smaller output
	// limit, so it is not listed with the others.
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: n, ContextWindow: 128000, MaxOutputTokens: 16384},
		"gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: n, ContextWindow: 128000, MaxOutputTokens: 16384},
		"gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: n, ContextWindow: 1047576, MaxOutputTokens: 32768},
		"gpt-4.1", "gpt-4.1-2025-04-14"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: n, ContextWindow: 1047576, MaxOutputTokens: 32768},
		"gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: n, ContextWindow: 1047576, MaxOutputTokens: 32768},
		"gpt-4.1-nano", "gpt-4.1-nano-2025-04-14"),
	// The o-series: max_completion_tokens only (transcript
	// openai-error-400-unsupported-parameter.json), and no sampling
	// parameters (the reasoning guide's limitations).
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ReasoningEffort: y, ContextWindow: 200000, MaxOutputTokens: 100000, RejectsMaxTokens: true, RejectsSampling: true},
		"o1", "o1-2024-12-17"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ReasoningEffort: y, ContextWindow: 200000, MaxOutputTokens: 100000, RejectsMaxTokens: true, RejectsSampling: true},
		"o3", "o3-2025-04-16"),
	openAI(Model{Tools: y, Vision: n, JSONSchema: y, Reasoning: y, ReasoningEffort: y, ContextWindow: 200000, MaxOutputTokens: 100000, RejectsMaxTokens: true, RejectsSampling: true},
		"o3-mini", "o3-mini-2025-01-31"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ReasoningEffort: y, ContextWindow: 200000, MaxOutputTokens: 100000, RejectsMaxTokens: true, RejectsSampling: true},
		"o4-mini", "o4-mini-2025-04-16"),
	// GPT-5: reasoning models with the o-series' restrictions.
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ReasoningEffort: y, ContextWindow: 400000, MaxOutputTokens: 128000, RejectsMaxTokens: true, RejectsSampling: true},
		"gpt-5", "gpt-5-2025-08-07"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ReasoningEffort: y, ContextWindow: 400000, MaxOutputTokens: 128000, RejectsMaxTokens: true, RejectsSampling: true},
		"gpt-5-mini", "gpt-5-mini-2025-08-07"),
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ReasoningEffort: y, ContextWindow: 400000, MaxOutputTokens: 128000, RejectsMaxTokens: true, RejectsSampling: true},
		"gpt-5-nano", "gpt-5-nano-2025-08-07"),
	// The ChatGPT model takes no reasoning_effort.
	openAI(Model{ReasoningEffort: n}, "gpt-5-chat-latest"),
	// Later GPT-5 releases (5.1, 5.2, ...) reason and take an effort, and
	// refuse max_tokens. Their limits differ by release, and they take
	// temperature and top_p at effort "none" only, so neither is recorded.
	openAI(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ReasoningEffort: y, RejectsMaxTokens: true, Source: srcOpenAIReason},
		"gpt-5.*"),

	// Anthropic. Every current model calls tools and reads images; the
	// limits are per model.
	each(Model{Vendor: "anthropic", Tools: y, Vision: y, Source: srcAnthropic}, "claude-*"),
	each(Model{Vendor: "anthropic", Tools: y, Vision: y, Reasoning: y, ContextWindow: 200000, MaxOutputTokens: 64000, Source: srcAnthropic},
		"claude-sonnet-4-5*", "claude-haiku-4-5*", "claude-opus-4-5*", "claude-sonnet-4-0", "claude-sonnet-4-2025*", "claude-3-7-sonnet*"),
	each(Model{Vendor: "anthropic", Tools: y, Vision: y, Reasoning: y, ContextWindow: 200000, MaxOutputTokens: 32000, Source: srcAnthropic},
		"claude-opus-4-1*", "claude-opus-4-0", "claude-opus-4-2025*"),
	each(Model{Vendor: "anthropic", Tools: y, Vision: y, Reasoning: n, ContextWindow: 200000, MaxOutputTokens: 8192, Source: srcAnthropic},
		"claude-3-5-haiku*", "claude-3-5-sonnet*"),
	each(Model{Vendor: "anthropic", Tools: y, Vision: y, Reasoning: n, ContextWindow: 200000, MaxOutputTokens: 4096, Source: srcAnthropic},
		"claude-3-haiku*", "claude-3-opus*"),

	// Gemini. 2.5 models think (with a budget); 2.0 Flash-Lite does not,
	// and 2.0 Flash only experimentally, so its reasoning is not recorded.
	gemini(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ContextWindow: 1048576, MaxOutputTokens: 65536},
		"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"),
	gemini(Model{Tools: y, Vision: y, JSONSchema: y, ContextWindow: 1048576, MaxOutputTokens: 8192},
		"gemini-2.0-flash", "gemini-2.0-flash-001"),
	gemini(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: n, ContextWindow: 1048576, MaxOutputTokens: 8192},
		"gemini-2.0-flash-lite", "gemini-2.0-flash-lite-001"),
	gemini(Model{Tools: y, Vision: y, JSONSchema: y, Reasoning: y, ContextWindow: 1048576, MaxOutputTokens: 65536},
		"gemini-3-pro-preview", "gemini-3.1-pro-preview"),
	// Gemini 3 models all think (thinkingLevel) and sign their calls; their
	// limits are per model.
	each(Model{Vendor: "gemini", Tools: y, Vision: y, JSONSchema: y, Reasoning: y, Source: srcGeminiThinking}, "gemini-3*"),

	// DeepSeek. deepseek-chat is the non-thinking mode and
	// deepseek-reasoner the thinking mode of one model. Their limits have
	// changed with each model version behind the names, so none is
	// recorded.
	each(Model{Vendor: "deepseek", Tools: y, Vision: n, Reasoning: n, Source: srcDeepSeek}, "deepseek-chat"),
	each(Model{Vendor: "deepseek", Vision: n, Reasoning: y, Source: srcDeepSeekReason}, "deepseek-reasoner"),

	// xAI. Grok 4 always reasons and refuses reasoning_effort; Grok 3 Mini
	// takes it (low, high); Grok 3 does not reason.
	each(Model{Vendor: "xai", Tools: y, Vision: y, Reasoning: y, ReasoningEffort: n, ContextWindow: 256000, Source: srcXAIReasoning},
		"grok-4", "grok-4-0709", "grok-4-latest"),
	each(Model{Vendor: "xai", Tools: y, Reasoning: y, ReasoningEffort: n, Source: srcXAIReasoning},
		"grok-4-1-fast-reasoning*", "grok-4-fast-reasoning*"),
	each(Model{Vendor: "xai", Tools: y, Reasoning: n, Source: srcXAIModels},
		"grok-4-1-fast-non-reasoning*", "grok-4-fast-non-reasoning*", "grok-3", "grok-3-latest"),
	each(Model{Vendor: "xai", Tools: y, Reasoning: y, ReasoningEffort: y, Source: srcXAIReasoning},
		"grok-3-mini", "grok-3-mini-latest"),

	// Mistral: function calling on the chat families; Magistral reasons.
	each(Model{Vendor: "mistral", Tools: y, Source: srcMistralTools},
		"mistral-large*", "mistral-medium*", "mistral-small*", "codestral*"),
	each(Model{Vendor: "mistral", Reasoning: y, Source: srcMistralReason}, "magistral*"),
)

func gemini(m Model, names ...string) []Model {
	var out []Model
	for _, name := range names {
		e := m
		e.Pattern, e.Vendor, e.Source = name, "gemini", srcGeminiModels+name
		out = append(out, e)
	}
	return out
}
