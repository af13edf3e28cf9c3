package gemini

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
)

// Embeddings implements provider.Provider. The OpenAI embeddings request
// becomes one batchEmbedContents call (Developer API only), and Gemini's
// answer is written back in OpenAI's shape. Gemini reports no token
// counts for embeddings, so usage is zero.
func (a *Adapter) Embeddings(ctx context.Context, body jsonobj.Object, model string) (*provider.Reply, error) {
	if a.vertex {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Class: "bad_request",
			Message: "provider type gemini: embeddings are not supported on Vertex AI yet"}
	}
	var in struct {
		Input          json.RawMessage `json:"input"`
		Dimensions     *int            `json:"dimensions"`
		EncodingFormat string          `json:"encoding_format"`
		User           string          `json:"user"`
	}
	if err := json.Unmarshal(body.Bytes(), &in); err != nil {
		return nil, invalid("input", "the request body is not a valid embeddings request")
	}
	var texts []string
	var one string
	if json.Unmarshal(in.Input, &one) == nil {
		texts = []string{one}
	} else if json.Unmarshal(in.Input, &texts) != nil {
		return nil, invalid("input", "provider type gemini embeds text only: input must be a string or an array of strings")
	}
	if len(texts) == 0 {
		return nil, invalid("input", "input must not be empty")
	}
	switch in.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, invalid("encoding_format", "unknown encoding_format %q", in.EncodingFormat)
	}

	type request struct {
		Model                string  `json:"model"`
		Content              content `json:"content"`
		OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
	}
	reqs := make([]request, len(texts))
	for i, t := range texts {
		reqs[i] = request{Model: "models/" + model, Content: content{Parts: []part{textPart(t)}}, OutputDimensionality: in.Dimensions}
	}
	out, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindServer, Class: "internal", Message: "internal error encoding the gemini request"}
	}
	resp, err := a.do(ctx, a.opURL(model, "batchEmbedContents"), out, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return nil, err
	}
	var got struct {
		Embeddings []struct {
			Values []float64 `json:"values"`
		} `json:"embeddings"`
	}
	if err := json.Unmarshal(raw, &got); err != nil || len(got.Embeddings) != len(texts) {
		return nil, upstream.Malformed(fmt.Sprintf("the upstream answered %d embeddings for %d inputs", len(got.Embeddings), len(texts)))
	}

	type datum struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]datum, len(got.Embeddings))
	for i, e := range got.Embeddings {
		data[i] = datum{Object: "embedding", Index: i, Embedding: e.Values}
		if e.Values == nil {
			data[i].Embedding = []float64{}
		}
		if in.EncodingFormat == "base64" {
			// OpenAI's base64 format: little-endian float32s.
			b := make([]byte, 4*len(e.Values))
			for j, v := range e.Values {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(float32(v)))
			}
			data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	reply := &provider.Reply{Header: http.Header{}}
	if in.User != "" {
		reply.Header.Set("X-Switchyard-Dropped-Params", "user")
	}
	reply.Body, err = json.Marshal(map[string]any{
		"object": "list",
		"data":   data,
		"model":  model,
		"usage":  map[string]int{"prompt_tokens": 0, "total_tokens": 0},
	})
	if err != nil {
		return nil, upstream.Malformed("the upstream returned embeddings that cannot be encoded")
	}
	return reply, nil
}
