package search

import "github.com/cpms-fhir/cpms/fhir"

// Param is the definition of a search parameter, from the R4 definitions
// or a SearchParameter resource.
type Param struct {
	// Code is the name used in URLs ("name", "_id").
	Code string
	// URL is the canonical URL of its SearchParameter.
	URL  string
	Type ParamType
	// Base lists the resource types it applies to.
	Base []fhir.ResourceType
	// Expression is the FHIRPath expression that extracts its values. The
	// R4 definitions share one expression across base types, joined with
	// "|" (Patient.name | Practitioner.name); extraction evaluates it on
	// each resource, so the other types' branches find nothing.
	Expression string
	// Targets lists the resource types a reference parameter may refer to.
	Targets []fhir.ResourceType
	// Modifiers and Comparators allowed; empty means any that fit the type.
	Modifiers   []Modifier
	Comparators []Prefix
	// Components of a composite parameter, in order.
	Components []Component
}

// Component is one component of a composite parameter: the parameter
// giving its type and matching, and the FHIRPath expression evaluated on
// the composite's element to get its value.
type Component struct {
	Definition string // canonical URL of the component's SearchParameter
	Expression string
	Type       ParamType
}

// Registry finds search parameters. It is safe for concurrent use.
type Registry interface {
	// Lookup returns the parameter code of resource type t (parameters of
	// Resource and DomainResource included).
	Lookup(t fhir.ResourceType, code string) (*Param, bool)
	// Params returns every parameter of resource type t.
	Params(t fhir.ResourceType) []*Param
}
