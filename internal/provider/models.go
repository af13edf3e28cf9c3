package provider

import (
	"context"
	"errors"
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
