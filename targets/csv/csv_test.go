package csv

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []targets.Account
		wantErr string
	}{
		{
			name: "accounts sorted, entitlements sorted and deduplicated",
			in:   "account,status,entitlements\nzed,disabled,\nann,enabled,group:b; group:a;group:b\n",
			want: []targets.Account{{ID: "ann", Enabled: true, Entitlements: []string{"group:a", "group:b"}}, {ID: "zed", Entitlements: []string{}}},
		},
		{
			name: "columns in any order, extra columns ignored, BOM and lastLogin",
			in:   "\ufeffnote,entitlements,account,status,lastLogin\nhi,role:x,ann,enabled,2026-11-01\n",
			want: []targets.Account{{ID: "ann", Enabled: true, Entitlements: []string{"role:x"}, LastLogin: mustDate("2026-11-01")}},
		},
		{name: "empty file", in: "", wantErr: "live/x.csv:1: empty export: want the header account,status,entitlements"},
		{name: "missing column", in: "account,status\nann,enabled\n", wantErr: `live/x.csv:1: missing column "entitlements": want the header account,status,entitlements`},
		{name: "bad status", in: "account,status,entitlements\nann,enabled,\nbob,on,\n", wantErr: `live/x.csv:3: status "on": want enabled or disabled`},
		{name: "bad entitlement", in: "account,status,entitlements\nann,enabled,finance\n", wantErr: `live/x.csv:2: entitlement "finance": want kind:name, e.g. group:finance`},
		{name: "empty entitlement name", in: "account,status,entitlements\nann,enabled,group:\n", wantErr: `live/x.csv:2: entitlement "group:": want kind:name, e.g. group:finance`},
		{name: "empty account", in: "account,status,entitlements\n,enabled,\n", wantErr: "live/x.csv:2: empty account"},
		{name: "duplicate account, differing in case", in: "account,status,entitlements\nann,enabled,\nANN,enabled,\n", wantErr: `live/x.csv:3: account "ANN" already listed on line 2`},
		{name: "short row", in: "account,status,entitlements\nann,enabled\n", wantErr: "live/x.csv:2: 2 fields, want 3 like the header"},
		{name: "bad quoting", in: "account,status,entitlements\n\"ann,enabled,\n", wantErr: "live/x.csv:2:"},
		{name: "bad lastLogin", in: "account,status,entitlements,lastLogin\nann,enabled,,yesterday\n", wantErr: `live/x.csv:2: lastLogin "yesterday"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("live/x.csv", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want prefix %q", err, tt.wantErr)
				}
				if !targets.IsInputError(err) {
					t.Errorf("error %v is not an input error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func mustDate(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestTarget(t *testing.T) {
	fsys := fstest.MapFS{"live/hr.csv": {Data: []byte("account,status,entitlements\nann,enabled,group:a\n")}}
	sys := &model.System{ID: "hr", Type: "csv", Config: map[string]any{"path": "live/hr.csv"}}
	tg, err := Type.New(sys, targets.Env{Repo: fsys})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tg.(targets.Writer); ok {
		t.Error("csv target must be read-only: it must not implement targets.Writer")
	}
	snap, err := tg.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.System != "hr" || len(snap.Accounts) != 1 || snap.Accounts[0].ID != "ann" {
		t.Errorf("snapshot %+v", snap)
	}
	sys.Config["path"] = "live/none.csv"
	tg, _ = Type.New(sys, targets.Env{Repo: fsys})
	if _, err := tg.Read(context.Background()); !targets.IsInputError(err) {
		t.Errorf("missing export: %v, want an input error", err)
	}
	for _, p := range []any{"../outside.csv", "/etc/passwd", "", 3} {
		probs := check(&model.System{ID: "hr", Config: map[string]any{"path": p}})
		if len(probs) != 1 || probs[0][0] != "path" {
			t.Errorf("path %v: problems %v, want one about path", p, probs)
		}
	}
}

// FuzzParse: the reader never panics; what it accepts is sorted, unique and well formed;
// what it rejects is an input error naming the file and a line.
func FuzzParse(f *testing.F) {
	f.Add("account,status,entitlements\nann,enabled,group:a;group:b\nbob,disabled,\n")
	f.Add("\ufeffaccount,status,entitlements,lastLogin\nann,enabled,role:x,2026-11-01T10:00:00Z\n")
	f.Add("account,status,entitlements\n\"a,b\",enabled,\"team:x;team:y\"\n")
	f.Add("account,status\n")
	f.Add("")
	for _, tt := range plainCases {
		f.Add(tt)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkPlainAgrees(t, in)
		accounts, err := Parse("live/f.csv", []byte(in))
		if err != nil {
			var ie *targets.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an input error", err)
			}
			if ie.Pos.File != "live/f.csv" || ie.Pos.Line < 1 {
				t.Fatalf("error %v does not name the file and a line", err)
			}
			return
		}
		if !sort.SliceIsSorted(accounts, func(i, j int) bool { return accounts[i].ID < accounts[j].ID }) {
			t.Fatal("accounts not sorted")
		}
		seen := map[string]bool{}
		for _, a := range accounts {
			if a.ID == "" || seen[model.AccountKey(a.ID)] {
				t.Fatalf("empty or repeated account %q", a.ID)
			}
			seen[model.AccountKey(a.ID)] = true
			if !sort.StringsAreSorted(a.Entitlements) {
				t.Fatalf("entitlements of %q not sorted", a.ID)
			}
			for _, e := range a.Entitlements {
				if _, _, ok := targets.SplitEntitlement(e); !ok {
					t.Fatalf("malformed entitlement %q accepted", e)
				}
			}
		}
	})
}

// plainCases are exports without quotes, which Parse reads without encoding/csv.
var plainCases = []string{
	"account,status,entitlements\r\nann,enabled,group:a\r\n\r\nbob,disabled,\r",
	"account,status,entitlements\n\n\nann,enabled, group:b ;group:a;;group:a\n\n",
	"account,status,entitlements\nann,enabled,\rgroup:a\nbob,on,\nann,enabled,\n", // a repeat after a bad row
	"account,status,entitlements\nann,enabled,\nANN,on,\n",                        // a repeat with a bad status
	"account,status,entitlements\nann,enabled,\nANN,enabled,x\nbob,on,\n",         // a repeat with a bad entitlement
	"account,status,entitlements\nann,enabled,\nbob,enabled\nann,enabled,\n",      // a short row before a repeat
	"account,status,entitlements\nann,enabled,\n ,enabled,\nann,enabled,\n",       // an empty account before a repeat
	"account,status,entitlements,lastLogin\nzed,enabled,,2026-01-02\nann,disabled,role:r,\n",
	"account,status,entitlements\r",
	"\n\r\n",
	"account , status,entitlements,account\n",
}

// TestPlainAgrees: an export without quotes reads the same with or without encoding/csv.
func TestPlainAgrees(t *testing.T) {
	for _, in := range plainCases {
		checkPlainAgrees(t, in)
	}
}

func checkPlainAgrees(t *testing.T, in string) {
	data := bytes.TrimPrefix([]byte(in), []byte("\ufeff"))
	if bytes.IndexByte(data, '"') >= 0 {
		return
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	want, wantErr := parse("live/f.csv", data, &csvRecords{r: cr})
	got, gotErr := parse("live/f.csv", data, &plainRecords{text: string(data)})
	if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
		t.Fatalf("%q: error %v, encoding/csv says %v", in, gotErr, wantErr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%q: (-encoding/csv +plain):\n%s", in, diff)
	}
}

// TestFirstRepeatAgrees: the walk over sorted names that are their own keys finds the
// repeat the hashed comparison of keys finds, and names unsorted, in capitals or with
// spaces are left to the latter; over lists with no repeat, one, several, and repeats
// that differ only in case.
func TestFirstRepeatAgrees(t *testing.T) {
	names := []string{"ann", "bob", "Bob", "cy", "dee", " dee", "eve", "é", "zed"}
	rng := rand.New(rand.NewPCG(11, 12))
	for n := range 400 {
		var accounts []targets.Account
		for range rng.IntN(12) {
			accounts = append(accounts, targets.Account{ID: names[rng.IntN(len(names))]})
		}
		if n%2 == 0 {
			sort.Slice(accounts, func(i, j int) bool { return accounts[i].ID < accounts[j].ID })
		}
		i, first, ok := firstRepeat(accounts)
		wi, wfirst, wok := firstRepeatHashed(accounts)
		if i != wi || first != wfirst || ok != wok {
			t.Fatalf("%v: firstRepeat = %d, %d, %v; the hashed keys give %d, %d, %v", accounts, i, first, ok, wi, wfirst, wok)
		}
	}
}
