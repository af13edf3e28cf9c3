package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// The platform's admin API: key scopes and limits, teams, usage reports
// and the audit log. Every change is audited and announced to the other
// replicas.

func (s *Server) platformRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/keys/{id}", s.admin(s.adminGetKey))
	mux.Handle("PATCH /admin/keys/{id}", s.admin(s.adminUpdateKey))
	mux.Handle("GET /admin/teams", s.admin(s.adminListTeams))
	mux.Handle("POST /admin/teams", s.admin(s.adminCreateTeam))
	mux.Handle("GET /admin/teams/{id}", s.admin(s.adminGetTeam))
	mux.Handle("PATCH /admin/teams/{id}", s.admin(s.adminUpdateTeam))
	mux.Handle("GET /admin/usage", s.admin(s.adminUsage))
	mux.Handle("GET /admin/audit", s.admin(s.adminAudit))
}

// limitsView is store.Limits as the admin API shows it: dollars as exact
// decimal strings.
type limitsView struct {
	RPM          int64  `json:"rpm,omitempty"`
	TPM          int64  `json:"tpm,omitempty"`
	BudgetUSD    string `json:"budget_usd,omitempty"`
	BudgetPeriod string `json:"budget_period,omitempty"`
}

func viewLimits(l store.Limits) limitsView {
	v := limitsView{RPM: l.RPM, TPM: l.TPM, BudgetPeriod: l.BudgetPeriod}
	if l.Budget > 0 {
		v.BudgetUSD = pricing.FormatUSD(l.Budget)
		if v.BudgetPeriod == "" {
			v.BudgetPeriod = "month"
		}
	} else {
		v.BudgetPeriod = ""
	}
	return v
}

// usd is a dollar amount in JSON: a number (10.5) or a string ("10.50"),
// parsed exactly into micro-dollars; null or "" is zero (no budget).
type usd int64

func (u *usd) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*u = 0
		return nil
	}
	v, err := pricing.ParseUSD(s)
	if err != nil {
		// Not echoing the value: whatever was pasted here is not shown.
		return errors.New(`budget_usd: want a decimal amount of dollars, such as "10.50", with at most 6 decimals`)
	}
	*u = usd(v)
	return nil
}

// limitsChange is a change to limits: absent fields stay as they are.
type limitsChange struct {
	RPM          *int64  `json:"rpm"`
	TPM          *int64  `json:"tpm"`
	BudgetUSD    *usd    `json:"budget_usd"`
	BudgetPeriod *string `json:"budget_period"`
}

func (c limitsChange) apply(l *store.Limits) *llm.Error {
	bad := func(param, msg string) *llm.Error {
		return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: msg}
	}
	if c.RPM != nil {
		if *c.RPM < 0 {
			return bad("rpm", "rpm must be 0 (unlimited) or more.")
		}
		l.RPM = *c.RPM
	}
	if c.TPM != nil {
		if *c.TPM < 0 {
			return bad("tpm", "tpm must be 0 (unlimited) or more.")
		}
		l.TPM = *c.TPM
	}
	if c.BudgetUSD != nil {
		l.Budget = int64(*c.BudgetUSD)
	}
	if c.BudgetPeriod != nil {
		if err := limits.ValidPeriod(*c.BudgetPeriod); err != nil {
			return bad("budget_period", err.Error())
		}
		l.BudgetPeriod = *c.BudgetPeriod
	}
	return nil
}

// keyChange is the body of POST /admin/keys and PATCH /admin/keys/{id}.
type keyChange struct {
	Name   *string   `json:"name"`
	Models *[]string `json:"models"`
	// Team is a team id or name; "" removes the key from its team.
	Team *string `json:"team"`
	limitsChange
	// ExpiresAt is an RFC 3339 time; "" removes the expiry.
	ExpiresAt *string `json:"expires_at"`
	// ExpiresIn is a Go duration from now ("720h"), instead of ExpiresAt.
	ExpiresIn *string            `json:"expires_in"`
	Metadata  *map[string]string `json:"metadata"`
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (s *Server) applyKeyChange(r *http.Request, k *store.Key, c keyChange) *llm.Error {
	bad := func(param, msg string) *llm.Error {
		return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: msg}
	}
	if c.Models != nil {
		for _, m := range *c.Models {
			if _, err := pathMatch(m); err != nil || m == "" {
				return bad("models", fmt.Sprintf("bad model pattern %q", m))
			}
		}
		k.Models = append([]string(nil), *c.Models...)
		if len(k.Models) == 0 {
			k.Models = nil
		}
	}
	if c.Team != nil {
		k.TeamID = ""
		if *c.Team != "" {
			t, err := s.Store.Team(r.Context(), *c.Team)
			if errors.Is(err, store.ErrNotFound) {
				return bad("team", "No team "+strconv.Quote(*c.Team)+": create it first (POST /admin/teams).")
			}
			if err != nil {
				return s.storeError(err)
			}
			k.TeamID = t.ID
		}
	}
	if e := c.limitsChange.apply(&k.Limits); e != nil {
		return e
	}
	switch {
	case c.ExpiresIn != nil:
		d, err := time.ParseDuration(*c.ExpiresIn)
		if err != nil || d <= 0 {
			return bad("expires_in", "expires_in must be a positive duration such as 720h.")
		}
		t := time.Now().Add(d).UTC().Truncate(time.Second)
		k.ExpiresAt = &t
	case c.ExpiresAt != nil && *c.ExpiresAt == "":
		k.ExpiresAt = nil
	case c.ExpiresAt != nil:
		t, err := time.Parse(time.RFC3339, *c.ExpiresAt)
		if err != nil {
			return bad("expires_at", "expires_at must be an RFC 3339 time such as 2026-12-31T00:00:00Z.")
		}
		t = t.UTC()
		k.ExpiresAt = &t
	}
	if c.Metadata != nil {
		k.Metadata = *c.Metadata
		if len(k.Metadata) == 0 {
			k.Metadata = nil
		}
	}
	return nil
}

func (s *Server) adminGetKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.Store.Key(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, s.lookupError(err, "key", r.PathValue("id")))
		return
	}
	v := viewKey(k)
	if s.Limits != nil && k.Limits.Budget > 0 {
		if spent, err := s.Limits.Spent(r.Context(), time.Now(), limits.Subject{ID: "key:" + k.ID, Limits: k.Limits}); err == nil {
			v.SpentUSD = pricing.FormatUSD(spent)
		}
	}
	writeValue(w, http.StatusOK, v)
}

func (s *Server) adminUpdateKey(w http.ResponseWriter, r *http.Request) {
	var in keyChange
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Message: "Send a JSON object of the fields to change: " + err.Error()})
		return
	}
	if in.Name != nil {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Param: "name", Message: "A key's name cannot change; create a new key."})
		return
	}
	k, err := s.Store.Key(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, s.lookupError(err, "key", r.PathValue("id")))
		return
	}
	if e := s.applyKeyChange(r, &k, in); e != nil {
		writeError(w, e)
		return
	}
	if err := s.Store.UpdateKey(r.Context(), k); err != nil {
		writeError(w, s.storeError(err))
		return
	}
	s.Keys.Purge()
	s.changed(r, "key "+k.ID)
	v := viewKey(k)
	s.audit(r, "key.update", k.ID, v)
	writeValue(w, http.StatusOK, v)
}

type teamView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	limitsView
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	SpentUSD  string            `json:"spent_usd,omitempty"`
}

func viewTeam(t store.Team) teamView {
	return teamView{ID: t.ID, Name: t.Name, limitsView: viewLimits(t.Limits), Metadata: t.Metadata, CreatedAt: t.CreatedAt}
}

type teamChange struct {
	Name *string `json:"name"`
	limitsChange
	Metadata *map[string]string `json:"metadata"`
}

func (s *Server) adminListTeams(w http.ResponseWriter, r *http.Request) {
	p, e := parsePage(r.URL.Query())
	if e != nil {
		writeError(w, e)
		return
	}
	ts, err := s.Store.ListTeams(r.Context(), p.more())
	if err != nil {
		writeError(w, s.storeError(err))
		return
	}
	writePage(w, p, ts, viewTeam, func(t store.Team) string { return t.ID })
}

func (s *Server) adminCreateTeam(w http.ResponseWriter, r *http.Request) {
	var in teamChange
	if err := decodeJSON(w, r, &in); err != nil || in.Name == nil || strings.TrimSpace(*in.Name) == "" || len(*in.Name) > maxNameBytes {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Param: "name", Message: `Send a JSON object {"name": "...", "rpm": 600, "tpm": 1000000, "budget_usd": "500", "budget_period": "month", "metadata": {...}}; name is required (at most 256 bytes).`})
		return
	}
	t := store.Team{ID: "team_" + randomID(), Name: strings.TrimSpace(*in.Name), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if e := in.limitsChange.apply(&t.Limits); e != nil {
		writeError(w, e)
		return
	}
	if in.Metadata != nil && len(*in.Metadata) > 0 {
		t.Metadata = *in.Metadata
	}
	if err := s.Store.CreateTeam(r.Context(), t); err != nil {
		writeError(w, s.storeError(err))
		return
	}
	v := viewTeam(t)
	s.audit(r, "team.create", t.ID, v)
	writeValue(w, http.StatusCreated, v)
}

func (s *Server) adminGetTeam(w http.ResponseWriter, r *http.Request) {
	t, err := s.Store.Team(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, s.lookupError(err, "team", r.PathValue("id")))
		return
	}
	v := viewTeam(t)
	if s.Limits != nil && t.Limits.Budget > 0 {
		if spent, err := s.Limits.Spent(r.Context(), time.Now(), limits.Subject{ID: "team:" + t.ID, Limits: t.Limits}); err == nil {
			v.SpentUSD = pricing.FormatUSD(spent)
		}
	}
	writeValue(w, http.StatusOK, v)
}

func (s *Server) adminUpdateTeam(w http.ResponseWriter, r *http.Request) {
	var in teamChange
	if err := decodeJSON(w, r, &in); err != nil || in.Name != nil {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Message: "Send a JSON object of the limits or metadata to change (a team's name cannot change)."})
		return
	}
	t, err := s.Store.Team(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, s.lookupError(err, "team", r.PathValue("id")))
		return
	}
	if e := in.limitsChange.apply(&t.Limits); e != nil {
		writeError(w, e)
		return
	}
	if in.Metadata != nil {
		t.Metadata = *in.Metadata
	}
	if err := s.Store.UpdateTeam(r.Context(), t); err != nil {
		writeError(w, s.storeError(err))
		return
	}
	if s.Teams != nil {
		s.Teams.Purge()
	}
	s.changed(r, "team "+t.ID)
	v := viewTeam(t)
	s.audit(r, "team.update", t.ID, v)
	writeValue(w, http.StatusOK, v)
}

// usageQuery is a parsed GET /admin/usage query.
type usageQuery struct {
	filter store.UsageFilter
	csv    bool
}

// parseUsageQuery reads group_by (comma-separated: key, team, model,
// provider, day), from and to (RFC 3339 or YYYY-MM-DD, UTC; to is
// exclusive), key_id, team_id and format (json or csv).
func parseUsageQuery(q url.Values) (usageQuery, error) {
	var u usageQuery
	seen := map[string]bool{}
	for _, g := range strings.Split(q.Get("group_by"), ",") {
		switch g = strings.TrimSpace(g); g {
		case "":
		case "key", "team", "model", "provider", "day":
			if !seen[g] {
				seen[g] = true
				u.filter.GroupBy = append(u.filter.GroupBy, g)
			}
		default:
			return u, fmt.Errorf("group_by: unknown dimension %q (known: key, team, model, provider, day)", g)
		}
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &u.filter.From}, {"to", &u.filter.To}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, v); err != nil {
				return u, fmt.Errorf("%s: want an RFC 3339 time or a date (YYYY-MM-DD), got %q", p.name, v)
			}
		}
		*p.t = t.UTC()
	}
	if !u.filter.From.IsZero() && !u.filter.To.IsZero() && !u.filter.To.After(u.filter.From) {
		return u, errors.New("to must be after from")
	}
	u.filter.KeyID, u.filter.TeamID = q.Get("key_id"), q.Get("team_id")
	switch q.Get("format") {
	case "", "json":
	case "csv":
		u.csv = true
	default:
		return u, fmt.Errorf("format: want json or csv, got %q", q.Get("format"))
	}
	return u, nil
}

// usagePage is how many groups of a usage report are read from the store
// at a time: the report is streamed, so that its size does not decide the
// gateway's memory.
const usagePage = 1000

// adminUsage serves the usage report, whole (it is a report, to be
// downloaded, not a list to page through), in JSON or CSV. Its groups are
// read from the store a page at a time and written as they come, and the
// total is summed on the way, so memory stays bounded however many groups
// there are. A store failure after the first page has gone out can only
// cut the answer short; it is logged.
func (s *Server) adminUsage(w http.ResponseWriter, r *http.Request) {
	q, err := parseUsageQuery(r.URL.Query())
	if err != nil {
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Message: err.Error()})
		return
	}
	f := q.filter
	f.Limit = usagePage
	rows, err := s.Store.Usage(r.Context(), f)
	if err != nil {
		writeError(w, s.storeError(err))
		return
	}
	var out usageWriter = &jsonUsage{w: w, dims: f.GroupBy}
	if q.csv {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="switchyard-usage.csv"`)
		out = newCSVUsage(w, f.GroupBy)
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	var total store.UsageRow
	for {
		for _, row := range rows {
			total.Requests += row.Requests
			total.InputTokens += row.InputTokens
			total.OutputTokens += row.OutputTokens
			total.CachedTokens += row.CachedTokens
			total.Cost += row.Cost
			out.row(row)
		}
		if len(rows) < usagePage || len(f.GroupBy) == 0 {
			break
		}
		f.After = usageDims(rows[len(rows)-1], f.GroupBy)
		if rows, err = s.Store.Usage(r.Context(), f); err != nil {
			s.Logger.Error("admin: usage report cut short: the store failed", "err", err)
			return
		}
	}
	out.end(total)
}

// usageDims is a row's values of the dimensions, in their order.
func usageDims(row store.UsageRow, dims []string) []string {
	var out []string
	for _, d := range dims {
		out = append(out, map[string]string{"key": row.Key, "team": row.Team, "model": row.Model, "provider": row.Provider, "day": row.Day}[d])
	}
	return out
}

// usageWriter writes a usage report row by row, then its total.
type usageWriter interface {
	row(store.UsageRow)
	end(total store.UsageRow)
}

type usageView struct {
	store.UsageRow
	CostUSD string `json:"cost_usd"`
}

// jsonUsage writes {"object":"list","group_by":[...],"data":[...],"total":{...}}.
type jsonUsage struct {
	w    http.ResponseWriter
	dims []string
	n    int
}

func (j *jsonUsage) row(row store.UsageRow) {
	if j.n == 0 {
		j.start()
	} else {
		j.w.Write([]byte(","))
	}
	j.n++
	b, _ := json.Marshal(usageView{row, pricing.FormatUSD(row.Cost)})
	j.w.Write(b)
}

func (j *jsonUsage) start() {
	dims, _ := json.Marshal(append([]string{}, j.dims...)) // [] rather than null
	fmt.Fprintf(j.w, `{"object":"list","group_by":%s,"data":[`, dims)
}

func (j *jsonUsage) end(total store.UsageRow) {
	if j.n == 0 {
		j.start()
	}
	b, _ := json.Marshal(usageView{total, pricing.FormatUSD(total.Cost)})
	fmt.Fprintf(j.w, `],"total":%s}`, b)
}

// csvUsage writes one column per dimension, then the totals; the last
// line is the grand total.
type csvUsage struct {
	cw   *csv.Writer
	dims []string
}

func newCSVUsage(w io.Writer, dims []string) *csvUsage {
	c := &csvUsage{cw: csv.NewWriter(w), dims: dims}
	c.cw.Write(append(append([]string{}, dims...), "requests", "input_tokens", "output_tokens", "cached_input_tokens", "cost_usd"))
	return c
}

func (c *csvUsage) line(row store.UsageRow, first string) {
	var rec []string
	for i, v := range usageDims(row, c.dims) {
		if first != "" {
			v = ""
			if i == 0 {
				v = first
			}
		}
		rec = append(rec, csvSafe(v))
	}
	rec = append(rec, strconv.FormatInt(row.Requests, 10), strconv.FormatInt(row.InputTokens, 10),
		strconv.FormatInt(row.OutputTokens, 10), strconv.FormatInt(row.CachedTokens, 10), pricing.FormatUSD(row.Cost))
	c.cw.Write(rec)
}

func (c *csvUsage) row(row store.UsageRow) { c.line(row, "") }

func (c *csvUsage) end(total store.UsageRow) {
	if len(c.dims) > 0 {
		c.line(total, "total")
	}
	c.cw.Flush()
}

// usageCSV is a whole report as CSV, for tests.
func usageCSV(dims []string, rows []store.UsageRow, total store.UsageRow) []byte {
	var b bytes.Buffer
	c := newCSVUsage(&b, dims)
	for _, row := range rows {
		c.row(row)
	}
	c.end(total)
	return b.Bytes()
}

// csvSafe keeps a spreadsheet from reading a value (a model name is the
// client's text) as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	p, e := parsePage(r.URL.Query())
	if e != nil {
		writeError(w, e)
		return
	}
	es, err := s.Store.Audit(r.Context(), p.more())
	if err != nil {
		writeError(w, s.storeError(err))
		return
	}
	writePage(w, p, es, func(e store.AuditEntry) store.AuditEntry { return e },
		func(e store.AuditEntry) string { return strconv.FormatInt(e.ID, 10) })
}

// actor names who made an admin request: the admin key's fingerprint
// (never the key), and what the client says it is (the CLI sends
// X-Switchyard-Actor: cli:<user>), which the admin key vouches for.
func (s *Server) actor(r *http.Request) string {
	if s.Actor != "" {
		return s.Actor
	}
	sum := sha256.Sum256([]byte(s.AdminKey))
	a := "admin:" + hex.EncodeToString(sum[:4])
	if v := r.Header.Get("X-Switchyard-Actor"); v != "" {
		a += " (" + strings.Map(func(c rune) rune {
			if c < ' ' || c == 0x7f {
				return -1
			}
			return c
		}, v[:min(len(v), 64)]) + ")"
	}
	return a
}

// audit records an admin action. It never fails the action: the change is
// made; a failure to record it is logged.
func (s *Server) audit(r *http.Request, action, target string, detail any) {
	d := ""
	if detail != nil {
		b, _ := json.Marshal(detail)
		d = string(b)
	}
	e := store.AuditEntry{Actor: s.actor(r), Action: action, Target: target, Detail: d}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		s.Logger.Error("audit log write failed", "action", action, "target", target, "err", err)
	}
}

// changed tells the other replicas that keys or teams changed.
func (s *Server) changed(r *http.Request, what string) {
	if s.Changed != nil {
		s.Changed(context.WithoutCancel(r.Context()), what)
	}
}

// randomID is 12 random bytes in base62, as key ids are.
func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return new(big.Int).SetBytes(b).Text(62)
}

func pathMatch(pattern string) (bool, error) { return path.Match(pattern, "") }
