package limits

import "encoding/json"

// Estimate is the tokens a request is charged before its call: a quarter
// of its body's bytes (about four bytes a token in English JSON) plus the
// most it may generate (max_tokens or max_completion_tokens; none counts
// nothing, and the settle after the call charges the rest). The estimate
// only has to be of the right size: the real usage replaces it.
func Estimate(body []byte) int64 {
	var req struct {
		MaxTokens           int64 `json:"max_tokens"`
		MaxCompletionTokens int64 `json:"max_completion_tokens"`
		MaxOutputTokens     int64 `json:"max_output_tokens"`
	}
	json.Unmarshal(body, &req) // a malformed body is the handler's to report
	out := max(req.MaxTokens, req.MaxCompletionTokens, req.MaxOutputTokens, 0)
	return int64(len(body))/4 + out
}
