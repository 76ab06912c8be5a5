package redis

import (
	"testing"

	"github.com/regen-dev/regen"
)

// TestSameInstantRevalidation: a revalidation made at the same clock
// reading as the render before it (the cluster's clock does not move here)
// still follows it, on the instance that rendered and on another one: the
// page is STALE, then regenerated.
func TestSameInstantRevalidation(t *testing.T) {
	c := newCluster(t, 2, false, true)
	expect(t, "GET", get(c.nodes[0].eng, "/posts/a"), "MISS", "post a v1")
	c.version.Store(2)
	if err := c.nodes[0].eng.RevalidateTag(t.Context(), "posts", regen.RevalidateStale); err != nil {
		t.Fatal(err)
	}
	expect(t, "GET after the revalidation", get(c.nodes[0].eng, "/posts/a"), "STALE", "post a v1")
	expect(t, "GET after the regeneration", get(c.nodes[0].eng, "/posts/a"), "HIT", "post a v2")

	// The other instance, at the same clock reading.
	expect(t, "other instance GET", get(c.nodes[1].eng, "/posts/b"), "MISS", "post b v2")
	c.version.Store(3)
	if err := c.nodes[1].eng.RevalidateTag(t.Context(), "posts", regen.RevalidateStale); err != nil {
		t.Fatal(err)
	}
	expect(t, "other instance GET after its revalidation", get(c.nodes[1].eng, "/posts/b"), "STALE", "post b v2")
}
