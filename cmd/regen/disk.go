package main

import (
	"log/slog"

	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

// openDisk opens the disk store on dir (the output of regen build) and
// returns it with its close. maxBytes bounds its memory tier.
func openDisk(dir string, maxBytes int64, logger *slog.Logger) (store.Store, func() error, error) {
	ds, err := disk.Open(dir, disk.Options{Logger: logger, Memory: store.MemoryOptions{MaxBytes: maxBytes}})
	if err != nil {
		return nil, nil, err
	}
	return ds, ds.Close, nil
}
