package disk

import (
	"os"

	"golang.org/x/sys/unix"
)

// groupSync reports that syncFS is available: the files of a batch are
// written without a sync each and made durable together by one syncfs(2).
const groupSync = true

// syncFS makes durable every file written, and every directory entry
// changed, on the file system that holds dir: syncfs(2), which also writes
// back the rest of that file system's dirty data. On ext4 (a shared VM),
// one syncfs after writing 256 files of 6 KiB took about 7 ms, 26 µs a
// file, where an fsync each took 80 to 700 µs a file, serial or from 8 to
// 256 goroutines at once. Linux reports a write-back error to syncfs since
// 5.8; before, it returns nil all the same.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err := unix.Syncfs(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
