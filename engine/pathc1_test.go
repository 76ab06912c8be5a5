package engine

import (
	"context"
	"net/http"
	"testing"

	"github.com/regen-dev/regen"
)

// TestC1ControlInPath: a path holding a C1 control character (U+0080 to
// U+009F) is refused with 400 as a C0 one is: RevalidatePath refuses such a
// path as naming nothing the engine serves, so the engine must not serve
// and cache it either.
func TestC1ControlInPath(t *testing.T) {
	var site Site
	site.Page("/b/[slug]", Page{Revalidate: sec(60), Render: fetchPage("b", nil)})
	e := newEngine(t, &site, Options{Logger: discard})
	for _, p := range []string{"/b/%C2%85", "/b/a%C2%9Fb", "/b/%C2%80"} {
		if r := get(e, p); r.code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s; want 400", p, r.code, r.status)
		}
	}
	// The boundary: U+00A0 is not a control character.
	if r := get(e, "/b/%C2%A0"); r.code != 200 {
		t.Errorf("GET /b/%%C2%%A0: %d; want 200", r.code)
	}
	if err := e.RevalidatePath(context.Background(), "/b/\u0085", PagePath, regen.RevalidateStale); err == nil {
		t.Error("RevalidatePath of a C1 path: nil error; it refuses such paths")
	}
}
