package disk

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/storetest"
	"github.com/regen-dev/regen/store"
)

// TestProfileRevalidation runs the stores' shared test of profile
// revalidations, reopening the directory after a Close (tags.json) and
// after a crash (the journal replayed).
func TestProfileRevalidation(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := map[bool]string{false: "close", true: "crash"}[crash]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			storetest.ProfileRevalidation(t,
				func(t *testing.T) store.Store { return open(t, dir, Options{}) },
				func(t *testing.T, s store.Store) store.Store {
					if crash {
						s.(*Store).abandon()
					} else {
						s.(*Store).Close()
					}
					return open(t, dir, Options{})
				})
		})
	}
}

// TestTagsFileFromEarlierVersion: a tags.json written before profiles
// (only stale and expire per tag) reads as before, with no profile pair.
func TestTagsFileFromEarlierVersion(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{}).Close() // a store directory: its manifest.json
	old := `{"version":1,"tags":{"posts":{"stale":"2026-05-01T12:01:00Z"},"users":{"expire":"2026-05-01T12:02:00Z"}}}`
	if err := os.WriteFile(filepath.Join(dir, "tags.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, Options{})
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		tags []string
		want store.TagState
	}{
		{[]string{"posts"}, store.TagState{Stale: true}},
		{[]string{"users"}, store.TagState{Stale: true, Expired: true}},
		{[]string{"other"}, store.TagState{}},
	}
	for _, tt := range tests {
		if got, err := s.TagState(context.Background(), tt.tags, t0); err != nil || got != tt.want {
			t.Errorf("TagState(%q) = %+v, %v; want %+v", tt.tags, got, err, tt.want)
		}
	}
}
