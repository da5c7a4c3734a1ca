// Package search holds what FHIR search is made of: the values extracted
// from a resource for its search parameters (Index), and a parsed search
// (Query) that a store runs against those values.
//
// This first version covers what the conditional interactions need: the
// _id parameter and the identifier token parameter of every resource type
// that has an identifier element. Queries naming any other parameter are
// refused with a clear error rather than run with that parameter ignored.
package search
