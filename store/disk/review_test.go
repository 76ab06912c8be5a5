package disk

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/regen-dev/regen"
)

// TestOpenAfterCrashInFirstOpen: a process killed while its Open writes the
// first manifest of a fresh directory leaves the lock file and the
// manifest's temporary file, and nothing else. The next Open must take
// that directory as its own (it removes the temporary file) rather than
// refuse it as one that is not a store's.
func TestOpenAfterCrashInFirstOpen(t *testing.T) {
	dir := t.TempDir()
	// What the crash leaves: the lock file of the killed process, and the
	// manifest written to its temporary name, not yet renamed.
	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(`{"pid":1,"since":"2025-06-01T12:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, tmpPrefix+randomSuffix())
	if err := os.WriteFile(tmp, []byte("{\n  \"version\": 1,\n  \"genera"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("Open of a directory whose first Open was killed while writing its manifest = %v; want it opened", err)
	}
	defer s.Close()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary file after Open: %v; want it removed", err)
	}
	mustSet(t, s, "/", htmlItem("home", regen.Forever))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A directory holding anything else than such files is still refused.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, tmpPrefix+randomSuffix()), nil, 0o644)
	os.WriteFile(filepath.Join(other, ".tmp-notours"), nil, 0o644)
	if _, err := Open(other, Options{Logger: quiet}); err == nil {
		t.Errorf("Open of a directory holding a foreign file opened it; want ErrNotStore")
	}
}
