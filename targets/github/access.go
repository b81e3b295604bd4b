package github

import (
	"slices"
	"strings"

	"github.com/roster-dev/roster/targets"
)

// How an account holds access, directly or through something else. One set of rules for
// Read, ReadAccount and Apply:
//
//   - an immediate member of team D holds team:D (or team:D:maintainer) directly, and
//     team:A through that for every ancestor A of D (GitHub's nested teams);
//   - an organisation owner in team D is reported as its maintainer whatever role it was
//     given, so its membership reads as team:D directly and team:D:maintainer through
//     team:D;
//   - repo:R:P is direct when R's collaborators listed with affiliation=direct give it
//     role P above every other source; the other sources are inherited, each with the
//     roles it implies (read < triage < write < maintain < admin): a team given access
//     to R (through its membership of each team D it is an immediate member of that is
//     that team or one of its descendants), the organisation's base permission (members),
//     and ownership (admin, through role:admin). GitHub reports only the highest role
//     from all sources, so a direct grant that is not above them cannot be seen: it is
//     left alone until the other access goes;
//   - a pending repository invitation holds its permission directly.

// viaBase names the organisation's base permission as the source of inherited access.
const viaBase = "organisation base permission"

// orgView is what a read learned of the organisation besides the accounts: what
// ReadAccount and Apply need to tell direct from inherited access.
type orgView struct {
	// base is the organisation's default_repository_permission: read, write, admin or none.
	base string
	// parent maps a team's slug to its parent's ("" for a top-level team), for the teams
	// known.
	parent map[string]string
	// repos are the repositories read, by name; repoTeams the teams given access to each
	// (by lower-case name).
	repos     []string
	repoTeams map[string][]teamAccess
}

// teamAccess is a team's role on a repository: read, triage, write, maintain or admin.
type teamAccess struct {
	slug, perm string
}

// source is one way of reaching a repository other than a direct grant.
type source struct {
	perm, via string
}

// ancestors are the known ancestors of team slug, nearest first.
func (v *orgView) ancestors(slug string) []string {
	var out []string
	seen := map[string]bool{slug: true}
	for p := v.parent[slug]; p != "" && !seen[p]; p = v.parent[p] {
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// teamEntitlements are what an immediate membership of team slug with the role GitHub
// reports gives: the direct entitlement and those held through it.
func (v *orgView) teamEntitlements(slug, role string, owner bool) (string, []targets.Inherited) {
	var inh []targets.Inherited
	if owner {
		role = "member"
		inh = append(inh, targets.Inherited{Entitlement: teamEnt(slug, maintainer), Via: teamEnt(slug, role)})
	}
	direct := teamEnt(slug, role)
	for _, a := range v.ancestors(slug) {
		inh = append(inh, targets.Inherited{Entitlement: teamEnt(a, "member"), Via: direct})
	}
	return direct, inh
}

// repoSources are the ways an account reaches repository repo other than a direct grant:
// as an owner, through the base permission as a member, and through the teams given
// access, for each team it is an immediate member of that is such a team or a descendant
// of one. myTeams maps those teams' slugs to the account's direct entitlement there.
func (v *orgView) repoSources(repo string, owner, member bool, myTeams map[string]string) []source {
	var out []source
	if owner {
		out = append(out, source{"admin", roleAdmin})
	}
	if member && rank(v.base) > 0 {
		out = append(out, source{v.base, viaBase})
	}
	for _, ta := range v.repoTeams[strings.ToLower(repo)] {
		for d, ent := range myTeams {
			if d == ta.slug || slices.Contains(v.ancestors(d), ta.slug) {
				out = append(out, source{ta.perm, ent})
			}
		}
	}
	return out
}

// rank orders the repository roles: read 1 … admin 5; anything else 0.
func rank(perm string) int { return slices.Index(permissions, perm) + 1 }

// repoAccess is what an account holds on repository repo: direct, its role from the
// collaborators listed with affiliation=direct ("" when not listed); invited, the
// permission of its pending invitation (""); srcs, its other sources.
func repoAccess(repo, direct, invited string, srcs []source) ([]string, []targets.Inherited) {
	var ents []string
	var inh []targets.Inherited
	top := 0
	for _, s := range srcs {
		top = max(top, rank(s.perm))
		for _, p := range permissions[:rank(s.perm)] {
			inh = append(inh, targets.Inherited{Entitlement: repoEnt(repo, p), Via: s.via, Implied: p != s.perm})
		}
	}
	if rank(direct) > top {
		ents = append(ents, repoEnt(repo, direct))
	}
	if rank(invited) > 0 {
		ents = append(ents, repoEnt(repo, invited))
	}
	return ents, inh
}

// apiRole is the repository role of an API permission name (pull, push, …) or role name.
func apiRole(p string) string {
	for role, api := range apiPermission {
		if p == api || p == role {
			return role
		}
	}
	return ""
}
