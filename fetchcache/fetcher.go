package fetchcache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// maxBodyBytes bounds the response bodies the default Fetcher reads.
const maxBodyBytes = 32 << 20

// httpFetcher is the default Fetcher: it sends requests with an http.Client
// and reads whole response bodies, up to maxBody bytes.
type httpFetcher struct {
	client  *http.Client
	maxBody int64
}

var _ Fetcher = httpFetcher{}

func (f httpFetcher) Fetch(ctx context.Context, req *Request) (*Response, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, err
	}
	if req.Header != nil {
		hr.Header = req.Header.Clone()
	}
	resp, err := f.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > f.maxBody {
		return nil, fmt.Errorf("response body larger than %d bytes", f.maxBody)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}
