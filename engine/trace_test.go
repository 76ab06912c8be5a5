package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/regen-dev/regen/fetchcache"
)

// spanTree lists spans as "parent > child [attributes]", sorted, with the
// root spans' parent "-"; attrs names the attributes shown.
func spanTree(spans tracetest.SpanStubs, attrs ...string) []string {
	names := map[string]string{}
	for _, s := range spans {
		names[s.SpanContext.SpanID().String()] = s.Name
	}
	var out []string
	for _, s := range spans {
		parent := "-"
		if s.Parent.IsValid() {
			parent = names[s.Parent.SpanID().String()]
		}
		line := parent + " > " + s.Name
		var shown []string
		for _, kv := range s.Attributes {
			if slices.Contains(attrs, string(kv.Key)) {
				shown = append(shown, fmt.Sprintf("%s=%s", kv.Key, kv.Value.Emit()))
			}
		}
		if len(shown) > 0 {
			line += " [" + strings.Join(shown, " ") + "]"
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

// TestTraceMiss: the spans of one MISS whose render makes two fetches,
// and of a regeneration, a new root linked to the request that started it.
func TestTraceMiss(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var site Site
	site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", nil,
		fetchcache.Request{URL: "https://api/a"}, fetchcache.Request{URL: "https://api/b"})})
	clock := &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newEngine(t, &site, Options{TracerProvider: tp, Fetcher: newOrigin(), Now: clock.Now, Scheduler: inlineScheduler})
	exp.Reset()
	if got := get(e, "/p").status; got != "MISS" {
		t.Fatalf("GET /p = %s; want MISS", got)
	}
	shown := []string{"regen.cache", "regen.route", "regen.render.reason", "regen.render.result", "regen.data_cache", "url.full", "regen.store.key"}
	a, b := fetchKey("https://api/a"), fetchKey("https://api/b")
	want := []string{
		"- > regen.request [regen.cache=MISS regen.route=/p]",
		// Each fetch looks its key up, looks again in its origin call, and stores it.
		"regen.fetch > regen.store.get [regen.store.key=" + a + "]",
		"regen.fetch > regen.store.get [regen.store.key=" + a + "]",
		"regen.fetch > regen.store.get [regen.store.key=" + b + "]",
		"regen.fetch > regen.store.get [regen.store.key=" + b + "]",
		"regen.fetch > regen.store.set [regen.store.key=" + a + "]",
		"regen.fetch > regen.store.set [regen.store.key=" + b + "]",
		"regen.render > regen.fetch [url.full=https://api/a regen.data_cache=MISS]",
		"regen.render > regen.fetch [url.full=https://api/b regen.data_cache=MISS]",
		"regen.request > regen.render [regen.render.reason=miss regen.route=/p regen.render.result=ok]",
		// The lookup, the render's re-check, and the page stored.
		"regen.request > regen.store.get [regen.store.key=/p]",
		"regen.request > regen.store.get [regen.store.key=/p]",
		"regen.request > regen.store.set [regen.store.key=/p]",
	}
	slices.Sort(want)
	got := spanTree(exp.GetSpans(), shown...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans of a MISS (-want +got):\n%s", diff)
	}

	exp.Reset()
	clock.Advance(time.Minute)
	if got := get(e, "/p").status; got != "STALE" {
		t.Fatalf("GET /p after a minute = %s; want STALE", got)
	}
	spans := exp.GetSpans()
	var req, regen tracetest.SpanStub
	for _, s := range spans {
		switch s.Name {
		case "regen.request":
			req = s
		case "regen.regenerate":
			regen = s
		}
	}
	if regen.Parent.IsValid() {
		t.Errorf("regen.regenerate has parent %v; want a root span", regen.Parent.SpanID())
	}
	if len(regen.Links) != 1 || regen.Links[0].SpanContext.SpanID() != req.SpanContext.SpanID() {
		t.Errorf("regen.regenerate links = %v; want the request span %v", regen.Links, req.SpanContext.SpanID())
	}
	var rendered bool
	for _, s := range spans {
		if s.Name == "regen.render" && s.Parent.SpanID() == regen.SpanContext.SpanID() {
			rendered = true
		}
	}
	if !rendered {
		t.Errorf("no regen.render under regen.regenerate; spans:\n%s", strings.Join(spanTree(spans, shown...), "\n"))
	}
}

func fetchKey(url string) string { return fetchcache.Key(&fetchcache.Request{URL: url}) }
