//go:build unix

package dirfs

import (
	"io/fs"
	"syscall"
)

func readFile(f FS, name string) ([]byte, error) {
	fail := func(op string, err error) ([]byte, error) {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(f.dir+"/"+name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return fail("open", err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fail("stat", err)
	}
	// One byte more than the size, so that a file read whole is seen to end on the
	// second read; a file that grows meanwhile is read on.
	b := make([]byte, 0, max(st.Size, 0)+1)
	for {
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fail("read", err)
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
