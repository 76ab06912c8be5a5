package main

import (
	"flag"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/regen-dev/regen/internal/browsertest"
)

var screenshot = flag.String("screenshot", "", "write a PNG of the cache inspector of the demo site to `file` "+
	"(docs/inspector.png: go test ./cmd/regen -run TestInspectorScreenshot -screenshot $PWD/docs/inspector.png)")

// TestInspectorScreenshot takes the screenshot of the README: regen serve
// --admin-addr on the demo site after a few requests and a revalidation,
// its inspector in a headless Chromium. It runs only with -screenshot.
func TestInspectorScreenshot(t *testing.T) {
	if *screenshot == "" {
		t.Skip("no -screenshot file given")
	}
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	base, adminBase, _, _ := startServeAdmin(t)
	for _, p := range []string{"/", "/products", "/products/sneakers", "/products/sun-hat", "/products/rain-jacket",
		"/categories/shoes", "/about", "/sitemap.xml", "/dashboard"} {
		get(t, base+p, http.Header{"Cookie": {"session=ada"}})
	}
	req, _ := http.NewRequest("POST", adminBase+"/_regen/revalidate", strings.NewReader("target=tag&value=product-sun-hat"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ctx := browsertest.Start(t, chromedp.WindowSize(1600, 1000))
	if err := chromedp.Do(ctx, chromedp.Navigate(adminBase+"/_regen/?done=revalidated+tag+product-sun-hat+%28stale%29")); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", *screenshot, len(png))
}
