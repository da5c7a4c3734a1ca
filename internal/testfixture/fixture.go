// Package testfixture holds resources shared by the tests and benchmarks of
// several packages.
package testfixture

import _ "embed"

// Patient is the R4 example Patient "example" (Peter James Chalmers) from
// the FHIR specification (CC0), compact: 2,470 bytes, the 2.5 KB Patient
// the performance targets are stated for.
//
//go:embed patient-example.json
var Patient []byte
