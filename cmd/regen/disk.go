package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

// openDisk opens the disk store on dir (the output of regen build) and
// returns it with its close. maxBytes bounds its memory tier. A directory
// that holds files but no build is refused, untouched, with the command
// that makes one.
func openDisk(dir string, maxBytes int64, logger *slog.Logger) (store.Store, func() error, error) {
	ds, err := disk.Open(dir, disk.Options{Logger: logger, Memory: store.MemoryOptions{MaxBytes: maxBytes}})
	if errors.Is(err, disk.ErrNotStore) {
		return nil, nil, fmt.Errorf("%w (to serve a build there: regen build --out %s)", err, dir)
	}
	if err != nil {
		return nil, nil, err
	}
	return ds, ds.Close, nil
}
