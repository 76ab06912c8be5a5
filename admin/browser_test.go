package admin

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/regen-dev/regen/internal/browsertest"
)

// TestInspectorInBrowser drives the inspector in a real headless Chromium:
// it loads /_regen/, finds a cached path, revalidates it with its button,
// and sees its state turn stale; then it expires a tag with the form at the
// top and sees the path expired.
func TestInspectorInBrowser(t *testing.T) {
	ctx := browsertest.Start(t)
	_, site, admin := newSite(t, Options{})
	do(t, "GET", site.URL+"/blog/hello", "")
	do(t, "GET", site.URL+"/about", "")

	const row = `tr[data-path="/blog/hello"]`
	state := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row+` .state`)))
		if err != nil {
			t.Fatalf("reading the state of /blog/hello: %v", err)
		}
		return s
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(admin.URL+"/_regen/")); err != nil {
		t.Fatalf("loading the inspector: %v", err)
	}
	if got := state(); got != "fresh" {
		t.Errorf("state of /blog/hello = %q; want fresh", got)
	}

	// The path's own button.
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` button.revalidate-path`)),
		chromedp.WaitVisible(chromedp.CSS(`#notice`)),
	)
	if err != nil {
		t.Fatalf("revalidating /blog/hello with its button: %v", err)
	}
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#notice`)))
	if err != nil || notice != "revalidated path /blog/hello (stale)" {
		t.Errorf("notice = %q (%v); want the page saying what was revalidated", notice, err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, admin.URL+"/_regen/?done=") {
		t.Errorf("after the form the browser is at %s; want back at the inspector", loc)
	}
	if got := state(); got != "stale" {
		t.Errorf("state of /blog/hello after its revalidate button = %q; want stale", got)
	}

	// The form at the top: the route's tag, in expire mode.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`select[name=target]`), "tag"),
		chromedp.SendKeys(chromedp.CSS(`#revalidate-value`), "_N_T_/blog/[slug]/page"),
		chromedp.SetValue(chromedp.CSS(`select[name=mode]`), "expire"),
		chromedp.Submit(chromedp.CSS(`#revalidate-value`)),
	)
	if err != nil {
		t.Fatalf("revalidating a tag with the form: %v", err)
	}
	// The poll starts on the page being left, whose context the navigation
	// destroys: poll again on the new one.
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#notice')?.textContent.includes('(expire)')`))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("waiting for the page after the form: %v", err)
		}
	}
	if got := state(); got != "expired" {
		t.Errorf("state of /blog/hello after expiring its route's tag = %q; want expired", got)
	}
}
