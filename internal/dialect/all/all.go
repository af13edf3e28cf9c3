// Package all registers every client dialect the gateway serves. Import it
// for its side effects; adding a dialect is its folder plus one line here.
package all

import (
	_ "github.com/switchyard-ai/switchyard/internal/dialect/chat"
	_ "github.com/switchyard-ai/switchyard/internal/dialect/messages"
)
