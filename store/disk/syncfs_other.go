//go:build !linux

package disk

import "errors"

// groupSync reports that syncFS is available. It is not on this system:
// each file is synced when it is written, and the writers' concurrent
// syncs are merged only as far as the file system does.
const groupSync = false

func syncFS(dir string) error { return errors.New("disk: syncfs is not available on this system") }
