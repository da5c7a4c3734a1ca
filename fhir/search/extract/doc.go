// Package extract computes the search index of a resource: for every
// search parameter its type has in a search.Registry, the values the
// parameter's FHIRPath expression selects, converted to the index values
// of search.Index as package search documents them.
//
//	x := extract.New(search.NewTable(), extract.Options{Base: "https://cpms.example/fhir"})
//	idx, err := x.Extract("Patient", body) // in the write transaction
//
// # How values are converted
//
// By the parameter's type and the FHIR type of each selected item:
//
//   - token: Coding (system|code, display as text), CodeableConcept (each
//     coding; its text as a token with text only), Identifier
//     (system|value, type.text as text, and "<param>:of-type" tokens
//     "typeSystem|typeCode|value"), ContactPoint (value, with the
//     ContactPoint's system code such as "phone" as system), boolean, and
//     the string-like primitives as codes without a system, except a code
//     element bound (required) to a value set drawn from one code system,
//     which gets that system (Patient.gender).
//   - string: string-like primitives; HumanName and Address part by part.
//   - date: date, dateTime and instant at their precision; Period; Timing
//     (its events and its repeat.boundsPeriod).
//   - number: integer, decimal, Range.
//   - quantity: Quantity and its specialisations, Money, Range, with the
//     UCUM canonical value when the unit is a UCUM unit.
//   - reference: Reference (and its identifier, as a "<param>:identifier"
//     token), canonical and uri values, and a resource selected in place.
//   - uri: uri, url, canonical, oid and uuid values.
//   - composite: one Composite per combination of component values on
//     each element the parameter's expression selects.
//
// Values of one parameter are deduplicated. _id and _lastUpdated are not
// extracted (the engine records them when it writes a version), nor are
// parameters without an expression or of type special.
//
// # Speed
//
// An expression that is a union of paths for several resource types
// (Patient.name | Practitioner.name) is split once, and only the branches
// that can match the resource's type are compiled and evaluated. Compiled
// expressions and these per-type plans are cached in the Extractor, which
// is safe for concurrent use. Resources are decoded by a single-pass JSON
// decoder that yields what encoding/json gives with UseNumber, in about a
// third of its time; see BenchmarkExtractPatient.
package extract
