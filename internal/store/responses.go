package store

import (
	"errors"
	"time"
)

// ErrChainTooLong is returned (wrapped) by ResponseChain when a response
// has more ancestors than the caller allowed.
var ErrChainTooLong = errors.New("store: response chain too long")

// StoredResponse is a Responses API response the gateway keeps for
// previous_response_id and GET /v1/responses/{id}, whatever vendor
// answered it. The store treats the JSON fields as opaque bytes and
// returns them exactly as given.
type StoredResponse struct {
	ID string // "resp_..."
	// KeyID is the key that made the response. Only that key may read it;
	// the store does not check, its callers do.
	KeyID      string
	PreviousID string // previous_response_id; "" if none
	CreatedAt  time.Time
	Model      string // as requested
	// Body is the client-visible response object (JSON).
	Body []byte
	// InputItems is a JSON array of this turn's input items, as the
	// client sees them (with ids).
	InputItems []byte
	// Conversation is this turn's canonical messages (its input, then its
	// output) as JSON, replayed into the next turn.
	Conversation []byte
	// Instructions are not carried to the next turn, but kept for GET.
	Instructions string
}
