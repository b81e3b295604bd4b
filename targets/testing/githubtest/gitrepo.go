package githubtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// gitRepo is the pull-request side of a repository backed by a bare git repository on
// disk. Branch tips are never cached: every request reads them from disk, so a test that
// pushes to the bare repository is seen at once.
type gitRepo struct {
	repo     *repo
	dir      string
	next     int           // the last issue number given out
	pulls    map[int]*pull // by number
	labels   map[string]*label
	statuses []*status // in creation order
	// pushed is the tip of each branch as last reported in a push event, the "before" of
	// the next one.
	pushed map[string]string
}

// shaRE is a full commit id.
var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// zeroSHA is git's "no commit", the before of a created branch and the after of a deleted one.
const zeroSHA = "0000000000000000000000000000000000000000"

// git runs the git CLI against the bare repository dir, isolated from the user's and the
// system's configuration, and returns its trimmed standard output and exit code. err is
// set only when git could not run or exited with a code other than those in ok (0 is
// always fine).
func git(dir string, env []string, args []string, ok ...int) (string, int, error) {
	cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0")
	cmd.Env = append(cmd.Env, env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
		for _, c := range ok {
			if c == code {
				err = nil
			}
		}
	}
	if err != nil {
		return "", code, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(out.String()), code, nil
}

// mustGit is git for operations that cannot fail on a healthy repository: a failure is a
// broken fixture, reported by a panic that names the command.
func mustGit(dir string, args ...string) string {
	out, _, err := git(dir, nil, args)
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	return out
}

// tips reads every branch tip: branch name → commit id.
func (g *gitRepo) tips() map[string]string {
	out := mustGit(g.dir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	tips := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		sha, ref, ok := strings.Cut(line, " ")
		if ok {
			tips[strings.TrimPrefix(ref, "refs/heads/")] = sha
		}
	}
	return tips
}

// defaultBranch is the branch HEAD names in the bare repository.
func (g *gitRepo) defaultBranch() string {
	return strings.TrimPrefix(mustGit(g.dir, "symbolic-ref", "HEAD"), "refs/heads/")
}

// hasCommit reports whether sha is a full id of a commit in the repository.
func (g *gitRepo) hasCommit(sha string) bool {
	if !shaRE.MatchString(sha) {
		return false
	}
	_, code, err := git(g.dir, nil, []string{"cat-file", "-e", sha + "^{commit}"}, 1, 128)
	return err == nil && code == 0
}

// resolve turns a ref (a full commit id or a branch name) into a commit id.
func (g *gitRepo) resolve(ref string) (string, bool) {
	if g.hasCommit(ref) {
		return ref, true
	}
	sha, ok := g.tips()[ref]
	return sha, ok
}

// ahead counts the commits reachable from head and not from base.
func (g *gitRepo) ahead(base, head string) int {
	n, err := strconv.Atoi(mustGit(g.dir, "rev-list", "--count", base+".."+head))
	if err != nil {
		panic("githubtest: rev-list --count: " + err.Error())
	}
	return n
}

// mergeTree merges head into base without touching any ref and returns the resulting
// tree, or clean false when the merge conflicts.
func (g *gitRepo) mergeTree(base, head string) (tree string, clean bool) {
	out, code, err := git(g.dir, nil, []string{"merge-tree", "--write-tree", base, head}, 1)
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	if code == 1 {
		return "", false
	}
	tree, _, _ = strings.Cut(out, "\n")
	return tree, true
}

// commitInfo is what a commit says of itself: author and committer (name, email, date
// as RFC 3339), tree, parents and message.
type commitInfo struct {
	authorName, authorEmail, authorDate          string
	committerName, committerEmail, committerDate string
	tree, message                                string
	parents                                      []string
}

func (g *gitRepo) commitInfo(sha string) commitInfo {
	out, _, err := git(g.dir, nil, []string{"log", "-1", "--format=%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%T%x00%P%x00%B", sha})
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	f := strings.SplitN(out, "\x00", 9)
	return commitInfo{authorName: f[0], authorEmail: f[1], authorDate: f[2], committerName: f[3], committerEmail: f[4],
		committerDate: f[5], tree: f[6], parents: strings.Fields(f[7]), message: f[8]}
}

// revList lists the commits of head not in base, oldest first.
func (g *gitRepo) revList(base, head string) []string {
	out, _, err := git(g.dir, nil, []string{"rev-list", "--reverse", base + ".." + head})
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	return strings.Fields(out)
}

// pickTree is the tree of base with commit c's change applied (a cherry-pick), made in a
// throwaway index; clean is false when the change does not apply.
func (g *gitRepo) pickTree(base, c string) (tree string, clean bool) {
	dir, err := os.MkdirTemp("", "githubtest-pick")
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	defer os.RemoveAll(dir)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(dir, "index")}
	patch, _, err := git(g.dir, nil, []string{"diff-tree", "-p", "--binary", "--full-index", c + "^", c})
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	file := filepath.Join(dir, "change.patch")
	if err := os.WriteFile(file, []byte(patch+"\n"), 0o600); err != nil {
		panic("githubtest: " + err.Error())
	}
	if _, _, err := git(g.dir, env, []string{"read-tree", base}); err != nil {
		panic("githubtest: " + err.Error())
	}
	if strings.TrimSpace(patch) != "" {
		if _, code, err := git(g.dir, env, []string{"apply", "--cached", file}, 1); err != nil {
			panic("githubtest: " + err.Error())
		} else if code != 0 {
			return "", false
		}
	}
	tree, _, err = git(g.dir, env, []string{"write-tree"})
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	return tree, true
}

// replay writes commit c's change as a new commit of tree on parent: c's author and
// message, GitHub as committer, as a rebase merge on github.com does.
func (g *gitRepo) replay(tree, parent, c string, when time.Time) string {
	meta, _, err := git(g.dir, nil, []string{"log", "-1", "--format=%an%x00%ae%x00%ad%x00%B", "--date=raw", c})
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	f := strings.SplitN(meta, "\x00", 4)
	date := strconv.FormatInt(when.Unix(), 10) + " +0000"
	env := []string{"GIT_AUTHOR_NAME=" + f[0], "GIT_AUTHOR_EMAIL=" + f[1], "GIT_AUTHOR_DATE=" + f[2],
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com", "GIT_COMMITTER_DATE=" + date}
	out, _, err := git(g.dir, env, []string{"commit-tree", tree, "-p", parent, "-m", f[3]})
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	return out
}

// commitTree writes a commit of tree with parents, authored by login and committed by
// GitHub, as a merge on github.com is.
func (g *gitRepo) commitTree(tree string, parents []string, msg, login string, when time.Time) string {
	date := strconv.FormatInt(when.Unix(), 10) + " +0000"
	env := []string{"GIT_AUTHOR_NAME=" + login, "GIT_AUTHOR_EMAIL=" + login + "@users.noreply.github.com",
		"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com",
		"GIT_COMMITTER_DATE=" + date}
	args := []string{"commit-tree", tree, "-m", msg}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	out, _, err := git(g.dir, env, args)
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	return out
}

// updateRef moves branch from old to sha and reports whether it did: false when the
// branch no longer points at old (someone pushed meanwhile).
func (g *gitRepo) updateRef(branch, sha, old string) bool {
	_, code, err := git(g.dir, nil, []string{"update-ref", "-m", "merge", "refs/heads/" + branch, sha, old}, 1, 128)
	return err == nil && code == 0
}
