// Package localdir is an access repo kept as a plain directory or a work tree. It writes
// its files: roster's edits (an HR import, a local emergency revocation) and what it saves
// beside them (a saved plan), each written whole or not at all (WriteAtomic). And it
// watches them with fsnotify (Watch): the whole tree, directories made later included,
// leaving out what the loader skips and editors' temporary files, and tells bursts of
// saves apart, one Burst per pause.
//
// It does not load, validate or plan the repo: schema and reconcile/planner do, and the
// command line says what a burst changed.
package localdir
