package sqlite

import (
	"os"
	"syscall"
)

// datasync writes f's data, and what of its metadata reading it needs,
// to stable storage: fdatasync, as SQLite syncs its files on Linux.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
