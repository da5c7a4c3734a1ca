package bench

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestIngestWays runs the ingest benchmark on two Synthea bundles, the
// import and the store alone, with a CPU profile of each: both load every
// resource, the table (with each way's bundle latencies) and the ratio
// are printed, and the profiles are written.
func TestIngestWays(t *testing.T) {
	archive := testfixture.SharedData(t, "fhir", "synthea-r4.tar.gz")
	prefix := filepath.Join(t.TempDir(), "cpu")
	quiet := slog.New(slog.DiscardHandler)
	var out bytes.Buffer
	err := Ingest(t.Context(), IngestOptions{Archive: archive, Clients: 2, Bundles: 2, Ways: "bc",
		CPUProfile: prefix, Log: quiet, Progress: quiet}, &out)
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	b := regexp.MustCompile(`\(b\) cpms import\s+(\d+)`).FindStringSubmatch(text)
	c := regexp.MustCompile(`\(c\) store only\s+(\d+)`).FindStringSubmatch(text)
	if b == nil || c == nil || b[1] == "0" || c[1] == "0" {
		t.Fatalf("the table lacks (b) or (c), or one loaded nothing:\n%s", text)
	}
	if regexp.MustCompile(`\(a\)`).MatchString(text) || !regexp.MustCompile(`b/c = \d+\.\d\d`).MatchString(text) {
		t.Errorf("want (b), (c) and b/c only:\n%s", text)
	}
	// Each way times its two bundles: two units, percentiles in order.
	for _, name := range []string{`\(b\) cpms import`, `\(c\) store only`} {
		m := regexp.MustCompile(name + `\s+\d+\s+[\d.]+\s+\d+\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no units and percentiles for %s:\n%s", name, text)
		}
		p50, _ := strconv.ParseFloat(m[2], 64)
		p95, _ := strconv.ParseFloat(m[3], 64)
		p99, _ := strconv.ParseFloat(m[4], 64)
		if m[1] != "2" || p50 <= 0 || p50 > p95 || p95 > p99 {
			t.Errorf("%s: %s units, p50 %v, p95 %v, p99 %v ms; want 2 units, 0 < p50 ≤ p95 ≤ p99", name, m[1], p50, p95, p99)
		}
	}
	for _, way := range []string{"b", "c"} {
		if fi, err := os.Stat(prefix + "-" + way + ".pprof"); err != nil || fi.Size() == 0 {
			t.Errorf("profile of (%s): %v", way, err)
		}
	}
	if _, err := os.Stat(prefix + "-a.pprof"); err == nil {
		t.Error("a profile of (a), which did not run")
	}
}
