// Package fileid tells whether a file may have changed since it was last read without
// reading it again, as git's index does: by its device, inode, size and the times of its
// last modification and change. Any write changes the ctime, which no one can set back.
//
// File times tick coarsely (a few milliseconds), so a file written twice in one tick can
// keep them: like git with its racily clean entries, Of declines a file changed in the
// last second, whose bytes the caller must then compare.
package fileid

import (
	"io/fs"
	"time"
)

// Of returns fi's identity, and false when fi tells none (a file system other than the
// operating system's, a git tree) or was changed less than a second ago.
func Of(fi fs.FileInfo) (string, bool) {
	return of(fi, time.Now())
}

// recent is how long after a change a file's times are not trusted.
const recent = time.Second
