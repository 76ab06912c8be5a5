package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// TestDynamicAfterClose: a dynamic route needs a render for every request,
// and a request that needs a render after Close is answered 503, as a MISS
// is: not rendered, nor answered 500 by a render whose origin calls the
// closed Data Cache cancels.
func TestDynamicAfterClose(t *testing.T) {
	o := newOrigin()
	var site Site
	site.Page("/me", Page{Dynamic: regen.ForceDynamic, Render: fetchPage("me", nil, fetchcache.Request{URL: "/api/me", Revalidate: sec(60)})})
	e := newEngine(t, &site, Options{Fetcher: o, Logger: discard})
	if r := get(e, "/me"); r.code != 200 || r.status != "BYPASS" {
		t.Fatalf("before Close: %d %s", r.code, r.status)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if r := get(e, "/me"); r.code != http.StatusServiceUnavailable {
		t.Errorf("dynamic route after Close: %d %s %q; want 503", r.code, r.status, r.body)
	}
}

// TestShutdownAnswers503: a request waiting for a render that Shutdown's
// deadline cancels is answered 503, as a request after Close is, not 500
// with the cancellation logged as a failed render.
func TestShutdownAnswers503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			})})
		var logs logBuffer
		e, err := New(&site, Options{RenderTimeout: time.Hour, Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		answer := make(chan response)
		go func() { answer <- get(e, "/x") }()
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
		if r := <-answer; r.code != http.StatusServiceUnavailable {
			t.Errorf("request whose render Shutdown canceled: %d; want 503", r.code)
		}
		if strings.Contains(logs.String(), "render failed") {
			t.Errorf("Shutdown's cancellation logged as a failed render:\n%s", logs.String())
		}
	})
}

// TestEngineErrNotFound: a page returning engine.ErrNotFound answers 404,
// cached, as one returning render.ErrNotFound does (they are one error).
func TestEngineErrNotFound(t *testing.T) {
	var site Site
	site.Page("/gone", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		return ErrNotFound
	})})
	e := newEngine(t, &site, Options{Logger: discard})
	if r := get(e, "/gone"); r.code != http.StatusNotFound || r.status != "MISS" {
		t.Fatalf("GET /gone = %d %s; want 404 MISS", r.code, r.status)
	}
	if r := get(e, "/gone"); r.code != http.StatusNotFound || r.status != "HIT" {
		t.Errorf("GET /gone again = %d %s; want the cached 404, HIT", r.code, r.status)
	}
}

// TestPrerenderKeepsGoing: a failing page does not stop the others; every
// failure is reported, in path order, each naming its path.
func TestPrerenderKeepsGoing(t *testing.T) {
	var site Site
	site.Page("/p/[n]", Page{
		StaticParams: []render.Params{{"n": "1"}, {"n": "2"}, {"n": "3"}, {"n": "4"}, {"n": "5"}},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			if n := s.Param("n"); n == "2" || n == "4" {
				return errors.New("broken " + n)
			}
			_, err := io.WriteString(w, "ok")
			return err
		})})
	e := newEngine(t, &site, Options{Logger: discard})
	got, err := e.Prerender(t.Context(), PrerenderOptions{Concurrency: 1})
	var paths []string
	for _, p := range got {
		paths = append(paths, p.Path)
	}
	if strings.Join(paths, " ") != "/p/1 /p/3 /p/5" {
		t.Errorf("rendered %v; want /p/1 /p/3 /p/5", paths)
	}
	want := "engine: prerender /p/2: render: route \"/p/[n]\": page /p/[n]: broken 2\nengine: prerender /p/4: render: route \"/p/[n]\": page /p/[n]: broken 4"
	if err == nil || err.Error() != want {
		t.Errorf("Prerender error =\n%v\nwant\n%s", err, want)
	}
	for _, p := range []string{"/p/1", "/p/3", "/p/5"} {
		if r := get(e, p); r.status != "HIT" {
			t.Errorf("GET %s after Prerender = %s; want HIT", p, r.status)
		}
	}
}
