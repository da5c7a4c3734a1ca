// Package terminology is the terminology service of the CPMS FHIR server:
// ICD-10, ICCC-3, ICD-O-3, HPO, ORPHAcodes and LOINC as CodeSystems with
// $lookup, $validate-code, $expand, $subsumes and $translate, feeding the
// coded fields of the consultation form and the token modifiers of search.
//
// The package is empty until the terminology service lands.
package terminology
