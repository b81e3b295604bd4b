package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/roster-dev/roster/schema/model"
)

func runValidate(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("validate", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var pf planFlags
	pf.register(flags)
	watch := flags.Bool("watch", false, "keep running: re-validate after every save under --repo and print only what changed; Ctrl-C stops")
	plan := flags.Bool("plan", true, "with --watch: also plan (reading the live systems) while the repo is valid")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	if *watch {
		return watchRepo(ctx, e, &pf, *plan)
	}
	var watchOnly []string
	flags.Visit(func(f *flag.Flag) {
		if f.Name == "at" || f.Name == "system" || f.Name == "plan" {
			watchOnly = append(watchOnly, "--"+f.Name)
		}
	})
	if len(watchOnly) > 0 {
		return invalidf("validate: %s needs --watch", watchOnly[0])
	}
	reg := registry()
	repo, _, err := loadRepo(ctx, e, pf.dir, reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: valid — %s\n", pf.dir, repoCounts(repo))
	return nil
}

// repoCounts says how much a valid repo holds: "2 people, 1 role, 0 rules, …".
func repoCounts(repo *model.Repo) string {
	return fmt.Sprintf("%s, %s, %s, %s, %s, %s",
		count(len(repo.People), "person", "people"), count(len(repo.Roles), "role", "roles"),
		count(len(repo.Rules), "rule", "rules"), count(len(repo.Systems), "system", "systems"),
		count(len(repo.ServiceAccounts), "service account", "service accounts"),
		count(len(repo.Revocations), "revocation", "revocations"))
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
