// Package fhirpatch applies FHIRPath Patch documents (FHIR R4,
// http://hl7.org/fhir/R4/fhirpatch.html): a Parameters resource whose
// parameters named "operation" each add, insert, delete, replace or move
// one element of a resource, located by a FHIRPath expression.
//
// Parse reads a document once; Apply applies it to a resource's JSON and
// returns the patched JSON:
//
//	p, err := fhirpatch.Parse(body) // a KindInvalid *fhir.Error when malformed
//	out, err := p.Apply(resource)    // KindUnprocessable when it cannot apply
//
// Paths are evaluated by package fhirpath in strict mode, recording where
// each item was read (fhirpath.WithLocations), so that a path may select
// with any FHIRPath (Patient.identifier.where(system = 'x').value,
// Patient.name[1].given.last()) and the operation changes the element it
// selected. A path that selects a value computed by the expression rather
// than an element of the resource fails. Values are typed by their
// value[x] and must be of a type the element takes; anonymous types
// (backbone elements such as Patient.contact) are given as parts naming
// their children. Primitive values keep their ids and extensions
// ("_given") aligned with the values in every list operation, and a
// primitive may be given by its id and extensions alone (_valueDate
// holding a data-absent-reason, without valueDate).
//
// The result is not validated here: the server validates it as it does
// any update.
package fhirpatch
