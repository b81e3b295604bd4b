package builtin

import (
	"sync"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/csv"
	"github.com/roster-dev/roster/targets/entra"
	"github.com/roster-dev/roster/targets/github"
	"github.com/roster-dev/roster/targets/ldap"
	"github.com/roster-dev/roster/targets/postgres"
	"github.com/roster-dev/roster/targets/scim"
)

var (
	mu    sync.Mutex
	extra []*targets.Type
)

// Registry returns a new registry of every target type roster knows, and the types added
// with Extend.
func Registry() *targets.Registry {
	r := targets.NewRegistry()
	r.Register(csv.Type)
	r.Register(ldap.Type)
	r.Register(postgres.Type)
	r.Register(entra.Type)
	r.Register(github.Type)
	r.Register(scim.Type)
	mu.Lock()
	defer mu.Unlock()
	for _, t := range extra {
		r.Register(t)
	}
	return r
}

// Extend adds t to every registry Registry returns from now on. It is for tests (an
// in-memory target a test's access repo names), called from an init function; a name
// registered twice makes Registry panic.
func Extend(t *targets.Type) {
	mu.Lock()
	defer mu.Unlock()
	extra = append(extra, t)
}
