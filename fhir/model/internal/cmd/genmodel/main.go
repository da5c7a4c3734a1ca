// Command genmodel regenerates the FHIR R4 type table of package model from the
// official definitions. It is run by go generate in fhir/model:
//
//	go generate ./fhir/model
//
// By default it reads ../shared/data/fhir/definitions-r4 relative to the module
// root and writes r4.json.gz in the current directory.
package main

import (
	"github.com/cpms-fhir/cpms/fhir/model/internal/gen"
	"github.com/cpms-fhir/cpms/internal/gendata"
)

func main() { gendata.Main("genmodel", "r4.json.gz", gen.Build) }
