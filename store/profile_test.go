package store_test

import (
	"testing"

	"github.com/regen-dev/regen/internal/storetest"
	"github.com/regen-dev/regen/store"
)

// TestProfileRevalidation runs the stores' shared test of profile
// revalidations on Memory.
func TestProfileRevalidation(t *testing.T) {
	storetest.ProfileRevalidation(t, func(t *testing.T) store.Store { return store.NewMemory(store.MemoryOptions{}) }, nil)
}
