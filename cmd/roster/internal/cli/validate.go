package cli

import (
	"context"
	"flag"
	"fmt"
)

func runValidate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	dir := fs.String("repo", ".", "the access repo: a directory of .cue files")
	if err := parse(fs, args, e, &common); err != nil {
		return err
	}
	reg := registry()
	repo, _, err := loadRepo(ctx, e, *dir, reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: valid — %d people, %d roles, %d rules, %d systems, %d service accounts, %d revocations\n",
		*dir, len(repo.People), len(repo.Roles), len(repo.Rules), len(repo.Systems), len(repo.ServiceAccounts), len(repo.Revocations))
	return nil
}
