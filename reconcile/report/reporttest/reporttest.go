package reporttest

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile/report"
)

// Serve serves page on a loopback httptest server and returns its URL.
func Serve(t *testing.T, page string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/report.html"
}

// chromium finds the browser; its absence is a failure, not a skip.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the report tests need a real browser; `make deps` installs it (Debian package chromium)")
	return ""
}

// Browse runs headless Chromium with args and returns its stdout.
func Browse(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium(t), append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// artifacts is where screenshots are kept: $ROSTER_ARTIFACTS when set, else the
// test's artifact directory (kept with go test -artifacts).
func artifacts(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("ROSTER_ARTIFACTS"); dir != "" {
		dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

// Screenshot takes a 1400×1000 screenshot of url into the artifacts and checks it is
// a PNG of that size.
func Screenshot(t *testing.T, url, name string) string {
	t.Helper()
	file := filepath.Join(artifacts(t), name)
	Browse(t, "--screenshot="+file, "--window-size=1400,1000", url)
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	if cfg.Width != 1400 || cfg.Height != 1000 {
		t.Errorf("screenshot is %dx%d, want 1400x1000", cfg.Width, cfg.Height)
	}
	t.Logf("screenshot: %s", file)
	return file
}

// Node is an element (or, with Tag "", a text node) of the DOM Chromium dumped.
type Node struct {
	Tag      string
	Attrs    map[string]string
	Text     string
	Parent   *Node
	Children []*Node
}

var (
	domVoid = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
		"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}
	domAttr = regexp.MustCompile(`([^\s="'/>]+)(?:="([^"]*)")?`)
)

// ParseDOM reads the serialisation of --dump-dom: every element closed (or void), attribute
// values double-quoted, script and style raw.
func ParseDOM(s string) *Node {
	root := &Node{Tag: "#document", Attrs: map[string]string{}}
	cur := root
	addText := func(t string) {
		if t != "" {
			cur.Children = append(cur.Children, &Node{Text: html.UnescapeString(t), Parent: cur})
		}
	}
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			addText(s)
			break
		}
		addText(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "<!--"):
			end := strings.Index(s, "-->")
			if end < 0 {
				return root
			}
			s = s[end+3:]
		case strings.HasPrefix(s, "<!"):
			s = s[strings.IndexByte(s, '>')+1:]
		case strings.HasPrefix(s, "</"):
			end := strings.IndexByte(s, '>')
			name := strings.ToLower(strings.TrimSpace(s[2:end]))
			for n := cur; n != root; n = n.Parent {
				if n.Tag == name {
					cur = n.Parent
					break
				}
			}
			s = s[end+1:]
		default:
			end, quoted := 1, false
			for ; end < len(s) && (quoted || s[end] != '>'); end++ {
				if s[end] == '"' {
					quoted = !quoted
				}
			}
			inner := strings.TrimSuffix(s[1:end], "/")
			name, rest, _ := strings.Cut(inner, " ")
			n := &Node{Tag: strings.ToLower(name), Attrs: map[string]string{}, Parent: cur}
			for _, m := range domAttr.FindAllStringSubmatch(rest, -1) {
				n.Attrs[strings.ToLower(m[1])] = html.UnescapeString(m[2])
			}
			cur.Children = append(cur.Children, n)
			s = s[min(end+1, len(s)):]
			if n.Tag == "script" || n.Tag == "style" {
				close := strings.Index(s, "</"+n.Tag)
				if close < 0 {
					close = len(s)
				}
				n.Children = append(n.Children, &Node{Text: s[:close], Parent: n})
				s = s[close:]
			}
			if !domVoid[n.Tag] {
				cur = n
			}
		}
	}
	return root
}

// Find returns every element below n for which ok holds, in document order.
func (n *Node) Find(ok func(*Node) bool) []*Node {
	var out []*Node
	for _, c := range n.Children {
		if c.Tag != "" && ok(c) {
			out = append(out, c)
		}
		out = append(out, c.Find(ok)...)
	}
	return out
}

// Has reports whether the element carries attr.
func (n *Node) Has(attr string) bool { _, ok := n.Attrs[attr]; return ok }

// TextContent is the element's text, as the DOM property gives it.
func (n *Node) TextContent() string {
	if n.Tag == "" {
		return n.Text
	}
	var b strings.Builder
	for _, c := range n.Children {
		b.WriteString(c.TextContent())
	}
	return b.String()
}

// Hidden reports whether n or an ancestor carries the hidden attribute.
func (n *Node) Hidden() bool {
	for ; n != nil; n = n.Parent {
		if n.Has("hidden") {
			return true
		}
	}
	return false
}

// Ancestor is the nearest element above n with tag; nil when there is none.
func (n *Node) Ancestor(tag string) *Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Tag == tag {
			return p
		}
	}
	return nil
}

// DataRows are the filterable rows of the tables of kind table (data-table).
func DataRows(doc *Node, table string) []*Node {
	return doc.Find(func(n *Node) bool {
		if n.Tag != "tr" || !n.Has("data-system") {
			return false
		}
		t := n.Ancestor("table")
		return t != nil && t.Attrs["data-table"] == table
	})
}

// ByAttr matches the elements whose attribute name is value, for Find.
func ByAttr(name, value string) func(*Node) bool {
	return func(n *Node) bool { v, ok := n.Attrs[name]; return ok && v == value }
}

// CellText is the trimmed text of row's cell of column col (data-col); a placeholder naming
// the count when the row has not exactly one.
func CellText(row *Node, col string) string {
	cells := row.Find(ByAttr("data-col", col))
	if len(cells) != 1 {
		return fmt.Sprintf("<%d cells %s>", len(cells), col)
	}
	return strings.TrimSpace(cells[0].TextContent())
}

// Metric is the trimmed text of the page's one element with data-metric=name.
func Metric(t *testing.T, doc *Node, name string) string {
	t.Helper()
	m := doc.Find(ByAttr("data-metric", name))
	if len(m) != 1 {
		t.Fatalf("%d elements with data-metric=%s", len(m), name)
	}
	return strings.TrimSpace(m[0].TextContent())
}

// CheckNumbers compares every number the page shows with the JSON of the same report.
func CheckNumbers(t *testing.T, doc *Node, r *report.Report) {
	t.Helper()
	s := r.Summary
	got := map[string]string{}
	for _, m := range []string{"people", "accounts", "entitlements", "orphans", "findings", "seats"} {
		got[m] = Metric(t, doc, m)
	}
	want := map[string]string{"people": strconv.Itoa(s.People), "accounts": strconv.Itoa(s.Accounts), "entitlements": strconv.Itoa(s.Entitlements),
		"orphans": strconv.Itoa(s.Orphans), "findings": strconv.Itoa(s.Findings), "seats": strconv.Itoa(s.Seats)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary on screen (-json +page):\n%s", diff)
	}
	var costs, wantCosts []string
	for _, c := range doc.Find(ByAttr("data-metric", "cost")) {
		if c.Attrs["data-currency"] != "" {
			costs = append(costs, strings.TrimSpace(c.TextContent()))
		}
	}
	for _, m := range s.MonthlyCost {
		wantCosts = append(wantCosts, fmt.Sprintf("%.2f %s", m.Amount, m.Currency))
	}
	if diff := cmp.Diff(wantCosts, costs); diff != "" {
		t.Errorf("monthly license cost on screen (-json +page):\n%s", diff)
	}

	// The systems table, and each system's holdings table, row by row.
	sysRows := DataRows(doc, "systems")
	if len(sysRows) != len(r.Systems) {
		t.Fatalf("%d system rows on screen, %d systems in JSON", len(sysRows), len(r.Systems))
	}
	holdings := DataRows(doc, "holdings")
	var wantEnts, gotEnts int
	for i, sys := range r.Systems {
		row := sysRows[i]
		gotSys := []string{row.Attrs["data-system"], CellText(row, "accounts"), CellText(row, "entitlements"), CellText(row, "orphans"), CellText(row, "findings")}
		wantSys := []string{sys.Name, strconv.Itoa(sys.Accounts), strconv.Itoa(sys.Entitlements), strconv.Itoa(sys.Orphans), strconv.Itoa(sys.Findings)}
		if diff := cmp.Diff(wantSys, gotSys); diff != "" {
			t.Errorf("system row %d (-json +page):\n%s", i, diff)
		}
		var jsonRows, jsonEnts int
		accounts := map[string]bool{}
		for _, h := range r.Holdings {
			if h.System == sys.Name {
				jsonRows++
				accounts[h.Account] = true
				if h.Entitlement != "" {
					jsonEnts++
				}
			}
		}
		var pageRows, pageEnts int
		pageAccounts := map[string]bool{}
		for _, h := range holdings {
			if h.Attrs["data-system"] == sys.Name {
				pageRows++
				pageAccounts[h.Attrs["data-account"]] = true
				if h.Attrs["data-entitlement"] != "" {
					pageEnts++
				}
			}
		}
		if pageRows != jsonRows || pageEnts != sys.Entitlements || jsonEnts != sys.Entitlements || len(pageAccounts) != sys.Accounts || len(accounts) != sys.Accounts {
			t.Errorf("system %s: %d holding rows (%d entitlements, %d accounts) on screen, JSON has %d rows (%d entitlements, %d accounts; its count says %d, %d)",
				sys.Name, pageRows, pageEnts, len(pageAccounts), jsonRows, jsonEnts, len(accounts), sys.Entitlements, sys.Accounts)
		}
		heading := doc.Find(ByAttr("data-count", "holdings-"+sys.Name))
		if len(heading) != 1 || strings.TrimSpace(heading[0].TextContent()) != strconv.Itoa(jsonRows) {
			t.Errorf("system %s: heading count %v, want %d", sys.Name, heading, jsonRows)
		}
		wantEnts += sys.Entitlements
		gotEnts += pageEnts
	}
	if gotEnts != s.Entitlements || wantEnts != s.Entitlements {
		t.Errorf("entitlement rows on screen add up to %d, systems to %d; summary says %d", gotEnts, wantEnts, s.Entitlements)
	}
	if n := len(DataRows(doc, "orphans")); n != len(r.Orphans) || n != s.Orphans {
		t.Errorf("%d orphan rows on screen; JSON has %d, summary %d", n, len(r.Orphans), s.Orphans)
	}
	if n := len(DataRows(doc, "findings")); n != len(r.Findings) || n != s.Findings {
		t.Errorf("%d finding rows on screen; JSON has %d, summary %d", n, len(r.Findings), s.Findings)
	}
	if n := len(DataRows(doc, "roles")); n != len(r.Roles) {
		t.Errorf("%d role rows on screen; JSON has %d", n, len(r.Roles))
	}

	// License seats and totals, and their sum per currency against the summary.
	licRows := DataRows(doc, "licenses")
	if len(licRows) != len(r.Licenses) {
		t.Fatalf("%d license rows on screen, %d in JSON", len(licRows), len(r.Licenses))
	}
	sums := map[string]float64{}
	for i, l := range r.Licenses {
		row := licRows[i]
		wantMonthly := "–"
		if l.Currency != "" {
			wantMonthly = fmt.Sprintf("%.2f %s", l.MonthlyTotal, l.Currency)
			amount, err := strconv.ParseFloat(strings.Fields(CellText(row, "monthly"))[0], 64)
			if err != nil {
				t.Errorf("license %s: monthly cost %q: %v", l.Name, CellText(row, "monthly"), err)
			}
			sums[l.Currency] += amount
		}
		gotL := []string{row.Attrs["data-license"], CellText(row, "seats"), CellText(row, "monthly")}
		wantL := []string{l.Name, strconv.Itoa(l.Seats), wantMonthly}
		if diff := cmp.Diff(wantL, gotL); diff != "" {
			t.Errorf("license row %d (-json +page):\n%s", i, diff)
		}
	}
	for _, m := range s.MonthlyCost {
		if fmt.Sprintf("%.2f", sums[m.Currency]) != fmt.Sprintf("%.2f", m.Amount) {
			t.Errorf("license rows add up to %.2f %s, the summary says %.2f", sums[m.Currency], m.Currency, m.Amount)
		}
	}
	if len(sums) != len(s.MonthlyCost) {
		t.Errorf("license currencies %v, summary %v", sums, s.MonthlyCost)
	}
}
