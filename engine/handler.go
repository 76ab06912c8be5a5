package engine

import (
	"context"
	"io"

	"github.com/regen-dev/regen/render"
)

// handlerRender is a route handler's render: it sets the handler's
// Content-Type before the user's render runs, so a Content-Type the render
// sets itself (Scope.SetHeader) replaces it. The engine stores the header
// with the entry and replays it on HIT and STALE like any render's.
type handlerRender struct {
	contentType string
	render      render.Page
}

func (h handlerRender) Render(ctx context.Context, s *render.Scope, w io.Writer) error {
	s.SetHeader("Content-Type", h.contentType)
	return h.render.Render(ctx, s, w)
}
