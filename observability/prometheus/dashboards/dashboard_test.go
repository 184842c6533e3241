package dashboards_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/memstore"
	authprom "github.com/authframe/authframe/observability/prometheus"
	"github.com/authframe/authframe/observability/prometheus/dashboards"
	"github.com/authframe/authframe/observability/prometheus/dashboards/internal/promql"
)

// The committed JSON is what users import: it must be exactly what the code builds, so a
// change to the Go code without go generate (or a hand edit of the JSON) fails here.
func TestCommittedJSONIsGenerated(t *testing.T) {
	want, err := dashboards.JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dashboards.File)
	if err != nil {
		t.Fatalf("%v (run go generate ./... in observability/prometheus/dashboards)", err)
	}
	if !bytes.Equal(got, want) {
		line := 1
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				break
			}
			if got[i] == '\n' {
				line++
			}
		}
		t.Fatalf("%s differs from what Build produces from line %d on: run go generate ./... in observability/prometheus/dashboards", dashboards.File, line)
	}
}

// exportedNames registers a Collector (with every option that adds series), exercises it
// with an event of every kind, gathers, and returns every sample name a scrape shows:
// histograms as their _bucket, _sum and _count series.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	c, err := authprom.New(authprom.WithStats(st), authprom.WithSharedCacheTier())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	ctx := context.Background()
	for _, e := range []audit.Event{
		{Type: audit.TokenValidated, Result: "ok", Tier: "verify", Duration: 40 * time.Microsecond},
		{Type: audit.TokenValidated, Result: "ok", Tier: "lru"},
		{Type: audit.SessionValidated, Result: "ok", Tier: "store", Duration: time.Millisecond},
		{Type: audit.LoginSucceeded},
		{Type: audit.LoginFailed, Reason: "bad_password"},
		{Type: audit.Registered},
		{Type: audit.Refreshed},
		{Type: audit.RefreshReused},
		{Type: audit.Revoked, Kind: "session"},
		{Type: audit.RevocationReceived, Kind: "token"},
		{Type: audit.RateLimited},
		{Type: audit.SessionCreated, Kind: "cookie"},
		{Type: audit.SessionDestroyed},
		{Type: audit.CSRFFailed},
		{Type: audit.DependencyError, Kind: "store", Op: "get_session"},
		{Type: audit.DependencyError, Kind: "cache", Op: "get"},
	} {
		c.Observe(ctx, e)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM:
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+suffix] = true
			}
		default:
			names[mf.GetName()] = true
		}
	}
	if !names["authframe_sessions_active"] || !names["authframe_validation_duration_seconds_bucket"] {
		t.Fatalf("the collector's scrape lacks series the test relies on: %v", names)
	}
	return names
}

// dashboardQueries returns every PromQL expression of the committed dashboard (panels,
// panels inside rows) keyed by the panel's title, and the query of each query variable.
func dashboardQueries(t *testing.T) (panels map[string][]string, variables []string) {
	t.Helper()
	raw, err := os.ReadFile(dashboards.File)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	panels = map[string][]string{}
	var walk func([]json.RawMessage)
	walk = func(list []json.RawMessage) {
		for _, r := range list {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				panels[p.Title] = append(panels[p.Title], tg.Expr)
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			q, ok := v.Query.(string)
			if !ok {
				t.Fatalf("query variable with a %T query", v.Query)
			}
			variables = append(variables, q)
		}
	}
	return panels, variables
}

// vars are values for the dashboard's variables, as Grafana would substitute them.
var vars = promql.Vars{"job": ".*", "__rate_interval": "1m", "datasource": "prometheus"}

// Every query of every panel parses, and every metric it names is one the Collector
// exports: a renamed metric or a typo in a panel fails here, not in front of a blank
// panel.
func TestEveryQueryNamesAnExportedMetric(t *testing.T) {
	exported := exportedNames(t)
	panels, variables := dashboardQueries(t)
	if len(panels) < 10 {
		t.Fatalf("only %d panels with queries in %s", len(panels), dashboards.File)
	}
	used := map[string]bool{}
	titles := make([]string, 0, len(panels))
	for title := range panels {
		titles = append(titles, title)
	}
	sort.Strings(titles)
	for _, title := range titles {
		for _, q := range panels[title] {
			expanded, err := promql.Expand(q, vars)
			if err != nil {
				t.Errorf("panel %q: %v", title, err)
				continue
			}
			e, err := promql.Parse(expanded)
			if err != nil {
				t.Errorf("panel %q: %v", title, err)
				continue
			}
			names := promql.MetricNames(e)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no metric", title, q)
			}
			for _, n := range names {
				used[n] = true
				if !exported[n] {
					t.Errorf("panel %q: query %q uses %s, which the collector does not export", title, q, n)
				}
			}
		}
	}
	// label_values(metric, label) is Grafana's, not PromQL: its metric is checked too.
	for _, q := range variables {
		inner, ok := strings.CutPrefix(q, "label_values(")
		metric, _, ok2 := strings.Cut(inner, ",")
		if !ok || !ok2 || !exported[strings.TrimSpace(metric)] {
			t.Errorf("variable query %q does not name an exported metric", q)
		}
	}
	// The dashboard shows every metric family the collector exports.
	for n := range exported {
		family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if used[n] || slices.ContainsFunc(slices.Collect(maps.Keys(used)), func(u string) bool { return strings.HasPrefix(u, family+"_") || u == family }) {
			continue
		}
		t.Errorf("no panel shows %s", n)
	}
}
