package main

import (
	"errors"

	"github.com/regen-dev/regen/store"
)

// openDisk opens the disk store on dir and returns it with its close.
func openDisk(dir string) (store.Store, func() error, error) {
	return nil, nil, errors.New("--dir " + dir + ": the disk store (store/disk) is not available yet")
}
