package gitops

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/roster-dev/roster/reconcile"
)

// failWriter fails every write, like a full disk or a closed pipe.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// shortWriter writes less than it is given, without an error of its own.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

// TestEvidenceWriterReportsWriteFailures protects the evidence trail: a line that could not
// be written is an error the run sees (first failure kept), never silently dropped.
func TestEvidenceWriterReportsWriteFailures(t *testing.T) {
	for name, w := range map[string]interface{ Write([]byte) (int, error) }{"failing": failWriter{}, "short": shortWriter{}} {
		t.Run(name, func(t *testing.T) {
			ev, err := OpenEvidence("", w, nil)
			if err != nil {
				t.Fatal(err)
			}
			ev.Record(reconcile.Evidence{System: "dir", Account: "cid"})
			ev.Record(reconcile.Evidence{System: "dir", Account: "dan"})
			err = ev.Close()
			if err == nil || !strings.Contains(err.Error(), "evidence") {
				t.Fatalf("Close = %v, want an error about the evidence", err)
			}
			if ev.Written() != 0 {
				t.Errorf("Written = %d, want 0", ev.Written())
			}
		})
	}
	var ok bytes.Buffer
	ev, _ := OpenEvidence("", &ok, nil)
	ev.Record(reconcile.Evidence{System: "dir", Account: "cid"})
	if err := ev.Close(); err != nil || ev.Written() != 1 || strings.Count(ok.String(), "\n") != 1 {
		t.Errorf("a working writer: err %v, written %d, %q", err, ev.Written(), ok.String())
	}
}
