package fakeupstream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

func newAgent(t *testing.T) (*fakeupstream.Server, *fakeupstream.Agent) {
	t.Helper()
	s := fakeupstream.New()
	t.Cleanup(s.Close)
	a := fakeupstream.NewAgent()
	a.Install(s)
	return s, a
}

// bashSchema is Claude Code's Bash tool, trimmed: a string command and an
// optional description.
var bashSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"command": map[string]any{"type": "string"}, "description": map[string]any{"type": "string"}},
	"required":   []string{"command"},
}

// execSchema is Codex CLI's exec_command tool, trimmed.
var execSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"cmd": map[string]any{"type": "string"}, "workdir": map[string]any{"type": "string"}},
	"required":   []string{"cmd"},
}

// command returns the shell command in a call's JSON arguments, which
// must name exactly the fields of the tool's schema that hold it.
func command(t *testing.T, args, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		t.Fatalf("arguments %q: %v", args, err)
	}
	c, _ := m[field].(string)
	if c != fakeupstream.AgentCommand {
		t.Fatalf("arguments %s: %s is %q, want %q", args, field, c, fakeupstream.AgentCommand)
	}
	return c
}

const toolOutput = fakeupstream.AgentMarker + "\n"

// The tool loop in Chat Completions, streamed and not, read by the
// official SDK: a call of the shell tool with the command in its schema,
// then, with the tool's output sent back, a final answer quoting it.
func TestAgentChatToolLoop(t *testing.T) {
	s, a := newAgent(t)
	client := openai.NewClient(option.WithBaseURL(s.URL()+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		params := openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("run it")},
			Tools: []openai.ChatCompletionToolUnionParam{
				openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "Read", Parameters: openai.FunctionParameters{"type": "object"}}),
				openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "Bash", Parameters: bashSchema}),
			},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		}
		complete := func() openai.ChatCompletion {
			if !stream {
				c, err := client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				return *c
			}
			st := client.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			for st.Next() {
				acc.AddChunk(st.Current())
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			return acc.ChatCompletion
		}
		c := complete()
		if len(c.Choices) != 1 || c.Choices[0].FinishReason != "tool_calls" || len(c.Choices[0].Message.ToolCalls) != 1 {
			t.Fatalf("stream %v: want one tool call, got %+v", stream, c.Choices)
		}
		call := c.Choices[0].Message.ToolCalls[0]
		if call.Function.Name != "Bash" || call.ID != fakeupstream.AgentCallID(fakeupstream.FormatChat) {
			t.Fatalf("stream %v: call %s %s", stream, call.ID, call.Function.Name)
		}
		command(t, call.Function.Arguments, "command")
		if c.Usage.PromptTokens == 0 || c.Usage.CompletionTokens == 0 {
			t.Errorf("stream %v: no usage: %+v", stream, c.Usage)
		}

		params.Messages = append(params.Messages, c.Choices[0].Message.ToParam(), openai.ToolMessage(toolOutput, call.ID))
		c = complete()
		if got := c.Choices[0].Message.Content; got != fakeupstream.AgentToolPrefix+fakeupstream.AgentMarker || c.Choices[0].FinishReason != "stop" {
			t.Fatalf("stream %v: final answer %q (%s)", stream, got, c.Choices[0].FinishReason)
		}
	}
	turns := a.Turns()
	if len(turns) != 4 {
		t.Fatalf("%d turns recorded, want 4", len(turns))
	}
	last := turns[3]
	if last.Format != fakeupstream.FormatChat || !last.Stream || last.Shell != "Bash" || last.Reply != fakeupstream.AgentReplyFinal ||
		last.ToolResult != toolOutput || last.ResultCallID != fakeupstream.AgentCallID(fakeupstream.FormatChat) {
		t.Errorf("last turn: %+v", last)
	}
}

// Without a shell tool, or without tools, the Agent answers AgentText.
func TestAgentChatWithoutShell(t *testing.T) {
	s, a := newAgent(t)
	client := openai.NewClient(option.WithBaseURL(s.URL()+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "m",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "Read"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Choices[0].Message.Content; got != fakeupstream.AgentText {
		t.Errorf("answer %q, want %q", got, fakeupstream.AgentText)
	}
	if turns := a.Turns(); len(turns) != 1 || turns[0].Reply != fakeupstream.AgentReplyText || turns[0].Shell != "" {
		t.Errorf("turns %+v", turns)
	}
}

// The tool loop in Anthropic Messages, read by the official SDK, with a
// tool result inside a user turn that also carries text, as Claude Code
// sends it.
func TestAgentAnthropicToolLoop(t *testing.T) {
	s, a := newAgent(t)
	client := anthropic.NewClient(aoption.WithBaseURL(s.URL()), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		params := anthropic.MessageNewParams{
			Model:     "claude-sonnet-4-5",
			MaxTokens: 1024,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("run it"))},
			Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
				Name:        "Bash",
				InputSchema: anthropic.ToolInputSchemaParam{Properties: bashSchema["properties"], Required: []string{"command"}},
			}}},
		}
		complete := func() anthropic.Message {
			if !stream {
				m, err := client.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				return *m
			}
			st := client.Messages.NewStreaming(ctx, params)
			var m anthropic.Message
			for st.Next() {
				if err := m.Accumulate(st.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			return m
		}
		m := complete()
		if m.StopReason != anthropic.StopReasonToolUse || len(m.Content) != 1 || m.Content[0].Type != "tool_use" {
			t.Fatalf("stream %v: want one tool_use, got %s %+v", stream, m.StopReason, m.Content)
		}
		use := m.Content[0]
		command(t, string(use.Input), "command")
		if m.Usage.InputTokens == 0 || m.Usage.OutputTokens == 0 {
			t.Errorf("stream %v: no usage: %+v", stream, m.Usage)
		}
		params.Messages = append(params.Messages, m.ToParam(), anthropic.NewUserMessage(
			anthropic.NewToolResultBlock(use.ID, toolOutput, false), anthropic.NewTextBlock("<system-reminder>x</system-reminder>")))
		m = complete()
		if len(m.Content) != 1 || m.Content[0].Text != fakeupstream.AgentToolPrefix+fakeupstream.AgentMarker || m.StopReason != anthropic.StopReasonEndTurn {
			t.Fatalf("stream %v: final answer %+v (%s)", stream, m.Content, m.StopReason)
		}
	}
	if turns := a.Turns(); len(turns) != 4 || turns[3].ResultCallID != fakeupstream.AgentCallID(fakeupstream.FormatAnthropic) {
		t.Errorf("turns %+v", turns)
	}
}

// The tool loop in the Responses API, as Codex CLI plays it: the
// function_call is answered by a function_call_output item, and earlier
// items (developer messages, the call itself) come back each time.
func TestAgentResponsesToolLoop(t *testing.T) {
	s, a := newAgent(t)
	client := openai.NewClient(option.WithBaseURL(s.URL()+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		input := responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("be brief", responses.EasyInputMessageRoleDeveloper),
			responses.ResponseInputItemParamOfMessage("run it", responses.EasyInputMessageRoleUser),
		}
		params := func() responses.ResponseNewParams {
			return responses.ResponseNewParams{
				Model: "gpt-5",
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input},
				Tools: []responses.ToolUnionParam{
					responses.ToolParamOfFunction("view_image", map[string]any{"type": "object"}, false),
					responses.ToolParamOfFunction("exec_command", execSchema, false),
				},
			}
		}
		complete := func() responses.Response {
			if !stream {
				r, err := client.Responses.New(ctx, params())
				if err != nil {
					t.Fatal(err)
				}
				return *r
			}
			st := client.Responses.NewStreaming(ctx, params())
			var done responses.Response
			for st.Next() {
				if ev := st.Current(); ev.Type == "response.completed" {
					done = ev.Response
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			return done
		}
		r := complete()
		if len(r.Output) != 1 || r.Output[0].Type != "function_call" {
			t.Fatalf("stream %v: want one function_call, got %+v", stream, r.Output)
		}
		call := r.Output[0]
		if call.Name != "exec_command" {
			t.Fatalf("stream %v: called %q", stream, call.Name)
		}
		command(t, call.Arguments.OfString, "cmd")
		if r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 {
			t.Errorf("stream %v: no usage: %+v", stream, r.Usage)
		}
		output := responses.ResponseInputItemParamOfFunctionCallOutput("Process exited with code 0\nOutput:\n" + toolOutput)
		output.OfFunctionCallOutput.CallID = openai.String(call.CallID)
		input = append(input, responses.ResponseInputItemParamOfFunctionCall(call.Arguments.OfString, call.CallID, call.Name), output)
		r = complete()
		if got := r.OutputText(); !strings.HasPrefix(got, fakeupstream.AgentToolPrefix) || !strings.Contains(got, fakeupstream.AgentMarker) {
			t.Fatalf("stream %v: final answer %q", stream, got)
		}
	}
	if turns := a.Turns(); len(turns) != 4 || turns[3].Shell != "exec_command" || turns[3].ResultCallID != fakeupstream.AgentCallID(fakeupstream.FormatResponses) {
		t.Errorf("turns %+v", turns)
	}
}

// The tool loop in Gemini's generateContent and streamGenerateContent:
// a functionCall part, then, with a functionResponse sent back, text.
func TestAgentGeminiToolLoop(t *testing.T) {
	s, a := newAgent(t)
	for _, method := range []string{":generateContent", ":streamGenerateContent?alt=sse"} {
		post := func(contents string) []map[string]any {
			body := `{"contents":` + contents + `,"tools":[{"functionDeclarations":[{"name":"Bash","parametersJsonSchema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}]}]}`
			resp, err := http.Post(s.URL()+"/v1beta/models/gemini-2.5-pro"+method, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("%s: %d %s", method, resp.StatusCode, b)
			}
			var chunks []map[string]any
			if !strings.Contains(method, "stream") {
				var c map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
					t.Fatal(err)
				}
				return append(chunks, c)
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line := strings.TrimRight(sc.Text(), "\r")
				if data, ok := strings.CutPrefix(line, "data: "); ok {
					var c map[string]any
					if err := json.Unmarshal([]byte(data), &c); err != nil {
						t.Fatalf("chunk %q: %v", data, err)
					}
					chunks = append(chunks, c)
				}
			}
			return chunks
		}
		// parts gathers the parts of every chunk, and checks that the last
		// carries the finish reason and usage.
		parts := func(chunks []map[string]any) (out []map[string]any) {
			for _, c := range chunks {
				cand := c["candidates"].([]any)[0].(map[string]any)
				for _, p := range cand["content"].(map[string]any)["parts"].([]any) {
					out = append(out, p.(map[string]any))
				}
			}
			last := chunks[len(chunks)-1]
			if last["candidates"].([]any)[0].(map[string]any)["finishReason"] != "STOP" || last["usageMetadata"] == nil {
				t.Errorf("%s: last chunk %v", method, last)
			}
			return out
		}
		ps := parts(post(`[{"role":"user","parts":[{"text":"run it"}]}]`))
		if len(ps) != 1 || ps[0]["functionCall"] == nil {
			t.Fatalf("%s: want one functionCall, got %v", method, ps)
		}
		args, _ := json.Marshal(ps[0]["functionCall"].(map[string]any)["args"])
		command(t, string(args), "command")

		ps = parts(post(`[{"role":"user","parts":[{"text":"run it"}]},{"role":"model","parts":[{"functionCall":{"name":"Bash","args":` + string(args) + `}}]},` +
			`{"role":"user","parts":[{"functionResponse":{"name":"Bash","response":{"output":"` + fakeupstream.AgentMarker + `\n"}}}]}]`))
		var text string
		for _, p := range ps {
			text += p["text"].(string)
		}
		if text != fakeupstream.AgentToolPrefix+fakeupstream.AgentMarker {
			t.Fatalf("%s: final answer %q", method, text)
		}
	}
	if turns := a.Turns(); len(turns) != 4 || turns[1].Model != "gemini-2.5-pro" || !turns[3].Stream || turns[3].Reply != fakeupstream.AgentReplyFinal {
		t.Errorf("turns %+v", turns)
	}
}

// A body the Agent cannot read gets a 400 in the vendor's error shape,
// and is recorded as such.
func TestAgentBadRequest(t *testing.T) {
	s, a := newAgent(t)
	for path, want := range map[string]string{
		"/v1/chat/completions": `"invalid_request_error"`,
		"/v1/messages":         `"type":"error"`,
		"/v1beta/models/gemini-2.5-pro:generateContent": `"INVALID_ARGUMENT"`,
		"/v1/responses": `"invalid_request_error"`,
	} {
		resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(`{"messages":"nope"`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	for _, turn := range a.Turns() {
		if turn.Reply != fakeupstream.AgentReplyError || turn.Err == "" {
			t.Errorf("turn %+v", turn)
		}
	}
}

// FuzzAgentReply: whatever the body, the Agent answers without panicking,
// with a 200 or a 400.
func FuzzAgentReply(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","stream":true,"messages":[{"role":"tool","content":[{"type":"text","text":"x"}]}],"tools":[{"type":"function","function":{"name":"Bash","parameters":{"properties":{"command":{"type":"array"}}}}}]}`,
		`{"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"text","text":"x"}]}]}],"tools":[{"name":"Bash","input_schema":{"required":["command","description"]}}]}`,
		`{"contents":[{"role":"user","parts":[{"functionResponse":{"response":{"a":1,"b":2}}}]}],"tools":[{"functionDeclarations":[{"name":"shell"}]}]}`,
		`{"input":[{"type":"function_call_output","output":[{"type":"input_text","text":"x"}]}],"tools":[{"type":"local_shell"}],"stream":true}`,
		`{"input":"hi"}`, `[]`, ``,
	} {
		for _, path := range []string{"/v1/chat/completions", "/v1/messages", "/v1beta/models/g:streamGenerateContent", "/v1/responses"} {
			f.Add(path, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		a := fakeupstream.NewAgent()
		r := a.Reply(fakeupstream.Recorded{Method: "POST", Path: path, Header: http.Header{}, Body: body})
		if r.Status != 0 && r.Status != 400 && r.Status != 404 {
			t.Fatalf("status %d", r.Status)
		}
	})
}
