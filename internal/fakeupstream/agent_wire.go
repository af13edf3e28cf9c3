package fakeupstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strings"
)

// The Agent's request readers and reply writers, one pair per wire
// format. A reader keeps only what the script needs: the model, whether
// to stream, the tools offered, and the tool results sent since the
// model's last turn.

// The ids of the Agent's tool calls. The Chat Completions one is nine
// letters and digits, the only form Mistral accepts back, which the
// other OpenAI-wire vendors take too.
const (
	agentChatCallID      = "SYcall001"
	agentAnthropicCallID = "toolu_01SwitchyardToolCall"
	agentResponsesCallID = "call_SwitchyardToolCall"
)

// AgentCallID returns the id the Agent gives its tool call in format, ""
// for Gemini, whose calls carry none.
func AgentCallID(format string) string {
	switch format {
	case FormatChat:
		return agentChatCallID
	case FormatAnthropic:
		return agentAnthropicCallID
	case FormatResponses:
		return agentResponsesCallID
	}
	return ""
}

var errNoBody = errors.New("the request body is not a JSON object")

// decode reads body into v, refusing anything but a JSON object.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return errNoBody
	}
	return json.Unmarshal(body, v)
}

// --- OpenAI Chat Completions ---

func readChat(body []byte) (agentConversation, error) {
	var req struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		Messages []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCallID string          `json:"tool_call_id"`
		} `json:"messages"`
		Tools []struct {
			Function struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
	}
	var c agentConversation
	if err := decode(body, &req); err != nil {
		return c, err
	}
	c.model, c.stream = req.Model, req.Stream
	c.usage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	for _, t := range req.Tools {
		c.addTool(t.Function.Name, t.Function.Parameters)
	}
	var results []string
	for i := len(req.Messages) - 1; i >= 0 && req.Messages[i].Role != "assistant"; i-- {
		if m := req.Messages[i]; m.Role == "tool" {
			results = append(results, textOf(m.Content))
			c.resultCallID = m.ToolCallID
		}
	}
	c.setResults(results)
	return c, nil
}

func (c *agentConversation) addTool(name string, schema json.RawMessage) {
	c.tools = append(c.tools, name)
	if t, ok := newShellTool(name, schema); ok {
		c.shells = append(c.shells, t)
	}
}

// setResults takes tool results collected from the end of a conversation
// backwards.
func (c *agentConversation) setResults(rev []string) {
	if len(rev) == 0 {
		return
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	c.result, c.hasResult = strings.Join(rev, "\n"), true
}

func chatUsage() map[string]any {
	return map[string]any{
		"prompt_tokens":             agentInputTokens,
		"completion_tokens":         agentOutputTokens,
		"total_tokens":              agentInputTokens + agentOutputTokens,
		"prompt_tokens_details":     map[string]int{"cached_tokens": 0, "audio_tokens": 0},
		"completion_tokens_details": map[string]int{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

func chatReply(c agentConversation, text string, call *agentCall, azure bool) Response {
	model := modelOr(c.model)
	finish := "stop"
	if call != nil {
		finish = "tool_calls"
	}
	if !c.stream {
		msg := map[string]any{"role": "assistant", "content": text, "refusal": nil, "annotations": []any{}}
		if call != nil {
			msg["content"] = nil
			msg["tool_calls"] = []any{map[string]any{
				"id": agentChatCallID, "type": "function",
				"function": map[string]string{"name": call.tool.name, "arguments": call.argsJSON()},
			}}
		}
		return Response{ContentType: ctJSON, Body: marshal(map[string]any{
			"id": fakeID, "object": "chat.completion", "created": fakeCreated, "model": model,
			"choices":            []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
			"usage":              chatUsage(),
			"service_tier":       "default",
			"system_fingerprint": fakeFingerprint,
		}, "  ")}
	}

	var b bytes.Buffer
	chunk := func(delta map[string]any, finish any) {
		ch := map[string]any{
			"id": fakeID, "object": "chat.completion.chunk", "created": fakeCreated, "model": model,
			"system_fingerprint": fakeFingerprint,
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
		if c.usage {
			ch["usage"] = nil
		}
		sseEvent(&b, "", ch)
	}
	if azure {
		// Azure OpenAI opens a stream with its content filter's verdict
		// on the prompt, in a chunk without choices.
		sseEvent(&b, "", map[string]any{
			"choices": []any{}, "created": 0, "id": "", "model": "", "object": "",
			"prompt_filter_results": []any{map[string]any{"prompt_index": 0, "content_filter_results": map[string]any{
				"hate": map[string]any{"filtered": false, "severity": "safe"}, "self_harm": map[string]any{"filtered": false, "severity": "safe"},
				"sexual": map[string]any{"filtered": false, "severity": "safe"}, "violence": map[string]any{"filtered": false, "severity": "safe"},
			}}},
		})
	}
	if call != nil {
		chunk(map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
			"index": 0, "id": agentChatCallID, "type": "function",
			"function": map[string]string{"name": call.tool.name, "arguments": ""},
		}}}, nil)
		for _, piece := range split(call.argsJSON()) {
			chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]string{"arguments": piece}}}}, nil)
		}
	} else {
		chunk(map[string]any{"role": "assistant", "content": ""}, nil)
		for _, piece := range split(text) {
			chunk(map[string]any{"content": piece}, nil)
		}
	}
	chunk(map[string]any{}, finish)
	if c.usage {
		sseEvent(&b, "", map[string]any{
			"id": fakeID, "object": "chat.completion.chunk", "created": fakeCreated, "model": model,
			"system_fingerprint": fakeFingerprint, "choices": []any{}, "usage": chatUsage(),
		})
	}
	b.WriteString("data: [DONE]\n\n")
	return Response{ContentType: ctSSEUTF8, Body: b.Bytes()}
}

// split cuts s into three pieces (fewer if it is short), as a vendor
// streams a text or arguments in several deltas. It cuts between runes.
func split(s string) []string {
	r := []rune(s)
	if len(r) < 3 {
		return []string{s}
	}
	a, b := len(r)/3, 2*len(r)/3
	return []string{string(r[:a]), string(r[a:b]), string(r[b:])}
}

// --- Anthropic Messages ---

func readAnthropic(body []byte) (agentConversation, error) {
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"input_schema"`
		} `json:"tools"`
	}
	var c agentConversation
	if err := decode(body, &req); err != nil {
		return c, err
	}
	c.model, c.stream = req.Model, req.Stream
	for _, t := range req.Tools {
		c.addTool(t.Name, t.InputSchema)
	}
	var results []string
	for i := len(req.Messages) - 1; i >= 0 && req.Messages[i].Role != "assistant"; i-- {
		var blocks []struct {
			Type      string          `json:"type"`
			ToolUseID string          `json:"tool_use_id"`
			Content   json.RawMessage `json:"content"`
		}
		if json.Unmarshal(req.Messages[i].Content, &blocks) != nil {
			continue // a string: text only
		}
		for j := len(blocks) - 1; j >= 0; j-- {
			if blocks[j].Type == "tool_result" {
				results = append(results, textOf(blocks[j].Content))
				c.resultCallID = blocks[j].ToolUseID
			}
		}
	}
	c.setResults(results)
	return c, nil
}

func anthropicUsage(output int) map[string]any {
	return map[string]any{
		"input_tokens": agentInputTokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
		"output_tokens": output, "service_tier": "standard",
	}
}

func anthropicReply(c agentConversation, text string, call *agentCall) Response {
	model := modelOr(c.model)
	stop := "end_turn"
	block := map[string]any{"type": "text", "text": text}
	if call != nil {
		stop = "tool_use"
		block = map[string]any{"type": "tool_use", "id": agentAnthropicCallID, "name": call.tool.name, "input": call.args}
	}
	msg := func(content []any, stop any, output int) map[string]any {
		return map[string]any{
			"id": "msg_01SwitchyardAgent", "type": "message", "role": "assistant", "model": model,
			"content": content, "stop_reason": stop, "stop_sequence": nil, "usage": anthropicUsage(output),
		}
	}
	if !c.stream {
		return Response{ContentType: ctJSON, Body: marshal(msg([]any{block}, stop, agentOutputTokens), "")}
	}

	var b bytes.Buffer
	sseEvent(&b, "message_start", map[string]any{"type": "message_start", "message": msg([]any{}, nil, 1)})
	if call != nil {
		sseEvent(&b, "content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "tool_use", "id": agentAnthropicCallID, "name": call.tool.name, "input": map[string]any{}}})
		sseEvent(&b, "ping", map[string]any{"type": "ping"})
		for _, piece := range append([]string{""}, split(call.argsJSON())...) {
			sseEvent(&b, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": piece}})
		}
	} else {
		sseEvent(&b, "content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "text", "text": ""}})
		sseEvent(&b, "ping", map[string]any{"type": "ping"})
		for _, piece := range split(text) {
			sseEvent(&b, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
				"delta": map[string]any{"type": "text_delta", "text": piece}})
		}
	}
	sseEvent(&b, "content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	sseEvent(&b, "message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": agentOutputTokens}})
	sseEvent(&b, "message_stop", map[string]any{"type": "message_stop"})
	return Response{ContentType: ctSSEUTF8, Body: b.Bytes()}
}

// --- Gemini generateContent ---

// geminiModel takes the model from a path such as
// /v1beta/models/gemini-2.5-pro:streamGenerateContent.
func geminiModel(path string) string {
	_, m, ok := strings.Cut(path, "/models/")
	if !ok {
		return ""
	}
	m, _, _ = strings.Cut(m, ":")
	return m
}

func readGemini(body []byte) (agentConversation, error) {
	var req struct {
		Contents []struct {
			Role  string `json:"role"`
			Parts []struct {
				FunctionResponse *struct {
					Response json.RawMessage `json:"response"`
				} `json:"functionResponse"`
			} `json:"parts"`
		} `json:"contents"`
		Tools []struct {
			FunctionDeclarations []struct {
				Name                 string          `json:"name"`
				Parameters           json.RawMessage `json:"parameters"`
				ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
			} `json:"functionDeclarations"`
		} `json:"tools"`
	}
	var c agentConversation
	if err := decode(body, &req); err != nil {
		return c, err
	}
	for _, t := range req.Tools {
		for _, f := range t.FunctionDeclarations {
			schema := f.ParametersJSONSchema
			if len(schema) == 0 {
				schema = f.Parameters
			}
			c.addTool(f.Name, schema)
		}
	}
	var results []string
	for i := len(req.Contents) - 1; i >= 0 && req.Contents[i].Role != "model"; i-- {
		parts := req.Contents[i].Parts
		for j := len(parts) - 1; j >= 0; j-- {
			if fr := parts[j].FunctionResponse; fr != nil {
				results = append(results, textOf(fr.Response))
			}
		}
	}
	c.setResults(results)
	return c, nil
}

func geminiReply(c agentConversation, text string, call *agentCall) Response {
	model := modelOr(c.model)
	chunk := func(parts []any, last bool) map[string]any {
		cand := map[string]any{"content": map[string]any{"parts": parts, "role": "model"}, "index": 0}
		v := map[string]any{"candidates": []any{cand}, "modelVersion": model, "responseId": "SwitchyardAgentResponse"}
		if last {
			cand["finishReason"] = "STOP"
			v["usageMetadata"] = map[string]any{
				"promptTokenCount": agentInputTokens, "candidatesTokenCount": agentOutputTokens,
				"totalTokenCount": agentInputTokens + agentOutputTokens,
			}
		}
		return v
	}
	var parts [][]any
	if call != nil {
		parts = [][]any{{map[string]any{"functionCall": map[string]any{"name": call.tool.name, "args": call.args}}}}
	} else {
		for _, piece := range split(text) {
			parts = append(parts, []any{map[string]any{"text": piece}})
		}
	}
	if !c.stream {
		var all []any
		for _, p := range parts {
			all = append(all, p...)
		}
		if call == nil {
			all = []any{map[string]any{"text": text}}
		}
		return Response{ContentType: ctJSONGoogle, Body: marshal(chunk(all, true), "  ")}
	}
	// Gemini frames its stream with CRLF and sends no terminator.
	var b bytes.Buffer
	for i, p := range parts {
		b.WriteString("data: ")
		b.Write(marshal(chunk(p, i == len(parts)-1), ""))
		b.WriteString("\r\n\r\n")
	}
	return Response{ContentType: ctSSE, Body: b.Bytes()}
}

// --- OpenAI Responses ---

func readResponses(body []byte) (agentConversation, error) {
	var req struct {
		Model  string          `json:"model"`
		Stream bool            `json:"stream"`
		Input  json.RawMessage `json:"input"`
		Tools  []struct {
			Type       string          `json:"type"`
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"tools"`
	}
	var c agentConversation
	if err := decode(body, &req); err != nil {
		return c, err
	}
	c.model, c.stream = req.Model, req.Stream
	for _, t := range req.Tools {
		switch {
		case t.Type == "local_shell":
			c.tools = append(c.tools, "local_shell")
			c.shells = append(c.shells, shellTool{name: "local_shell", local: true})
		case t.Type == "function" || t.Type == "":
			c.addTool(t.Name, t.Parameters)
		default:
			c.tools = append(c.tools, t.Type+":"+t.Name) // namespaces, hosted tools
		}
	}
	var items []struct {
		Type   string          `json:"type"`
		Role   string          `json:"role"`
		CallID string          `json:"call_id"`
		Output json.RawMessage `json:"output"`
	}
	if len(req.Input) > 0 && req.Input[0] == '[' {
		if err := json.Unmarshal(req.Input, &items); err != nil {
			return c, err
		}
	}
	var results []string
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if strings.HasSuffix(it.Type, "_call_output") { // function_call_output, local_shell_call_output, ...
			results = append(results, textOf(it.Output))
			c.resultCallID = it.CallID
			continue
		}
		if it.Role == "assistant" || it.Type == "reasoning" || strings.HasSuffix(it.Type, "_call") {
			break // the model's last turn
		}
	}
	c.setResults(results)
	return c, nil
}

func responsesReply(c agentConversation, text string, call *agentCall) Response {
	model := modelOr(c.model)
	var item map[string]any
	switch {
	case call != nil && call.tool.local:
		item = map[string]any{"type": "local_shell_call", "id": "lsh_SwitchyardToolCall", "call_id": agentResponsesCallID,
			"action": map[string]any{"type": "exec", "command": []string{"bash", "-lc", AgentCommand}, "env": map[string]string{}},
			"status": "completed"}
	case call != nil:
		item = map[string]any{"type": "function_call", "id": "fc_SwitchyardToolCall", "call_id": agentResponsesCallID,
			"name": call.tool.name, "arguments": call.argsJSON(), "status": "completed"}
	default:
		item = map[string]any{"type": "message", "id": "msg_SwitchyardAgent", "status": "completed", "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": text, "annotations": []any{}}}}
	}
	response := func(status string, output []any, usage bool) map[string]any {
		r := map[string]any{
			"id": "resp_SwitchyardAgent", "object": "response", "created_at": fakeCreated, "status": status,
			"error": nil, "incomplete_details": nil, "instructions": nil, "max_output_tokens": nil, "model": model,
			"output": output, "parallel_tool_calls": true, "previous_response_id": nil, "store": false,
			"text": map[string]any{"format": map[string]string{"type": "text"}}, "tool_choice": "auto", "tools": []any{},
			"truncation": "disabled", "usage": nil, "metadata": map[string]any{},
		}
		if usage {
			r["usage"] = map[string]any{
				"input_tokens": agentInputTokens, "input_tokens_details": map[string]int{"cached_tokens": 0},
				"output_tokens": agentOutputTokens, "output_tokens_details": map[string]int{"reasoning_tokens": 0},
				"total_tokens": agentInputTokens + agentOutputTokens,
			}
		}
		return r
	}
	if !c.stream {
		return Response{ContentType: ctJSON, Body: marshal(response("completed", []any{item}, true), "  ")}
	}

	var b bytes.Buffer
	seq := 0
	event := func(v map[string]any) {
		v["sequence_number"] = seq
		seq++
		sseEvent(&b, v["type"].(string), v)
	}
	event(map[string]any{"type": "response.created", "response": response("in_progress", []any{}, false)})
	event(map[string]any{"type": "response.in_progress", "response": response("in_progress", []any{}, false)})
	switch item["type"] {
	case "function_call":
		added := maps.Clone(item)
		added["arguments"], added["status"] = "", "in_progress"
		event(map[string]any{"type": "response.output_item.added", "output_index": 0, "item": added})
		for _, piece := range split(call.argsJSON()) {
			event(map[string]any{"type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": 0, "delta": piece})
		}
		event(map[string]any{"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": 0, "arguments": call.argsJSON()})
	case "message":
		added := maps.Clone(item)
		added["content"], added["status"] = []any{}, "in_progress"
		event(map[string]any{"type": "response.output_item.added", "output_index": 0, "item": added})
		part := func() map[string]any {
			return map[string]any{"type": "output_text", "text": "", "annotations": []any{}}
		}
		event(map[string]any{"type": "response.content_part.added", "item_id": item["id"], "output_index": 0, "content_index": 0, "part": part()})
		for _, piece := range split(text) {
			event(map[string]any{"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []any{}})
		}
		event(map[string]any{"type": "response.output_text.done", "item_id": item["id"], "output_index": 0, "content_index": 0, "text": text, "logprobs": []any{}})
		done := part()
		done["text"] = text
		event(map[string]any{"type": "response.content_part.done", "item_id": item["id"], "output_index": 0, "content_index": 0, "part": done})
	default:
		added := maps.Clone(item)
		added["status"] = "in_progress"
		event(map[string]any{"type": "response.output_item.added", "output_index": 0, "item": added})
	}
	event(map[string]any{"type": "response.output_item.done", "output_index": 0, "item": item})
	event(map[string]any{"type": "response.completed", "response": response("completed", []any{item}, true)})
	return Response{ContentType: ctSSEUTF8, Body: b.Bytes()}
}
