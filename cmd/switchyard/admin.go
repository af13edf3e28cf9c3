package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	osuser "os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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

func (a *adminFlags) register(fs *pflag.FlagSet) {
	configFlag(fs, &a.config, "config `FILE`, for its storage, when not using --server")
	fs.StringVar(&a.server, "server", os.Getenv("SWITCHYARD_SERVER"), "`URL` of a running gateway (default $SWITCHYARD_SERVER; else the store is used directly)")
	fs.StringVar(&a.adminKey, "admin-key", "", "admin `KEY` for --server (default $SWITCHYARD_ADMIN_KEY)")
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
	user := cliUser()
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
		// The audit log names the person at this terminal: there is no
		// admin key to name, only this process's throwaway one.
		Actor: user,
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
	req.Header.Set("X-Switchyard-Actor", cliUser())
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

// cliUser names who runs this command, for the audit log:
// "cli:USER@HOST". A gateway called with --server puts its admin key's
// fingerprint before it.
func cliUser() string {
	u := os.Getenv("USER")
	if cu, err := osuser.Current(); err == nil && cu.Username != "" {
		u = cu.Username
	}
	if u == "" {
		u = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return "cli:" + u + "@" + host
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

func (l *limitFlags) register(fs *pflag.FlagSet) {
	fs.Int64Var(&l.rpm, "rpm", 0, "`N` requests per minute (0: unlimited)")
	fs.Int64Var(&l.tpm, "tpm", 0, "`N` tokens per minute (0: unlimited)")
	fs.StringVar(&l.budget, "budget", "", "spend budget in `USD` per --period, such as 25.00 (0: none)")
	fs.StringVar(&l.period, "period", "", "budget `PERIOD`: day, month (default) or total")
	fs.StringVar(&l.meta, "meta", "", "metadata `LABELS`, such as app=checkout,owner=ana")
}

// body turns the flags that were set into an API request body.
func (l *limitFlags) body(fs *pflag.FlagSet, into map[string]any) error {
	var err error
	fs.Visit(func(f *pflag.Flag) {
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
					err = usagef("--meta: want key=value pairs, got %q", kv)
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

// adminGroup is a command group whose subcommands all speak the admin
// API, with the flags that say where it is.
func adminGroup(c *cobra.Command, af *adminFlags, subs ...*cobra.Command) *cobra.Command {
	af.register(c.PersistentFlags())
	return group(c, subs...)
}

// keyFlags are the flags of a key's scopes and limits, shared by keys
// create and keys update.
type keyFlags struct {
	limitFlags
	models, team, expires, expiresIn string
}

func (k *keyFlags) register(fs *pflag.FlagSet) {
	k.limitFlags.register(fs)
	fs.StringVar(&k.models, "models", "", "comma-separated model `PATTERNS` the key may use, e.g. openai/*,chat-default (default all)")
	fs.StringVar(&k.team, "team", "", "`TEAM` id or name the key belongs to (\"\" to remove, on update)")
	fs.StringVar(&k.expires, "expires", "", "expiry as an RFC 3339 `TIME` (\"\" to remove, on update)")
	fs.StringVar(&k.expiresIn, "expires-in", "", "expiry as a `DURATION` from now, such as 720h")
}

func (k *keyFlags) body(fs *pflag.FlagSet) (map[string]any, error) {
	body := map[string]any{}
	if err := k.limitFlags.body(fs, body); err != nil {
		return nil, err
	}
	fs.Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "models":
			body["models"] = splitList(k.models)
		case "team":
			body["team"] = k.team
		case "expires":
			body["expires_at"] = k.expires
		case "expires-in":
			body["expires_in"] = k.expiresIn
		}
	})
	return body, nil
}

// withClient runs f with a client of the admin API.
func (a *adminFlags) withClient(ctx context.Context, f func(c *adminClient) error) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	return f(c)
}

func keysCmd(stdout io.Writer) *cobra.Command {
	var af adminFlags
	var create keyFlags
	var name string
	createCmd := &cobra.Command{
		Use:     "create --name NAME",
		Short:   "Create a virtual key (its secret is printed once)",
		Example: "  switchyard keys create --name checkout --models 'openai/*,chat-default' --rpm 600 --budget 50 --period month",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usagef("keys create needs a name: --name NAME")
			}
			body, err := create.body(cmd.Flags())
			if err != nil {
				return err
			}
			body["name"] = name
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				var k keyOut
				if err := c.do(cmd.Context(), "POST", "/admin/keys", body, &k); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "created key %s (%s)\n%s\nThis is the only time the key is shown: store it now.\n", k.Name, k.ID, k.Key)
				return nil
			})
		},
	}
	createCmd.Flags().StringVar(&name, "name", "", "key `NAME`, unique")
	create.register(createCmd.Flags())

	var update keyFlags
	updateCmd := &cobra.Command{
		Use:     "update ID|NAME",
		Short:   "Change a key's scopes and limits (only the flags given)",
		Example: "  switchyard keys update checkout --rpm 1200 --team \"\"",
		Args:    exactArgs(1, "one key: ID or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := update.body(cmd.Flags())
			if err != nil {
				return err
			}
			if len(body) == 0 {
				return usagef("keys update: no change given (flags: --models --team --rpm --tpm --budget --period --expires --expires-in --meta)")
			}
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				return c.do(cmd.Context(), "PATCH", "/admin/keys/"+url.PathEscape(args[0]), body, indentWriter{stdout})
			})
		},
	}
	update.register(updateCmd.Flags())

	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List virtual keys",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return af.withClient(cmd.Context(), func(c *adminClient) error { return listKeys(cmd.Context(), c, stdout) })
		},
	}
	getCmd := &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show a key, with its spend",
		Args:  exactArgs(1, "one key: ID or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				return c.do(cmd.Context(), "GET", "/admin/keys/"+url.PathEscape(args[0]), nil, indentWriter{stdout})
			})
		},
	}
	revokeCmd := &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke a virtual key",
		Args:  exactArgs(1, "one key: ID or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				if err := c.do(cmd.Context(), "DELETE", "/admin/keys/"+url.PathEscape(args[0]), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "revoked %s\n", args[0])
				return nil
			})
		},
	}
	return adminGroup(&cobra.Command{Use: "keys", Short: "Create, list, change and revoke virtual keys"}, &af,
		createCmd, listCmd, getCmd, updateCmd, revokeCmd)
}

func listKeys(ctx context.Context, c *adminClient, stdout io.Writer) error {
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
}

func teamsCmd(stdout io.Writer) *cobra.Command {
	var af adminFlags
	var create, update limitFlags
	var name string
	createCmd := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a team, whose limits its keys share",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usagef("teams create needs a name: --name NAME")
			}
			body := map[string]any{"name": name}
			if err := create.body(cmd.Flags(), body); err != nil {
				return err
			}
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				var t struct{ ID, Name string }
				if err := c.do(cmd.Context(), "POST", "/admin/teams", body, &t); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "created team %s (%s)\n", t.Name, t.ID)
				return nil
			})
		},
	}
	createCmd.Flags().StringVar(&name, "name", "", "team `NAME`, unique")
	create.register(createCmd.Flags())
	updateCmd := &cobra.Command{
		Use:   "update ID|NAME",
		Short: "Change a team's limits (only the flags given)",
		Args:  exactArgs(1, "one team: ID or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if err := update.body(cmd.Flags(), body); err != nil {
				return err
			}
			if len(body) == 0 {
				return usagef("teams update: no change given (flags: --rpm --tpm --budget --period --meta)")
			}
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				return c.do(cmd.Context(), "PATCH", "/admin/teams/"+url.PathEscape(args[0]), body, indentWriter{stdout})
			})
		},
	}
	update.register(updateCmd.Flags())
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List teams",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return af.withClient(cmd.Context(), func(c *adminClient) error { return listTeams(cmd.Context(), c, stdout) })
		},
	}
	getCmd := &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show a team, with its spend",
		Args:  exactArgs(1, "one team: ID or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				return c.do(cmd.Context(), "GET", "/admin/teams/"+url.PathEscape(args[0]), nil, indentWriter{stdout})
			})
		},
	}
	return adminGroup(&cobra.Command{Use: "teams", Short: "Create, list and change teams"}, &af,
		createCmd, listCmd, getCmd, updateCmd)
}

func listTeams(ctx context.Context, c *adminClient, stdout io.Writer) error {
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
}

func usageCmd(stdout io.Writer) *cobra.Command {
	var af adminFlags
	var groupBy, from, to, keyID, teamID, format string
	c := &cobra.Command{
		Use:     "usage",
		Short:   "Usage and cost totals, as CSV or JSON",
		Example: "  switchyard usage --group-by team,model --from 2025-06-01 --format json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"group_by": {groupBy}, "format": {format}}
			for k, v := range map[string]string{"from": from, "to": to, "key_id": keyID, "team_id": teamID} {
				if v != "" {
					q.Set(k, v)
				}
			}
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				var out io.Writer = stdout
				if format == "json" {
					out = indentWriter{stdout}
				}
				return c.do(cmd.Context(), "GET", "/admin/usage?"+q.Encode(), nil, out)
			})
		},
	}
	fs := c.Flags()
	af.register(fs)
	fs.StringVar(&groupBy, "group-by", "key,day", "`DIMENSIONS`: key, team, model, provider, day (comma-separated)")
	fs.StringVar(&from, "from", "", "from this `DATE` or RFC 3339 time (UTC), inclusive")
	fs.StringVar(&to, "to", "", "to this `DATE` or time, exclusive")
	fs.StringVar(&keyID, "key", "", "only this key `ID`")
	fs.StringVar(&teamID, "team", "", "only this team `ID`")
	fs.StringVar(&format, "format", "csv", "`FORMAT`: csv or json")
	return c
}

func auditCmd(stdout io.Writer) *cobra.Command {
	var af adminFlags
	var limit int
	c := &cobra.Command{
		Use:   "audit",
		Short: "The admin audit log, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return af.withClient(cmd.Context(), func(c *adminClient) error {
				var list struct{ Data []store.AuditEntry }
				if err := c.do(cmd.Context(), "GET", fmt.Sprintf("/admin/audit?limit=%d", limit), nil, &list); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET")
				for _, e := range list.Data {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Target)
				}
				return tw.Flush()
			})
		},
	}
	af.register(c.Flags())
	c.Flags().IntVar(&limit, "limit", 50, "`N` entries to show")
	return c
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
