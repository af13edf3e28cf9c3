package gateway

import (
	"context"
	"os"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
)

// WatchConfig reloads the configuration from path whenever a signal
// arrives on hup (SIGHUP) or the file changes (checked every interval), until
// ctx is done. A file that fails to load or validate is rejected with a log
// line naming its errors, and the running configuration stays.
//
// The file is polled rather than watched with inotify: one stat a second
// costs nothing, needs no dependency, and sees Kubernetes' ConfigMap
// updates, which swap a symlink rather than write the file.
func (g *Gateway) WatchConfig(ctx context.Context, path string, opts config.Options, interval time.Duration, hup <-chan os.Signal) {
	last := stamp(path)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			last = stamp(path)
		case <-tick.C:
			now := stamp(path)
			if now == last {
				continue
			}
			last = now
		}
		g.reloadFile(path, opts)
	}
}

func (g *Gateway) reloadFile(path string, opts config.Options) {
	cfg, err := config.Load(path, opts)
	if err == nil {
		err = g.Reload(cfg)
	}
	if err != nil {
		g.logger.Error("config reload rejected; the running configuration stays", "file", path, "err", err)
		return
	}
	g.logger.Info("config reloaded", "file", path, "providers", len(cfg.Providers), "models", len(cfg.Models))
}

// fileStamp identifies a version of a file.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.ModTime(), fi.Size()}
}
