package main

import (
	"log/slog"

	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

// openDisk opens the disk store on dir (the output of regen build) and
// returns it with its close.
func openDisk(dir string, logger *slog.Logger) (store.Store, func() error, error) {
	ds, err := disk.Open(dir, disk.Options{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return ds, ds.Close, nil
}
