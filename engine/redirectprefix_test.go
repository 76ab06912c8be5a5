package engine

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/regen-dev/regen/render"
)

// TestHTTPRenderRedirectUnderPrefix: a render's redirect to a path of the
// site gets the path the site is served under (the base path, or what
// http.StripPrefix removed), on a MISS and on a HIT, as Next.js puts
// basePath in front of redirect() destinations; an absolute URL is kept.
func TestHTTPRenderRedirectUnderPrefix(t *testing.T) {
	site := func() *Site {
		var s Site
		s.Page("/old", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			return render.Redirect("/new", true)
		})})
		s.Page("/away", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			return render.Redirect("https://example.com/x", false)
		})})
		return &s
	}
	based := newEngine(t, site(), Options{BasePath: "/docs", Logger: discard})
	stripped := newEngine(t, site(), Options{Logger: discard})
	mux := http.NewServeMux()
	mux.Handle("/site/", http.StripPrefix("/site", stripped))
	for _, tt := range []struct {
		h            http.Handler
		target, want string
		code         int
	}{
		{based, "/docs/old", "/docs/new", 308},
		{mux, "/site/old", "/site/new", 308},
		{based, "/docs/away", "https://example.com/x", 307},
	} {
		srv := serve(t, tt.h)
		for _, status := range []string{"MISS", "HIT"} {
			r := rawGet(t, srv, tt.target)
			if r.code != tt.code || r.header.Get("Location") != tt.want || r.header.Get("X-Cache-Status") != status {
				t.Errorf("GET %s = %d %s Location %q; want %d %s %q", tt.target, r.code, r.header.Get("X-Cache-Status"), r.header.Get("Location"), tt.code, status, tt.want)
			}
		}
	}
}
