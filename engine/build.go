package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

// BuildOptions configure Build. The zero value means all defaults.
type BuildOptions struct {
	// Options configure the engine that renders the build, as for New. Its
	// Store is replaced by the disk store of the build's directory, whose
	// memory tier MaxBytes bounds.
	Options Options
	// Concurrency bounds the renders running at once. If zero, GOMAXPROCS.
	Concurrency int
	// OnPage, if set, is called after each path is rendered and written,
	// one call at a time, in completion order, with the number of paths
	// done so far and the number to do.
	OnPage func(done, total int, p Prerendered)
}

// BuildResult reports a build.
type BuildResult struct {
	Dir      string        // the directory the build was written to
	Pages    []BuiltPage   // every path rendered, sorted by path
	Routes   []Policy      // every route's policy, refined by the build's renders, sorted by route
	Duration time.Duration // how long the whole build took
}

// BuiltPage is one path rendered by Build.
type BuiltPage struct {
	Path     string
	Route    string
	Kind     Kind          // Dynamic when the render revealed a dynamic route: nothing was written
	Bytes    int           // the size of the body written
	Duration time.Duration // how long the render took
}

// Build prerenders site (every path Prerender renders) into the directory
// dir, in the format of package store/disk, and returns what it wrote. A
// server that opens dir with disk.Open and passes the store to New serves
// every prerendered path as a HIT without rendering.
//
// The build is written to a staging directory beside dir (dir +
// ".staging-" and random letters), which replaces dir only when every
// page was rendered and written: dir is renamed to dir + ".old-...", the
// staging directory to dir, and the old build is removed. Between the two
// renames, a window of two system calls, dir does not exist; a process
// that opens it then finds no build. If anything fails (a configuration
// error, a render, including a route with dynamic "error" that reads a
// dynamic API, a write, or ctx), the staging directory is removed and dir
// is left as it was. A build killed outright leaves its staging directory
// behind for the user to remove; dir is untouched.
//
// Build refuses to replace a dir that is not empty and holds no
// manifest.json: it only replaces its own builds. It holds dir's lock
// (disk.LockDir) from start to end, so it refuses to start while a server
// has dir open (an error matching disk.ErrLocked that names the server's
// pid), and no server opens dir while it is being swapped: stop the
// server, build, and start it on the new build.
func Build(ctx context.Context, site *Site, dir string, opts BuildOptions) (*BuildResult, error) {
	start := time.Now()
	dir = filepath.Clean(dir)
	if err := checkBuildDir(dir); err != nil {
		return nil, fmt.Errorf("engine: build %s: %w", dir, err)
	}
	if unlock, err := disk.LockDir(dir); err == nil {
		defer unlock()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("engine: build %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("engine: build %s: %w", dir, err)
	}
	staging := dir + ".staging-" + randomSuffix()
	pages, routes, err := buildInto(ctx, site, staging, opts)
	if err == nil {
		err = swapDir(staging, dir, opts.Options.Logger)
		if err != nil {
			err = fmt.Errorf("engine: build %s: %w", dir, err)
		}
	}
	if err != nil {
		os.RemoveAll(staging)
		return nil, err
	}
	return &BuildResult{Dir: dir, Pages: pages, Routes: routes, Duration: time.Since(start)}, nil
}

// buildInto renders site into the directory staging, and closes it.
func buildInto(ctx context.Context, site *Site, staging string, opts BuildOptions) ([]BuiltPage, []Policy, error) {
	ds, err := disk.Open(staging, disk.Options{
		Memory: store.MemoryOptions{MaxBytes: opts.Options.MaxBytes},
		Batch:  true,
		Now:    opts.Options.Now,
		Logger: opts.Options.Logger,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("engine: build: %w", err)
	}
	defer ds.Close()
	bs := &buildStore{Store: ds}
	eo := opts.Options
	eo.Store = bs
	e, err := New(site, eo)
	if err != nil {
		return nil, nil, err
	}
	total, done := len(e.Paths()), 0
	pre, err := e.Prerender(ctx, PrerenderOptions{
		Concurrency: opts.Concurrency,
		OnPage: func(p Prerendered) {
			done++ // OnPage calls are serialized
			if opts.OnPage != nil {
				opts.OnPage(done, total, p)
			}
		},
	})
	err = errors.Join(err, e.Close())
	if err != nil {
		return nil, nil, err
	}
	if err := errors.Join(bs.failed(), ds.Close()); err != nil {
		return nil, nil, fmt.Errorf("engine: build: %w", err)
	}
	pages := make([]BuiltPage, len(pre))
	for i, p := range pre {
		pages[i] = BuiltPage{Path: p.Path, Route: p.Route, Kind: p.Kind, Duration: p.Duration}
		if p.Entry != nil {
			pages[i].Bytes = len(p.Entry.Body)
		}
	}
	return pages, e.Routes(), nil
}

// buildStore records the first write error of a build: the engine only
// logs a failed write while serving, but a build that misses a page fails.
type buildStore struct {
	*disk.Store
	mu    sync.Mutex // protects first
	first error
}

func (s *buildStore) record(err error) error {
	if err != nil {
		s.mu.Lock()
		if s.first == nil {
			s.first = err
		}
		s.mu.Unlock()
	}
	return err
}

func (s *buildStore) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

func (s *buildStore) Set(ctx context.Context, key string, it *store.Item) error {
	return s.record(s.Store.Set(ctx, key, it))
}

func (s *buildStore) Delete(ctx context.Context, key string) error {
	return s.record(s.Store.Delete(ctx, key))
}

func (s *buildStore) RevalidateTags(ctx context.Context, tags []string, mode regen.RevalidateMode, at time.Time) error {
	return s.record(s.Store.RevalidateTags(ctx, tags, mode, at))
}

// checkBuildDir refuses a dir that Build must not replace: a file, or a
// directory that is neither empty nor a build.
func checkBuildDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return errors.New("the directory is not empty and holds no build (no manifest.json); refusing to replace it")
	}
	return nil
}

// swapDir moves the directory staging to dir, replacing any previous dir.
func swapDir(staging, dir string, log *slog.Logger) error {
	old := ""
	if _, err := os.Lstat(dir); err == nil {
		old = dir + ".old-" + randomSuffix()
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(staging, dir); err != nil {
		if old != "" {
			if rerr := os.Rename(old, dir); rerr != nil {
				return fmt.Errorf("%w; and restoring the previous build from %s: %v", err, old, rerr)
			}
		}
		return err
	}
	if d, err := os.Open(filepath.Dir(dir)); err == nil {
		d.Sync() // make the renames durable; a failure only risks the old build after a power loss
		d.Close()
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			if log == nil {
				log = slog.Default()
			}
			log.Warn("regen: build: cannot remove the previous build", "dir", old, "error", err)
		}
	}
	return nil
}

// randomSuffix returns 16 random hex digits.
func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}
