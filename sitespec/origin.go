package sitespec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/internal/clock"
)

// Origin is a synthetic origin: it answers any URL after its latency with a
// JSON body naming the URL and the version of its content,
// {"url":"/api/products/shoe","version":1}.
//
// A URL's version is 1, plus one for each PublishURL of it, plus one for
// each Publish of each tag it carries. The origin learns which tags a URL
// carries from the requests it serves: the Tags of each fetchcache.Request,
// with their {param} placeholders already filled in. So Publish("products")
// makes a new version of every URL fetched with the tag "products", the ones
// fetched so far and the ones fetched later (which no one held an older
// version of).
//
// The origin's memory is bounded under a flood of new URLs: a URL's version
// is computed from counts kept per tag published and per URL passed to
// PublishURL or SetStatus, which only grow with what the caller names, and
// the tags it learned are remembered for the maxURLs (4096) URLs fetched
// with tags most recently. A URL it forgot answers the same version as
// before when fetched with its tags (a fetch always carries the tags its
// spec declares); only a fetch without tags, or Version, of a forgotten
// URL leaves out the publishes of its tags.
//
// Set Latency and Sleep before the first Fetch. The zero Origin answers at
// once. An Origin is safe for concurrent use.
type Origin struct {
	// Latency is how long each answer takes.
	Latency time.Duration
	// Sleep waits out the latency. If nil, a timer that honors ctx is used.
	Sleep func(ctx context.Context, d time.Duration) error

	calls atomic.Int64

	mu        sync.Mutex                       // protects the fields below
	tags      *simplelru.LRU[string, []string] // URL → the tags it was fetched with; nil until the first tagged fetch
	published map[string]int64                 // tag → Publish calls that named it
	versions  map[string]int64                 // URL → PublishURL calls that named it
	status    map[string]int                   // URL → status to answer instead of 200
}

// maxURLs bounds the URLs whose tags an Origin remembers.
const maxURLs = 4096

// maxURLTags bounds the tags an Origin remembers for one URL: the first
// ones it was fetched with (Next.js allows 128 per fetch).
const maxURLTags = 128

var _ fetchcache.Fetcher = (*Origin)(nil)

// Fetch answers req after the origin's latency. Its tags are recorded
// before the wait; the version is read after it, so a Publish during the
// wait shows in the answer. Only a canceled ctx fails a Fetch.
func (o *Origin) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	o.calls.Add(1)
	if len(req.Tags) > 0 {
		o.mu.Lock()
		o.learnLocked(req.URL, req.Tags)
		o.mu.Unlock()
	}

	if err := clock.SleepVia(ctx, o.Sleep, o.Latency); err != nil {
		return nil, err
	}

	o.mu.Lock()
	version := o.versionLocked(req.URL, req.Tags)
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

// learnLocked records that url carries tags, marking it recently fetched,
// and forgets the tags of the URL fetched least recently beyond maxURLs.
func (o *Origin) learnLocked(url string, tags []string) {
	if o.tags == nil {
		lru, err := simplelru.NewLRU[string, []string](maxURLs, nil)
		if err != nil {
			panic(err) // unreachable: the size is positive
		}
		o.tags = lru
	}
	known, ok := o.tags.Get(url)
	if !ok {
		url = strings.Clone(url)
	}
	var add []string
	for _, t := range tags {
		if len(known)+len(add) < maxURLTags && !slices.Contains(known, t) && !slices.Contains(add, t) {
			add = append(add, t)
		}
	}
	if len(add) > 0 || !ok {
		// A new slice: the request's, or one an answer is being computed
		// from, is never written to.
		o.tags.Add(url, slices.Concat(known, add))
	}
}

// versionLocked returns url's version for a fetch with tags.
func (o *Origin) versionLocked(url string, tags []string) int64 {
	v := 1 + o.versions[url]
	if len(o.published) == 0 {
		return v
	}
	var known []string
	if o.tags != nil {
		known, _ = o.tags.Peek(url)
	}
	for _, t := range known {
		v += o.published[t]
	}
	for _, t := range tags {
		if !slices.Contains(known, t) {
			v += o.published[t]
		}
	}
	return v
}

// Publish makes a new version of every URL fetched with one of tags, before
// or after the Publish. A URL that carries several of tags gets one new
// version per tag.
func (o *Origin) Publish(tags ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.published == nil {
		o.published = map[string]int64{}
	}
	for _, t := range tags {
		o.published[t]++
	}
}

// PublishURL makes a new version of url.
func (o *Origin) PublishURL(url string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.versions == nil {
		o.versions = map[string]int64{}
	}
	o.versions[url]++
}

// Version returns the version of url's content that a fetch of url without
// tags would answer now: 1 until it is published.
func (o *Origin) Version(url string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.versionLocked(url, nil)
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
