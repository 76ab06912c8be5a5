package redis

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/internal/redistest"
	"github.com/regen-dev/regen/render"
)

// gauge returns the value of the unlabelled metric name in reg, or of the
// series with label op=<op>, and whether reg has it.
func gauge(t *testing.T, reg prometheus.Gatherer, name, op string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if op != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != op) {
				continue
			}
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

// TestEngineMetrics: an engine over a Store exports regen_store_available
// (1 while Redis answers, 0 while it is down), the local tier's entries,
// and the failed shared locks of a Redis that is down.
func TestEngineMetrics(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	st := open(t, srv, faultOptions(&log))
	reg := prometheus.NewRegistry()
	var site engine.Site
	site.Page("/[slug]", engine.Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, "page")
		return err
	})})
	var elog logBuffer
	e, err := engine.New(&site, engine.Options{Store: st, Metrics: reg, Logger: elog.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	get := func(path string) string {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Header().Get("X-Cache-Status")
	}
	if got := get("/a"); got != "MISS" {
		t.Fatalf("GET /a = %s; want MISS", got)
	}
	for _, tt := range []struct {
		name string
		want float64
	}{{"regen_store_available", 1}, {"regen_store_entries", 1}} {
		if got, ok := gauge(t, reg, tt.name, ""); !ok || got != tt.want {
			t.Errorf("%s = %v (%v); want %v", tt.name, got, ok, tt.want)
		}
	}

	srv.Kill()
	waitFor(t, "the store to see Redis down", func() bool { return !st.Stats().Available })
	if got, _ := gauge(t, reg, "regen_store_available", ""); got != 0 {
		t.Errorf("regen_store_available with Redis down = %v; want 0", got)
	}
	if got := get("/b"); got != "MISS" { // rendered without the shared lock
		t.Fatalf("GET /b with Redis down = %s; want MISS", got)
	}
	if got, _ := gauge(t, reg, "regen_store_errors_total", "lock"); got != 1 {
		t.Errorf(`regen_store_errors_total{op="lock"} = %v; want 1`, got)
	}

	srv.Restart()
	waitFor(t, "the store to reconnect", func() bool { return st.Stats().Available })
	if got, _ := gauge(t, reg, "regen_store_available", ""); got != 1 {
		t.Errorf("regen_store_available after Redis is back = %v; want 1", got)
	}
}
