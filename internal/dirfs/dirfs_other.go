//go:build !unix

package dirfs

import "io/fs"

func readFile(f FS, name string) ([]byte, error) { return fs.ReadFile(f.FS, name) }
