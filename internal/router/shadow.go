package router

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/switchyard-ai/switchyard/internal/provider"
)

// ShadowDone receives a shadow request's outcome, in the shadow's own
// goroutine, and must consume (and close) a streamed reply.
type ShadowDone func(ctx context.Context, t Target, reply *provider.Reply, err error, latency time.Duration)

// Shadow sends copies of a request to the route's shadow targets, each
// with its sampling probability, in the background. A shadow never waits:
// when every slot is taken it is skipped and counted. Shadows run on their
// own context, bounded by the shadow timeout, so that they neither hold the
// client's response back nor die with its connection. It returns how many
// shadows it started.
func (r *Router) Shadow(rt *Route, call Call, done ShadowDone) int {
	n := 0
	for _, sh := range rt.Shadows {
		if rand.Float64() >= sh.Sample {
			continue
		}
		select {
		case r.shadows <- struct{}{}:
		default:
			r.skipped.Add(1)
			continue
		}
		n++
		go func(t Target) {
			defer func() { <-r.shadows }()
			ctx, cancel := context.WithTimeout(context.Background(), r.policy.ShadowTimeout)
			defer cancel()
			t0 := time.Now()
			reply, err := call(ctx, t)
			done(ctx, t, reply, err, time.Since(t0))
		}(sh.Target)
	}
	return n
}
