package disk

import (
	"testing"

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
