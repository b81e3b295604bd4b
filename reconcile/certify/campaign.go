package certify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"cuelang.org/go/cue/format"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
)

// BranchPrefix starts the branches of access-review campaigns.
const BranchPrefix = "roster/certify/"

// Campaign is one owner's access review: the members of each of their roles when it was
// opened. Its exported fields are its Marker's content.
type Campaign struct {
	ID      string              `json:"id"`
	Owner   string              `json:"owner"`
	Opened  string              `json:"opened"`
	Due     string              `json:"due"`
	Members map[string][]string `json:"roles"` // role → members when opened
	how     map[string]string   // role\x00person → how they hold it; not in the marker
}

// NewCampaign lists the people employed at now who hold each of roles, directly, through a
// rule or through an include, for owner to review by due. Every role is in Members, with no
// members when nobody holds it.
func NewCampaign(repo *model.Repo, owner string, roles []string, today, due model.Date, now time.Time) *Campaign {
	c := &Campaign{ID: fmt.Sprintf("%s-%s", due, owner), Owner: owner, Opened: today.String(), Due: due.String(),
		Members: map[string][]string{}, how: map[string]string{}}
	ix := repo.Index()
	for _, id := range model.SortedKeys(repo.People) {
		p := repo.People[id]
		if !reconcile.Active(p, &repo.Settings, now) {
			continue
		}
		eff := ix.Effective(p)
		rules := ix.RuleRoles(p)
		for _, role := range roles {
			if !slices.Contains(eff, role) {
				continue
			}
			c.Members[role] = append(c.Members[role], id)
			switch {
			case slices.Contains(p.Roles, role):
				c.how[role+"\x00"+id] = "direct"
			case rules[role] != "":
				c.how[role+"\x00"+id] = "rule " + rules[role]
			default:
				c.how[role+"\x00"+id] = "included by another role"
			}
		}
	}
	for _, role := range roles {
		if c.Members[role] == nil {
			c.Members[role] = []string{}
		}
	}
	return c
}

// How says how person held role when the campaign was opened ("direct", "rule NAME",
// "included by another role"); empty for a campaign read back from its Marker, which does
// not carry it.
func (c *Campaign) How(role, person string) string { return c.how[role+"\x00"+person] }

// Branch is the campaign's branch.
func (c *Campaign) Branch() string { return BranchPrefix + c.ID }

// Path is the campaign's certifications file in the access repo.
func (c *Campaign) Path() string { return "certifications/" + c.ID + ".cue" }

const markerStart, markerEnd = "<!-- roster:certify ", " -->"

// Marker is the campaign as an HTML comment hidden in its pull request's body, read back by
// ParseMarker when the owner's edits are acted on.
func (c *Campaign) Marker() string {
	b, _ := json.Marshal(c)
	return markerStart + string(b) + markerEnd
}

// ParseMarker finds a campaign's Marker in a pull request's body; false when there is none
// or it does not parse.
func ParseMarker(body string) (*Campaign, bool) {
	i := strings.Index(body, markerStart)
	if i < 0 {
		return nil, false
	}
	rest := body[i+len(markerStart):]
	j := strings.Index(rest, markerEnd)
	var c Campaign
	if j < 0 || json.Unmarshal([]byte(rest[:j]), &c) != nil {
		return nil, false
	}
	return &c, true
}

// File renders the campaign as a certifications entry of the CUE package pkg, formatted.
func (c *Campaign) File(pkg string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "package %s\n\n// Access review of %s's roles, opened %s by roster certify, due %s.\n", pkg, c.Owner, c.Opened, c.Due)
	b.WriteString("// Approving the pull request attests that everyone listed still needs the role. To revoke\n")
	b.WriteString("// someone, delete their name here: roster certify, run again, then removes the role from\n")
	b.WriteString("// their entry in this pull request.\n")
	fmt.Fprintf(&b, "certifications: %s: {\nowner: %s\nopened: %s\ndue: %s\nroles: {\n", quote(c.ID), quote(c.Owner), quote(c.Opened), quote(c.Due))
	for _, role := range model.SortedKeys(c.Members) {
		fmt.Fprintf(&b, "%s: [", quote(role))
		for i, m := range c.Members[role] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quote(m))
		}
		b.WriteString("]\n")
	}
	b.WriteString("}\n}\n")
	return format.Source(b.Bytes())
}

// Title is the campaign's pull request title.
func (c *Campaign) Title() string {
	total := 0
	for _, ms := range c.Members {
		total += len(ms)
	}
	members := "members"
	if total == 1 {
		members = "member"
	}
	return fmt.Sprintf("Access review: %s's roles (%d %s), due %s", c.Owner, total, members, c.Due)
}

// Body is the campaign's pull request body after its Marker: how to attest or revoke, and a
// table of each role's members from repo.
func (c *Campaign) Body(repo *model.Repo) string {
	var b strings.Builder
	owner := c.Owner
	if p := repo.People[owner]; p != nil {
		owner = p.Name + " (" + owner + ")"
	}
	fmt.Fprintf(&b, "**%s**, please review who holds your roles, by **%s**.\n\n", owner, c.Due)
	b.WriteString("- **Approve** this pull request to attest that everyone listed still needs the role; merging records it.\n")
	fmt.Fprintf(&b, "- **To revoke** someone, delete their name in `%s` and push: roster removes the role from their entry in this pull request; they lose it when it is merged.\n", c.Path())
	b.WriteString("- Left unattested past the due date, the review shows in `roster plan` and `roster upcoming`.\n")
	for _, role := range model.SortedKeys(c.Members) {
		desc := ""
		if r := repo.Roles[role]; r != nil && r.Description != "" {
			desc = " — " + r.Description
		}
		fmt.Fprintf(&b, "\n#### `%s`%s\n\n", role, desc)
		if len(c.Members[role]) == 0 {
			b.WriteString("No members.\n")
			continue
		}
		b.WriteString("| person | name | type | department | holds it through |\n|---|---|---|---|---|\n")
		for _, m := range c.Members[role] {
			p := repo.People[m]
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", m, p.Name, p.Type, p.Department, c.How(role, m))
		}
	}
	return b.String()
}

// quote is s as a CUE (and JSON) string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Due lists the certifications that a campaign branch's repo has and head, the protected
// branch's, has not (not merged: not attested) whose due date is before today.
func Due(head, campaign *model.Repo, branch string, today model.Date) []reconcile.ReviewDue {
	var out []reconcile.ReviewDue
	for _, id := range model.SortedKeys(campaign.Certifications) {
		c := campaign.Certifications[id]
		if head.Certifications[id] != nil || !c.Due.Before(today) {
			continue
		}
		out = append(out, reconcile.ReviewDue{ID: id, Owner: c.Owner, Due: c.Due.String(), Branch: branch, Roles: model.SortedKeys(c.Roles)})
	}
	return out
}

// DueDays is how many days an owner has for a review when no due date is given.
const DueDays = 14

// ByOwner groups the roles to review by the owner who reviews them (one campaign each):
// roles as named (--role), then with all (--all) every role that has an owner. A role that
// does not exist or has no owner is invalid input, and so is nothing to review.
func ByOwner(repo *model.Repo, roles []string, all bool) (map[string][]string, error) {
	selected := roles
	if all {
		for _, id := range model.SortedKeys(repo.Roles) {
			if repo.Roles[id].Owner != "" {
				selected = append(selected, id)
			}
		}
	}
	if len(selected) == 0 {
		return nil, model.Invalidf("certify --all: no role has an owner to review it (roles: owner: \"person\")")
	}
	byOwner := map[string][]string{}
	for _, id := range selected {
		r := repo.Roles[id]
		switch {
		case r == nil:
			return nil, model.Invalidf("--role %q: no such role", id)
		case r.Owner == "":
			return nil, model.Invalidf("--role %q: the role has no owner to review it", id)
		}
		if !slices.Contains(byOwner[r.Owner], id) {
			byOwner[r.Owner] = append(byOwner[r.Owner], id)
		}
	}
	return byOwner, nil
}
