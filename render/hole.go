package render

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
)

// Holes (partial prerendering): a segment marks where a hole goes in its
// output, and the hole's content is rendered per request, apart from the
// render, by whoever serves the output (the engine, which knows each route's
// holes). What a hole reads and fetches is its own: it does not enter the
// Record of the render that placed it, and so does not make the route
// dynamic, and its data's tags do not attach to the render's entry.

// HoleAt is a hole placed in a Result's Body: its content goes at Offset.
type HoleAt struct {
	Name   string
	Offset int // in Body, where the hole's content goes
}

// Hole writes to w the place of the hole name: nothing shows of it in the
// Result's Body, and Result.Holes says where it goes. name must be one of
// the holes the route declares (the engine fails the render otherwise). w
// is the writer the segment was given, or one its output reaches.
//
//	io.WriteString(w, "<header>")
//	s.Hole(w, "user-menu") // rendered per request; the rest is cached
//	io.WriteString(w, "</header>")
func (s *Scope) Hole(w io.Writer, name string) error {
	_, err := io.WriteString(w, s.rec.holeMarker(name))
	return err
}

// holeMarker returns the marker of the hole name in this render's output:
// an HTML comment with a random nonce of the render's, which no content
// can guess.
func (r *recorder) holeMarker(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holeNonce == "" {
		r.holeNonce = "<!--regen-hole " + strconv.FormatUint(rand.Uint64(), 36) + " "
	}
	return r.holeNonce + name + "-->"
}

// cutHoles removes the hole markers of the render from body and returns
// where each hole goes.
func (r *recorder) cutHoles(body []byte) ([]byte, []HoleAt) {
	r.mu.Lock()
	prefix := r.holeNonce
	r.mu.Unlock()
	if prefix == "" || !bytes.Contains(body, []byte(prefix)) {
		return body, nil
	}
	out := make([]byte, 0, len(body))
	var holes []HoleAt
	for {
		i := bytes.Index(body, []byte(prefix))
		if i < 0 {
			break
		}
		end := bytes.Index(body[i+len(prefix):], []byte("-->"))
		if end < 0 {
			break
		}
		out = append(out, body[:i]...)
		holes = append(holes, HoleAt{Name: string(body[i+len(prefix) : i+len(prefix)+end]), Offset: len(out)})
		body = body[i+len(prefix)+end+len("-->"):]
	}
	return append(out, body...), holes
}
