package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

// openDisk opens the disk store on dir (the output of regen build) and
// returns it with its close. maxBytes bounds its memory tier. A directory
// that does not exist is refused rather than created (disk.Open would
// create it, and a mistyped --dir would serve an empty build), and one that
// holds files but no build is refused, untouched: both errors name the
// command that makes a build.
func openDisk(dir string, maxBytes int64, logger *slog.Logger) (store.Store, func() error, error) {
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("--dir %s: no such directory (run regen build --out %s first)", dir, dir)
	case err != nil:
		return nil, nil, fmt.Errorf("--dir %s: %w", dir, err)
	case !fi.IsDir():
		return nil, nil, fmt.Errorf("--dir %s: not a directory (run regen build --out DIR first, and serve DIR)", dir)
	}
	ds, err := disk.Open(dir, disk.Options{Logger: logger, Memory: store.MemoryOptions{MaxBytes: maxBytes}})
	if errors.Is(err, disk.ErrNotStore) {
		return nil, nil, fmt.Errorf("%w (to serve a build there: regen build --out %s)", err, dir)
	}
	if err != nil {
		return nil, nil, err
	}
	return ds, ds.Close, nil
}
