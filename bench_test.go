package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestBenchIngestWays: a way that is not a, b or c is a usage error,
// named in the message, before anything is read.
func TestBenchIngestWays(t *testing.T) {
	for _, ways := range []string{"x", "abd", ""} {
		var out, errs bytes.Buffer
		if code := run([]string{"bench", "ingest", "--ways", ways, "--synthea", "/nonexistent"}, &out, &errs); code != 2 {
			t.Errorf("--ways %q: exit %d, want 2 (%s)", ways, code, errs.String())
		}
		if !strings.Contains(errs.String(), "give some of a, b and c") {
			t.Errorf("--ways %q: %q", ways, errs.String())
		}
	}
}
