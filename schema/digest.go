package schema

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
)

// Digest identifies the access repo in fsys by content: "sha256:" and the SHA-256 of the
// .cue files Load reads (the same files: hidden ones and cue.mod left out), each as its
// slash-separated path and its bytes, in lexical order. Two directories with the same
// access files have the same digest whatever else they hold (a saved plan file, an
// export a csv system reads); any edit, addition, removal or rename of a .cue file
// changes it. A saved plan made from a plain directory records it (roster plan --out).
func Digest(fsys fs.FS) (string, error) {
	names, err := cueFiles(fsys)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var n [8]byte
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", name, err)
		}
		// Lengths first, so that no two file sets hash the same stream.
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
