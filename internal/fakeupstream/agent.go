package fakeupstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// An Agent is a scripted model behind a coding agent: it answers chat
// requests in every wire format the gateway's providers speak, and plays
// one tool loop. When the request offers a shell tool and no tool result
// has come back since the model's last turn, it calls the tool with
// [AgentCommand]; once the result is back it answers [AgentToolPrefix]
// followed by the result's text; a request without a shell tool is
// answered [AgentText]. So a real coding agent (Claude Code, Codex CLI)
// pointed at the gateway in front of an Agent runs one shell command and
// prints what it said, whichever vendor the gateway routes to.
//
// The formats, chosen by the request path's suffix as on [Server]:
//
//   - OpenAI Chat Completions, "/chat/completions" (openai, azure-openai,
//     xai, deepseek, mistral, openai-compatible);
//   - Anthropic Messages, "/messages";
//   - Gemini, ":generateContent" and ":streamGenerateContent";
//   - OpenAI Responses, "/responses".
//
// Each is answered streamed or whole, as the request asks, in the event
// shapes the vendor sends, with usage. Model lists ("/models") are
// answered in the shape the path and headers call for.
//
// An Agent is safe for concurrent use.
type Agent struct {
	mu    sync.Mutex
	turns []AgentTurn
}

// What the scripted model runs and says. The command prints AgentMarker
// without containing it, so the marker in an answer proves the command
// ran: an agent that echoed the command back in an error would not
// produce it.
const (
	AgentMarker     = "switchyard-tool-ok"
	AgentCommand    = `printf '%s-%s\n' switchyard-tool ok`
	AgentToolPrefix = "TOOL SAID: "
	AgentText       = "switchyard-agent-ok"
)

// The reply kinds of an AgentTurn.
const (
	AgentReplyToolCall = "tool_call"
	AgentReplyFinal    = "final"
	AgentReplyText     = "text"
	AgentReplyError    = "error"
)

// The wire formats of an AgentTurn.
const (
	FormatChat      = "openai-chat"
	FormatAnthropic = "anthropic"
	FormatGemini    = "gemini"
	FormatResponses = "openai-responses"
)

// AgentTurn is one chat request an Agent answered.
type AgentTurn struct {
	Format string // FormatChat, FormatAnthropic, ...
	Path   string
	Model  string // as sent; for Gemini, from the path
	Stream bool
	// Tools are the names of the tools offered; Shell the shell tool
	// chosen among them, "" if none.
	Tools []string
	Shell string
	// ToolResult is the text of the tool result sent since the model's
	// last turn, "" if none. HasToolResult tells an empty result from none.
	ToolResult    string
	HasToolResult bool
	// ResultCallID is the id of the call the (first) result answers, as
	// sent: the Agent's own call id ([AgentCallID]) when ids survive the
	// round trip. Gemini's results carry none.
	ResultCallID string
	// Reply is what the Agent answered: AgentReplyToolCall, ...Final,
	// ...Text, or ...Error (with Err) for a request it could not read.
	Reply string
	Err   string
	// Body is the request body as received.
	Body []byte
}

// NewAgent returns an Agent that has seen no requests.
func NewAgent() *Agent { return &Agent{} }

// Install makes s answer every chat and model-list path through a.
func (a *Agent) Install(s *Server) {
	for _, suffix := range []string{"/chat/completions", "/messages", ":generateContent", ":streamGenerateContent", "/responses", "/models"} {
		s.Respond(suffix, a.Reply)
	}
}

// Turns returns the chat requests a has answered, in order.
func (a *Agent) Turns() []AgentTurn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AgentTurn(nil), a.turns...)
}

// Reply answers one request; it is the function Install registers.
func (a *Agent) Reply(r Recorded) Response {
	path := r.Path
	var format string
	switch {
	case strings.HasSuffix(path, "/models"):
		return agentModels(r)
	case strings.HasSuffix(path, "/chat/completions"):
		format = FormatChat
	case strings.HasSuffix(path, "/messages"):
		format = FormatAnthropic
	case strings.HasSuffix(path, ":generateContent"), strings.HasSuffix(path, ":streamGenerateContent"):
		format = FormatGemini
	case strings.HasSuffix(path, "/responses"):
		format = FormatResponses
	default:
		return OpenAIError(http.StatusNotFound, "invalid_request_error", "unknown_url", "fakeupstream agent: no such endpoint "+path)
	}
	turn := AgentTurn{Format: format, Path: path, Body: r.Body}
	var conv agentConversation
	var err error
	switch format {
	case FormatChat:
		conv, err = readChat(r.Body)
	case FormatAnthropic:
		conv, err = readAnthropic(r.Body)
	case FormatGemini:
		conv, err = readGemini(r.Body)
		conv.model = geminiModel(path)
		conv.stream = strings.HasSuffix(path, ":streamGenerateContent")
	case FormatResponses:
		conv, err = readResponses(r.Body)
	}
	turn.Model, turn.Stream, turn.Tools = conv.model, conv.stream, conv.tools
	if err != nil {
		turn.Reply, turn.Err = AgentReplyError, err.Error()
		a.record(turn)
		return agentError(format, err)
	}
	shell := pickShell(conv.shells)
	if shell != nil {
		turn.Shell = shell.name
	}
	turn.ToolResult, turn.HasToolResult, turn.ResultCallID = conv.result, conv.hasResult, conv.resultCallID

	var text string
	switch {
	case conv.hasResult:
		turn.Reply, text = AgentReplyFinal, AgentToolPrefix+quote(conv.result)
	case shell != nil:
		turn.Reply = AgentReplyToolCall
	default:
		turn.Reply, text = AgentReplyText, AgentText
	}
	a.record(turn)

	var call *agentCall
	if turn.Reply == AgentReplyToolCall {
		call = &agentCall{tool: *shell, args: shell.arguments()}
	}
	switch format {
	case FormatChat:
		return chatReply(conv, text, call, strings.Contains(path, "/openai/deployments/"))
	case FormatAnthropic:
		return anthropicReply(conv, text, call)
	case FormatGemini:
		return geminiReply(conv, text, call)
	default:
		return responsesReply(conv, text, call)
	}
}

func (a *Agent) record(t AgentTurn) {
	a.mu.Lock()
	a.turns = append(a.turns, t)
	a.mu.Unlock()
}

// quote trims a tool result for the final answer: its text, on one line,
// at most 300 bytes.
func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// agentConversation is what the Agent needs from a request, whatever its
// format.
type agentConversation struct {
	model     string
	stream    bool
	usage     bool // Chat Completions: stream_options.include_usage
	tools     []string
	shells    []shellTool
	result    string // tool results after the model's last turn
	hasResult bool
	// resultCallID is the call id the first of those results answers.
	resultCallID string
}

// A shellTool is an offered tool that runs shell commands, and how its
// arguments carry the command.
type shellTool struct {
	name string
	// local is the Responses API's built-in local_shell tool, which takes
	// no schema: its call is a local_shell_call item.
	local bool
	// field names the property holding the command; argv says it is an
	// array (["bash", "-lc", command]) rather than a string.
	field string
	argv  bool
	// required are the other required string properties, filled in so
	// that the call validates against the schema.
	required []string
}

// shellNames are the names coding agents give their shell tool, in order
// of preference: Claude Code's Bash; Codex CLI's exec_command (unified
// exec), shell_command and shell; and generic names.
var shellNames = []string{"Bash", "exec_command", "shell_command", "shell", "local_shell", "bash", "run_shell_command", "execute_command"}

func pickShell(tools []shellTool) *shellTool {
	for _, name := range shellNames {
		for i := range tools {
			if tools[i].name == name {
				return &tools[i]
			}
		}
	}
	return nil
}

// newShellTool returns the shell tool described by name and its JSON
// Schema, or ok false if it is not one.
func newShellTool(name string, schema json.RawMessage) (shellTool, bool) {
	known := false
	for _, n := range shellNames {
		known = known || n == name
	}
	if !known {
		return shellTool{}, false
	}
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(schema, &s) // a tool without a readable schema gets the defaults
	t := shellTool{name: name}
	for _, f := range []string{"command", "cmd"} {
		if p, ok := s.Properties[f]; ok {
			t.field = f
			t.argv = p.Type == "array"
			break
		}
	}
	if t.field == "" {
		t.field = "command"
	}
	for _, f := range s.Required {
		if p, ok := s.Properties[f]; ok && f != t.field && p.Type == "string" {
			t.required = append(t.required, f)
		}
	}
	return t, true
}

// arguments returns the JSON arguments of a call running AgentCommand.
func (t shellTool) arguments() map[string]any {
	args := map[string]any{}
	for _, f := range t.required {
		args[f] = "Print the Switchyard marker"
	}
	if t.argv {
		args[t.field] = []string{"bash", "-lc", AgentCommand}
	} else {
		args[t.field] = AgentCommand
	}
	if t.name == "Bash" {
		args["description"] = "Print the Switchyard marker"
	}
	return args
}

// agentCall is the tool call the Agent answers with.
type agentCall struct {
	tool shellTool
	args map[string]any
}

func (c *agentCall) argsJSON() string { return string(marshal(c.args, "")) }

// textOf returns the text of a content value in any of the formats'
// shapes: a string, an array of parts with "text" (or "output"), or an
// object, whose JSON is its text.
func textOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text    *string         `json:"text"`
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			switch {
			case p.Text != nil:
				b.WriteString(*p.Text)
			case len(p.Content) > 0:
				b.WriteString(textOf(p.Content))
			}
		}
		return b.String()
	}
	// An object (a Gemini functionResponse's response): a lone string
	// field is the text, anything else is quoted whole.
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil && len(obj) == 1 {
		for _, v := range obj {
			if json.Unmarshal(v, &s) == nil {
				return s
			}
		}
	}
	return string(raw)
}

// agentError answers a request the Agent could not read with a 400 in the
// format's error shape.
func agentError(format string, err error) Response {
	msg := "fakeupstream agent: " + err.Error()
	switch format {
	case FormatAnthropic:
		return AnthropicError(http.StatusBadRequest, "invalid_request_error", msg)
	case FormatGemini:
		return GeminiError(http.StatusBadRequest, "INVALID_ARGUMENT", msg)
	default:
		return OpenAIError(http.StatusBadRequest, "invalid_request_error", "", msg)
	}
}

// agentModels lists the Agent's one model in the shape the request calls
// for: Gemini's for /v1beta paths, Anthropic's for a request carrying
// anthropic-version, OpenAI's otherwise.
func agentModels(r Recorded) Response {
	switch {
	case strings.Contains(r.Path, "/v1beta/") || strings.Contains(r.Path, "/v1/models") && r.Header.Get("X-Goog-Api-Key") != "":
		return GeminiModels(agentModel)
	case r.Header.Get("Anthropic-Version") != "":
		return AnthropicModels(agentModel)
	default:
		return OpenAIModels("switchyard", agentModel)
	}
}

// agentModel is the model name the Agent reports when a request names none.
const agentModel = "switchyard-agent"

func modelOr(m string) string {
	if m == "" {
		return agentModel
	}
	return m
}

// Agent usage: fixed counts, so that a test can see them arrive.
const (
	agentInputTokens  = 42
	agentOutputTokens = 7
)

// sseEvent appends one "event:"/"data:" SSE event; an empty name writes
// only the data line.
func sseEvent(b *bytes.Buffer, name string, v any) {
	if name != "" {
		fmt.Fprintf(b, "event: %s\n", name)
	}
	b.WriteString("data: ")
	b.Write(marshal(v, ""))
	b.WriteString("\n\n")
}
