package engine

import "slices"

// DeclaredFetches returns the fetches the segments of the route registered
// at pattern declare (Layout.Fetches and Page.Fetches), root first, their
// URLs with {param} placeholders as registered; nil for an unknown pattern.
// Tools that check renders against declarations (regentest) read it.
func (e *Engine) DeclaredFetches(pattern string) []Fetch {
	r, ok := e.byPattern[pattern]
	if !ok {
		return nil
	}
	var out []Fetch
	for _, s := range r.segs {
		for _, f := range s.fetches {
			f.Tags = slices.Clone(f.Tags)
			out = append(out, f)
		}
	}
	return out
}
