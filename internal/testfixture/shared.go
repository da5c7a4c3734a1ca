package testfixture

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cpms-fhir/cpms/internal/gendata"
)

// SharedData returns the path of rel inside the shared third-party test
// corpora, ../shared/data beside the repository (the directory holding
// go.mod). It skips the test, naming the path, when the corpora are absent,
// as in a fresh clone; CI has them.
func SharedData(tb testing.TB, rel ...string) string {
	tb.Helper()
	dir, err := gendata.SharedDir(".")
	if err != nil {
		tb.Skipf("cannot locate ../shared/data (%v): skipping", err)
	}
	p := filepath.Join(append([]string{dir}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("the shared test data is absent (%s): skipping", p)
	}
	return p
}
