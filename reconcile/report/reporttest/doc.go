// Package reporttest opens the report's HTML page in headless Chromium (the Debian package
// chromium; `make deps` installs it; its absence fails the test rather than skipping it)
// and reads back what the browser shows: the DOM it dumps, parsed (ParseDOM, Node), the
// page's numbers checked against the JSON of the same report (CheckNumbers), and
// screenshots kept as test artifacts.
//
// It is test-only: the report's own tests and the command line's end-to-end report tests
// use it; no product package imports it.
package reporttest
