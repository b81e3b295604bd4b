// Command roster-bench measures roster on synthetic access repos: it generates repos of
// 10k, 50k, 100k and 1M people (in a temporary directory, removed at the end), runs
// `roster validate` and `roster plan` on each (wall time and peak RSS) a few times,
// alternating with `cue vet` of the same files against the same schema (up to 100k people:
// it needs ~20 GB at 1M) and with a reference roster binary when given one, and prints the
// medians, their ratios, every run, and the performance goals.
//
//	go run ./cmd/roster-bench -roster ./bin/roster -cue ./bin/cue [-ref OLD-ROSTER] [-runs 3] [-sizes 10000,50000] [-out DIR]
//	go run ./cmd/roster-bench generate -people 300 -out DIR
//
// Generation runs in a child process (the generate subcommand): on Linux a child's
// ru_maxrss includes the high-water RSS of the process that forked it, so the benchmark
// process itself stays small to keep the measured peaks honest.
//
// The exit status is 0 even when a goal is missed; it is 1 only when a run itself fails
// (roster validate not exiting 0, roster plan not exiting 0 or 3, cue vet failing) and 2
// for bad flags.
package main

import (
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
