package regentest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/regen-dev/regen/fetchcache"
)

// Origin is a stub origin for a site's fetches: a body per URL, a count of
// the calls each URL received, and URLs made to fail or hang. The zero value
// answers 404 for every URL; an Origin is safe for concurrent use.
//
// Use it as the engine's Fetcher (a Harness does); URLs are matched as the
// fetch gives them, relative or absolute.
type Origin struct {
	mu    sync.Mutex
	urls  map[string]*stub
	calls map[string]int
}

type stub struct {
	status int
	body   []byte
	header http.Header
	fail   error // the call fails with it
	hang   bool  // the call waits for its context
}

// ErrOriginDown is the error of a URL made to fail with Fail.
var ErrOriginDown = errors.New("regentest: origin down")

// NewOrigin returns an empty Origin.
func NewOrigin() *Origin { return &Origin{} }

func (o *Origin) stub(url string) *stub {
	if o.urls == nil {
		o.urls = map[string]*stub{}
	}
	s := o.urls[url]
	if s == nil {
		s = &stub{status: http.StatusOK}
		o.urls[url] = s
	}
	return s
}

// Set makes url answer 200 with body (and no longer fail or hang).
func (o *Origin) Set(url, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stub(url)
	s.status, s.body, s.fail, s.hang = http.StatusOK, []byte(body), nil, false
}

// SetStatus makes url answer status with body; the Data Cache stores only
// 2xx answers.
func (o *Origin) SetStatus(url string, status int, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stub(url)
	s.status, s.body, s.fail, s.hang = status, []byte(body), nil, false
}

// Fail makes every call to url fail with ErrOriginDown until Set or
// Recover.
func (o *Origin) Fail(url string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stub(url).fail = ErrOriginDown
}

// Hang makes every call to url wait for its context to end (the fetch
// timeout, or the render's deadline) until Set or Recover.
func (o *Origin) Hang(url string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stub(url).hang = true
}

// Recover undoes Fail and Hang for url: it answers as last Set.
func (o *Origin) Recover(url string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stub(url)
	s.fail, s.hang = nil, false
}

// Calls returns how many fetches of url reached the origin.
func (o *Origin) Calls(url string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[url]
}

// Fetch answers req: it makes Origin a fetchcache.Fetcher.
func (o *Origin) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	o.mu.Lock()
	if o.calls == nil {
		o.calls = map[string]int{}
	}
	o.calls[req.URL]++
	s, ok := o.urls[req.URL]
	var st stub
	if ok {
		st = *s
	}
	o.mu.Unlock()
	switch {
	case !ok:
		return &fetchcache.Response{Status: http.StatusNotFound, Body: fmt.Appendf(nil, "regentest: no body set for %s", req.URL)}, nil
	case st.hang:
		<-ctx.Done()
		return nil, ctx.Err()
	case st.fail != nil:
		return nil, st.fail
	}
	return &fetchcache.Response{Status: st.status, Header: st.header, Body: st.body}, nil
}
