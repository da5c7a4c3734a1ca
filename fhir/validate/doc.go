// Package validate checks resources against the FHIR R4 base specification
// with the validating JSON parser of github.com/google/fhir/go: element
// names and JSON types, cardinality of required elements, required value set
// bindings of code elements, primitive formats, and the target types of
// references. It collects every issue it finds, each with the FHIRPath
// location of the problem.
//
// Problems that stop a resource from being read as FHIR at all (an unknown
// element, a value of the wrong JSON type or lexical form, a code outside
// its required value set) are reported as fhir.KindInvalid (HTTP 400: the
// resource "could not be parsed or failed basic FHIR validation rules");
// a parsable resource that breaks a rule of the specification (a missing
// required element, a reference to the wrong type, an id of the wrong form)
// as fhir.KindUnprocessable (HTTP 422).
//
// Profiles (constraints beyond the base specification) are checked by the
// profiles package, on top of this.
package validate
