package gemini_test

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

// embed sends an OpenAI embeddings body to a Gemini adapter whose upstream
// answers resp.
func embed(t *testing.T, c config.Provider, resp fakeupstream.Response, body string) (*provider.Reply, fakeupstream.Recorded, error) {
	t.Helper()
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	fake.Handle(":batchEmbedContents", resp)
	c.BaseURL = fake.URL() + c.BaseURL
	p, err := provider.New(c, provider.Options{Client: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := jsonobj.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	reply, err := p.Embeddings(t.Context(), obj, "gemini-embedding-001")
	return reply, fake.LastRequest(), err
}

var embedAnswer = fakeupstream.Response{ContentType: "application/json",
	Body: []byte(`{"embeddings": [{"values": [0.25, -1.5]}, {"values": [1, 0]}]}`)}

func TestEmbeddings(t *testing.T) {
	reply, sent, err := embed(t, cfg, embedAnswer, `{"model":"gemini/gemini-embedding-001","input":["a","b"],"dimensions":2,"user":"u"}`)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || sent.Header.Get("X-Goog-Api-Key") != "AIza-test-key" {
		t.Errorf("sent %s %v", sent.Path, sent.Header)
	}
	wantSent := `{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]},"outputDimensionality":2},` +
		`{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]},"outputDimensionality":2}]}`
	if string(sent.Body) != wantSent {
		t.Errorf("sent body\n got %s\nwant %s", sent.Body, wantSent)
	}
	want := `{"data":[{"object":"embedding","index":0,"embedding":[0.25,-1.5]},{"object":"embedding","index":1,"embedding":[1,0]}],` +
		`"model":"gemini-embedding-001","object":"list","usage":{"prompt_tokens":0,"total_tokens":0}}`
	if string(reply.Body) != want {
		t.Errorf("body\n got %s\nwant %s", reply.Body, want)
	}
	if reply.Header.Get("X-Switchyard-Dropped-Params") != "user" {
		t.Errorf("header = %v", reply.Header)
	}
}

func TestEmbeddingsBase64(t *testing.T) {
	reply, _, err := embed(t, cfg, embedAnswer, `{"model":"m","input":["a","b"],"encoding_format":"base64"}`)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(reply.Body, &out); err != nil {
		t.Fatal(err)
	}
	// 0.25 and -1.5 as little-endian float32.
	if out.Data[0].Embedding != "AACAPgAAwL8=" {
		t.Errorf("embedding = %q", out.Data[0].Embedding)
	}
}

func TestEmbeddingsErrors(t *testing.T) {
	_, sent, err := embed(t, cfg, embedAnswer, `{"model":"m","input":[[1,2,3]]}`)
	if e := llm.AsError(err); err == nil || e.Kind != llm.KindInvalidRequest || e.Param != "input" || sent.Path != "" {
		t.Errorf("token input: err = %+v, sent %q", err, sent.Path)
	}
	_, _, err = embed(t, cfg, embedAnswer, `{"model":"m","input":"only one"}`)
	if e := llm.AsError(err); err == nil || e.Class != "upstream_malformed" {
		t.Errorf("count mismatch: err = %+v", err)
	}
	_, _, err = embed(t, cfg, pt429(t), `{"model":"m","input":"x"}`)
	if e := llm.AsError(err); err == nil || e.Kind != llm.KindRateLimit || e.RetryAfter != "35" {
		t.Errorf("429: err = %+v", err)
	}
	c := cfg
	c.BaseURL = "/aiplatform.googleapis.com/v1/projects/p/locations/l/publishers/google"
	_, _, err = embed(t, c, embedAnswer, `{"model":"m","input":"x"}`)
	if e := llm.AsError(err); err == nil || e.Kind != llm.KindInvalidRequest {
		t.Errorf("vertex: err = %+v", err)
	}
}

func pt429(t *testing.T) fakeupstream.Response {
	r, err := fakeupstream.Transcript("gemini-error-429-resource-exhausted.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
