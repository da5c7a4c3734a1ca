// Package search is FHIR R4 search: the search parameters (the official R4
// definitions, embedded, plus custom SearchParameter resources), the values
// extracted from a resource for them at write time (Index), and searches
// parsed from a request into a store-independent form (Query) that a store
// runs against those values.
//
// The vocabulary shared by extraction, parsing and the stores is in
// values.go (what is indexed) and query.go (what is asked); the rules of
// matching (prefixes and precision ranges, modifiers) are stated there
// once, and every store implements them as written.
//
// Table is the Registry of the server: the R4 parameters, generated from
// the official definitions into r4params.json.gz (go generate), and custom
// parameters read from SearchParameter resources (ParamFromResource, Add).
// Package extract computes the Index of a resource from a Registry.
package search
