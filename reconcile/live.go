package reconcile

import (
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// CapsOf are the Caps of each system l read (targets.ReadAll), by name.
func CapsOf(l *targets.Live) map[string]Caps {
	caps := make(map[string]Caps, len(l.Caps))
	for name, c := range l.Caps {
		caps[name] = Caps{Type: c.Type, ReadOnly: c.ReadOnly, CanDisable: c.CanDisable, KeepsAccounts: c.KeepsAccounts}
	}
	return caps
}

// LiveOptions are the options of a plan at at, from commit, against what l read: the
// systems' Caps, the scopes they were read with, and the systems that could not be read.
// Previous is left for the caller. Unread is l's own map.
func LiveOptions(l *targets.Live, at time.Time, commit string) Options {
	return Options{At: at, Commit: commit, Caps: CapsOf(l), Scopes: l.Scopes, Unread: l.Unread}
}

// TypeCaps are the Caps of the systems names of repo as their types in reg declare them,
// without opening the systems: what a plan needs to say what a leaving revokes when the
// systems are not read. A system of a type reg does not know has none.
func TypeCaps(reg *targets.Registry, repo *model.Repo, names []string) map[string]Caps {
	caps := map[string]Caps{}
	for _, name := range names {
		sys := repo.Systems[name]
		if typ, ok := reg.Lookup(sys.Type); ok {
			caps[name] = Caps{Type: sys.Type, ReadOnly: typ.ReadOnly, CanDisable: typ.CanDisable}
		}
	}
	return caps
}
