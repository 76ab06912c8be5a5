package routetable_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/routetable"
	"github.com/regen-dev/regen/sitespec"
)

func noSleep(context.Context, time.Duration) error { return nil }

// demoEngine is the engine of the demo shop, as regen routes builds it.
func demoEngine(t *testing.T) *engine.Engine {
	t.Helper()
	spec, err := shop.Parse()
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(sitespec.Options{Sleep: noSleep})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestSameAsRegenRoutes checks that Write and WriteJSON print the demo
// shop's table as `regen routes` does, byte for byte: its golden files.
func TestSameAsRegenRoutes(t *testing.T) {
	e := demoEngine(t)
	tests := []struct {
		name   string
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"table", "routes-demo.golden", func(b *bytes.Buffer) error {
			return routetable.Write(b, "shop ("+shop.Filename+")", e.Routes())
		}},
		{"json", "routes-demo-json.golden", func(b *bytes.Buffer) error { return routetable.WriteJSON(b, e.Routes()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("..", "cmd", "regen", "testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatalf("write error: %v", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("output differs from regen routes' %s (-regen routes +routetable):\n%s", tt.golden, diff)
			}
		})
	}
}

func TestFormatSeconds(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{1, "1s"},
		{30, "30s"},
		{60, "1m"},
		{90, "90s"},
		{300, "5m"},
		{3600, "1h"},
		{5400, "90m"},
		{86400, "1d"},
		{31536000, "1y"},
		{regen.Forever.Raw(), "false"},
	}
	for _, tt := range tests {
		if got := routetable.FormatSeconds(tt.in); got != tt.want {
			t.Errorf("FormatSeconds(%d) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

type failingWriter struct{ n int }

var errFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errFull
	}
	w.n--
	return len(p), nil
}

// TestWriteError checks that Write and WriteJSON report the first error of
// their writer.
func TestWriteError(t *testing.T) {
	e := demoEngine(t)
	if err := routetable.Write(&failingWriter{n: 2}, "shop", e.Routes()); !errors.Is(err, errFull) {
		t.Errorf("Write to a failing writer = %v; want %v", err, errFull)
	}
	if err := routetable.WriteJSON(&failingWriter{n: 2}, e.Routes()); !errors.Is(err, errFull) {
		t.Errorf("WriteJSON to a failing writer = %v; want %v", err, errFull)
	}
}

// TestNoStaticParams: a route with params and no static params lists what
// its paths do: render on first request, or 404 under dynamicParams false.
func TestNoStaticParams(t *testing.T) {
	for _, dp := range []bool{true, false} {
		var b strings.Builder
		p := engine.Policy{Route: "/x/[id]", Kind: engine.ISR, Revalidate: regen.Seconds(60), Expire: 365 * 24 * time.Hour, DynamicParams: dp}
		if err := routetable.Write(&b, "t", []engine.Policy{p}); err != nil {
			t.Fatal(err)
		}
		want := "(no static params: each path renders on its first request)"
		if !dp {
			want = "(no static params: every path is 404)"
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("dynamicParams %v: table\n%s\nwant %q", dp, b.String(), want)
		}
	}
}

// TestCacheLifeExpire: a route using cache profiles shows the lowest
// profile expire in the table and in --json, and the stale in --json.
func TestCacheLifeExpire(t *testing.T) {
	spec, err := sitespec.Parse("site.yaml", []byte(`
segments:
  /news:
    page:
      cacheLife: hours
      fetches:
        - {url: /api/news, cacheLife: minutes}
  /about:
    page: {revalidate: 60}
`))
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(sitespec.Options{Sleep: noSleep})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	var table, js bytes.Buffer
	if err := routetable.Write(&table, "t", e.Routes()); err != nil {
		t.Fatal(err)
	}
	if err := routetable.WriteJSON(&js, e.Routes()); err != nil {
		t.Fatal(err)
	}
	var news, about string
	for _, line := range strings.Split(table.String(), "\n") {
		switch {
		case strings.Contains(line, "/news"):
			news = strings.Join(strings.Fields(line), " ")
		case strings.Contains(line, "/about"):
			about = strings.Join(strings.Fields(line), " ")
		}
	}
	if !strings.Contains(news, "/news 1m 1h ") {
		t.Errorf("table row %q; want revalidate 1m, expire 1h\n%s", news, table.String())
	}
	if !strings.Contains(about, "/about 1m 1y ") {
		t.Errorf("table row %q; want revalidate 1m, expire 1y (Options.Expire)\n%s", about, table.String())
	}
	if !strings.Contains(js.String(), `{"route":"/news","kind":"isr","revalidate":60,"expire":3600,"stale":300,`) {
		t.Errorf("JSON\n%s\nwant /news with expire 3600 and stale 300", js.String())
	}
	if strings.Contains(js.String(), `"/about","kind":"isr","revalidate":60,"expire":31536000,"stale"`) {
		t.Errorf("JSON\n%s\nwant no stale for /about", js.String())
	}
}
