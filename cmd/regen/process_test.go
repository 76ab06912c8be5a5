package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests run regen itself as a real process: the test binary
// re-executed with REGEN_TEST_MAIN=1 is regen.
func TestMain(m *testing.M) {
	if os.Getenv("REGEN_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// regenProcess is regen serve running as a process of its own.
type regenProcess struct {
	cmd    *exec.Cmd
	base   string // http://ADDR
	stderr *syncBuffer
	done   chan error
}

// startProcess starts `regen serve --addr 127.0.0.1:0 args...` and waits
// for it to listen.
func startProcess(t *testing.T, env []string, args ...string) *regenProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &regenProcess{stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(exe, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Env = append(append(os.Environ(), "REGEN_TEST_MAIN=1"), env...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				listening <- addr
			}
		}
		close(listening)
		io.Copy(io.Discard, stdout)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("regen serve stderr:\n%s", p.stderr.String())
		}
	})
	select {
	case addr, ok := <-listening:
		if !ok {
			t.Fatalf("regen serve exited before listening:\n%s", p.stderr.String())
		}
		p.base = addr
	case <-time.After(10 * time.Second):
		t.Fatalf("regen serve did not listen within 10s:\n%s", p.stderr.String())
	}
	return p
}

// TestSIGTERMWithHungRegeneration: regen serve, as a real process, gets
// SIGTERM while a background regeneration waits on an origin that never
// answers: it exits within --shutdown-timeout, canceling it, with status 1
// and a line saying so.
func TestSIGTERMWithHungRegeneration(t *testing.T) {
	var hung atomic.Bool
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hung.Load() {
			<-r.Context().Done()
			return
		}
		io.WriteString(w, `{"v":1}`)
	}))
	defer origin.Close()
	spec := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(spec, fmt.Appendf(nil, `name: hang
segments:
  /:
    page:
      revalidate: 3600
      fetches:
        - url: %s/data
          tags: [data]
`, origin.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, []string{"REGEN_REVALIDATE_SECRET=s3cret"},
		"--render-timeout", "1m", "--fetch-timeout", "1m", "--shutdown-timeout", "1s", spec)

	resp, err := http.Get(p.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	// The MISS streams: its entry is stored by the end of its body.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("X-Cache-Status"); resp.StatusCode != 200 || got != "MISS" {
		t.Fatalf("first GET / = %d %s; want 200 MISS", resp.StatusCode, got)
	}
	hung.Store(true)
	req, _ := http.NewRequest("POST", p.base+"/api/revalidate", strings.NewReader(`{"tags":["data"]}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("revalidate = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
	// STALE: a regeneration starts and hangs on the origin.
	if resp, err = http.Get(p.base + "/"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Cache-Status"); got != "STALE" {
		t.Fatalf("GET / after revalidation = %s; want STALE", got)
	}

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		took := time.Since(start)
		if took > 2*time.Second {
			t.Errorf("regen serve exited %v after SIGTERM; want within its 1s shutdown timeout", took)
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitFailure {
			t.Errorf("exit = %v; want status %d (work was canceled)", err, exitFailure)
		}
		if !strings.Contains(p.stderr.String(), "canceled") {
			t.Errorf("stderr does not say what was canceled:\n%s", p.stderr.String())
		}
		t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("regen serve still running 10s after SIGTERM:\n%s", p.stderr.String())
	}
}

// TestServeLimits: regen serve refuses headers over its limit with 431, and
// refuses timeouts that are not positive.
func TestServeLimits(t *testing.T) {
	base, _, _ := startServe(t)
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("x", maxHeaderBytes+4096))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET with %d bytes of headers = %d; want 431", maxHeaderBytes+4096, resp.StatusCode)
	}
	for _, args := range [][]string{
		{"--render-timeout", "0s"}, {"--fetch-timeout", "-1s"}, {"--shutdown-timeout", "0"}, {"--max-regenerations", "0"},
		{"--max-bytes", "lots"},
	} {
		if status, _, stderr := runCLI(t, append([]string{"serve"}, args...)...); status != exitUsage || !strings.Contains(stderr, strings.TrimLeft(args[0], "-")) {
			t.Errorf("serve %v = %d, %q; want %d naming the flag", args, status, stderr, exitUsage)
		}
	}
}

// TestServeDebugEnv: REGEN_DEBUG_CACHE=1 logs every cache decision, as
// --debug does.
func TestServeDebugEnv(t *testing.T) {
	p := startProcess(t, []string{"REGEN_DEBUG_CACHE=1"})
	resp, err := http.Get(p.base + "/about")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if !strings.Contains(p.stderr.String(), `msg="regen: cache" path=/about status=MISS`) {
		t.Errorf("no cache decision logged with REGEN_DEBUG_CACHE=1:\n%s", p.stderr.String())
	}
}
