package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ModelLister is implemented by adapters that can ask their vendor which
// models it serves, for GET /v1/models when the config names none.
type ModelLister interface {
	// ListModels returns the model names the vendor lists, as a client
	// addresses them after "provider/". It returns ErrNotListed, without
	// calling the vendor, when the provider is not configured to list
	// models (list_models) or its vendor has no such list.
	ListModels(ctx context.Context) ([]string, error)
}

// ErrNotListed is ListModels' answer for a provider whose models are not
// listed.
var ErrNotListed = errors.New("provider: models not listed")

// maxModelList bounds a vendor's model list (OpenAI's is about 100 KB).
const maxModelList = 8 << 20

// GetJSON sends a GET to url with the headers header sets, and decodes the
// JSON answer into out. It is for the few small reads adapters make
// besides generating, such as model lists; failures are plain errors, for
// logs.
func GetJSON(ctx context.Context, client *http.Client, url string, header func(http.Header), out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if header != nil {
		header(req.Header)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxModelList))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %v", req.URL.Redacted(), err)
	}
	return nil
}
