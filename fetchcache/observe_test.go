package fetchcache_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
)

// TestMetrics: each Fetch counts by how the Data Cache answered, each
// origin call by its result, on virtual time.
func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		origin := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
			switch {
			case strings.HasSuffix(req.URL, "/down"):
				return nil, errors.New("connection refused")
			case strings.HasSuffix(req.URL, "/slow"):
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return &fetchcache.Response{Status: 200, Body: []byte("ok")}, nil
		})
		c := fetchcache.New(fetchcache.Options{Fetcher: origin, Metrics: reg, Timeout: time.Second})
		defer c.Close()
		ctx := context.Background()
		fetch := func(url string, rev regen.Revalidate) {
			t.Helper()
			_, _, _ = c.Fetch(ctx, &fetchcache.Request{URL: url, Revalidate: rev}, fetchcache.Call{Now: time.Now()})
		}
		fetch("https://api/a", regen.Seconds(60)) // miss: origin ok
		fetch("https://api/a", regen.Seconds(60)) // hit
		time.Sleep(time.Minute)
		fetch("https://api/a", regen.Seconds(60)) // stale: refreshed in the background, origin ok
		synctest.Wait()
		fetch("https://api/a", regen.Never)          // bypass: origin ok
		fetch("https://api/down", regen.Seconds(60)) // miss: origin error
		fetch("https://api/slow", regen.Seconds(60)) // miss: origin timeout
		synctest.Wait()

		want := `
# HELP regen_data_cache_requests_total Fetches and memoized calls made while rendering, by how the Data Cache answered them: hit (fresh), stale (served while refreshing), miss (waited for the origin), bypass (uncached).
# TYPE regen_data_cache_requests_total counter
regen_data_cache_requests_total{cache="bypass"} 1
regen_data_cache_requests_total{cache="hit"} 1
regen_data_cache_requests_total{cache="miss"} 3
regen_data_cache_requests_total{cache="stale"} 1
# HELP regen_origin_fetches_total Calls to the origin (fetches and memoized functions), by result: ok, error (an error or a non-2xx answer), timeout.
# TYPE regen_origin_fetches_total counter
regen_origin_fetches_total{result="error"} 1
regen_origin_fetches_total{result="ok"} 3
regen_origin_fetches_total{result="timeout"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "regen_data_cache_requests_total", "regen_origin_fetches_total"); err != nil {
			t.Error(err)
		}
		if got := testutil.CollectAndCount(reg, "regen_origin_fetch_duration_seconds"); got != 1 {
			t.Errorf("regen_origin_fetch_duration_seconds series = %d; want 1", got)
		}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "regen_origin_fetch_duration_seconds" {
				if diff := cmp.Diff(uint64(5), mf.GetMetric()[0].GetHistogram().GetSampleCount()); diff != "" {
					t.Errorf("origin calls timed (-want +got):\n%s", diff)
				}
			}
		}
	})
}
