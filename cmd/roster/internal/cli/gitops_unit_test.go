package cli

import (
	"io"
	"log/slog"
)

// discardLogger drops what it is given: the log of a test's env.
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
