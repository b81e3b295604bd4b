package approval

import (
	"fmt"
	"strings"

	"github.com/roster-dev/roster/schema/model"
)

// Login returns a person's GitHub login: accounts.github, else their account on a system
// of type github; "" when the repo does not say.
func Login(repo *model.Repo, person string) string {
	p := repo.People[person]
	if p == nil {
		return ""
	}
	if l := p.Accounts["github"]; l != "" {
		return l
	}
	for _, id := range model.SortedKeys(repo.Systems) {
		if sys := repo.Systems[id]; sys.Type == "github" {
			if l := p.Accounts[id]; l != "" {
				return l
			}
		}
	}
	return ""
}

// Standing is a change's approvals judged against its rules.
type Standing struct {
	Counted  []string // approvers whose approval counts
	Required []string // what the change needs, in words, for the pull request's comment
	Missing  []string // what it still lacks; none when it is approved
}

// Status is the commit status the standing sets on the pull request's head: "success",
// naming the approvers that count, once nothing is missing; else "pending", naming the
// first thing it still lacks.
func (s Standing) Status() (state, description string) {
	if len(s.Missing) > 0 {
		return "pending", s.Missing[0]
	}
	return "success", "approved: " + strings.Join(s.Counted, ", ")
}

// Judge applies the approval rules to a change authored by author and approved by
// approvers (GitHub logins): one approval (two when it revokes more than
// settings.maxRevocations) from someone other than its author, its committers and the
// people it grants access to; the owner of every role it changes; the owner of every access
// review it adds or edits. Logins compare without case.
func Judge(head *model.Repo, ch *Change, author string, approvers []string) Standing {
	var st Standing
	excluded := map[string]string{strings.ToLower(author): "the author"}
	for _, p := range ch.Grantees {
		if l := Login(head, p); l != "" {
			if _, ok := excluded[strings.ToLower(l)]; !ok {
				excluded[strings.ToLower(l)] = "granted access by it"
			}
		}
	}
	for l, how := range ch.Committers {
		if _, ok := excluded[l]; !ok {
			excluded[l] = how
		}
	}
	var ignored []string
	for _, a := range approvers {
		if why, ok := excluded[strings.ToLower(a)]; ok {
			ignored = append(ignored, a+" ("+why+")")
			continue
		}
		st.Counted = append(st.Counted, a)
	}
	need := 1
	if ch.OverLimit != nil {
		need = 2
		st.Required = append(st.Required, "two approvals: it revokes more than settings.maxRevocations")
	} else {
		st.Required = append(st.Required, "one approval from someone other than the author and the people it grants access to")
	}
	if len(st.Counted) < need {
		msg := fmt.Sprintf("needs %d approval(s) from someone other than its author and the people it grants access to, has %d", need, len(st.Counted))
		if len(ignored) > 0 {
			msg += " (not counted: " + strings.Join(ignored, ", ") + ")"
		}
		st.Missing = append(st.Missing, msg)
	}
	for _, role := range model.SortedKeys(ch.Owners) {
		owner := ch.Owners[role]
		if owner == "" {
			continue
		}
		l := Login(head, owner)
		switch {
		case l == "":
			st.Required = append(st.Required, fmt.Sprintf("role %s: its owner %s (no GitHub login in accounts.github)", role, owner))
			st.Missing = append(st.Missing, fmt.Sprintf("role %s changes and its owner %s has no GitHub login (accounts.github) to approve with", role, owner))
		case strings.EqualFold(l, author):
			// The owner wrote the change: their authorship is their consent; someone else
			// still has to approve it (above).
			st.Required = append(st.Required, fmt.Sprintf("role %s: its owner @%s (the author)", role, l))
		default:
			st.Required = append(st.Required, fmt.Sprintf("role %s: its owner @%s", role, l))
			// The owner's consent counts even when the change grants them access too; it
			// is the approval "from someone else" above that must not be theirs.
			if !containsFold(approvers, l) {
				st.Missing = append(st.Missing, fmt.Sprintf("role %s changes and its owner @%s has not approved", role, l))
			}
		}
	}
	for _, id := range model.SortedKeys(ch.CertOwners) {
		owner := ch.CertOwners[id]
		l := Login(head, owner)
		switch {
		case l == "":
			st.Required = append(st.Required, fmt.Sprintf("access review %s: its owner %s (no GitHub login in accounts.github)", id, owner))
			st.Missing = append(st.Missing, fmt.Sprintf("access review %s needs its owner %s, who has no GitHub login (accounts.github) to approve with", id, owner))
		default:
			// The attestation is the owner's approval, whoever opened the pull request.
			st.Required = append(st.Required, fmt.Sprintf("access review %s: its owner @%s (the attestation)", id, l))
			if !containsFold(approvers, l) {
				st.Missing = append(st.Missing, fmt.Sprintf("access review %s is not attested: its owner @%s has not approved", id, l))
			}
		}
	}
	return st
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// NotApproved says why a commit may not be applied: it did not come through a merged pull
// request, or that pull request lacks approvals its rules need. It is a verdict, not a
// failure to check.
type NotApproved struct {
	Reason string // the whole sentence, naming the commit
}

// Error is the reason.
func (n *NotApproved) Error() string { return n.Reason }
