package report

import (
	"html/template"
	"testing"
)

func TestAddr(t *testing.T) {
	tests := []struct {
		name, in string
		want     template.HTML
	}{
		{"not an address", "alice", "alice"},
		{"a dotted name is left to the page", "jan.devries", "jan.devries"},
		{"escaped", "=cmd|<b>", "=cmd|&lt;b&gt;"},
		{"an address", "fatima@acme.example", `<span class="addr"><span>fatima</span><wbr><span>@acme</span><wbr><span>.example</span></span>`},
		{"dots in the local part, a hyphen kept whole", "pat-van.dijk@mail.acme.example",
			`<span class="addr"><span>pat-van</span><wbr><span>.dijk</span><wbr><span>@mail</span><wbr><span>.acme</span><wbr><span>.example</span></span>`},
		{"an address escaped", `x"<y>@a.b`, `<span class="addr"><span>x&#34;&lt;y&gt;</span><wbr><span>@a</span><wbr><span>.b</span></span>`},
		{"a leading @", "@team", `<span class="addr"><span>@team</span></span>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := addr(tt.in); got != tt.want {
				t.Errorf("addr(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
