package limits

import (
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer/codec"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// Token estimates serve two purposes, with two methods (docs/limits.md):
//
//   - A reservation needs a quick bound on a request's input before its
//     call, on every limited request: MaxInputTokens counts a token per
//     three bytes of content, fewer bytes than tokens average (OpenAI's
//     make 3.4 of Go, 3.8 of English and 4.4 of Chinese; Anthropic gives
//     3.5 for English), so that reservations seldom fall short.
//   - A stream that ends before the vendor reported its usage (the client
//     left, the vendor cut it, it stalled) is charged an estimate of what
//     it used: InputTokens and TextTokens count as closely as can be had. For
//     OpenAI models that is exact: their tokenizer, o200k_base, runs here
//     with its vocabulary compiled in (github.com/tiktoken-go/tokenizer:
//     no download at run time; it adds about 5 MB to the binary and 6 MB
//     of heap once first used). Other vendors do not publish their
//     tokenizers, so their text is counted at each vendor's own published
//     ratio of bytes to tokens (bytesPerToken).

// imageTokens is charged per image: vendors bill an image by its size, up
// to about 1,600 tokens (Anthropic's 1.15-megapixel cap; OpenAI's
// high-detail tiles are fewer), and the size is not known here.
const imageTokens = 1600

// messageTokens is the framing of one message (role and separators) and
// replyTokens that of the reply, as OpenAI's cookbook counts them; other
// vendors' framing is of the same size.
const (
	messageTokens = 4
	replyTokens   = 3
)

// maxTokenized bounds the text run through the tokenizer for one
// estimate; the rest is counted at the ratio the tokenized part showed. The
// tokenizer runs at 5 to 7 MB/s on the development machine, so this keeps
// an estimate to about 10 ms of CPU, however large the request.
const maxTokenized = 64 << 10

// bytesPerToken is how many bytes of UTF-8 text a vendor's tokens average,
// by the vendor's own figures: Anthropic "about 3.5 English characters",
// Google "about 4 characters" for Gemini, DeepSeek "0.3 tokens per
// English character" (3.3 bytes). Others, and OpenAI's own rule of thumb
// (used only past maxTokenized), are four.
func bytesPerToken(typ, model string) float64 {
	switch {
	case typ == "anthropic" || strings.Contains(model, "claude"):
		return 3.5
	case typ == "deepseek" || strings.Contains(model, "deepseek"):
		return 3.3
	}
	return 4
}

// openAIModel reports whether a model is tokenized with o200k_base: every
// model of the openai and azure-openai provider types, and OpenAI's models
// served elsewhere (gpt-oss on a self-hosted server, for one).
func openAIModel(typ, model string) bool {
	if typ == "openai" || typ == "azure-openai" {
		return true
	}
	m := model[strings.LastIndexByte(model, '/')+1:]
	for _, p := range []string{"gpt-", "chatgpt-", "o1", "o3", "o4"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// o200k is OpenAI's tokenizer, built on first use (it takes tens of
// milliseconds). A Codec is safe for concurrent use.
var o200k = sync.OnceValue(codec.NewO200kBase)

// TextTokens estimates the tokens of text for model, served by a provider of
// type typ.
func TextTokens(typ, model, text string) int64 {
	if text == "" {
		return 0
	}
	if !openAIModel(typ, model) {
		return ratioTokens(len(text), bytesPerToken(typ, model))
	}
	head := text
	if len(head) > maxTokenized {
		head = strings.ToValidUTF8(head[:maxTokenized], "")
	}
	n, err := o200k().Count(head)
	if err != nil || n == 0 {
		return ratioTokens(len(text), 4)
	}
	if rest := len(text) - len(head); rest > 0 {
		return int64(n) + ratioTokens(rest, float64(len(head))/float64(n))
	}
	return int64(n)
}

func ratioTokens(bytes int, perToken float64) int64 {
	if bytes <= 0 {
		return 0
	}
	return max(1, int64(float64(bytes)/perToken+0.5))
}

// InputTokens estimates the input tokens of req for model, served by a
// provider of type typ.
func InputTokens(typ, model string, req *llm.Request) int64 {
	var text strings.Builder
	images := requestText(req, &text)
	return TextTokens(typ, model, text.String()) + framing(req) + int64(images)*imageTokens
}

// MaxInputTokens is a quick bound on the input tokens of req, for
// reservations: a token per three bytes of its content.
func MaxInputTokens(req *llm.Request) int64 {
	var n countingWriter
	images := requestText(req, &n)
	return MaxTextTokens(int(n)) + framing(req) + int64(images)*imageTokens
}

// MaxTextTokens is the reservations' bound on the tokens of n bytes of
// text.
func MaxTextTokens(n int) int64 { return int64(n+2) / 3 }

func framing(req *llm.Request) int64 {
	n := int64(len(req.Messages))
	if len(req.System) > 0 {
		n++
	}
	return n*messageTokens + replyTokens
}

type countingWriter int

func (c *countingWriter) WriteString(s string) (int, error) {
	*c += countingWriter(len(s))
	return len(s), nil
}

// requestText writes the text of req that becomes input tokens (prompts,
// tool calls and results, tool definitions) and returns its image count.
func requestText(req *llm.Request, w interface{ WriteString(string) (int, error) }) (images int) {
	var parts func(ps []llm.Part)
	parts = func(ps []llm.Part) {
		for _, p := range ps {
			w.WriteString(p.Text)
			if p.Image != nil {
				images++
			}
			if c := p.ToolCall; c != nil {
				w.WriteString(c.Name)
				w.WriteString(c.Arguments)
			}
			if r := p.ToolResult; r != nil {
				parts(r.Content)
			}
		}
	}
	parts(req.System)
	for _, m := range req.Messages {
		parts(m.Parts)
	}
	for _, t := range req.Tools {
		w.WriteString(t.Name)
		w.WriteString(t.Description)
		w.WriteString(string(t.Parameters))
	}
	if o := req.Output; o != nil {
		w.WriteString(string(o.Schema))
	}
	return images
}
