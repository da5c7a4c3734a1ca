// Command genbase regenerates the table of FHIR R4 base StructureDefinitions
// of package base from the official definitions. It is run by go generate in
// profiles/base:
//
//	go generate ./profiles/base
//
// By default it reads ../shared/data/fhir/definitions-r4 relative to the
// module root and writes r4definitions.json.gz in the current directory.
package main

import (
	"github.com/cpms-fhir/cpms/internal/gendata"
	"github.com/cpms-fhir/cpms/profiles/base/internal/gen"
)

func main() { gendata.Main("genbase", "r4definitions.json.gz", gen.Build) }
