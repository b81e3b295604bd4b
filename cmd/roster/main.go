// Command roster keeps who-may-access-what in a Git repo of CUE files and makes the live
// systems match it. See README.md.
package main

import (
	"os"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

func main() { os.Exit(cli.Main()) }
