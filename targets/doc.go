// Package targets is the live side of roster: one package per kind of system, each reading
// the accounts that really exist and (unless read-only) changing them, behind one small
// interface. A target knows nothing of people or roles: it reads and changes accounts and
// their entitlements. The registry maps a system's `type` to its constructor and declares,
// before anything connects, what each type can do, so unsupported operations are known at
// plan time.
package targets
