package disk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// LockFile is the name of the lock file in a store's directory: a process
// that has the directory open holds an exclusive lock on it (flock(2) on
// Unix, LockFileEx on Windows), which the system releases when the process
// exits, even by kill -9. It holds, for the error of a second opener, the
// holder's pid, host and start time.
const LockFile = ".lock"

// ErrLocked is matched by the error of Open and LockDir on a directory
// another process (or another Store of this process) has open. The error
// is a *LockedError naming the holder.
var ErrLocked = errors.New("disk: directory in use")

// LockedError reports that a directory is locked by another holder. It
// matches ErrLocked.
type LockedError struct {
	Dir   string    // the store's directory
	Lock  string    // the lock file
	PID   int       // the holder's process id; 0 if unknown
	Host  string    // the holder's host name; "" if unknown
	Since time.Time // when the holder took the lock; zero if unknown
}

func (e *LockedError) Error() string {
	holder := "another process (its pid is unknown)"
	if e.PID != 0 {
		holder = fmt.Sprintf("pid %d", e.PID)
		if e.Host != "" {
			holder += " on " + e.Host
		}
		if !e.Since.IsZero() {
			holder += " (since " + e.Since.Format(time.RFC3339) + ")"
		}
	}
	return fmt.Sprintf("disk: %s is in use: lock %s held by %s; one process at a time may open a store's directory",
		e.Dir, e.Lock, holder)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// lockInfo is the content of the lock file.
type lockInfo struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host,omitempty"`
	Since time.Time `json:"since"`
}

// dirLock is a held lock on a directory.
type dirLock struct {
	path string
	f    *os.File
}

// LockDir takes the lock of the store directory dir, as Open does, without
// opening the store, for a tool that must keep servers off a directory
// while it replaces it (engine.Build). It fails with a *LockedError when
// another holder has it; a dir that does not exist is an error matching
// fs.ErrNotExist. unlock releases the lock, and removes the lock file
// if it is still the one it locked (not if the directory was replaced
// meanwhile).
func LockDir(dir string) (unlock func() error, err error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	l, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return func() error {
		fi, err := l.f.Stat()
		cur, cerr := os.Stat(l.path)
		return l.release(err == nil && cerr == nil && os.SameFile(fi, cur))
	}, nil
}

// lockDir takes the lock of dir, which exists.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	// A holder that closes removes the lock file while it holds the lock;
	// a file opened before that removal is locked in vain, so check that
	// the locked file is still the one at path, and else start again.
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("disk: lock %s: %w", path, err)
		}
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("disk: lock %s: %w", path, err)
		}
		if !locked {
			e := &LockedError{Dir: dir, Lock: path}
			var info lockInfo
			if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &info) == nil {
				e.PID, e.Host, e.Since = info.PID, info.Host, info.Since
			}
			f.Close()
			return nil, e
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("disk: lock %s: %w", path, err)
		}
		if cur, err := os.Stat(path); err != nil || !os.SameFile(fi, cur) {
			f.Close()
			continue
		}
		host, _ := os.Hostname()
		b, _ := json.Marshal(lockInfo{PID: os.Getpid(), Host: host, Since: time.Now().Round(time.Second).UTC()})
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt(append(b, '\n'), 0) // informative only
		}
		return &dirLock{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("disk: lock %s: the lock file keeps being replaced", path)
}

// release releases the lock; remove removes the lock file first, while the
// lock is still held, so the next opener creates a fresh one.
func (l *dirLock) release(remove bool) error {
	if l == nil || l.f == nil {
		return nil
	}
	if remove {
		// Best effort: a lock file left in place is harmless (Windows
		// does not remove an open file).
		_ = os.Remove(l.path)
	}
	err := l.f.Close() // closing the file releases the lock
	l.f = nil
	return err
}
