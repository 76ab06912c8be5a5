package engine

import (
	"net/http"
	"testing"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
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
