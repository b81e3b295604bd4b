package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"cuelang.org/go/cue/format"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// certifyPrefix starts the branches of access-review campaigns.
const certifyPrefix = "roster/certify/"

func runCertify(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("certify", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var rf repoFlags
	rf.register(flags)
	var roles multiFlag
	flags.Var(&roles, "role", "review this role (repeatable)")
	all := flags.Bool("all", false, "review every role that has an owner")
	due := flags.String("due", "", "the date the review is due (YYYY-MM-DD; default 14 days from today)")
	branch := flags.String("branch", "", "the protected branch (default: the repo's default branch)")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	if (len(roles) == 0) == !*all {
		return invalidf("certify: name the roles to review (--role NAME, repeatable) or --all")
	}
	if !gitrepo.IsRemote(rf.dir) || rf.ref != "" {
		return invalidf("certify: --repo must be a remote (https://, ssh:// or file://): the campaign is a pull request")
	}
	o, err := openGitops(ctx, e, &rf, *branch)
	if err != nil {
		return err
	}
	if o.fg == nil {
		return invalidf("certify: the access repo has no settings.forge to open pull requests on")
	}
	t, err := o.tip(ctx)
	if err != nil {
		return err
	}
	head, repo := t.commit, t.repo
	now := time.Now()
	loc := repo.Settings.Location
	today := model.DateOf(now, loc)
	dueDate := today.AddDays(14)
	if *due != "" {
		if dueDate, err = model.ParseDate(*due); err != nil {
			return invalidf("--due %q: want a date (2026-12-07)", *due)
		}
		if dueDate.Before(today) {
			return invalidf("--due %s is in the past", dueDate)
		}
	}
	selected := roles
	if *all {
		for _, id := range model.SortedKeys(repo.Roles) {
			if repo.Roles[id].Owner != "" {
				selected = append(selected, id)
			}
		}
	}
	if len(selected) == 0 {
		return invalidf("certify --all: no role has an owner to review it (roles: owner: \"person\")")
	}
	byOwner := map[string][]string{}
	for _, id := range selected {
		r := repo.Roles[id]
		switch {
		case r == nil:
			return invalidf("--role %q: no such role", id)
		case r.Owner == "":
			return invalidf("--role %q: the role has no owner to review it", id)
		}
		if !slices.Contains(byOwner[r.Owner], id) {
			byOwner[r.Owner] = append(byOwner[r.Owner], id)
		}
	}
	open, err := o.fg.Pulls(ctx, "open", "")
	if err != nil {
		return err
	}
	var errs []error
	for _, owner := range model.SortedKeys(byOwner) {
		c := newCampaign(repo, owner, byOwner[owner], today, dueDate, now)
		var cur *forge.PR
		for _, pr := range open {
			if pr.Head == c.branch() {
				cur = pr
			}
		}
		if cur != nil {
			err = o.refreshCampaign(ctx, e, cur)
		} else {
			err = o.openCampaign(ctx, e, repo, head, c)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs...)
}

// campaign is one owner's access review.
type campaign struct {
	ID      string              `json:"id"`
	Owner   string              `json:"owner"`
	Opened  string              `json:"opened"`
	Due     string              `json:"due"`
	Members map[string][]string `json:"roles"` // role → members when opened
	how     map[string]string   // role\x00person → how they hold it
}

func (c *campaign) branch() string { return certifyPrefix + c.ID }

// newCampaign lists the people employed at now who hold each role, directly, through a rule
// or through an include.
func newCampaign(repo *model.Repo, owner string, roles []string, today, due model.Date, now time.Time) *campaign {
	c := &campaign{ID: fmt.Sprintf("%s-%s", due, owner), Owner: owner, Opened: today.String(), Due: due.String(),
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

const certifyMarkerStart = "<!-- roster:certify "

func (c *campaign) marker() string {
	b, _ := json.Marshal(c)
	return certifyMarkerStart + string(b) + " -->"
}

func parseCampaign(body string) (*campaign, bool) {
	i := strings.Index(body, certifyMarkerStart)
	if i < 0 {
		return nil, false
	}
	rest := body[i+len(certifyMarkerStart):]
	j := strings.Index(rest, " -->")
	var c campaign
	if j < 0 || json.Unmarshal([]byte(rest[:j]), &c) != nil {
		return nil, false
	}
	return &c, true
}

// file renders the campaign as a certifications entry.
func (c *campaign) file(pkg string) ([]byte, error) {
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

// quote is s as a CUE (and JSON) string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (c *campaign) path() string { return "certifications/" + c.ID + ".cue" }

// openCampaign commits the campaign on its branch and opens its pull request, with the
// owner asked to review.
func (o *gitops) openCampaign(ctx context.Context, e *env, repo *model.Repo, head string, c *campaign) error {
	fsys, err := o.g.FS(head)
	if err != nil {
		return err
	}
	pkg, err := schema.PackageName(fsys)
	if err != nil {
		return err
	}
	src, err := c.file(pkg)
	if err != nil {
		return fmt.Errorf("format %s: %w", c.path(), err)
	}
	total := 0
	for _, ms := range c.Members {
		total += len(ms)
	}
	title := fmt.Sprintf("Access review: %s's roles (%s), due %s", c.Owner, count(total, "member", "members"), c.Due)
	var reviewers []string
	if l := login(repo, c.Owner); l != "" {
		reviewers = append(reviewers, l)
	}
	return o.publish(ctx, e, nil, proposal{branch: c.branch(), head: head, title: title, body: c.marker() + "\n" + campaignBody(repo, c),
		why: "Opened by roster certify.", files: map[string][]byte{c.path(): src}, labels: []string{"roster", "certification"}, reviewers: reviewers})
}

func campaignBody(repo *model.Repo, c *campaign) string {
	var b strings.Builder
	owner := c.Owner
	if p := repo.People[owner]; p != nil {
		owner = p.Name + " (" + owner + ")"
	}
	fmt.Fprintf(&b, "**%s**, please review who holds your roles, by **%s**.\n\n", owner, c.Due)
	b.WriteString("- **Approve** this pull request to attest that everyone listed still needs the role; merging records it.\n")
	fmt.Fprintf(&b, "- **To revoke** someone, delete their name in `%s` and push: roster removes the role from their entry in this pull request; they lose it when it is merged.\n", c.path())
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
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", m, p.Name, p.Type, p.Department, c.how[role+"\x00"+m])
		}
	}
	return b.String()
}

// refreshCampaign acts on the owner's edits to an open campaign: members they deleted from
// the certifications entry lose the role, by a commit on the campaign's branch that removes
// it from their entry. Someone who holds the role through a rule or an include is named in
// a comment instead: the rule or the including role must change.
func (o *gitops) refreshCampaign(ctx context.Context, e *env, pr *forge.PR) error {
	proposed, ok := parseCampaign(pr.Body)
	if !ok {
		return fmt.Errorf("#%d: no roster marker in its description; leave it alone or close it", pr.Number)
	}
	tip, ok, err := o.g.Branch(proposed.branch())
	if err != nil || !ok {
		return fmt.Errorf("#%d: branch %s: not found (%v)", pr.Number, proposed.branch(), err)
	}
	repo, err := o.load(ctx, tip)
	if err != nil {
		var xe *exitError
		if errors.As(err, &xe) {
			fmt.Fprintf(e.stdout, "%s: #%d is not a valid access repo at %s; fix it first:\n%v\n", proposed.branch(), pr.Number, short(tip), xe.err)
			return nil
		}
		return err
	}
	cert := repo.Certifications[proposed.ID]
	if cert == nil {
		fmt.Fprintf(e.stdout, "%s: #%d no longer has certifications.%s; nothing to do\n", proposed.branch(), pr.Number, proposed.ID)
		return nil
	}
	fsys, err := o.g.FS(tip)
	if err != nil {
		return err
	}
	edits := fstest.MapFS{}
	var removed, manual []string
	ix := repo.Index()
	for _, role := range model.SortedKeys(proposed.Members) {
		for _, m := range proposed.Members[role] {
			p := repo.People[m]
			if slices.Contains(cert.Roles[role], m) || p == nil || !slices.Contains(ix.Effective(p), role) {
				continue // kept, gone, or already without the role
			}
			if !slices.Contains(p.Roles, role) {
				manual = append(manual, fmt.Sprintf("`%s` holds `%s` through %s: change that rule or role, or %s's attributes", m, role, proposed.how[role+"\x00"+m], m))
				continue
			}
			file, src, changed, err := schema.RemoveFromList(overlay{base: fsys, edits: edits}, "people", m, "roles", role)
			if err != nil {
				return fmt.Errorf("#%d: remove %s from %s: %w", pr.Number, role, m, err)
			}
			if changed {
				edits[file] = &fstest.MapFile{Data: src}
				removed = append(removed, fmt.Sprintf("`%s` from `%s`", role, m))
			}
		}
	}
	if len(removed) == 0 {
		if len(manual) == 0 {
			fmt.Fprintf(e.stdout, "%s: #%d unchanged\n", proposed.branch(), pr.Number)
		}
	} else {
		files := map[string][]byte{}
		for p, f := range edits {
			files[p] = f.Data
		}
		msg := "Revoke " + strings.Join(removed, ", ") + "\n\nRemoved in the access review " + proposed.ID + " by its owner."
		if _, err := o.g.CommitFiles(ctx, gitrepo.NewCommit{Branch: proposed.branch(), Parent: tip, Files: files, Message: msg, Author: rosterSignature(e, time.Now())}); err != nil {
			return fmt.Errorf("commit %s: %w", proposed.branch(), err)
		}
		if err := o.g.Push(ctx, proposed.branch(), false); err != nil {
			return fmt.Errorf("push %s: %w", proposed.branch(), err)
		}
		fmt.Fprintf(e.stdout, "%s: #%d revokes %s\n", proposed.branch(), pr.Number, strings.Join(removed, ", "))
	}
	if len(removed) > 0 || len(manual) > 0 {
		var b strings.Builder
		if len(removed) > 0 {
			fmt.Fprintf(&b, "roster removed %s in this pull request: they lose the role when it is merged.\n", strings.Join(removed, ", "))
		}
		if len(manual) > 0 {
			b.WriteString("\nroster cannot remove these here:\n\n- " + strings.Join(manual, "\n- ") + "\n")
		}
		if _, err := o.fg.StickyComment(ctx, pr.Number, "<!-- roster:certify-edits -->", b.String()); err != nil {
			return err
		}
	}
	return nil
}

// reviewsDue lists the campaigns on roster/certify/* branches whose entry is not on the
// protected branch (not merged: not attested) and whose due date is before at.
func (o *gitops) reviewsDue(ctx context.Context, head *model.Repo, at time.Time) []reconcile.ReviewDue {
	return o.reviewsDueBefore(ctx, head, model.DateOf(at, head.Settings.Location))
}

// reviewsDueBefore is reviewsDue for campaigns due before a date.
func (o *gitops) reviewsDueBefore(ctx context.Context, head *model.Repo, today model.Date) []reconcile.ReviewDue {
	branches, err := o.g.Branches(certifyPrefix)
	if err != nil {
		return nil
	}
	var out []reconcile.ReviewDue
	for _, br := range branches {
		tip, ok, err := o.g.Branch(br)
		if err != nil || !ok {
			continue
		}
		repo, err := o.load(ctx, tip)
		if err != nil {
			continue
		}
		for _, id := range model.SortedKeys(repo.Certifications) {
			c := repo.Certifications[id]
			if head.Certifications[id] != nil || !c.Due.Before(today) {
				continue
			}
			out = append(out, reconcile.ReviewDue{ID: id, Owner: c.Owner, Due: c.Due.String(), Branch: br, Roles: model.SortedKeys(c.Roles)})
		}
	}
	return out
}

// overlay is base with some files replaced: the access repo as edits made so far leave it.
type overlay struct {
	base  fs.FS
	edits fstest.MapFS
}

func (o overlay) Open(name string) (fs.File, error) {
	if _, ok := o.edits[name]; ok {
		return o.edits.Open(name)
	}
	return o.base.Open(name)
}

var _ fs.FS = overlay{}
