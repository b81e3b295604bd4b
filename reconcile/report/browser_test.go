package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/report"
	"github.com/roster-dev/roster/reconcile/report/reporttest"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/csv"
)

// The browser tests render a report, open the HTML page in headless Chromium (the Debian
// package chromium; `make deps` installs it) served from an httptest server on loopback,
// and check what the browser shows against the same report.

const acmeDir = "../../examples/acme"

// acmeReport is the report of examples/acme on 2026-11-23 (the first instant of that day
// in its time zone), its systems' CSV exports read as they are, the repo as a plain
// directory.
func acmeReport(t *testing.T) *report.Report {
	t.Helper()
	ctx := context.Background()
	fsys := os.DirFS(acmeDir)
	reg := targets.NewRegistry()
	reg.Register(csv.Type)
	repo, err := schema.Load(ctx, fsys, schema.Options{Types: reg})
	if err != nil {
		t.Fatalf("load %s: %v", acmeDir, err)
	}
	at := time.Date(2026, 11, 23, 0, 0, 0, 0, repo.Settings.Loc())
	r := report.Gather(repo, at)
	r.Source, r.History = acmeDir, report.NotInGit
	snaps := map[string]*targets.Snapshot{}
	caps := map[string]reconcile.Caps{}
	for name, sys := range repo.Systems {
		tgt, err := reg.Open(sys, targets.Env{Repo: fsys})
		if err != nil {
			t.Fatal(err)
		}
		if snaps[name], err = tgt.Read(ctx); err != nil {
			t.Fatal(err)
		}
		caps[name] = reconcile.Caps{Type: sys.Type, ReadOnly: csv.Type.ReadOnly, CanDisable: csv.Type.CanDisable}
	}
	r.AddLive(repo, at, snaps, caps, nil)
	r.Tally(report.Prices(repo.Settings.Licenses))
	return r
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

// TestReportBrowserAcme renders examples/acme's report (its CSV exports read live) and
// checks in headless Chromium what the page shows against the report itself: the numbers,
// the filters from location.hash, the layout of headers and addresses, and a screenshot.
func TestReportBrowserAcme(t *testing.T) {
	r := acmeReport(t)
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if r.History != report.NotInGit || !r.Live || r.Summary.Orphans != 3 || r.Summary.Findings == 0 {
		t.Fatalf("unexpected acme report: history %q, live %t, summary %+v", r.History, r.Live, r.Summary)
	}
	url := reporttest.Serve(t, page)

	t.Run("numbers", func(t *testing.T) {
		doc := reporttest.ParseDOM(reporttest.Browse(t, "--dump-dom", url))
		reporttest.CheckNumbers(t, doc, r)
		for _, row := range doc.Find(func(n *reporttest.Node) bool { return n.Tag == "tr" && n.Has("data-system") }) {
			if row.Hidden() {
				t.Errorf("row %v hidden without a filter", row.Attrs)
			}
		}
		notInGit := 0
		for _, td := range doc.Find(func(n *reporttest.Node) bool { return n.Tag == "td" }) {
			if strings.TrimSpace(td.TextContent()) == report.NotInGit {
				notInGit++
			}
		}
		if notInGit != 3*len(r.Holdings) {
			t.Errorf("%d cells say %q, want 3 per holding (%d)", notInGit, report.NotInGit, 3*len(r.Holdings))
		}
	})

	t.Run("filter from hash", func(t *testing.T) {
		doc := reporttest.ParseDOM(reporttest.Browse(t, "--dump-dom", url+"#q=finance&system=directory"))
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
		for _, row := range reporttest.DataRows(doc, "holdings") {
			hay := strings.ToLower(row.TextContent() + " " + row.Attrs["data-roles"])
			match := row.Attrs["data-system"] == "directory" && strings.Contains(hay, "finance")
			if row.Hidden() == match {
				t.Errorf("row %s %s: hidden=%t, but it matches=%t", row.Attrs["data-account"], row.Attrs["data-entitlement"], row.Hidden(), match)
			}
			if !row.Hidden() {
				shown++
			}
		}
		if shown != want {
			t.Errorf("%d holding rows shown, the JSON has %d in directory mentioning finance", shown, want)
		}
		for _, row := range reporttest.DataRows(doc, "orphans") {
			if !row.Hidden() && row.Attrs["data-system"] != "directory" {
				t.Errorf("orphan %v of another system shown", row.Attrs)
			}
		}
		visible := 0
		for _, row := range doc.Find(func(n *reporttest.Node) bool { return n.Tag == "tr" && n.Has("data-system") }) {
			if !row.Hidden() {
				visible++
			}
		}
		if got := doc.Find(reporttest.ByAttr("id", "shown")); len(got) != 1 || !strings.HasPrefix(got[0].TextContent(), strconv.Itoa(visible)+" of ") {
			t.Errorf("the shown counter does not say %d rows match: %v", visible, got)
		}
		counter := doc.Find(reporttest.ByAttr("data-count", "holdings-directory"))
		if len(counter) != 1 || strings.TrimSpace(counter[0].TextContent()) != fmt.Sprintf("%d of %d", want, countOn(r, "directory")) {
			t.Errorf("directory's counter says %q, want %q", counter[0].TextContent(), fmt.Sprintf("%d of %d", want, countOn(r, "directory")))
		}
		for _, block := range doc.Find(func(n *reporttest.Node) bool { return n.Attrs["class"] == "block" }) {
			if block.Has("hidden") != (block.Attrs["data-system"] != "directory") {
				t.Errorf("block %s hidden=%t", block.Attrs["data-system"], block.Has("hidden"))
			}
		}
	})

	t.Run("role filter", func(t *testing.T) {
		doc := reporttest.ParseDOM(reporttest.Browse(t, "--dump-dom", url+"#role=payment-approver"))
		want := 0
		for _, h := range r.Holdings {
			if slices.Contains(h.Roles, "payment-approver") {
				want++
			}
		}
		shown := 0
		for _, row := range reporttest.DataRows(doc, "holdings") {
			if !row.Hidden() {
				shown++
				if !slices.Contains(strings.Fields(row.Attrs["data-roles"]), "payment-approver") {
					t.Errorf("row %v shown without the role", row.Attrs)
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
		reporttest.Screenshot(t, url, "acme-report.png")
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
	url := reporttest.Serve(t, page[:i]+layoutCheck+page[i:])
	doc := reporttest.ParseDOM(reporttest.Browse(t, "--dump-dom", fmt.Sprintf("--window-size=%d,1000", width), url))
	pre := doc.Find(reporttest.ByAttr("id", "layout-check"))
	if len(pre) != 1 {
		t.Fatal("the layout check did not run")
	}
	var l layout
	if err := json.Unmarshal([]byte(html.UnescapeString(pre[0].TextContent())), &l); err != nil {
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
