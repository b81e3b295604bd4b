package main

import (
	"cmp"
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
	"slices"
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
	goalRevalid  = 500 * time.Millisecond

	goalBigPeople   = 1000000
	goalBigValidate = 10 * time.Second
	goalBigValRSS   = 3 << 30
	goalBigPlan     = 15 * time.Second
	goalBigPlanRSS  = 4 << 30
)

// marker marks a directory roster-bench created, so a rerun with the same -out may
// replace it; directories without it are never removed.
const marker = ".roster-bench"

type benchOptions struct {
	sizes    []int
	out      string
	perFile  int
	roster   string
	ref      string // a reference roster binary run beside roster; "" for none
	cue      string
	schema   string
	seed     uint64
	at       time.Time
	timeout  time.Duration
	runs     int // runs of each measure; the figures are their medians
	cueMax   int // the largest size cue vet runs at
	watchMax int // the largest size validate --watch is measured at
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
	sizes := fs.String("sizes", "10000,50000,100000,1000000", "comma-separated numbers of people, one repo each")
	fs.StringVar(&o.out, "out", "", "keep the generated repos in `DIR` (default: a temp dir removed at the end)")
	fs.IntVar(&o.perFile, "per-file", 50, "people per people/<department>/part-NNNN.cue file")
	fs.StringVar(&o.roster, "roster", "./bin/roster", "roster binary to measure")
	fs.StringVar(&o.ref, "ref", "", "reference roster `binary` (an earlier build) run alternately with -roster: its medians and the ratios")
	fs.IntVar(&o.runs, "runs", 3, "runs of each measure, alternating; the figures are medians")
	fs.IntVar(&o.cueMax, "cue-max", 100000, "the largest number of people cue vet runs at (it needs ~20 GB at 1M)")
	fs.IntVar(&o.watchMax, "watch-max", 100000, "the largest number of people validate --watch is measured at")
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
	if o.runs < 1 {
		return o, fmt.Errorf("-runs must be positive")
	}
	t, err := time.Parse("2006-01-02", *at)
	if err != nil {
		return o, fmt.Errorf("-at: want YYYY-MM-DD, got %q", *at)
	}
	o.at = t
	return o, nil
}

// series is the runs of one measure, in the order they ran.
type series []measurement

// median is the run with the median wall time (the lower middle of an even count), or,
// with okCodes given, a run that did not exit with one of them if there is one.
func (s series) median(okCodes ...int) measurement {
	for _, m := range s {
		if len(okCodes) > 0 && !m.ok(okCodes...) {
			return m
		}
	}
	sorted := slices.Clone(s)
	slices.SortFunc(sorted, func(a, b measurement) int { return cmp.Compare(a.wall, b.wall) })
	return sorted[(len(sorted)-1)/2]
}

// medianRSS is the median of the runs' peak RSS.
func (s series) medianRSS() int64 {
	rss := make([]int64, len(s))
	for i, m := range s {
		rss[i] = m.maxRSS
	}
	slices.Sort(rss)
	return rss[(len(rss)-1)/2]
}

// walls lists the runs' wall times, then their CPU times (user and system): on a machine
// others share, CPU time is the steadier figure.
func (s series) walls() string {
	wall, cpu := make([]string, len(s)), make([]string, len(s))
	measured := false
	for i, m := range s {
		wall[i], cpu[i] = fmt.Sprintf("%.2f", m.wall.Seconds()), fmt.Sprintf("%.2f", m.cpu.Seconds())
		measured = measured || m.cpu > 0
	}
	if !measured { // validate --watch: the time to the next report only
		return strings.Join(wall, " ")
	}
	return strings.Join(wall, " ") + "; cpu " + strings.Join(cpu, " ")
}

// result is what one repo size measured.
type result struct {
	stats       stats
	validate    series
	plan        series
	refValidate series // nil without -ref
	refPlan     series
	cueVet      series // nil when skipped
	revalidate  series // nil when skipped
	revalNote   string
	failed      bool
}

func bench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) (bool, error) {
	roster, err := filepath.Abs(o.roster)
	if err != nil {
		return false, err
	}
	if fi, err := os.Stat(roster); err != nil || fi.IsDir() {
		return false, fmt.Errorf("roster binary %s not found (run make build)", o.roster)
	}
	ref := ""
	if o.ref != "" {
		if ref, err = filepath.Abs(o.ref); err != nil {
			return false, err
		}
		if fi, err := os.Stat(ref); err != nil || fi.IsDir() {
			return false, fmt.Errorf("reference binary %s not found", o.ref)
		}
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

		flat := ""
		if cue != "" && n <= o.cueMax {
			flat = dir + ".cuevet"
			if err := freshDir(flat); err != nil {
				return false, err
			}
			if err := flatCopy(dir, flat, schemaSrc); err != nil {
				return false, fmt.Errorf("prepare cue vet dir: %w", err)
			}
		}
		// Each round runs every measure once, in turn, so that load from elsewhere on
		// the machine hits them alike; the figures are the medians of the rounds.
		validateArgs := []string{"validate", "--repo", dir}
		planArgs := []string{"plan", "--repo", dir, "--at", date(o.at), "--format", "json"}
		for round := 1; round <= o.runs; round++ {
			fmt.Fprintf(stderr, "%d people: round %d of %d\n", n, round, o.runs)
			r.validate = append(r.validate, measure(ctx, o.timeout, "", roster, validateArgs...))
			if ref != "" {
				r.refValidate = append(r.refValidate, measure(ctx, o.timeout, "", ref, validateArgs...))
			}
			if flat != "" {
				r.cueVet = append(r.cueVet, measure(ctx, o.timeout, flat, cue, "vet", "-c=false", "."))
			}
			r.plan = append(r.plan, measure(ctx, o.timeout, "", roster, planArgs...))
			if ref != "" {
				r.refPlan = append(r.refPlan, measure(ctx, o.timeout, "", ref, planArgs...))
			}
			if watch && n <= o.watchMax {
				m, note := measureWatch(ctx, o.timeout, roster, dir)
				if note == "" {
					r.revalidate = append(r.revalidate, m)
				}
				r.revalNote = note
			}
		}
		for _, c := range []struct {
			what   string
			s      series
			okCode []int
		}{
			{"roster validate", r.validate, []int{0}}, {"roster plan", r.plan, []int{0, 3}},
			{"reference validate", r.refValidate, []int{0}}, {"reference plan", r.refPlan, []int{0, 3}},
			{"cue vet", r.cueVet, []int{0}},
		} {
			if c.s == nil {
				continue
			}
			if m := c.s.median(c.okCode...); !m.ok(c.okCode...) {
				r.failed = true
				reportFailure(stderr, c.what, n, m)
			}
		}
		if flat != "" && o.out == "" {
			os.RemoveAll(flat)
		}
		if r.failed {
			allOK = false
		}
		results = append(results, r)
		if o.out == "" {
			os.RemoveAll(dir)
		}
	}

	fmt.Fprintf(stdout, "host: %d CPUs, load average %s at start, %s at end; medians of %d alternating runs\n", runtime.NumCPU(), startLoad, loadAvg(), o.runs)
	printTable(stdout, results, cue != "", watch, ref != "")
	printRuns(stdout, results)
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

func printTable(w io.Writer, rs []result, withCue, withWatch, withRef bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	head := "people\tfiles\tvalidate\tplan\tvalidate+plan\tpeak RSS validate / plan\tcue vet\tratio\tplan JSON"
	if withRef {
		head += "\tref validate\tratio\tref plan\tratio\tref peak RSS"
	}
	if withWatch {
		head += "\tre-validate"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rs {
		v, p := r.validate.median(0), r.plan.median(0, 3)
		cueCell, ratio := "skipped", "-"
		if r.cueVet != nil {
			c := r.cueVet.median(0)
			cueCell = fmt.Sprintf("%s %s", cell(c, 0), mibCompact(r.cueVet.medianRSS()))
			if c.ok(0) && v.ok(0) {
				ratio = fmt.Sprintf("%.2fx", v.wall.Seconds()/c.wall.Seconds())
			}
		} else if !withCue {
			cueCell = "-"
		}
		both := "-"
		if v.ok(0) && p.ok(0, 3) {
			both = fmt.Sprintf("%.2fs", (v.wall + p.wall).Seconds())
		}
		line := fmt.Sprintf("%d\t%d\t%s\t%s\t%s\t%s / %s\t%s\t%s\t%s",
			r.stats.People, r.stats.Files, cell(v, 0), cell(p, 0, 3), both,
			mib(r.validate.medianRSS()), mib(r.plan.medianRSS()), cueCell, ratio, bytesCell(p.stdoutN))
		if withRef {
			rv, rp := r.refValidate.median(0), r.refPlan.median(0, 3)
			line += fmt.Sprintf("\t%s\t%s\t%s\t%s\t%s / %s", cell(rv, 0), ratioCell(v, rv, 0), cell(rp, 0, 3), ratioCell(p, rp, 0, 3),
				mib(r.refValidate.medianRSS()), mib(r.refPlan.medianRSS()))
		}
		if withWatch {
			if r.revalidate != nil {
				line += "\t" + secs(r.revalidate.median())
			} else if r.revalNote != "" {
				line += "\t" + r.revalNote
			} else {
				line += "\t-"
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// ratioCell is a's median over b's, when both ran.
func ratioCell(a, b measurement, okCodes ...int) string {
	if !a.ok(okCodes...) || !b.ok(okCodes...) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a.wall.Seconds()/b.wall.Seconds())
}

// printRuns lists every run's wall time, in the order they ran.
func printRuns(w io.Writer, rs []result) {
	fmt.Fprintln(w, "\nruns (wall seconds in order; then their CPU seconds):")
	for _, r := range rs {
		for _, c := range []struct {
			what string
			s    series
		}{{"validate", r.validate}, {"plan", r.plan}, {"ref validate", r.refValidate}, {"ref plan", r.refPlan}, {"cue vet", r.cueVet}, {"re-validate", r.revalidate}} {
			if c.s != nil {
				fmt.Fprintf(w, "  %d %s: %s\n", r.stats.People, c.what, c.s.walls())
			}
		}
	}
}

func printGoals(w io.Writer, rs []result, cueSkip string) {
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	find := func(people int) *result {
		for i := range rs {
			if rs[i].stats.People == people {
				return &rs[i]
			}
		}
		return nil
	}
	fmt.Fprintf(w, "\ngoals (medians): 100k validate+plan ≤ %s and ≤ 1 GiB; validate ≤ %.2f× cue vet; 1M validate ≤ %s and ≤ 3 GiB, plan ≤ %s and ≤ 4 GiB\n",
		goalWall, goalCueRatio, goalBigValidate, goalBigPlan)
	at := find(goalPeople)
	switch {
	case at == nil:
		fmt.Fprintf(w, "  validate+plan ≤ %s at 100k people:  n/a (100000 people not measured)\n", goalWall)
		fmt.Fprintf(w, "  peak RSS ≤ 1 GiB at 100k people:  n/a (100000 people not measured)\n")
	case !at.validate.median(0).ok(0) || !at.plan.median(0, 3).ok(0, 3):
		fmt.Fprintf(w, "  validate+plan ≤ %s at 100k people:  MISS (a run failed)\n", goalWall)
		fmt.Fprintf(w, "  peak RSS ≤ 1 GiB at 100k people:  MISS (a run failed)\n")
	default:
		wall := at.validate.median(0).wall + at.plan.median(0, 3).wall
		rss := max(at.validate.medianRSS(), at.plan.medianRSS())
		fmt.Fprintf(w, "  validate+plan ≤ %s at 100k people:  %.2fs  %s\n", goalWall, wall.Seconds(), verdict(wall <= goalWall))
		fmt.Fprintf(w, "  peak RSS ≤ 1 GiB at 100k people:  %s  %s\n", mib(rss), verdict(rss <= goalRSS))
	}

	// The ratio goal is judged at 100k when measured, else at the largest size.
	var ratioAt *result
	for i := range rs {
		r := &rs[i]
		if r.cueVet == nil || !r.cueVet.median(0).ok(0) || !r.validate.median(0).ok(0) {
			continue
		}
		if ratioAt == nil || r.stats.People == goalPeople || (ratioAt.stats.People != goalPeople && r.stats.People > ratioAt.stats.People) {
			ratioAt = r
		}
	}
	ranCue := slices.ContainsFunc(rs, func(r result) bool { return r.cueVet != nil })
	switch {
	case cueSkip != "":
		fmt.Fprintf(w, "  validate ≤ %.2f× cue vet:  n/a (cue vet skipped)\n", goalCueRatio)
	case !ranCue:
		fmt.Fprintf(w, "  validate ≤ %.2f× cue vet:  n/a (cue vet runs up to -cue-max people)\n", goalCueRatio)
	case ratioAt == nil:
		fmt.Fprintf(w, "  validate ≤ %.2f× cue vet:  MISS (no size where both validate and cue vet succeeded)\n", goalCueRatio)
	default:
		ratio := ratioAt.validate.median(0).wall.Seconds() / ratioAt.cueVet.median(0).wall.Seconds()
		fmt.Fprintf(w, "  validate ≤ %.2f× cue vet at %d people:  %.2fx  %s\n", goalCueRatio, ratioAt.stats.People, ratio, verdict(ratio <= goalCueRatio))
	}
	if at != nil && at.revalidate != nil {
		m := at.revalidate.median()
		fmt.Fprintf(w, "  re-validate after one save ≤ %s at 100k people:  %s  %s\n", goalRevalid, secs(m), verdict(m.wall <= goalRevalid))
	}

	big := find(goalBigPeople)
	if big == nil {
		fmt.Fprintf(w, "  1M people:  n/a (1000000 people not measured)\n")
		return
	}
	for _, c := range []struct {
		what    string
		s       series
		okCodes []int
		wall    time.Duration
		rss     int64
	}{
		{"validate", big.validate, []int{0}, goalBigValidate, goalBigValRSS},
		{"plan", big.plan, []int{0, 3}, goalBigPlan, goalBigPlanRSS},
	} {
		m := c.s.median(c.okCodes...)
		if !m.ok(c.okCodes...) {
			fmt.Fprintf(w, "  %s at 1M people:  MISS (a run failed)\n", c.what)
			continue
		}
		rss := c.s.medianRSS()
		fmt.Fprintf(w, "  %s ≤ %s at 1M people:  %s  %s\n", c.what, c.wall, secs(m), verdict(m.wall <= c.wall))
		fmt.Fprintf(w, "  %s peak RSS ≤ %d GiB at 1M people:  %s  %s\n", c.what, c.rss>>30, mib(rss), verdict(rss <= c.rss))
	}
}

func cell(m measurement, okCodes ...int) string {
	if !m.ok(okCodes...) {
		return "FAIL(" + m.describe() + ")"
	}
	return secs(m)
}

func secs(m measurement) string { return fmt.Sprintf("%.2fs", m.wall.Seconds()) }

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
