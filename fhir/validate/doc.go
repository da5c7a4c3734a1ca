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
// The parser's validation phase does not enter contained resources (it
// parses them into a protocol buffer Any); each is therefore validated
// again as a resource of its own, its issues located in the container.
//
// Most resources never reach the parser: a single pass over the JSON
// (proof.go) proves them valid by the same rules, read from the parser's
// own protocol buffer descriptors and annotations, without building the
// protocol buffer. The pass answers only "valid" or "not proven"; what it
// does not prove, the parser decides and reports, so every answer is the
// parser's. TestProofAgrees checks that on the R4 examples, Synthea's
// resources and mutations of them.
//
// Profiles (constraints beyond the base specification) are checked by the
// profiles package, on top of this.
package validate
