package gitrepo

import "strings"

// Short abbreviates a commit hash to its first 10 characters, as messages, logs and views
// name commits.
func Short(hash string) string {
	if len(hash) > 10 {
		return hash[:10]
	}
	return hash
}

// Subject is a commit message's first line.
func Subject(message string) string {
	if i := strings.IndexByte(message, '\n'); i >= 0 {
		return message[:i]
	}
	return message
}
