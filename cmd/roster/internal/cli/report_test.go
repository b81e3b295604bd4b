package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/roster-dev/roster/cmd/roster/internal/report"
	"github.com/roster-dev/roster/reconcile/audit"
)

// The report tests render a report in-process, open the HTML page in headless Chromium
// (the Debian package chromium; `make deps` installs it) served from an httptest server
// on loopback, and check what the browser shows against the JSON of the same report.

const acmeDir = "../../../../examples/acme"

// reportRun runs roster report and returns its stdout, failing the test on a non-zero
// exit.
func reportRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, append([]string{"report"}, args...)...)
	if code != ExitOK {
		t.Fatalf("roster report %v: exit %d\n%s", args, code, stderr)
	}
	return stdout
}

func reportJSON(t *testing.T, args ...string) *report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(reportRun(t, append(args, "--format", "json")...)), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// reportServe serves page on a loopback httptest server and returns its URL.
func reportServe(t *testing.T, page string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/report.html"
}

// chromiumPath finds the browser; its absence is a failure, not a skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the report tests need a real browser; `make deps` installs it (Debian package chromium)")
	return ""
}

// reportBrowse runs headless Chromium with args and returns its stdout.
func reportBrowse(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromiumPath(t), append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// reportArtifacts is where screenshots are kept: $ROSTER_ARTIFACTS when set, else the
// test's artifact directory (kept with go test -artifacts).
func reportArtifacts(t *testing.T) string {
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

// reportScreenshot takes a 1400×1000 screenshot of url into the artifacts and checks it is
// a PNG of that size.
func reportScreenshot(t *testing.T, url, name string) string {
	t.Helper()
	file := filepath.Join(reportArtifacts(t), name)
	reportBrowse(t, "--screenshot="+file, "--window-size=1400,1000", url)
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

// domNode is an element (or, with tag "", a text node) of the DOM Chromium dumped.
type domNode struct {
	tag      string
	attrs    map[string]string
	text     string
	parent   *domNode
	children []*domNode
}

var (
	domVoid = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
		"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}
	domAttr = regexp.MustCompile(`([^\s="'/>]+)(?:="([^"]*)")?`)
)

// parseDOM reads the serialisation of --dump-dom: every element closed (or void), attribute
// values double-quoted, script and style raw.
func parseDOM(s string) *domNode {
	root := &domNode{tag: "#document", attrs: map[string]string{}}
	cur := root
	addText := func(t string) {
		if t != "" {
			cur.children = append(cur.children, &domNode{text: html.UnescapeString(t), parent: cur})
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
			for n := cur; n != root; n = n.parent {
				if n.tag == name {
					cur = n.parent
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
			n := &domNode{tag: strings.ToLower(name), attrs: map[string]string{}, parent: cur}
			for _, m := range domAttr.FindAllStringSubmatch(rest, -1) {
				n.attrs[strings.ToLower(m[1])] = html.UnescapeString(m[2])
			}
			cur.children = append(cur.children, n)
			s = s[min(end+1, len(s)):]
			if n.tag == "script" || n.tag == "style" {
				close := strings.Index(s, "</"+n.tag)
				if close < 0 {
					close = len(s)
				}
				n.children = append(n.children, &domNode{text: s[:close], parent: n})
				s = s[close:]
			}
			if !domVoid[n.tag] {
				cur = n
			}
		}
	}
	return root
}

// find returns every element below n for which ok holds, in document order.
func (n *domNode) find(ok func(*domNode) bool) []*domNode {
	var out []*domNode
	for _, c := range n.children {
		if c.tag != "" && ok(c) {
			out = append(out, c)
		}
		out = append(out, c.find(ok)...)
	}
	return out
}

func (n *domNode) has(attr string) bool { _, ok := n.attrs[attr]; return ok }

// textContent is the element's text, as the DOM property gives it.
func (n *domNode) textContent() string {
	if n.tag == "" {
		return n.text
	}
	var b strings.Builder
	for _, c := range n.children {
		b.WriteString(c.textContent())
	}
	return b.String()
}

// hidden reports whether n or an ancestor carries the hidden attribute.
func (n *domNode) hidden() bool {
	for ; n != nil; n = n.parent {
		if n.has("hidden") {
			return true
		}
	}
	return false
}

func (n *domNode) ancestor(tag string) *domNode {
	for p := n.parent; p != nil; p = p.parent {
		if p.tag == tag {
			return p
		}
	}
	return nil
}

// dataRows are the filterable rows of the tables of kind table (data-table).
func dataRows(doc *domNode, table string) []*domNode {
	return doc.find(func(n *domNode) bool {
		if n.tag != "tr" || !n.has("data-system") {
			return false
		}
		t := n.ancestor("table")
		return t != nil && t.attrs["data-table"] == table
	})
}

func byAttr(name, value string) func(*domNode) bool {
	return func(n *domNode) bool { v, ok := n.attrs[name]; return ok && v == value }
}

func cellText(row *domNode, col string) string {
	cells := row.find(byAttr("data-col", col))
	if len(cells) != 1 {
		return fmt.Sprintf("<%d cells %s>", len(cells), col)
	}
	return strings.TrimSpace(cells[0].textContent())
}

func metric(t *testing.T, doc *domNode, name string) string {
	t.Helper()
	m := doc.find(byAttr("data-metric", name))
	if len(m) != 1 {
		t.Fatalf("%d elements with data-metric=%s", len(m), name)
	}
	return strings.TrimSpace(m[0].textContent())
}

// checkNumbers compares every number the page shows with the JSON of the same report.
func checkNumbers(t *testing.T, doc *domNode, r *report.Report) {
	t.Helper()
	s := r.Summary
	got := map[string]string{}
	for _, m := range []string{"people", "accounts", "entitlements", "orphans", "findings", "seats"} {
		got[m] = metric(t, doc, m)
	}
	want := map[string]string{"people": strconv.Itoa(s.People), "accounts": strconv.Itoa(s.Accounts), "entitlements": strconv.Itoa(s.Entitlements),
		"orphans": strconv.Itoa(s.Orphans), "findings": strconv.Itoa(s.Findings), "seats": strconv.Itoa(s.Seats)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary on screen (-json +page):\n%s", diff)
	}
	var costs, wantCosts []string
	for _, c := range doc.find(byAttr("data-metric", "cost")) {
		if c.attrs["data-currency"] != "" {
			costs = append(costs, strings.TrimSpace(c.textContent()))
		}
	}
	for _, m := range s.MonthlyCost {
		wantCosts = append(wantCosts, fmt.Sprintf("%.2f %s", m.Amount, m.Currency))
	}
	if diff := cmp.Diff(wantCosts, costs); diff != "" {
		t.Errorf("monthly license cost on screen (-json +page):\n%s", diff)
	}

	// The systems table, and each system's holdings table, row by row.
	sysRows := dataRows(doc, "systems")
	if len(sysRows) != len(r.Systems) {
		t.Fatalf("%d system rows on screen, %d systems in JSON", len(sysRows), len(r.Systems))
	}
	holdings := dataRows(doc, "holdings")
	var wantEnts, gotEnts int
	for i, sys := range r.Systems {
		row := sysRows[i]
		gotSys := []string{row.attrs["data-system"], cellText(row, "accounts"), cellText(row, "entitlements"), cellText(row, "orphans"), cellText(row, "findings")}
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
			if h.attrs["data-system"] == sys.Name {
				pageRows++
				pageAccounts[h.attrs["data-account"]] = true
				if h.attrs["data-entitlement"] != "" {
					pageEnts++
				}
			}
		}
		if pageRows != jsonRows || pageEnts != sys.Entitlements || jsonEnts != sys.Entitlements || len(pageAccounts) != sys.Accounts || len(accounts) != sys.Accounts {
			t.Errorf("system %s: %d holding rows (%d entitlements, %d accounts) on screen, JSON has %d rows (%d entitlements, %d accounts; its count says %d, %d)",
				sys.Name, pageRows, pageEnts, len(pageAccounts), jsonRows, jsonEnts, len(accounts), sys.Entitlements, sys.Accounts)
		}
		heading := doc.find(byAttr("data-count", "holdings-"+sys.Name))
		if len(heading) != 1 || strings.TrimSpace(heading[0].textContent()) != strconv.Itoa(jsonRows) {
			t.Errorf("system %s: heading count %v, want %d", sys.Name, heading, jsonRows)
		}
		wantEnts += sys.Entitlements
		gotEnts += pageEnts
	}
	if gotEnts != s.Entitlements || wantEnts != s.Entitlements {
		t.Errorf("entitlement rows on screen add up to %d, systems to %d; summary says %d", gotEnts, wantEnts, s.Entitlements)
	}
	if n := len(dataRows(doc, "orphans")); n != len(r.Orphans) || n != s.Orphans {
		t.Errorf("%d orphan rows on screen; JSON has %d, summary %d", n, len(r.Orphans), s.Orphans)
	}
	if n := len(dataRows(doc, "findings")); n != len(r.Findings) || n != s.Findings {
		t.Errorf("%d finding rows on screen; JSON has %d, summary %d", n, len(r.Findings), s.Findings)
	}
	if n := len(dataRows(doc, "roles")); n != len(r.Roles) {
		t.Errorf("%d role rows on screen; JSON has %d", n, len(r.Roles))
	}

	// License seats and totals, and their sum per currency against the summary.
	licRows := dataRows(doc, "licenses")
	if len(licRows) != len(r.Licenses) {
		t.Fatalf("%d license rows on screen, %d in JSON", len(licRows), len(r.Licenses))
	}
	sums := map[string]float64{}
	for i, l := range r.Licenses {
		row := licRows[i]
		wantMonthly := "–"
		if l.Currency != "" {
			wantMonthly = fmt.Sprintf("%.2f %s", l.MonthlyTotal, l.Currency)
			amount, err := strconv.ParseFloat(strings.Fields(cellText(row, "monthly"))[0], 64)
			if err != nil {
				t.Errorf("license %s: monthly cost %q: %v", l.Name, cellText(row, "monthly"), err)
			}
			sums[l.Currency] += amount
		}
		gotL := []string{row.attrs["data-license"], cellText(row, "seats"), cellText(row, "monthly")}
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

// holdingText is what a holding row's textContent holds, from the JSON, for the filter.
func holdingText(r *report.Report, h report.Holding) string {
	parts := []string{h.Account, h.Name, h.Person, h.Entitlement, h.Live, strings.Join(h.Roles, " ")}
	if h.Entitlement == "" {
		parts = append(parts, "account")
	}
	for _, v := range h.Via {
		parts = append(parts, v.String())
	}
	if h.Granted == nil {
		parts = append(parts, report.NotInGit)
	} else {
		parts = append(parts, h.Granted.Subject, h.Granted.Author, strings.Join(h.Granted.Approvers, ", "))
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

func TestReportBrowserAcme(t *testing.T) {
	args := []string{"--repo", acmeDir, "--at", "2026-11-23"}
	r := reportJSON(t, args...)
	page := reportRun(t, args...)
	if r.History != report.NotInGit || !r.Live || r.Summary.Orphans != 3 || r.Summary.Findings == 0 {
		t.Fatalf("unexpected acme report: history %q, live %t, summary %+v", r.History, r.Live, r.Summary)
	}
	url := reportServe(t, page)

	t.Run("numbers", func(t *testing.T) {
		doc := parseDOM(reportBrowse(t, "--dump-dom", url))
		checkNumbers(t, doc, r)
		for _, row := range doc.find(func(n *domNode) bool { return n.tag == "tr" && n.has("data-system") }) {
			if row.hidden() {
				t.Errorf("row %v hidden without a filter", row.attrs)
			}
		}
		notInGit := 0
		for _, td := range doc.find(func(n *domNode) bool { return n.tag == "td" }) {
			if strings.TrimSpace(td.textContent()) == report.NotInGit {
				notInGit++
			}
		}
		if notInGit != 3*len(r.Holdings) {
			t.Errorf("%d cells say %q, want 3 per holding (%d)", notInGit, report.NotInGit, 3*len(r.Holdings))
		}
	})

	t.Run("filter from hash", func(t *testing.T) {
		doc := parseDOM(reportBrowse(t, "--dump-dom", url+"#q=finance&system=directory"))
		want := 0
		for _, h := range r.Holdings {
			if h.System == "directory" && strings.Contains(holdingText(r, h), "finance") {
				want++
			}
		}
		if want == 0 {
			t.Fatal("the filter should match some of acme's holdings")
		}
		shown := 0
		for _, row := range dataRows(doc, "holdings") {
			hay := strings.ToLower(row.textContent() + " " + row.attrs["data-roles"])
			match := row.attrs["data-system"] == "directory" && strings.Contains(hay, "finance")
			if row.hidden() == match {
				t.Errorf("row %s %s: hidden=%t, but it matches=%t", row.attrs["data-account"], row.attrs["data-entitlement"], row.hidden(), match)
			}
			if !row.hidden() {
				shown++
			}
		}
		if shown != want {
			t.Errorf("%d holding rows shown, the JSON has %d in directory mentioning finance", shown, want)
		}
		for _, row := range dataRows(doc, "orphans") {
			if !row.hidden() && row.attrs["data-system"] != "directory" {
				t.Errorf("orphan %v of another system shown", row.attrs)
			}
		}
		visible := 0
		for _, row := range doc.find(func(n *domNode) bool { return n.tag == "tr" && n.has("data-system") }) {
			if !row.hidden() {
				visible++
			}
		}
		if got := doc.find(byAttr("id", "shown")); len(got) != 1 || !strings.HasPrefix(got[0].textContent(), strconv.Itoa(visible)+" of ") {
			t.Errorf("the shown counter does not say %d rows match: %v", visible, got)
		}
		counter := doc.find(byAttr("data-count", "holdings-directory"))
		if len(counter) != 1 || strings.TrimSpace(counter[0].textContent()) != fmt.Sprintf("%d of %d", want, countOn(r, "directory")) {
			t.Errorf("directory's counter says %q, want %q", counter[0].textContent(), fmt.Sprintf("%d of %d", want, countOn(r, "directory")))
		}
		for _, block := range doc.find(func(n *domNode) bool { return n.attrs["class"] == "block" }) {
			if block.has("hidden") != (block.attrs["data-system"] != "directory") {
				t.Errorf("block %s hidden=%t", block.attrs["data-system"], block.has("hidden"))
			}
		}
	})

	t.Run("role filter", func(t *testing.T) {
		doc := parseDOM(reportBrowse(t, "--dump-dom", url+"#role=payment-approver"))
		want := 0
		for _, h := range r.Holdings {
			if slices.Contains(h.Roles, "payment-approver") {
				want++
			}
		}
		shown := 0
		for _, row := range dataRows(doc, "holdings") {
			if !row.hidden() {
				shown++
				if !slices.Contains(strings.Fields(row.attrs["data-roles"]), "payment-approver") {
					t.Errorf("row %v shown without the role", row.attrs)
				}
			}
		}
		if want == 0 || shown != want {
			t.Errorf("%d rows shown for role payment-approver, JSON has %d", shown, want)
		}
	})

	t.Run("layout at 1400 px", func(t *testing.T) {
		l := reportLayout(t, page, 1400)
		if l.Width != 1400 {
			t.Fatalf("the page was laid out %d px wide, want 1400", l.Width)
		}
		if l.Headers == 0 {
			t.Fatal("no header cell measured")
		}
		for _, h := range l.SplitHeaders {
			t.Errorf("header cell split across lines at 1400 px: %s", h)
		}
		if l.Addresses == 0 {
			t.Fatal("no address measured: acme's crm accounts are email addresses")
		}
		for _, b := range l.BadBreaks {
			t.Errorf("address broken inside a word at 1400 px: %s", b)
		}
	})

	t.Run("addresses in a narrow window", func(t *testing.T) {
		// Narrow enough that addresses must wrap: they do so only before an @ or a dot.
		l := reportLayout(t, page, 700)
		if l.Wrapped == 0 {
			t.Fatalf("no address wraps at 700 px (%d measured): the check would prove nothing", l.Addresses)
		}
		for _, b := range l.BadBreaks {
			t.Errorf("address broken inside a word at 700 px: %s", b)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		reportScreenshot(t, url, "acme-report.png")
	})
}

// layoutCheck runs in the page and writes what it measured, as JSON, into
// <pre id="layout-check">, which --dump-dom then shows. A node's text is on as many lines
// as its line boxes have distinct tops (Range.getClientRects gives one box a line); an
// address is each code cell with an @ in it, and each of its lines after the first must
// start with an @ or a dot.
const layoutCheck = `<script>
(function () {
  var out = {width: window.innerWidth, headers: 0, splitHeaders: [], addresses: 0, wrapped: 0, badBreaks: []};
  function tops(rects) {
    var seen = [];
    for (var i = 0; i < rects.length; i++) {
      var top = Math.round(rects[i].top);
      if (rects[i].width > 0 && seen.every(function (s) { return Math.abs(s - top) > 3; })) seen.push(top);
    }
    return seen.length;
  }
  document.querySelectorAll("th").forEach(function (th) {
    var r = document.createRange();
    r.selectNodeContents(th);
    var n = tops(r.getClientRects());
    if (n === 0) return;
    out.headers++;
    if (n > 1) out.splitHeaders.push(JSON.stringify(th.textContent) + " on " + n + " lines, " + Math.round(th.getBoundingClientRect().width) + " px wide");
  });
  document.querySelectorAll("td code").forEach(function (code) {
    var text = code.textContent;
    if (text.indexOf("@") < 0) return;
    out.addresses++;
    var walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT), prev = null, at = 0, wrapped = false;
    while (walker.nextNode()) {
      var node = walker.currentNode;
      for (var i = 0; i < node.data.length; i++, at++) {
        var r = document.createRange();
        r.setStart(node, i);
        r.setEnd(node, i + 1);
        var rects = r.getClientRects();
        if (rects.length === 0) continue;
        var top = Math.round(rects[rects.length - 1].top);
        if (prev !== null && top > prev + 3) {
          wrapped = true;
          var c = node.data[i];
          if (c !== "@" && c !== ".") out.badBreaks.push(JSON.stringify(text.slice(0, at) + "|" + text.slice(at)));
        }
        prev = top;
      }
    }
    if (wrapped) out.wrapped++;
  });
  var pre = document.createElement("pre");
  pre.id = "layout-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`

// layout is what layoutCheck measured.
type layout struct {
	Width        int      `json:"width"`
	Headers      int      `json:"headers"`
	SplitHeaders []string `json:"splitHeaders"`
	Addresses    int      `json:"addresses"`
	Wrapped      int      `json:"wrapped"`
	BadBreaks    []string `json:"badBreaks"`
}

// reportLayout opens page in a window width px wide and measures its layout there.
func reportLayout(t *testing.T, page string, width int) layout {
	t.Helper()
	i := strings.LastIndex(page, "</body>")
	if i < 0 {
		t.Fatal("the page has no </body>")
	}
	url := reportServe(t, page[:i]+layoutCheck+page[i:])
	doc := parseDOM(reportBrowse(t, "--dump-dom", fmt.Sprintf("--window-size=%d,1000", width), url))
	pre := doc.find(byAttr("id", "layout-check"))
	if len(pre) != 1 {
		t.Fatal("the layout check did not run")
	}
	var l layout
	if err := json.Unmarshal([]byte(html.UnescapeString(pre[0].textContent())), &l); err != nil {
		t.Fatalf("layout check: %v", err)
	}
	return l
}

func countOn(r *report.Report, system string) int {
	n := 0
	for _, h := range r.Holdings {
		if h.System == system {
			n++
		}
	}
	return n
}

// reportGit runs git in dir at a fixed date.
func reportGit(t *testing.T, dir, date string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=HR", "GIT_AUTHOR_EMAIL=hr@beta.example", "GIT_COMMITTER_NAME=HR",
		"GIT_COMMITTER_EMAIL=hr@beta.example", "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// reportGitRepo builds a bare repo with two commits on main and an audit branch recording
// the apply of the second (PR #7, approved by carol), and returns its file:// URL and the
// two commits. ann holds eng from the first commit; bob joins eng in the second.
func reportGitRepo(t *testing.T) (url, first, second string) {
	t.Helper()
	tmp := t.TempDir()
	work, bare := filepath.Join(tmp, "work"), filepath.Join(tmp, "beta.git")
	files := map[string]string{
		"settings.cue": `package beta

settings: {
	organization: "Beta"
	timezone:     "Europe/Amsterdam"
	licenses: pro: {monthlyCost: 12.5, currency: "EUR"}
}
roles: base: {owner: "ann", grants: [{system: "dir", group: "all"}]}
roles: eng: {owner: "ann", includes: ["base"], grants: [{system: "dir", group: "eng"}, {system: "saas", license: "pro"}]}
rules: staff: {when: {type: "employee"}, roles: ["base"]}
systems: dir: {type: "csv", path: "live/dir.csv", accountId: "id"}
systems: saas: {type: "csv", path: "live/saas.csv", accountId: "email"}
`,
		"people.cue": `package beta

people: ann: {name: "Ann Smit", email: "ann@beta.example", type: "employee", start: "2025-01-01", roles: ["eng"]}
people: bob: {name: "Bob Mol", email: "bob@beta.example", type: "employee", start: "2025-01-01", roles: []}
`,
		"live/dir.csv":  "account,status,entitlements\nann,enabled,group:all;group:eng\nbob,enabled,group:all\nzed,enabled,group:eng\n",
		"live/saas.csv": "account,status,entitlements\nann@beta.example,enabled,license:pro\n",
	}
	for name, data := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d1, d2 := "2026-01-05T09:00:00Z", "2026-02-10T09:00:00Z"
	reportGit(t, work, d1, "init", "-q", "-b", "main")
	reportGit(t, work, d1, "add", "-A")
	reportGit(t, work, d1, "commit", "-q", "-m", "Beta: ann in eng")
	first = reportGit(t, work, d1, "rev-parse", "HEAD")
	people := strings.Replace(files["people.cue"], `roles: []}`, `roles: ["eng"]}`, 1)
	// A third system whose export is missing: a finding, not the end of the report.
	settings := files["settings.cue"] + "systems: crm: {type: \"csv\", path: \"live/crm.csv\", accountId: \"email\"}\n"
	for name, data := range map[string]string{"people.cue": people, "settings.cue": settings} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reportGit(t, work, d2, "commit", "-q", "-am", "Bob joins eng")
	second = reportGit(t, work, d2, "rev-parse", "HEAD")
	msg := audit.Message(audit.Record{Applied: second, Subject: "Apply " + short(second) + ": Bob joins eng", PR: 7, Approvers: []string{"carol"}, Result: "applied"})
	tree := reportGit(t, work, d2, "hash-object", "-t", "tree", "/dev/null")
	entry := reportGit(t, work, "2026-02-11T08:00:00Z", "commit-tree", tree, "-m", msg)
	reportGit(t, work, d2, "update-ref", "refs/heads/"+audit.Branch, entry)
	reportGit(t, tmp, d2, "clone", "-q", "--bare", work, bare)
	return "file://" + bare, first, second
}

func TestReportGitHistory(t *testing.T) {
	url, first, second := reportGitRepo(t)
	args := []string{"--repo", url, "--cache-dir", t.TempDir(), "--at", "2026-11-23"}
	r := reportJSON(t, args...)
	if r.History != report.HistoryGit || r.Commit != second {
		t.Fatalf("history %q at %s, want git at %s", r.History, r.Commit, second)
	}
	type row struct {
		System, Account, Entitlement, Commit string
		PR                                   int
		Approvers                            string
		Via                                  string
		Live                                 string
	}
	var got []row
	for _, h := range r.Holdings {
		if h.Granted == nil {
			t.Fatalf("holding %v has no grant", h)
		}
		var via []string
		for _, v := range h.Via {
			via = append(via, v.String())
		}
		got = append(got, row{h.System, h.Account, h.Entitlement, h.Granted.Commit, h.Granted.PR, strings.Join(h.Granted.Approvers, ","), strings.Join(via, "; "), h.Live})
	}
	want := []row{
		{"dir", "ann", "group:all", first, 0, "", "rule staff (role base)", "held"},
		{"dir", "ann", "group:eng", first, 0, "", "direct role eng", "held"},
		{"dir", "bob", "group:all", first, 0, "", "rule staff (role base)", "held"},
		{"dir", "bob", "group:eng", second, 7, "carol", "direct role eng", "missing"},
		{"saas", "ann@beta.example", "license:pro", first, 0, "", "direct role eng", "held"},
		{"saas", "bob@beta.example", "license:pro", second, 7, "carol", "direct role eng", "missing"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("holdings (-want +got):\n%s", diff)
	}
	for _, h := range r.Holdings {
		if h.Granted.Commit == second && (h.Granted.Applied.IsZero() || h.Granted.Subject != "Bob joins eng") {
			t.Errorf("grant of %s %s: %+v", h.Account, h.Entitlement, h.Granted)
		}
	}
	wantSum := report.Summary{People: 2, Accounts: 4, Entitlements: 6, Orphans: 1, Findings: len(r.Findings), Seats: 2,
		MonthlyCost: []report.Money{{Currency: "EUR", Amount: 25}}}
	if diff := cmp.Diff(wantSum, r.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if len(r.Findings) == 0 || r.Findings[0].System != "crm" || r.Findings[0].Kind != report.FindingUnreadable || !strings.Contains(r.Findings[0].Reason, "crm") {
		t.Errorf("the crm export is missing: want an unreadable finding first, got %+v", r.Findings)
	}
	for _, s := range r.Systems {
		if s.Read != (s.Name != "crm") {
			t.Errorf("system %s read=%t", s.Name, s.Read)
		}
	}

	page := reportRun(t, args...)
	pageURL := reportServe(t, page)
	doc := parseDOM(reportBrowse(t, "--dump-dom", pageURL))
	checkNumbers(t, doc, r)
	for _, tr := range dataRows(doc, "holdings") {
		text := strings.Join(strings.Fields(tr.textContent()), " ")
		if strings.Contains(text, report.NotInGit) {
			t.Errorf("a git report's row says %q: %s", report.NotInGit, text)
		}
		granted := first
		if tr.attrs["data-person"] == "bob" && tr.attrs["data-entitlement"] != "group:all" {
			granted = second
			if !strings.Contains(text, "PR #7, approved by carol; applied 2026-02-11") || !strings.Contains(text, "2026-02-10") {
				t.Errorf("bob's %s: %q lacks the approval of the second commit", tr.attrs["data-entitlement"], text)
			}
		} else if !strings.Contains(text, "not applied by roster") || !strings.Contains(text, "2026-01-05") {
			t.Errorf("%s's %s: %q", tr.attrs["data-person"], tr.attrs["data-entitlement"], text)
		}
		if !strings.Contains(text, short(granted)) {
			t.Errorf("%s's %s: %q does not name commit %s", tr.attrs["data-person"], tr.attrs["data-entitlement"], text, short(granted))
		}
	}
	reportScreenshot(t, pageURL, "git-report.png")

	// The CSV says the same.
	csvOut := reportRun(t, append(args, "--format", "csv")...)
	if !strings.Contains(csvOut, "holding,dir,bob,bob,Bob Mol,group:eng,eng,direct role eng,missing,"+second+",2026-02-10T09:00:00Z,#7,carol,") {
		t.Errorf("csv lacks bob's grant:\n%s", csvOut)
	}
}

func TestReportFlags(t *testing.T) {
	if _, stderr, code := run(t, "report", "--repo", acmeDir, "--format", "pdf"); code != ExitInvalid || !strings.Contains(stderr, `--format "pdf"`) {
		t.Errorf("--format pdf: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "report", "--repo", acmeDir, "--at", "soon"); code != ExitInvalid || !strings.Contains(stderr, `--at "soon"`) {
		t.Errorf("--at soon: exit %d, %s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "r.csv")
	stdout := reportRun(t, "--repo", acmeDir, "--at", "2026-11-23", "--format", "csv", "--out", out, "--live=false")
	if !strings.HasPrefix(stdout, "Wrote "+out+": 46 people") {
		t.Errorf("stdout: %q", stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "\norphan,") || strings.Contains(string(data), "\nfinding,") {
		t.Error("--live=false still listed orphans or findings")
	}
	if !strings.Contains(string(data), ",not in git,not in git,not in git,not in git,not in git,") {
		t.Error("a plain directory's CSV should say not in git")
	}
	r := reportJSON(t, "--repo", acmeDir, "--at", "2026-11-23", "--live=false")
	if r.Live || r.Summary.Orphans != 0 || r.Summary.Findings != 0 || r.Holdings[0].Live != "" {
		t.Errorf("--live=false: %+v", r.Summary)
	}
	again := reportRun(t, "--repo", acmeDir, "--at", "2026-11-23", "--format", "json")
	if again != reportRun(t, "--repo", acmeDir, "--at", "2026-11-23", "--format", "json") {
		t.Error("the same report printed different bytes")
	}
}
