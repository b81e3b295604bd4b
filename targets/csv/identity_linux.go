package csv

import (
	"fmt"
	"io/fs"
	"syscall"
)

// fileIdentity is fi's device, inode, size, mtime and ctime, when fi is of the operating
// system's files.
func fileIdentity(fi fs.FileInfo) (string, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), true
}
