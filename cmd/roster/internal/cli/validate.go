package cli

import (
	"context"
	"flag"
	"fmt"
)

func runValidate(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("validate", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	dir := flags.String("repo", ".", "the access repo: a directory of .cue files")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	reg := registry()
	repo, _, err := loadRepo(ctx, e, *dir, reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: valid — %s, %s, %s, %s, %s, %s\n", *dir,
		count(len(repo.People), "person", "people"), count(len(repo.Roles), "role", "roles"),
		count(len(repo.Rules), "rule", "rules"), count(len(repo.Systems), "system", "systems"),
		count(len(repo.ServiceAccounts), "service account", "service accounts"),
		count(len(repo.Revocations), "revocation", "revocations"))
	return nil
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
