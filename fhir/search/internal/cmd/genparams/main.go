// Command genparams regenerates the table of R4 search parameters of
// package search from the official definitions. It is run by go generate
// in fhir/search:
//
//	go generate ./fhir/search
//
// By default it reads ../shared/data/fhir/definitions-r4 relative to the
// module root and writes r4params.json.gz in the current directory.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cpms-fhir/cpms/fhir/search/internal/gen"
)

func main() {
	defs := flag.String("defs", "", "definitions-r4 folder (default: ../shared/data/fhir/definitions-r4 from the module root)")
	out := flag.String("out", "r4params.json.gz", "output file")
	flag.Parse()
	if err := run(*defs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "genparams:", err)
		os.Exit(1)
	}
}

func run(defs, out string) error {
	if defs == "" {
		data, err := gen.FindDataDir(".")
		if err != nil {
			return err
		}
		defs = filepath.Join(data, "fhir", "definitions-r4")
	}
	raw, err := gen.Build(defs)
	if err != nil {
		return err
	}
	z, err := gen.Compress(raw)
	if err != nil {
		return err
	}
	return os.WriteFile(out, z, 0o644)
}
