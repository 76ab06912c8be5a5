package sitespec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/engine"
)

const holesSpec = `
segments:
  /:
    layout:
      fetches: [{url: /api/nav, tags: [nav]}]
      holes:
        - name: user-menu
          uses: [cookies]
          cost: 5ms
          fetches:
            - {url: /api/me, cache: no-store}
  /shop:
    page:
      revalidate: 60
      holes:
        - {name: cart, uses: [cookies]}
`

// TestHolesSpec serves a spec with holes over real HTTP: the route is
// partial, its shell is rendered once, and each request's holes show its
// own cookies in <div data-hole>.
func TestHolesSpec(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(holesSpec))
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(Options{Sleep: noSleep})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if pol, _ := e.Policy("/shop"); !pol.Partial() || pol.Kind != engine.ISR || !cmp.Equal(pol.Holes, []string{"user-menu", "cart"}) {
		t.Errorf("policy %v holes %v; want a partial ISR route with user-menu and cart", pol.Kind, pol.Holes)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	for i, user := range []string{"ann", "bob"} {
		req, _ := http.NewRequest("GET", srv.URL+"/shop", nil)
		req.Header.Set("Cookie", "session="+user)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := `<div data-layout="/">
<pre data-fetch="/api/nav">{"url":"/api/nav","version":1}</pre>
<div data-hole="user-menu">
<p data-cookie="session">` + user + `</p>
<pre data-fetch="/api/me">{"url":"/api/me","version":1}</pre>
</div>
<main data-page="/shop">
<div data-hole="cart">
<p data-cookie="session">` + user + `</p>
</div>
</main>
</div>
`
		status := map[bool]string{true: "MISS", false: "HIT"}[i == 0]
		if diff := cmp.Diff(want, string(b)); diff != "" || res.Header.Get("X-Cache-Status") != status {
			t.Errorf("GET /shop as %s: %s; want %s; body (-want +got):\n%s", user, res.Header.Get("X-Cache-Status"), status, diff)
		}
	}
	if got := built.Origin.Calls(); got != 3 {
		t.Errorf("origin calls = %d; want 3 (the shell's nav once, the hole's uncached /api/me twice)", got)
	}
}

// TestHolesFormat: Format writes holes back as Parse reads them.
func TestHolesFormat(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(holesSpec))
	if err != nil {
		t.Fatal(err)
	}
	out, err := spec.Format()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("site.yaml", out)
	if err != nil {
		t.Fatalf("Parse(Format()): %v\n%s", err, out)
	}
	if diff := cmp.Diff(spec, back); diff != "" {
		t.Errorf("Parse(Format()) mismatch (-want +got):\n%s\n%s", diff, out)
	}
}
