package testfixture

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path"
	"strings"
	"testing"
)

// Examples calls fn with the file name and JSON of each resource file of
// the R4 examples (../shared/data/fhir/examples-r4.tar.gz), in archive
// order, skipping the test as SharedData does when the archive is absent.
func Examples(tb testing.TB, fn func(name string, body []byte)) {
	tb.Helper()
	f, err := os.Open(SharedData(tb, "fhir", "examples-r4.tar.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			tb.Fatal(err)
		}
		name := path.Base(h.Name)
		if !strings.HasSuffix(name, ".json") || name == "package.json" {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		fn(name, body)
	}
}
