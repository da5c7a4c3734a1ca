// Command gencompartments regenerates the table of R4 compartments of
// package search from the official definitions. It is run by go generate
// in fhir/search:
//
//	go generate ./fhir/search
//
// By default it reads ../shared/data/fhir/definitions-r4 relative to the
// module root and writes compartments.json.gz in the current directory.
package main

import (
	"github.com/cpms-fhir/cpms/fhir/search/internal/gen"
	"github.com/cpms-fhir/cpms/internal/gendata"
)

func main() { gendata.Main("gencompartments", "compartments.json.gz", gen.BuildCompartments) }
