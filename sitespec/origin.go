package sitespec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/fetchcache"
)

// Origin is a synthetic origin: it answers any URL after its latency with a
// JSON body naming the URL and the version of its content,
// {"url":"/api/products/shoe","version":1}. Every URL starts at version 1;
// Publish and PublishURL make new versions.
//
// The origin learns which URLs carry a tag from the requests it serves: the
// Tags of each fetchcache.Request, with their {param} placeholders already
// filled in. So Publish("products") reaches the URLs fetched so far with the
// tag "products", which are the only ones whose old versions anything holds.
//
// Set Latency and Sleep before the first Fetch. The zero Origin answers at
// once. An Origin is safe for concurrent use.
type Origin struct {
	// Latency is how long each answer takes.
	Latency time.Duration
	// Sleep waits out the latency. If nil, a timer that honors ctx is used.
	Sleep func(ctx context.Context, d time.Duration) error

	calls atomic.Int64

	mu       sync.Mutex                     // protects the fields below
	versions map[string]int64               // URL → versions published after the first
	tagged   map[string]map[string]struct{} // tag → URLs fetched with it
	status   map[string]int                 // URL → status to answer instead of 200
}

var _ fetchcache.Fetcher = (*Origin)(nil)

// Fetch answers req after the origin's latency. Its tags are recorded for
// Publish before the wait; the version is read after it, so a Publish during
// the wait shows in the answer. Only a canceled ctx fails a Fetch.
func (o *Origin) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	o.calls.Add(1)
	o.mu.Lock()
	for _, t := range req.Tags {
		if o.tagged == nil {
			o.tagged = map[string]map[string]struct{}{}
		}
		urls := o.tagged[t]
		if urls == nil {
			urls = map[string]struct{}{}
			o.tagged[t] = urls
		}
		urls[req.URL] = struct{}{}
	}
	o.mu.Unlock()

	if err := sleep(ctx, o.Sleep, o.Latency); err != nil {
		return nil, err
	}

	o.mu.Lock()
	version := o.versions[req.URL] + 1
	status := o.status[req.URL]
	o.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	body, err := json.Marshal(struct {
		URL     string `json:"url"`
		Version int64  `json:"version"`
	}{req.URL, version})
	if err != nil {
		return nil, err
	}
	return &fetchcache.Response{
		Status: status,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   body,
	}, nil
}

// Publish makes a new version of every URL fetched so far with one of tags.
func (o *Origin) Publish(tags ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	bumped := map[string]bool{}
	for _, t := range tags {
		for u := range o.tagged[t] {
			if !bumped[u] {
				bumped[u] = true
				o.bumpLocked(u)
			}
		}
	}
}

// PublishURL makes a new version of url.
func (o *Origin) PublishURL(url string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bumpLocked(url)
}

func (o *Origin) bumpLocked(url string) {
	if o.versions == nil {
		o.versions = map[string]int64{}
	}
	o.versions[url]++
}

// Version returns the version of url's content: 1 until it is published.
func (o *Origin) Version(url string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.versions[url] + 1
}

// SetStatus makes the origin answer url with status instead of 200 OK, to
// simulate a failing origin; status 0 restores 200.
func (o *Origin) SetStatus(url string, status int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if status == 0 {
		delete(o.status, url)
		return
	}
	if o.status == nil {
		o.status = map[string]int{}
	}
	o.status[url] = status
}

// Calls returns the number of fetches the origin has been asked.
func (o *Origin) Calls() int64 { return o.calls.Load() }

// sleep waits d through f, or on a timer that honors ctx when f is nil.
func sleep(ctx context.Context, f func(context.Context, time.Duration) error, d time.Duration) error {
	if f != nil {
		return f(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxBody bounds the body of an HTTP response a Fetcher reads.
const maxBody = 64 << 20

// Fetcher sends fetches with relative URLs ("/api/nav") to Origin and makes
// real HTTP requests for absolute http:// and https:// URLs through Client
// (http.DefaultClient if nil). It answers every status as a Response; the
// Data Cache decides what a non-2xx status means. The zero Fetcher makes
// HTTP requests only. A Fetcher is safe for concurrent use.
type Fetcher struct {
	Origin *Origin
	Client *http.Client
}

var _ fetchcache.Fetcher = (*Fetcher)(nil)

// Fetch answers req from the origin or over HTTP.
func (f *Fetcher) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	switch {
	case isRelative(req.URL):
		if f.Origin == nil {
			return nil, fmt.Errorf("sitespec: fetch %q: no origin for relative URLs", req.URL)
		}
		return f.Origin.Fetch(ctx, req)
	case isHTTP(req.URL):
		return f.http(ctx, req)
	}
	return nil, fmt.Errorf("sitespec: fetch %q: not a relative URL nor an http:// or https:// one", req.URL)
}

func (f *Fetcher) http(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("sitespec: fetch %q: %w", req.URL, err)
	}
	if req.Header != nil {
		hreq.Header = req.Header.Clone()
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("sitespec: fetch %q: %w", req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("sitespec: fetch %q: reading body: %w", req.URL, err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("sitespec: fetch %q: body over %d bytes", req.URL, maxBody)
	}
	return &fetchcache.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func isRelative(u string) bool { return strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") }

func isHTTP(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}
