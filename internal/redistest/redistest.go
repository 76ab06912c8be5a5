// Package redistest starts throwaway redis-server processes for tests.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing
// redis-server from a skipped test into a failed one: CI sets it to 1.
const RequireEnv = "REGEN_REQUIRE_REDIS"

// startWait bounds how long a started server may take to answer PING.
const startWait = 10 * time.Second

// Server is one redis-server process that a test started, listening on a
// loopback port, with persistence off and its files in a temporary
// directory. It is stopped when the test ends. A Server is not safe for
// concurrent use.
type Server struct {
	tb    testing.TB
	bin   string
	dir   string
	port  int
	extra []string // more arguments to redis-server (a cluster node's)
	proc  *proc    // the running process, or nil after Kill
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// Start starts a redis-server on a free loopback port, waits until it
// answers PING, and kills it when the test ends. Without redis-server on the
// PATH it skips the test, or fails it when REGEN_REQUIRE_REDIS=1.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, lookPath(tb), nil)
}

// lookPath finds redis-server, or skips or fails the test.
func lookPath(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("redistest: redis-server is not installed and %s=1 (install it: apt-get install redis-server)", RequireEnv)
		}
		tb.Skipf("redistest: redis-server is not installed; skipping (apt-get install redis-server, or set %s=1 to fail instead)", RequireEnv)
	}
	return bin
}

// start starts a server on a free port; extra returns more arguments for
// that port (a cluster node also needs a free bus port).
func start(tb testing.TB, bin string, extra func() ([]string, error)) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	tb.Cleanup(s.stop)
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		s.port = port
		if extra != nil {
			if s.extra, err = extra(); err != nil {
				tb.Fatalf("redistest: %v", err)
			}
		}
		if last = s.start(); last == nil {
			return s
		}
	}
	tb.Fatalf("redistest: %v", last)
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns a redis:// URL of the server's database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// PID returns the process id of the running server, or 0 after Kill.
func (s *Server) PID() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Kill sends SIGKILL to the server and waits for it to exit: a crash, with
// no chance to answer or close connections cleanly. Its data is lost.
func (s *Server) Kill() {
	s.tb.Helper()
	if s.proc == nil {
		return
	}
	p := s.proc
	s.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Restart starts a new, empty server on the same port after Kill and waits
// until it answers PING. A cluster node keeps its cluster configuration
// (its node id and slots), so it rejoins the cluster, without data.
func (s *Server) Restart() {
	s.tb.Helper()
	if s.proc != nil {
		s.tb.Fatalf("redistest: Restart of a running server (Kill it first)")
	}
	var err error
	for range 20 { // the port may take a moment to be free again
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: restart on port %d: %v", s.port, err)
}

// Pause stops the server with SIGSTOP: it keeps its connections open but
// answers nothing, like a server that hangs. Resume continues it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	if s.proc == nil {
		s.tb.Fatalf("redistest: signal %v to a server that is not running", sig)
	}
	if err := s.proc.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// stop kills the server, if running, when the test ends. It only ever
// signals the process this Server started.
func (s *Server) stop() {
	if s.proc == nil {
		return
	}
	p := s.proc
	s.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// start runs redis-server on s.port and waits for PING.
func (s *Server) start() error {
	logFile := filepath.Join(s.dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", logFile,
		"--daemonize", "no",
	}
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(startWait)
	for {
		if err := ping(s.Addr()); err == nil {
			s.proc = p
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, tail(logFile))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %s", s.port, startWait, tail(logFile))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends PING over a plain connection and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return errors.New("unexpected answer to PING: " + strings.TrimSpace(line))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of the server's log, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
