package engine

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen/render"
)

// TestAbandonedRenderDoesNotOverwrite: a MISS render that ignores its
// deadline is abandoned, and the next request's render stores a newer
// entry; when the abandoned render returns at last, it must not replace
// that entry with its older page.
func TestAbandonedRenderDoesNotOverwrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var renders atomic.Int32
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				if renders.Add(1) == 1 {
					<-release // ignores ctx
					_, err := io.WriteString(w, "old")
					return err
				}
				_, err := io.WriteString(w, "new")
				return err
			})})
		e := newEngine(t, &site, Options{RenderTimeout: time.Second, Logger: discard})
		if r := get(e, "/x"); r.code != http.StatusGatewayTimeout {
			t.Fatalf("stuck render: %d; want 504", r.code)
		}
		if r := get(e, "/x"); r.code != 200 || r.body != "new" {
			t.Fatalf("next request: %d %q; want 200 new", r.code, r.body)
		}
		close(release)
		synctest.Wait()
		if r := get(e, "/x"); r.code != 200 || r.status != "HIT" || r.body != "new" {
			t.Fatalf("after the abandoned render returned: %d %s %q; want 200 HIT new", r.code, r.status, r.body)
		}
	})
}
