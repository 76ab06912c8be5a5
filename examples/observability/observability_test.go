// Package observability holds the Grafana dashboard and Prometheus rules of
// examples/observability; its test checks them against the engine's
// metrics.
package observability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/regen-dev/regen/engine"
)

// issueMetrics are the metrics issue 10 asks for, which the dashboard and
// the rules may use.
var issueMetrics = []string{
	"regen_requests_total", "regen_request_duration_seconds",
	"regen_renders_total", "regen_render_duration_seconds", "regen_regenerations_in_flight",
	"regen_regenerations_deduplicated_total",
	"regen_data_cache_requests_total", "regen_origin_fetches_total", "regen_origin_fetch_duration_seconds",
	"regen_revalidations_total",
	"regen_store_bytes", "regen_store_entries", "regen_store_evictions_total", "regen_store_errors_total",
	"regen_store_available",
}

// describer is a prometheus.Registerer that records the names of the
// metrics registered on it, whether or not they have been observed yet.
type describer map[string]bool

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d[m[1]] = true
		}
	}
	return nil
}

func (d describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}

func (d describer) Unregister(prometheus.Collector) bool { return true }

// registered returns the names of the metrics an engine registers.
func registered(t *testing.T) describer {
	d := describer{}
	e, err := engine.New(&engine.Site{}, engine.Options{Metrics: d})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	return d
}

// TestMetricsRegistered: the engine registers every metric of the issue
// (regen_store_available only with a shared store).
func TestMetricsRegistered(t *testing.T) {
	got := registered(t)
	for _, name := range issueMetrics {
		if !got[name] && name != "regen_store_available" {
			t.Errorf("the engine does not register %s", name)
		}
	}
}

// metricName finds the regen metrics an expression uses, histogram series
// (_bucket, _sum, _count) by their metric's name.
var metricName = regexp.MustCompile(`\bregen_[a-z_]+`)

func metricsOf(expr string) []string {
	var out []string
	for _, m := range metricName.FindAllString(expr, -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(m, suffix); ok && slices.Contains(issueMetrics, base) {
				m = base
			}
		}
		out = append(out, m)
	}
	return out
}

// checkExpr parses expr as PromQL and checks that it uses only the
// engine's metrics.
func checkExpr(t *testing.T, where, expr string) {
	t.Helper()
	if _, err := parser.ParseExpr(expr); err != nil {
		t.Errorf("%s: %v\n%s", where, err, expr)
	}
	for _, m := range metricsOf(expr) {
		if !slices.Contains(issueMetrics, m) {
			t.Errorf("%s: unknown metric %s", where, m)
		}
	}
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// TestRules parses alerts.yml as Prometheus reads it: every expression is
// PromQL over the engine's metrics (and the recording rules' own names),
// and the issue's five alerts are there.
func TestRules(t *testing.T) {
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "alerts.yml", &f, true)
	var alerts []string
	recorded := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if (r.Record == "") == (r.Alert == "") {
				t.Errorf("group %s: a rule needs one of record and alert: %+v", g.Name, r)
			}
			if r.Record != "" {
				recorded[r.Record] = true
			}
			checkExpr(t, g.Name+"/"+r.Record+r.Alert, r.Expr)
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
				if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
					t.Errorf("alert %s: no severity or summary", r.Alert)
				}
			}
		}
	}
	// Recording rules are used by the alerts, and nothing else of theirs.
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			for _, name := range regexp.MustCompile(`regen:[a-z_:0-9]+`).FindAllString(r.Expr, -1) {
				if !recorded[name] {
					t.Errorf("%s uses %s, which no rule records", r.Alert+r.Record, name)
				}
			}
		}
	}
	for _, want := range []string{"RegenLowHitRatio", "RegenLowOriginOffload", "RegenSlowRenders", "RegenRegenerationsFailing", "RegenStoreUnavailable"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alerts.yml has no %s", want)
		}
	}
}

// TestPrometheusConfig: prometheus.yml scrapes regen serve's admin
// listener's /metrics and loads alerts.yml.
func TestPrometheusConfig(t *testing.T) {
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus.yml", &cfg, false)
	if !slices.Equal(cfg.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("rule_files = %q; want alerts.yml", cfg.RuleFiles)
	}
	if len(cfg.ScrapeConfigs) != 1 || cfg.ScrapeConfigs[0].JobName != "regen" || cfg.ScrapeConfigs[0].MetricsPath != "/metrics" ||
		len(cfg.ScrapeConfigs[0].StaticConfigs) != 1 || !slices.Equal(cfg.ScrapeConfigs[0].StaticConfigs[0].Targets, []string{"127.0.0.1:3001"}) {
		t.Errorf("scrape_configs = %+v; want job regen at 127.0.0.1:3001/metrics (the README's --admin-addr)", cfg.ScrapeConfigs)
	}
	for _, f := range []string{"compose.yaml", "grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/regen.yml"} {
		var v map[string]any
		readYAML(t, f, &v, false)
	}
}

// TestDashboard parses the Grafana dashboard: every panel's query is
// PromQL (Grafana's variables replaced by values) over the engine's
// metrics, and the issue's panels are there.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("grafana", "dashboards", "regen.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("regen.json: %v", err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$job", "regen", "$instance", "127.0.0.1:3001")
	var titles []string
	used := map[string]bool{}
	for _, p := range d.Panels {
		titles = append(titles, p.Title)
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, vars.Replace(tg.Expr))
			for _, m := range metricsOf(tg.Expr) {
				used[m] = true
			}
		}
	}
	for _, want := range []string{"Hit ratio", "Origin offload", "Render p99", "Failing renders", "Store"} {
		if !slices.Contains(titles, want) {
			t.Errorf("dashboard has no panel %q", want)
		}
	}
	for _, m := range issueMetrics {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// readYAML decodes the file name into v; strict refuses fields v does not
// have.
func readYAML(t *testing.T, name string, v any, strict bool) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(strict)
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}
