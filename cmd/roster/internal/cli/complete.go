package cli

import (
	"context"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/internal/dirfs"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Shell completion (roster completion SHELL prints the script) completes, besides commands
// and flags, the values an access repo defines: --system names, people and roles. They are
// read from the files of the directory --repo names (default "."), as they are on disk:
// never a remote (no network), never a live system. A repo that does not load completes
// nothing.

// completeRepoFlags completes the flags of repoFlags that name directories.
func completeRepoFlags(cmd *cobra.Command) {
	complete(cmd, "repo", dirs)
	complete(cmd, "cache-dir", dirs)
}

// complete registers fn as the completion of cmd's flag name.
func complete(cmd *cobra.Command, name string, fn cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(name, fn); err != nil {
		panic(err) // a flag registered twice or not at all: a mistake in this package
	}
}

// completeValues completes cmd's flag name with a fixed list (--format).
func completeValues(cmd *cobra.Command, name string, values ...string) {
	complete(cmd, name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

func dirs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// completionRepo loads the access repo in the directory --repo names, for completing the
// values it defines; nil when --repo is a remote, no directory, or does not load.
func completionRepo(cmd *cobra.Command) *model.Repo {
	dir := "."
	if f := cmd.Flags().Lookup("repo"); f != nil {
		dir = f.Value.String()
	}
	if gitrepo.IsRemote(dir) {
		return nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	repo, err := schema.Load(ctx, dirfs.New(dir), schema.Options{Now: time.Now()})
	if err != nil {
		return nil
	}
	return repo
}

// completions are the ids starting with prefix, each with its description, sorted.
func completions[T any](m map[string]T, prefix string, describe func(T) string) []cobra.Completion {
	var out []cobra.Completion
	for id, v := range m {
		if strings.HasPrefix(id, prefix) {
			out = append(out, cobra.CompletionWithDesc(id, describe(v)))
		}
	}
	sort.Strings(out)
	return out
}

// completeSystems completes --system with the repo's systems.
func completeSystems(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	repo := completionRepo(cmd)
	if repo == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completions(repo.Systems, toComplete, func(s *model.System) string { return s.Type }), cobra.ShellCompDirectiveNoFileComp
}

// completePeople completes a person (--for) with the repo's people.
func completePeople(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	repo := completionRepo(cmd)
	if repo == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completions(repo.People, toComplete, func(p *model.Person) string { return p.Name }), cobra.ShellCompDirectiveNoFileComp
}

// completeRoles completes a role (--role) with the repo's roles.
func completeRoles(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	repo := completionRepo(cmd)
	if repo == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completions(repo.Roles, toComplete, func(r *model.Role) string { return r.Description }), cobra.ShellCompDirectiveNoFileComp
}

// firstArgFrom completes the one positional argument of a command with fn, and nothing
// after it.
func firstArgFrom(fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}

// completeEntitlements completes who --has: a system, then (after SYSTEM:) the
// entitlements the repo's roles grant there.
func completeEntitlements(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	repo := completionRepo(cmd)
	if repo == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	sys, ent, found := strings.Cut(toComplete, ":")
	if !found {
		// SYSTEM alone is an answer too; SYSTEM: goes on to its entitlements.
		return completions(repo.Systems, sys, func(s *model.System) string { return s.Type }), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	if repo.Systems[sys] == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, e := range repo.Index().GrantedOn(sys) {
		if strings.HasPrefix(e, ent) {
			out = append(out, sys+":"+e)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}
