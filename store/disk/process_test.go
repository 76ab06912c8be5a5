package disk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// The helper process: the test binary re-executed with helperEnv set to a
// mode, on the directory in helperDir. It reports on stdout, one line each.
const (
	helperEnv = "REGEN_DISK_TEST_HELPER"
	helperDir = "REGEN_DISK_TEST_DIR"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Getenv(helperDir)))
	}
	os.Exit(m.Run())
}

// helperBody is the body of version v of the page key: its key, its
// version, and enough bytes to take several writes.
func helperBody(key string, v int) string {
	head := fmt.Sprintf("%s v%d|", key, v)
	return head + strings.Repeat("<p>regen</p>", 400)
}

// helper runs in the helper process:
//
//   - "hold" opens the directory, says "ready", and waits to be killed;
//   - "write" opens it and writes pages forever (write-back), each line
//     "wrote N" after the Nth Set returned;
//   - "flush" writes 200 pages and revalidates a tag, flushes, says
//     "flushed", then writes more pages forever, unflushed.
func helper(mode, dir string) int {
	ctx := context.Background()
	s, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	switch mode {
	case "hold":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin) // until killed, or the test ends
		return 0
	case "write":
		for i := 0; ; i++ {
			key := fmt.Sprintf("/p/%d", i%300)
			if err := s.Set(ctx, key, htmlItem(helperBody(key, i/300), regen.Seconds(60), "posts")); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			if i%50 == 0 {
				s.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(time.Duration(i)*time.Second))
			}
			fmt.Println("wrote", i+1)
		}
	case "flush":
		for i := range 200 {
			key := fmt.Sprintf("/f/%d", i)
			if err := s.Set(ctx, key, htmlItem(helperBody(key, 1), regen.Forever)); err != nil {
				fmt.Println("error:", err)
				return 1
			}
		}
		s.Set(ctx, "fetch:flushed", htmlItem("data", regen.Forever))
		s.RevalidateTags(ctx, []string{"flushed"}, regen.RevalidateExpire, t0)
		if err := s.Flush(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("flushed")
		for i := 0; ; i++ {
			key := fmt.Sprintf("/after/%d", i)
			s.Set(ctx, key, htmlItem(helperBody(key, 1), regen.Forever))
		}
	}
	return 2
}

// startHelper starts the helper process in mode on dir, and returns it
// with its output, one line at a time. It is killed when the test ends.
func startHelper(t *testing.T, mode, dir string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDir+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

// readLine returns the helper's next line; an error line fails the test.
func readLine(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("helper process ended early: %v", sc.Err())
	}
	line := sc.Text()
	if strings.HasPrefix(line, "error:") {
		t.Fatalf("helper process: %s", line)
	}
	return line
}

// kill9 kills the helper with SIGKILL and waits for it to end.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()
}

// TestLockOtherProcess: a directory another process has open is refused,
// naming the lock file and the holder's pid, until the holder is killed.
func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startHelper(t, "hold", dir)
	if line := readLine(t, out); line != "ready" {
		t.Fatalf("helper said %q; want ready", line)
	}

	_, err := Open(dir, Options{Logger: quiet})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("Open of a directory another process holds = %v; want a *LockedError", err)
	}
	lock := filepath.Join(dir, LockFile)
	if le.PID != cmd.Process.Pid || le.Lock != lock || le.Since.IsZero() {
		t.Errorf("LockedError = %+v; want pid %d, lock %s and a start time", le, cmd.Process.Pid, lock)
	}
	for _, want := range []string{dir + " is in use", "lock " + lock, "pid " + strconv.Itoa(cmd.Process.Pid)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error %q does not contain %q", err, want)
		}
	}
	if _, err := LockDir(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("LockDir = %v; want ErrLocked", err)
	}

	kill9(t, cmd)
	s := open(t, dir, Options{})
	mustSet(t, s, "/after", htmlItem("after", regen.Forever))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after Close: %v; want it removed", err)
	}
}

// TestLockSameProcess: two Stores of one process exclude each other too.
func TestLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	if _, err := Open(dir, Options{Logger: quiet}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
	s.Close()
	s2 := open(t, dir, Options{})
	s2.Close()
}

// TestKillDuringWrites kills a process writing pages (write-back) at a
// random point: the directory opens without error, and every page it
// serves is whole and is a version that was written.
func TestKillDuringWrites(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint("round=", round), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cmd, out := startHelper(t, "write", dir)
			wrote := 0
			stopAt := 200 + rand.IntN(1500)
			for wrote < stopAt {
				line := readLine(t, out)
				n, err := strconv.Atoi(strings.TrimPrefix(line, "wrote "))
				if err != nil {
					t.Fatalf("helper said %q", line)
				}
				wrote = n
			}
			kill9(t, cmd)

			s := open(t, dir, Options{})
			if s.Len() == 0 {
				t.Fatalf("after %d writes and a kill, no page survived", wrote)
			}
			for key, p := range s.pages {
				it, ok, err := s.Get(ctx, key)
				if err != nil || !ok {
					t.Errorf("Get(%q), listed in the manifest = %v, %v", key, ok, err)
					continue
				}
				var v int
				if _, err := fmt.Sscanf(string(it.Body), key+" v%d|", &v); err != nil || string(it.Body) != helperBody(key, v) {
					t.Errorf("Get(%q) = %.40q...; want a whole version of its page", key, it.Body)
				}
				if sum(it.Body) != p.XXHash || len(it.Body) != p.Bytes {
					t.Errorf("Get(%q) does not match its manifest entry", key)
				}
			}
			for name := range files(t, dir) {
				if strings.Contains(name, tmpPrefix) || strings.HasPrefix(name, journalPrefix) {
					t.Errorf("file %s left after Open", name)
				}
			}
			// The helper said "wrote N" after the revalidation of its
			// (N-1)th write, if any: the last one acknowledged survives.
			last := t0.Add(time.Duration((wrote-1)/50*50) * time.Second)
			if got, err := s.TagState(ctx, []string{"posts"}, last.Add(-time.Nanosecond)); err != nil || !got.Stale {
				t.Errorf("TagState(posts, just before %v) = %+v, %v; want the last revalidation the process acknowledged (at %v)", last, got, err, last)
			}
		})
	}
}

// TestKillAfterFlush: everything a Flush acknowledged, and every
// revalidation that returned, survives a kill during later writes.
func TestKillAfterFlush(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmd, out := startHelper(t, "flush", dir)
	if line := readLine(t, out); line != "flushed" {
		t.Fatalf("helper said %q; want flushed", line)
	}
	kill9(t, cmd)

	s := open(t, dir, Options{Memory: store.MemoryOptions{MaxBytes: 64 << 10, Shards: 1}})
	for i := range 200 {
		key := fmt.Sprintf("/f/%d", i)
		it, ok, err := s.Get(ctx, key)
		if err != nil || !ok || string(it.Body) != helperBody(key, 1) {
			t.Errorf("Get(%q) after the kill = %v, %v; want the flushed page", key, ok, err)
		}
	}
	if _, ok, _ := s.Get(ctx, "fetch:flushed"); !ok {
		t.Errorf("Get(fetch:flushed) after the kill found nothing; want the flushed data entry")
	}
	if got, _ := s.TagState(ctx, []string{"flushed"}, t0.Add(-time.Second)); !got.Expired {
		t.Errorf("TagState(flushed) after the kill = %+v; want expired", got)
	}
}
