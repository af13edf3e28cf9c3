// Package all registers every provider adapter. Import it for its side
// effect.
package all

import (
	_ "github.com/switchyard-ai/switchyard/internal/provider/anthropic"
	_ "github.com/switchyard-ai/switchyard/internal/provider/azure"
	_ "github.com/switchyard-ai/switchyard/internal/provider/compat"
	_ "github.com/switchyard-ai/switchyard/internal/provider/deepseek"
	_ "github.com/switchyard-ai/switchyard/internal/provider/gemini"
	_ "github.com/switchyard-ai/switchyard/internal/provider/mistral"
	_ "github.com/switchyard-ai/switchyard/internal/provider/openai"
	_ "github.com/switchyard-ai/switchyard/internal/provider/xai"
)
