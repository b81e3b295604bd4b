package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// measurement is one run of a command.
type measurement struct {
	wall     time.Duration
	cpu      time.Duration // user + system
	maxRSS   int64         // bytes
	exitCode int           // -1 when the process did not exit normally
	err      error         // could not start, killed, timed out
	stdoutN  int64         // bytes written to stdout
	stdout   []byte
	stderr   []byte
}

const (
	keepStdout = 1 << 20
	keepStderr = 8 << 10
)

// ok reports whether the run exited normally with one of codes.
func (m measurement) ok(codes ...int) bool {
	return m.err == nil && slices.Contains(codes, m.exitCode)
}

func (m measurement) describe() string {
	if m.err != nil {
		return m.err.Error()
	}
	return fmt.Sprintf("exit %d", m.exitCode)
}

func (m measurement) stderrTail() string { return string(m.stderr) }

// capWriter counts everything written and keeps the first (or last) max bytes.
type capWriter struct {
	n    int64
	max  int
	tail bool
	buf  []byte
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.tail {
		w.buf = append(w.buf, p...)
		if len(w.buf) > w.max {
			w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
		}
	} else if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// measure runs name with args in dir (the working directory when empty) and records its
// wall time and peak RSS. Stdout is counted, not kept beyond its first MiB.
func measure(ctx context.Context, timeout time.Duration, dir, name string, args ...string) measurement {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &capWriter{max: keepStdout}
	errw := &capWriter{max: keepStderr, tail: true}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = errw
	start := time.Now()
	err := cmd.Run()
	m := measurement{wall: time.Since(start), exitCode: -1, stdoutN: out.n, stdout: out.buf, stderr: errw.buf}
	if cmd.ProcessState != nil {
		m.exitCode = cmd.ProcessState.ExitCode()
		m.maxRSS = maxRSS(cmd.ProcessState)
		m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		m.err = fmt.Errorf("%s: %w after %s", filepath.Base(name), ctx.Err(), timeout)
	case err != nil && !errors.As(err, &exitErr):
		m.err = err
	case m.exitCode < 0:
		m.err = fmt.Errorf("%s: %v", filepath.Base(name), cmd.ProcessState)
	}
	return m
}

func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes there
	}
	return int64(ru.Maxrss) * 1024 // KiB on Linux and the BSDs
}

// hasWatch reports whether `roster validate --help` mentions a --watch flag.
func hasWatch(ctx context.Context, roster string) bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, roster, "validate", "--help").CombinedOutput()
	return regexp.MustCompile(`(?m)(^|\s)--?watch\b`).Match(out)
}

// measureWatch starts `roster validate --repo dir --watch`, waits for its first output
// (the initial validation), changes one person's name in one file and measures until the
// next output. Best effort: the note says why nothing was measured.
func measureWatch(ctx context.Context, timeout time.Duration, roster, dir string) (measurement, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var m measurement
	target, err := firstPeopleFile(dir)
	if err != nil {
		return m, "n/a (" + err.Error() + ")"
	}
	orig, err := os.ReadFile(target)
	if err != nil {
		return m, "n/a (" + err.Error() + ")"
	}
	changed := bytes.Replace(orig, []byte("\t\tname: \""), []byte("\t\tname: \"Re "), 1)
	defer os.WriteFile(target, orig, 0o644)

	pr, pw, err := os.Pipe()
	if err != nil {
		return m, "n/a (" + err.Error() + ")"
	}
	cmd := exec.CommandContext(ctx, roster, "validate", "--repo", dir, "--watch")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return m, "n/a (" + err.Error() + ")"
	}
	pw.Close()
	lines := make(chan time.Time, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			lines <- time.Now()
		}
	}()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		pr.Close()
	}()
	wait := func(d time.Duration) (time.Time, bool) {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case t, ok := <-lines:
			return t, ok
		case <-timer.C:
			return time.Time{}, false
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
	if _, ok := wait(5 * time.Minute); !ok {
		return m, "n/a (no output from --watch)"
	}
	// Let the first report finish printing before changing the file.
	for {
		if _, ok := wait(500 * time.Millisecond); !ok {
			break
		}
	}
	start := time.Now()
	if err := os.WriteFile(target, changed, 0o644); err != nil {
		return m, "n/a (" + err.Error() + ")"
	}
	end, ok := wait(2 * time.Minute)
	if !ok {
		return m, "n/a (no output after the change)"
	}
	m.wall = end.Sub(start)
	return m, ""
}

func firstPeopleFile(dir string) (string, error) {
	var found string
	err := filepath.WalkDir(filepath.Join(dir, "people"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if found == "" && !d.IsDir() && strings.HasSuffix(path, ".cue") {
			found = path
			return filepath.SkipAll
		}
		return nil
	})
	if found == "" && err == nil {
		err = errors.New("no people file")
	}
	return found, err
}

var packageClause = regexp.MustCompile(`(?m)^package\s+([A-Za-z_][A-Za-z0-9_]*)\s*$`)

// vetModule is the module the cue vet directory declares, so its root can import the data.
const vetModule = "bench.example/vet"

// flatCopy prepares dst for `cue vet -c=false .`, checking the repo's files against the
// schema the way roster does (the package's value must be an instance of #Repo):
//
//	dst/cue.mod/module.cue   module bench.example/vet
//	dst/data/*.cue           every .cue file of repo, flattened (people/finance/part-0001.cue
//	                         becomes people_finance_part-0001.cue), still package bench
//	dst/schema.cue           a copy of the schema
//	dst/zz_root.cue          repo: #Repo & data, in the schema's package
//
// Embedding #Repo into package bench itself (a zz_root.cue of `package bench` + `#Repo`)
// checks field values but not closedness: cue v0.17.1 accepts an unknown top-level field
// and an unknown field on a person that way, because fields declared alongside an embedding
// are exempt. Unifying the imported package value with #Repo closes all of it.
func flatCopy(repo, dst, schemaPath string) error {
	data := filepath.Join(dst, "data")
	for _, d := range []string{data, filepath.Join(dst, "cue.mod")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".cue") {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		if err != nil {
			return err
		}
		return copyFile(path, filepath.Join(data, strings.ReplaceAll(filepath.ToSlash(rel), "/", "_")))
	})
	if err != nil {
		return err
	}
	schema, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	pkg := packageClause.FindSubmatch(schema)
	if pkg == nil {
		return fmt.Errorf("%s has no package clause", schemaPath)
	}
	files := map[string]string{
		"cue.mod/module.cue": fmt.Sprintf("module: %q\nlanguage: version: \"v0.17.0\"\n", vetModule),
		"schema.cue":         string(schema),
		"zz_root.cue": fmt.Sprintf("package %s\n\nimport data \"%s/data:%s\"\n\nrepo: #Repo & data\n",
			pkg[1], vetModule, benchPackage),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dst, filepath.FromSlash(name)), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
