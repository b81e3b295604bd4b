package fileid

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

func of(fi fs.FileInfo, now time.Time) (string, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || now.Sub(time.Unix(st.Ctim.Sec, st.Ctim.Nsec)) < recent {
		return "", false
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), true
}
