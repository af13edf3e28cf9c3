package llm

import (
	"errors"
	"fmt"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	for kind, want := range map[ErrorKind]int{
		KindInvalidRequest: 400, KindAuthentication: 401, KindPermission: 403, KindNotFound: 404,
		KindRequestTooLarge: 413, KindRateLimit: 429, KindServer: 500, KindUpstream: 502,
		KindOverloaded: 503, KindUnavailable: 503, KindTimeout: 504,
	} {
		if got := (&Error{Kind: kind}).HTTPStatus(); got != want {
			t.Errorf("%s: %d, want %d", kind, got, want)
		}
	}
	if got := (&Error{Kind: KindUpstream, Status: 529}).HTTPStatus(); got != 529 {
		t.Errorf("an explicit status is kept: %d", got)
	}
}

func TestAsError(t *testing.T) {
	e := &Error{Kind: KindNotFound, Message: "no"}
	if AsError(fmt.Errorf("wrapped: %w", e)) != e {
		t.Error("a wrapped *Error is not found")
	}
	got := AsError(errors.New("dial tcp 10.0.0.1:5432: secret detail"))
	if got.HTTPStatus() != 500 || got.Message != "internal error" {
		t.Errorf("%+v shows the cause", got)
	}
}
