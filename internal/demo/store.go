package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// Storage is the demo's own SQLite store, in the user's cache directory
// ($XDG_CACHE_HOME/switchyard/demo.db, or the system's equivalent): never
// the working directory's switchyard.db, so that the well-known demo key
// and answers cached from demo vendors cannot reach a real gateway's store.
// serve --demo and eval --demo share it, so that the console shows the
// demo's evaluation runs.
func Storage() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "switchyard")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return "sqlite:" + filepath.Join(dir, "demo.db"), nil
}

// EnsureKey makes sure the demo store holds a working demo key and
// returns its secret: Key, or, when Key was revoked in an earlier demo, a
// new key to print.
func EnsureKey(ctx context.Context, st store.Store) (string, error) {
	k, err := st.KeyByHash(ctx, keys.Hash(Key))
	switch {
	case err == nil && k.RevokedAt == nil && (k.ExpiresAt == nil || k.ExpiresAt.After(time.Now())):
		return Key, nil
	case err == nil:
		secret, nk, err := keys.Generate(fmt.Sprintf("%s-%d", KeyName, time.Now().Unix()), nil)
		if err != nil {
			return "", err
		}
		return secret, st.CreateKey(ctx, nk)
	case errors.Is(err, store.ErrNotFound):
		return Key, st.CreateKey(ctx, store.Key{
			ID:        keys.IDPrefix + "demo",
			Name:      KeyName,
			Prefix:    Key[:min(len(Key), keys.PrefixLen)],
			Hash:      keys.Hash(Key),
			CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		})
	default:
		return "", err
	}
}
