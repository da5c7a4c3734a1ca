// Package terminology imports official terminology releases (HPO, WHO
// ICD-10, LOINC, Orphanet, ICCC-3) into FHIR R4 CodeSystem and ConceptMap
// resources for the terminology service.
//
// Every parser reads a release from an io.Reader (Open opens a file and
// decompresses .gz and .bz2 transparently) and returns a resource of
// package github.com/cpms-fhir/cpms/terminology, or an error naming the
// line of malformed input. The output follows one set of conventions:
//
//   - Concepts are a flat list (no nesting) sorted by code; the hierarchy
//     is the concept property "parent" (valueCode, one per parent) with
//     hierarchyMeaning "is-a". Children are not written: the service
//     derives them.
//   - Inactive, obsolete and deprecated concepts are kept, with property
//     "inactive" (valueBoolean true) and, when the release names one,
//     "replacedBy" (valueCode). Alternative identifiers are property
//     "alt_id" (valueCode).
//   - Synonyms are designations with use SNOMED CT 900000000000013009
//     "Synonym" and the language when known ("en" for English releases).
//     Translations are designations with a language and no use.
//   - status is "active", caseSensitive is true, count is the number of
//     concepts, content is "complete" for a whole release and "fragment"
//     for a subset, id is the system's short name and version, and
//     copyright carries the licence notice of the release.
package terminology
