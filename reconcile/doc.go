// Package reconcile decides what must change: the access every person should have at a time
// T, the correlation of live accounts to people, and the difference as a Plan. It is pure:
// no I/O and no clock; it knows nothing of CUE, git or any target's protocol, only the model
// and target snapshots.
package reconcile
