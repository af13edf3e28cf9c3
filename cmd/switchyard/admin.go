package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-ai/switchyard/internal/keys"
	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/server"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// The keys, teams, usage and audit commands speak the admin REST API: to a
// running server (--server URL --admin-key KEY, or $SWITCHYARD_SERVER and
// $SWITCHYARD_ADMIN_KEY), or to the same API served in this process over
// the store the config names. One code path, so the CLI and the API
// cannot disagree; with a redis in the config, a local change is announced
// to running replicas as the API would.

// adminClient calls the admin API.
type adminClient struct {
	base, key string
	http      *http.Client
	close     func()
}

// adminFlags are the flags every admin command takes.
type adminFlags struct {
	config, server, adminKey string
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.config, "c", "", "config file (for its storage, when not using --server)")
	fs.StringVar(&a.server, "server", os.Getenv("SWITCHYARD_SERVER"), "URL of a running gateway (default $SWITCHYARD_SERVER; else the store is used directly)")
	fs.StringVar(&a.adminKey, "admin-key", "", "admin key for --server (default $SWITCHYARD_ADMIN_KEY)")
}

func (a *adminFlags) client(ctx context.Context) (*adminClient, error) {
	if a.server != "" {
		key := a.adminKey
		if key == "" {
			key = os.Getenv("SWITCHYARD_ADMIN_KEY")
		}
		if key == "" {
			return nil, errors.New("--server needs the admin key: --admin-key or $SWITCHYARD_ADMIN_KEY")
		}
		return &adminClient{base: strings.TrimSuffix(a.server, "/"), key: key, http: &http.Client{Timeout: 30 * time.Second}, close: func() {}}, nil
	}
	cfg, _, err := loadConfig(a.config)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	adminKey := hex.EncodeToString(b) // this process's only: never leaves it
	spend := func(ctx context.Context, subject string, since time.Time) (int64, error) {
		kind, id, _ := strings.Cut(subject, ":")
		return st.Spend(ctx, id, kind == "team", since)
	}
	srv := &server.Server{
		Store:    st,
		Keys:     keys.NewAuthenticator(st, keys.AuthenticatorOptions{}),
		AdminKey: adminKey,
		Logger:   slog.New(slog.DiscardHandler),
		Limits:   limits.NewLocal(spend),
	}
	closeFn := func() { st.Close() }
	if cfg.Redis != "" {
		if opt, err := redis.ParseURL(cfg.Redis); err == nil {
			rdb := redis.NewClient(opt)
			bc := keys.NewBroadcast(rdb, cfg.RedisPrefix, srv.Logger)
			srv.Changed = func(ctx context.Context, what string) {
				if err := bc.Publish(ctx, what); err != nil {
					fmt.Fprintln(os.Stderr, "warning: could not tell running replicas (they see the change within 1 s):", err)
				}
			}
			closeFn = func() { rdb.Close(); st.Close() }
		}
	}
	h := srv.Handler()
	return &adminClient{base: "http://local", key: adminKey, http: &http.Client{Transport: handlerTransport{h}}, close: closeFn}, nil
}

// handlerTransport serves requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// listAll reads every page of an admin list, following next_cursor.
func listAll[T any](ctx context.Context, c *adminClient, path string) ([]T, error) {
	var all []T
	for cursor := ""; ; {
		var page struct {
			Data       []T
			NextCursor string `json:"next_cursor"`
		}
		if err := c.do(ctx, "GET", path+"?limit=1000&cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if cursor = page.NextCursor; cursor == "" {
			return all, nil
		}
	}
}

// do calls the API and decodes its JSON answer into out; an error answer
// becomes an error with the API's message.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	actor := "cli"
	if u := os.Getenv("USER"); u != "" {
		actor += ":" + u
	}
	req.Header.Set("X-Switchyard-Actor", actor)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return errors.New(e.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if w, ok := out.(io.Writer); ok {
		_, err := w.Write(b)
		return err
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// keyOut is a key as the API returns it.
type keyOut struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Prefix       string            `json:"prefix"`
	Models       []string          `json:"models"`
	CreatedAt    time.Time         `json:"created_at"`
	RevokedAt    *time.Time        `json:"revoked_at"`
	TeamID       string            `json:"team_id"`
	RPM          int64             `json:"rpm"`
	TPM          int64             `json:"tpm"`
	BudgetUSD    string            `json:"budget_usd"`
	BudgetPeriod string            `json:"budget_period"`
	ExpiresAt    *time.Time        `json:"expires_at"`
	Metadata     map[string]string `json:"metadata"`
	SpentUSD     string            `json:"spent_usd"`
	Key          string            `json:"key"`
}

// limitFlags are the flags of a key's or team's limits.
type limitFlags struct {
	rpm, tpm       int64
	budget, period string
	meta           string
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&l.rpm, "rpm", 0, "requests per minute (0: unlimited)")
	fs.Int64Var(&l.tpm, "tpm", 0, "tokens per minute (0: unlimited)")
	fs.StringVar(&l.budget, "budget", "", "spend budget in USD per --period, such as 25.00 (0: none)")
	fs.StringVar(&l.period, "period", "", "budget period: day, month (default) or total")
	fs.StringVar(&l.meta, "meta", "", "metadata labels, such as app=checkout,owner=ana")
}

// body turns the flags that were set into an API request body.
func (l *limitFlags) body(fs *flag.FlagSet, into map[string]any) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rpm":
			into["rpm"] = l.rpm
		case "tpm":
			into["tpm"] = l.tpm
		case "budget":
			into["budget_usd"] = l.budget
		case "period":
			into["budget_period"] = l.period
		case "meta":
			m := map[string]string{}
			for _, kv := range strings.Split(l.meta, ",") {
				if kv = strings.TrimSpace(kv); kv == "" {
					continue
				}
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					err = fmt.Errorf("--meta: want key=value pairs, got %q", kv)
				}
				m[k] = v
			}
			into["metadata"] = m
		}
	})
	return err
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func keysCmd(ctx context.Context, args []string, stdout io.Writer) error {
	const usage = "usage: switchyard keys create|list|get|update|revoke [flags]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	var af adminFlags
	af.register(fs)
	var lf limitFlags
	lf.register(fs)
	name := fs.String("name", "", "key name (create)")
	models := fs.String("models", "", "comma-separated model patterns the key may use, e.g. openai/*,chat-default (default all)")
	team := fs.String("team", "", "team id or name the key belongs to (\"\" to remove, on update)")
	expires := fs.String("expires", "", "expiry as an RFC 3339 time (\"\" to remove, on update)")
	expiresIn := fs.String("expires-in", "", "expiry as a duration from now, such as 720h")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	body := map[string]any{}
	if err := lf.body(fs, body); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "models":
			body["models"] = splitList(*models)
		case "team":
			body["team"] = *team
		case "expires":
			body["expires_at"] = *expires
		case "expires-in":
			body["expires_in"] = *expiresIn
		}
	})
	c, err := af.client(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	one := func() (string, error) {
		if len(pos) != 1 {
			return "", fmt.Errorf("usage: switchyard keys %s ID|NAME [flags]", sub)
		}
		return url.PathEscape(pos[0]), nil
	}
	switch sub {
	case "create":
		if *name == "" {
			return errors.New("usage: switchyard keys create --name NAME [--models PATTERN,...] [--team T] [--rpm N] [--tpm N] [--budget USD --period day|month|total] [--expires TIME | --expires-in DURATION] [--meta k=v,...]")
		}
		body["name"] = *name
		var k keyOut
		if err := c.do(ctx, "POST", "/admin/keys", body, &k); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created key %s (%s)\n%s\nThis is the only time the key is shown: store it now.\n", k.Name, k.ID, k.Key)
		return nil
	case "list":
		ks, err := listAll[keyOut](ctx, c, "/admin/keys")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tMODELS\tTEAM\tRPM\tTPM\tBUDGET\tEXPIRES\tCREATED\tSTATUS")
		for _, k := range ks {
			status := "active"
			if k.RevokedAt != nil {
				status = "revoked " + k.RevokedAt.Format(time.RFC3339)
			} else if k.ExpiresAt != nil && k.ExpiresAt.Before(time.Now()) {
				status = "expired"
			}
			m := strings.Join(k.Models, ",")
			if m == "" {
				m = "*"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, m, dash(k.TeamID),
				num(k.RPM), num(k.TPM), budget(k.BudgetUSD, k.BudgetPeriod), when(k.ExpiresAt), k.CreatedAt.Format(time.RFC3339), status)
		}
		return tw.Flush()
	case "get":
		id, err := one()
		if err != nil {
			return err
		}
		return c.do(ctx, "GET", "/admin/keys/"+id, nil, indentWriter{stdout})
	case "update":
		id, err := one()
		if err != nil {
			return err
		}
		if len(body) == 0 {
			return errors.New("keys update: no change given (flags: --models --team --rpm --tpm --budget --period --expires --expires-in --meta)")
		}
		return c.do(ctx, "PATCH", "/admin/keys/"+id, body, indentWriter{stdout})
	case "revoke":
		id, err := one()
		if err != nil {
			return err
		}
		if err := c.do(ctx, "DELETE", "/admin/keys/"+id, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", pos[0])
		return nil
	}
	return fmt.Errorf("unknown keys command %q (create, list, get, update, revoke)", sub)
}

func teamsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: switchyard teams create|list|get|update [flags]")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("teams "+sub, flag.ContinueOnError)
	var af adminFlags
	af.register(fs)
	var lf limitFlags
	lf.register(fs)
	name := fs.String("name", "", "team name (create)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	body := map[string]any{}
	if err := lf.body(fs, body); err != nil {
		return err
	}
	c, err := af.client(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	switch sub {
	case "create":
		if *name == "" {
			return errors.New("usage: switchyard teams create --name NAME [--rpm N] [--tpm N] [--budget USD --period day|month|total] [--meta k=v,...]")
		}
		body["name"] = *name
		var t struct{ ID, Name string }
		if err := c.do(ctx, "POST", "/admin/teams", body, &t); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created team %s (%s)\n", t.Name, t.ID)
		return nil
	case "list":
		ts, err := listAll[struct {
			ID, Name     string
			RPM          int64  `json:"rpm"`
			TPM          int64  `json:"tpm"`
			BudgetUSD    string `json:"budget_usd"`
			BudgetPeriod string `json:"budget_period"`
		}](ctx, c, "/admin/teams")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tRPM\tTPM\tBUDGET")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, num(t.RPM), num(t.TPM), budget(t.BudgetUSD, t.BudgetPeriod))
		}
		return tw.Flush()
	case "get", "update":
		if len(pos) != 1 {
			return fmt.Errorf("usage: switchyard teams %s ID|NAME [flags]", sub)
		}
		if sub == "get" {
			return c.do(ctx, "GET", "/admin/teams/"+url.PathEscape(pos[0]), nil, indentWriter{stdout})
		}
		if len(body) == 0 {
			return errors.New("teams update: no change given (flags: --rpm --tpm --budget --period --meta)")
		}
		return c.do(ctx, "PATCH", "/admin/teams/"+url.PathEscape(pos[0]), body, indentWriter{stdout})
	}
	return fmt.Errorf("unknown teams command %q (create, list, get, update)", sub)
}

func usageCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("usage", flag.ContinueOnError)
	var af adminFlags
	af.register(fs)
	groupBy := fs.String("group-by", "key,day", "dimensions: key, team, model, provider, day (comma-separated)")
	from := fs.String("from", "", "from this date or RFC 3339 time (UTC), inclusive")
	to := fs.String("to", "", "to this date or time, exclusive")
	keyID := fs.String("key", "", "only this key id")
	teamID := fs.String("team", "", "only this team id")
	format := fs.String("format", "csv", "csv or json")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	q := url.Values{"group_by": {*groupBy}, "format": {*format}}
	for k, v := range map[string]string{"from": *from, "to": *to, "key_id": *keyID, "team_id": *teamID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	c, err := af.client(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	if *format == "json" {
		return c.do(ctx, "GET", "/admin/usage?"+q.Encode(), nil, indentWriter{stdout})
	}
	return c.do(ctx, "GET", "/admin/usage?"+q.Encode(), nil, stdout)
}

func auditCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var af adminFlags
	af.register(fs)
	limit := fs.Int("limit", 50, "entries to show, newest first")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	c, err := af.client(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	var list struct{ Data []store.AuditEntry }
	if err := c.do(ctx, "GET", fmt.Sprintf("/admin/audit?limit=%d", *limit), nil, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET")
	for _, e := range list.Data {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Target)
	}
	return tw.Flush()
}

// indentWriter pretty-prints the JSON written to it.
type indentWriter struct{ w io.Writer }

func (iw indentWriter) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return iw.w.Write(b)
	}
	buf.WriteByte('\n')
	_, err := iw.w.Write(buf.Bytes())
	return len(b), err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func num(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func budget(usd, period string) string {
	if usd == "" {
		return "-"
	}
	return "$" + usd + "/" + period
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
