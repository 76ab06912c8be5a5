package main

import (
	"testing"

	"github.com/regen-dev/regen/internal/redistest"
)

// TestServeRedis runs two instances of regen serve on one Redis: a page one
// renders is a HIT on the other.
func TestServeRedis(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	rs := redistest.Start(t)
	args := []string{"--redis", rs.URL(), "--redis-prefix", "cmdtest"}
	base1, stop1, status1 := startServe(t, args...)
	base2, stop2, status2 := startServe(t, args...)

	resp, _ := get(t, base1+"/products/sneakers", nil)
	if got := resp.Header.Get("X-Cache-Status"); got != "MISS" {
		t.Errorf("GET /products/sneakers on the first instance = %s; want MISS", got)
	}
	resp, body := get(t, base2+"/products/sneakers", nil)
	if got := resp.Header.Get("X-Cache-Status"); got != "HIT" {
		t.Errorf("GET /products/sneakers on the second instance = %s; want HIT (rendered by the first)", got)
	}
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Errorf("GET on the second instance = %d with %d bytes", resp.StatusCode, len(body))
	}

	stop1()
	stop2()
	if got1, got2 := <-status1, <-status2; got1 != 0 || got2 != 0 {
		t.Errorf("regen serve after cancel = %d, %d; want 0, 0", got1, got2)
	}
}
