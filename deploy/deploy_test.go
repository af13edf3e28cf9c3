// Package deploy holds the deployment files. Docker and Kubernetes cannot
// run here, so this test lints them with the project's own code: the
// manifests parse, the shipped config passes the real config checker with
// the Secret's variables, every variable it uses is in the Secret, and the
// probes' paths answer 200 on a real gateway.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/gateway"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Name           string `yaml:"name"`
					ReadinessProbe *probe `yaml:"readinessProbe"`
					LivenessProbe  *probe `yaml:"livenessProbe"`
					EnvFrom        []struct {
						SecretRef struct {
							Name string `yaml:"name"`
						} `yaml:"secretRef"`
					} `yaml:"envFrom"`
				} `yaml:"containers"`
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

func manifests(t *testing.T) []object {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	var objs []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" {
				t.Fatalf("%s: a document without kind", f)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func find(objs []object, kind, name string) *object {
	for i := range objs {
		if objs[i].Kind == kind && objs[i].Metadata.Name == name {
			return &objs[i]
		}
	}
	return nil
}

func TestManifests(t *testing.T) {
	objs := manifests(t)
	cm, secret, dep := find(objs, "ConfigMap", "switchyard"), find(objs, "Secret", "switchyard"), find(objs, "Deployment", "switchyard")
	if cm == nil || secret == nil || dep == nil {
		t.Fatal("missing the switchyard ConfigMap, Secret or Deployment")
	}
	// The config passes the real checker with the Secret's variables, and
	// uses no variable the Secret lacks.
	cfgText := cm.Data["switchyard.yaml"]
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(cfgText, -1) {
		if _, ok := secret.StringData[m[1]]; !ok {
			t.Errorf("the config uses ${%s}, which the Secret does not have", m[1])
		}
	}
	cfg, err := config.Parse([]byte(cfgText), "configmap switchyard.yaml", config.Options{
		ProviderTypes: provider.Types(),
		Getenv:        func(k string) string { return secret.StringData[k] },
	})
	if err != nil {
		t.Fatalf("shipped config: %v", err)
	}
	if !strings.HasPrefix(cfg.Storage, "postgres://") || !strings.HasPrefix(cfg.Listen, "0.0.0.0:") {
		t.Errorf("replicas need PostgreSQL and a listen address reachable from the pod network: %s, %s", cfg.Storage, cfg.Listen)
	}
	spec := dep.Spec.Template.Spec
	if !spec.SecurityContext.RunAsNonRoot || len(spec.Containers) != 1 {
		t.Fatalf("deployment: runAsNonRoot %v, %d containers", spec.SecurityContext.RunAsNonRoot, len(spec.Containers))
	}
	c := spec.Containers[0]
	if len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef.Name != "switchyard" {
		t.Error("the container does not take its environment from the switchyard Secret")
	}
	if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet == nil {
		t.Fatal("probes missing")
	}

	// The probes answer on a real gateway (on SQLite: the paths are the
	// same whatever the store).
	cfg.Storage = "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	g, err := gateway.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(context.Background())
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()
	for _, path := range []string{c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("probe %s answered %d", path, resp.StatusCode)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"CGO_ENABLED=0", "USER 65532:65532", "FROM gcr.io/distroless/static", "./cmd/switchyard"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The build's Go version follows go.mod's.
	mod, _ := os.ReadFile("../go.mod")
	if m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod); m == nil || !strings.Contains(s, "golang:"+string(m[1])) {
		t.Errorf("the Dockerfile's golang image does not match go.mod's go %s", m[1])
	}
}

// Every metric the dashboard queries is one the gateway defines.
func TestDashboardMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana/switchyard-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	sources, _ := filepath.Glob("../internal/metrics/*.go")
	name := regexp.MustCompile(`"((?:switchyard|gen_ai)_[a-z_]+)"`)
	for _, f := range sources {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, m := range name.FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
	}
	if len(defined) == 0 {
		t.Fatal("no metric definitions found in internal/metrics")
	}
	used := regexp.MustCompile(`\b((?:switchyard|gen_ai)_[a-z_]+)`)
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range used.FindAllStringSubmatch(q.Expr, -1) {
				base := m[1]
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if !defined[base] {
					t.Errorf("panel %q queries %s, which the gateway does not define", p.Title, m[1])
				}
			}
		}
	}
}
