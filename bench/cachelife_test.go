package bench

import (
	"testing"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/sitespec"
)

// TestStrategiesDropCacheLife: a strategy that sets the revalidate drops
// the cache profiles it stands for, so a spec using profiles runs under
// every strategy (a segment with both would be a configuration error).
func TestStrategiesDropCacheLife(t *testing.T) {
	spec, err := sitespec.Parse("site.yaml", []byte(`
cacheLife:
  editorial: {stale: 300, revalidate: 600, expire: 86400}
segments:
  /:
    layout: {cacheLife: hours}
  /news:
    page:
      cacheLife: editorial
      fetches:
        - {url: /api/news, cacheLife: minutes}
  /feed.xml:
    handler: {cacheLife: days}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"declared", "ssg", "isr:60s", "ssr", "ssr+data"} {
		t.Run(name, func(t *testing.T) {
			s, err := ParseStrategy(name)
			if err != nil {
				t.Fatal(err)
			}
			built := s.apply(spec).Build(sitespec.Options{})
			e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
			if err != nil {
				t.Fatalf("engine.New under %s: %v", name, err)
			}
			e.Close()
		})
	}
}
