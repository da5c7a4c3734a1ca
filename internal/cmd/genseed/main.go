// Command genseed builds the terminology seed embedded in the server
// (terminology/seed/cpms-*.json.gz) from the official releases in
// ../shared/data/terminology, with the importers of
// importers/terminology. Run it with
//
//	go generate ./terminology
//
// TestSeedUpToDate fails when the embedded seed differs from a fresh
// generation.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cpms-fhir/cpms/internal/gendata"
	"github.com/cpms-fhir/cpms/internal/seed"
)

func main() {
	src := flag.String("src", "", "the terminology sources (default: ../shared/data/terminology from the module root)")
	out := flag.String("out", "seed", "the output folder")
	flag.Parse()
	if *src == "" {
		data, err := gendata.SharedDir(".")
		if err != nil {
			fail(err)
		}
		*src = filepath.Join(data, "terminology")
	}
	files, err := seed.Build(*src)
	if err != nil {
		fail(err)
	}
	for _, f := range files {
		z, err := gendata.Compress(f.JSON)
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(filepath.Join(*out, f.Name), z, 0o644); err != nil {
			fail(err)
		}
		fmt.Printf("%s: %d resources, %d KiB compressed\n", f.Name, f.Resources, len(z)>>10)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "genseed:", err)
	os.Exit(1)
}
