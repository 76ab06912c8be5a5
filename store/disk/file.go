package disk

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrKey is matched by the errors of keys the store refuses: route keys
// that are not clean URL paths, such as those with dot or empty segments,
// which could name a file outside the directory.
var ErrKey = errors.New("disk: key refused")

// Limits of a page's file name: a longer name is written under long/.
const (
	maxSegment = 200  // bytes of one escaped segment, below the 255 of most file systems
	maxFile    = 1024 // bytes of the whole relative name
)

// tmpPrefix starts the name of every file being written. No name the store
// keeps starts with a dot, so Open removes these without doubt.
const tmpPrefix = ".tmp-"

// isRoute reports whether key is a Full Route Cache entry (a URL path)
// rather than a Data Cache entry.
func isRoute(key string) bool { return len(key) > 0 && key[0] == '/' }

// pageFile returns the slash-separated name, relative to the store's
// directory, of the file holding the page stored under key, a URL path.
// See the package documentation for the mapping.
func pageFile(key string) (string, error) {
	if !isRoute(key) {
		return "", fmt.Errorf("%w: %q is not a URL path", ErrKey, key)
	}
	if key == "/" {
		return "pages/index.html", nil
	}
	var b strings.Builder
	b.Grow(len("pages") + len(key) + len(".html"))
	b.WriteString("pages")
	long := false
	for seg := range strings.SplitSeq(key[1:], "/") {
		switch seg {
		case "":
			return "", fmt.Errorf("%w: %q has an empty segment (keys must be clean URL paths)", ErrKey, key)
		case ".", "..":
			return "", fmt.Errorf("%w: %q has a dot segment (keys must be clean URL paths)", ErrKey, key)
		}
		b.WriteByte('/')
		start := b.Len()
		escapeSegment(&b, seg, key == "/"+seg)
		if b.Len()-start > maxSegment {
			long = true
		}
	}
	b.WriteString(".html")
	if long || b.Len() > maxFile {
		sum := sha256.Sum256([]byte(key))
		return "long/" + hex.EncodeToString(sum[:]) + ".html", nil
	}
	return b.String(), nil
}

// escapeSegment writes seg with every byte outside [a-z0-9_~-] as %XX
// (upper-case hex). A segment that a file system reserves (a Windows device
// name) and the top-level segment "index" (top is true), whose file would
// be the root's, have their first byte escaped.
func escapeSegment(b *strings.Builder, seg string, top bool) {
	first := 0
	if reserved(seg) || (top && seg == "index") {
		writeEscaped(b, seg[0])
		first = 1
	}
	for i := first; i < len(seg); i++ {
		c := seg[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			writeEscaped(b, c)
		}
	}
}

func writeEscaped(b *strings.Builder, c byte) {
	const hexUpper = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hexUpper[c>>4])
	b.WriteByte(hexUpper[c&15])
}

// reserved reports whether seg is a device name Windows reserves, which no
// file may be named even with an extension. Only lower-case letters are
// written as is, so only lower-case names need checking.
func reserved(seg string) bool {
	switch seg {
	case "con", "prn", "aux", "nul":
		return true
	}
	if len(seg) == 4 && (seg[:3] == "com" || seg[:3] == "lpt") && '0' <= seg[3] && seg[3] <= '9' {
		return true
	}
	return false
}

// dataFile returns the name, relative to the store's directory, of the file
// holding the Data Cache entry stored under key: the SHA-256 of the key in
// hex, so any key makes a safe, fixed-length name.
func dataFile(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "data/" + hex.EncodeToString(sum[:])
}

// isDataName reports whether name is the base name of a data file.
func isDataName(name string) bool {
	if len(name) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isTempName reports whether name is that of a temporary file writeTemp
// makes: tmpPrefix and 16 hex digits.
func isTempName(name string) bool {
	suffix, ok := strings.CutPrefix(name, tmpPrefix)
	if !ok || len(suffix) != 16 {
		return false
	}
	for i := 0; i < len(suffix); i++ {
		if c := suffix[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// randomSuffix returns 16 random hex digits.
func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// secondsJSON is a duration written as a number of seconds, with as many
// decimals as it needs down to the nanosecond, so it reads back exactly.
type secondsJSON time.Duration

func (d secondsJSON) MarshalJSON() ([]byte, error) { return d.appendJSON(nil), nil }

// appendJSON appends the JSON of d to b.
func (d secondsJSON) appendJSON(b []byte) []byte {
	n := time.Duration(d)
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = strconv.AppendInt(b, int64(n/time.Second), 10)
	if frac := int64(n % time.Second); frac != 0 {
		digits := strconv.AppendInt(nil, frac+int64(time.Second), 10)[1:] // 9 digits, zero-padded
		b = append(b, '.')
		b = append(b, bytes.TrimRight(digits, "0")...)
	}
	return b
}

func (d *secondsJSON) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	bad := fmt.Errorf("duration %s (must be a number of seconds)", s)
	if whole == "" || len(frac) > 9 || strings.ContainsAny(s, "eE+") {
		return bad
	}
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || secs > int64(1<<63-1)/int64(time.Second) {
		return bad
	}
	var ns int64
	if frac != "" {
		ns, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return bad
		}
	}
	n := time.Duration(secs)*time.Second + time.Duration(ns)
	if neg {
		n = -n
	}
	*d = secondsJSON(n)
	return nil
}

// writeFile writes data to the file name (relative, slash-separated) in
// dir atomically: to a temporary file in the same directory, synced, then
// renamed over name. A crash leaves either the old file or the new one,
// and perhaps a temporary file, which Open removes. Each sync is counted in
// syncs.
//
// It returns the directories whose entries changed (the file's, and the
// parents of those it created), which the caller syncs for the rename to
// survive a power loss. beforeRename, if set, is called just before the
// rename; when it returns false the write stops there, leaving the
// temporary file as a crash would (for tests).
func writeFile(dir, name string, syncs *atomic.Int64, beforeRename func(tmp string) bool, data ...[]byte) (changed []string, err error) {
	path := filepath.Join(dir, filepath.FromSlash(name))
	parent := filepath.Dir(path)
	changed, err = mkdirs(dir, parent)
	if err != nil {
		return nil, err
	}
	tmp, err := writeTemp(parent, syncs, data...)
	if err != nil {
		return nil, err
	}
	if beforeRename != nil && !beforeRename(tmp) {
		return nil, errCrash
	}
	if err = os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return append(changed, parent), nil
}

// writeTemp writes data to a new temporary file in dir and returns its
// path (see createFile).
func writeTemp(dir string, syncs *atomic.Int64, data ...[]byte) (tmp string, err error) {
	tmp = filepath.Join(dir, tmpPrefix+randomSuffix())
	return tmp, createFile(tmp, syncs, data...)
}

// createFile creates the file path, which must not exist, with mode 0644
// whatever the umask, and writes data to it. It syncs the file when syncs
// is not nil, counting the sync there; with nil, the caller makes it
// durable some other way (syncFS). When it fails, it leaves no file.
func createFile(path string, syncs *atomic.Int64, data ...[]byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	for _, d := range data {
		if _, err = f.Write(d); err != nil {
			return err
		}
	}
	// A umask may have taken bits away; chmod is a change to log, fstat is not.
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm() != 0o644 {
		if err = f.Chmod(0o644); err != nil {
			return err
		}
	}
	if syncs != nil {
		syncs.Add(1)
		if err = f.Sync(); err != nil {
			return err
		}
	}
	return f.Close()
}

// errCrash ends a write that a test stopped before its rename or its
// journal record; what it wrote is left in place, as a crash would leave
// it.
var errCrash = errors.New("disk: simulated crash")

// mkdirs creates dir and its missing parents below root, and returns the
// directories whose entries it changed.
func mkdirs(root, dir string) ([]string, error) {
	if _, err := os.Stat(dir); err == nil {
		return nil, nil
	}
	var missing []string
	for d := dir; d != root && len(d) > len(root); d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	changed := make([]string, 0, len(missing))
	for _, d := range missing {
		changed = append(changed, filepath.Dir(d))
	}
	return changed, nil
}

// syncDir makes the entries of dir durable, counting the sync in syncs.
func syncDir(dir string, syncs *atomic.Int64) error { return syncPath(dir, os.O_RDONLY, syncs) }

// syncPath opens path with flag, syncs it and closes it, counting the sync
// in syncs.
func syncPath(path string, flag int, syncs *atomic.Int64) error {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return err
	}
	syncs.Add(1)
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
