package workflowtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"
)

// The GitHub workflows the README shows and the GitHub Action this repository ships
// (action.yml) are linted with actionlint, as a user's CI would: a workflow that GitHub
// would refuse, or that passes the action an input it does not have, fails here first.

// repoRoot is the repository's root, where README.md and action.yml are.
const repoRoot = "../../.."

// lintConfig declares the README's custom self-hosted runner label.
const lintConfig = `self-hosted-runner:
  labels: [roster]
`

// usesThisAction is a step's `uses: roster-dev/roster@REF`: linted as `uses: ./`, so that
// actionlint reads this repository's action.yml and checks the step's inputs against it.
var usesThisAction = regexp.MustCompile(`(?m)(\buses:\s*)roster-dev/roster@\S+`)

// lint lints one workflow, its local actions (`uses: ./…`) read from the directory root.
// shellcheck and pyflakes are not run, whether or not they are installed, so the result does
// not depend on the machine.
func lint(t *testing.T, root, name string, src []byte) []*actionlint.Error {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "actionlint.yaml")
	if err := os.WriteFile(cfg, []byte(lintConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: "", Pyflakes: "", ConfigFile: cfg})
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := actionlint.NewProject(abs)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(name, usesThisAction.ReplaceAll(src, []byte("${1}./")), proj)
	if err != nil {
		t.Fatalf("lint %s: %v", name, err)
	}
	return errs
}

// topOn and topJobs find a workflow's top-level keys.
var topOn, topJobs = regexp.MustCompile(`(?m)^(on|"on"):`), regexp.MustCompile(`(?m)^jobs:`)

// yamlBlock is a ```yaml block of a markdown file and the line its first line is on.
type yamlBlock struct {
	line int
	src  []byte
}

// workflowBlocks are the ```yaml blocks of md that are GitHub workflows (top-level on: and
// jobs:).
func workflowBlocks(md []byte) []yamlBlock {
	var blocks []yamlBlock
	var cur *yamlBlock
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```yaml":
			cur = &yamlBlock{line: n + 1}
		case cur != nil && strings.TrimSpace(line) == "```":
			if topOn.Match(cur.src) && topJobs.Match(cur.src) {
				blocks = append(blocks, *cur)
			}
			cur = nil
		case cur != nil:
			cur.src = append(cur.src, line+"\n"...)
		}
	}
	return blocks
}

// TestREADMEWorkflows lints every GitHub workflow in README.md; the action's steps are
// checked against action.yml. The README must show at least one, using the action.
func TestREADMEWorkflows(t *testing.T) {
	md, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := workflowBlocks(md)
	if len(blocks) == 0 {
		t.Fatal("README.md shows no GitHub workflow (a ```yaml block with on: and jobs:)")
	}
	usesAction := false
	for _, b := range blocks {
		usesAction = usesAction || usesThisAction.Match(b.src)
		for _, e := range lint(t, repoRoot, "README.md", b.src) {
			t.Errorf("README.md:%d:%d: %s [%s]", b.line+e.Line-1, e.Column, e.Message, e.Kind)
		}
	}
	if !usesAction {
		t.Error("no README workflow uses the action (uses: roster-dev/roster@REF)")
	}
}

// actionMetadata is what the tests read of action.yml.
type actionMetadata struct {
	Inputs map[string]struct {
		Required bool    `yaml:"required"`
		Default  *string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string           `yaml:"using"`
		Steps []map[string]any `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) (src []byte, meta actionMetadata) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(src, &meta); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return src, meta
}

// callerOf is a workflow that calls the action at ./ with the given inputs.
func callerOf(with map[string]string) []byte {
	var b strings.Builder
	b.WriteString("on: pull_request\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n")
	if len(with) > 0 {
		b.WriteString("        with:\n")
		for _, k := range slices.Sorted(maps.Keys(with)) {
			fmt.Fprintf(&b, "          %s: %s\n", k, with[k])
		}
	}
	return []byte(b.String())
}

// stepsWorkflow is a workflow whose one job runs the action's steps, its inputs declared as
// workflow_dispatch inputs: actionlint checks the steps as it checks a workflow's
// (expressions and their contexts, the actions used and their inputs, shells).
func stepsWorkflow(t *testing.T, meta actionMetadata) []byte {
	t.Helper()
	inputs := map[string]any{}
	for name := range meta.Inputs {
		inputs[name] = map[string]any{"type": "string"}
	}
	wf := map[string]any{
		"on":   map[string]any{"workflow_dispatch": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{"action": map[string]any{"runs-on": "ubuntu-latest", "steps": meta.Runs.Steps}},
	}
	b, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAction lints action.yml: its metadata and inputs as actionlint reads a local action
// (a workflow calling `uses: ./` with every input, and one with only the required ones), and
// its composite steps as a workflow's steps; a composite action's run steps name a shell.
func TestAction(t *testing.T) {
	_, meta := readAction(t)
	if meta.Runs.Using != "composite" {
		t.Fatalf("action.yml runs.using %q, want composite", meta.Runs.Using)
	}
	all, required := map[string]string{}, map[string]string{}
	for name, in := range meta.Inputs {
		all[name] = `"x"`
		if in.Required && in.Default == nil {
			required[name] = `"x"`
		}
	}
	if _, ok := required["token"]; !ok {
		t.Errorf("action.yml: the token input is not required")
	}
	for what, src := range map[string][]byte{"every input": callerOf(all), "the required inputs": callerOf(required), "the steps": stepsWorkflow(t, meta)} {
		for _, e := range lint(t, repoRoot, "action.yml", src) {
			t.Errorf("action.yml, %s: %s\n%s", what, e, src)
		}
	}
	for i, s := range meta.Runs.Steps {
		if _, ok := s["run"]; ok && s["shell"] == nil {
			t.Errorf("action.yml: step %d (%v) runs a script without a shell", i+1, s["name"])
		}
	}
}

// TestLintCatchesErrors: the checks above fail on broken workflows and actions.
func TestLintCatchesErrors(t *testing.T) {
	actionSrc, meta := readAction(t)
	tests := []struct {
		name     string
		workflow string
		action   string // action.yml of the project, when not this repository's
		want     string // in an error's message
	}{
		{
			name:     "unknown context",
			workflow: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secret.TOKEN }}\n",
			want:     `undefined variable "secret"`,
		},
		{
			name:     "job without runs-on",
			workflow: "on: push\njobs:\n  a:\n    steps:\n      - run: echo hi\n",
			want:     `"runs-on" section is missing`,
		},
		{
			name:     "input the action does not have",
			workflow: "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: roster-dev/roster@main\n        with: {token: x, pull-request: 3}\n",
			want:     `input "pull-request" is not defined`,
		},
		{
			name:     "the action's required input missing",
			workflow: "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: roster-dev/roster@main\n",
			want:     `missing input "token"`,
		},
		{
			name:     "action metadata with a wrong runs.using",
			workflow: string(callerOf(map[string]string{"token": "x"})),
			action:   strings.Replace(string(actionSrc), "using: composite", "using: composit", 1),
			want:     `invalid runner name "composit"`,
		},
		{
			name: "action step passing setup-go an input it does not have",
			workflow: string(stepsWorkflow(t, func() actionMetadata {
				m := meta
				m.Runs.Steps = []map[string]any{{"uses": "actions/setup-go@v6", "with": map[string]any{"go-verison": "1.26"}}}
				return m
			}())),
			want: `input "go-verison" is not defined`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := repoRoot
			if tt.action != "" {
				root = t.TempDir()
				if err := os.WriteFile(filepath.Join(root, "action.yml"), []byte(tt.action), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			errs := lint(t, root, "broken.yml", []byte(tt.workflow))
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Message)
			}
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, tt.want) }) {
				t.Errorf("errors %q, want one saying %q", msgs, tt.want)
			}
		})
	}
}

// TestActionScripts runs the action's check step with bash and a stand-in roster: the
// inputs become roster's arguments, the token reaches roster in the variable token-env
// names and in ROSTER_GIT_TOKEN (never on the command line), and bad inputs stop the step.
func TestActionScripts(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run the action's script: %v", err)
	}
	_, meta := readAction(t)
	var script string
	for _, s := range meta.Runs.Steps {
		if s["name"] == "roster check" {
			script, _ = s["run"].(string)
		}
	}
	if script == "" {
		t.Fatal("action.yml has no step named \"roster check\" with a script")
	}
	stub := filepath.Join(t.TempDir(), "roster")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\necho \"args: $*\"\necho \"GITHUB_TOKEN=$GITHUB_TOKEN FORGE=$FORGE ROSTER_GIT_TOKEN=$ROSTER_GIT_TOKEN\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantCode int
		want     string
	}{
		{"pull request", map[string]string{}, 0,
			"args: check --pr 12 --repo https://github.com/acme/access.git\nGITHUB_TOKEN=s3cret FORGE= ROSTER_GIT_TOKEN=s3cret\n"},
		{"live, token in another variable", map[string]string{"LIVE": "true", "TOKEN_ENV": "FORGE"}, 0,
			"args: check --pr 12 --repo https://github.com/acme/access.git --live\nGITHUB_TOKEN= FORGE=s3cret ROSTER_GIT_TOKEN=s3cret\n"},
		{"no pull request", map[string]string{"PR": ""}, 2, "::error::roster check: no pull request number"},
		{"no token", map[string]string{"TOKEN": ""}, 2, "::error::roster check: the token input is empty"},
		{"live not a boolean", map[string]string{"LIVE": "yes"}, 2, `::error::roster check: live is "yes"`},
		{"token-env not a name", map[string]string{"TOKEN_ENV": "A-B"}, 2, "::error::roster check: token-env A-B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"PATH": os.Getenv("PATH"), "ROSTER": stub, "REPO": "https://github.com/acme/access.git", "PR": "12",
				"LIVE": "false", "TOKEN": "s3cret", "TOKEN_ENV": "GITHUB_TOKEN", "GITHUB_EVENT_NAME": "pull_request"}
			for k, v := range tt.env {
				env[k] = v
			}
			cmd := exec.Command(bash, "-c", script)
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out.String(), tt.wantCode, tt.want)
			}
			if args, _, _ := strings.Cut(out.String(), "\n"); strings.Contains(args, "s3cret") {
				t.Errorf("the token is on roster's command line: %s", args)
			}
		})
	}
}
