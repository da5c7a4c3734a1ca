package seed

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cpms-fhir/cpms/internal/gendata"
)

// TestSeedUpToDate builds the seed from the shared sources and compares
// it with the one embedded in the server (terminology/seed): after a
// change to an importer or to Build, run go generate ./terminology.
func TestSeedUpToDate(t *testing.T) {
	data, err := gendata.SharedDir(".")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(data, "terminology")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("../shared/data not present (%v): the seed's sources are not here to rebuild it from", err)
	}
	files, err := Build(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		z, err := os.ReadFile(filepath.Join("..", "..", "terminology", "seed", f.Name))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./terminology)", f.Name, err)
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		embedded, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(embedded, f.JSON) {
			t.Errorf("%s differs from a fresh build: run go generate ./terminology", f.Name)
		}
	}
}
