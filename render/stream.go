package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
)

// Stream receives a render's output while the render runs, so that the
// first bytes of a page reach the client before its last are written.
//
// A render holds its output until the page (the last segment) writes its
// first byte, or a segment flushes its writer (the writer a segment gets
// implements http.Flusher). Then it calls Start with the status and headers
// set so far and what the render revealed so far, writes everything held,
// and from then on writes its output as it goes: when a segment returns,
// when a layout starts its child, when a segment flushes, and whenever 4 KiB
// are waiting. A render that ends before either never calls Start: its
// Result is written whole.
//
// Once started, the response's status and headers are fixed: a status or
// header set later, or a notFound() whose not-found page replaces output
// already held, changes the Result (which a cache stores) but not the
// stream. When the render must take back bytes already sent (a redirect, or
// a notFound() replacing output that has left), it stops writing to the
// stream and reports StreamedPart: the caller must end the response
// abnormally (panic(http.ErrAbortHandler) closes the connection), never
// complete it. A render that fails after Start returns its error as any
// other; the stream then holds a part only, too.
//
// Start, Write and Flush are called from the goroutine running the segment
// that writes, one at a time.
type Stream interface {
	Start(status int, header http.Header, rec *Record)
	Write(p []byte) (int, error)
	Flush() error
}

// Streamed says what a Job's Stream received of the Result.
type Streamed uint8

const (
	// NotStreamed: Start was never called; the Result is to be written whole.
	NotStreamed Streamed = iota
	// StreamedAll: the stream received all of Body, after the status and
	// headers given to Start.
	StreamedAll
	// StreamedPart: the stream received a part of the output only; the
	// response must be ended abnormally.
	StreamedPart
)

// streamChunk is how many held bytes make a started render write them out.
const streamChunk = 4 << 10

// state is one render's output: everything written, of which the stream,
// once started, has received out[:sent].
type state struct {
	job *Job
	rec *recorder
	out bytes.Buffer

	stream  Stream // nil: the output is only held
	started bool
	broken  bool // the stream stopped: it has a part only
	sent    int

	notFound   bool   // a not-found page or NotFoundBody replaced a segment's output
	redirectBy string // the segment that redirected, for messages
	// caught[i] reports whether a layout at or above segment i has a
	// not-found page.
	caught []bool
}

func newState(job *Job, rec *recorder) *state {
	st := &state{job: job, rec: rec, stream: job.Stream, caught: make([]bool, len(job.Segments))}
	for i, seg := range job.Segments {
		st.caught[i] = seg.NotFound != nil && seg.Kind == LayoutSegment || i > 0 && st.caught[i-1]
	}
	return st
}

// sub is a state for a child rendered into a writer of its layout's own:
// it holds the child's output, never streaming, for the layout to write.
func (st *state) sub() *state {
	return &state{job: st.job, rec: st.rec, caught: st.caught}
}

// run renders segment i, and through its child everything below it.
func (st *state) run(ctx context.Context, i int) error {
	seg := st.job.Segments[i]
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("render: route %q: %s: %w", st.job.Route, seg, err)
	}
	s := &Scope{rec: st.rec, seg: seg, name: seg.String()}
	if seg.Kind == LayoutSegment && seg.Layout == nil {
		// Passes its child through, catching notFound() if it has a page.
		c := &child{st: st, i: i, s: s}
		return c.render(ctx, nil)
	}
	w := &segWriter{st: st, page: seg.Kind == PageSegment}
	var c *child
	if seg.Kind == LayoutSegment {
		c = &child{st: st, i: i, s: s, w: w}
	}
	err := runSegment(ctx, s, w, c)
	w.done = true
	if c != nil {
		c.done = true
		switch {
		case c.err != nil:
			return c.err // already named; the layout cannot hide it
		case err == nil && !c.called:
			err = errors.New("did not render its child (call child.Render once, where the page goes)")
		}
	}
	if err == nil {
		st.flushIfStarted()
		return nil
	}
	return st.segmentError(seg, err)
}

// segmentError names the route and segment in err, but for the errors that
// travel up the layouts as they are.
func (st *state) segmentError(seg Segment, err error) error {
	if re := (*RedirectError)(nil); errors.As(err, &re) {
		if st.redirectBy == "" {
			st.redirectBy = seg.String()
		}
		return re
	}
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf("render: route %q: %s: %w", st.job.Route, seg, err)
}

// child is the Child of the layout at segment i.
type child struct {
	st     *state
	i      int
	s      *Scope     // the layout's scope: its not-found page renders under it
	w      *segWriter // the writer the layout was given; nil for a pass-through
	called bool       // Render was called
	done   bool       // the layout has returned
	err    error      // what Render returned that the layout must not hide
}

func (c *child) Render(ctx context.Context, w io.Writer) error {
	switch {
	case c.done:
		return fmt.Errorf("render: route %q: %s: child rendered after the layout returned", c.st.job.Route, c.s.name)
	case c.called:
		c.err = fmt.Errorf("render: route %q: %s: child rendered twice", c.st.job.Route, c.s.name)
		return c.err
	}
	c.called = true
	if sw, ok := w.(*segWriter); ok && sw == c.w {
		return c.render(ctx, nil)
	}
	return c.render(ctx, w)
}

// render renders the segments below the layout into the layout's output,
// or into to when the layout gave a writer of its own, and catches a
// notFound() below when the layout has a not-found page, or when no layout
// above has one and the segment below is the one that called it.
func (c *child) render(ctx context.Context, to io.Writer) error {
	st := c.st
	if to != nil {
		st = st.sub()
	}
	st.flushIfStarted() // the layout's head leaves before its child renders
	mark := st.out.Len()
	err := st.run(ctx, c.i+1)
	if st != c.st && c.st.redirectBy == "" {
		c.st.redirectBy = st.redirectBy
	}
	if errors.Is(err, ErrNotFound) {
		seg := st.job.Segments[c.i]
		if nf := seg.NotFound; nf != nil || !st.caught[c.i] {
			st.rewind(mark)
			st.notFound = true
			c.st.notFound = true
			if nf == nil {
				st.out.WriteString(NotFoundBody)
				err = nil
			} else {
				err = st.runNotFound(ctx, seg, nf)
			}
		}
	}
	if to != nil && err == nil {
		if _, werr := to.Write(st.out.Bytes()); werr != nil {
			err = fmt.Errorf("render: route %q: %s: writing its child: %w", st.job.Route, c.s.name, werr)
		}
	}
	if err != nil {
		c.err = err
	}
	return err
}

// runNotFound renders seg's not-found page in place of its child.
func (st *state) runNotFound(ctx context.Context, seg Segment, nf Page) error {
	s := &Scope{rec: st.rec, seg: Segment{Kind: PageSegment, Path: seg.Path, Page: nf, Name: "not-found " + seg.Path}}
	s.name = s.seg.Name
	w := &segWriter{st: st}
	err := runSegment(ctx, s, w, nil)
	w.done = true
	if err == nil {
		return nil
	}
	// A not-found page that calls notFound() hands it to the boundary
	// above, as segmentError returns it.
	return st.segmentError(s.seg, err)
}

// rewind drops the output from mark on. Output that has left cannot be
// taken back: the stream then stops, with a part only.
func (st *state) rewind(mark int) {
	if st.started && mark < st.sent {
		st.breakStream()
	}
	st.out.Truncate(mark)
}

// breakStream stops writing to a started stream: it has a part only.
func (st *state) breakStream() {
	if st.started {
		st.broken = true
	}
}

// start starts the stream, if the render has one and has not already
// failed (a violation of error mode, a header it may not set), in which
// case its error is still to be answered.
func (st *state) start() {
	if st.stream == nil || st.started || st.rec.failed() {
		return
	}
	st.started = true
	rec := st.rec.record()
	status, header := st.rec.response()
	if st.notFound {
		status = http.StatusNotFound
	}
	st.stream.Start(status, header, &rec)
}

// flush writes out what the stream lacks.
func (st *state) flush() {
	if !st.started || st.broken || st.sent == st.out.Len() {
		return
	}
	b := st.out.Bytes()[st.sent:]
	st.sent = st.out.Len()
	if _, err := st.stream.Write(b); err != nil {
		st.broken = true // the client is gone; the render goes on for the cache
		return
	}
	if err := st.stream.Flush(); err != nil {
		st.broken = true
	}
}

func (st *state) flushIfStarted() {
	if st.started {
		st.flush()
	}
}

// finish writes the rest of a started stream and says what it received.
func (st *state) finish() Streamed {
	st.flush()
	return st.streamed()
}

// streamed says what the stream received.
func (st *state) streamed() Streamed {
	switch {
	case !st.started:
		return NotStreamed
	case st.broken:
		return StreamedPart
	}
	return StreamedAll
}

// segWriter is the writer a segment renders into.
type segWriter struct {
	st   *state
	page bool // the route's page: its first byte starts the stream
	done bool // the segment returned
}

var errWriterDone = errors.New("render: write after the segment returned")

func (w *segWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errWriterDone
	}
	st := w.st
	st.out.Write(p)
	switch {
	case !st.started && w.page && len(p) > 0 && st.stream != nil:
		st.start()
		st.flush()
	case st.started && st.out.Len()-st.sent >= streamChunk:
		st.flush()
	}
	return len(p), nil
}

// Flush starts the stream, if the render has one, and writes out
// everything written so far. Once it has, the response's status and
// headers are fixed.
func (w *segWriter) Flush() {
	if w.done {
		return
	}
	w.st.start()
	w.st.flush()
}

// runSegment renders one segment into w, turning a panic into a *PanicError.
func runSegment(ctx context.Context, s *Scope, w io.Writer, c *child) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Segment: s.name, Value: v, Stack: debug.Stack()}
		}
	}()
	if s.seg.Kind == PageSegment {
		return s.seg.Page.Render(ctx, s, w)
	}
	return s.seg.Layout.Render(ctx, s, w, c)
}
