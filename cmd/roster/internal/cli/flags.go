package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
)

// maxRevocationsFlag parses --max-revocations: nil when it was not given.
func maxRevocationsFlag(s string) (*model.MaxRevocations, error) {
	if s == "" {
		return nil, nil
	}
	l, err := reconcile.ParseMaxRevocations(s)
	if err != nil {
		return nil, invalidf("--max-revocations %v", err)
	}
	return &l, nil
}

// commonFlags are the flags every command takes (roster's persistent flags).
type commonFlags struct {
	logLevel  string
	logFormat string
}

func (c *commonFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.logLevel, "log-level", "warn", "diagnostics on stderr from this level up: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "diagnostics format: text or json")
}

// logger builds the slog logger the flags ask for.
func (c *commonFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
}

// multiFlag collects a repeatable string flag: each value may list several, comma-separated
// (--system a,b --system c), trimmed, empty ones dropped.
type multiFlag []string

// Type names the flag's kind for pflag: a string slice, which shell completion may offer
// again after it was given once.
func (m *multiFlag) Type() string { return "stringSlice" }

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*m = append(*m, v)
		}
	}
	return nil
}
