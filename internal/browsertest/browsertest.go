// Package browsertest starts a throwaway headless Chromium, driven with
// chromedp, for tests.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv names the environment variable that turns a missing browser
// from a skipped test into a failed one: CI sets it.
const RequireEnv = "REGEN_REQUIRE_BROWSER"

// Timeout bounds everything a test does in the browser, its start
// included.
const Timeout = 30 * time.Second

// names are the browsers looked for on the PATH, in order: Debian's
// chromium package first.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "headless_shell"}

// Find returns the path of a Chromium on the PATH, or "".
func Find() string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Start starts a headless Chromium and returns a chromedp context of a
// new tab, bounded by Timeout; the browser is stopped when the test ends.
// Without a browser it skips the test, or fails it when REGEN_REQUIRE_BROWSER
// is set.
func Start(tb testing.TB, opts ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	bin := Find()
	if bin == "" {
		if os.Getenv(RequireEnv) != "" {
			tb.Fatalf("browsertest: no Chromium on the PATH and %s is set (install it: apt-get install chromium)", RequireEnv)
		}
		tb.Skipf("browsertest: no Chromium on the PATH; skipping (apt-get install chromium, or set %s=1 to fail instead)", RequireEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	tb.Cleanup(cancel)
	all := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // root in a container has no user namespace for the sandbox
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
	)
	all = append(all, opts...)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, all...)
	tb.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	tb.Cleanup(cancelBrowser)
	if _, err := chromedp.Run(bctx, chromedp.Title()); err != nil { // starts the browser
		tb.Fatalf("browsertest: starting %s: %v", bin, err)
	}
	return bctx
}
