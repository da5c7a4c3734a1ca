package testfixture

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedData returns the path of rel inside the shared third-party test
// corpora, ../shared/data beside the repository (the directory holding
// go.mod). It skips the test, naming the path, when the corpora are absent,
// as in a fresh clone; CI has them.
func SharedData(tb testing.TB, rel ...string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the working directory: cannot locate ../shared/data")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "data"}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("the shared test data is absent (%s): skipping", p)
	}
	return p
}
