package engine

import (
	"net/http"
)

// htmlType is the Content-Type of a render that sets none.
var htmlType = []string{"text/html; charset=utf-8"}

// engineHeaders are the headers the engine sets on every response it
// writes from a render or an entry: a render's own values for them are
// dropped, and the engine's win.
var engineHeaders = [...]string{"Cache-Control", "Etag", "Content-Length", "X-Cache-Status", "Cache-Status"}

// renderHeader returns the headers of a render's response before the
// engine adds its own: those the render set (Scope.SetHeader, a redirect's
// Location) but the engine's, and Content-Type text/html when the render
// set none. The result is a new map with room for the engine's headers.
func renderHeader(header http.Header) http.Header {
	h := make(http.Header, len(header)+len(engineHeaders))
	for k, v := range header {
		h[k] = v
	}
	for _, k := range engineHeaders {
		delete(h, k)
	}
	if len(h["Content-Type"]) == 0 {
		h["Content-Type"] = htmlType
	}
	return h
}
