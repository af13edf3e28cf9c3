package gemini_test

import (
	"fmt"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider/gemini"
)

// A tool result goes back as a functionResponse named after its call,
// with the call's thought signature (Gemini 3 refuses the request
// without it); fields Gemini has no place for are named, not lost.
func ExampleEncodeRequest() {
	no := false
	req := &llm.Request{
		Model:  "gemini-3-pro-preview",
		System: []llm.Part{{Type: llm.PartText, Text: "Be brief."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Weather in Paris?"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{
				ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`, Signature: "c2lnbmF0dXJl", Origin: "gemini"}}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{
				CallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}}}}},
		},
		ParallelToolCalls: &no,
	}
	body, dropped, err := gemini.EncodeRequest(req)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(body))
	fmt.Println(dropped)
	// Output:
	// {"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2lnbmF0dXJl"}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"18C"}}}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]}}
	// [parallel_tool_calls]
}
