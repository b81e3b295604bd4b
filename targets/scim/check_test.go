package scim

import (
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

func TestCheck(t *testing.T) {
	tok := model.Secret{Env: "SCIM_TOKEN"}
	for _, tc := range []struct {
		name   string
		config map[string]any
		want   []string // "field: part of the message"
	}{
		{"valid", map[string]any{"url": "https://app.example/scim/v2", "token": tok}, nil},
		{"valid with pageSize", map[string]any{"url": "https://app.example/scim/v2/", "token": model.Secret{File: "/run/secrets/scim"}, "pageSize": 500}, nil},
		{"loopback http", map[string]any{"url": "http://127.0.0.1:8080/scim/v2", "token": tok}, nil},
		{"localhost http", map[string]any{"url": "http://localhost/scim", "token": tok}, nil},
		{"empty", map[string]any{}, []string{"url: needs url", "token: needs token"}},
		{"plain http", map[string]any{"url": "http://app.example/scim/v2", "token": tok}, []string{"url: unencrypted"}},
		{"other scheme", map[string]any{"url": "ftp://app.example/scim", "token": tok}, []string{"url: https://"}},
		{"relative", map[string]any{"url": "/scim/v2", "token": tok}, []string{"url: absolute"}},
		{"credentials in url", map[string]any{"url": "https://u:p@app.example/scim", "token": tok}, []string{"url: credentials"}},
		{"query", map[string]any{"url": "https://app.example/scim?x=1", "token": tok}, []string{"url: no query"}},
		{"url not a string", map[string]any{"url": 3, "token": tok}, []string{"url: must be a string"}},
		{"literal token", map[string]any{"url": "https://app.example/scim", "token": "s3cret"}, []string{"token: never a value"}},
		{"empty token ref", map[string]any{"url": "https://app.example/scim", "token": model.Secret{}}, []string{"token: must name"}},
		{"pageSize zero", map[string]any{"url": "https://app.example/scim", "token": tok, "pageSize": 0}, []string{"pageSize: 1 to 1000"}},
		{"pageSize text", map[string]any{"url": "https://app.example/scim", "token": tok, "pageSize": "100"}, []string{"pageSize: 1 to 1000"}},
		{"unknown", map[string]any{"url": "https://app.example/scim", "token": tok, "password": tok}, []string{`password: unknown setting "password"`}},
		{"dialect rfc", map[string]any{"url": "https://app.example/scim", "token": tok, "dialect": "rfc"}, nil},
		{"dialect aws", map[string]any{"url": "https://scim.eu-west-1.amazonaws.com/a1b2-c3d4/scim/v2", "token": tok, "dialect": "aws", "pageSize": 100}, nil},
		{"dialect slack", map[string]any{"url": "https://api.slack.com/scim/v2", "token": tok, "dialect": "slack", "pageSize": 1000}, nil},
		{"dialect okta", map[string]any{"url": "https://app.example/scim/v2", "token": tok, "dialect": "okta"}, nil},
		{"dialect github-emu", map[string]any{"url": "https://api.github.com/scim/v2/enterprises/acme", "token": tok, "dialect": "github-emu"}, nil},
		{"unknown dialect", map[string]any{"url": "https://app.example/scim", "token": tok, "dialect": "azure"},
			[]string{`dialect: dialect "azure" is not known: use one of rfc, aws, github-emu, slack, okta`}},
		{"dialect not a string", map[string]any{"url": "https://app.example/scim", "token": tok, "dialect": 3}, []string{"dialect: must be a string, one of rfc, aws"}},
		{"pageSize over the dialect's maximum", map[string]any{"url": "https://app.example/scim", "token": tok, "dialect": "aws", "pageSize": 500},
			[]string{"pageSize: at most 100 with dialect aws"}},
		{"github-emu outside its path", map[string]any{"url": "https://api.github.com/scim/v2", "token": tok, "dialect": "github-emu"},
			[]string{"url: /scim/v2/enterprises/{enterprise}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probs := check(&model.System{ID: "app", Type: "scim", Config: tc.config})
			if len(probs) != len(tc.want) {
				t.Fatalf("got %v, want %d problems %v", probs, len(tc.want), tc.want)
			}
			for i, p := range probs {
				field, part, _ := strings.Cut(tc.want[i], ": ")
				if p[0] != field || !strings.Contains(p[1], part) {
					t.Errorf("problem %d = %v, want %s", i, p, tc.want[i])
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	sys := &model.System{ID: "app", Type: "scim", Config: map[string]any{
		"url": "https://app.example/scim/v2", "token": model.Secret{Env: "APP_SCIM_TOKEN"}, "pageSize": 250}}
	env := targets.Env{Getenv: func(k string) string {
		if k == "APP_SCIM_TOKEN" {
			return "tok-abc-123\n"
		}
		return ""
	}}
	reg := targets.NewRegistry()
	reg.Register(Type)
	tg, err := reg.Open(sys, env)
	if err != nil {
		t.Fatal(err)
	}
	st := tg.(*Target)
	if st.base != "https://app.example/scim/v2" || st.token != "tok-abc-123" || st.opts.PageSize != 250 {
		t.Fatalf("target %+v", st)
	}
	if _, ok := tg.(targets.Writer); !ok {
		t.Fatal("not a Writer")
	}

	// A missing secret names the reference, never a value.
	_, err = reg.Open(sys, targets.Env{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "APP_SCIM_TOKEN") {
		t.Fatalf("err = %v", err)
	}
	// Invalid settings fail before anything connects.
	bad := &model.System{ID: "app", Type: "scim", Config: map[string]any{"url": "http://app.example/scim", "token": model.Secret{Env: "APP_SCIM_TOKEN"}}}
	if _, err := reg.Open(bad, env); err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("err = %v", err)
	}
	if st.d.name != "rfc" {
		t.Fatalf("dialect %s, want rfc by default", st.d.name)
	}
	sys.Config["dialect"] = "aws"
	sys.Config["pageSize"] = 100
	tg, err = reg.Open(sys, env)
	if err != nil {
		t.Fatal(err)
	}
	if st := tg.(*Target); st.d.name != "aws" || st.opts.PageSize != 100 {
		t.Fatalf("dialect %s, pageSize %d", st.d.name, st.opts.PageSize)
	}
	if _, ok := tg.(targets.ScopedReader); !ok {
		t.Fatal("not a ScopedReader")
	}
	if _, err := New("app", "https://app.example/scim", "tok", Options{Dialect: "azure"}); err == nil || !strings.Contains(err.Error(), "use one of") {
		t.Fatalf("New with an unknown dialect: %v", err)
	}
	kinds, anyKind, ok := reg.EntitlementKinds("scim")
	if !ok || anyKind || len(kinds) != 1 || kinds[0] != "group" || !Type.CanDisable {
		t.Fatalf("kinds %v %v %v", kinds, anyKind, ok)
	}
}
