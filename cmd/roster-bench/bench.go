package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The goals the table is judged against.
const (
	goalPeople   = 100000
	goalWall     = 5 * time.Second
	goalRSS      = 1 << 30
	goalCueRatio = 0.35
)

// marker marks a directory roster-bench created, so a rerun with the same -out may
// replace it; directories without it are never removed.
const marker = ".roster-bench"

type benchOptions struct {
	sizes   []int
	out     string
	perFile int
	roster  string
	cue     string
	schema  string
	seed    uint64
	at      time.Time
	timeout time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "generate" {
		return runGenerate(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("roster-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts, err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "roster-bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := bench(ctx, opts, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "roster-bench:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

func parseArgs(fs *flag.FlagSet, args []string) (benchOptions, error) {
	var o benchOptions
	sizes := fs.String("sizes", "10000,50000,100000", "comma-separated numbers of people, one repo each")
	fs.StringVar(&o.out, "out", "", "keep the generated repos in `DIR` (default: a temp dir removed at the end)")
	fs.IntVar(&o.perFile, "per-file", 50, "people per people/<department>/part-NNNN.cue file")
	fs.StringVar(&o.roster, "roster", "./bin/roster", "roster binary to measure")
	fs.StringVar(&o.cue, "cue", "./bin/cue", "cue CLI for the cue vet comparison (skipped if missing)")
	fs.StringVar(&o.schema, "schema", "", "schema file cue vet checks against (default: schema/schema.cue at the module root)")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	at := fs.String("at", date(defaultAt), "plan date (roster plan --at); generated dates are spread around it")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "limit for each measured run")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return o, fmt.Errorf("-sizes: %q is not a number of people ≥ 2", s)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.perFile < 1 {
		return o, fmt.Errorf("-per-file must be positive")
	}
	t, err := time.Parse("2006-01-02", *at)
	if err != nil {
		return o, fmt.Errorf("-at: want YYYY-MM-DD, got %q", *at)
	}
	o.at = t
	return o, nil
}

// result is what one repo size measured.
type result struct {
	stats      stats
	validate   measurement
	plan       measurement
	cueVet     *measurement // nil when skipped
	revalidate *measurement // nil when skipped
	revalNote  string
	failed     bool
}

func bench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) (bool, error) {
	roster, err := filepath.Abs(o.roster)
	if err != nil {
		return false, err
	}
	if fi, err := os.Stat(roster); err != nil || fi.IsDir() {
		return false, fmt.Errorf("roster binary %s not found (run make build)", o.roster)
	}

	base := o.out
	if base == "" {
		base, err = os.MkdirTemp("", "roster-bench-")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(base)
	} else if err := os.MkdirAll(base, 0o755); err != nil {
		return false, err
	}
	if base, err = filepath.Abs(base); err != nil {
		return false, err
	}

	cue, schemaSrc, cueSkip := findCue(o)
	if cueSkip != "" {
		fmt.Fprintf(stdout, "cue vet skipped: %s\n", cueSkip)
	}
	watch := hasWatch(ctx, roster)
	if !watch {
		fmt.Fprintln(stdout, "re-validate after one changed file skipped: roster validate has no --watch flag")
	}

	self, err := os.Executable()
	if err != nil {
		return false, fmt.Errorf("find own executable for the generator: %w", err)
	}

	startLoad := loadAvg()
	allOK := true
	var results []result
	for _, n := range o.sizes {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		var r result
		dir := filepath.Join(base, fmt.Sprintf("people-%d", n))
		if err := freshDir(dir); err != nil {
			return false, err
		}
		fmt.Fprintf(stderr, "%d people: generating into %s\n", n, dir)
		t0 := time.Now()
		r.stats, err = generateInChild(ctx, self, dir, n, o)
		if err != nil {
			return false, err
		}
		fmt.Fprintf(stderr, "%d people: %d .cue files, %.1f MB in %.1fs\n", n, r.stats.Files, float64(r.stats.Bytes)/1e6, time.Since(t0).Seconds())

		fmt.Fprintf(stderr, "%d people: roster validate\n", n)
		r.validate = measure(ctx, o.timeout, "", roster, "validate", "--repo", dir)
		if !r.validate.ok(0) {
			r.failed = true
			reportFailure(stderr, "roster validate", n, r.validate)
		}
		fmt.Fprintf(stderr, "%d people: roster plan\n", n)
		r.plan = measure(ctx, o.timeout, "", roster, "plan", "--repo", dir, "--at", date(o.at), "--format", "json")
		if !r.plan.ok(0, 3) {
			r.failed = true
			reportFailure(stderr, "roster plan", n, r.plan)
		}

		if cue != "" {
			flat := dir + ".cuevet"
			if err := freshDir(flat); err != nil {
				return false, err
			}
			if err := flatCopy(dir, flat, schemaSrc); err != nil {
				return false, fmt.Errorf("prepare cue vet dir: %w", err)
			}
			fmt.Fprintf(stderr, "%d people: cue vet\n", n)
			m := measure(ctx, o.timeout, flat, cue, "vet", "-c=false", ".")
			r.cueVet = &m
			if !m.ok(0) {
				r.failed = true
				reportFailure(stderr, "cue vet", n, m)
			}
			if o.out == "" {
				os.RemoveAll(flat)
			}
		}

		if watch {
			fmt.Fprintf(stderr, "%d people: roster validate --watch\n", n)
			m, note := measureWatch(ctx, o.timeout, roster, dir)
			if note == "" {
				r.revalidate = &m
			}
			r.revalNote = note
		}
		if r.failed {
			allOK = false
		}
		results = append(results, r)
		if o.out == "" {
			os.RemoveAll(dir)
		}
	}

	fmt.Fprintf(stdout, "host: %d CPUs, load average %s at start, %s at end\n", runtime.NumCPU(), startLoad, loadAvg())
	printTable(stdout, results, cue != "", watch)
	printGoals(stdout, results, cueSkip)
	return allOK, nil
}

// loadAvg is the 1-minute load average, or "?" where /proc/loadavg is missing: the timings
// mean little on a busy machine.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// freshDir makes dir an empty directory, replacing it only if roster-bench made it.
func freshDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("%s exists and was not made by roster-bench; remove it or pick another -out", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, marker), nil, 0o644)
}

// generateInChild runs `roster-bench generate` so the benchmark process stays small.
func generateInChild(ctx context.Context, self, dir string, n int, o benchOptions) (stats, error) {
	var st stats
	// generate wants an empty dir: drop the marker and put it back afterwards.
	os.Remove(filepath.Join(dir, marker))
	m := measure(ctx, o.timeout, "", self, "generate", "-json",
		"-people", strconv.Itoa(n), "-per-file", strconv.Itoa(o.perFile),
		"-seed", strconv.FormatUint(o.seed, 10), "-at", date(o.at), "-out", dir)
	if err := os.WriteFile(filepath.Join(dir, marker), nil, 0o644); err != nil {
		return st, err
	}
	if !m.ok(0) {
		return st, fmt.Errorf("generate %d people: %v\n%s", n, m.describe(), m.stderr)
	}
	if err := json.Unmarshal(m.stdout, &st); err != nil {
		return st, fmt.Errorf("generate %d people: read stats: %w", n, err)
	}
	return st, nil
}

func reportFailure(w io.Writer, what string, n int, m measurement) {
	fmt.Fprintf(w, "%d people: %s failed: %s\n", n, what, m.describe())
	if s := strings.TrimSpace(m.stderrTail()); s != "" {
		fmt.Fprintf(w, "%s\n", indent(s, "    "))
	}
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

// findCue returns the cue binary and schema file, or why cue vet is skipped.
func findCue(o benchOptions) (cue, schema, skip string) {
	cue, err := filepath.Abs(o.cue)
	if err != nil {
		return "", "", err.Error()
	}
	if fi, err := os.Stat(cue); err != nil || fi.IsDir() {
		return "", "", fmt.Sprintf("%s not found (make bin/cue installs it)", o.cue)
	}
	schema = o.schema
	if schema == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", "", fmt.Sprintf("no -schema given and %v", err)
		}
		schema = filepath.Join(root, "schema", "schema.cue")
	}
	if _, err := os.Stat(schema); err != nil {
		return "", "", fmt.Sprintf("schema %s not found", schema)
	}
	return cue, schema, ""
}

// moduleRoot is the nearest directory at or above the working directory with a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func printTable(w io.Writer, rs []result, withCue, withWatch bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	head := "people\tfiles\tvalidate\tplan\tvalidate+plan\tpeak RSS\tcue vet\tratio\tplan JSON"
	if withWatch {
		head += "\tre-validate"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rs {
		cueCell, ratio := "skipped", "-"
		if r.cueVet != nil {
			cueCell = fmt.Sprintf("%s %s", secs(r.cueVet), mibCompact(r.cueVet.maxRSS))
			if r.cueVet.ok(0) && r.validate.ok(0) {
				ratio = fmt.Sprintf("%.2fx", r.validate.wall.Seconds()/r.cueVet.wall.Seconds())
			}
		} else if !withCue {
			cueCell = "-"
		}
		both := "-"
		if r.validate.ok(0) && r.plan.ok(0, 3) {
			both = fmt.Sprintf("%.2fs", (r.validate.wall + r.plan.wall).Seconds())
		}
		line := fmt.Sprintf("%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
			r.stats.People, r.stats.Files, cell(r.validate, 0), cell(r.plan, 0, 3), both,
			mib(max(r.validate.maxRSS, r.plan.maxRSS)), cueCell, ratio, bytesCell(r.plan.stdoutN))
		if withWatch {
			if r.revalidate != nil {
				line += "\t" + secs(r.revalidate)
			} else {
				line += "\t" + r.revalNote
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func printGoals(w io.Writer, rs []result, cueSkip string) {
	fmt.Fprintf(w, "\ngoals: 100k validate+plan ≤ %s and ≤ 1 GiB; validate ≤ %.2f× cue vet\n", goalWall, goalCueRatio)
	var at *result
	for i := range rs {
		if rs[i].stats.People == goalPeople {
			at = &rs[i]
		}
	}
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	if at == nil {
		fmt.Fprintf(w, "  validate+plan ≤ %s at 100k people:  n/a (100000 people not measured)\n", goalWall)
		fmt.Fprintf(w, "  peak RSS ≤ 1 GiB at 100k people:  n/a (100000 people not measured)\n")
	} else if !at.validate.ok(0) || !at.plan.ok(0, 3) {
		fmt.Fprintf(w, "  validate+plan ≤ %s at 100k people:  MISS (a run failed)\n", goalWall)
		fmt.Fprintf(w, "  peak RSS ≤ 1 GiB at 100k people:  MISS (a run failed)\n")
	} else {
		wall := at.validate.wall + at.plan.wall
		rss := max(at.validate.maxRSS, at.plan.maxRSS)
		fmt.Fprintf(w, "  validate+plan ≤ %s at 100k people:  %.2fs  %s\n", goalWall, wall.Seconds(), verdict(wall <= goalWall))
		fmt.Fprintf(w, "  peak RSS ≤ 1 GiB at 100k people:  %s  %s\n", mib(rss), verdict(rss <= goalRSS))
	}

	// The ratio goal is judged at 100k when measured, else at the largest size.
	var ratioAt *result
	for i := range rs {
		r := &rs[i]
		if r.cueVet == nil || !r.cueVet.ok(0) || !r.validate.ok(0) {
			continue
		}
		if ratioAt == nil || r.stats.People == goalPeople || (ratioAt.stats.People != goalPeople && r.stats.People > ratioAt.stats.People) {
			ratioAt = r
		}
	}
	switch {
	case cueSkip != "":
		fmt.Fprintf(w, "  validate ≤ %.2f× cue vet:  n/a (cue vet skipped)\n", goalCueRatio)
	case ratioAt == nil:
		fmt.Fprintf(w, "  validate ≤ %.2f× cue vet:  MISS (no size where both validate and cue vet succeeded)\n", goalCueRatio)
	default:
		ratio := ratioAt.validate.wall.Seconds() / ratioAt.cueVet.wall.Seconds()
		fmt.Fprintf(w, "  validate ≤ %.2f× cue vet at %d people:  %.2fx  %s\n", goalCueRatio, ratioAt.stats.People, ratio, verdict(ratio <= goalCueRatio))
	}
}

func cell(m measurement, okCodes ...int) string {
	if !m.ok(okCodes...) {
		return "FAIL(" + m.describe() + ")"
	}
	return secs(&m)
}

func secs(m *measurement) string { return fmt.Sprintf("%.2fs", m.wall.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%d MiB", (b+(1<<19))>>20) }

func mibCompact(b int64) string { return fmt.Sprintf("%dMiB", (b+(1<<19))>>20) }

func bytesCell(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// runGenerate is the generate subcommand: write one repo, print its stats.
func runGenerate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roster-bench generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	people := fs.Int("people", 300, "number of people")
	out := fs.String("out", "", "empty or absent `DIR` to write the repo into (required)")
	perFile := fs.Int("per-file", 50, "people per file")
	seed := fs.Uint64("seed", 1, "generator seed")
	at := fs.String("at", date(defaultAt), "dates are spread around this day")
	asJSON := fs.Bool("json", false, "print the stats as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	t, err := time.Parse("2006-01-02", *at)
	if *out == "" || err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "roster-bench generate: need -out DIR, a YYYY-MM-DD -at and no arguments")
		return 2
	}
	cfg := defaultGenConfig(*people)
	cfg.PerFile, cfg.Seed, cfg.At = *perFile, *seed, t
	st, err := generate(*out, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "roster-bench generate:", err)
		return 1
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(st)
		return 0
	}
	fmt.Fprintf(stdout, "%d people (%v), %d leavers, %d roles, %d rules in %d .cue files; CSV rows %v, orphans %v; %.1f MB\n",
		st.People, st.Types, st.Leavers, st.Roles, st.Rules, st.Files, st.Accounts, st.Orphans, float64(st.Bytes)/1e6)
	return 0
}
