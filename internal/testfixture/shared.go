package testfixture

import (
	"bytes"
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

// CheckGenerated fails tb unless the embedded table gz (gzipped) holds
// exactly what build generates now from the shared definitions; name is
// the table's file, regenerate the command that updates it.
func CheckGenerated(tb testing.TB, gz []byte, build func() ([]byte, error), name, regenerate string) {
	tb.Helper()
	want, err := build()
	if err != nil {
		tb.Fatal(err)
	}
	got, err := gendata.Gunzip(gz)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("%s is out of date: run %s", name, regenerate)
	}
}
