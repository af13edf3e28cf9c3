package server

import (
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

func TestParseUsageQuery(t *testing.T) {
	q, err := parseUsageQuery(url.Values{"group_by": {"key, day,key"}, "from": {"2026-01-02"}, "to": {"2026-02-01T00:00:00+01:00"}, "format": {"csv"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.filter.GroupBy, []string{"key", "day"}) || !q.csv ||
		!q.filter.From.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) || !q.filter.To.Equal(time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("%+v", q)
	}
	for _, bad := range []url.Values{
		{"group_by": {"colour"}}, {"from": {"yesterday"}}, {"format": {"xml"}},
		{"from": {"2026-02-01"}, "to": {"2026-01-01"}},
	} {
		if _, err := parseUsageQuery(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func FuzzParseUsageQuery(f *testing.F) {
	f.Add("group_by=key,day&from=2026-01-01&format=csv")
	f.Add("group_by=team&to=2026-01-01T00:00:00Z")
	f.Add("from=2026-13-01")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseUsageQuery(v)
		if err != nil {
			return
		}
		// Only known dimensions get through, once each.
		seen := map[string]bool{}
		for _, g := range q.filter.GroupBy {
			if !slices.Contains([]string{"key", "team", "model", "provider", "day"}, g) || seen[g] {
				t.Fatalf("group_by %v", q.filter.GroupBy)
			}
			seen[g] = true
		}
		// The CSV of any report with these dimensions parses back with
		// one column per dimension plus five.
		row := store.UsageRow{Key: raw, Team: "=cmd", Model: "a,b\"c", Provider: "\n", Day: "d", Requests: 1}
		recs, err := csv.NewReader(strings.NewReader(string(usageCSV(q.filter.GroupBy, []store.UsageRow{row}, row)))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if len(r) != len(q.filter.GroupBy)+5 {
				t.Fatalf("row %q", r)
			}
			for _, c := range r {
				if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
					t.Fatalf("cell %q could be read as a formula", c)
				}
			}
		}
	})
}
