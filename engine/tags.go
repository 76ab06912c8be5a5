package engine

import (
	"fmt"
	"slices"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routecache"
)

// entryTags returns the tags of path's entry: the tags its fetches declared,
// then the route's implicit tags, then the path's own.
func (e *Engine) entryTags(rt *route, path string, res *render.Result) ([]string, error) {
	tags := make([]string, 0, 8)
	for _, f := range res.Record.Fetches {
		for _, t := range f.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	// The limits apply to the tags fetches declare, not to the implicit
	// ones, which any path up to MaxPathLen must be able to carry.
	if err := regen.ValidateTags(tags); err != nil {
		return nil, fmt.Errorf("engine: route %q: %w", rt.pattern, err)
	}
	tags = append(tags, rt.tags...)
	tags = append(tags, routecache.TagPrefix+path)
	return tags, nil
}
